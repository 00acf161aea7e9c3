/**
 * Auction timers. Every auction has a start job and a close job on BullMQ with deterministic ids
 * (a re-plan after a soft close adds the job for the new end; the old one finds nothing due). Two
 * safety nets hold when Redis forgets: a sweeper on a timer in every worker process (not a
 * repeatable job, which a flush deletes) starts/closes anything overdue and opens auctions for
 * listings whose `listing.created` event was missed; and when Redis is found to have lost its
 * data (core/queues.ts), every open auction's jobs are planned again from PostgreSQL.
 */
import type { FastifyInstance } from 'fastify';
import type { BiddingDeps } from './service.js';
import { closeAuction, openAuctions, openAuctionsFor, overdue, startAuction } from './lifecycle.js';
import { auctionStarted, type AuctionClosed } from './events.js';
import { countClose } from './metrics.js';

export const QUEUE = 'auctions';
const LISTING_SETTLE_MS = 60_000;
/** With Redis away a job cannot be planned: the sweeper and the re-plan try again later. */
const PLAN_TIMEOUT_MS = 2000;

type Job = { name: string; data: { id?: number } };

export interface AuctionTimers {
  schedule(id: number, startsAt: Date, endsAt: Date): Promise<void>;
  replanClose(id: number, endsAt: Date): Promise<void>;
  /** Runs one sweep now (every worker process also runs it every AUCTION_SWEEP_MS). */
  sweep(): Promise<{ started: number; closed: number; opened: number; failed: number }>;
  /** Plans every open auction's start and close again (after Redis lost them). Returns how many. */
  replanAll(): Promise<number>;
  /** Closes one auction (its durable `auction.closed` commits with it); used by jobs, the sweeper and tests. */
  close(id: number): Promise<AuctionClosed | null>;
}

const bounded = <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: Redis did not answer within ${PLAN_TIMEOUT_MS} ms`)),
      PLAN_TIMEOUT_MS,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

export function auctionTimers(app: FastifyInstance, deps: BiddingDeps, opts: { sweepMs: number }): AuctionTimers {
  const queue = app.queues.queue(QUEUE);
  const cursorKey = app.rkey('bidding', 'sweep', 'listing-cursor');

  const timers: AuctionTimers = {
    async schedule(id, startsAt, endsAt) {
      const now = Date.now();
      if (startsAt.getTime() > now) {
        await bounded(
          queue.add('start', { id }, { jobId: `start-${id}`, delay: startsAt.getTime() - now }),
          'plan start',
        );
      }
      await timers.replanClose(id, endsAt);
    },
    async replanClose(id, endsAt) {
      const delay = Math.max(0, endsAt.getTime() - Date.now());
      await bounded(queue.add('close', { id }, { jobId: `close-${id}-${endsAt.getTime()}`, delay }), 'plan close');
    },
    async close(id) {
      const c = await closeAuction(deps, id);
      if (c) countClose(c, app.log);
      return c;
    },
    async replanAll() {
      let planned = 0;
      for (let after = 0; ;) {
        const batch = await openAuctions(deps, after, 500);
        if (!batch.length) return planned;
        for (const a of batch) {
          await timers.schedule(a.id, a.startsAt, a.endsAt);
          planned++;
        }
        after = batch[batch.length - 1].id;
      }
    },
    async sweep() {
      let [started, closed, opened, failed] = [0, 0, 0, 0];
      // One bad item must not stop the sweep for all the others: each is tried on its own.
      const each = async (what: string, id: number, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          failed++;
          app.log.error({ err, auctionId: id }, `sweeper: ${what} failed`);
        }
      };
      // Time-critical first: overdue closes and starts, then auctions for listings an event missed.
      const due = await overdue(deps);
      for (const id of due.toStart) {
        await each('start', id, async () => {
          if (await startAuction(deps, id)) {
            started++;
            await app.events.emit(auctionStarted(id));
          }
        });
      }
      for (const id of due.toClose) await each('close', id, async () => (await timers.close(id)) && closed++);
      // Listings whose creation event was missed (cursor trails a minute behind, since ids may commit out of order).
      const cursor = Number((await app.redis.get(cursorKey).catch(() => null)) ?? 0);
      const listings = await deps.catalog.listingsAfter(cursor, 500);
      const created = new Set(await openAuctionsFor(deps, listings));
      let next = cursor;
      for (const l of listings) {
        if (created.has(l.id)) {
          opened++;
          await each('plan', l.id, () => timers.schedule(l.id, l.startsAt, l.endsAt));
        }
        if (Date.now() - l.createdAt.getTime() > LISTING_SETTLE_MS) next = l.id;
      }
      if (next > cursor) await app.redis.set(cursorKey, String(next)).catch(() => {});
      return { started, closed, opened, failed };
    },
  };

  app.queues.worker(
    QUEUE,
    async (job: Job) => {
      if (job.name === 'sweep') return timers.sweep();
      const id = Number(job.data.id);
      if (job.name === 'start') {
        const s = await startAuction(deps, id);
        if (s) await app.events.emit(auctionStarted(id));
        return { started: !!s };
      }
      if (job.name === 'close') return { closed: !!(await timers.close(id)) };
      return null;
    },
    { concurrency: 8 },
  );
  app.queues.every('auction-sweeper', opts.sweepMs, () => timers.sweep());
  app.queues.onRedisReset('auction-timers', async () => {
    const n = await timers.replanAll();
    app.log.warn({ auctions: n }, 'auction timers re-planned from PostgreSQL');
  });
  return timers;
}
