/**
 * catalog's periodic work: removing pending photo uploads nobody attached to a listing in time.
 * A timer in each worker process (core/queues.ts `every`), not a repeatable BullMQ job, so a
 * flushed Redis cannot stop it; removing already-removed uploads does nothing.
 */
import type { FastifyInstance } from 'fastify';
import { removeExpiredPending, type PhotoDeps } from './photos.js';

const EVERY_MS = 15 * 60 * 1000;

export async function registerJobs(app: FastifyInstance, deps: PhotoDeps): Promise<void> {
  app.queues.every('cleanup-pending-photos', EVERY_MS, async () => {
    const removed = await removeExpiredPending(deps);
    if (removed) app.log.info({ removed }, 'expired pending photos removed');
  });
}
