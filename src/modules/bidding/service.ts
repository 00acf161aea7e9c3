/**
 * Accepting bids. One transaction per bid locks the auction row and decides on the database
 * clock: status, end time, minimum increment, leader, the bidder's hold. Two concurrent bids
 * queue on the row lock, so they can never both win the same price, and a bid that returns
 * "accepted" has committed.
 */
import { Prisma, transaction, type Db, type Tx } from '../../core/db/index.js';
import { AppError } from '../../core/errors.js';
import { applyBid, minimumBid, type AuctionPriceState, type IncrementBands } from './engine.js';
import { InsufficientPoints, type CatalogPort, type WalletPort, type AuctionStateForCatalog } from './ports.js';

export interface BiddingSettings {
  bands: IncrementBands;
  /** A bid this close to the end moves the end to now + softCloseMs. */
  softCloseMs: number;
  maxBid: number;
}

export interface BiddingDeps {
  db: Db;
  wallet: WalletPort;
  catalog: CatalogPort;
  settings: BiddingSettings;
}

export type Refusal =
  | 'not_found'
  | 'not_started'
  | 'ended'
  | 'cancelled'
  | 'own_item'
  | 'below_minimum'
  | 'not_above_own_maximum'
  | 'insufficient_points'
  | 'buy_now_unavailable';

export interface AuctionSnapshot {
  id: number;
  sellerId: number;
  status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED';
  outcome: 'SOLD' | 'UNSOLD' | null;
  currentPrice: number;
  bidCount: number;
  leaderId: number | null;
  startsAt: Date;
  endsAt: Date;
  buyNowPrice: number | null;
  reserveMet: boolean | null;
  hasReserve: boolean;
  minimumBid: number;
  winnerId: number | null;
}

export type BidResult =
  | { ok: true; duplicate: boolean; leads: boolean; snapshot: AuctionSnapshot; outbidUserId: number | null; extended: boolean; closed: boolean }
  | { ok: false; reason: Refusal; minimum?: number; snapshot?: AuctionSnapshot };

export interface PlaceBid {
  auctionId: number;
  bidderId: number;
  /** The bidder's maximum (a plain bid is a maximum equal to the amount). */
  amount: number;
  requestKey?: string;
  buyNow?: boolean;
}

/** The auction row as locked inside the bid transaction, with the database's clock. */
interface LockedAuction {
  id: number;
  seller_id: number;
  status: AuctionSnapshot['status'];
  outcome: AuctionSnapshot['outcome'];
  start_price: number;
  reserve_price: number | null;
  buy_now_price: number | null;
  current_price: number;
  bid_count: number;
  leader_id: number | null;
  leader_max: number | null;
  runner_up_max: number | null;
  leader_hold_ref: string | null;
  starts_at: Date;
  ends_at: Date;
  winner_id: number | null;
  db_now: Date;
}

export async function lockAuction(tx: Tx, id: number): Promise<LockedAuction | null> {
  // Raw SQL: Prisma has no SELECT ... FOR UPDATE, and the decision must use the database clock.
  const rows = await tx.$queryRaw<LockedAuction[]>`
    SELECT id, seller_id, status::text AS status, outcome::text AS outcome, start_price, reserve_price, buy_now_price,
           current_price, bid_count, leader_id, leader_max, runner_up_max, leader_hold_ref, starts_at, ends_at,
           winner_id, clock_timestamp() AS db_now
      FROM auctions WHERE id = ${id} FOR UPDATE`;
  return rows[0] ?? null;
}

export function snapshotOf(a: Pick<LockedAuction, 'id' | 'seller_id' | 'status' | 'outcome' | 'current_price' | 'bid_count' | 'leader_id' | 'starts_at' | 'ends_at' | 'buy_now_price' | 'reserve_price' | 'leader_max' | 'start_price' | 'winner_id'>, bands: IncrementBands): AuctionSnapshot {
  return {
    id: a.id,
    sellerId: a.seller_id,
    status: a.status,
    outcome: a.outcome,
    currentPrice: a.current_price,
    bidCount: a.bid_count,
    leaderId: a.leader_id,
    startsAt: a.starts_at,
    endsAt: a.ends_at,
    buyNowPrice: a.buy_now_price && a.current_price < a.buy_now_price ? a.buy_now_price : null,
    hasReserve: a.reserve_price !== null,
    reserveMet: a.reserve_price === null ? null : a.leader_max !== null && a.leader_max >= a.reserve_price,
    minimumBid: minimumBid({ startPrice: a.start_price, currentPrice: a.current_price, leaderId: a.leader_id }, bands),
    winnerId: a.winner_id,
  };
}

export function catalogState(a: { status: string; outcome: string | null; current_price: number; bid_count: number; ends_at: Date }): AuctionStateForCatalog {
  const status = a.status === 'ENDED' ? (a.outcome === 'SOLD' ? 'ENDED_SOLD' : 'ENDED_UNSOLD') : (a.status as AuctionStateForCatalog['status']);
  return { status, currentPrice: a.current_price, bidCount: a.bid_count, endsAt: a.ends_at };
}

