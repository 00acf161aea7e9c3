/** The database itself refuses what would break the ledger, whatever code (or person) tries it. */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { makeUser, walletDeps, fund } from '../helpers/wallet.js';

t.test('postings are append-only, must balance, and cannot take a user account below zero', async (t) => {
  const { app, config } = await startApp(t);
  const user = await makeUser(app);
  await fund(walletDeps(app, config), user.id, 5_000);
  const acct = (await app.db.walletAccount.findUnique({ where: { key: `user:${user.id}:available` } }))!;
  const fees = await app.db.$queryRaw<
    { id: number }[]
  >`INSERT INTO wallet_accounts (key, kind) VALUES ('platform:fees', 'PLATFORM_FEES') ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING id`;
  const entry = (await app.db.ledgerEntry.findFirst({ where: { accountId: acct.id } }))!;
  await t.rejects(app.db.$executeRaw`UPDATE ledger_entries SET amount = 999999 WHERE id = ${entry.id}`, /append-only/);
  await t.rejects(app.db.$executeRaw`DELETE FROM ledger_entries WHERE id = ${entry.id}`, /append-only/);
  await t.rejects(app.db.$executeRaw`DELETE FROM ledger_transactions WHERE id = ${entry.transactionId}`, /append-only/);
  await t.rejects(
    app.db.$executeRaw`UPDATE wallet_accounts SET balance = 1000000 WHERE id = ${acct.id}`,
    /moves only with ledger postings/,
  );
  const tx = await app.db.$queryRaw<
    { id: number }[]
  >`INSERT INTO ledger_transactions (kind, reference, user_id, amount) VALUES ('HOLD', ${`guard-${user.id}`}, ${user.id}, 1) RETURNING id`;
  await t.rejects(
    app.db
      .$executeRaw`INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES (${tx[0].id}, ${acct.id}, 100)`,
    /does not balance/,
    'one-legged posting refused',
  );
  await t.rejects(
    app.db
      .$executeRaw`INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES (${tx[0].id}, ${acct.id}, -6000), (${tx[0].id}, ${fees[0].id}, 6000)`,
    /would go negative/,
    'overdraft refused even with balanced legs',
  );
  const after = (await app.db.walletAccount.findUnique({ where: { id: acct.id } }))!;
  t.equal(after.balance, 5_000n, 'balance untouched');
  const [{ s }] = await app.db.$queryRaw<
    { s: bigint }[]
  >`SELECT COALESCE(SUM(amount), 0)::bigint AS s FROM ledger_entries WHERE account_id = ${acct.id}`;
  t.equal(s, after.balance, 'cached balance equals the sum of postings');
});
