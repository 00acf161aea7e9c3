/** Bids through the real HTTP forms: proxy rule, holds moving with the lead, every refusal with a clear message and no change. */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, bid, balances } from '../helpers/auction.js';

t.test('proxy bidding through the form, with holds following the lead', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const [a, b, c] = await Promise.all([
    user(app, config, 200_000),
    user(app, config, 200_000),
    user(app, config, 200_000),
  ]);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const ca = await loggedIn(app, a.email);
  const cb = await loggedIn(app, b.email);
  const cc = await loggedIn(app, c.email);

  let res = await bid(ca, id, 50_000);
  t.equal(res.statusCode, 200);
  t.match(res.body, '최대 50,000원까지 자동 입찰을 설정했어요.');
  t.match(res.body, /data-testid="current-price">10,000원/, 'a lone bidder pays the start price');
  t.match(res.body, '현재 최고 입찰자예요!');
  t.same(await balances(app, a.id), { available: 150_000, held: 50_000 }, "the hold covers A's maximum");

  res = await bid(cb, id, 30_000);
  t.match(res.body, /다른 분의 자동 입찰가가 더 높아요. 현재가 31,000원/, "B is beaten by A's proxy at once");
  t.match(res.body, /data-testid="current-price">31,000원/);
  t.same(await balances(app, b.id), { available: 200_000, held: 0 }, "B's points are not held");

  res = await bid(cc, id, '80,000원');
  t.match(res.body, /data-testid="current-price">51,000원/, "C leads at A's max + one increment");
  t.same(await balances(app, a.id), { available: 200_000, held: 0 }, "outbid A's hold released at once");
  t.same(await balances(app, c.id), { available: 120_000, held: 80_000 });

  await cc.get(`/items/${id}/bid-panel`);
  const quick = await cc.post(`/items/${id}/bids`, { amount: '52000', quick: '1' }, { 'hx-request': 'true' });
  t.equal(quick.statusCode, 422, "the leader's one-click bid is refused");
  t.match(quick.body, '이미 최고 입찰자예요.');
  const a1 = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(a1.leaderId, c.id);
  t.equal(a1.bidCount, 4, 'A, B, the proxy answer for A, C');
  const listing = await app.db.listing.findUniqueOrThrow({ where: { id } });
  t.equal(listing.currentPrice, 51_000, "the catalog's copy moved in the same transaction");
  t.equal(listing.bidCount, 4);

  const page = await ca.get(`/items/${id}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'id="auction-' + id + '"', 'the item page shows the bid area');
  t.match(page.body, '다른 사람이 더 높게 입찰했어요.', 'A sees they were outbid');
  // Other listings' prices (시세, similar auctions: other tests' auctions in this database) are not this auction's.
  const own = page.body
    .replace(/<section class="sise card"[\s\S]*?<\/section>/, '')
    .replace(/<section class="item-row"[\s\S]*?<\/section>/g, '');
  t.notMatch(own, '80,000', "nobody sees C's maximum");
  t.match(page.body, /class="who">[^<]\*\*\*[^<]/, 'history shows masked nicknames');

  const mine = await cc.get('/my/bids');
  t.match(mine.body, '최고 입찰 중');
  const aBids = await ca.get('/my/bids?filter=outbid');
  t.match(aBids.body, listing.title);
});

t.test('every refusal explains itself and changes nothing', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config, 100_000);
  const poor = await user(app, config, 5_000);
  const rich = await user(app, config, 5_000_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const scheduled = await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    startsInMs: 3_600_000,
    endsInMs: 7_200_000,
  });
  const cs = await loggedIn(app, seller.email);
  const cp = await loggedIn(app, poor.email);
  const cr = await loggedIn(app, rich.email);
  // Only these auctions: other test files write bids to the same database at the same time.
  const mine = { auctionId: { in: [id, scheduled] } };
  const before = await app.db.bid.count({ where: mine });

  const cases: [typeof cr, number, string, RegExp][] = [
    [cr, id, '9500', /최소 입찰가는 10,000원이에요./],
    [cs, id, '20000', /내 상품에는 입찰할 수 없어요./],
    [cp, id, '10000', /포인트가 부족해요./],
    [cr, id, 'abc', /입찰 금액은 1원 단위의 정수로 입력해 주세요./],
    [cr, id, '10000.5', /입찰 금액은 1원 단위의 정수로/],
    [cr, id, '-10000', /입찰 금액은 1원 단위의 정수로/],
    [cr, id, '', /입찰 금액은 1원 단위의 정수로/],
    [cr, id, '99999999999', /입찰 금액이 너무 커요/],
    [cr, scheduled, '10000', /아직 시작하지 않은 경매예요./],
  ];
  for (const [client, auctionId, amount, re] of cases) {
    const res = await bid(client, auctionId, amount);
    t.equal(res.statusCode, 422, `${amount}: 422`);
    t.match(res.body, re, `${amount}: message`);
  }
  t.equal(await app.db.bid.count({ where: mine }), before, 'no bid stored');
  t.same(await balances(app, poor.id), { available: 5_000, held: 0 }, 'no hold left behind');
  const res = await cr.post(`/items/999999/bids`, { amount: '10000' }, { 'hx-request': 'true' });
  t.equal(res.statusCode, 404, 'unknown auction');

  // Plain form post (no JavaScript): redirect back to the item with the message.
  await cr.get(`/items/${id}`);
  const plain = await cr.post(`/items/${id}/bids`, { amount: '9000' });
  t.equal(plain.statusCode, 303);
  t.equal(plain.headers.location, `/items/${id}#bid-panel-${id}`);
  t.match((await cr.get(`/items/${id}`)).body, '최소 입찰가는 10,000원이에요.');
  const bidsBefore = await app.db.bid.count({ where: { auctionId: id } });
  const anon = await (
    await import('../helpers/app.js')
  ).Client.prototype.post.call(new (await import('../helpers/app.js')).Client(app), `/items/${id}/bids`, {
    amount: '10000',
  });
  // A login is required here: a logged-out post (no session, no token) goes to the login form, nothing changes.
  t.equal(anon.statusCode, 303, 'no session, no CSRF token: sent to log in');
  t.match(String(anon.headers.location), /^\/login\?next=/);
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), bidsBefore, 'no bid from it');
});

