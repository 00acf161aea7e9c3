/** Search: Korean and English substrings, typos, filters, sorts, keyset pages, htmx fragments and shareable URLs. */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import type { App } from '../../src/app.js';

async function fixture(app: App) {
  const u = uniq();
  const seller = await createUserDirect(app.db, {
    email: `srch${u}@example.com`,
    nickname: `srch${u}`,
    password: 'x'.repeat(12),
  });
  const cat = async (slug: string) => (await app.db.category.findUniqueOrThrow({ where: { slug } })).id;
  const now = Date.now();
  const mk = async (
    title: string,
    o: Partial<{
      slug: string;
      price: number;
      bids: number;
      hoursLeft: number;
      status: 'LIVE' | 'ENDED_SOLD' | 'SCHEDULED';
      condition: 'NEW' | 'GOOD';
      description: string;
    }> = {},
  ) => {
    const l = await app.db.listing.create({
      data: {
        sellerId: seller.id,
        title,
        description: o.description ?? `${title} 설명`,
        categoryId: await cat(o.slug ?? 'phones'),
        condition: o.condition ?? 'GOOD',
        startPrice: o.price ?? 10000,
        currentPrice: o.price ?? 10000,
        bidCount: o.bids ?? 0,
        startsAt: new Date(now - 3600_000 + Math.min(0, (o.hoursLeft ?? 48) * 3600_000)),
        endsAt: new Date(now + (o.hoursLeft ?? 48) * 3600_000),
        durationDays: 3,
        status: o.status ?? 'LIVE',
      },
    });
    return l.id;
  };
  return { u, seller, mk };
}

const ids = (html: string) =>
  [...html.matchAll(/<li class="lcard[^"]*" data-testid="listing-card">\s*<a href="\/items\/(\d+)">/g)].map((m) =>
    Number(m[1]),
  );

t.test('Korean and English substring search, case-insensitive, typo-tolerant, ranked', async (t) => {
  const { app } = await startApp(t);
  const { u, mk } = await fixture(app);
  const iphone = await mk(`아이폰 13 미니 팝니다 ${u}`);
  const mac = await mk(`MacBook Air M2 ${u}`, { slug: 'laptops' });
  const inDesc = await mk(`노트북 정리 ${u}`, {
    slug: 'laptops',
    description: '맥북 에어랑 같이 쓰던 macbook 파우치 포함',
  });
  const unrelated = await mk(`캠핑 의자 ${u}`, { slug: 'camping' });
  const c = new Client(app);
  const ko = ids((await c.get(`/search?q=${encodeURIComponent('아이폰')}`)).body);
  t.ok(ko.includes(iphone), '"아이폰" finds "아이폰 13 미니 팝니다"');
  t.notOk(ko.includes(unrelated));
  const en = ids((await c.get('/search?q=macbook')).body);
  t.ok(en.includes(mac), '"macbook" finds "MacBook Air"');
  t.ok(en.includes(inDesc), 'and a listing that mentions it in the description');
  t.ok(en.indexOf(mac) < en.indexOf(inDesc), 'a title match ranks above a description match');
  const typo = ids((await c.get('/search?q=macbok')).body);
  t.ok(typo.includes(mac), 'a typo ("macbok") still finds MacBook');
  const two = ids((await c.get(`/search?q=${encodeURIComponent(`미니 팝니다 ${u}`)}`)).body);
  t.equal(two[0], iphone, 'the listing with every word ranks first');
  const wild = await c.get(`/search?q=${encodeURIComponent('%_\\')}`);
  t.equal(wild.statusCode, 200, 'LIKE wildcards are plain characters');
  t.notOk(ids(wild.body).includes(iphone));
  const inj = await c.get(`/search?q=${encodeURIComponent("'; DROP TABLE listings; --")}`);
  t.equal(inj.statusCode, 200);
  t.ok((await app.db.listing.count()) > 0, 'still there');
});

