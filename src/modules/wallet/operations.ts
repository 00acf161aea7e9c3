/**
 * The money operations other modules call (holds, escrow, settlement), each written against a
 * transaction client so it can run in its own transaction or inside the caller's. Every one is
 * idempotent on its reference: the ledger transaction row is claimed first, and a replay returns
 * the first call's result (or refuses when the same reference comes with different terms).
 */
import { prismaSql, type Sql, type Tx } from '../../core/db/index.js';
import {
  acct,
  checkApiAmount,
  checkId,
  checkReference,
  claim,
  lockAccounts,
  post,
  walletError,
  type OpResult,
  type LedgerTxRow,
} from './ledger.js';

function replay(existing: LedgerTxRow, same: boolean): OpResult {
  if (!same) throw walletError.mismatch();
  return { transactionId: existing.id, replayed: true };
}

/** Reserves `amount` of the user's available points under `ref` (e.g. a bid). */
export async function hold(tx: Tx, userId: number, amount: number, ref: string): Promise<OpResult> {
  checkId(userId);
  checkApiAmount(amount);
  checkReference(ref);
  const c = await claim(tx, { kind: 'HOLD', reference: ref, userId, amount });
  if ('existing' in c) return replay(c.existing, c.existing.userId === userId && c.existing.amount === amount);
  const avail = acct.available(userId);
  const held = acct.held(userId);
  const locked = await lockAccounts(tx, [avail, held]);
  const balance = Number(locked.get(avail.key)!.balance);
  if (balance < amount) throw walletError.insufficient(balance, amount);
  await tx.$executeRaw`INSERT INTO wallet_holds (reference, user_id, amount) VALUES (${ref}, ${userId}, ${amount})`;
  await post(tx, c.id, locked, [
    [avail, -amount],
    [held, amount],
  ]);
  return { transactionId: c.id, replayed: false };
}

interface HoldRow {
  user_id: number;
  amount: number;
  status: 'HELD' | 'RELEASED' | 'ESCROWED';
  order_id: number | null;
}
async function lockHold(tx: Tx, ref: string): Promise<HoldRow> {
  const rows = await tx.$queryRaw<
    HoldRow[]
  >`SELECT user_id, amount, status, order_id FROM wallet_holds WHERE reference = ${ref} FOR UPDATE`;
  if (!rows.length) throw walletError.holdNotFound();
  return rows[0];
}

/** Gives a hold back to the user's available points. */
export async function releaseHold(tx: Tx, ref: string): Promise<OpResult> {
  checkReference(ref);
  const h = await lockHold(tx, ref);
  const c = await claim(tx, { kind: 'RELEASE', reference: ref, userId: h.user_id, amount: h.amount });
  if ('existing' in c) return replay(c.existing, true);
  if (h.status !== 'HELD') throw walletError.holdNotActive(h.status);
  const avail = acct.available(h.user_id);
  const held = acct.held(h.user_id);
  const locked = await lockAccounts(tx, [avail, held]);
  await tx.$executeRaw`UPDATE wallet_holds SET status = 'RELEASED', updated_at = now() WHERE reference = ${ref}`;
  await post(tx, c.id, locked, [
    [held, -h.amount],
    [avail, h.amount],
  ]);
  return { transactionId: c.id, replayed: false };
}

/**
 * Gives `releaseRef` back (when given) and holds `amount` of the user's points under `ref`, with
 * exactly the rules and ledger rows of releaseHold followed by hold, in ONE statement: the
 * database function wallet_replace_hold (migration 20261203140000_wallet_replace_hold). Raw SQL
 * because this runs in every accepted bid's transaction while the auction row is locked, where
 * the ten round trips of the two operations were most of the lock's hold time. A refusal writes
 * nothing (the function checks before it writes) and leaves the caller's transaction usable.
 */
export function replaceHold(
  tx: Tx,
  releaseRef: string | null,
  userId: number,
  amount: number,
  ref: string,
): Promise<OpResult> {
  return replaceHoldSql(prismaSql(tx), releaseRef, userId, amount, ref);
}

