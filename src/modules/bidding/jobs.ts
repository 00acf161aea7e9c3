/**
 * Auction timers on BullMQ. Every auction has a start job and a close job with deterministic
 * ids (a re-plan after a soft close adds the job for the new end; the old one finds nothing
 * due). A repeatable sweeper starts/closes anything overdue and opens auctions for listings
 * whose `listing.created` event was missed, so lost jobs or a flushed Redis never leave an
 * auction open.
 */
import type { FastifyInstance } from 'fastify';
import { prom, registry } from '../../core/metrics.js';
import type { BiddingDeps } from './service.js';
import { closeAuction, openAuction, overdue, startAuction, type ClosedAuction } from './lifecycle.js';

export const QUEUE = 'auctions';
const SWEEP_EVERY_MS = Number(process.env.AUCTION_SWEEP_MS ?? 15_000);
const LISTING_SETTLE_MS = 60_000;

const closedTotal = new prom.Counter({ name: 'dapanda_auctions_closed_total', help: 'Auctions closed', labelNames: ['outcome'] as const, registers: [registry] });
const closeLag = new prom.Histogram({
  name: 'dapanda_auction_close_lag_seconds',
  help: 'Time from an auction end to its close',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 300],
  registers: [registry],
});
const gmv = new prom.Counter({ name: 'dapanda_gmv_won_total', help: 'Gross merchandise value of sold auctions, won', registers: [registry] });

type Job = { name: string; data: { id?: number } };

export interface AuctionTimers {
  schedule(id: number, startsAt: Date, endsAt: Date): Promise<void>;
  replanClose(id: number, endsAt: Date): Promise<void>;
  /** Runs one sweep now (the repeatable job calls this too). */
  sweep(): Promise<{ started: number; closed: number; opened: number; failed: number }>;
  /** Closes one auction and announces it; used by jobs, the sweeper and tests. */
  close(id: number): Promise<ClosedAuction | null>;
}

export function auctionTimers(app: FastifyInstance, deps: BiddingDeps): AuctionTimers {
  const queue = app.queues.queue(QUEUE);
  const cursorKey = app.rkey('bidding', 'sweep', 'listing-cursor');

  const announceClose = async (c: ClosedAuction) => {
    closedTotal.inc({ outcome: c.outcome.toLowerCase() });
    closeLag.observe(Math.max(0, c.lagMs) / 1000);
    // One line per close: CloudWatch (which drops Prometheus histograms) alarms on closeLagMs from the log.
    app.log.info({ auctionId: c.auctionId, outcome: c.outcome, closeLagMs: Math.max(0, c.lagMs) }, 'auction closed');
    if (c.finalPrice) gmv.inc(c.finalPrice);
    await app.events.emit('auction.closed', { ...c });
  };

  const timers: AuctionTimers = {
    async schedule(id, startsAt, endsAt) {
      const now = Date.now();
      if (startsAt.getTime() > now) {
        await queue.add('start', { id }, { jobId: `start-${id}`, delay: startsAt.getTime() - now });
      }
      await timers.replanClose(id, endsAt);
    },
    async replanClose(id, endsAt) {
      const delay = Math.max(0, endsAt.getTime() - Date.now());
      await queue.add('close', { id }, { jobId: `close-${id}-${endsAt.getTime()}`, delay });
    },
    async close(id) {
      const c = await closeAuction(deps, id);
      if (c) await announceClose(c);
      return c;
    },
    async sweep() {
      let opened = 0;
      // One bad item must not stop the sweep for all the others: each is tried on its own.
      const each = async (what: string, id: number, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          failed++;
          app.log.error({ err, auctionId: id }, `sweeper: ${what} failed`);
        }
      };
      let failed = 0;
      // Time-critical first: overdue closes and starts, then auctions for listings an event missed.
      const due = await overdue(deps);
      let started = 0;
      let closed = 0;
      for (const id of due.toStart) {
        await each('start', id, async () => {
          if (await startAuction(deps, id)) {
            started++;
            await app.events.emit('auction.started', { auctionId: id });
          }
        });
      }
      for (const id of due.toClose) await each('close', id, async () => (await timers.close(id)) && closed++);
      // Listings whose creation event was missed (cursor trails a minute behind, since ids may commit out of order).
      const cursor = Number((await app.redis.get(cursorKey).catch(() => null)) ?? 0);
      const listings = await deps.catalog.listingsAfter(cursor, 500);
      let next = cursor;
      for (const l of listings) {
        await each('open', l.id, async () => {
          if (await openAuction(deps, l)) {
            opened++;
            await timers.schedule(l.id, l.startsAt, l.endsAt);
          }
        });
        if (Date.now() - l.createdAt.getTime() > LISTING_SETTLE_MS) next = l.id;
      }
      if (next > cursor) await app.redis.set(cursorKey, String(next)).catch(() => {});
      return { started, closed, opened, failed };
    },
  };

  app.queues.worker(QUEUE, async (job: Job) => {
    if (job.name === 'sweep') return timers.sweep();
    const id = Number(job.data.id);
    if (job.name === 'start') {
      const s = await startAuction(deps, id);
      if (s) await app.events.emit('auction.started', { auctionId: id });
      return { started: !!s };
    }
    if (job.name === 'close') return { closed: !!(await timers.close(id)) };
    return null;
  }, { concurrency: 8 });

  if (app.queues.runsWorkers) {
    app.addHook('onReady', async () => {
      await queue.upsertJobScheduler('auction-sweeper', { every: SWEEP_EVERY_MS }, { name: 'sweep', data: {} });
    });
  }
  return timers;
}
