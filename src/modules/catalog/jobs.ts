/** catalog's BullMQ work: removing pending photo uploads nobody attached to a listing in time. */
import type { FastifyInstance } from 'fastify';
import { removeExpiredPending, type PhotoDeps } from './photos.js';

export const QUEUE = 'catalog';
export const CLEANUP_JOB = 'cleanup-pending-photos';
const EVERY_MS = 15 * 60 * 1000;

export async function registerJobs(app: FastifyInstance, deps: PhotoDeps): Promise<void> {
  app.queues.worker(QUEUE, async (job) => {
    if (job.name === CLEANUP_JOB) {
      const removed = await removeExpiredPending(deps);
      if (removed) app.log.info({ removed }, 'expired pending photos removed');
      return { removed };
    }
    return null;
  });
  if (!app.queues.runsWorkers) return;
  // One repeatable job per deployment (BullMQ dedupes the repeat key), planned once the app is ready.
  app.addHook('onReady', async () => {
    await app.queues
      .queue(QUEUE)
      .upsertJobScheduler(CLEANUP_JOB, { every: EVERY_MS }, { name: CLEANUP_JOB, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } })
      .catch((err: Error) => app.log.warn({ err: err.message }, 'could not plan the photo cleanup job'));
  });
}