t.test('filters (category incl. subcategories, price, condition, status) and sorts', async (t) => {
  const { app } = await startApp(t);
  const { u, mk } = await fixture(app);
  const cheap = await mk(`필터 폰 싸다 ${u}`, { price: 5000, bids: 3, hoursLeft: 10, condition: 'NEW' });
  const pricey = await mk(`필터 폰 비싸다 ${u}`, { price: 90000, bids: 9, hoursLeft: 60 });
  const laptop = await mk(`필터 노트북 ${u}`, { slug: 'laptops', price: 50000, bids: 1, hoursLeft: 30 });
  const ended = await mk(`필터 끝남 ${u}`, { status: 'ENDED_SOLD', hoursLeft: -5 });
  const digital = (await app.db.category.findUniqueOrThrow({ where: { slug: 'digital' } })).id;
  const phones = (await app.db.category.findUniqueOrThrow({ where: { slug: 'phones' } })).id;
  const c = new Client(app);
  const q = `q=${encodeURIComponent(`필터 ${u}`)}`;
  t.same(
    ids((await c.get(`/search?${q}&sort=price_asc`)).body),
    [cheap, laptop, pricey],
    'live only by default, price low to high',
  );
  t.same(ids((await c.get(`/search?${q}&sort=price_desc`)).body), [pricey, laptop, cheap]);
  t.same(ids((await c.get(`/search?${q}&sort=bids`)).body), [pricey, cheap, laptop]);
  t.same(ids((await c.get(`/search?${q}&sort=ending`)).body), [cheap, laptop, pricey]);
  t.same(
    ids((await c.get(`/search?${q}&category=${digital}&sort=price_asc`)).body),
    [cheap, laptop, pricey],
    'a top category includes its subcategories',
  );
  t.same(ids((await c.get(`/search?${q}&category=${phones}&sort=price_asc`)).body), [cheap, pricey]);
  t.same(ids((await c.get(`/search?${q}&min=10000&max=60000`)).body), [laptop], 'price range');
  t.same(ids((await c.get(`/search?${q}&condition=NEW`)).body), [cheap], 'condition');
  t.same(ids((await c.get(`/search?${q}&status=ending`)).body), [cheap], 'ending within 24 h');
  t.same(ids((await c.get(`/search?${q}&status=ended`)).body), [ended], 'ended');
  const page = await c.get(`/search?${q}&status=live`);
  t.match(page.body, '3개의 경매', 'result count');
  // The same filters through htmx: only the results block, for hx-push-url to keep the URL.
  const hx = await c.get(`/search?${q}&sort=price_asc`, { 'hx-request': 'true', 'hx-target': 'results' });
  t.match(hx.body, /^<div id="results"/);
  t.notMatch(hx.body, '<form class="filters');
  t.match(page.body, 'hx-push-url="true"', 'the filter form pushes its URL');
  t.match(page.body, 'action="/search" method="get"', 'and works as a plain GET form');
  const catPage = await c.get('/c/digital');
  t.equal(catPage.statusCode, 200);
  t.match(catPage.body, '<h1>디지털기기</h1>');
  t.equal((await c.get('/c/no-such-thing')).statusCode, 404);
});

t.test('keyset pages of 24 are stable when new listings arrive, with the total count', async (t) => {
  const { app } = await startApp(t);
  const { u, mk, seller } = await fixture(app);
  const made: number[] = [];
  for (let i = 0; i < 30; i++) made.push(await mk(`페이지 테스트 ${u} ${i}`, { hoursLeft: 24 + i }));
  const c = new Client(app);
  const q = `q=${encodeURIComponent(`페이지 테스트 ${u}`)}&sort=ending`;
  const p1 = await c.get(`/search?${q}`);
  const first = ids(p1.body);
  t.equal(first.length, 24);
  t.same(first, made.slice(0, 24));
  t.match(p1.body, '30개의 경매');
  const html = p1.body.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&');
  const more = /href="(\/search\?[^"]+cursor=[^"]+)"/.exec(html)![1];
  // A new listing that sorts first arrives between the two page loads: page 2 is not shifted.
  await mk(`페이지 테스트 ${u} 새것`, { hoursLeft: 1 });
  const p2 = await c.get(more, { 'hx-request': 'true', 'hx-target': 'more-row' });
  t.same(ids(p2.body), made.slice(24), 'page 2 continues exactly where page 1 stopped');
  t.notMatch(p2.body, 'cursor', 'no further page');
  // The seller page pages the same way (newest first).
  const sp = await c.get(`/sellers/${seller.id}`);
  t.equal(ids(sp.body).length, 24);
  t.match(sp.body, '31개의 경매');
  t.match(sp.body, seller.nickname);
  t.equal(
    (await c.get('/search?cursor=garbage')).statusCode,
    400,
    'a bad cursor is a clear 400, not a silent first page',
  );
});
