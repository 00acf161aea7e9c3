/**
 * Timers. BullMQ for what must happen at a moment (an auction's close, an auto-confirm): one
 * connection policy for every queue and worker, and one place that closes them all on shutdown.
 * Workers start only on ROLE=worker|all. Two safety nets do not depend on what Redis remembers:
 * - `every(name, ms, fn)`: a periodic task on a timer in each worker process (sweepers,
 *   cleanups), not a repeatable BullMQ job, which a flushed or replaced Redis forgets;
 * - `onRedisReset(fn)`: Redis and PostgreSQL both keep this deployment's queue epoch (an id);
 *   when Redis answers with another one, it lost its data, and each module re-plans its jobs
 *   from PostgreSQL (bidding: every open auction's start and close).
 */
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { DelayedError, Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { createRedis, type Redis } from './redis.js';
import { prom, registry } from './metrics.js';

export interface Queues {
  /** The named queue (created once, shared). */
  queue<T = unknown>(name: string): Queue<T>;
  /** Registers a processor; it runs only when this process has the worker role. */
  worker<T = unknown>(name: string, processor: Processor<T>, opts?: Partial<WorkerOptions>): void;
  add<T>(name: string, jobName: string, data: T, opts?: JobsOptions): Promise<void>;
  /**
   * Runs `fn` every `everyMs` in each worker process (the first run one interval after start),
   * never two runs of it at once in one process. Make it idempotent: every worker process runs it.
   */
  every(name: string, everyMs: number, fn: () => Promise<unknown>): void;
  /** Runs a periodic task now in this process (operators' tools, tests); waits for a run already under way instead. */
  runNow(name: string): Promise<void>;
  /** Runs `fn` (in one worker process) once Redis is found to have lost the jobs it had. */
  onRedisReset(name: string, fn: () => Promise<void>): void;
  /** Checks the queue epoch now (it is checked every few seconds anyway); true when `onRedisReset` handlers ran. */
  checkRedisMemory(): Promise<boolean>;
  readonly runsWorkers: boolean;
  /** Every queue by name, for health, metrics and admin views. */
  all(): Queue[];
}

declare module 'fastify' {
  interface FastifyInstance {
    queues: Queues;
  }
}

const periodicFailures = new prom.Counter({
  name: 'dapanda_periodic_failures_total',
  help: 'Failed runs of periodic tasks',
  labelNames: ['task'] as const,
  registers: [registry],
});
const redisResets = new prom.Counter({
  name: 'dapanda_redis_resets_total',
  help: 'Times Redis was found to have lost its jobs (timers re-planned from PostgreSQL)',
  registers: [registry],
});

/** How often worker processes compare the queue epoch in Redis with PostgreSQL's. */
const EPOCH_CHECK_MS = 5000;

/**
 * Stops a worker whose close we stopped waiting for (Redis unreachable: BullMQ 6's close waits for
 * its blocking connection's 'end', which a reconnecting client never emits). BullMQ stops two timers
 * only in that close: the lock renewal (every lockDuration/2, for ever) and the stalled-job check's
 * sleep (stalledInterval); left running, they keep the process alive after app.close() (a test file
 * then hangs until tap's timeout). Both are BullMQ internals, looked up defensively: if a BullMQ
 * upgrade renames them, shutdown.test.ts's "ends by itself" test fails.
 */
function abandon(w: Worker): void {
  const inner = w as unknown as { lockManager?: { close(): Promise<void> }; stalledCheckStopper?: () => void };
  inner.lockManager?.close().catch(() => {});
  inner.stalledCheckStopper?.();
  w.disconnect().catch(() => {});
}

export const queuesPlugin = fp<{ redisUrl: string; prefix: string; runWorkers: boolean; closeTimeoutMs: number }>(
  async (app, opts) => {
    const queues = new Map<string, Queue>();
    const workers: Worker[] = [];
    const connections: Redis[] = [];
    // Queues share one connection; BullMQ needs maxRetriesPerRequest null on blocking connections.
    const queueConn = createRedis(opts.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    queueConn.on('error', (err) => app.log.debug({ err: err.message }, 'queue redis error'));
    connections.push(queueConn);
    const prefix = `${opts.prefix}:bull`;
    const tasks: {
      name: string;
      everyMs: number;
      fn: () => Promise<unknown>;
      timer?: NodeJS.Timeout;
      running?: Promise<void>;
    }[] = [];
    const resetHandlers: { name: string; fn: () => Promise<void> }[] = [];
    const epochKey = `${opts.prefix}:queue-epoch`;

    // Maintenance mode (core/maintenance.ts, registered later): no timed work on this side.
    const paused = () => app.hasDecorator('maintenance') && app.maintenance.active;
    const runTask = (t: (typeof tasks)[number]) => {
      if (t.running || paused()) return;
      t.running = t
        .fn()
        .then(
          () => {},
          (err: unknown) => {
            periodicFailures.inc({ task: t.name });
            app.log.error({ err, task: t.name }, 'periodic task failed');
          },
        )
        .finally(() => (t.running = undefined));
    };

    const checkRedisMemory = async (): Promise<boolean> => {
      // app.redis fails fast (the queues' connection waits for Redis): with Redis away the check is tried again later.
      let epoch = await app.redis.get(epochKey);
      if (!epoch) {
        await app.redis.set(epochKey, randomUUID(), 'NX');
        epoch = await app.redis.get(epochKey);
        if (!epoch) return false;
      }
      const known = await app.db.$queryRaw<
        { epoch: string }[]
      >`SELECT epoch FROM queue_epochs WHERE namespace = ${opts.prefix}`;
      if (!known.length) {
        // A deployment seen for the first time: nothing was planned before, so nothing was forgotten.
        await app.db
          .$executeRaw`INSERT INTO queue_epochs (namespace, epoch) VALUES (${opts.prefix}, ${epoch}) ON CONFLICT (namespace) DO NOTHING`;
        return false;
      }
      if (known[0].epoch === epoch) return false;
      app.log.warn(
        { handlers: resetHandlers.map((h) => h.name) },
        'Redis lost its jobs (queue epoch changed): re-planning timers from PostgreSQL',
      );
      redisResets.inc();
      for (const h of resetHandlers) await h.fn();
      // Recorded only once every plan is back; two instances noticing at once both re-plan (idempotent job ids).
      await app.db
        .$executeRaw`UPDATE queue_epochs SET epoch = ${epoch}, updated_at = now() WHERE namespace = ${opts.prefix}`;
      return true;
    };

    const api: Queues = {
      runsWorkers: opts.runWorkers,
      queue<T>(name: string) {
        let q = queues.get(name);
        if (!q) {
          q = new Queue(name, {
            connection: queueConn,
            prefix,
            defaultJobOptions: {
              removeOnComplete: 1000,
              removeOnFail: 5000,
              attempts: 5,
              backoff: { type: 'exponential', delay: 1000 },
            },
          });
          q.on('error', (err) => app.log.warn({ err: err.message, queue: name }, 'queue error'));
          queues.set(name, q);
        }
        return q as unknown as Queue<T>;
      },
      worker<T>(name: string, processor: Processor<T>, wopts: Partial<WorkerOptions> = {}) {
        if (!opts.runWorkers) return;
        const conn = createRedis(opts.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true });
        connections.push(conn);
        // A job picked up just as maintenance began waits (delayed) instead of running.
        const guarded: Processor<T> = async (job, token) => {
          if (paused()) {
            await job.moveToDelayed(Date.now() + 5000, token);
            throw new DelayedError();
          }
          return processor(job, token);
        };
        const w = new Worker<T>(name, guarded, { connection: conn, prefix, concurrency: 4, ...wopts });
        w.on('failed', (job, err) => app.log.error({ err, queue: name, jobId: job?.id }, 'job failed'));
        w.on('error', (err) => app.log.warn({ err: err.message, queue: name }, 'worker error'));
        workers.push(w as unknown as Worker);
      },
      async add(name, jobName, data, jopts) {
        await api.queue(name).add(jobName as never, data as never, jopts);
      },
      every(name, everyMs, fn) {
        if (opts.runWorkers) tasks.push({ name, everyMs, fn });
      },
      async runNow(name) {
        const t = tasks.find((x) => x.name === name);
        if (!t) throw new Error(`no periodic task named ${name} in this process`);
        runTask(t);
        await t.running;
      },
      onRedisReset(name, fn) {
        resetHandlers.push({ name, fn });
      },
      checkRedisMemory,
      all: () => [...queues.values()],
    };
    app.decorate('queues', api);

    if (opts.runWorkers) {
      tasks.push({
        name: 'queue-epoch',
        everyMs: EPOCH_CHECK_MS,
        fn: () =>
          checkRedisMemory().catch((err: Error) =>
            app.log.debug({ err: err.message }, 'queue epoch not checked (Redis or PostgreSQL away)'),
          ),
      });
      app.addHook('onReady', async () => {
        if (app.hasDecorator('maintenance'))
          app.maintenance.onChange(async (on) => {
            if (on) {
              // Drained: each worker finishes the job in hand, then takes no more.
              await Promise.all(workers.map((w) => w.pause()));
              await Promise.all(tasks.filter((t) => t.running).map((t) => t.running));
              app.log.warn('maintenance: queue workers paused, periodic tasks wait');
              return;
            }
            workers.forEach((w) => w.resume());
            // The data may have come from another side (end times moved by the pause): plan again.
            app.log.warn(
              { handlers: resetHandlers.map((h) => h.name) },
              'maintenance over: re-planning timers from PostgreSQL',
            );
            for (const h of resetHandlers) await h.fn();
            const epoch = await app.redis.get(epochKey);
            if (epoch)
              await app.db.$executeRaw`INSERT INTO queue_epochs (namespace, epoch) VALUES (${opts.prefix}, ${epoch})
                ON CONFLICT (namespace) DO UPDATE SET epoch = EXCLUDED.epoch, updated_at = now()`;
          });
        for (const t of tasks) {
          t.timer = setInterval(() => runTask(t), t.everyMs);
          t.timer.unref();
        }
      });
    }

    app.addHook('onClose', async () => {
      // Workers first: each finishes its current job, then queues and connections go. Each step is
      // bounded: with Redis unreachable BullMQ's close waits for a reconnect that may never come, and
      // a shutdown must not hang (systemd would have to kill it); the connections are cut after that.
      for (const t of tasks) clearInterval(t.timer);
      // One deadline for all three steps: a shutdown takes at most closeTimeoutMs here.
      const deadline = Date.now() + opts.closeTimeoutMs;
      const bounded = async (what: string, items: { close(): Promise<unknown> }[], disconnect: () => void) => {
        let timer: NodeJS.Timeout | undefined;
        const settled = Promise.allSettled(items.map((i) => i.close())).then(() => true);
        const late = new Promise<false>(
          (resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))),
        );
        const ok = await Promise.race([settled, late]);
        clearTimeout(timer);
        if (ok) return;
        app.log.warn(`${what} did not close within ${opts.closeTimeoutMs} ms (Redis unreachable?); disconnecting`);
        disconnect();
      };
      // A periodic run in progress (a sweep) finishes first: it may be closing an auction.
      await bounded(
        'periodic tasks',
        tasks.filter((t) => t.running).map((t) => ({ close: () => t.running! })),
        () => {},
      );
      // Not awaited: with Redis gone, BullMQ's disconnect can wait as long as its close.
      await bounded('queue workers', workers, () => workers.forEach((w) => abandon(w)));
      await bounded('queues', [...queues.values()], () =>
        [...queues.values()].forEach((q) => q.disconnect().catch(() => {})),
      );
      for (const c of connections) c.disconnect();
    });
  },
  { name: 'core-queues', dependencies: ['core-db', 'core-redis'] },
);
