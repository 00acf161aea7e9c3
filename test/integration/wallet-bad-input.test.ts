import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { makeUser, OK_CARD, walletDeps, fund } from '../helpers/wallet.js';
import { walletApi } from '../../src/modules/wallet/index.js';

const keyOf = (body: string) => /name="key" value="([^"]+)"/.exec(body)![1];

t.test('bad top-up amounts are refused with a clear message, the form kept, and no ledger change', async (t) => {
  const { app } = await startApp(t);
  const user = await makeUser(app);
  const c = new Client(app);
  await c.login(user.email, 'wallet test password');
  const ledgerRows = () => app.db.ledgerTransaction.count({ where: { userId: user.id } });
  const attempts = () => app.db.topupAttempt.count({ where: { userId: user.id } });
  const before = [await ledgerRows(), await attempts()];
  const cases: [string, string, RegExp, RegExp][] = [
    ['zero', '0', /0원보다 큰 금액을 입력해 주세요/, /Enter an amount above ₩0/],
    ['negative', '-5000', /0원보다 큰 금액을 입력해 주세요/, /above ₩0/],
    ['fractional', '1000.5', /1원 단위 정수로/, /whole number of won/],
    ['absurd', '10000001', /최대 10,000,000원까지/, /maximum is ₩10,000,000/],
    ['huge', '99999999999999999999999', /최대 10,000,000원까지/, /maximum/],
    ['non-numeric', '만원', /숫자로 입력해 주세요/, /as a number/],
    ['exponent', '1e5', /숫자로 입력해 주세요/, /as a number/],
    ['empty', '', /금액을 입력해 주세요/, /Enter an amount/],
    ['below minimum', '999', /최소 1,000원부터/, /minimum is ₩1,000/],
  ];
  for (const [name, amount, ko, en] of cases) {
    await c.get('/wallet/topup?lang=ko');
    const res = await c.post('/wallet/topup', {
      amount,
      cardNumber: OK_CARD,
      key: keyOf((await c.get('/wallet/topup')).body),
    });
    t.equal(res.statusCode, 422, `${name}: 422`);
    t.match(res.body, ko, `${name}: Korean message`);
    t.match(res.body, `value="${amount.replace(/"/g, '&quot;')}"`, `${name}: value kept`);
    await c.get('/wallet/topup?lang=en');
    const hx = await c.post(
      '/wallet/topup',
      { amount, cardNumber: OK_CARD, key: keyOf((await c.get('/wallet/topup')).body) },
      { 'hx-request': 'true' },
    );
    t.equal(hx.statusCode, 422);
    t.match(hx.body, /^<form/, `${name}: htmx gets the form only`);
    t.match(hx.body, en, `${name}: English message`);
  }
  await c.get('/wallet/topup?lang=ko');
  const card = await c.post('/wallet/topup', {
    amount: '5000',
    cardNumber: '4242 4242 4242 4241',
    key: keyOf((await c.get('/wallet/topup')).body),
  });
  t.equal(card.statusCode, 422);
  t.match(card.body, '카드 번호를 다시 확인해 주세요');
  t.same([await ledgerRows(), await attempts()], before, 'no posting and no attempt for any bad input');
  t.equal((await walletApi(app.db).balances(user.id)).available, 0);
  const ok = await c.post('/wallet/topup', {
    amount: '1,000원',
    cardNumber: OK_CARD,
    key: keyOf((await c.get('/wallet/topup')).body),
  });
  t.equal(ok.statusCode, 303, '"1,000원" is read as 1000');
});

t.test('bad API amounts and references are refused before touching the ledger', async (t) => {
  const { app, config } = await startApp(t);
  const user = await makeUser(app);
  await fund(walletDeps(app, config), user.id, 10_000);
  const w = walletApi(app.db);
  const txs = () => app.db.ledgerTransaction.count({ where: { userId: user.id } });
  const before = await txs();
  for (const amount of [0, -1, 1.5, Number.NaN, Infinity, 3_000_000_000, '100' as unknown as number]) {
    await t.rejects(
      w.hold(user.id, amount, `bad-${user.id}-${String(amount)}`),
      { code: 'INVALID_AMOUNT' },
      `hold(${String(amount)}) refused`,
    );
  }
  await t.rejects(w.hold(user.id, 100, ''), { code: 'INVALID_REFERENCE' });
  await t.rejects(w.hold(user.id, 20_000, `big-${user.id}`), { code: 'INSUFFICIENT_FUNDS' });
  t.equal(await txs(), before, 'no ledger change');
  t.same(await w.balances(user.id), { available: 10_000, held: 0, escrow: 0, pendingWithdrawal: 0 });
});

t.test('the wallet pages need a login', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  for (const url of ['/wallet', '/wallet/topup', '/wallet/withdraw']) {
    const res = await c.get(url);
    t.equal(res.statusCode, 303, url);
    t.match(String(res.headers.location), /^\/login\?next=/);
  }
});
