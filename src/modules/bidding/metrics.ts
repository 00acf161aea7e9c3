/** Bidding's Prometheus metrics. */
import type { FastifyBaseLogger } from 'fastify';
import { prom, registry } from '../../core/metrics.js';
import type { AuctionClosed } from './events.js';

export const bidsTotal = new prom.Counter({
  name: 'dapanda_bids_total',
  help: 'Bids by result',
  labelNames: ['result', 'reason'] as const,
  registers: [registry],
});

/** Bids per bid transaction (count = transactions, sum = bids): how much a hot auction's batching saves. */
export const batchSize = new prom.Histogram({
  name: 'dapanda_bid_batch_size',
  help: 'Bids decided per bid transaction',
  buckets: [1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

const closedTotal = new prom.Counter({
  name: 'dapanda_auctions_closed_total',
  help: 'Auctions closed',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
const closeLag = new prom.Histogram({
  name: 'dapanda_auction_close_lag_seconds',
  help: 'Time from an auction end to its close',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 300],
  registers: [registry],
});
const gmv = new prom.Counter({
  name: 'dapanda_gmv_won_total',
  help: 'Gross merchandise value of sold auctions, won',
  registers: [registry],
});

/** Counted by the process whose transaction closed the auction (by its end or by a buy-now). */
export function countClose(
  c: Pick<AuctionClosed, 'auctionId' | 'outcome' | 'lagMs' | 'finalPrice'>,
  log: FastifyBaseLogger,
): void {
  closedTotal.inc({ outcome: c.outcome.toLowerCase() });
  closeLag.observe(Math.max(0, c.lagMs) / 1000);
  // One line per close: CloudWatch (which drops Prometheus histograms) alarms on closeLagMs from the log.
  log.info({ auctionId: c.auctionId, outcome: c.outcome, closeLagMs: Math.max(0, c.lagMs) }, 'auction closed');
  if (c.finalPrice) gmv.inc(c.finalPrice);
}
