/**
 * Accepting bids. One transaction per batch of bids (lanes.ts) locks the auction row and decides
 * each bid in order on the database clock: status, end time, minimum increment, leader, the
 * bidder's points. Transactions on one auction queue on the row lock, so two bids can never both
 * win the same price, and a bid that returns "accepted" has committed.
 */
import { Prisma, transaction, type Db, type Tx } from '../../core/db/index.js';
import { applyBid, type AuctionPriceState, type IncrementBands } from './engine.js';
import { InsufficientPoints, type CatalogPort, type WalletPort } from './ports.js';
import { adoptListingTerms, catalogState, lockAuction, snapshotOf, wonHoldRef, type AuctionSnapshot, type LockedAuction } from './auction-row.js';

export type { AuctionSnapshot } from './auction-row.js';

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
  | 'buy_now_unavailable'
  | 'terms_changed';

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

// Unique per hold: a bid count and maximum never repeat for one bidder on one auction.
const holdRef = (auctionId: number, userId: number, bidCount: number, max: number) => `auction:${auctionId}:bid:${userId}:${bidCount}:${max}`;

class Refused extends Error {
  constructor(readonly result: BidResult) {
    super('refused');
  }
}

/** A bid row as written (in order) by a batch. */
interface BidRow {
  bidderId: number;
  amount: number;
  maxAmount: number | null;
  kind: 'MANUAL' | 'PROXY';
  requestKey: string | null;
}

function statusRefusal(a: LockedAuction, bidderId: number): Refusal | null {
  if (a.status === 'CANCELLED') return 'cancelled';
  if (a.status === 'ENDED' || a.db_now >= a.ends_at) return 'ended';
  if (a.status === 'SCHEDULED' || a.db_now < a.starts_at) return 'not_started';
  if (a.seller_id === bidderId) return 'own_item';
  return null;
}

