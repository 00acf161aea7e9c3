/**
 * The transactional outbox behind durable events (core/events.ts). `enqueue` inserts the event
 * row in the caller's transaction and NOTIFYs at its commit. The relay in every worker process
 * (LISTEN for the NOTIFY, and a short poll for anything missed or due again) claims up to BATCH
 * rows with `FOR UPDATE SKIP LOCKED` plus a lease, so several instances share the work and a relay
 * that died mid-delivery only delays its rows until the lease runs out. It delivers a claimed
 * batch as a whole, with a handful of statements for the batch instead of several per event:
 *  1. hands the batch's unpublished events to the live listeners of every instance (browser
 *     pushes: low latency), all at once, then marks the ones Redis took published (one UPDATE);
 *  2. per durable consumer, ONE transaction for all of the batch's events it consumes: one INSERT
 *     of their (event, consumer) inbox rows, then the consumer's handler for each event whose row
 *     was fresh, in that transaction. A redelivery, or a second relay racing on an expired lease,
 *     finds the row taken (or waits for it to commit) and does nothing, so each consumer's effect
 *     happens once. Work a handler gave `ctx.beforeCommit` runs after the last handler, in that
 *     transaction; callbacks it gave `ctx.afterCommit` run after the commit (never for a
 *     rolled-back transaction). If the batch transaction fails (a poison event, a deadlock
 *     after its retries), that consumer's events are delivered again one transaction each, as
 *     if there were no batch: the failing one fails alone and the others commit;
 *  3. marks the rows delivered (one UPDATE), or schedules retries with exponential backoff. A
 *     consumer that keeps failing does not hold up other events (they are claimed past it, and
 *     commit in the fallback) nor other consumers of the same event (their inbox rows are kept);
 *     after `maxAttempts` the row is set aside as dead, logged as an error and counted
 *     (dapanda_outbox_dead_total, dapanda_outbox_dead).
 * A handler may run more than once for an event (a rolled-back batch, a retry) but its writes
 * through `ctx.tx` commit once. A consumer's row locks are held for its batch transaction
 * (tens of milliseconds), not one event's. On shutdown a claimed batch not yet started is handed
 * back at once; the batch in progress finishes. In maintenance mode nothing is claimed.
 * Delivery needs PostgreSQL only: with Redis down, durable consumers still run; the live push
 * to other instances is retried until Redis takes it. Consumers must not rely on order.
 */
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { prismaSql, transaction, type Db, type Sql, type Tx } from './db/index.js';
import { prom, registry } from './metrics.js';

export interface OutboxSettings {
  pollMs: number;
  leaseMs: number;
  maxAttempts: number;
  retentionDays: number;
}

export interface DurableContext {
  /** The consumer's transaction: write through it (e.g. `walletApi(db).withTx(ctx.tx)`). */
  tx: Tx;
  eventId: string;
  /** 1 on the first delivery. */
  attempt: number;
  /**
   * Runs `fn` once this consumer's transaction has committed (pushes, mail: what must not happen
   * for a rolled-back write), by the relay, before it claims its next batch. Dropped when the
   * transaction rolls back. An error in `fn` is logged, never thrown into the relay. Several
   * events of one batch share `tx`: key by it to do one follow-up for all of them.
   */
  afterCommit(fn: () => unknown): void;
  /**
   * Runs `fn` inside this consumer's transaction after the handlers of all the batch's events it
   * delivers in it, before the commit: to write what several events add up to in one go (e.g. the
   * inbox rows of a burst of outbids, coalesced). A rejection rolls the transaction back, as a
   * handler's does (the batch is then delivered one event per transaction).
   */
  beforeCommit(fn: () => Promise<unknown>): void;
}

type Consumer = { consumer: string; handler: (payload: unknown, ctx: DurableContext) => Promise<void> };

const CHANNEL = 'dapanda_outbox';
const BATCH = 50;
const MAINTAIN_EVERY_MS = 30_000;

