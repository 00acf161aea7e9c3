import t from 'tap';
import type { App } from '../../src/app.js';
import { startApp, Client } from '../helpers/app.js';
import { makeUser, OK_CARD, walletDeps, ledgerViolations } from '../helpers/wallet.js';
import { walletApi, createTestCardGateway, type PaymentGateway } from '../../src/modules/wallet/index.js';
import { topUp } from '../../src/modules/wallet/service.js';

async function loggedIn(app: App) {
  const user = await makeUser(app);
  const c = new Client(app);
  await c.login(user.email, 'wallet test password');
  return { user, c };
}
const keyOf = (body: string) => /name="key" value="([^"]+)"/.exec(body)![1];
const txCount = (app: any, userId: number) => app.db.ledgerTransaction.count({ where: { userId } });

t.test('a double-submitted top-up form credits once', async (t) => {
  const { app } = await startApp(t);
  const { user, c } = await loggedIn(app);
  const form = await c.get('/wallet/topup');
  const key = keyOf(form.body);
  const first = await c.post('/wallet/topup', { amount: '30,000', cardNumber: OK_CARD, key });
  t.equal(first.statusCode, 303);
  const second = await c.post('/wallet/topup', { amount: '30000', cardNumber: OK_CARD, key });
  t.equal(second.statusCode, 303, 'the replay is answered as done');
  const page = await c.get('/wallet');
  t.match(page.body, '이미 처리된 충전이에요', 'and the user is told it was already done');
  const both = await Promise.all(
    [1, 2, 3].map(async () => c.post('/wallet/topup', { amount: '30000', cardNumber: OK_CARD, key })),
  );
  t.ok(both.every((r) => r.statusCode === 303));
  t.same(
    await walletApi(app.db).balances(user.id),
    { available: 30_000, held: 0, escrow: 0, pendingWithdrawal: 0 },
    'credited exactly once',
  );
  t.equal(await txCount(app, user.id), 1);

  // Two tabs racing with one fresh key: still once.
  const key2 = keyOf((await c.get('/wallet/topup')).body);
  const race = await Promise.all(
    Array.from({ length: 5 }, () => c.post('/wallet/topup', { amount: '5000', cardNumber: OK_CARD, key: key2 })),
  );
  t.ok(
    race.every((r) => r.statusCode === 303),
    'every racing submit ends on the wallet',
  );
  t.equal((await walletApi(app.db).balances(user.id)).available, 35_000);
});

t.test('a replayed key with another amount is refused and changes nothing', async (t) => {
  const { app } = await startApp(t);
  const { user, c } = await loggedIn(app);
  const key = keyOf((await c.get('/wallet/topup')).body);
  t.equal((await c.post('/wallet/topup', { amount: '10000', cardNumber: OK_CARD, key })).statusCode, 303);
  const before = await txCount(app, user.id);
  const res = await c.post('/wallet/topup', { amount: '90000', cardNumber: OK_CARD, key });
  t.equal(res.statusCode, 409);
  t.match(res.body, '이 충전 요청은 이미 다른 금액으로 처리되었어요');
  t.match(res.body, 'value="90000"', 'the amount typed is kept');
  t.not(keyOf(res.body), key, 'the form carries a fresh key for a new top-up');
  t.equal(await txCount(app, user.id), before, 'no ledger change');
  t.equal((await walletApi(app.db).balances(user.id)).available, 10_000);
});

t.test('a crash between gateway success and posting: the retry completes it exactly once', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const { user, c } = await loggedIn(app);
  const real = createTestCardGateway({ redis: app.redis, prefix: config.redisPrefix });
  // The card is charged at the gateway, then the process "dies" before the ledger posting.
  const crashing: PaymentGateway = {
    ...real,
    charge: async (req) => {
      await real.charge(req);
      throw new Error('process killed');
    },
  };
  const key = keyOf((await c.get('/wallet/topup')).body);
  await t.rejects(
    topUp({ ...deps, gateway: crashing }, { userId: user.id, amount: 25_000, key, cardNumber: OK_CARD }),
    /process killed/,
  );
  t.equal(
    (await app.db.topupAttempt.findUnique({ where: { key } }))!.status,
    'PENDING',
    'the attempt was recorded before the charge',
  );
  t.equal((await walletApi(app.db).balances(user.id)).available, 0, 'charged but not yet credited');
  t.ok(await real.status(key), 'the gateway has the payment');
  // The user presses the button again (same form, same key) on the restarted app.
  const retry = await c.post('/wallet/topup', { amount: '25000', cardNumber: OK_CARD, key });
  t.equal(retry.statusCode, 303);
  const again = await c.post('/wallet/topup', { amount: '25000', cardNumber: OK_CARD, key });
  t.equal(again.statusCode, 303);
  t.equal((await walletApi(app.db).balances(user.id)).available, 25_000, 'credited exactly once');
  t.equal((await app.db.topupAttempt.findUnique({ where: { key } }))!.status, 'SUCCEEDED');
  t.same(await ledgerViolations(app), []);
});

