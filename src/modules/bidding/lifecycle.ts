/**
 * SCHEDULED -> LIVE -> ENDED (SOLD | UNSOLD), or CANCELLED. Each step runs in a transaction
 * that locks the auction row and checks the database clock, so it is idempotent: a step that
 * already happened, or is not due yet, changes nothing. Timers (BullMQ jobs, jobs.ts) and the
 * sweeper call these; the sweeper makes a lost job or a flushed Redis harmless.
 */
import { transaction, type Tx } from '../../core/db/index.js';
import type { AuctionListing } from '../catalog/index.js';
import type { BiddingDeps } from './service.js';
import {
  adoptListingTerms,
  catalogState,
  lockAuction,
  snapshotOf,
  wonHoldRef,
  type AuctionSnapshot,
} from './auction-row.js';
import { auctionCancelled, auctionClosed, type AuctionCancelled, type AuctionClosed } from './events.js';

/** Creates the auction for a listing (idempotent). Returns whether it was created now. */
export async function openAuction(deps: Pick<BiddingDeps, 'db'>, l: AuctionListing): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const rows = await tx.$executeRaw`
      INSERT INTO auctions (id, seller_id, status, start_price, reserve_price, buy_now_price, current_price, starts_at, ends_at, original_ends_at, created_at, updated_at)
      VALUES (${l.id}, ${l.sellerId},
              (CASE WHEN ${l.status === 'CANCELLED'} THEN 'CANCELLED' WHEN ${l.startsAt}::timestamptz <= now() THEN 'LIVE' ELSE 'SCHEDULED' END)::"AuctionStatus", ${l.startPrice}, ${l.reservePrice}, ${l.buyNowPrice}, ${l.startPrice},
              ${l.startsAt}, ${l.endsAt}, ${l.endsAt}, now(), now())
      ON CONFLICT (id) DO NOTHING`;
    return rows === 1;
  });
}

/** Creates the auctions of several listings in one statement (idempotent). Returns the ids created now. */
export async function openAuctionsFor(deps: Pick<BiddingDeps, 'db'>, ls: AuctionListing[]): Promise<number[]> {
  if (!ls.length) return [];
  const rows = await deps.db.$queryRaw<{ id: number }[]>`
    INSERT INTO auctions (id, seller_id, status, start_price, reserve_price, buy_now_price, current_price, starts_at, ends_at, original_ends_at, created_at, updated_at)
    SELECT t.id, t.seller_id,
           (CASE WHEN t.cancelled THEN 'CANCELLED' WHEN t.starts_at <= now() THEN 'LIVE' ELSE 'SCHEDULED' END)::"AuctionStatus",
           t.start_price, t.reserve_price, t.buy_now_price, t.start_price, t.starts_at, t.ends_at, t.ends_at, now(), now()
      FROM unnest(${ls.map((l) => l.id)}::int[], ${ls.map((l) => l.sellerId)}::int[], ${ls.map((l) => l.status === 'CANCELLED')}::bool[],
                  ${ls.map((l) => l.startPrice)}::int[], ${ls.map((l) => l.reservePrice)}::int[], ${ls.map((l) => l.buyNowPrice)}::int[],
                  ${ls.map((l) => l.startsAt)}::timestamptz[], ${ls.map((l) => l.endsAt)}::timestamptz[])
           AS t(id, seller_id, cancelled, start_price, reserve_price, buy_now_price, starts_at, ends_at)
    ON CONFLICT (id) DO NOTHING
    RETURNING id`;
  return rows.map((r) => r.id);
}

/** SCHEDULED -> LIVE once starts_at has passed. Returns the new snapshot when it changed. */
export async function startAuction(deps: BiddingDeps, id: number): Promise<AuctionSnapshot | null> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, id);
    if (!a || a.status !== 'SCHEDULED' || a.dbNow < a.startsAt) return null;
    await tx.auction.update({ where: { id }, data: { status: 'LIVE' } });
    const after = { ...a, status: 'LIVE' as const };
    await deps.catalog.withTx(tx).recordAuctionState(id, catalogState(after));
    return snapshotOf(after, deps.settings.bands);
  });
}

/**
 * Closes a LIVE auction whose end has passed, exactly once: SOLD to the leader at the current
 * price when there is a bid and the reserve is met, else UNSOLD. The leader's hold on their
 * maximum becomes a hold of exactly the final price. The durable `auction.closed` is written in
 * the same transaction. Returns its payload, or null when nothing was due.
 */
export async function closeAuction(deps: BiddingDeps, id: number): Promise<AuctionClosed | null> {
  return transaction(deps.db, async (tx) => closeLocked(deps, tx, id));
}