const delivered = new prom.Counter({
  name: 'dapanda_outbox_delivered_total',
  help: 'Durable events delivered to all their consumers',
  labelNames: ['event'] as const,
  registers: [registry],
});
const failures = new prom.Counter({
  name: 'dapanda_outbox_failures_total',
  help: 'Failed deliveries of a durable event to one consumer (retried)',
  labelNames: ['event', 'consumer'] as const,
  registers: [registry],
});
const deadTotal = new prom.Counter({
  name: 'dapanda_outbox_dead_total',
  help: 'Durable events given up after their last attempt',
  labelNames: ['event'] as const,
  registers: [registry],
});
const latency = new prom.Histogram({
  name: 'dapanda_outbox_delivery_seconds',
  help: 'From the commit that wrote a durable event to its delivery',
  labelNames: ['event'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
  registers: [registry],
});
const pendingGauge = new prom.Gauge({
  name: 'dapanda_outbox_pending',
  help: 'Durable events not yet delivered',
  registers: [registry],
});
const oldestGauge = new prom.Gauge({
  name: 'dapanda_outbox_oldest_pending_seconds',
  help: 'Age of the oldest undelivered durable event',
  registers: [registry],
});
const deadGauge = new prom.Gauge({
  name: 'dapanda_outbox_dead',
  help: 'Durable events set aside as dead (need an operator)',
  registers: [registry],
});

interface Row {
  id: bigint;
  name: string;
  payload: unknown;
  attempts: number;
  published_at: Date | null;
  created_at: Date;
}

/** Retry n (1-based) waits 1, 2, 4 ... seconds, at most 10 minutes, with jitter so relays spread out. */
export const backoffMs = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 600_000) * (0.75 + Math.random() / 2);

