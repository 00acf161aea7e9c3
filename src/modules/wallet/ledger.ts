/**
 * The ledger engine under the wallet service: claiming an idempotency reference, locking
 * accounts in a fixed order, writing balanced postings, and running one operation per database
 * transaction with bounded retries. The database re-checks every rule (see the wallet migration).
 */
import { Prisma, dbErrorMatches, transaction, type Db, type Tx } from '../../core/db/index.js';
import { AppError } from '../../core/errors.js';
import { InsufficientFunds } from './errors.js';
export type AccountKind =
  | 'USER_AVAILABLE'
  | 'USER_HELD'
  | 'USER_PAYOUT_PENDING'
  | 'ESCROW'
  | 'PLATFORM_FEES'
  | 'EXTERNAL_TOPUPS'
  | 'EXTERNAL_PAYOUTS';
/** What a ledger transaction did (not to be confused with a database transaction, `Tx`). */
export type LedgerKind =
  | 'TOPUP'
  | 'HOLD'
  | 'RELEASE'
  | 'ESCROW'
  | 'PAYOUT_TO_SELLER'
  | 'REFUND'
  | 'WITHDRAWAL'
  | 'WITHDRAWAL_PAID'
  | 'WITHDRAWAL_REVERSAL';
export const LEDGER_KINDS: readonly LedgerKind[] = [
  'TOPUP',
  'HOLD',
  'RELEASE',
  'ESCROW',
  'PAYOUT_TO_SELLER',
  'REFUND',
  'WITHDRAWAL',
  'WITHDRAWAL_PAID',
  'WITHDRAWAL_REVERSAL',
];

export interface AccountSpec {
  key: string;
  kind: AccountKind;
  userId: number | null;
}

/** The ledger's accounts, by their stable keys. */
export const acct = {
  available: (userId: number): AccountSpec => ({ key: `user:${userId}:available`, kind: 'USER_AVAILABLE', userId }),
  held: (userId: number): AccountSpec => ({ key: `user:${userId}:held`, kind: 'USER_HELD', userId }),
  payoutPending: (userId: number): AccountSpec => ({
    key: `user:${userId}:payout_pending`,
    kind: 'USER_PAYOUT_PENDING',
    userId,
  }),
  escrow: (orderId: number, buyerId: number): AccountSpec => ({
    key: `escrow:order:${orderId}`,
    kind: 'ESCROW',
    userId: buyerId,
  }),
  fees: (): AccountSpec => ({ key: 'platform:fees', kind: 'PLATFORM_FEES', userId: null }),
  topups: (): AccountSpec => ({ key: 'external:topups', kind: 'EXTERNAL_TOPUPS', userId: null }),
  payouts: (): AccountSpec => ({ key: 'external:payouts', kind: 'EXTERNAL_PAYOUTS', userId: null }),
};

export interface LedgerHead {
  kind: LedgerKind;
  reference: string;
  userId: number | null;
  amount: number;
  metadata?: Record<string, unknown>;
}

export interface LedgerTxRow {
  id: number;
  kind: LedgerKind;
  reference: string;
  userId: number | null;
  amount: number;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

/** The result of every money operation: the ledger transaction, and whether this call was a replay. */
export interface OpResult {
  transactionId: number;
  replayed: boolean;
}

export const walletError = {
  insufficient: (available: number, needed: number) => new InsufficientFunds(available, needed),
  mismatch: () => new AppError(409, 'wallet.errors.referenceReused', {}, 'IDEMPOTENCY_MISMATCH'),
  badAmount: () => new AppError(422, 'wallet.errors.apiAmount', {}, 'INVALID_AMOUNT'),
  badReference: () => new AppError(422, 'wallet.errors.apiReference', {}, 'INVALID_REFERENCE'),
  holdNotFound: () => new AppError(404, 'wallet.errors.holdNotFound', {}, 'HOLD_NOT_FOUND'),
  holdNotActive: (status: string) => new AppError(409, 'wallet.errors.holdNotActive', { status }, 'HOLD_NOT_ACTIVE'),
  escrowNotFound: () => new AppError(404, 'wallet.errors.escrowNotFound', {}, 'ESCROW_NOT_FOUND'),
  escrowExists: () => new AppError(409, 'wallet.errors.escrowExists', {}, 'ESCROW_EXISTS'),
  escrowSettled: (status: string) => new AppError(409, 'wallet.errors.escrowSettled', { status }, 'ESCROW_SETTLED'),
  payoutNotFound: () => new AppError(404, 'wallet.errors.payoutNotFound', {}, 'PAYOUT_NOT_FOUND'),
  payoutSettled: (status: string) => new AppError(409, 'wallet.errors.payoutSettled', { status }, 'PAYOUT_SETTLED'),
};

/** Amounts other modules pass: positive whole won that fit the hold/escrow columns. */
export const MAX_API_AMOUNT = 2_000_000_000;
export function checkApiAmount(amount: unknown): number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_API_AMOUNT)
    throw walletError.badAmount();
  return amount;
}
export function checkReference(ref: unknown): string {
  if (typeof ref !== 'string' || ref.length < 1 || ref.length > 200 || /\s/.test(ref)) throw walletError.badReference();
  return ref;
}
export function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647)
    throw new AppError(422, 'wallet.errors.apiId', {}, 'INVALID_ID');
  return id;
}

