/**
 * wallet rules for the pages: card top-ups through the payment gateway, withdrawals to a bank
 * account and their admin settlement. With operations.ts (the API other modules use) and ledger.ts
 * (postings), the only code that writes the wallet's tables.
 */
import { audit, type AuditActor } from '../../core/audit.js';
import type { Db } from '../../core/db/index.js';
import { AppError } from '../../core/errors.js';
import { acct, claim, inTransaction, lockAccounts, post, walletError, type OpResult } from './ledger.js';
import {
  GatewayRequestError,
  GatewayTimeoutError,
  cardDigits,
  type GatewayPayment,
  type PaymentGateway,
} from './gateway.js';
import type { BankInput } from './money.js';
import { InsufficientFunds } from './errors.js';

export interface WalletDeps {
  db: Db;
  gateway: PaymentGateway;
  withdrawalFee: number;
  /** How long a card charge may take before we treat it as a timeout (outcome unknown). */
  gatewayTimeoutMs?: number;
}

export interface TopupCommand {
  userId: number;
  /** Validated whole won (money.parseWon with TOPUP_MIN..TOPUP_MAX). */
  amount: number;
  /** The form's idempotency key. */
  key: string;
  cardNumber: string;
}

export type TopupOutcome =
  | { status: 'credited'; amount: number; replayed: boolean; transactionId: number }
  | { status: 'declined'; code: string }
  | { status: 'timeout' };

const keyReused = () => new AppError(409, 'wallet.errors.keyReused', {}, 'IDEMPOTENCY_MISMATCH');