export function createOutbox(o: {
  db: Db;
  databaseUrl: string;
  namespace: string;
  log: FastifyBaseLogger;
  settings: OutboxSettings;
  /** True while deliveries must wait (maintenance mode). */
  paused?: () => boolean;
  /** Hands an event to the live listeners of every instance; false when other instances could not be reached. */
  live: (name: string, payload: unknown, eventId: string) => Promise<boolean>;
}) {
  const consumers = new Map<string, Consumer[]>();
  const live = o.live;
  let started = false;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let listener: pg.Client | null = null;
  const timers: NodeJS.Timeout[] = [];
  let lastCleanup = 0;

  async function claim(): Promise<Row[]> {
    const rows = await o.db.$queryRaw<Row[]>`
      UPDATE outbox_events SET attempts = attempts + 1, locked_until = now() + ${o.settings.leaseMs}::int * interval '1 millisecond', updated_at = now()
       WHERE id IN (SELECT id FROM outbox_events
                     WHERE namespace = ${o.namespace} AND delivered_at IS NULL AND dead_at IS NULL AND available_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY id LIMIT ${BATCH}::int FOR UPDATE SKIP LOCKED)
      RETURNING id, name, payload, attempts, published_at, created_at`;
    return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** One claimed row on its way: what went wrong with it so far. */
  interface Item {
    row: Row;
    eventId: string;
    payload: unknown;
    problems: string[];
    durableFailed: boolean;
  }
  type Work = { item: Item; handler: Consumer['handler'] };

  /** Runs callbacks given to `ctx.afterCommit`; settles when all have, never rejects. */
  function runAfterCommit(fns: (() => unknown)[]): Promise<void> {
    return Promise.all(
      fns.map((fn) =>
        Promise.resolve()
          .then(fn)
          .catch((err) => o.log.warn({ err }, 'outbox: an after-commit callback failed')),
      ),
    ).then(() => {});
  }

  /**
   * One transaction: the inbox rows of all `work` (one INSERT), then the handler of each fresh one.
   * Throws when any of it fails (nothing of it commits). Returns the after-commit callbacks.
   */
  async function consumeTogether(consumer: string, work: Work[]): Promise<(() => unknown)[]> {
    let callbacks: (() => unknown)[] = [];
    await transaction(o.db, async (tx) => {
      callbacks = []; // a retried transaction starts over
      const before: (() => Promise<unknown>)[] = [];
      const ids = work.map((w) => w.item.eventId);
      // The inbox rows first, in id order (two relays racing wait for each other in one order, no
      // deadlock): a concurrent delivery of the same event waits here for this one's outcome.
      const fresh = await tx.$queryRaw<{ event_id: bigint }[]>`
        INSERT INTO inbox_events (event_id, consumer)
        SELECT e, ${consumer} FROM unnest(${ids}::bigint[]) AS e ORDER BY e
        ON CONFLICT DO NOTHING RETURNING event_id`;
      const todo = new Set(fresh.map((r) => r.event_id.toString()));
      for (const w of work) {
        if (!todo.has(w.item.eventId)) continue;
        await w.handler(w.item.payload, {
          tx,
          eventId: w.item.eventId,
          attempt: w.item.row.attempts,
          afterCommit: (fn) => void callbacks.push(fn),
          beforeCommit: (fn) => void before.push(fn),
        });
      }
      for (const fn of before) await fn();
    });
    return callbacks;
  }

  /** A consumer's share of the batch: together, or (that failing) one transaction per event. */
  async function consume(consumer: string, work: Work[], followUps: Promise<void>[]): Promise<void> {
    if (work.length > 1) {
      try {
        followUps.push(runAfterCommit(await consumeTogether(consumer, work)));
        return;
      } catch (err) {
        o.log.warn(
          { err, consumer, events: work.length },
          'durable consumer failed on a batch: delivering its events one by one',
        );
      }
    }
    for (const w of work) {
      try {
        followUps.push(runAfterCommit(await consumeTogether(consumer, [w])));
      } catch (err) {
        const { row, eventId } = w.item;
        w.item.durableFailed = true;
        w.item.problems.push(`${consumer}: ${(err as Error)?.message ?? String(err)}`);
        failures.inc({ event: row.name, consumer });
        o.log.error(
          { err, event: row.name, eventId, consumer, attempt: row.attempts },
          'durable event consumer failed',
        );
      }
    }
  }

  // One row's odd payload (a JSON string that is not JSON text) must not fail the whole batch.
  const parsed = (p: unknown) => {
    if (typeof p !== 'string') return p;
    try {
      return JSON.parse(p) as unknown;
    } catch {
      return p;
    }
  };

  async function deliverBatch(rows: Row[]): Promise<void> {
    const items: Item[] = rows.map((row) => ({
      row,
      eventId: row.id.toString(),
      payload: parsed(row.payload),
      problems: [],
      durableFailed: false,
    }));

    // 1. Live: every unpublished event at once (one Redis round trip's wait, not one per event).
    const unpublished = items.filter((i) => !i.row.published_at);
    const taken = await Promise.all(unpublished.map((i) => live(i.row.name, i.payload, i.eventId).catch(() => false)));
    const published = unpublished.filter((_, k) => taken[k]).map((i) => i.eventId);
    unpublished.forEach((i, k) => !taken[k] && i.problems.push('live: not published to other instances'));
    if (published.length)
      await o.db.$executeRaw`UPDATE outbox_events SET published_at = now() WHERE id = ANY(${published}::bigint[])`;

    // 2. Durable: one transaction per consumer for all the batch's events it consumes.
    const byConsumer = new Map<string, Work[]>();
    for (const item of items)
      for (const c of consumers.get(item.row.name) ?? []) {
        const list = byConsumer.get(c.consumer) ?? [];
        list.push({ item, handler: c.handler });
        byConsumer.set(c.consumer, list);
      }
    const followUps: Promise<void>[] = [];
    for (const [consumer, work] of byConsumer) await consume(consumer, work, followUps);

    // 3. Bookkeeping: one statement per outcome (delivered, dead, retried).
    const done: Item[] = [];
    const dead: Item[] = [];
    const retry: Item[] = [];
    for (const i of items) {
      if (!i.problems.length || (!i.durableFailed && i.row.attempts >= o.settings.maxAttempts)) done.push(i);
      else if (i.row.attempts >= o.settings.maxAttempts) dead.push(i);
      else retry.push(i);
    }
    const errorOf = (i: Item) => i.problems.join('; ').slice(0, 2000);
    if (done.length) {
      // A live push that never got out is given up with the event: pages re-sync when they reconnect.
      await o.db.$executeRaw`
        UPDATE outbox_events o SET delivered_at = now(), locked_until = NULL, last_error = NULLIF(x.err, ''), updated_at = now()
          FROM unnest(${done.map((i) => i.eventId)}::bigint[], ${done.map(errorOf)}::text[]) AS x(id, err)
         WHERE o.id = x.id`;
      const now = Date.now();
      for (const i of done) {
        delivered.inc({ event: i.row.name });
        latency.observe({ event: i.row.name }, Math.max(0, now - i.row.created_at.getTime()) / 1000);
      }
    }
    if (dead.length) {
      await o.db.$executeRaw`
        UPDATE outbox_events o SET dead_at = now(), locked_until = NULL, last_error = x.err, updated_at = now()
          FROM unnest(${dead.map((i) => i.eventId)}::bigint[], ${dead.map(errorOf)}::text[]) AS x(id, err)
         WHERE o.id = x.id`;
      for (const i of dead) {
        deadTotal.inc({ event: i.row.name });
        o.log.error(
          { event: i.row.name, eventId: i.eventId, attempts: i.row.attempts, lastError: errorOf(i) },
          'durable event given up after its last attempt: needs an operator',
        );
      }
    }
    if (retry.length) {
      const waits = retry.map((i) => Math.round(backoffMs(i.row.attempts)));
      await o.db.$executeRaw`
        UPDATE outbox_events o SET available_at = now() + x.wait * interval '1 millisecond', locked_until = NULL, last_error = x.err, updated_at = now()
          FROM unnest(${retry.map((i) => i.eventId)}::bigint[], ${waits}::int[], ${retry.map(errorOf)}::text[]) AS x(id, wait, err)
         WHERE o.id = x.id`;
      retry.forEach((i, k) =>
        o.log.warn(
          {
            event: i.row.name,
            eventId: i.eventId,
            attempt: i.row.attempts,
            retryInMs: waits[k],
            lastError: errorOf(i),
          },
          'durable event will be retried',
        ),
      );
    }
    // The follow-ups of this batch before the next one: they cannot pile up behind a fast relay.
    await Promise.all(followUps);
  }

  async function drain(): Promise<void> {
    for (;;) {
      // Maintenance mode: events wait in PostgreSQL (and move with it); the poll wakes the relay after.
      if (o.paused?.()) return;
      let rows: Row[];
      try {
        rows = await claim();
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, 'outbox: could not claim events (the poll retries)');
        return;
      }
      if (stopped) {
        // Shutting down: let another relay take them now rather than after the lease.
        const ids = rows.map((r) => r.id.toString());
        await o.db
          .$executeRaw`UPDATE outbox_events SET locked_until = NULL, attempts = attempts - 1 WHERE id = ANY(${ids}::bigint[])`.catch(
          () => {},
        );
        return;
      }
      if (rows.length)
        await deliverBatch(rows).catch((err) =>
          o.log.error(
            { err, events: rows.length },
            'outbox: delivery bookkeeping failed (the batch is retried after the lease)',
          ),
        );
      if (rows.length < BATCH) return;
    }
  }

  function wake(): void {
    if (stopped || !started) return;
    if (running) {
      again = true;
      return;
    }
    running = drain().finally(() => {
      running = null;
      if (again) {
        again = false;
        wake();
      }
    });
  }

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: o.databaseUrl });
    client.on('error', (err) => o.log.debug({ err: err.message }, 'outbox listener error'));
    client.on('end', () => {
      if (listener === client) listener = null;
      if (!stopped) setTimeout(() => void listen(), 1000).unref();
    });
    client.on('notification', (msg) => {
      if (msg.payload === o.namespace) wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      listener = client;
      wake(); // anything committed while we were not listening
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'outbox: LISTEN failed; polling only until it reconnects');
      await client.end().catch(() => {});
    }
  }

  /** Gauges for alerts, and the retention of delivered events (their inbox rows go with them). */
  async function maintain(): Promise<void> {
    const [s] = await o.db.$queryRaw<{ pending: bigint; oldest: number | null; dead: bigint }[]>`
      SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL) AS pending,
             EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL))::float8 AS oldest,
             count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
        FROM outbox_events WHERE namespace = ${o.namespace} AND delivered_at IS NULL`;
    pendingGauge.set(Number(s?.pending ?? 0));
    oldestGauge.set(s?.oldest ?? 0);
    deadGauge.set(Number(s?.dead ?? 0));
    if (Date.now() - lastCleanup > 3600_000) {
      lastCleanup = Date.now();
      await o.db.$executeRaw`
        DELETE FROM outbox_events WHERE id IN (
          SELECT id FROM outbox_events WHERE namespace = ${o.namespace} AND delivered_at < now() - ${o.settings.retentionDays}::int * interval '1 day' LIMIT 10000)`;
    }
  }

  /**
   * Several events in one statement (a bid batch tells everyone it outbid), in order. The
   * notify is delivered by PostgreSQL at commit, and only then: the relays wake as the change
   * becomes visible (and one notify per transaction is all they need).
   */
  async function enqueueAllSql(sql: Sql, events: { name: string; payload: unknown }[]): Promise<string[]> {
    if (!events.length) return [];
    const rows = await sql.query<{ id: bigint | string }>(
      `WITH e AS (
        INSERT INTO outbox_events (namespace, name, payload)
        SELECT $1::text, t.name, t.payload::jsonb
          FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(name, payload, ord)
         ORDER BY t.ord
        RETURNING id)
      SELECT e.id FROM e CROSS JOIN (SELECT pg_notify($4::text, $1::text)) AS n ORDER BY e.id`,
      [o.namespace, events.map((e) => e.name), events.map((e) => JSON.stringify(e.payload)), CHANNEL],
    );
    return rows.map((r) => String(r.id));
  }
  const enqueueAll = (tx: Tx, events: { name: string; payload: unknown }[]) => enqueueAllSql(prismaSql(tx), events);

  return {
    async enqueue(tx: Tx, name: string, payload: unknown): Promise<string> {
      const [id] = await enqueueAll(tx, [{ name, payload }]);
      return id;
    },
    enqueueAll,
    enqueueAllSql,
    onDurable(name: string, consumer: string, handler: Consumer['handler']): void {
      if (started) throw new Error(`durable consumer ${consumer} of ${name} registered after start`);
      if (!/^[a-z][a-z0-9.-]{0,79}$/.test(consumer))
        throw new Error(`consumer name "${consumer}": lowercase letters, digits, . and -`);
      const list = consumers.get(name) ?? [];
      if (list.some((c) => c.consumer === consumer))
        throw new Error(`${name} already has a durable consumer named ${consumer}`);
      consumers.set(name, [...list, { consumer, handler }]);
    },
    /** Starts the relay in this process. */
    async start(): Promise<void> {
      started = true;
      timers.push(setInterval(wake, o.settings.pollMs));
      timers.push(
        setInterval(
          () =>
            void maintain().catch((err) => o.log.debug({ err: (err as Error).message }, 'outbox maintenance failed')),
          MAINTAIN_EVERY_MS,
        ),
      );
      for (const t of timers) t.unref();
      await listen();
      wake();
    },
    /** Stops claiming; the delivery in progress finishes first. */
    async stop(): Promise<void> {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
}
