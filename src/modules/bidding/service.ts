/**
 * Accepting bids. One transaction per batch of bids (lanes.ts) locks the auction row, reads what
 * the decision needs, decides each bid in order on the database clock (planBatch, plan.ts) and
 * writes the outcome (commitBatch). Transactions on one auction queue on the row lock, so two
 * bids can never both win the same price, and a bid that returns "accepted" has committed.
 */
import {
  Prisma,
  prismaSql,
  sqlTransaction,
  transaction,
  type Db,
  type Sql,
  type SqlTx,
  type Tx,
} from '../../core/db/index.js';
import type { Events } from '../../core/events.js';
import { InsufficientFunds, type WalletApi, type WalletOps } from '../wallet/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { AccountsApi } from '../accounts/index.js';
import {
  adoptListingTerms,
  adoptListingTermsSql,
  catalogState,
  lockAuction,
  lockAuctionSql,
  snapshotOf,
  wonHoldRef,
  type LockedAuction,
} from './auction-row.js';
import {
  planBatch,
  statusRefusal,
  type BatchPlan,
  type BiddingSettings,
  type BidResult,
  type PlaceBid,
  type Refusal,
} from './plan.js';
import { auctionClosed, bidOutbid } from './events.js';

export type { AuctionSnapshot } from './auction-row.js';
export type { BiddingSettings, BidResult, PlaceBid, Refusal } from './plan.js';

export interface BiddingDeps {
  db: Db;
  wallet: WalletApi;
  catalog: CatalogApi;
  events: Events;
  settings: BiddingSettings;
  /** For bids that ask for the account check inside their transaction (PlaceBid.checkRestriction). */
  accounts?: Pick<AccountsApi, 'withSql'>;
}

class Refused extends Error {
  constructor(readonly result: BidResult) {
    super('refused');
  }
}

/** Decides bids on one auction, in order, in one transaction; one result per bid. */
export async function decideBatch(deps: BiddingDeps, cmds: PlaceBid[]): Promise<BidResult[]> {
  const alone = cmds.length === 1;
  try {
    // Plain bids: plain SQL (decideOnSql); a buy-now (decided alone, it ends the auction) through Prisma (decideInTx).
    const fast = cmds[0].buyNow ? null : await sqlTransaction(deps.db, (sql) => decideOnSql(deps, sql, cmds));
    return fast ?? (await transaction(deps.db, (tx) => decideInTx(deps, tx, cmds)));
  } catch (err) {
    if (err instanceof Refused) return [err.result];
    // Two submissions of one form racing on two instances: the unique key lets one in; the other reports it.
    if (alone && cmds[0].requestKey && isUniqueViolation(err)) {
      return [await transaction(deps.db, (tx) => duplicateOf(tx, cmds[0], deps.settings.bands))];
    }
    throw err;
  }
}

