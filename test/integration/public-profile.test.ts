/**
 * The public profile /u/:id and the seller's trust on listing cards and the item page, on the real
 * app: one trade goes the whole way (buy-now, address, ship, confirm, settlement, both review),
 * more completed trades are stored as the orders module stores them, and the pages show the
 * numbers a test computes. Unknown and banned ids are 404; review text is escaped; the trust of a
 * whole page of cards is one SQL statement (counted at the pg driver), not one per card.
 */
import t from 'tap';
import pg from 'pg';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn, waitFor } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import type { App } from '../../src/app.js';

const PRICE = 30_000;

/** A completed trade with the buyer's review of the seller, as orders stores them (for counts and paging). */
async function storedTrade(app: App, sellerId: number, buyerId: number, stars: number, body: string) {
  const listingId = await auction(app, { sellerId, title: `지난 거래 ${uniq()}` });
  const [o] = await app.db.$queryRaw<{ id: number }[]>`
    INSERT INTO orders (source_key, auction_id, listing_id, buyer_id, seller_id, price, fee_bps, hold_ref, state, completed_at, fee, payout)
    VALUES (${`test:${uniq()}`}, ${listingId}, ${listingId}, ${buyerId}, ${sellerId}, ${PRICE}, 300, ${`test-${uniq()}`},
            'COMPLETED', now(), 900, ${PRICE - 900}) RETURNING id`;
  await app.db.$executeRaw`
    INSERT INTO order_reviews (order_id, author_id, subject_id, role, stars, tags, body)
    VALUES (${o.id}, ${buyerId}, ${sellerId}, 'buyer', ${stars}, ${['KIND']}::text[], ${body})`;
  return o.id;
}

/** Every SQL statement the app sends to PostgreSQL while fn runs (the pg driver's Client.query). */
async function statements(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const orig = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const q = a[0];
    seen.push(typeof q === 'string' ? q : String((q as { text?: string })?.text ?? ''));
    return orig.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.query = orig;
  }
  return seen;
}

