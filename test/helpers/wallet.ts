/** Wallet test helpers: users with points (through the real top-up path) and ledger invariants. */
import { randomUUID } from 'node:crypto';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { createTestCardGateway } from '../../src/modules/wallet/index.js';
import { topUp, type WalletDeps } from '../../src/modules/wallet/service.js';
import { TEST_PASSWORD_HASHING, uniq } from './env.js';

export const OK_CARD = '4242 4242 4242 4242';

export function walletDeps(app: App, config: Config): WalletDeps {
  return {
    db: app.db,
    gateway: createTestCardGateway({ redis: app.redis, prefix: config.redisPrefix }),
    withdrawalFee: config.walletWithdrawalFee,
  };
}

export async function makeUser(app: App, role: 'USER' | 'ADMIN' = 'USER', password = 'wallet test password') {
  const u = uniq();
  return createUserDirect(
    app.db,
    { email: `w${u}@example.com`, nickname: `w${u}`, password, role },
    TEST_PASSWORD_HASHING,
  );
}

/** Credits `amount` won by a card top-up (split into top-ups of at most 10,000,000). */
export async function fund(deps: WalletDeps, userId: number, amount: number): Promise<void> {
  for (let left = amount; left > 0; left -= 10_000_000) {
    const r = await topUp(deps, { userId, amount: Math.min(left, 10_000_000), key: randomUUID(), cardNumber: OK_CARD });
    if (r.status !== 'credited') throw new Error(`funding failed: ${r.status}`);
  }
}

/** Everything the ledger must satisfy, checked in the database. Empty list = all good. */
export async function ledgerViolations(app: App, sinceTxId = 0): Promise<string[]> {
  const out: string[] = [];
  const unbalanced = await app.db.$queryRaw<{ transaction_id: number; total: bigint }[]>`
    SELECT transaction_id, SUM(amount) AS total FROM ledger_entries WHERE transaction_id > ${sinceTxId}
    GROUP BY transaction_id HAVING SUM(amount) <> 0 LIMIT 5`;
  for (const r of unbalanced) out.push(`transaction ${r.transaction_id} sums to ${r.total}`);
  const [{ total }] = await app.db.$queryRaw<
    { total: bigint | null }[]
  >`SELECT SUM(amount)::bigint AS total FROM ledger_entries`;
  if ((total ?? 0n) !== 0n) out.push(`ledger sums to ${total}`);
  const negative = await app.db.$queryRaw<{ key: string; balance: bigint }[]>`
    SELECT key, balance FROM wallet_accounts WHERE balance < 0 AND kind NOT IN ('EXTERNAL_TOPUPS', 'EXTERNAL_PAYOUTS') LIMIT 5`;
  for (const r of negative) out.push(`${r.key} is negative: ${r.balance}`);
  const drift = await app.db.$queryRaw<{ key: string; balance: bigint; sum: bigint }[]>`
    SELECT a.key, a.balance, COALESCE(SUM(e.amount), 0)::bigint AS sum FROM wallet_accounts a
    LEFT JOIN ledger_entries e ON e.account_id = a.id
    WHERE a.updated_at > now() - interval '1 hour' OR a.key LIKE 'platform:%' OR a.key LIKE 'external:%'
    GROUP BY a.id HAVING a.balance <> COALESCE(SUM(e.amount), 0) LIMIT 5`;
  for (const r of drift) out.push(`${r.key} caches ${r.balance} but its postings sum to ${r.sum}`);
  return out;
}