async function closeLocked(deps: BiddingDeps, tx: Tx, id: number): Promise<AuctionClosed | null> {
  const a = await lockAuction(tx, id);
  if (!a || a.dbNow < a.endsAt) return null;
  // Never started (a lost start job): it is live for zero time and closes unsold.
  if (a.status !== 'LIVE' && a.status !== 'SCHEDULED') return null;
  const sold = a.leaderId !== null && (a.reservePrice === null || (a.leaderMax ?? 0) >= a.reservePrice);
  const wallet = deps.wallet.withTx(tx);
  if (a.leaderHoldRef) await wallet.releaseHold(a.leaderHoldRef);
  const closed = {
    ...a,
    status: 'ENDED' as const,
    outcome: sold ? ('SOLD' as const) : ('UNSOLD' as const),
    winnerId: sold ? a.leaderId : null,
    finalPrice: sold ? a.currentPrice : null,
    leaderHoldRef: sold ? wonHoldRef(id) : null,
    closedAt: a.dbNow,
  };
  if (sold) await wallet.hold(a.leaderId!, a.currentPrice, closed.leaderHoldRef!);
  await tx.auction.update({
    where: { id },
    data: {
      status: 'ENDED',
      outcome: closed.outcome,
      winnerId: closed.winnerId,
      finalPrice: closed.finalPrice,
      leaderHoldRef: closed.leaderHoldRef,
      closedAt: closed.closedAt,
    },
  });
  await deps.catalog.withTx(tx).recordAuctionState(id, catalogState(closed));
  const event = auctionClosed(closed, { buyNow: false });
  await deps.events.enqueue(tx, event);
  return event.payload;
}

/** Seller or admin cancels: only while nobody has bid. Returns false when it cannot be cancelled. */
export async function cancelAuction(deps: BiddingDeps, id: number): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, id);
    if (!a) return false;
    if (a.status === 'CANCELLED') return true;
    if (a.status === 'ENDED' || a.bidCount > 0) return false;
    await tx.auction.update({ where: { id }, data: { status: 'CANCELLED', closedAt: a.dbNow } });
    await deps.catalog.withTx(tx).recordAuctionState(id, catalogState({ ...a, status: 'CANCELLED' }));
    return true;
  });
}

/**
 * A moderator stops an open auction, bids or not (its listing is hidden, or its seller suspended):
 * inside the caller's transaction, the leader's hold (the only one an auction keeps: an outbid
 * bidder's goes back at once) is released, the auction is CANCELLED, the catalog's copy follows,
 * and the durable `auction.cancelled` names every bidder. Null when it was not open (ENDED auctions
 * keep their sale: the order goes on).
 */
export async function forceCancelLocked(
  deps: Pick<BiddingDeps, 'wallet' | 'catalog' | 'events'>,
  tx: Tx,
  id: number,
): Promise<AuctionCancelled | null> {
  const a = await lockAuction(tx, id);
  if (!a || (a.status !== 'LIVE' && a.status !== 'SCHEDULED')) return null;
  if (a.leaderHoldRef) await deps.wallet.withTx(tx).releaseHold(a.leaderHoldRef);
  await tx.auction.update({ where: { id }, data: { status: 'CANCELLED', closedAt: a.dbNow, leaderHoldRef: null } });
  await deps.catalog.withTx(tx).recordAuctionState(id, catalogState({ ...a, status: 'CANCELLED' }));
  const bidders = await tx.bid.findMany({
    where: { auctionId: id },
    select: { bidderId: true },
    distinct: ['bidderId'],
  });
  const event = auctionCancelled({
    auctionId: id,
    sellerId: a.sellerId,
    bidderIds: bidders.map((b) => b.bidderId).sort((x, y) => x - y),
    releasedHoldRef: a.leaderHoldRef,
    reason: 'moderation',
    cancelledAt: a.dbNow.toISOString(),
  });
  await deps.events.enqueue(tx, event);
  return event.payload;
}

/** Ids of auctions whose start or end has passed without the step being taken. */
export async function overdue(
  deps: Pick<BiddingDeps, 'db'>,
  limit = 500,
): Promise<{ toStart: number[]; toClose: number[] }> {
  const [toStart, toClose] = await Promise.all([
    deps.db.$queryRaw<
      { id: number }[]
    >`SELECT id FROM auctions WHERE status = 'SCHEDULED' AND starts_at <= now() AND ends_at > now() ORDER BY starts_at LIMIT ${limit}`,
    deps.db.$queryRaw<
      { id: number }[]
    >`SELECT id FROM auctions WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at <= now() ORDER BY ends_at LIMIT ${limit}`,
  ]);
  return { toStart: toStart.map((r) => r.id), toClose: toClose.map((r) => r.id) };
}

/**
 * The seller edited the listing before the first bid: the auction takes the new prices and
 * times. After a bid the auction's terms are fixed and this changes nothing. Returns whether
 * it synced (the caller re-plans the timers; planning is idempotent).
 */
export async function syncAuction(deps: Pick<BiddingDeps, 'db'>, l: AuctionListing): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const a = await lockAuction(tx, l.id);
    if (!a || a.bidCount > 0 || (a.status !== 'SCHEDULED' && a.status !== 'LIVE')) return false;
    await adoptListingTerms(tx, a, l);
    // Timers are (re)planned even when the times look unchanged: a bid may have adopted them already (service.ts).
    return true;
  });
}

/** Open (SCHEDULED or LIVE) auctions with id > afterId, by id: what their timers need. */
export async function openAuctions(deps: Pick<BiddingDeps, 'db'>, afterId: number, limit: number) {
  return deps.db.auction.findMany({
    where: { id: { gt: afterId }, status: { in: ['SCHEDULED', 'LIVE'] } },
    select: { id: true, startsAt: true, endsAt: true },
    orderBy: { id: 'asc' },
    take: limit,
  });
}