const isUniqueViolation = (err: unknown) =>
  (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') ||
  (err as { code?: unknown } | null)?.code === '23505';

const keysOf = (cmds: PlaceBid[]) => cmds.flatMap((c) => (c.requestKey ? [c.requestKey] : []));
const seenKeysSql = (sql: Sql, keys: string[]) =>
  keys.length
    ? sql.query<{ request_key: string }>('SELECT request_key FROM bids WHERE request_key = ANY($1::text[])', [keys])
    : Promise.resolve([]);

/**
 * The batch's transaction on plain SQL through the pool (core/db sqlTransaction), not Prisma:
 * it runs once per batch on every auction, under the row lock, and through Prisma's interactive
 * transaction each of its nine statements cost the query engine's and the adapter's mapping and a
 * round trip of its own (issue 16: Prisma was the largest share of the server's CPU per bid).
 * Two round trips: the lock with the reads, then the hold and the writes with COMMIT.
 * The first bid on an auction adds one (the listing's lock, and its terms taken over if they
 * changed). Null (nothing written) for a buy-now, which lanes.ts never batches with plain bids.
 */
async function decideOnSql(deps: BiddingDeps, sql: SqlTx, cmds: PlaceBid[]): Promise<BidResult[] | null> {
  const { bands } = deps.settings;
  // One round trip, three statements in order: under READ COMMITTED each sees what committed
  // before it began, so the form keys and the points are read after the lock is ours (a copy of
  // this form another instance placed while we waited for the lock is seen). The points of every
  // bidder of the batch are read; planBatch looks only at those whose bid it weighs.
  // The accounts of the bids that ask for it (the bid route's) are checked in the same round trip.
  const bidders = [...new Set(cmds.map((c) => c.bidderId))];
  const checked = [...new Set(cmds.filter((c) => c.checkRestriction).map((c) => c.bidderId))];
  if (checked.length && !deps.accounts) throw new Error('decideBatch: checkRestriction needs deps.accounts');
  const [a, keyRows, available, restricted] = await Promise.all([
    lockAuctionSql(sql, cmds[0].auctionId),
    seenKeysSql(sql, keysOf(cmds)),
    deps.wallet.withSql(sql).availableOf(bidders),
    checked.length ? deps.accounts!.withSql(sql).restrictionsOf(checked) : Promise.resolve(new Map()),
  ]);
  // A restricted bidder's bid is answered so whatever else holds (as the check before the
  // transaction did): it takes no part in the plan, and nothing is written for it.
  const refusedAs = (c: PlaceBid): BidResult | null => {
    const r = c.checkRestriction ? restricted.get(c.bidderId) : undefined;
    return r ? { ok: false, reason: 'restricted', restriction: r } : null;
  };
  const open = restricted.size ? cmds.filter((c) => !refusedAs(c)) : cmds;
  /** Every bid's answer in order: the restricted ones', and `rest` for the others (in order). */
  const answers = (rest: BidResult[]): BidResult[] => {
    let i = 0;
    return cmds.map((c) => refusedAs(c) ?? rest[i++]);
  };
  if (!open.length) return answers([]);
  if (!a) return answers(open.map(() => ({ ok: false, reason: 'not_found' })));
  // Until the first bid the seller may still edit or cancel the listing: the listing's terms
  // are locked and compared first, so no bid is decided on terms the listing no longer shows.
  if (a.bidCount === 0 && (a.status === 'LIVE' || a.status === 'SCHEDULED')) {
    const listing = await deps.catalog.withSql(sql).lockListingForAuction(a.id);
    const adopted = listing && (await adoptListingTermsSql(sql, a, listing));
    if (adopted) {
      const reason: Refusal = adopted.status === 'CANCELLED' ? 'cancelled' : 'terms_changed';
      return answers(open.map(() => ({ ok: false, reason, snapshot: snapshotOf(adopted, bands) })));
    }
  }
  const seenKeys = new Set(keyRows.map((r) => r.request_key));
  const plan = planBatch({ auction: a, cmds: open, seenKeys, available, settings: deps.settings });
  if (plan.buyNow) return null; // not in a batch of plain bids (lanes.ts); decideInTx's path if it were
  const maxima = await commitBatch(
    deps,
    { sql, wallet: deps.wallet.withSql(sql), commit: () => sql.commit(), sent: () => sql.sent },
    a,
    plan,
    // Alone: a refused hold is this one bid's answer (decideBatch); in a batch, lanes.ts decides each bid alone.
    cmds.length === 1,
  );
  return answers(resultsOf(plan, open, maxima, bands));
}

/** The batch's transaction through Prisma: a buy-now (the listing's terms are locked and compared first as for a first bid). */
async function decideInTx(deps: BiddingDeps, tx: Tx, cmds: PlaceBid[]): Promise<BidResult[]> {
  const { bands } = deps.settings;
  const sql = prismaSql(tx);
  const a = await lockAuction(tx, cmds[0].auctionId);
  if (!a) return cmds.map(() => ({ ok: false, reason: 'not_found' }));
  // Until the first bid the seller may still edit or cancel the listing: the listing's terms
  // are locked and compared first, so no bid is decided on terms the listing no longer shows.
  if (a.bidCount === 0 && (a.status === 'LIVE' || a.status === 'SCHEDULED')) {
    const listing = await deps.catalog.withTx(tx).lockListingForAuction(a.id);
    const adopted = listing && (await adoptListingTerms(tx, a, listing));
    if (adopted) {
      const reason: Refusal = adopted.status === 'CANCELLED' ? 'cancelled' : 'terms_changed';
      return cmds.map(() => ({ ok: false, reason, snapshot: snapshotOf(adopted, bands) }));
    }
  }
  // Read after the lock, in a statement of its own: under READ COMMITTED a statement sees
  // what committed before it began, so a copy of this form that another instance placed
  // while we waited for the lock is seen here (it was not by a subquery of the lock's statement).
  const seenKeys = new Set((await seenKeysSql(sql, keysOf(cmds))).map((r) => r.request_key));
  const bidders = [...new Set(cmds.filter((c) => !c.buyNow && !statusRefusal(a, c.bidderId)).map((c) => c.bidderId))];
  const available = bidders.length ? await deps.wallet.withTx(tx).availableOf(bidders) : new Map<number, number>();
  const plan = planBatch({ auction: a, cmds, seenKeys, available, settings: deps.settings });
  if (plan.buyNow) return [await buyNow(deps, tx, a, plan.buyNow)];
  const maxima = await commitBatch(
    deps,
    { sql, wallet: deps.wallet.withTx(tx), sent: () => 0 },
    a,
    plan,
    cmds.length === 1,
  );
  return resultsOf(plan, cmds, maxima, bands);
}

function resultsOf(
  plan: BatchPlan,
  cmds: PlaceBid[],
  maxima: Map<number, number>,
  bands: BiddingSettings['bands'],
): BidResult[] {
  const after = snapshotOf(plan.after, bands);
  return plan.results.map((r, i) =>
    r.ok && !r.duplicate ? { ...r, committed: { after, myMax: maxima.get(cmds[i].bidderId) ?? null } } : r,
  );
}

/** Where a batch's writes go: the transaction's Sql, the wallet's calls on it, and (plain SQL) its COMMIT. */
interface BatchWriter {
  sql: Sql;
  wallet: Pick<WalletOps, 'replaceHold'>;
  /** Set: the writes and the COMMIT are sent together (one round trip); a refusal of the hold is raised (withSql). */
  commit?: () => Promise<void>;
  /** With `commit`: statements sent so far (SqlTx.sent). */
  sent: () => number;
}

/**
 * Writes a batch's plan: only the final leader's maximum is held (the previous leader's hold
 * goes back in the same wallet call; a leader raising needs only the difference on top), the bid
 * rows and maxima, the auction row and the catalog's copy. A failed hold rolls everything back.
 * Four statements whatever the batch's size (hold, bidding's rows, catalog's copy, the outbid
 * events): they run while the auction row is locked, so every one counts on a hot auction. On
 * plain SQL (`w.commit`) the four and the COMMIT are one round trip: a refused hold raises, so the
 * statements behind it fail and nothing commits.
 * Returns the bidders' maxima as stored (they only rise), for the answers' panels.
 */
export async function commitBatch(
  deps: BiddingDeps,
  w: BatchWriter,
  before: LockedAuction,
  plan: BatchPlan,
  alone: boolean,
): Promise<Map<number, number>> {
  if (!plan.rows.length) return new Map();
  const { holder, after } = plan;
  const { sql } = w;
  // Everyone this batch took the lead from hears it once, with the batch's final price (durable:
  // it commits with the bids; one outbox row per person who lost the lead, none for other bids).
  const outbid = new Set<number>();
  for (const r of plan.results)
    if (r.ok && r.outbidUserId !== null && r.outbidUserId !== after.leaderId) outbid.add(r.outbidUserId);
  const events = [...outbid].map((userId) =>
    bidOutbid({
      auctionId: before.id,
      userId,
      price: after.currentPrice,
      leaderId: after.leaderId,
      endsAt: after.endsAt.toISOString(),
    }),
  );
  const needsHold = holder.ref !== before.leaderHoldRef && holder.userId !== null && holder.ref && holder.amount;
  // One statement each (the outbox's only when someone was outbid).
  const steps: (() => Promise<unknown>)[] = [
    ...(needsHold
      ? [() => w.wallet.replaceHold(before.leaderHoldRef, holder.userId!, holder.amount!, holder.ref!)]
      : []),
    () => writeBatch(sql, before.id, plan),
    () => deps.catalog.withSql(sql).recordAuctionState(before.id, catalogState(after)),
    ...(events.length ? [() => deps.events.enqueueAllSql(sql, events)] : []),
  ];
  let out: unknown[];
  try {
    if (w.commit) {
      // All sent at once, COMMIT behind them, but only when every step did send its statement: one
      // that refused its input before sending gave the database nothing to abort the rest on. The
      // first failure in statement order is the cause (the statements behind it fail as aborted).
      const sent = w.sent();
      const started = steps.map((f) => f());
      const all = w.sent() - sent === steps.length ? [...started, w.commit()] : started;
      const settled = await Promise.allSettled(all);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (all.length === started.length) throw new Error('commitBatch: a step sent no statement');
      out = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value);
    } else {
      out = [];
      for (const f of steps) out.push(await f());
    }
  } catch (err) {
    // Points spent elsewhere since they were read: alone, the bid is refused; in a batch, each bid is decided alone.
    if (err instanceof InsufficientFunds && alone)
      throw new Refused({
        ok: false,
        reason: 'insufficient_points',
        snapshot: snapshotOf(before, deps.settings.bands),
      });
    throw err;
  }
  return out[needsHold ? 1 : 0] as Map<number, number>;
}

