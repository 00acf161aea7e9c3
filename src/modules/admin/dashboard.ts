/**
 * The admin dashboard's numbers, each read from its owner: bidding's and wallet's public APIs,
 * the moderation queue (moderation's API), BullMQ (each queue's counts) and this process's
 * Prometheus registry (the auction close lag histogram). Orders come with the orders module.
 */
import type { FastifyInstance } from 'fastify';
import { registry } from '../../core/metrics.js';
import { biddingApi } from '../bidding/index.js';
import { walletApi } from '../wallet/index.js';

export interface QueueHealth {
  name: string;
  waiting: number;
  delayed: number;
  failed: number;
  active: number;
}

/**
 * The q-quantile of a Prometheus histogram in this process's registry, as Prometheus's
 * histogram_quantile does (linear inside the bucket). Null when nothing was observed.
 */
export async function histogramQuantile(name: string, q: number): Promise<number | null> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return null;
  const { values } = await metric.get();
  const buckets = values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_bucket`)
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe; // above the last bound: the last bound is all that is known
      const inBucket = b.count - prevCount;
      return inBucket ? prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket) : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

export async function queueHealth(app: FastifyInstance): Promise<QueueHealth[]> {
  const out = await Promise.all(
    app.queues.all().map(async (q) => {
      try {
        const c = await q.getJobCounts('waiting', 'delayed', 'failed', 'active');
        return {
          name: q.name,
          waiting: c.waiting ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
          active: c.active ?? 0,
        };
      } catch {
        return { name: q.name, waiting: -1, delayed: -1, failed: -1, active: -1 };
      }
    }),
  );
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface DashboardExtra {
  /** Open reports waiting for a moderator (moderation module), when it is there. */
  openReports?: () => Promise<number>;
  /** Orders per state (orders module). */
  ordersByState?: () => Promise<Record<string, number>>;
}

export async function dashboardModel(app: FastifyInstance, extra: DashboardExtra) {
  const [bidding, payouts, queues, lagP99, openReports, orders] = await Promise.all([
    biddingApi(app.db, app.events).stats(),
    walletApi(app.db).payoutsWaiting(),
    queueHealth(app),
    histogramQuantile('dapanda_auction_close_lag_seconds', 0.99),
    extra.openReports ? extra.openReports() : Promise.resolve(null),
    extra.ordersByState ? extra.ordersByState() : Promise.resolve(null),
  ]);
  return {
    bidding,
    payouts,
    queues,
    closeLagP99Ms: lagP99 === null ? null : Math.round(lagP99 * 1000),
    openReports,
    orders,
    at: new Date(),
  };
}
