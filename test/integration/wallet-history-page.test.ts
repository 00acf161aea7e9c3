import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { makeUser, walletDeps, fund } from '../helpers/wallet.js';
import { walletApi } from '../../src/modules/wallet/index.js';

const unescape = (s: string) => s.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
const balancesOf = (body: string) =>
  [...body.matchAll(/data-testid="running-balance">[^<]*?([\d,]+)원/g)].map((m) => Number(m[1].replace(/,/g, '')));

t.test('wallet page: balances, history with running balance, filters and keyset pages', async (t) => {
  const { app, config } = await startApp(t);
  const user = await makeUser(app);
  const w = walletApi(app.db);
  await fund(walletDeps(app, config), user.id, 100_000);
  for (let i = 0; i < 24; i++) await w.hold(user.id, 1_000, `h-${user.id}-${i}`);
  for (let i = 0; i < 5; i++) await w.releaseHold(`h-${user.id}-${i}`);
  await w.moveHoldToEscrow(`h-${user.id}-5`, 1_900_000_000 + (user.id % 100_000_000));
  const c = new Client(app);
  await c.login(user.email, 'wallet test password');

  const page = await c.get('/wallet');
  t.equal(page.statusCode, 200);
  t.match(page.body, /data-testid="balance-available">81,000원/);
  t.match(page.body, /data-testid="balance-held">18,000원/);
  t.match(page.body, /data-testid="balance-escrow">1,000원/);
  t.match(page.body, 'href="/wallet"', 'linked from the header');
  const rows = (page.body.match(/data-testid="history-row"/g) ?? []).length;
  t.equal(rows, 20, 'first page of 20');
  const running = balancesOf(page.body);
  t.equal(running[0], 81_000, 'newest row shows the current available balance');
  t.equal(running[1], 81_000, 'the escrow move (from held) leaves available unchanged');
  t.equal(running[2], 80_000, 'before the last release it was 1,000 less');

  const more = unescape(/href="(\/wallet\?before(?:=|&#x3D;)\d+)"/.exec(page.body)![1]);
  const second = await c.get(more, { 'hx-request': 'true', 'hx-target': 'wallet-more' });
  t.match(second.body, /^\s*<li/, 'htmx gets only the next rows');
  const next = (second.body.match(/data-testid="history-row"/g) ?? []).length;
  const thirdMatch = /hx-get="(\/wallet\?before(?:=|&#x3D;)\d+)"/.exec(second.body);
  const third = thirdMatch ? [thirdMatch[0], unescape(thirdMatch[1])] : null;
  const rest = third
    ? (
        (await c.get(third[1], { 'hx-request': 'true', 'hx-target': 'wallet-more' })).body.match(
          /data-testid="history-row"/g,
        ) ?? []
      ).length
    : 0;
  t.equal(
    20 + next + rest,
    31,
    'every movement exactly once across pages (1 top-up + 24 holds + 5 releases + 1 escrow)',
  );
  const last = balancesOf(
    third ? (await c.get(third[1], { 'hx-request': 'true', 'hx-target': 'wallet-more' })).body : second.body,
  ).at(-1);
  t.equal(last, 100_000, 'the oldest row is the top-up');

  const onlyReleases = await c.get('/wallet?kind=RELEASE');
  t.equal((onlyReleases.body.match(/data-testid="history-row"/g) ?? []).length, 5, 'kind filter');
  t.match(onlyReleases.body, /<option value="RELEASE" selected>/, 'the filter is kept');
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
  const tooEarly = await c.get('/wallet?from=2001-01-01&to=2001-12-31');
  t.match(tooEarly.body, '아직 내역이 없어요', 'a date range without movements');
  const todayOnly = await c.get(`/wallet?from=${today}&to=${today}&kind=TOPUP`);
  t.equal((todayOnly.body.match(/data-testid="history-row"/g) ?? []).length, 1, 'today includes the top-up');
  t.equal((await c.get('/wallet?from=yesterday')).statusCode, 400, 'a malformed date is refused');
  const en = await c.get('/wallet?lang=en');
  t.match(en.body, 'My points');
  t.match(en.body, '₩81,000');
});
