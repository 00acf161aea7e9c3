/**
 * The auction row as bidding's transactions see it: locked, with the database's clock; its
 * public snapshot and the catalog's copy of its state; the seller's terms taken over before the
 * first bid.
 */
import type { Tx } from '../../core/db/index.js';
import { minimumBid, type IncrementBands } from './engine.js';
import type { AuctionStateForCatalog, ListingForAuction } from './ports.js';

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

/** What the seller last committed for the auction (the listing's terms). */
export type ListingTerms = Pick<ListingForAuction, 'cancelled' | 'startPrice' | 'reservePrice' | 'buyNowPrice' | 'startsAt' | 'endsAt'>;

/** The auction row as locked inside the bid transaction, with the database's clock. */
export interface LockedAuction {
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
  /** Those of the requested form keys that are already on file (lockAuction's second argument). */
  seen_keys?: string[] | null;
}

export async function lockAuction(tx: Tx, id: number, requestKeys: string[] = []): Promise<LockedAuction | null> {
  // Raw SQL: Prisma has no SELECT ... FOR UPDATE, and the decision must use the database clock.
  // The bid forms' keys already on file come back with it (one round trip under the lock).
  const rows = await tx.$queryRaw<LockedAuction[]>`
    SELECT id, seller_id, status::text AS status, outcome::text AS outcome, start_price, reserve_price, buy_now_price,
           current_price, bid_count, leader_id, leader_max, runner_up_max, leader_hold_ref, starts_at, ends_at,
           winner_id, clock_timestamp() AS db_now,
           CASE WHEN cardinality(${requestKeys}::text[]) = 0 THEN NULL
                ELSE ARRAY(SELECT request_key FROM bids WHERE request_key = ANY(${requestKeys}::text[])) END AS seen_keys
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

export const wonHoldRef = (auctionId: number) => `auction:${auctionId}:won`;

/**
 * An auction without bids takes the listing's current terms, or its cancel. Used by the
 * `listing.updated` sync and by an auction's first bid, which may see an edit before its event.
 * Returns the changed row, or null when the terms were already the listing's.
 */
export async function adoptListingTerms(tx: Tx, a: LockedAuction, l: ListingTerms): Promise<LockedAuction | null> {
  if (l.cancelled) {
    await tx.auction.update({ where: { id: a.id }, data: { status: 'CANCELLED', closedAt: a.db_now } });
    return { ...a, status: 'CANCELLED' };
  }
  const same =
    l.startPrice === a.start_price &&
    l.reservePrice === a.reserve_price &&
    l.buyNowPrice === a.buy_now_price &&
    l.startsAt.getTime() === a.starts_at.getTime() &&
    l.endsAt.getTime() === a.ends_at.getTime();
  if (same) return null;
  const status = l.startsAt <= a.db_now ? 'LIVE' : 'SCHEDULED';
  await tx.auction.update({
    where: { id: a.id },
    data: { startPrice: l.startPrice, currentPrice: l.startPrice, reservePrice: l.reservePrice, buyNowPrice: l.buyNowPrice, startsAt: l.startsAt, endsAt: l.endsAt, originalEndsAt: l.endsAt, status },
  });
  return { ...a, status, start_price: l.startPrice, current_price: l.startPrice, reserve_price: l.reservePrice, buy_now_price: l.buyNowPrice, starts_at: l.startsAt, ends_at: l.endsAt };
}