// Unique per hold: a bid count and maximum never repeat for one bidder on one auction.
const holdRef = (auctionId: number, userId: number, bidCount: number, max: number) => `auction:${auctionId}:bid:${userId}:${bidCount}:${max}`;
export const wonHoldRef = (auctionId: number) => `auction:${auctionId}:won`;

class Refused extends Error {
  constructor(readonly result: BidResult) {
    super('refused');
  }
}

/**
 * Bids on one auction queue here, one transaction at a time per instance: the row lock would
 * serialise them anyway, and waiting in memory instead of inside an open transaction keeps the
 * connection pool free for everyone else (a hot auction cannot starve the site). Other
 * instances still meet at the row lock.
 */
const queues = new Map<number, { tail: Promise<unknown>; waiting: number }>();
export const MAX_WAITING_PER_AUCTION = 500;

export class AuctionBusy extends AppError {
  constructor() {
    super(503, 'errors.unavailable', {}, 'AUCTION_BUSY');
  }
}

function inTurn<T>(auctionId: number, fn: () => Promise<T>): Promise<T> {
  let q = queues.get(auctionId);
  if (!q) queues.set(auctionId, (q = { tail: Promise.resolve(), waiting: 0 }));
  if (q.waiting >= MAX_WAITING_PER_AUCTION) return Promise.reject(new AuctionBusy());
  q.waiting++;
  const entry = q;
  const run = entry.tail.then(fn, fn);
  entry.tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run.finally(() => {
    if (--entry.waiting === 0 && queues.get(auctionId) === entry) queues.delete(auctionId);
  });
}

export function placeBid(deps: BiddingDeps, cmd: PlaceBid): Promise<BidResult> {
  return inTurn(cmd.auctionId, () => decideBid(deps, cmd));
}

async function decideBid(deps: BiddingDeps, cmd: PlaceBid): Promise<BidResult> {
  const { bands } = deps.settings;
  try {
    return await transaction(deps.db, async (tx) => {
      const a = await lockAuction(tx, cmd.auctionId);
      if (!a) return { ok: false, reason: 'not_found' };
      // After the lock: a concurrent copy of this form has committed by now, so it is seen.
      if (cmd.requestKey) {
        const seen = await tx.bid.findUnique({ where: { requestKey: cmd.requestKey }, select: { auctionId: true } });
        if (seen) return duplicateOf(tx, cmd, bands);
      }
      const refuse = (reason: Refusal, minimum?: number): never => {
        throw new Refused({ ok: false, reason, minimum, snapshot: snapshotOf(a, bands) });
      };
      if (a.status === 'CANCELLED') refuse('cancelled');
      if (a.status === 'ENDED' || a.db_now >= a.ends_at) refuse('ended');
      if (a.status === 'SCHEDULED' || a.db_now < a.starts_at) refuse('not_started');
      if (a.seller_id === cmd.bidderId) refuse('own_item');
      if (cmd.buyNow) return buyNow(deps, tx, a, cmd);

      const state: AuctionPriceState = {
        startPrice: a.start_price,
        reservePrice: a.reserve_price,
        currentPrice: a.current_price,
        bidCount: a.bid_count,
        leaderId: a.leader_id,
        leaderMax: a.leader_max,
        runnerUpMax: a.runner_up_max,
      };
      const d = applyBid(state, cmd.bidderId, cmd.amount, bands);
      if (!d.ok) return refuse(d.reason, d.minimum);

      // The bidder's points must cover their maximum. The new leader's maximum is held (and the
      // previous leader's hold returned); a bidder beaten at once by the proxy is only checked.
      let leaderHoldRef = a.leader_hold_ref;
      if (d.leads) {
        const ref = holdRef(a.id, cmd.bidderId, a.bid_count, cmd.amount);
        // The old hold goes first: a leader raising their maximum needs only the difference on top.
        // If the new hold fails, the transaction rolls the release back with it.
        if (a.leader_hold_ref) await deps.wallet.releaseHold(tx, a.leader_hold_ref);
        try {
          await deps.wallet.hold(tx, cmd.bidderId, cmd.amount, ref);
        } catch (err) {
          if (err instanceof InsufficientPoints) refuse('insufficient_points');
          throw err;
        }
        leaderHoldRef = ref;
      } else if (!(await deps.wallet.covers(tx, cmd.bidderId, cmd.amount))) {
        refuse('insufficient_points');
      }

      await tx.$executeRaw`
        INSERT INTO proxy_bids (auction_id, bidder_id, max_amount, created_at, updated_at)
        VALUES (${a.id}, ${cmd.bidderId}, ${cmd.amount}, now(), now())
        ON CONFLICT (auction_id, bidder_id) DO UPDATE SET max_amount = GREATEST(proxy_bids.max_amount, EXCLUDED.max_amount), updated_at = now()`;
      const raise = d.leads && a.leader_id === cmd.bidderId;
      if (!raise) {
        await tx.bid.create({
          data: { auctionId: a.id, bidderId: cmd.bidderId, amount: d.leads ? d.next.currentPrice : cmd.amount, maxAmount: cmd.amount, kind: 'MANUAL', requestKey: cmd.requestKey ?? null },
        });
      } else {
        // The leader raised their maximum: recorded (with its form key, so a replay is recognised),
        // not counted as a new bid.
        await tx.bid.create({ data: { auctionId: a.id, bidderId: cmd.bidderId, amount: d.next.currentPrice, maxAmount: cmd.amount, kind: 'PROXY', requestKey: cmd.requestKey ?? null } });
      }
      if (d.proxyAnswered) {
        await tx.bid.create({ data: { auctionId: a.id, bidderId: d.next.leaderId!, amount: d.next.currentPrice, kind: 'PROXY' } });
      }

      // Soft close: a bid in the last minutes moves the end to now + the window.
      const softEnd = new Date(a.db_now.getTime() + deps.settings.softCloseMs);
      const extended = !raise && softEnd > a.ends_at;
      const endsAt = extended ? softEnd : a.ends_at;
      await tx.auction.update({
        where: { id: a.id },
        data: {
          currentPrice: d.next.currentPrice,
          bidCount: raise ? a.bid_count : d.next.bidCount,
          leaderId: d.next.leaderId,
          leaderMax: d.next.leaderMax,
          runnerUpMax: d.next.runnerUpMax,
          leaderHoldRef,
          endsAt,
        },
      });
      const after = { ...a, current_price: d.next.currentPrice, bid_count: raise ? a.bid_count : d.next.bidCount, leader_id: d.next.leaderId, leader_max: d.next.leaderMax, ends_at: endsAt };
      await deps.catalog.recordAuctionState(tx, a.id, catalogState(after));
      return { ok: true, duplicate: false, leads: d.leads, snapshot: snapshotOf(after, bands), outbidUserId: d.outbidUserId, extended, closed: false } as BidResult;
    });
  } catch (err) {
    if (err instanceof Refused) return err.result;
    // Two submissions of one form racing: the unique key lets one in; the other reports it.
    if (cmd.requestKey && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      return transaction(deps.db, (tx) => duplicateOf(tx, cmd, bands));
    }
    throw err;
  }
}

