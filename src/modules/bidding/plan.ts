/**
 * Deciding a batch of bids on one auction, without I/O: given the locked row (on the database
 * clock), the form keys already on file and the bidders' available points, planBatch returns each
 * bid's answer and what the batch's transaction must write (service.ts commits it). Deciding a
 * batch gives exactly the answers deciding its bids one at a time would (test/unit/bidding-plan).
 */
import { applyBid, type AuctionPriceState, type IncrementBands } from './engine.js';
import { snapshotOf, type AuctionSnapshot, type LockedAuction } from './auction-row.js';
import type { Restriction } from '../accounts/index.js';

export interface BiddingSettings {
  bands: IncrementBands;
  /** A bid this close to the end moves the end to now + softCloseMs. */
  softCloseMs: number;
  maxBid: number;
}

export interface PlaceBid {
  auctionId: number;
  bidderId: number;
  /** The bidder's maximum (a plain bid is a maximum equal to the amount). */
  amount: number;
  requestKey?: string;
  buyNow?: boolean;
  /**
   * Refuse the bid when the bidder is suspended or banned (the answer: reason 'restricted', and
   * nothing written for it), read inside the bid's own transaction beside its other reads
   * (service.ts, through accounts' withSql; needs `deps.accounts`): the bid route's check of the
   * account, at no round trip of its own. Plain bids only (a buy-now's route checks first).
   */
  checkRestriction?: boolean;
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
  | {
      ok: true;
      duplicate: boolean;
      leads: boolean;
      snapshot: AuctionSnapshot;
      outbidUserId: number | null;
      extended: boolean;
      closed: boolean;
      /**
       * Set on a bid its batch committed (not a duplicate, not a buy-now): the auction once the
       * whole batch was in, and this bidder's maximum as stored then. The bid's answer (the
       * panel) is rendered from these instead of reading the auction again.
       */
      committed?: { after: AuctionSnapshot; myMax: number | null };
    }
  | { ok: false; reason: Refusal; minimum?: number; snapshot?: AuctionSnapshot }
  /** The bidder may not act (PlaceBid.checkRestriction): the route answers accounts' AccountRestricted (403). */
  | {
      ok: false;
      reason: 'restricted';
      restriction: NonNullable<Restriction>;
      minimum?: undefined;
      snapshot?: undefined;
    };

/** A bid row as a batch writes it (in order). */
export interface BidRow {
  bidderId: number;
  amount: number;
  maxAmount: number | null;
  kind: 'MANUAL' | 'PROXY';
  requestKey: string | null;
}

/** The hold that must cover the leader's maximum once the batch is in. */
export interface Holder {
  userId: number | null;
  amount: number | null;
  ref: string | null;
}

export interface BatchPlan {
  results: BidResult[];
  /** Bid rows to write; none: the batch changes nothing. */
  rows: BidRow[];
  /** Each accepted bidder's highest maximum in the batch (maxima only rise). */
  maxima: Map<number, number>;
  /** The auction after the batch. */
  after: LockedAuction;
  holder: Holder;
  /** A buy-now that passed the checks (always alone in its batch): service.ts completes it. */
  buyNow: PlaceBid | null;
}

// Unique per hold: a bid count and maximum never repeat for one bidder on one auction.
export const holdRef = (auctionId: number, userId: number, bidCount: number, max: number) =>
  `auction:${auctionId}:bid:${userId}:${bidCount}:${max}`;

export function statusRefusal(a: LockedAuction, bidderId: number): Refusal | null {
  if (a.status === 'CANCELLED') return 'cancelled';
  if (a.status === 'ENDED' || a.dbNow >= a.endsAt) return 'ended';
  if (a.status === 'SCHEDULED' || a.dbNow < a.startsAt) return 'not_started';
  if (a.sellerId === bidderId) return 'own_item';
  return null;
}

const priceState = (a: LockedAuction): AuctionPriceState => ({
  startPrice: a.startPrice,
  reservePrice: a.reservePrice,
  currentPrice: a.currentPrice,
  bidCount: a.bidCount,
  leaderId: a.leaderId,
  leaderMax: a.leaderMax,
  runnerUpMax: a.runnerUpMax,
});

export function planBatch(input: {
  auction: LockedAuction;
  cmds: readonly PlaceBid[];
  /** Form keys already on file (read after the lock). */
  seenKeys: ReadonlySet<string>;
  /** Available points of the batch's bidders, read in the transaction (missing: 0). */
  available: ReadonlyMap<number, number>;
  settings: BiddingSettings;
}): BatchPlan {
  const { auction: a, settings } = input;
  const { bands } = settings;
  // The current leader's points are held for their maximum: they count again once the hold goes back.
  const heldByLeader = a.leaderHoldRef && a.leaderId !== null ? (a.leaderMax ?? 0) : 0;
  const results: BidResult[] = [];
  const rows: BidRow[] = [];
  const maxima = new Map<number, number>();
  const accepted = new Set<string>();
  let holder: Holder = { userId: a.leaderId, amount: a.leaderMax, ref: a.leaderHoldRef };
  let cur = a;
  for (const cmd of input.cmds) {
    if (cmd.requestKey && (input.seenKeys.has(cmd.requestKey) || accepted.has(cmd.requestKey))) {
      results.push({
        ok: true,
        duplicate: true,
        leads: cur.leaderId === cmd.bidderId,
        snapshot: snapshotOf(cur, bands),
        outbidUserId: null,
        extended: false,
        closed: cur.status === 'ENDED',
      });
      continue;
    }
    const refusal = statusRefusal(cur, cmd.bidderId);
    if (refusal) {
      results.push({ ok: false, reason: refusal, snapshot: snapshotOf(cur, bands) });
      continue;
    }
    if (cmd.buyNow) {
      if (input.cmds.length !== 1) throw new Error('a buy-now is decided alone');
      return { results: [], rows: [], maxima, after: cur, holder, buyNow: cmd };
    }
    const d = applyBid(priceState(cur), cmd.bidderId, cmd.amount, bands);
    if (!d.ok) {
      results.push({ ok: false, reason: d.reason, minimum: d.minimum, snapshot: snapshotOf(cur, bands) });
      continue;
    }
    // The bidder's points must cover their maximum, whether or not the proxy beats them at once.
    const points = (input.available.get(cmd.bidderId) ?? 0) + (cmd.bidderId === a.leaderId ? heldByLeader : 0);
    if (points < cmd.amount) {
      results.push({ ok: false, reason: 'insufficient_points', snapshot: snapshotOf(cur, bands) });
      continue;
    }
    if (cmd.requestKey) accepted.add(cmd.requestKey);
    const raise = d.leads && cur.leaderId === cmd.bidderId;
    if (d.leads)
      holder = { userId: cmd.bidderId, amount: cmd.amount, ref: holdRef(a.id, cmd.bidderId, cur.bidCount, cmd.amount) };
    maxima.set(cmd.bidderId, Math.max(maxima.get(cmd.bidderId) ?? 0, cmd.amount));
    // A leader raising their maximum is recorded (with its form key, so a replay is
    // recognised) but not counted as a bid; a bid the proxy beats at once gets the answer.
    rows.push({
      bidderId: cmd.bidderId,
      amount: d.leads ? d.next.currentPrice : cmd.amount,
      maxAmount: cmd.amount,
      kind: raise ? 'PROXY' : 'MANUAL',
      requestKey: cmd.requestKey ?? null,
    });
    if (d.proxyAnswered)
      rows.push({
        bidderId: d.next.leaderId!,
        amount: d.next.currentPrice,
        maxAmount: null,
        kind: 'PROXY',
        requestKey: null,
      });
    // Soft close: a bid in the last minutes moves the end to now + the window.
    const softEnd = new Date(a.dbNow.getTime() + settings.softCloseMs);
    const extended = !raise && softEnd > cur.endsAt;
    cur = {
      ...cur,
      currentPrice: d.next.currentPrice,
      bidCount: raise ? cur.bidCount : d.next.bidCount,
      leaderId: d.next.leaderId,
      leaderMax: d.next.leaderMax,
      runnerUpMax: d.next.runnerUpMax,
      endsAt: extended ? softEnd : cur.endsAt,
    };
    results.push({
      ok: true,
      duplicate: false,
      leads: d.leads,
      snapshot: snapshotOf(cur, bands),
      outbidUserId: d.outbidUserId,
      extended,
      closed: false,
    });
  }
  return { results, rows, maxima, after: { ...cur, leaderHoldRef: holder.ref }, holder, buyNow: null };
}
