/**
 * Maintenance mode: the read-only window of a move to another environment (npm run
 * migrate:env -- cutover). The switch is this deployment's own row in PostgreSQL (`app_flags`,
 * name `maintenance`; never copied to another side), read by every process every
 * MAINTENANCE_POLL_MS. While it is on:
 * - browsing works; every other request (bids, listings, payments, signups) answers 503 with a
 *   message in the visitor's language, and every page shows a banner (both languages);
 * - worker processes do no timed work: BullMQ workers are paused (the job in hand finishes
 *   first), periodic tasks (sweepers, cleanups) and the outbox relay wait. Nothing closes,
 *   starts or moves money on this side;
 * - when it goes off, each worker process re-plans its timers from PostgreSQL (the
 *   `onRedisReset` handlers: the data may have come from elsewhere, with end times moved by the pause).
 */
import fp from 'fastify-plugin';
import { routePath } from './redirect.js';
import { sendError } from './errors.js';

export interface Maintenance {
  readonly active: boolean;
  /** When the window began (the operator's tool writes it), null when off. */
  readonly since: Date | null;
  /** Reads the switch now (it is read every MAINTENANCE_POLL_MS anyway); true when on. */
  refresh(): Promise<boolean>;
  /** Called with the new state whenever it changes in this process. */
  onChange(fn: (active: boolean) => Promise<void> | void): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    maintenance: Maintenance;
  }
}

/** What stays open in the window: signing in and out (sessions live in Redis, not in the data moved). */
const OPEN = new Set(['/login', '/logout']);
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const maintenancePlugin = fp<{ pollMs: number }>(
  async (app, opts) => {
    let active = false;
    let since: Date | null = null;
    const listeners: ((a: boolean) => Promise<void> | void)[] = [];
    let changing = Promise.resolve();

    const refresh = async (): Promise<boolean> => {
      const rows = await app.db.$queryRaw<
        { value: { active?: boolean; since?: string } }[]
      >`SELECT value FROM app_flags WHERE name = 'maintenance'`;
      const v = rows[0]?.value;
      const now = !!v && v.active !== false;
      since = now && v?.since ? new Date(v.since) : null;
      if (now !== active) {
        active = now;
        app.log.warn({ maintenance: now, since }, now ? 'maintenance mode on' : 'maintenance mode off');
        // In order: a quick off/on runs the listeners one change after the other.
        changing = changing.then(async () => {
          for (const fn of listeners)
            await Promise.resolve(fn(now)).catch((err: unknown) =>
              app.log.error({ err }, 'maintenance listener failed'),
            );
        });
        await changing;
      }
      return active;
    };

    const api: Maintenance = {
      get active() {
        return active;
      },
      get since() {
        return since;
      },
      refresh,
      onChange: (fn) => void listeners.push(fn),
    };
    app.decorate('maintenance', api);

    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      await refresh().catch((err: Error) => app.log.warn({ err: err.message }, 'maintenance flag not read'));
      timer = setInterval(
        () => void refresh().catch((err: Error) => app.log.debug({ err: err.message }, 'maintenance flag not read')),
        opts.pollMs,
      );
      timer.unref();
    });
    app.addHook('onClose', async () => clearInterval(timer));

    app.addHook('onRequest', async (req, reply) => {
      if (!active || SAFE.has(req.method) || OPEN.has(routePath(req))) return;
      reply.header('retry-after', '60');
      return sendError(req, reply, { status: 503, code: 'MAINTENANCE', key: 'maintenance.paused', params: {} });
    });
  },
  { name: 'core-maintenance', dependencies: ['core-db'] },
);
