/**
 * Per-instance queues of bids by auction: placeBid() is the module's way in for a bid.
 */
import { AppError } from '../../core/errors.js';
import { decideBatch, type BiddingDeps, type BidResult, type PlaceBid } from './service.js';
import { batchSize } from './metrics.js';

/**
 * Bids on one auction queue here per instance and are decided in batches: whatever arrived while
 * the previous transaction ran is decided in the next one, in arrival order, under one row lock.
 * Waiting in memory instead of inside an open transaction keeps the connection pool free for
 * everyone else (a hot auction cannot starve the site), and one transaction for a batch makes a
 * hot auction's throughput grow with its load instead of being one lock hold per bid. Each bid
 * still gets its own answer, history row and rules, exactly as if decided alone; only the
 * batch's final leader has points held (a leader overtaken inside the batch would have had its
 * hold returned within the same transaction). Other instances still meet at the row lock.
 */
interface Pending {
  cmd: PlaceBid;
  resolve: (r: BidResult) => void;
  reject: (err: unknown) => void;
}
interface Lane {
  queue: Pending[];
  running: boolean;
}
const lanes = new WeakMap<BiddingDeps, Map<number, Lane>>();
export const MAX_WAITING_PER_AUCTION = 500;
/** Bids decided in one transaction at most (bounds the lock hold and the statements' size). */
export const MAX_BATCH = 64;

export class AuctionBusy extends AppError {
  constructor() {
    super(503, 'errors.unavailable', {}, 'AUCTION_BUSY');
  }
}

/** One transaction's decisions, counted. */
function decide(deps: BiddingDeps, cmds: PlaceBid[]): Promise<BidResult[]> {
  batchSize.observe(cmds.length);
  return decideBatch(deps, cmds);
}

export function placeBid(deps: BiddingDeps, cmd: PlaceBid): Promise<BidResult> {
  let byAuction = lanes.get(deps);
  if (!byAuction) lanes.set(deps, (byAuction = new Map()));
  let lane = byAuction.get(cmd.auctionId);
  if (!lane) byAuction.set(cmd.auctionId, (lane = { queue: [], running: false }));
  if (lane.queue.length >= MAX_WAITING_PER_AUCTION) return Promise.reject(new AuctionBusy());
  const q = lane.queue;
  const result = new Promise<BidResult>((resolve, reject) => q.push({ cmd, resolve, reject }));
  if (!lane.running) void drain(deps, byAuction, cmd.auctionId, lane);
  return result;
}

async function drain(deps: BiddingDeps, byAuction: Map<number, Lane>, auctionId: number, lane: Lane): Promise<void> {
  lane.running = true;
  try {
    while (lane.queue.length) {
      // A buy-now is decided alone (it ends the auction); plain bids up to the next buy-now go together.
      const stop = lane.queue.findIndex((p) => p.cmd.buyNow);
      const n = stop === 0 ? 1 : Math.min(MAX_BATCH, stop === -1 ? lane.queue.length : stop);
      const batch = lane.queue.splice(0, n);
      try {
        const results = await decide(
          deps,
          batch.map((p) => p.cmd),
        );
        batch.forEach((p, i) => p.resolve(results[i]));
      } catch (err) {
        if (batch.length === 1) {
          batch[0].reject(err);
          continue;
        }
        // Anything unexpected in a batch (a hold refused by a concurrent spend, a form key taken
        // by another instance, a database error): decide each bid alone, so only its own bid fails.
        for (const p of batch) {
          await decide(deps, [p.cmd]).then(
            (r) => p.resolve(r[0]),
            (e: unknown) => p.reject(e),
          );
        }
      }
    }
  } finally {
    lane.running = false;
    if (!lane.queue.length && byAuction.get(auctionId) === lane) byAuction.delete(auctionId);
  }
}