t.test('a real trade, reviews both ways, the profile page and trust on cards', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const seller = await user(app, config, 0, 's');
  const buyer = await user(app, config, 100_000, 'k');

  // The whole way: buy-now -> address -> ship -> confirm -> COMPLETED -> both review.
  const title = `트러스트 ${uniq()}`;
  const sold = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: PRICE, title });
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${sold}/bid-panel`);
  t.ok((await bc.post(`/items/${sold}/buy-now`, {}, { 'hx-request': 'true' })).statusCode < 400, 'bought');
  let orderId = 0;
  t.ok(
    await waitFor(async () => {
      orderId = (await app.db.order.findFirst({ where: { auctionId: sold } }))?.id ?? 0;
      return orderId > 0;
    }, 15_000),
  );
  await bc.get(`/orders/${orderId}`);
  const addr = {
    mode: 'COURIER',
    recipient: '김다판',
    phone: '010-1234-5678',
    postalCode: '04524',
    roadAddress: '서울 중구 세종대로 110',
    detailAddress: '3층',
  };
  t.equal((await bc.post(`/orders/${orderId}/address`, addr)).statusCode, 303);
  const sc = await loggedIn(app, seller.email);
  await sc.get(`/orders/${orderId}`);
  t.equal(
    (await sc.post(`/orders/${orderId}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' }))
      .statusCode,
    303,
  );
  await bc.get(`/orders/${orderId}`);
  t.equal((await bc.post(`/orders/${orderId}/confirm`, {})).statusCode, 303);
  t.ok(
    await waitFor(
      async () => (await app.db.order.findUniqueOrThrow({ where: { id: orderId } })).state === 'COMPLETED',
      15_000,
    ),
  );
  await bc.get(`/orders/${orderId}`);
  const evil = '<script>alert("x")</script> 포장 최고';
  t.equal(
    (await bc.post(`/orders/${orderId}/review`, { stars: '4', tags: 'CAREFUL_PACKING', body: evil })).statusCode,
    303,
  );
  await sc.get(`/orders/${orderId}`);
  t.equal((await sc.post(`/orders/${orderId}/review`, { stars: '5', body: '입금이 빨라요' })).statusCode, 303);

  // 11 more completed sales for the seller (stars 5,4,5,... computed below), and one strike.
  const starsOf = (i: number) => (i % 3 === 0 ? 3 : 5);
  const more: number[] = [];
  for (let i = 0; i < 11; i++) more.push(await storedTrade(app, seller.id, buyer.id, starsOf(i), `후기 ${i}번`));
  await app.db
    .$executeRaw`INSERT INTO order_strikes (user_id, order_id, reason) VALUES (${seller.id}, ${more[0]}, 'NOT_SHIPPED')`;
  const all = [4, ...Array.from({ length: 11 }, (_, i) => starsOf(i))];
  const avg = Math.round((all.reduce((a, b) => a + b, 0) / all.length) * 10) / 10;

  // A live listing of the seller's (the only LIVE one: the others above are live too, so end them).
  await app.db.listing.updateMany({
    where: { sellerId: seller.id, id: { not: sold }, title: { startsWith: '지난 거래' } },
    data: { status: 'ENDED_SOLD' },
  });
  const liveTitle = `판매중 ${uniq()}`;
  // Ending first, so it is on the first page of its category and in the home page's "ending soon".
  const live = await auction(app, { sellerId: seller.id, title: liveTitle, endsInMs: 60_000 });

  const anon = new Client(app);
  const page = await anon.get(`/u/${seller.id}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, `data-testid="profile-nickname">${seller.nickname}<`);
  t.match(
    page.body,
    new RegExp(`data-testid="profile-rating"><span aria-hidden="true">★</span> ${avg}<`),
    `avg ${avg}`,
  );
  t.match(page.body, 'data-testid="profile-reviews">12<');
  t.match(page.body, 'data-testid="profile-sales">12<', 'completed sales');
  t.match(page.body, 'data-testid="profile-purchases">0<');
  t.match(page.body, 'data-testid="profile-strikes">1<');
  t.match(page.body, '최근 받은 후기');
  t.equal((page.body.match(/data-testid="profile-review"/g) ?? []).length, 10, 'the last 10 reviews');
  t.match(page.body, '후기 10번', 'newest first');
  t.notMatch(page.body, evil, 'review text is not raw HTML');
  t.notMatch(page.body, '<script>alert', 'nothing executable');
  t.match(page.body, /data-testid="profile-listings">[\s\S]*?\/items\/\d+/);
  t.match(page.body, `/items/${live}"`, 'the live listing');
  t.notMatch(page.body, `/items/${more[1]}"`, 'an ended one is not a live listing');

  // The older page carries the first two reviews (the real one, escaped, and 후기 0번).
  // (Handlebars writes `=` in attributes as &#x3D;, which a browser reads back as `=`.)
  const older = page.body.match(/href="(\/u\/\d+\?before(?:=|&#x3D;)\d+)" data-testid="profile-older"/);
  t.ok(older, 'a link to older reviews');
  const p2 = await anon.get(older![1].replace('&#x3D;', '='));
  t.equal(p2.statusCode, 200);
  t.equal((p2.body.match(/data-testid="profile-review"/g) ?? []).length, 2);
  t.match(p2.body, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 포장 최고', 'escaped');
  t.match(p2.body, '포장이 꼼꼼해요', 'tags in words');
  t.match(p2.body, title, "the trade's item");
  t.notMatch(p2.body, 'profile-older', 'no older page after the last');

  // The buyer's profile: one completed purchase (the stored ones were theirs too), the seller's review.
  const bp = await anon.get(`/u/${buyer.id}`);
  t.match(bp.body, 'data-testid="profile-purchases">12<');
  t.match(bp.body, 'data-testid="profile-sales">0<');
  t.match(bp.body, '입금이 빨라요');
  t.match(bp.body, '판매자 후기');

  // English.
  const en = await anon.get(`/u/${seller.id}?lang=en`);
  t.match(en.body, 'Completed sales');
  t.match(en.body, 'Recent reviews');

  // Unknown, banned, malformed.
  t.equal((await anon.get('/u/2147483000')).statusCode, 404, 'unknown id');
  t.equal((await anon.get('/u/abc')).statusCode, 400, 'not an id');
  t.equal((await anon.get('/u/0')).statusCode, 400);
  t.equal((await anon.get(`/u/${seller.id}?before=x`)).statusCode, 400);
  const banned = await user(app, config, 0, 'z');
  await app.db.user.update({ where: { id: banned.id }, data: { bannedAt: new Date() } });
  const bannedPage = await anon.get(`/u/${banned.id}`);
  t.equal(bannedPage.statusCode, 404, 'banned: 404');
  t.notMatch(bannedPage.body, banned.nickname);
  const suspended = await user(app, config, 0, 'y');
  await app.db.user.update({
    where: { id: suspended.id },
    data: { suspendedUntil: new Date(Date.now() + 86_400_000) },
  });
  t.equal((await anon.get(`/u/${suspended.id}`)).statusCode, 200, 'suspended: still shown');

  // Cards on search, category and home, and the item page: rating, count, completed sales, link.
  const trust = `href="/u/${seller.id}" data-testid="seller-trust" data-rating="${avg}" data-reviews="12" data-sales="12"`;
  const ko = new Client(app);
  const search = await ko.get(`/search?q=${encodeURIComponent(liveTitle)}`);
  t.match(search.body, trust, 'search card');
  t.match(search.body, `★</span><span class="sr-only">별점</span> ${avg}`);
  t.match(search.body, '판매 12건');
  const cat = await app.db.listing.findUniqueOrThrow({ where: { id: live }, include: { category: true } });
  t.match((await ko.get(`/c/${cat.category.slug}`)).body, trust, 'category card');
  t.match((await ko.get('/')).body, trust, 'home card');
  const item = await ko.get(`/items/${live}`);
  t.match(item.body, trust, 'item page');
  t.match(item.body, `<a href="/u/${seller.id}" data-testid="detail-seller">`);
  // A seller without trades: "no reviews yet" and 0 sold, still linked.
  const fresh = await user(app, config, 0, 'n');
  const freshItem = await auction(app, { sellerId: fresh.id, title: `새 판매자 ${uniq()}` });
  const fi = await ko.get(`/items/${freshItem}`);
  t.match(fi.body, `href="/u/${fresh.id}" data-testid="seller-trust" data-rating="" data-reviews="0" data-sales="0"`);
  t.match(fi.body, '후기 없음');
});