/** Decides bids on one auction, in order, in one transaction; one result per bid. */
export async function decideBatch(deps: BiddingDeps, cmds: PlaceBid[]): Promise<BidResult[]> {
  const { bands } = deps.settings;
  const alone = cmds.length === 1;
  try {
    return await transaction(deps.db, async (tx): Promise<BidResult[]> => {
      const keys = cmds.flatMap((c) => (c.requestKey ? [c.requestKey] : []));
      const a = await lockAuction(tx, cmds[0].auctionId, keys);
      if (!a) return cmds.map(() => ({ ok: false, reason: 'not_found' }));
      // Until the first bid the seller may still edit or cancel the listing: the listing's terms
      // are locked and compared first, so no bid is decided on terms the listing no longer shows.
      if (a.bid_count === 0 && (a.status === 'LIVE' || a.status === 'SCHEDULED')) {
        const listing = await deps.catalog.lockListing(tx, a.id);
        const adopted = listing && (await adoptListingTerms(tx, a, listing));
        if (adopted) {
          const reason: Refusal = adopted.status === 'CANCELLED' ? 'cancelled' : 'terms_changed';
          return cmds.map(() => ({ ok: false, reason, snapshot: snapshotOf(adopted, bands) }));
        }
      }
      // Read after the lock: a concurrent copy of a form has committed by now, so it is seen.
      const seen = new Set(a.seen_keys ?? []);
      const bidders = [...new Set(cmds.filter((c) => !c.buyNow && !statusRefusal(a, c.bidderId)).map((c) => c.bidderId))];
      const available = bidders.length ? await deps.wallet.availableOf(tx, bidders) : new Map<number, number>();
      // The current leader's points are held for their maximum: they count again once the hold goes back.
      const heldByLeader = a.leader_hold_ref && a.leader_id !== null ? (a.leader_max ?? 0) : 0;
      const results: BidResult[] = [];
      const rows: BidRow[] = [];
      const maxima = new Map<number, number>();
      const accepted = new Set<string>();
      let holder = { userId: a.leader_id, amount: a.leader_max, ref: a.leader_hold_ref };
      let cur = a;
      for (const cmd of cmds) {
        if (cmd.requestKey && (seen.has(cmd.requestKey) || accepted.has(cmd.requestKey))) {
          results.push({ ok: true, duplicate: true, leads: cur.leader_id === cmd.bidderId, snapshot: snapshotOf(cur, bands), outbidUserId: null, extended: false, closed: cur.status === 'ENDED' });
          continue;
        }
        const refusal = statusRefusal(cur, cmd.bidderId);
        if (refusal) {
          results.push({ ok: false, reason: refusal, snapshot: snapshotOf(cur, bands) });
          continue;
        }
        if (cmd.buyNow) return [await buyNow(deps, tx, cur, cmd)]; // always alone (see drain)
        const d = applyBid(priceState(cur), cmd.bidderId, cmd.amount, bands);
        if (!d.ok) {
          results.push({ ok: false, reason: d.reason, minimum: d.minimum, snapshot: snapshotOf(cur, bands) });
          continue;
        }
        // The bidder's points must cover their maximum, whether or not the proxy beats them at once.
        const points = (available.get(cmd.bidderId) ?? 0) + (cmd.bidderId === a.leader_id ? heldByLeader : 0);
        if (points < cmd.amount) {
          results.push({ ok: false, reason: 'insufficient_points', snapshot: snapshotOf(cur, bands) });
          continue;
        }
        if (cmd.requestKey) accepted.add(cmd.requestKey);
        const raise = d.leads && cur.leader_id === cmd.bidderId;
        if (d.leads) holder = { userId: cmd.bidderId, amount: cmd.amount, ref: holdRef(a.id, cmd.bidderId, cur.bid_count, cmd.amount) };
        maxima.set(cmd.bidderId, Math.max(maxima.get(cmd.bidderId) ?? 0, cmd.amount));
        // A leader raising their maximum is recorded (with its form key, so a replay is
        // recognised) but not counted as a bid; a bid the proxy beats at once gets the answer.
        rows.push({ bidderId: cmd.bidderId, amount: d.leads ? d.next.currentPrice : cmd.amount, maxAmount: cmd.amount, kind: raise ? 'PROXY' : 'MANUAL', requestKey: cmd.requestKey ?? null });
        if (d.proxyAnswered) rows.push({ bidderId: d.next.leaderId!, amount: d.next.currentPrice, maxAmount: null, kind: 'PROXY', requestKey: null });
        // Soft close: a bid in the last minutes moves the end to now + the window.
        const softEnd = new Date(a.db_now.getTime() + deps.settings.softCloseMs);
        const extended = !raise && softEnd > cur.ends_at;
        cur = {
          ...cur,
          current_price: d.next.currentPrice,
          bid_count: raise ? cur.bid_count : d.next.bidCount,
          leader_id: d.next.leaderId,
          leader_max: d.next.leaderMax,
          runner_up_max: d.next.runnerUpMax,
          ends_at: extended ? softEnd : cur.ends_at,
        };
        results.push({ ok: true, duplicate: false, leads: d.leads, snapshot: snapshotOf(cur, bands), outbidUserId: d.outbidUserId, extended, closed: false });
      }
      if (!rows.length) return results;

      // Only the final leader's maximum is held; the previous leader's hold goes back first (a
      // leader raising needs only the difference on top). A failed hold rolls the release back.
      if (holder.ref !== a.leader_hold_ref && holder.userId !== null && holder.ref && holder.amount) {
        if (a.leader_hold_ref) await deps.wallet.releaseHold(tx, a.leader_hold_ref);
        try {
          await deps.wallet.hold(tx, holder.userId, holder.amount, holder.ref);
        } catch (err) {
          // Points spent elsewhere since they were read: alone, the bid is refused; in a batch, each bid is decided alone.
          if (err instanceof InsufficientPoints && alone) throw new Refused({ ok: false, reason: 'insufficient_points', snapshot: snapshotOf(a, bands) });
          throw err;
        }
      }
      await writeBids(tx, a.id, rows, maxima);
      await tx.$executeRaw`
        UPDATE auctions SET current_price = ${cur.current_price}, bid_count = ${cur.bid_count}, leader_id = ${cur.leader_id},
               leader_max = ${cur.leader_max}, runner_up_max = ${cur.runner_up_max}, leader_hold_ref = ${holder.ref},
               ends_at = ${cur.ends_at}, updated_at = now()
         WHERE id = ${a.id}`;
      await deps.catalog.recordAuctionState(tx, a.id, catalogState(cur));
      return results;
    });
  } catch (err) {
    if (err instanceof Refused) return [err.result];
    // Two submissions of one form racing on two instances: the unique key lets one in; the other reports it.
    if (alone && cmds[0].requestKey && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      return [await transaction(deps.db, (tx) => duplicateOf(tx, cmds[0], bands))];
    }
    throw err;
  }
}

const priceState = (a: LockedAuction): AuctionPriceState => ({
  startPrice: a.start_price,
  reservePrice: a.reserve_price,
  currentPrice: a.current_price,
  bidCount: a.bid_count,
  leaderId: a.leader_id,
  leaderMax: a.leader_max,
  runnerUpMax: a.runner_up_max,
});

/** A batch's bid rows (ids in arrival order) and the bidders' maxima (which only rise): two statements. */
async function writeBids(tx: Tx, auctionId: number, rows: BidRow[], maxima: Map<number, number>): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO proxy_bids (auction_id, bidder_id, max_amount, created_at, updated_at)
    SELECT ${auctionId}, t.bidder_id, t.max_amount, now(), now()
      FROM unnest(${[...maxima.keys()]}::int[], ${[...maxima.values()]}::int[]) WITH ORDINALITY AS t(bidder_id, max_amount, ord)
     ORDER BY t.ord
    ON CONFLICT (auction_id, bidder_id) DO UPDATE SET max_amount = GREATEST(proxy_bids.max_amount, EXCLUDED.max_amount), updated_at = now()`;
  await tx.$executeRaw`
    INSERT INTO bids (auction_id, bidder_id, amount, max_amount, kind, request_key, created_at, updated_at)
    SELECT ${auctionId}, t.bidder_id, t.amount, t.max_amount, t.kind::"BidKind", t.request_key, now(), now()
      FROM unnest(${rows.map((r) => r.bidderId)}::int[], ${rows.map((r) => r.amount)}::int[], ${rows.map((r) => r.maxAmount)}::int[],
                  ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.requestKey)}::text[]) WITH ORDINALITY AS t(bidder_id, amount, max_amount, kind, request_key, ord)
     ORDER BY t.ord`;
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