/**
 * A batch's bidders' maxima (which only rise), its bid rows (ids in arrival order) and the
 * auction row, in ONE statement of data-modifying CTEs (each runs once, to completion, whether
 * or not the final SELECT reads it): raw SQL because Prisma has no multi-table write in one round
 * trip, and this runs under the auction's row lock. The maxima come back as stored (GREATEST of
 * the old and the new).
 */
async function writeBatch(sql: Sql, auctionId: number, plan: Pick<BatchPlan, 'rows' | 'maxima' | 'after' | 'holder'>) {
  const { rows, maxima, after, holder } = plan;
  const stored = await sql.query<{ bidder_id: number; max_amount: number }>(
    `WITH proxies AS (
      INSERT INTO proxy_bids (auction_id, bidder_id, max_amount, created_at, updated_at)
      SELECT $1::int, t.bidder_id, t.max_amount, now(), now()
        FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS t(bidder_id, max_amount, ord)
       ORDER BY t.ord
      ON CONFLICT (auction_id, bidder_id) DO UPDATE SET max_amount = GREATEST(proxy_bids.max_amount, EXCLUDED.max_amount), updated_at = now()
      RETURNING bidder_id, max_amount
    ), bid_rows AS (
      INSERT INTO bids (auction_id, bidder_id, amount, max_amount, kind, request_key, created_at, updated_at)
      SELECT $1::int, t.bidder_id, t.amount, t.max_amount, t.kind::"BidKind", t.request_key, now(), now()
        FROM unnest($4::int[], $5::int[], $6::int[], $7::text[], $8::text[]) WITH ORDINALITY AS t(bidder_id, amount, max_amount, kind, request_key, ord)
       ORDER BY t.ord
    ), auction AS (
      UPDATE auctions SET current_price = $9::int, bid_count = $10::int, leader_id = $11::int,
             leader_max = $12::int, runner_up_max = $13::int, leader_hold_ref = $14::text,
             ends_at = $15::timestamptz, updated_at = now()
       WHERE id = $1
    )
    SELECT bidder_id, max_amount FROM proxies`,
    [
      auctionId,
      [...maxima.keys()],
      [...maxima.values()],
      rows.map((r) => r.bidderId),
      rows.map((r) => r.amount),
      rows.map((r) => r.maxAmount),
      rows.map((r) => r.kind),
      rows.map((r) => r.requestKey),
      after.currentPrice,
      after.bidCount,
      after.leaderId,
      after.leaderMax,
      after.runnerUpMax,
      holder.ref,
      after.endsAt,
    ],
  );
  return new Map(stored.map((r) => [r.bidder_id, r.max_amount]));
}