/** Posts a succeeded card payment exactly once (the ledger reference is the attempt's key). */
async function creditTopup(
  db: Db,
  attempt: { key: string; userId: number; amount: number },
  payment: GatewayPayment,
): Promise<OpResult> {
  return inTransaction(db, async (tx) => {
    const c = await claim(tx, {
      kind: 'TOPUP',
      reference: attempt.key,
      userId: attempt.userId,
      amount: attempt.amount,
      metadata: { paymentId: payment.paymentId },
    });
    await tx.$executeRaw`UPDATE topup_attempts SET status = 'SUCCEEDED', payment_id = ${payment.paymentId}, failure_code = NULL, updated_at = now() WHERE key = ${attempt.key}`;
    if ('existing' in c) return { transactionId: c.existing.id, replayed: true };
    const topups = acct.topups();
    const avail = acct.available(attempt.userId);
    const locked = await lockAccounts(tx, [topups, avail]);
    await post(tx, c.id, locked, [
      [topups, -attempt.amount],
      [avail, attempt.amount],
    ]);
    return { transactionId: c.id, replayed: false };
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One top-up. The attempt is recorded (PENDING) before the card is charged, so a crash or a
 * lost answer leaves a trace; a retry with the same key asks the gateway what happened and
 * completes the posting once. A double submit credits once; the same key with another amount
 * is refused.
 */
export async function topUp(deps: WalletDeps, cmd: TopupCommand): Promise<TopupOutcome> {
  const last4 = cardDigits(cmd.cardNumber).slice(-4);
  const inserted = await deps.db.$queryRaw<{ id: number }[]>`
    INSERT INTO topup_attempts (key, user_id, amount, card_last4) VALUES (${cmd.key}, ${cmd.userId}, ${cmd.amount}, ${last4})
    ON CONFLICT (key) DO NOTHING RETURNING id`;
  const attempt = { key: cmd.key, userId: cmd.userId, amount: cmd.amount };
  if (!inserted.length) {
    const prev = await deps.db.topupAttempt.findUnique({ where: { key: cmd.key } });
    if (!prev || prev.userId !== cmd.userId || prev.amount !== cmd.amount) throw keyReused();
    if (prev.status === 'DECLINED') return { status: 'declined', code: prev.failureCode ?? 'declined' };
    // SUCCEEDED (a double submit) or PENDING/FAILED (a retry after a timeout or crash): ask the gateway.
    const known = await deps.gateway.status(cmd.key).catch(() => null);
    if (known && known.amount !== cmd.amount) throw keyReused();
    if (known?.status === 'SUCCEEDED') {
      const r = await creditTopup(deps.db, attempt, known);
      return {
        status: 'credited',
        amount: cmd.amount,
        replayed: prev.status === 'SUCCEEDED' || r.replayed,
        transactionId: r.transactionId,
      };
    }
    if (known?.status === 'DECLINED') return markDeclined(deps, cmd.key, known.declineCode ?? 'declined');
  }
  let payment: GatewayPayment;
  try {
    payment = await withDeadline(
      deps.gateway.charge({
        idempotencyKey: cmd.key,
        amount: cmd.amount,
        cardNumber: cmd.cardNumber,
        description: `DAPANDA points ${cmd.amount}`,
      }),
      deps.gatewayTimeoutMs ?? 15_000,
    );
  } catch (err) {
    if (err instanceof GatewayTimeoutError) {
      await deps.db.topupAttempt.update({ where: { key: cmd.key }, data: { failureCode: 'timeout' } });
      return { status: 'timeout' };
    }
    if (err instanceof GatewayRequestError) {
      if (err.code === 'idempotency_key_reused') throw keyReused();
      await deps.db.topupAttempt.update({ where: { key: cmd.key }, data: { status: 'FAILED', failureCode: err.code } });
      return { status: 'declined', code: err.code };
    }
    throw err; // outcome unknown: the attempt stays PENDING and a retry with the same key resolves it
  }
  if (payment.status === 'DECLINED') return markDeclined(deps, cmd.key, payment.declineCode ?? 'declined');
  const r = await creditTopup(deps.db, attempt, payment);
  return { status: 'credited', amount: cmd.amount, replayed: r.replayed, transactionId: r.transactionId };
}

async function markDeclined(deps: WalletDeps, key: string, code: string): Promise<TopupOutcome> {
  await deps.db.topupAttempt.update({ where: { key }, data: { status: 'DECLINED', failureCode: code } });
  return { status: 'declined', code };
}

export interface WithdrawCommand {
  userId: number;
  amount: number;
  key: string;
  bank: BankInput;
}

/**
 * A withdrawal request: amount + fee leave the available points for the user's pending-payout
 * account at once (so they cannot be bid with), and wait there for an admin to mark the bank
 * transfer done or to reject it. Idempotent on the form's key.
 */
export async function requestWithdrawal(
  deps: WalletDeps,
  cmd: WithdrawCommand,
): Promise<OpResult & { payoutId: number; fee: number }> {
  const fee = deps.withdrawalFee;
  const total = cmd.amount + fee;
  return inTransaction(deps.db, async (tx) => {
    const c = await claim(tx, {
      kind: 'WITHDRAWAL',
      reference: cmd.key,
      userId: cmd.userId,
      amount: total,
      metadata: { amount: cmd.amount, fee },
    });
    if ('existing' in c) {
      const m = c.existing.metadata;
      if (c.existing.userId !== cmd.userId || m.amount !== cmd.amount) throw walletError.mismatch();
      const first = await tx.walletPayout.findUnique({ where: { requestKey: cmd.key } });
      return { transactionId: c.existing.id, replayed: true, payoutId: first?.id ?? 0, fee: Number(m.fee) };
    }
    const avail = acct.available(cmd.userId);
    const pending = acct.payoutPending(cmd.userId);
    const locked = await lockAccounts(tx, [avail, pending]);
    const balance = Number(locked.get(avail.key)!.balance);
    if (balance < total)
      throw new InsufficientFunds(balance, total, 'wallet.errors.withdrawInsufficient', { available: balance, fee });
    const b = cmd.bank;
    await tx.walletBankAccount.upsert({
      where: { userId: cmd.userId },
      create: { userId: cmd.userId, bankCode: b.bankCode, accountNumber: b.accountNumber, holderName: b.holderName },
      update: { bankCode: b.bankCode, accountNumber: b.accountNumber, holderName: b.holderName },
    });
    const payout = await tx.walletPayout.create({
      data: {
        requestKey: cmd.key,
        userId: cmd.userId,
        amount: cmd.amount,
        fee,
        bankCode: b.bankCode,
        accountNumber: b.accountNumber,
        holderName: b.holderName,
      },
    });
    await post(tx, c.id, locked, [
      [avail, -total],
      [pending, total],
    ]);
    return { transactionId: c.id, replayed: false, payoutId: payout.id, fee };
  });
}

/** Admin: the bank transfer was made. The fee goes to the platform, the amount leaves the system. */
export async function markPayoutPaid(
  deps: Pick<WalletDeps, 'db'>,
  payoutId: number,
  admin: AuditActor,
): Promise<OpResult> {
  return settlePayout(deps, payoutId, admin, 'PAID');
}

/** Admin: the transfer cannot be made (e.g. wrong account); amount and fee go back to the user. */
export async function rejectPayout(
  deps: Pick<WalletDeps, 'db'>,
  payoutId: number,
  admin: AuditActor,
): Promise<OpResult> {
  return settlePayout(deps, payoutId, admin, 'REJECTED');
}

async function settlePayout(
  deps: Pick<WalletDeps, 'db'>,
  payoutId: number,
  admin: AuditActor,
  to: 'PAID' | 'REJECTED',
): Promise<OpResult> {
  const adminId = admin.id!;
  return inTransaction(deps.db, async (tx) => {
    const rows = await tx.$queryRaw<{ user_id: number; amount: number; fee: number; status: string }[]>`
      SELECT user_id, amount, fee, status FROM wallet_payouts WHERE id = ${payoutId} FOR UPDATE`;
    if (!rows.length) throw walletError.payoutNotFound();
    const p = rows[0];
    const total = p.amount + p.fee;
    const kind = to === 'PAID' ? 'WITHDRAWAL_PAID' : 'WITHDRAWAL_REVERSAL';
    const c = await claim(tx, {
      kind,
      reference: `payout:${payoutId}`,
      userId: p.user_id,
      amount: total,
      metadata: { payoutId, adminId, amount: p.amount, fee: p.fee },
    });
    if ('existing' in c) return { transactionId: c.existing.id, replayed: true };
    if (p.status !== 'REQUESTED') throw walletError.payoutSettled(p.status);
    const pending = acct.payoutPending(p.user_id);
    const legs: [ReturnType<typeof acct.fees>, number][] =
      to === 'PAID'
        ? [
            [pending, -total],
            [acct.payouts(), p.amount],
            [acct.fees(), p.fee],
          ]
        : [
            [pending, -total],
            [acct.available(p.user_id), total],
          ];
    const locked = await lockAccounts(
      tx,
      legs.map(([a]) => a),
    );
    await tx.walletPayout.update({
      where: { id: payoutId },
      data: { status: to, processedBy: adminId, processedAt: new Date() },
    });
    await post(tx, c.id, locked, legs);
    // The admin's decision is audited in the transaction that moves the money (a replay writes none).
    await audit.record(tx, admin, {
      action: to === 'PAID' ? 'wallet.payout.paid' : 'wallet.payout.reject',
      target: { kind: 'payout', id: payoutId },
      before: { status: p.status, amount: p.amount, fee: p.fee, userId: p.user_id },
      after: { status: to, ledgerTransactionId: c.id },
    });
    return { transactionId: c.id, replayed: false };
  });
}