t.test('gateway timeout: nothing credited, clear message, the retry with the same key credits once', async (t) => {
  const { app } = await startApp(t);
  const { user, c } = await loggedIn(app);
  const key = keyOf((await c.get('/wallet/topup')).body);
  const res = await c.post('/wallet/topup', { amount: '40000', cardNumber: '4000 0000 0000 0119', key });
  t.equal(res.statusCode, 422);
  t.match(res.body, '카드사 응답이 늦어지고 있어요');
  t.equal(keyOf(res.body), key, 'same key kept so the retry asks instead of charging again');
  t.equal((await walletApi(app.db).balances(user.id)).available, 0, 'no credit yet');
  const retry = await c.post('/wallet/topup', { amount: '40000', cardNumber: '4000 0000 0000 0119', key });
  t.equal(retry.statusCode, 303);
  t.equal((await walletApi(app.db).balances(user.id)).available, 40_000);
});

t.test('declined cards: no credit, the reason shown, a new attempt possible', async (t) => {
  const { app } = await startApp(t);
  const { user, c } = await loggedIn(app);
  const key = keyOf((await c.get('/wallet/topup')).body);
  const declined = await c.post('/wallet/topup', { amount: '20000', cardNumber: '4000000000000002', key });
  t.equal(declined.statusCode, 422);
  t.match(declined.body, '카드사에서 결제를 거절했어요');
  const nsf = await c.post('/wallet/topup', {
    amount: '20000',
    cardNumber: '4000 0000 0000 9995',
    key: keyOf(declined.body),
  });
  t.match(nsf.body, '잔액(한도)이 부족해');
  t.equal(await txCount(app, user.id), 0, 'no ledger change');
  t.equal(
    (await c.post('/wallet/topup', { amount: '20000', cardNumber: OK_CARD, key: keyOf(nsf.body) })).statusCode,
    303,
    'another card works',
  );
  t.equal((await walletApi(app.db).balances(user.id)).available, 20_000);
});

t.test('API replays: release, escrow, payout and refund are idempotent; other terms are refused', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const w = walletApi(app.db);
  const buyer = await makeUser(app);
  const seller = await makeUser(app);
  await topUp(deps, { userId: buyer.id, amount: 100_000, key: `k-${buyer.id}-000000000000`, cardNumber: OK_CARD });
  await w.hold(buyer.id, 60_000, `bid-${buyer.id}`);
  await t.rejects(w.hold(buyer.id, 50_000, `bid-${buyer.id}`), { code: 'IDEMPOTENCY_MISMATCH' });
  const order = 1_500_000_000 + (buyer.id % 500_000_000);
  const e1 = await w.moveHoldToEscrow(`bid-${buyer.id}`, order, 55_000);
  t.same(await w.moveHoldToEscrow(`bid-${buyer.id}`, order, 55_000), { ...e1, replayed: true });
  await t.rejects(w.moveHoldToEscrow(`bid-${buyer.id}`, order + 1, 55_000), { code: 'IDEMPOTENCY_MISMATCH' });
  await t.rejects(w.releaseHold(`bid-${buyer.id}`), { code: 'HOLD_NOT_ACTIVE' });
  t.same(
    await w.balances(buyer.id),
    { available: 45_000, held: 0, escrow: 55_000, pendingWithdrawal: 0 },
    'the rest of the hold came back',
  );
  const p1 = await w.releaseEscrowToSeller(order, seller.id, 2_750);
  t.same(await w.releaseEscrowToSeller(order, seller.id, 2_750), { ...p1, replayed: true });
  await t.rejects(w.releaseEscrowToSeller(order, seller.id, 0), { code: 'IDEMPOTENCY_MISMATCH' });
  await t.rejects(w.refundEscrow(order), { code: 'ESCROW_SETTLED' });
  t.equal((await w.balances(seller.id)).available, 52_250);
  t.equal((await w.balances(buyer.id)).escrow, 0);

  await w.hold(buyer.id, 10_000, `bid2-${buyer.id}`);
  const r1 = await w.releaseHold(`bid2-${buyer.id}`);
  t.same(await w.releaseHold(`bid2-${buyer.id}`), { ...r1, replayed: true });
  await t.rejects(w.releaseHold('no-such-hold'), { code: 'HOLD_NOT_FOUND' });
  await w.hold(buyer.id, 5_000, `bid3-${buyer.id}`);
  await w.moveHoldToEscrow(`bid3-${buyer.id}`, order + 7);
  const f1 = await w.refundEscrow(order + 7);
  t.same(await w.refundEscrow(order + 7), { ...f1, replayed: true });
  t.same(await w.balances(buyer.id), { available: 45_000, held: 0, escrow: 0, pendingWithdrawal: 0 });

  // withTx: the hold rolls back with the caller's transaction.
  await t.rejects(
    app.db.$transaction(async (tx) => {
      await w.withTx(tx).hold(buyer.id, 1_000, `atomic-${buyer.id}`);
      throw new Error('bid refused later in the same transaction');
    }),
  );
  t.equal(await w.findHold(`atomic-${buyer.id}`), null, 'no hold left behind');
  t.equal((await w.balances(buyer.id)).available, 45_000);
  t.same(await ledgerViolations(app), []);
});
