/**
 * wallet: all money on DAPANDA. A double-entry points ledger (balanced, append-only postings),
 * holds for bids, escrow per order, card top-ups through a PaymentGateway, withdrawals and the
 * admin payout queue. Other modules move money only through `walletApi` below.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Db, Sql, Tx } from '../../core/db/index.js';
import { inTransaction, type OpResult } from './ledger.js';
import * as ops from './operations.js';
import { walletRoutes } from './routes.js';
import { walletAdminRoutes } from './admin-routes.js';
import { createTestCardGateway, type PaymentGateway } from './gateway.js';
import { addMessages } from '../../core/i18n.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { OpResult } from './ledger.js';
export type { Balances, HoldInfo } from './operations.js';
export { InsufficientFunds } from './errors.js';
export type { PaymentGateway, GatewayPayment, ChargeRequest } from './gateway.js';
export { GatewayTimeoutError, GatewayRequestError, createTestCardGateway, TEST_CARDS } from './gateway.js';

/**
 * Refusals come as AppError (src/core/errors.ts) with one of these codes, and the error handler
 * shows the message to the user. The one callers branch on has its own class: `InsufficientFunds`
 * (catch it with `instanceof`; its `available` and `needed` say by how much).
 */
export const WALLET_ERROR_CODES = [
  'INSUFFICIENT_FUNDS', // not enough available points (or the hold is smaller than the escrow amount)
  'IDEMPOTENCY_MISMATCH', // the reference was already used with other terms (amount, user, order, seller, fee)
  'INVALID_AMOUNT', // not a positive whole number of won, or a fee larger than the escrow
  'INVALID_REFERENCE',
  'INVALID_ID',
  'HOLD_NOT_FOUND',
  'HOLD_NOT_ACTIVE', // the hold was already released or moved to escrow
  'ESCROW_NOT_FOUND',
  'ESCROW_EXISTS', // the order already has an escrow from another hold
  'ESCROW_SETTLED', // already paid to the seller or refunded
] as const;

/**
 * The money operations. Every call is idempotent on its reference (calling twice has the effect
 * of once and returns `{ replayed: true }` the second time) and safe under concurrency.
 *
 *   const wallet = walletApi(app.db);
 *   await wallet.hold(userId, 50_000, `bid:${bidId}`);            // own transaction, retried on deadlock
 *   await transaction(app.db, async (tx) => {                      // or atomically with your own writes:
 *     const bid = await tx.bid.create({ ... });
 *     await wallet.withTx(tx).hold(userId, 50_000, `bid:${bid.id}`); // rolls back with your transaction
 *   });
 *
 * `withTx(tx)` runs inside the caller's interactive transaction (use READ COMMITTED, the
 * default): no retry of its own, the caller retries the whole transaction if it wants to.
 * Escrow references are per order: `order:<orderId>` in the ledger.
 */
export interface WalletOps {
  /** Reserves points for a bid; throws InsufficientFunds when available < amount. */
  hold(userId: number, amount: number, ref: string): Promise<OpResult>;
  /** Returns a held amount to available (outbid, auction lost or cancelled). */
  releaseHold(ref: string): Promise<OpResult>;
  /**
   * releaseHold(releaseRef) (when not null) then hold(userId, amount, ref), atomically and in one
   * database round trip (a new leader's bid); a refusal (InsufficientFunds, ...) changes nothing.
   */
  replaceHold(releaseRef: string | null, userId: number, amount: number, ref: string): Promise<OpResult>;
  /** Moves a hold into escrow for an order; `amount` (default the whole hold) is the price, any rest goes back to available. */
  moveHoldToEscrow(ref: string, orderId: number, amount?: number): Promise<OpResult>;
  /** Buyer confirmed receipt: pays escrow minus `fee` to the seller's available points, `fee` to the platform. */
  releaseEscrowToSeller(orderId: number, sellerId: number, fee: number): Promise<OpResult>;
  /** Order cancelled or dispute won by the buyer: escrow back to the buyer's available points. */
  refundEscrow(orderId: number): Promise<OpResult>;
  /** A dispute settled in part: `buyerAmount` back to the buyer, the rest minus `fee` to the seller, `fee` to the platform. */
  splitEscrow(orderId: number, sellerId: number, buyerAmount: number, fee: number): Promise<OpResult>;
  /** { available, held, escrow, pendingWithdrawal } in won. */
  balances(userId: number): Promise<ops.Balances>;
  /** Available points of several users at once (a user without a wallet has 0). */
  availableOf(userIds: number[]): Promise<Map<number, number>>;
  /** A hold by its reference (status HELD / RELEASED / ESCROWED), or null. */
  findHold(ref: string): Promise<ops.HoldInfo | null>;
  /** Withdrawals waiting for an admin (the dashboard): how many and how much, won. */
  payoutsWaiting(): Promise<{ count: number; amount: number }>;
}

