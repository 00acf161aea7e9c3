/** Read side of the wallet pages: a user's history with running balance, and the payout queue. */
import { Prisma, type Db } from '../../core/db/index.js';
import { acct, type LedgerKind } from './ledger.js';

export interface HistoryFilter {
  kind?: LedgerKind;
  /** Inclusive start date (Asia/Seoul day), `YYYY-MM-DD`. */
  from?: string;
  /** Inclusive end date (Asia/Seoul day), `YYYY-MM-DD`. */
  to?: string;
  /** Keyset cursor: entries before this sequence number. */
  before?: bigint;
  limit?: number;
}

export interface HistoryRow {
  seq: string;
  transactionId: number;
  kind: LedgerKind;
  reference: string;
  createdAt: Date;
  availableChange: number;
  heldChange: number;
  otherChange: number;
  /** The available balance right after this movement. */
  availableAfter: number;
  heldAfter: number;
  orderId: number | null;
  /**
   * A payout to this user as the seller: the sale price, the platform fee and what reached the
   * seller (price − fee); null on every other row (and on the buyer's side of a split).
   */
  payout: { price: number; fee: number; net: number } | null;
}

/**
 * One row per ledger transaction that touched the user's own accounts, newest first, keyed by
 * the transaction's first posting id (postings on an account are written under its row lock,
 * so their ids follow the order its balance changed in).
 */
export async function history(
  db: Db,
  userId: number,
  f: HistoryFilter,
): Promise<{ rows: HistoryRow[]; nextBefore: string | null }> {
  const limit = Math.min(Math.max(f.limit ?? 20, 1), 100);
  const keys = [acct.available(userId).key, acct.held(userId).key, acct.payoutPending(userId).key];
  const accounts = await db.walletAccount.findMany({ where: { key: { in: keys } }, select: { id: true, key: true } });
  const idOf = (k: string) => accounts.find((a) => a.key === k)?.id ?? -1;
  const [availId, heldId] = [idOf(keys[0]), idOf(keys[1])];
  const ids = accounts.map((a) => a.id);
  if (!ids.length) return { rows: [], nextBefore: null };
  const conds = [Prisma.sql`e.account_id = ANY(${ids}::int[])`];
  if (f.kind) conds.push(Prisma.sql`t.kind = ${f.kind}::"LedgerTxKind"`);
  if (f.from) conds.push(Prisma.sql`t.created_at >= (${f.from}::date)::timestamp AT TIME ZONE 'Asia/Seoul'`);
  if (f.to) conds.push(Prisma.sql`t.created_at < ((${f.to}::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul')`);
  const having = f.before !== undefined ? Prisma.sql`HAVING MIN(e.id) < ${f.before.toString()}::bigint` : Prisma.empty;
  const raw = await db.$queryRaw<
    {
      seq: bigint;
      tx_id: number;
      kind: LedgerKind;
      reference: string;
      created_at: Date;
      amount: bigint;
      metadata: unknown;
      avail_delta: bigint | null;
      held_delta: bigint | null;
      all_delta: bigint;
      avail_after: bigint | null;
      held_after: bigint | null;
    }[]
  >`
    SELECT MIN(e.id) AS seq, t.id AS tx_id, t.kind::text AS kind, t.reference, t.created_at, t.amount, t.metadata,
      SUM(e.amount) FILTER (WHERE e.account_id = ${availId}) AS avail_delta,
      SUM(e.amount) FILTER (WHERE e.account_id = ${heldId}) AS held_delta,
      SUM(e.amount) AS all_delta,
      MAX(e.balance_after) FILTER (WHERE e.account_id = ${availId}) AS avail_after,
      MAX(e.balance_after) FILTER (WHERE e.account_id = ${heldId}) AS held_after
    FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
    WHERE ${Prisma.join(conds, ' AND ')}
    GROUP BY t.id ${having}
    ORDER BY seq DESC LIMIT ${limit + 1}`;
  const page = raw.slice(0, limit);
  // A movement that did not touch an account shows that account's balance as it was then.
  const lastBefore = async (accountId: number, seq: bigint): Promise<bigint> => {
    const r = await db.$queryRaw<{ b: bigint }[]>`
      SELECT balance_after AS b FROM ledger_entries WHERE account_id = ${accountId} AND id < ${seq.toString()}::bigint ORDER BY id DESC LIMIT 1`;
    return r[0]?.b ?? 0n;
  };
  const rows: HistoryRow[] = [];
  for (const r of page) {
    const meta = (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : (r.metadata ?? {})) as Record<
      string,
      unknown
    >;
    const availableChange = Number(r.avail_delta ?? 0n);
    const heldChange = Number(r.held_delta ?? 0n);
    rows.push({
      seq: r.seq.toString(),
      transactionId: r.tx_id,
      kind: r.kind,
      reference: r.reference,
      createdAt: r.created_at,
      availableChange,
      heldChange,
      otherChange: Number(r.all_delta) - availableChange - heldChange,
      availableAfter: Number(r.avail_after ?? (await lastBefore(availId, r.seq))),
      heldAfter: Number(r.held_after ?? (await lastBefore(heldId, r.seq))),
      orderId: typeof meta.orderId === 'number' ? meta.orderId : null,
      payout: payoutOf(r.kind, Number(r.amount), meta, userId),
    });
  }
  return { rows, nextBefore: raw.length > limit ? page[page.length - 1].seq.toString() : null };
}

/** The seller's breakdown of a PAYOUT_TO_SELLER (a split pays the seller the escrow minus the buyer's part). */
function payoutOf(kind: LedgerKind, amount: number, meta: Record<string, unknown>, userId: number) {
  if (kind !== 'PAYOUT_TO_SELLER' || meta.sellerId !== userId || typeof meta.fee !== 'number') return null;
  const price = amount - (typeof meta.buyerAmount === 'number' ? meta.buyerAmount : 0);
  return { price, fee: meta.fee, net: price - meta.fee };
}

export async function bankAccountOf(db: Db, userId: number) {
  return db.walletBankAccount.findUnique({ where: { userId } });
}

export async function payoutsOf(db: Db, userId: number, take = 10) {
  return db.walletPayout.findMany({ where: { userId }, orderBy: { id: 'desc' }, take });
}

/** The admin queue: requested payouts oldest first, then the latest processed ones. */
export async function payoutQueue(db: Db) {
  const [requested, processed] = await Promise.all([
    db.walletPayout.findMany({ where: { status: 'REQUESTED' }, orderBy: { createdAt: 'asc' }, take: 200 }),
    db.walletPayout.findMany({
      where: { status: { in: ['PAID', 'REJECTED'] } },
      orderBy: { processedAt: 'desc' },
      take: 30,
    }),
  ]);
  return { requested, processed };
}