async function duplicateOf(tx: Tx, cmd: PlaceBid, bands: IncrementBands): Promise<BidResult> {
  const a = await tx.auction.findUnique({ where: { id: cmd.auctionId } });
  if (!a) return { ok: false, reason: 'not_found' };
  const snap = snapshotOf(
    { id: a.id, seller_id: a.sellerId, status: a.status, outcome: a.outcome, current_price: a.currentPrice, bid_count: a.bidCount, leader_id: a.leaderId, starts_at: a.startsAt, ends_at: a.endsAt, buy_now_price: a.buyNowPrice, reserve_price: a.reservePrice, leader_max: a.leaderMax, start_price: a.startPrice, winner_id: a.winnerId },
    bands,
  );
  return { ok: true, duplicate: true, leads: a.leaderId === cmd.bidderId, snapshot: snap, outbidUserId: null, extended: false, closed: a.status === 'ENDED' };
}

async function buyNow(deps: BiddingDeps, tx: Tx, a: LockedAuction, cmd: PlaceBid): Promise<BidResult> {
  const { bands } = deps.settings;
  if (!a.buy_now_price || a.current_price >= a.buy_now_price) {
    throw new Refused({ ok: false, reason: 'buy_now_unavailable', snapshot: snapshotOf(a, bands) });
  }
  const price = a.buy_now_price;
  try {
    await deps.wallet.hold(tx, cmd.bidderId, price, wonHoldRef(a.id));
  } catch (err) {
    if (err instanceof InsufficientPoints) throw new Refused({ ok: false, reason: 'insufficient_points', snapshot: snapshotOf(a, bands) });
    throw err;
  }
  // Nobody is outbid silently: the leader's hold goes back and they are told (auction.closed).
  if (a.leader_hold_ref) await deps.wallet.releaseHold(tx, a.leader_hold_ref);
  await tx.bid.create({ data: { auctionId: a.id, bidderId: cmd.bidderId, amount: price, maxAmount: price, kind: 'BUY_NOW', requestKey: cmd.requestKey ?? null } });
  const closed = {
    ...a,
    status: 'ENDED' as const,
    outcome: 'SOLD' as const,
    current_price: price,
    bid_count: a.bid_count + 1,
    leader_id: cmd.bidderId,
    leader_max: price,
    winner_id: cmd.bidderId,
    ends_at: a.db_now,
  };
  await tx.auction.update({
    where: { id: a.id },
    data: {
      status: 'ENDED',
      outcome: 'SOLD',
      currentPrice: price,
      bidCount: closed.bid_count,
      leaderId: cmd.bidderId,
      leaderMax: price,
      leaderHoldRef: wonHoldRef(a.id),
      winnerId: cmd.bidderId,
      finalPrice: price,
      endsAt: a.db_now,
      closedAt: a.db_now,
    },
  });
  await deps.catalog.recordAuctionState(tx, a.id, catalogState(closed));
  return { ok: true, duplicate: false, leads: true, snapshot: snapshotOf(closed, bands), outbidUserId: a.leader_id !== cmd.bidderId ? a.leader_id : null, extended: false, closed: true };
}
