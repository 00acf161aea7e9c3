/**
 * SCHEDULED -> LIVE -> ENDED (SOLD | UNSOLD), or CANCELLED. Each step runs in a transaction
 * that locks the auction row and checks the database clock, so it is idempotent: a step that
 * already happened, or is not due yet, changes nothing. Timers (BullMQ jobs, jobs.ts) and the
 * sweeper call these; the sweeper makes a lost job or a flushed Redis harmless.
 */
import { transaction, type Tx } from '../../core/db/index.js';
import type { BiddingDeps } from './service.js';
import { adoptListingTerms, catalogState, lockAuction, snapshotOf, wonHoldRef, type AuctionSnapshot } from './auction-row.js';
import type { ListingForAuction } from './ports.js';

export interface ClosedAuction {
  auctionId: number;
  sellerId: number;
  outcome: 'SOLD' | 'UNSOLD';
  winnerId: number | null;
  finalPrice: number | null;
  /** The wallet hold that pays for the win (orders moves it to escrow). */
  holdRef: string | null;
  endsAt: string;
  closedAt: string;
  lagMs: number;
}

/** Creates the auction for a listing (idempotent). Returns whether it was created now. */
export async function openAuction(deps: BiddingDeps, l: ListingForAuction): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const rows = await tx.$executeRaw`
      INSERT INTO auctions (id, seller_id, status, start_price, reserve_price, buy_now_price, current_price, starts_at, ends_at, original_ends_at, created_at, updated_at)
      VALUES (${l.id}, ${l.sellerId},
              (CASE WHEN ${l.cancelled} THEN 'CANCELLED' WHEN ${l.startsAt}::timestamptz <= now() THEN 'LIVE' ELSE 'SCHEDULED' END)::"AuctionStatus", ${l.startPrice}, ${l.reservePrice}, ${l.buyNowPrice}, ${l.startPrice},
              ${l.startsAt}, ${l.endsAt}, ${l.endsAt}, now(), now())
      ON CONFLICT (id) DO NOTHING`;
    return rows === 1;
  });
}

/** SCHEDULED -> LIVE once starts_at has passed. Returns the new snapshot when it changed. */
export async function startAuction(deps: BiddingDeps, id: number): Promise<AuctionSnapshot | null> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, id);
    if (!a || a.status !== 'SCHEDULED' || a.db_now < a.starts_at) return null;
    await tx.auction.update({ where: { id }, data: { status: 'LIVE' } });
    const after = { ...a, status: 'LIVE' as const };
    await deps.catalog.recordAuctionState(tx, id, catalogState(after));
    return snapshotOf(after, deps.settings.bands);
  });
}

/**
 * Closes a LIVE auction whose end has passed, exactly once: SOLD to the leader at the current
 * price when there is a bid and the reserve is met, else UNSOLD. The leader's hold on their
 * maximum becomes a hold of exactly the final price. Returns null when nothing was due.
 */
export async function closeAuction(deps: BiddingDeps, id: number): Promise<ClosedAuction | null> {
  return transaction(deps.db, async (tx) => closeLocked(deps, tx, id));
}

async function closeLocked(deps: BiddingDeps, tx: Tx, id: number): Promise<ClosedAuction | null> {
  const a = await lockAuction(tx, id);
  if (!a || a.db_now < a.ends_at) return null;
  if (a.status === 'SCHEDULED') {
    // Never started (a lost start job): it is live for zero time and closes unsold.
    a.status = 'LIVE';
  }
  if (a.status !== 'LIVE') return null;
  const sold = a.leader_id !== null && (a.reserve_price === null || (a.leader_max ?? 0) >= a.reserve_price);
  let holdRef: string | null = null;
  if (a.leader_hold_ref) await deps.wallet.releaseHold(tx, a.leader_hold_ref);
  if (sold) {
    holdRef = wonHoldRef(id);
    await deps.wallet.hold(tx, a.leader_id!, a.current_price, holdRef);
  }
  await tx.auction.update({
    where: { id },
    data: {
      status: 'ENDED',
      outcome: sold ? 'SOLD' : 'UNSOLD',
      winnerId: sold ? a.leader_id : null,
      finalPrice: sold ? a.current_price : null,
      leaderHoldRef: holdRef,
      closedAt: a.db_now,
    },
  });
  await deps.catalog.recordAuctionState(tx, id, catalogState({ ...a, status: 'ENDED', outcome: sold ? 'SOLD' : 'UNSOLD' }));
  return {
    auctionId: id,
    sellerId: a.seller_id,
    outcome: sold ? 'SOLD' : 'UNSOLD',
    winnerId: sold ? a.leader_id : null,
    finalPrice: sold ? a.current_price : null,
    holdRef,
    endsAt: a.ends_at.toISOString(),
    closedAt: a.db_now.toISOString(),
    lagMs: a.db_now.getTime() - a.ends_at.getTime(),
  };
}

/** Seller or admin cancels: only while nobody has bid. Returns false when it cannot be cancelled. */
export async function cancelAuction(deps: BiddingDeps, id: number): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, id);
    if (!a) return false;
    if (a.status === 'CANCELLED') return true;
    if (a.status === 'ENDED' || a.bid_count > 0) return false;
    await tx.auction.update({ where: { id }, data: { status: 'CANCELLED', closedAt: a.db_now } });
    await deps.catalog.recordAuctionState(tx, id, catalogState({ ...a, status: 'CANCELLED' }));
    return true;
  });
}

/** Ids of auctions whose start or end has passed without the step being taken. */
export async function overdue(deps: BiddingDeps, limit = 500): Promise<{ toStart: number[]; toClose: number[] }> {
  const [toStart, toClose] = await Promise.all([
    deps.db.$queryRaw<{ id: number }[]>`SELECT id FROM auctions WHERE status = 'SCHEDULED' AND starts_at <= now() AND ends_at > now() ORDER BY starts_at LIMIT ${limit}`,
    deps.db.$queryRaw<{ id: number }[]>`SELECT id FROM auctions WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at <= now() ORDER BY ends_at LIMIT ${limit}`,
  ]);
  return { toStart: toStart.map((r) => r.id), toClose: toClose.map((r) => r.id) };
}

/**
 * The seller edited the listing before the first bid: the auction takes the new prices and
 * times. After a bid the auction's terms are fixed and this changes nothing. Returns whether
 * it synced (the caller re-plans the timers; planning is idempotent).
 */
export async function syncAuction(deps: BiddingDeps, l: ListingForAuction): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, l.id);
    if (!a || a.bid_count > 0 || (a.status !== 'SCHEDULED' && a.status !== 'LIVE')) return false;
    await adoptListingTerms(tx, a, l);
    // Timers are (re)planned even when the times look unchanged: a bid may have adopted them already (service.ts).
    return true;
  });
}