/** replaceHold's and replaceHoldOrRaise's arguments, checked before anything is sent. */
function checkReplaceArgs(releaseRef: string | null, userId: number, amount: number, ref: string): void {
  if (releaseRef !== null) checkReference(releaseRef);
  checkId(userId);
  checkApiAmount(amount);
  checkReference(ref);
}

/** replaceHold on plain SQL (the bid batch's transaction, see core/db/sql.ts): the one implementation of both. */
export async function replaceHoldSql(
  sql: Sql,
  releaseRef: string | null,
  userId: number,
  amount: number,
  ref: string,
): Promise<OpResult> {
  checkReplaceArgs(releaseRef, userId, amount, ref);
  const [r] = await sql.query<{
    outcome: string;
    available: bigint | string | null;
    status: string | null;
    hold_tx: number | null;
  }>('SELECT outcome, available, status, hold_tx FROM wallet_replace_hold($1::text, $2::int, $3::int, $4::text)', [
    releaseRef,
    userId,
    amount,
    ref,
  ]);
  switch (r.outcome) {
    case 'ok':
      return { transactionId: r.hold_tx!, replayed: false };
    case 'replayed': {
      const [prior] = await sql.query<{ id: number }>(
        "SELECT id FROM ledger_transactions WHERE kind = 'HOLD' AND reference = $1",
        [ref],
      );
      return { transactionId: prior.id, replayed: true };
    }
    case 'insufficient':
      throw walletError.insufficient(Number(r.available ?? 0), amount);
    case 'mismatch':
      throw walletError.mismatch();
    case 'hold_not_found':
      throw walletError.holdNotFound();
    case 'hold_not_active':
      throw walletError.holdNotActive(r.status ?? '');
    default:
      throw new Error(`wallet_replace_hold: unexpected outcome ${r.outcome}`);
  }
}

/**
 * replaceHold for a caller that sends statements behind it in the same round trip (bidding's
 * batch on plain SQL): wallet_replace_hold_or_raise (migration 20261203180000) raises a refusal
 * (SQLSTATE DPW01), so the statements behind it fail and nothing commits, and it comes back here
 * as the same error replaceHold throws. Unlike replaceHold, a refusal aborts the caller's
 * transaction.
 */
export async function replaceHoldOrRaise(
  sql: Sql,
  releaseRef: string | null,
  userId: number,
  amount: number,
  ref: string,
): Promise<OpResult> {
  checkReplaceArgs(releaseRef, userId, amount, ref);
  try {
    const [r] = await sql.query<{ hold_tx: number; replayed: boolean }>(
      'SELECT hold_tx, replayed FROM wallet_replace_hold_or_raise($1::text, $2::int, $3::int, $4::text)',
      [releaseRef, userId, amount, ref],
    );
    return { transactionId: r.hold_tx, replayed: r.replayed };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; detail?: unknown } | null;
    if (e?.code !== 'DPW01') throw err;
    const detail = JSON.parse(String(e.detail ?? '{}')) as { available?: number | null; status?: string | null };
    switch (e.message) {
      case 'insufficient':
        throw walletError.insufficient(Number(detail.available ?? 0), amount);
      case 'mismatch':
        throw walletError.mismatch();
      case 'hold_not_found':
        throw walletError.holdNotFound();
      case 'hold_not_active':
        throw walletError.holdNotActive(detail.status ?? '');
      default:
        throw err;
    }
  }
}

/**
 * Moves a hold into the order's escrow. `amount` (default: the whole hold) is what the order
 * costs; the rest of the hold goes back to the buyer's available points (a proxy bid that won
 * below its maximum).
 */
