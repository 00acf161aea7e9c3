import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { makeUser, walletDeps, fund, ledgerViolations } from '../helpers/wallet.js';
import { walletApi } from '../../src/modules/wallet/index.js';

const keyOf = (body: string) => /name="key" value="([^"]+)"/.exec(body)![1];
const bank = { bankCode: '090', accountNumber: '3333-01-1234567', holderName: '김판다' };

t.test('withdrawal: minimum, fee, bank account kept, double submit once, admin marks paid', async (t) => {
  const { app, config } = await startApp(t, { WALLET_WITHDRAWAL_FEE: '700' });
  const user = await makeUser(app);
  const admin = await makeUser(app, 'ADMIN');
  await fund(walletDeps(app, config), user.id, 60_000);
  const w = walletApi(app.db);
  const c = new Client(app);
  await c.login(user.email, 'wallet test password');
  const page = await c.get('/wallet/withdraw');
  t.match(page.body, '출금 수수료 700원');

  const txs = () => app.db.ledgerTransaction.count({ where: { userId: user.id } });
  const before = await txs();
  const low = await c.post('/wallet/withdraw', { ...bank, amount: '9999', key: keyOf(page.body) });
  t.equal(low.statusCode, 422);
  t.match(low.body, '최소 10,000원부터');
  t.match(low.body, 'value="3333-01-1234567"', 'bank details kept');
  const badBank = await c.post('/wallet/withdraw', {
    bankCode: '999',
    accountNumber: '12ab',
    holderName: '',
    amount: '20000',
    key: keyOf(low.body),
  });
  t.match(badBank.body, '은행을 선택해 주세요');
  t.match(badBank.body, '계좌번호는 숫자와 - 로');
  t.match(badBank.body, '예금주를 입력해 주세요');
  const tooMuch = await c.post('/wallet/withdraw', { ...bank, amount: '59500', key: keyOf(low.body) });
  t.equal(tooMuch.statusCode, 422);
  t.match(tooMuch.body, '출금 가능 금액이 부족해요', 'amount + fee above available');
  t.equal(await txs(), before, 'refusals change nothing');

  const key = keyOf(tooMuch.body);
  const ok = await c.post('/wallet/withdraw', { ...bank, amount: '50,000', key });
  t.equal(ok.statusCode, 303);
  t.equal(
    (await c.post('/wallet/withdraw', { ...bank, amount: '50000', key })).statusCode,
    303,
    'double submit answered',
  );
  t.same(
    await w.balances(user.id),
    { available: 9_300, held: 0, escrow: 0, pendingWithdrawal: 50_700 },
    'amount + fee moved once',
  );
  t.equal(await app.db.walletPayout.count({ where: { userId: user.id } }), 1);
  const again = await c.get('/wallet/withdraw');
  t.match(again.body, 'value="3333-01-1234567"', 'the registered account is prefilled');
  t.match(again.body, '처리 중');

  // Admin only
  const payout = (await app.db.walletPayout.findFirst({ where: { userId: user.id } }))!;
  t.equal((await c.get('/admin/payouts')).statusCode, 403, 'a normal user cannot see the queue');
  t.equal((await c.post(`/admin/payouts/${payout.id}/paid`, {})).statusCode, 403);
  const a = new Client(app);
  await a.login(admin.email, 'wallet test password');
  const queue = await a.get('/admin/payouts');
  t.equal(queue.statusCode, 200);
  t.match(queue.body, '3333-01-1234567');
  t.equal((await a.post(`/admin/payouts/${payout.id}/paid`, {})).statusCode, 303);
  t.equal((await a.post(`/admin/payouts/${payout.id}/paid`, {})).statusCode, 303, 'marking twice is harmless');
  t.same(await w.balances(user.id), { available: 9_300, held: 0, escrow: 0, pendingWithdrawal: 0 });
  t.equal((await a.post(`/admin/payouts/${payout.id}/reject`, {})).statusCode, 409, 'a paid payout cannot be rejected');
  t.match((await c.get('/wallet/withdraw')).body, '입금 완료');
  t.same(await ledgerViolations(app), []);
});

t.test('a rejected withdrawal gives amount and fee back', async (t) => {
  const { app, config } = await startApp(t);
  const user = await makeUser(app);
  const admin = await makeUser(app, 'ADMIN');
  await fund(walletDeps(app, config), user.id, 30_000);
  const c = new Client(app);
  await c.login(user.email, 'wallet test password');
  t.equal(
    (await c.post('/wallet/withdraw', { ...bank, amount: '20000', key: keyOf((await c.get('/wallet/withdraw')).body) }))
      .statusCode,
    303,
  );
  t.same(
    await walletApi(app.db).balances(user.id),
    { available: 9_500, held: 0, escrow: 0, pendingWithdrawal: 20_500 },
    'default fee 500',
  );
  const payout = (await app.db.walletPayout.findFirst({ where: { userId: user.id } }))!;
  const a = new Client(app);
  await a.login(admin.email, 'wallet test password');
  await a.get('/admin/payouts');
  t.equal((await a.post(`/admin/payouts/${payout.id}/reject`, {})).statusCode, 303);
  t.same(await walletApi(app.db).balances(user.id), { available: 30_000, held: 0, escrow: 0, pendingWithdrawal: 0 });
  const kinds = (await app.db.ledgerTransaction.findMany({ where: { userId: user.id }, orderBy: { id: 'asc' } })).map(
    (x) => x.kind,
  );
  t.same(kinds, ['TOPUP', 'WITHDRAWAL', 'WITHDRAWAL_REVERSAL'], 'the correction is a new reversing transaction');
});