async function duplicateOf(tx: Tx, cmd: PlaceBid, bands: BiddingSettings['bands']): Promise<BidResult> {
  const a = await tx.auction.findUnique({ where: { id: cmd.auctionId } });
  if (!a) return { ok: false, reason: 'not_found' };
  return {
    ok: true,
    duplicate: true,
    leads: a.leaderId === cmd.bidderId,
    snapshot: snapshotOf(a, bands),
    outbidUserId: null,
    extended: false,
    closed: a.status === 'ENDED',
  };
}

/** Buy now: the auction ends at once, sold to this bidder at the buy-now price (durable `auction.closed` in the same commit). */
async function buyNow(deps: BiddingDeps, tx: Tx, a: LockedAuction, cmd: PlaceBid): Promise<BidResult> {
  const { bands } = deps.settings;
  if (!a.buyNowPrice || a.currentPrice >= a.buyNowPrice) {
    throw new Refused({ ok: false, reason: 'buy_now_unavailable', snapshot: snapshotOf(a, bands) });
  }
  const price = a.buyNowPrice;
  const wallet = deps.wallet.withTx(tx);
  try {
    await wallet.hold(cmd.bidderId, price, wonHoldRef(a.id));
  } catch (err) {
    if (err instanceof InsufficientFunds)
      throw new Refused({ ok: false, reason: 'insufficient_points', snapshot: snapshotOf(a, bands) });
    throw err;
  }
  // Nobody is outbid silently: the leader's hold goes back and they are told (auction.closed).
  if (a.leaderHoldRef) await wallet.releaseHold(a.leaderHoldRef);
  await tx.bid.create({
    data: {
      auctionId: a.id,
      bidderId: cmd.bidderId,
      amount: price,
      maxAmount: price,
      kind: 'BUY_NOW',
      requestKey: cmd.requestKey ?? null,
    },
  });
  const closed = {
    ...a,
    status: 'ENDED' as const,
    outcome: 'SOLD' as const,
    currentPrice: price,
    bidCount: a.bidCount + 1,
    leaderId: cmd.bidderId,
    leaderMax: price,
    leaderHoldRef: wonHoldRef(a.id),
    winnerId: cmd.bidderId,
    finalPrice: price,
    endsAt: a.dbNow,
    closedAt: a.dbNow,
  };
  await tx.auction.update({
    where: { id: a.id },
    data: {
      status: closed.status,
      outcome: closed.outcome,
      currentPrice: price,
      bidCount: closed.bidCount,
      leaderId: cmd.bidderId,
      leaderMax: price,
      leaderHoldRef: closed.leaderHoldRef,
      winnerId: cmd.bidderId,
      finalPrice: price,
      endsAt: a.dbNow,
      closedAt: a.dbNow,
    },
  });
  await deps.catalog.withTx(tx).recordAuctionState(a.id, catalogState(closed));
  await deps.events.enqueue(tx, auctionClosed(closed, { buyNow: true }));
  return {
    ok: true,
    duplicate: false,
    leads: true,
    snapshot: snapshotOf(closed, bands),
    outbidUserId: a.leaderId !== cmd.bidderId ? a.leaderId : null,
    extended: false,
    closed: true,
  };
}
