/**
 * The my-page hub (/my): counts for a user with live bids (one leading, one outbid), a win by
 * bid and a win by buy-now, a watch and a listing, each linking to the page that lists them; and
 * "my purchases" (the 낙찰 tab) lists the buy-now win, which has no bid maximum on file.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';

const hx = { 'hx-request': 'true' };

t.test('the hub counts bids, wins (by bid and buy-now), watches and listings', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const [me, rival] = await Promise.all([user(app, config, 500_000), user(app, config, 500_000)]);
  const c = await loggedIn(app, me.email);
  const r = await loggedIn(app, rival.email);

  // The timed one first, bid at once: it closes by its job a few seconds later.
  const wonByBid = await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    endsInMs: 8_000,
    title: '입찰로 낙찰',
  });
  t.equal((await bid(c, wonByBid, 12_000)).statusCode, 200);
  const leading = await auction(app, { sellerId: seller.id, startPrice: 10_000, title: '최고 입찰 중인 상품' });
  const outbid = await auction(app, { sellerId: seller.id, startPrice: 10_000, title: '추월당한 상품' });
  const wonByBuyNow = await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    buyNowPrice: 40_000,
    title: '즉시 구매로 낙찰',
  });
  const watched = await auction(app, { sellerId: seller.id, startPrice: 10_000, title: '관심 상품' });
  // My own listing (one live): the 판매 side.
  await auction(app, { sellerId: me.id, startPrice: 5_000, title: '내가 파는 상품' });

  t.equal((await bid(c, leading, 20_000)).statusCode, 200);
  t.equal((await bid(c, outbid, 15_000)).statusCode, 200);
  t.equal((await bid(r, outbid, 30_000)).statusCode, 200);
  await c.get(`/items/${wonByBuyNow}`);
  t.equal((await c.post(`/items/${wonByBuyNow}/buy-now`, {}, hx)).statusCode, 200);
  await c.get(`/items/${watched}`);
  t.equal((await c.post(`/items/${watched}/watch`, { watch: '1' }, hx)).statusCode, 200);
  t.ok(
    await waitFor(
      async () => (await app.db.auction.findUniqueOrThrow({ where: { id: wonByBid } })).status === 'ENDED',
      30_000,
    ),
    'the timed auction closed (by its job)',
  );
  const buyNowRow = await app.db.auction.findUniqueOrThrow({ where: { id: wonByBuyNow } });
  t.equal(buyNowRow.winnerId, me.id, 'bought now');
  t.equal(
    await app.db.proxyBid.count({ where: { auctionId: wonByBuyNow, bidderId: me.id } }),
    0,
    'a buy-now leaves no bid maximum (why a list built from them missed it)',
  );

  // orders (a durable consumer of auction.closed) makes an order of each win and moves its hold to escrow.
  t.ok(
    await waitFor(async () => (await app.db.order.count({ where: { buyerId: me.id } })) === 2, 30_000),
    'an order for each win',
  );
  const hub = await c.get('/my');
  t.equal(hub.statusCode, 200);
  const count = (testid: string) =>
    new RegExp(`data-testid="${testid}"[^>]*>[\\s\\S]*?<strong class="hub-count">(\\d+)</strong>`).exec(hub.body)?.[1];
  t.equal(count('hub-bidding'), '2', '입찰 중: two live auctions with my maximum');
  t.match(hub.body, '최고 1 · 추월 1', 'one leading, one outbid');
  t.equal(count('hub-won'), '2', '낙찰: the win by bid and the win by buy-now');
  t.equal(count('hub-purchases'), '2', '구매 내역: the two orders');
  t.equal(count('hub-selling'), '1', '판매 중: my one live listing');
  t.equal(count('hub-sold'), '0');
  t.equal(count('hub-watching'), '1', '관심: one watch');
  t.match(hub.body, 'href="/my/bids"');
  t.match(hub.body, 'href="/my/bids?filter=won"');
  t.match(hub.body, 'href="/my/watchlist"');
  t.match(hub.body, 'href="/my/listings"');
  t.match(hub.body, 'href="/wallet"');
  t.match(hub.body, 'href="/me"');
  // Held: my leading maximum (20,000); the timed win (10,000) and the buy-now (40,000) are in their orders' escrow.
  t.match(hub.body, /data-testid="hub-held">20,000원</, 'points held for bids');
  t.match(hub.body, /data-testid="hub-escrow">50,000원</, 'points in escrow for the two orders');
  t.match(hub.body, 'data-testid="hub-orders"', 'the orders section with next actions');
  t.match(hub.body, '주소를 입력해 주세요', 'the next action of each new order');
  t.match(hub.body, 'data-testid="header-mypage"', 'the header links to the hub');

  const won = await c.get('/my/bids?filter=won');
  t.match(won.body, '입찰로 낙찰', '낙찰 lists the win by bid');
  t.match(won.body, '즉시 구매로 낙찰', 'and the win by buy-now');
  t.notMatch(won.body, '최고 입찰 중인 상품');
  const all = await c.get('/my/bids');
  t.match(all.body, '즉시 구매로 낙찰', '"all" lists the buy-now win too');
  t.equal((all.body.match(/class="card row bid-row"/g) ?? []).length, 4, 'four auctions, each once');
  const lost = await r.get('/my/bids?filter=lost');
  t.notMatch(lost.body, '추월당한 상품', "the rival's live lead is not a loss");

  // The seller's hub: the sold listings once they closed (the buy-now and the timed win).
  const s = await loggedIn(app, seller.email);
  const sh = await s.get('/my');
  t.match(sh.body, /data-testid="hub-sold"[\s\S]*?<strong class="hub-count">2<\/strong>/, '판매 완료: 2');
  t.match(sh.body, /data-testid="hub-selling"[\s\S]*?<strong class="hub-count">3<\/strong>/, '판매 중: 3');

  // Logged out: to the login form, back to /my after.
  const anon = await new Client(app).get('/my');
  t.equal(anon.statusCode, 303);
  t.equal(anon.headers.location, '/login?next=%2Fmy');
  const en = await c.get('/my?lang=en');
  t.match(en.body, 'My page');
});
