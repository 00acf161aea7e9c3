/**
 * "Ends within 1 hour": a BullMQ job per auction (deterministic id from the auction and its end,
 * so planning it again is a no-op and a moved end gets its own job) fires an hour before the end
 * and tells the watchers and bidders who are not leading. A sweeper in every worker process does
 * the same for any live auction already inside its last hour (a job lost with Redis), and a
 * notification's source key (`ending:<auction>:<user>`) makes each person hear it once per auction.
 */
import type { FastifyInstance } from 'fastify';
import type { BiddingReads } from '../bidding/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { Notifier } from './service.js';

export const QUEUE = 'notifications';
export const ENDING_BEFORE_MS = 3600_000;
/** A job that finds the end further away than this (the seller moved it) plans itself again. */
const EARLY_SLACK_MS = 2 * 60_000;
export const endingJobId = (auctionId: number, endsAt: Date) => `ending-${auctionId}-${endsAt.getTime()}`;

export function endingTimers(
  app: FastifyInstance,
  n: Notifier,
  deps: { bidding: BiddingReads; catalog: CatalogApi; sweepMs: number },
) {
  const queue = app.queues.queue(QUEUE);

  async function schedule(auctionId: number, endsAt: Date): Promise<void> {
    const delay = Math.max(0, endsAt.getTime() - ENDING_BEFORE_MS - Date.now());
    await queue.add(
      'ending',
      { auctionId },
      { jobId: endingJobId(auctionId, endsAt), delay, removeOnComplete: 1000, removeOnFail: 1000 },
    );
  }

  /** Tells the watchers and non-leading bidders of one auction; returns how many were told now. */
  async function fire(auctionId: number): Promise<number> {
    const a = await deps.bidding.audience(auctionId);
    if (!a || a.status !== 'LIVE') return 0;
    const left = a.endsAt.getTime() - Date.now();
    if (left <= 0) return 0;
    if (left > ENDING_BEFORE_MS + EARLY_SLACK_MS) {
      await schedule(auctionId, a.endsAt);
      return 0;
    }
    const people = new Set([...a.watchers, ...a.bidders]);
    people.delete(a.sellerId);
    if (a.leaderId !== null) people.delete(a.leaderId);
    if (!people.size) return 0;
    const title = (await deps.catalog.titles([auctionId])).get(auctionId) ?? `#${auctionId}`;
    const written = await n.notifyNow(
      [...people].map((userId) => ({
        userId,
        kind: 'ending' as const,
        sourceKey: `ending:${auctionId}:${userId}`,
        params: { auctionId, title, price: a.currentPrice },
        link: `/items/${auctionId}`,
      })),
    );
    return written.filter((w) => w.created).length;
  }

  async function sweep(): Promise<number> {
    let told = 0;
    for (const a of await deps.bidding.liveEndingBefore(new Date(Date.now() + ENDING_BEFORE_MS))) {
      try {
        told += await fire(a.id);
      } catch (err) {
        app.log.error({ err, auctionId: a.id }, 'ending notification sweep failed');
      }
    }
    return told;
  }

  app.queues.worker<{ auctionId: number }>(QUEUE, async (job) => {
    if (job.name === 'ending') return { told: await fire(Number(job.data.auctionId)) };
    return null;
  });
  app.queues.every('notifications-ending-sweep', deps.sweepMs, sweep);

  // Planned where the listing was made or changed (the steps are idempotent anyway).
  const plan = async (listingId: number) => {
    const l = await deps.catalog.getListingForAuction(listingId);
    if (l && (l.status === 'LIVE' || l.status === 'SCHEDULED')) await schedule(l.id, l.endsAt);
  };
  app.events.on('listing.created', async (p, meta) => {
    if (meta.local) await schedule(p.listingId, new Date(p.endsAt));
  });
  app.events.on('listing.updated', async (p, meta) => {
    if (meta.local) await plan(p.listingId);
  });

  return { schedule, fire, sweep };
}