/** The two calls of an accepted bid's transaction, on plain SQL (see `withSql`). */
export type WalletSqlOps = Pick<WalletOps, 'availableOf' | 'replaceHold'>;

export interface WalletApi extends WalletOps {
  /** The same operations inside the caller's transaction. */
  withTx(tx: Tx): WalletOps;
  /**
   * The hot calls of a bid's transaction inside the caller's plain-SQL transaction (core/db
   * sqlTransaction: bidding's batches), with the same rules and errors as through `withTx`, with
   * one difference: replaceHold's refusal is raised by the database, so it aborts the caller's
   * transaction and every statement the caller sent behind it (they may travel together).
   */
  withSql(sql: Sql): WalletSqlOps;
}

function bind(run: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>): WalletOps {
  return {
    hold: (userId, amount, ref) => run((tx) => ops.hold(tx, userId, amount, ref)),
    releaseHold: (ref) => run((tx) => ops.releaseHold(tx, ref)),
    replaceHold: (releaseRef, userId, amount, ref) => run((tx) => ops.replaceHold(tx, releaseRef, userId, amount, ref)),
    moveHoldToEscrow: (ref, orderId, amount) => run((tx) => ops.moveHoldToEscrow(tx, ref, orderId, amount)),
    releaseEscrowToSeller: (orderId, sellerId, fee) =>
      run((tx) => ops.releaseEscrowToSeller(tx, orderId, sellerId, fee)),
    refundEscrow: (orderId) => run((tx) => ops.refundEscrow(tx, orderId)),
    splitEscrow: (orderId, sellerId, buyerAmount, fee) =>
      run((tx) => ops.splitEscrow(tx, orderId, sellerId, buyerAmount, fee)),
    balances: (userId) => run((tx) => ops.balances(tx, userId)),
    availableOf: (userIds) => run((tx) => ops.availableOf(tx, userIds)),
    findHold: (ref) => run((tx) => ops.findHold(tx, ref)),
    payoutsWaiting: () =>
      run(async (tx) => {
        const r = await tx.walletPayout.aggregate({
          where: { status: 'REQUESTED' },
          _count: true,
          _sum: { amount: true },
        });
        return { count: r._count, amount: r._sum.amount ?? 0 };
      }),
  };
}

export function walletApi(db: Db): WalletApi {
  return {
    ...bind((fn) => inTransaction(db, fn)),
    withTx: (tx) => bind((fn) => fn(tx)),
    withSql: (sql) => ({
      availableOf: (userIds) => ops.availableOfSql(sql, userIds),
      replaceHold: (releaseRef, userId, amount, ref) => ops.replaceHoldOrRaise(sql, releaseRef, userId, amount, ref),
    }),
  };
}

export interface WalletModuleOptions {
  /** Won charged per withdrawal (config WALLET_WITHDRAWAL_FEE). */
  withdrawalFee: number;
  /** Prefix of the test gateway's Redis keys. */
  keyPrefix: string;
  /** Another card gateway (tests); default: the test-card gateway. */
  gateway?: PaymentGateway;
}

export const walletModule: FastifyPluginAsync<WalletModuleOptions> = async (app, opts) => {
  addMessages('wallet', { ko, en });
  app.views.module('wallet', import.meta.url);
  const gateway = opts.gateway ?? createTestCardGateway({ redis: app.redis, prefix: opts.keyPrefix });
  const deps = { db: app.db, gateway, withdrawalFee: opts.withdrawalFee };
  await walletRoutes(app, deps);
  await walletAdminRoutes(app, deps);
  // An account with points held for bids, in escrow or on the way out cannot be deleted.
  app.accountClosure.register('wallet', {
    blockers: async (userId) => {
      const b = await walletApi(app.db).balances(userId);
      return [
        ...(b.held > 0 ? [{ key: 'wallet.closure.held', params: { amount: b.held.toLocaleString('ko-KR') } }] : []),
        ...(b.escrow > 0
          ? [{ key: 'wallet.closure.escrow', params: { amount: b.escrow.toLocaleString('ko-KR') } }]
          : []),
        ...(b.pendingWithdrawal > 0
          ? [{ key: 'wallet.closure.withdrawal', params: { amount: b.pendingWithdrawal.toLocaleString('ko-KR') } }]
          : []),
      ];
    },
  });
};
