/**
 * Domain events (`bid.placed`, `auction.closed`, ...), typed. Each module declares the events it
 * emits in its own `events.ts` by adding them to `DomainEvents` (declaration merging, the way
 * Fastify decorators are typed), so a payload is checked where it is built and where it is heard:
 *
 *   // modules/bidding/events.ts
 *   export type AuctionStarted = { auctionId: number };
 *   export const auctionStarted = (auctionId: number) => domainEvent('auction.started', { auctionId });
 *   declare module '../../core/events.js' {
 *     interface DomainEvents { 'auction.started': AuctionStarted }
 *   }
 *
 * Two deliveries:
 * - live (the default): handled on this instance at once and sent to every other instance over
 *   Redis pub/sub, fire and forget. For browser pushes and counters: losing one is harmless,
 *   because a page re-syncs when its socket reconnects.
 * - durable: events that money or a promise to a user depends on are also listed in
 *   `DurableEvents`. They are never emitted: the transaction that makes the change writes them to
 *   the outbox (`enqueue(tx, event)`), so the event exists if and only if the change committed,
 *   and a relay delivers each one at least once to the durable consumers (`onDurable`), each in a
 *   transaction with its inbox row, so a redelivery does nothing (core/outbox.ts). The relay also
 *   hands it to the live listeners (`on`) of every instance.
 * Payloads are plain JSON data (ids, amounts, ISO dates), never database rows.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { createRedis } from './redis.js';
import type { Sql, Tx } from './db/index.js';
import { createOutbox, type DurableContext, type OutboxSettings } from './outbox.js';

/** Every event by name, with its payload type: modules add theirs (see the file comment). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DomainEvents {}
/** The names in DomainEvents that go through the outbox (value: `true`); the rest are live only. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DurableEvents {}

export type EventName = keyof DomainEvents;
export type DurableEventName = Extract<keyof DurableEvents, EventName>;
export type LiveEventName = Exclude<EventName, DurableEventName>;
export type DomainEvent<K extends EventName = EventName> = K extends EventName
  ? { readonly name: K; readonly payload: DomainEvents[K] }
  : never;

/** Builds an event; each module exports one constructor per event made from this. */
export const domainEvent = <K extends EventName>(name: K, payload: DomainEvents[K]): DomainEvent<K> =>
  ({ name, payload }) as unknown as DomainEvent<K>;

type PlainJson = string | number | boolean | null | PlainJson[] | { [key: string]: PlainJson };
type PlainObject = { [key: string]: PlainJson };
/**
 * Compile-time check that every payload is plain JSON (it crosses Redis and PostgreSQL): a Date,
 * a bigint or a class instance fails here. Declare payloads with `type`, not `interface`
 * (an interface is not assignable to an index signature).
 */
type AllPlain<T extends { [K in keyof T]: PlainObject }> = T;
export type CheckedPayloads = AllPlain<DomainEvents>;

export interface EventMeta {
  name: EventName;
  /** The event started on this instance (false: it came from another instance over Redis). */
  local: boolean;
  /** The outbox id, for durable events. */
  eventId?: string;
}
export type EventHandler<K extends EventName> = (payload: DomainEvents[K], meta: EventMeta) => void | Promise<void>;
export type DurableHandler<K extends EventName> = (payload: DomainEvents[K], ctx: DurableContext) => Promise<void>;
export type { DurableContext };

export interface Events {
  /** Live only: this instance's listeners at once, other instances' over Redis. */
  emit<K extends LiveEventName>(event: DomainEvent<K>): Promise<void>;
  emit<K extends LiveEventName>(name: K, payload: DomainEvents[K]): Promise<void>;
  /** A live listener (browser pushes, caches); hears durable events too, once the relay has them. */
  on<K extends EventName>(name: K, handler: EventHandler<K>): () => void;
  /** Writes a durable event inside the caller's transaction; it exists only if that commits. Returns its id. */
  enqueue<K extends DurableEventName>(tx: Tx, event: DomainEvent<K>): Promise<string>;
  /** Several durable events in one statement, in order (their ids in the same order). */
  enqueueAll(tx: Tx, events: DomainEvent<DurableEventName>[]): Promise<string[]>;
  /** enqueueAll inside a plain-SQL transaction (core/db sqlTransaction: bidding's batches). */
  enqueueAllSql(sql: Sql, events: DomainEvent<DurableEventName>[]): Promise<string[]>;
  /**
   * A durable consumer, named once per module and reaction (`'orders'`). Its writes through
   * `ctx.tx` commit together with its inbox row: it runs to completion once per event, however
   * often the event is delivered. Register while the module plugin is registered.
   */
  onDurable<K extends DurableEventName>(name: K, consumer: string, handler: DurableHandler<K>): void;
  readonly instanceId: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    events: Events;
  }
}

