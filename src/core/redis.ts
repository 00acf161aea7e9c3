/**
 * ioredis connections, exposed as `app.redis` (commands) with a helper for extra connections
 * (pub/sub subscribers and BullMQ workers each need their own).
 * Commands fail fast while Redis is down (no offline queue piling up requests), and the client
 * keeps reconnecting in the background so the app recovers without a restart.
 */
import fp from 'fastify-plugin';
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
    ...extra,
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    /** Namespaces a Redis key with this deployment's prefix. */
    rkey: (...parts: (string | number)[]) => string;
  }
}

export const redisPlugin = fp<{ redisUrl: string; prefix: string }>(
  async (app, opts) => {
    // Commands issued in the same tick go out in one write (ioredis auto-pipelining): under load a
    // logged-in page's session read and rate-limit script were each their own socket write, the
    // write syscalls ~11 % of a logged-in /items/:id's CPU (scripts/bench/page-profile.ts).
    const redis = createRedis(opts.redisUrl, { enableAutoPipelining: true });
    redis.on('error', (err) => app.log.debug({ err: err.message }, 'redis connection error'));
    // Start with a live connection when Redis is there (commands fail fast rather than queue);
    // when it is not, start anyway: /readyz says so and the client keeps reconnecting.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        app.log.warn('redis not reachable at start; continuing, /readyz reports it');
        resolve();
      }, 3000);
      timer.unref();
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    app.decorate('redis', redis);
    app.decorate('rkey', (...parts: (string | number)[]) => [opts.prefix, ...parts].join(':'));
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  },
  { name: 'core-redis' },
);