export async function moveHoldToEscrow(tx: Tx, ref: string, orderId: number, amount?: number): Promise<OpResult> {
  checkReference(ref);
  checkId(orderId);
  const h = await lockHold(tx, ref);
  const price = amount === undefined ? h.amount : checkApiAmount(amount);
  const c = await claim(tx, {
    kind: 'ESCROW',
    reference: ref,
    userId: h.user_id,
    amount: price,
    metadata: { orderId },
  });
  if ('existing' in c)
    return replay(c.existing, c.existing.metadata.orderId === orderId && c.existing.amount === price);
  if (h.status !== 'HELD') throw walletError.holdNotActive(h.status);
  if (price > h.amount) throw walletError.insufficient(h.amount, price);
  const created = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO wallet_escrows (order_id, buyer_id, hold_reference, amount) VALUES (${orderId}, ${h.user_id}, ${ref}, ${price})
    ON CONFLICT (order_id) DO NOTHING RETURNING id`;
  if (!created.length) throw walletError.escrowExists();
  const held = acct.held(h.user_id);
  const avail = acct.available(h.user_id);
  const escrow = acct.escrow(orderId, h.user_id);
  const locked = await lockAccounts(tx, [held, avail, escrow]);
  await tx.$executeRaw`UPDATE wallet_holds SET status = 'ESCROWED', order_id = ${orderId}, updated_at = now() WHERE reference = ${ref}`;
  await post(tx, c.id, locked, [
    [held, -h.amount],
    [escrow, price],
    [avail, h.amount - price],
  ]);
  return { transactionId: c.id, replayed: false };
}

interface EscrowRow {
  buyer_id: number;
  amount: number;
  status: 'HELD' | 'RELEASED' | 'REFUNDED';
}
async function lockEscrow(tx: Tx, orderId: number): Promise<EscrowRow> {
  const rows = await tx.$queryRaw<
    EscrowRow[]
  >`SELECT buyer_id, amount, status FROM wallet_escrows WHERE order_id = ${orderId} FOR UPDATE`;
  if (!rows.length) throw walletError.escrowNotFound();
  return rows[0];
}

/** Pays the order's escrow to the seller, keeping `fee` won for the platform. */
export async function releaseEscrowToSeller(tx: Tx, orderId: number, sellerId: number, fee: number): Promise<OpResult> {
  checkId(orderId);
  checkId(sellerId);
  if (!Number.isSafeInteger(fee) || fee < 0) throw walletError.badAmount();
  const e = await lockEscrow(tx, orderId);
  if (fee > e.amount) throw walletError.badAmount();
  const c = await claim(tx, {
    kind: 'PAYOUT_TO_SELLER',
    reference: `order:${orderId}`,
    userId: sellerId,
    amount: e.amount,
    metadata: { orderId, sellerId, fee, buyerId: e.buyer_id },
  });
  if ('existing' in c)
    return replay(c.existing, c.existing.metadata.sellerId === sellerId && c.existing.metadata.fee === fee);
  if (e.status !== 'HELD') throw walletError.escrowSettled(e.status);
  const escrow = acct.escrow(orderId, e.buyer_id);
  const seller = acct.available(sellerId);
  const fees = acct.fees();
  const locked = await lockAccounts(tx, [escrow, seller, fees]);
  await tx.$executeRaw`UPDATE wallet_escrows SET status = 'RELEASED', seller_id = ${sellerId}, fee = ${fee}, updated_at = now() WHERE order_id = ${orderId}`;
  await post(tx, c.id, locked, [
    [escrow, -e.amount],
    [seller, e.amount - fee],
    [fees, fee],
  ]);
  return { transactionId: c.id, replayed: false };
}

/**
 * Splits the order's escrow (a dispute settled in part): `buyerAmount` back to the buyer, the rest
 * to the seller minus `fee` for the platform. One ledger transaction (kind PAYOUT_TO_SELLER, the
 * order's reference), so a split and a full payout or refund of one order exclude each other.
 */
export async function splitEscrow(
  tx: Tx,
  orderId: number,
  sellerId: number,
  buyerAmount: number,
  fee: number,
): Promise<OpResult> {
  checkId(orderId);
  checkId(sellerId);
  if (!Number.isSafeInteger(fee) || fee < 0) throw walletError.badAmount();
  if (!Number.isSafeInteger(buyerAmount) || buyerAmount < 0) throw walletError.badAmount();
  const e = await lockEscrow(tx, orderId);
  if (buyerAmount + fee > e.amount) throw walletError.badAmount();
  const c = await claim(tx, {
    kind: 'PAYOUT_TO_SELLER',
    reference: `order:${orderId}`,
    userId: sellerId,
    amount: e.amount,
    metadata: { orderId, sellerId, fee, buyerId: e.buyer_id, buyerAmount },
  });
  if ('existing' in c)
    return replay(
      c.existing,
      c.existing.metadata.sellerId === sellerId &&
        c.existing.metadata.fee === fee &&
        c.existing.metadata.buyerAmount === buyerAmount,
    );
  if (e.status !== 'HELD') throw walletError.escrowSettled(e.status);
  const escrow = acct.escrow(orderId, e.buyer_id);
  const seller = acct.available(sellerId);
  const buyer = acct.available(e.buyer_id);
  const fees = acct.fees();
  const locked = await lockAccounts(tx, [escrow, seller, buyer, fees]);
  await tx.$executeRaw`UPDATE wallet_escrows SET status = 'RELEASED', seller_id = ${sellerId}, fee = ${fee}, updated_at = now() WHERE order_id = ${orderId}`;
  await post(tx, c.id, locked, [
    [escrow, -e.amount],
    [buyer, buyerAmount],
    [seller, e.amount - buyerAmount - fee],
    [fees, fee],
  ]);
  return { transactionId: c.id, replayed: false };
}

/** Gives the order's escrow back to the buyer's available points. */
export async function refundEscrow(tx: Tx, orderId: number): Promise<OpResult> {
  checkId(orderId);
  const e = await lockEscrow(tx, orderId);
  const c = await claim(tx, {
    kind: 'REFUND',
    reference: `order:${orderId}`,
    userId: e.buyer_id,
    amount: e.amount,
    metadata: { orderId },
  });
  if ('existing' in c) return replay(c.existing, true);
  if (e.status !== 'HELD') throw walletError.escrowSettled(e.status);
  const escrow = acct.escrow(orderId, e.buyer_id);
  const buyer = acct.available(e.buyer_id);
  const locked = await lockAccounts(tx, [escrow, buyer]);
  await tx.$executeRaw`UPDATE wallet_escrows SET status = 'REFUNDED', updated_at = now() WHERE order_id = ${orderId}`;
  await post(tx, c.id, locked, [
    [escrow, -e.amount],
    [buyer, e.amount],
  ]);
  return { transactionId: c.id, replayed: false };
}

export interface Balances {
  available: number;
  held: number;
  escrow: number;
  pendingWithdrawal: number;
}

/** A user's points: spendable, reserved by bids, paid into escrow for orders, and on the way to their bank. */
export async function balances(tx: Tx, userId: number): Promise<Balances> {
  const rows = await tx.$queryRaw<{ kind: string; total: bigint }[]>`
    SELECT kind::text AS kind, COALESCE(SUM(balance), 0)::bigint AS total FROM wallet_accounts WHERE user_id = ${userId} GROUP BY kind`;
  const get = (k: string) => Number(rows.find((r) => r.kind === k)?.total ?? 0n);
  return {
    available: get('USER_AVAILABLE'),
    held: get('USER_HELD'),
    escrow: get('ESCROW'),
    pendingWithdrawal: get('USER_PAYOUT_PENDING'),
  };
}

/** Available points of several users in one query (users without an account have 0). */
export function availableOf(tx: Tx, userIds: number[]): Promise<Map<number, number>> {
  return availableOfSql(prismaSql(tx), userIds);
}

/** availableOf on plain SQL (the bid batch's transaction): the one implementation of both. */
export async function availableOfSql(sql: Sql, userIds: number[]): Promise<Map<number, number>> {
  userIds.forEach(checkId);
  const out = new Map<number, number>(userIds.map((id) => [id, 0]));
  if (!userIds.length) return out;
  const rows = await sql.query<{ user_id: number; total: bigint | string }>(
    `SELECT user_id, COALESCE(SUM(balance), 0)::bigint AS total FROM wallet_accounts
      WHERE user_id = ANY($1::int[]) AND kind = 'USER_AVAILABLE' GROUP BY user_id`,
    [userIds],
  );
  for (const r of rows) out.set(r.user_id, Number(r.total));
  return out;
}

export interface HoldInfo {
  reference: string;
  userId: number;
  amount: number;
  status: 'HELD' | 'RELEASED' | 'ESCROWED';
  orderId: number | null;
}
export async function findHold(tx: Tx, ref: string): Promise<HoldInfo | null> {
  const h = await tx.walletHold.findUnique({ where: { reference: ref } });
  return h
    ? { reference: h.reference, userId: h.userId, amount: h.amount, status: h.status, orderId: h.orderId }
    : null;
}