t.test('a replayed form places one bid', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const a = await user(app, config, 100_000);
  const id = await auction(app, { sellerId: seller.id });
  const ca = await loggedIn(app, a.email);
  await ca.get(`/items/${id}/bid-panel`);
  const key = 'form-key-123';
  const results = await Promise.all(
    [1, 2, 3].map(() => ca.post(`/items/${id}/bids`, { amount: '20000', requestKey: key }, { 'hx-request': 'true' })),
  );
  t.same(
    results.map((r) => r.statusCode),
    [200, 200, 200],
  );
  t.equal(
    results.filter((r) => r.body.includes('이미 처리된 입찰이에요.')).length,
    2,
    'two were told it was already placed',
  );
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 1);
  t.same(await balances(app, a.id), { available: 80_000, held: 20_000 });
});

t.test("buy-now ends the auction at once and returns the leader's hold", async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 500_000), user(app, config, 500_000)]);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: 300_000 });
  const ca = await loggedIn(app, a.email);
  const cb = await loggedIn(app, b.email);
  await bid(ca, id, 100_000);
  t.equal((await balances(app, a.id)).held, 100_000);
  await cb.get(`/items/${id}/bid-panel`);
  const res = await cb.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  t.equal(res.statusCode, 200);
  t.match(res.body, '즉시 구매했어요!');
  const row = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(row.status, 'ENDED');
  t.equal(row.outcome, 'SOLD');
  t.equal(row.winnerId, b.id);
  t.equal(row.finalPrice, 300_000);
  t.same(await balances(app, a.id), { available: 500_000, held: 0 }, "A's hold released");
  t.same(await balances(app, b.id), { available: 200_000, held: 300_000 }, 'B holds exactly the price');
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).status, 'ENDED_SOLD');
  const late = await bid(ca, id, 400_000);
  t.match(late.body, '경매가 종료되었어요.');
  const again = await cb.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  t.equal(again.statusCode, 422);
});

t.test('watch and unwatch from the item page and from cards; the watchlist lists them', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const a = await user(app, config, 10_000);
  const id = await auction(app, { sellerId: seller.id, title: `관심 테스트 ${Date.now()}` });
  const ca = await loggedIn(app, a.email);
  const home = await ca.get('/');
  t.match(home.body, `action="/items/${id}/watch"`, 'cards carry a watch button for a logged-in shopper');
  const res = await ca.post(`/items/${id}/watch`, { watch: '1', compact: '1' }, { 'hx-request': 'true' });
  t.equal(res.statusCode, 200);
  t.match(res.body, 'aria-pressed="true"');
  t.match((await ca.get('/my/watchlist')).body, '관심 테스트');
  const page = await ca.get(`/items/${id}`);
  t.match(page.body, /aria-pressed="true"[^>]*>♥ 관심 상품/, 'the item page knows it is watched');
  await ca.post(`/items/${id}/watch`, { watch: '0' });
  t.match((await ca.get('/my/watchlist')).body, '관심 상품이 없어요.');
  t.equal((await ca.post(`/items/987654/watch`, { watch: '1' }, { 'hx-request': 'true' })).statusCode, 404);
});
