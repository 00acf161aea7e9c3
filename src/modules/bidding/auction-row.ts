/**
 * The auction row as bidding's transactions see it: one type, whether read by Prisma or locked
 * with raw SQL (whose columns are aliased to the same names), its public snapshot and the
 * catalog's copy of its state; the seller's terms taken over before the first bid.
 */
import { prismaSql, type Models, type Sql, type Tx } from '../../core/db/index.js';
import type { AuctionListing, AuctionState } from '../catalog/index.js';
import { minimumBid, type IncrementBands } from './engine.js';

export type AuctionRow = Pick<
  Models.AuctionModel,
  | 'id'
  | 'sellerId'
  | 'status'
  | 'outcome'
  | 'startPrice'
  | 'reservePrice'
  | 'buyNowPrice'
  | 'currentPrice'
  | 'bidCount'
  | 'leaderId'
  | 'leaderMax'
  | 'runnerUpMax'
  | 'leaderHoldRef'
  | 'startsAt'
  | 'endsAt'
  | 'originalEndsAt'
  | 'winnerId'
  | 'finalPrice'
  | 'closedAt'
>;

/** The row as locked inside a transaction, with the database's clock at the lock. */
export type LockedAuction = AuctionRow & { dbNow: Date };

export interface AuctionSnapshot {
  id: number;
  sellerId: number;
  status: AuctionRow['status'];
  outcome: AuctionRow['outcome'];
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
export type ListingTerms = Pick<
  AuctionListing,
  'status' | 'startPrice' | 'reservePrice' | 'buyNowPrice' | 'startsAt' | 'endsAt'
>;

export function lockAuction(tx: Tx, id: number): Promise<LockedAuction | null> {
  return lockAuctionSql(prismaSql(tx), id);
}

/** lockAuction on any Sql (the bid batch's plain-SQL transaction, or a Prisma one through prismaSql). */
export async function lockAuctionSql(sql: Sql, id: number): Promise<LockedAuction | null> {
  // Raw SQL: Prisma has no SELECT ... FOR UPDATE, and the decision must use the database clock.
  const rows = await sql.query<LockedAuction>(
    `SELECT id, seller_id AS "sellerId", status::text AS status, outcome::text AS outcome, start_price AS "startPrice",
           reserve_price AS "reservePrice", buy_now_price AS "buyNowPrice", current_price AS "currentPrice", bid_count AS "bidCount",
           leader_id AS "leaderId", leader_max AS "leaderMax", runner_up_max AS "runnerUpMax", leader_hold_ref AS "leaderHoldRef",
           starts_at AS "startsAt", ends_at AS "endsAt", original_ends_at AS "originalEndsAt", winner_id AS "winnerId",
           final_price AS "finalPrice", closed_at AS "closedAt", clock_timestamp() AS "dbNow"
      FROM auctions WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ?? null;
}

export function snapshotOf(a: AuctionRow, bands: IncrementBands): AuctionSnapshot {
  return {
    id: a.id,
    sellerId: a.sellerId,
    status: a.status,
    outcome: a.outcome,
    currentPrice: a.currentPrice,
    bidCount: a.bidCount,
    leaderId: a.leaderId,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    buyNowPrice: a.buyNowPrice && a.currentPrice < a.buyNowPrice ? a.buyNowPrice : null,
    hasReserve: a.reservePrice !== null,
    reserveMet: a.reservePrice === null ? null : a.leaderMax !== null && a.leaderMax >= a.reservePrice,
    minimumBid: minimumBid(a, bands),
    winnerId: a.winnerId,
  };
}

/** The auction's state as catalog shows it on the listing. */
export function catalogState(
  a: Pick<AuctionRow, 'status' | 'outcome' | 'currentPrice' | 'bidCount' | 'endsAt'>,
): AuctionState {
  const status = a.status === 'ENDED' ? (a.outcome === 'SOLD' ? 'ENDED_SOLD' : 'ENDED_UNSOLD') : a.status;
  return { status, currentPrice: a.currentPrice, bidCount: a.bidCount, endsAt: a.endsAt };
}

export const wonHoldRef = (auctionId: number) => `auction:${auctionId}:won`;

/**
 * An auction without bids takes the listing's current terms, or its cancel. Used by the
 * `listing.updated` sync and by an auction's first bid, which may see an edit before its event.
 * Returns the changed row, or null when the terms were already the listing's.
 */
export function adoptListingTerms(tx: Tx, a: LockedAuction, l: ListingTerms): Promise<LockedAuction | null> {
  return adoptListingTermsSql(prismaSql(tx), a, l);
}

/** adoptListingTerms on any Sql (the bid batch's plain-SQL transaction, or a Prisma one through prismaSql). */
export async function adoptListingTermsSql(sql: Sql, a: LockedAuction, l: ListingTerms): Promise<LockedAuction | null> {
  if (l.status === 'CANCELLED') {
    await sql.query(
      `UPDATE auctions SET status = 'CANCELLED', closed_at = $2::timestamptz, updated_at = now() WHERE id = $1::int`,
      [a.id, a.dbNow],
    );
    return { ...a, status: 'CANCELLED', closedAt: a.dbNow };
  }
  const same =
    l.startPrice === a.startPrice &&
    l.reservePrice === a.reservePrice &&
    l.buyNowPrice === a.buyNowPrice &&
    l.startsAt.getTime() === a.startsAt.getTime() &&
    l.endsAt.getTime() === a.endsAt.getTime();
  if (same) return null;
  const terms = {
    startPrice: l.startPrice,
    currentPrice: l.startPrice,
    reservePrice: l.reservePrice,
    buyNowPrice: l.buyNowPrice,
    startsAt: l.startsAt,
    endsAt: l.endsAt,
    originalEndsAt: l.endsAt,
    status: l.startsAt <= a.dbNow ? ('LIVE' as const) : ('SCHEDULED' as const),
  };
  await sql.query(
    `UPDATE auctions SET start_price = $2::int, current_price = $2::int, reserve_price = $3::int, buy_now_price = $4::int,
            starts_at = $5::timestamptz, ends_at = $6::timestamptz, original_ends_at = $6::timestamptz,
            status = $7::"AuctionStatus", updated_at = now()
      WHERE id = $1::int`,
    [a.id, terms.startPrice, terms.reservePrice, terms.buyNowPrice, terms.startsAt, terms.endsAt, terms.status],
  );
  return { ...a, ...terms };
}
