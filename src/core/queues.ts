/**
 * BullMQ factory: one connection policy for every queue and worker, and one place that closes
 * them all on shutdown. Every timer in DAPANDA (auction close, auto-confirm, backups) is a
 * BullMQ job created here. Workers start only on ROLE=worker|all.
 */
import fp from 'fastify-plugin';
import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { createRedis, type Redis } from './redis.js';

export interface Queues {
  /** The named queue (created once, shared). */
  queue<T = unknown>(name: string): Queue<T>;
  /** Registers a processor; it runs only when this process has the worker role. */
  worker<T = unknown>(name: string, processor: Processor<T>, opts?: Partial<WorkerOptions>): void;
  add<T>(name: string, jobName: string, data: T, opts?: JobsOptions): Promise<void>;
  readonly runsWorkers: boolean;
  /** Every queue by name, for health, metrics and admin views. */
  all(): Queue[];
}

declare module 'fastify' {
  interface FastifyInstance {
    queues: Queues;
  }
}

/** How long shutdown waits for workers (their current job) and queues to close (QUEUE_CLOSE_TIMEOUT_MS). */
const closeTimeoutMs = () => Number(process.env.QUEUE_CLOSE_TIMEOUT_MS ?? 10_000);

export const queuesPlugin = fp<{ redisUrl: string; prefix: string; runWorkers: boolean }>(
  async (app, opts) => {
    const queues = new Map<string, Queue>();
    const workers: Worker[] = [];
    const connections: Redis[] = [];
    // Queues share one connection; BullMQ needs maxRetriesPerRequest null on blocking connections.
    const queueConn = createRedis(opts.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    queueConn.on('error', (err) => app.log.debug({ err: err.message }, 'queue redis error'));
    connections.push(queueConn);
    const prefix = `${opts.prefix}:bull`;

    const api: Queues = {
      runsWorkers: opts.runWorkers,
      queue<T>(name: string) {
        let q = queues.get(name);
        if (!q) {
          q = new Queue(name, {
            connection: queueConn,
            prefix,
            defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
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
        const w = new Worker<T>(name, processor, { connection: conn, prefix, concurrency: 4, ...wopts });
        w.on('failed', (job, err) => app.log.error({ err, queue: name, jobId: job?.id }, 'job failed'));
        w.on('error', (err) => app.log.warn({ err: err.message, queue: name }, 'worker error'));
        workers.push(w as unknown as Worker);
      },
      async add(name, jobName, data, jopts) {
        await api.queue(name).add(jobName as never, data as never, jopts);
      },
      all: () => [...queues.values()],
    };
    app.decorate('queues', api);
    app.addHook('onClose', async () => {
      // Workers first: each finishes its current job, then queues and connections go. Each step is
      // bounded: with Redis unreachable BullMQ's close waits for a reconnect that may never come, and
      // a shutdown must not hang (systemd would have to kill it); the connections are cut after that.
      const CLOSE_TIMEOUT_MS = closeTimeoutMs();
      const bounded = async (what: string, items: (Worker | Queue)[]) => {
        let timer: NodeJS.Timeout | undefined;
        const settled = Promise.allSettled(items.map((i) => i.close())).then(() => true);
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS)));
        const ok = await Promise.race([settled, late]);
        clearTimeout(timer);
        if (ok) return;
        app.log.warn(`${what} did not close within ${CLOSE_TIMEOUT_MS} ms (Redis unreachable?); disconnecting`);
        // Not awaited: with Redis gone, BullMQ's disconnect can wait as long as its close.
        for (const i of items) i.disconnect().catch(() => {});
      };
      await bounded('queue workers', workers);
      await bounded('queues', [...queues.values()]);
      for (const c of connections) c.disconnect();
    });
  },
  { name: 'core-queues' },
);