type AnyHandler = (payload: unknown, meta: EventMeta) => void | Promise<void>;

export interface EventsOptions {
  redisUrl: string;
  /** The deployment's namespace (REDIS_PREFIX): its pub/sub channel and its share of the outbox. */
  prefix: string;
  databaseUrl: string;
  /** Deliver durable events from this process (worker processes, unless paused). */
  relay: boolean;
  outbox: OutboxSettings;
}

export const eventsPlugin = fp<EventsOptions>(
  async (app, opts) => {
    const bus = new EventEmitter();
    bus.setMaxListeners(0);
    const instanceId = randomUUID();
    const channel = `${opts.prefix}:events`;
    const pub = createRedis(opts.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
    const sub = createRedis(opts.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const c of [pub, sub]) c.on('error', (err) => app.log.debug({ err: err.message }, 'events redis error'));

    const dispatch = (name: EventName, payload: unknown, meta: EventMeta) => {
      for (const h of bus.listeners(name) as AnyHandler[]) {
        Promise.resolve()
          .then(() => h(payload, meta))
          .catch((err) => app.log.error({ err, event: name }, 'event handler failed'));
      }
    };

    await sub.subscribe(channel);
    sub.on('message', (_ch, raw) => {
      try {
        const msg = JSON.parse(raw) as { origin: string; name: EventName; payload: unknown; eventId?: string };
        if (msg.origin !== instanceId)
          dispatch(msg.name, msg.payload, { name: msg.name, local: false, eventId: msg.eventId });
      } catch (err) {
        app.log.warn({ err }, 'malformed event on the bus');
      }
    });

    /** This instance's listeners, then every other instance's: false when Redis did not take it. */
    const fanOut = async (name: EventName, payload: unknown, eventId?: string): Promise<boolean> => {
      dispatch(name, payload, { name, local: true, eventId });
      try {
        await pub.publish(channel, JSON.stringify({ origin: instanceId, name, payload, eventId }));
        return true;
      } catch (err) {
        app.log.warn({ err, event: name }, 'event not published to other instances');
        return false;
      }
    };

    const outbox = createOutbox({
      db: app.db,
      databaseUrl: opts.databaseUrl,
      namespace: opts.prefix,
      log: app.log,
      settings: opts.outbox,
      paused: () => app.hasDecorator('maintenance') && app.maintenance.active,
      live: (name, payload, eventId) => fanOut(name as EventName, payload, eventId),
    });

    const events: Events = {
      instanceId,
      async emit(nameOrEvent: EventName | DomainEvent, payload?: unknown) {
        // Live: other instances miss it while Redis is away; state stays correct in PostgreSQL.
        if (typeof nameOrEvent === 'string') await fanOut(nameOrEvent, payload);
        else await fanOut(nameOrEvent.name, nameOrEvent.payload);
      },
      on(name, handler) {
        bus.on(name, handler as AnyHandler);
        return () => bus.off(name, handler as AnyHandler);
      },
      enqueue: (tx, event) => outbox.enqueue(tx, event.name, event.payload),
      enqueueAll: (tx, events) =>
        outbox.enqueueAll(
          tx,
          events.map((e) => ({ name: e.name, payload: e.payload })),
        ),
      enqueueAllSql: (sql, events) =>
        outbox.enqueueAllSql(
          sql,
          events.map((e) => ({ name: e.name, payload: e.payload })),
        ),
      onDurable(name, consumer, handler) {
        outbox.onDurable(
          name,
          consumer,
          handler as unknown as (payload: unknown, ctx: DurableContext) => Promise<void>,
        );
      },
    };
    app.decorate('events', events);
    if (opts.relay) app.addHook('onReady', async () => outbox.start());
    app.addHook('onClose', async () => {
      await outbox.stop();
      sub.disconnect();
      pub.disconnect();
    });
  },
  { name: 'core-events', dependencies: ['core-db'] },
);