t.test('trust on a page of cards is one statement, however many sellers', async (t) => {
  const { app, config } = await startApp(t);
  const page = async (sellers: number) => {
    const tag = uniq();
    for (let i = 0; i < sellers; i++) {
      const s = await user(app, config, 0, 'q');
      await auction(app, { sellerId: s.id, title: `배치 ${tag} ${sellers} ${i}` });
      await auction(app, { sellerId: s.id, title: `배치 ${tag} ${sellers} ${i}b` });
    }
    const c = new Client(app);
    let body = '';
    const sql = await statements(async () => {
      body = (await c.get(`/search?q=${encodeURIComponent(`배치 ${tag} ${sellers}`)}`)).body;
    });
    return { sql, cards: (body.match(/data-testid="seller-trust"/g) ?? []).length };
  };
  const small = await page(2);
  const big = await page(10);
  t.equal(small.cards, 4);
  t.equal(big.cards, 20);
  const trustSql = (s: string[]) => s.filter((q) => q.includes('order_reviews')).length;
  t.equal(trustSql(small.sql), 1, '4 cards of 2 sellers: one trust statement');
  t.equal(trustSql(big.sql), 1, '20 cards of 10 sellers: one trust statement');
  // Other statements (the search itself, its count, cover photos) do not depend on the cards either;
  // the total is not compared because background workers share the driver while the page renders.
  t.comment(`statements seen during /search: 4 cards ${small.sql.length}, 20 cards ${big.sql.length}`);

  // Home: three sections, one trust statement in all.
  const home = await statements(() => new Client(app).get('/'));
  t.equal(trustSql(home), 1, 'home: one trust statement for its three sections');
  t.comment(`statements for / : ${home.length}`);
});