type RawTx = {
  id: number;
  kind: LedgerKind;
  reference: string;
  user_id: number | null;
  amount: bigint;
  metadata: unknown;
  created_at: Date;
};
const toTxRow = (r: RawTx): LedgerTxRow => ({
  id: r.id,
  kind: r.kind,
  reference: r.reference,
  userId: r.user_id,
  amount: Number(r.amount),
  metadata: (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : (r.metadata ?? {})) as Record<string, unknown>,
  createdAt: r.created_at,
});

/**
 * Inserts the ledger transaction row, which claims (kind, reference). When the reference is
 * already taken the existing row comes back instead; a concurrent claim that has not committed
 * yet makes this wait for it (ON CONFLICT), so a replay sees the first call's outcome.
 */
export async function claim(tx: Tx, head: LedgerHead): Promise<{ id: number } | { existing: LedgerTxRow }> {
  const meta = JSON.stringify(head.metadata ?? {});
  const rows = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO ledger_transactions (kind, reference, user_id, amount, metadata)
    VALUES (${head.kind}::"LedgerTxKind", ${head.reference}, ${head.userId}, ${head.amount}, ${meta}::jsonb)
    ON CONFLICT (kind, reference) DO NOTHING RETURNING id`;
  if (rows.length) return { id: rows[0].id };
  const found = await tx.$queryRaw<RawTx[]>`
    SELECT id, kind, reference, user_id, amount, metadata, created_at FROM ledger_transactions
    WHERE kind = ${head.kind}::"LedgerTxKind" AND reference = ${head.reference}`;
  if (!found.length) throw new Error(`ledger claim for ${head.kind}/${head.reference} vanished`);
  return { existing: toTxRow(found[0]) };
}

export interface Locked {
  id: number;
  balance: bigint;
}

/**
 * Locks the accounts (creating missing ones) in ascending id order, the one order every
 * operation uses, so two operations never wait on each other in a cycle.
 */
export async function lockAccounts(tx: Tx, specs: AccountSpec[]): Promise<Map<string, Locked>> {
  const keys = [...new Set(specs.map((s) => s.key))];
  const select = () =>
    tx.$queryRaw<{ id: number; key: string; balance: bigint }[]>`
      SELECT id, key, balance FROM wallet_accounts WHERE key = ANY(${keys}::text[]) ORDER BY id FOR UPDATE`;
  let rows = await select();
  if (rows.length < keys.length) {
    const have = new Set(rows.map((r) => r.key));
    const missing = specs.filter((s) => !have.has(s.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
    await tx.$executeRaw`
      INSERT INTO wallet_accounts (key, kind, user_id)
      SELECT * FROM unnest(${missing.map((m) => m.key)}::text[], ${missing.map((m) => m.kind)}::"WalletAccountKind"[], ${missing.map((m) => m.userId)}::int[])
      ON CONFLICT (key) DO NOTHING`;
    rows = await select();
  }
  return new Map(rows.map((r) => [r.key, { id: r.id, balance: r.balance }]));
}

/**
 * Writes a transaction's postings in ONE statement (the database refuses a statement whose
 * postings do not sum to zero per transaction, and moves each account's cached balance).
 */
export async function post(
  tx: Tx,
  transactionId: number,
  accounts: Map<string, Locked>,
  legs: [AccountSpec, number][],
): Promise<void> {
  const nonZero = legs.filter(([, amount]) => amount !== 0);
  const rows = nonZero
    .map(([spec, amount]) => {
      const a = accounts.get(spec.key);
      if (!a) throw new Error(`account ${spec.key} was not locked`);
      return { accountId: a.id, amount };
    })
    .sort((x, y) => x.accountId - y.accountId);
  try {
    await tx.$executeRaw`
      INSERT INTO ledger_entries (transaction_id, account_id, amount)
      SELECT ${transactionId}, * FROM unnest(${rows.map((r) => r.accountId)}::int[], ${rows.map((r) => String(r.amount))}::bigint[])`;
  } catch (err) {
    // The database's own non-negative guard fired (a code path forgot to check): still a refusal, not a 500.
    if (isNegativeGuard(err)) throw walletError.insufficient(0, 0);
    throw err;
  }
}

const isNegativeGuard = (err: unknown) => dbErrorMatches(err, /would go negative/);

/**
 * Money operations run READ COMMITTED (row locks on the accounts decide who waits) with more
 * patience than a page's transaction: a busy account's lock queue must not turn into refusals.
 */
const WALLET_TX = {
  attempts: 6,
  maxWaitMs: 20_000,
  timeoutMs: 20_000,
  isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted,
};

/** Runs one money operation in its own database transaction, retrying deadlocks a bounded number of times. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await transaction(db, fn, WALLET_TX);
  } catch (err) {
    if (isNegativeGuard(err)) throw walletError.insufficient(0, 0);
    throw err;
  }
}
