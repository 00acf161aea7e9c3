import t from 'tap';
import { startApp } from '../helpers/app.js';
import { fund, ledgerViolations, makeUser, walletDeps } from '../helpers/wallet.js';
import { walletApi } from '../../src/modules/wallet/index.js';

t.test('50 parallel holds on a balance that covers exactly 10: exactly 10 succeed', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const wallet = walletApi(app.db);
  const user = await makeUser(app);
  await fund(deps, user.id, 10 * 7_000);
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) => wallet.hold(user.id, 7_000, `race:${user.id}:${i}`)),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  t.equal(ok.length, 10, 'exactly 10 holds succeed');
  t.equal(refused.length, 40);
  t.ok(
    refused.every((r) => r.reason?.code === 'INSUFFICIENT_FUNDS'),
    'the other 40 are refused for insufficient points, nothing else',
  );
  t.same(await wallet.balances(user.id), { available: 0, held: 70_000, escrow: 0, pendingWithdrawal: 0 });
  t.equal(await app.db.walletHold.count({ where: { userId: user.id } }), 10, '10 hold rows');
  t.same(await ledgerViolations(app), []);
});

t.test('two holds that together exceed the balance never both succeed (repeated 20 times)', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const wallet = walletApi(app.db);
  for (let round = 0; round < 20; round++) {
    const user = await makeUser(app);
    await fund(deps, user.id, 10_000);
    const r = await Promise.allSettled([
      wallet.hold(user.id, 6_000, `a:${user.id}`),
      wallet.hold(user.id, 5_000, `b:${user.id}`),
    ]);
    t.equal(r.filter((x) => x.status === 'fulfilled').length, 1, `round ${round}: one hold wins`);
    const b = await wallet.balances(user.id);
    t.equal(b.available + b.held, 10_000, `round ${round}: no points created or lost`);
  }
  t.same(await ledgerViolations(app), []);
});

t.test('the same hold reference sent 20 times at once holds once', async (t) => {
  const { app, config } = await startApp(t);
  const wallet = walletApi(app.db);
  const user = await makeUser(app);
  await fund(walletDeps(app, config), user.id, 50_000);
  const r = await Promise.all(Array.from({ length: 20 }, () => wallet.hold(user.id, 12_000, `dup:${user.id}`)));
  t.equal(r.filter((x) => !x.replayed).length, 1, 'one real hold, 19 replays');
  t.equal(new Set(r.map((x) => x.transactionId)).size, 1, 'all answer with the same ledger transaction');
  t.same(await wallet.balances(user.id), { available: 38_000, held: 12_000, escrow: 0, pendingWithdrawal: 0 });
});
