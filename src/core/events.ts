/**
 * Domain events (`bid.placed`, `auction.closed`, ...). An event emitted on one instance is
 * handled on the same instance at once and reaches every other instance through Redis pub/sub,
 * so each instance hears every event exactly once. Payloads are plain JSON data (ids, amounts).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { createRedis } from './redis.js';

export type EventPayload = Record<string, unknown>;
export type EventHandler = (payload: EventPayload, meta: { name: string; local: boolean }) => void | Promise<void>;

export interface Events {
  emit(name: string, payload: EventPayload): Promise<void>;
  on(name: string, handler: EventHandler): () => void;
  readonly instanceId: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    events: Events;
  }
}

export const eventsPlugin = fp<{ redisUrl: string; prefix: string }>(
  async (app, opts) => {
    const bus = new EventEmitter();
    bus.setMaxListeners(0);
    const instanceId = randomUUID();
    const channel = `${opts.prefix}:events`;
    const pub = createRedis(opts.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
    const sub = createRedis(opts.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const c of [pub, sub]) c.on('error', (err) => app.log.debug({ err: err.message }, 'events redis error'));

    const dispatch = (name: string, payload: EventPayload, local: boolean) => {
      for (const h of bus.listeners(name) as EventHandler[]) {
        Promise.resolve()
          .then(() => h(payload, { name, local }))
          .catch((err) => app.log.error({ err, event: name }, 'event handler failed'));
      }
    };

    await sub.subscribe(channel);
    sub.on('message', (_ch, raw) => {
      try {
        const msg = JSON.parse(raw) as { origin: string; name: string; payload: EventPayload };
        if (msg.origin !== instanceId) dispatch(msg.name, msg.payload, false);
      } catch (err) {
        app.log.warn({ err }, 'malformed event on the bus');
      }
    });

    const events: Events = {
      instanceId,
      async emit(name, payload) {
        dispatch(name, payload, true);
        try {
          await pub.publish(channel, JSON.stringify({ origin: instanceId, name, payload }));
        } catch (err) {
          // Other instances miss this live update; state stays correct in PostgreSQL.
          app.log.warn({ err, event: name }, 'event not published to other instances');
        }
      },
      on(name, handler) {
        bus.on(name, handler);
        return () => bus.off(name, handler);
      },
    };
    app.decorate('events', events);
    app.addHook('onClose', async () => {
      sub.disconnect();
      pub.disconnect();
    });
  },
  { name: 'core-events' },
);
