/**
 * 시세: the numbers (count, median, p25–p75 against a percentile computed here), the boundaries
 * (category, 90 days, title similarity, sold only, the listing itself), a real buy-now flowing
 * in, the sell form's htmx fragment (also after a 422), the item page's block and its
 * "비슷한 경매" / "최근 본 물건" rows.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startApp, Client } from '../helpers/app.js';
import { seller, postMultipart, validFields } from '../helpers/catalog.js';
import { auction, user, loggedIn } from '../helpers/auction.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { siseFor } from '../../src/modules/catalog/sise.js';
import type { App } from '../../src/app.js';

const DAY = 24 * 3600_000;
const hx = { 'hx-request': 'true' };

/** A made-up word, so this run's titles are similar to each other and to nothing else in the database. */
const word = () => Array.from(randomBytes(7), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');

/** Linear-interpolated percentile (the usual definition; PostgreSQL's percentile_cont). */
function percentile(sorted: number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function fixture(app: App) {
  const u = word();
  const s = await createUserDirect(app.db, {
    email: `sise${u}@example.com`,
    nickname: `sise${u}`,
    password: 'x'.repeat(12),
  });
  const cat = async (slug: string) => (await app.db.category.findUniqueOrThrow({ where: { slug } })).id;
  const cameras = await cat('cameras');
  const audio = await cat('audio');
  const mk = async (
    title: string,
    o: { price: number; daysAgo?: number; categoryId?: number; status?: 'ENDED_SOLD' | 'ENDED_UNSOLD' | 'LIVE' },
  ) => {
    const endsAt = new Date(Date.now() - (o.daysAgo ?? 1) * DAY);
    const live = o.status === 'LIVE';
    const l = await app.db.listing.create({
      data: {
        sellerId: s.id,
        title,
        description: `${title} 설명`,
        categoryId: o.categoryId ?? cameras,
        condition: 'GOOD',
        startPrice: 1000,
        currentPrice: o.price,
        bidCount: 1,
        startsAt: new Date(endsAt.getTime() - 3 * DAY),
        endsAt: live ? new Date(Date.now() + 2 * DAY) : endsAt,
        durationDays: 3,
        status: o.status ?? 'ENDED_SOLD',
      },
    });
    return l.id;
  };
  return { u, sellerId: s.id, cameras, audio, mk };
}

t.test('count, median and p25–p75 of similar sales; category, 90 days, similarity and status bounds', async (t) => {
  const { app } = await startApp(t);
  const { mk, cameras, audio } = await fixture(app);
  const [w1, w2] = [word(), word()];
  const q = `${w1} ${w2} 카메라`;
  const prices = [15_000, 90_000, 12_000, 21_000, 50_000, 18_000];
  const titles = [q, `${q} 풀박스`, `${w1} ${w2} 카메라 렌즈포함`, `${w1} ${w2.slice(0, -1)}x 카메라`, q, `${q} 급처`];
  const days = [1, 2, 3, 10, 45, 89];
  const similar: number[] = [];
  for (let i = 0; i < prices.length; i++) similar.push(await mk(titles[i], { price: prices[i], daysAgo: days[i] }));
  // Not similar sales: another category, older than 90 days, another title, not sold, still live.
  await mk(q, { price: 999_000, categoryId: audio });
  await mk(q, { price: 888_000, daysAgo: 91 });
  await mk(`${word()} ${word()} 카메라`, { price: 777_000 });
  await mk(q, { price: 666_000, status: 'ENDED_UNSOLD' });
  const live = await mk(q, { price: 555_000, status: 'LIVE' });

  const s = await siseFor(app.db, { title: q, categoryIds: [cameras] });
  const sorted = [...prices].sort((a, b) => a - b);
  t.equal(s.count, 6, 'six similar sales: other category, > 90 days, other title, unsold and live left out');
  t.equal(s.median, Math.round(percentile(sorted, 0.5)), `median ${percentile(sorted, 0.5)}`);
  t.equal(s.p25, Math.round(percentile(sorted, 0.25)), `p25 ${percentile(sorted, 0.25)}`);
  t.equal(s.p75, Math.round(percentile(sorted, 0.75)), `p75 ${percentile(sorted, 0.75)}`);
  t.same([s.median, s.p25, s.p75], [19_500, 15_750, 42_750], '(the numbers worked by hand)');
  t.equal(s.min, 12_000);
  t.equal(s.max, 90_000);
  t.equal(
    s.bins.reduce((n, b) => n + b.count, 0),
    6,
    'the distribution counts every sale once',
  );
  t.equal(s.bins[0].count, 4, '12,000 .. 21,000 in the lowest band');
  t.equal(s.bins[s.bins.length - 1].count, 1, '90,000 in the highest');
  t.same(
    s.recent.map((r) => r.id),
    similar.slice(0, 5),
    'the five most recent similar sales, newest first',
  );
  t.same(
    s.recent.map((r) => r.price),
    prices.slice(0, 5),
  );

  // The item page's own listing is not its own 시세; a short query ("w1") finds the same sales as search would.
  const without = await siseFor(app.db, { title: q, categoryIds: [cameras], excludeId: similar[0] });
  t.equal(without.count, 5, 'the listing itself is left out');
  t.equal((await siseFor(app.db, { title: w1, categoryIds: [cameras] })).count, 6, 'one word of the title is enough');
  t.equal((await siseFor(app.db, { title: q, categoryIds: [audio] })).count, 1, 'only the same category');
  t.equal(
    (await siseFor(app.db, { title: 'a', categoryIds: [cameras] })).count,
    0,
    'a one-letter title compares nothing',
  );
  t.ok(live > 0);
});

t.test(
  'GET /sise: the sell form fragment; hint, few and numbers; escaping; Korean and English; bad input',
  async (t) => {
    const { app } = await startApp(t);
    const { mk, cameras } = await fixture(app);
    const [w1, w2] = [word(), word()];
    const q = `${w1} ${w2} 렌즈`;
    const c = new Client(app);
    const url = (title: string, cat: number | string) =>
      `/sise?title=${encodeURIComponent(title)}&categoryId=${encodeURIComponent(String(cat))}`;

    const hint = await c.get(url(q, ''), hx);
    t.equal(hint.statusCode, 200);
    t.match(hint.body, 'data-testid="sise-hint"', 'no category yet: what the block will show');
    t.notMatch(hint.body, '<html', 'a fragment, not a page');

    await mk(`${q} <script>alert(1)</script>`, { price: 30_000 });
    await mk(q, { price: 40_000, daysAgo: 5 });
    const few = await c.get(url(q, cameras), hx);
    t.match(few.body, '아직 비슷한 거래가 적어요', 'two sales: the empty state');
    t.notMatch(few.body, 'data-testid="sise-median"');

    await mk(`${q} 박스`, { price: 50_000, daysAgo: 7 });
    const ok = await c.get(url(q, cameras), hx);
    t.match(ok.body, '<dd data-testid="sise-count">3건</dd>');
    t.match(ok.body, '<dd data-testid="sise-median">40,000원</dd>');
    t.match(ok.body, '<dd data-testid="sise-range">35,000원 ~ 45,000원</dd>');
    t.match(ok.body, /<svg class="sise-chart"[^>]*role="img"[^>]*aria-label="[^"]+"/, 'a labelled SVG chart');
    t.equal((ok.body.match(/<rect class="sise-bar"/g) ?? []).length, 8, 'eight price bands');
    t.equal((ok.body.match(/<li><a href="\/items\/\d+">/g) ?? []).length, 3, 'links to the recent sales');
    t.match(ok.body, '&lt;script&gt;alert(1)&lt;/script&gt;', 'a title is escaped');
    t.notMatch(ok.body, '<script>alert(1)</script>');
    const en = await new Client(app).get(`${url(q, cameras)}&lang=en`, hx);
    t.match(en.body, '<dd data-testid="sise-median">₩40,000</dd>', 'English: ₩ before the number');
    t.match(en.body, 'Middle 50%');
    t.match(ok.body, '<title>30,000원 – 32,500원: 1건</title>', 'round price bands');

    // The top category (디지털기기) includes its subcategories, as /search does.
    const digital = (await app.db.category.findUniqueOrThrow({ where: { slug: 'digital' } })).id;
    t.match((await c.get(url(q, digital), hx)).body, '3건');

    t.equal((await c.get(url(q, 'abc'), hx)).statusCode, 400, 'a category that is not a number: 400');
    t.equal((await c.get(url(q, 99999999), hx)).statusCode, 404, 'an unknown category: 404');
    t.equal((await c.get(url('x'.repeat(101), cameras), hx)).statusCode, 400, 'a title over 100 characters: 400');
  },
);

t.test('the sell form: the block refreshes from title and category (htmx) and survives a 422', async (t) => {
  const { app } = await startApp(t);
  const { mk, cameras } = await fixture(app);
  const q = `${word()} ${word()} 필름`;
  for (const p of [10_000, 20_000, 30_000]) await mk(q, { price: p });
  const s = await seller(app);
  const form = await s.c.get('/sell');
  t.equal(form.statusCode, 200);
  t.match(form.body, '비슷한 물건의 최근 낙찰가');
  t.match(form.body, /hx-get="\/sise" hx-trigger="input changed delay:500ms from:#f-title, change from:#f-categoryId"/);
  t.match(
    form.body,
    'hx-include="#f-title, #f-categoryId"',
    'only title and category go (not the form and its validation)',
  );
  t.match(form.body, 'data-testid="sise-hint"');

  // A 422 (no condition, no price) re-renders the form: the block shows the numbers for what it holds.
  const bad = await postMultipart(s.c, '/sell', validFields(cameras, { title: q, condition: '', startPrice: '' }), [], {
    'hx-request': 'true',
  });
  t.equal(bad.statusCode, 422);
  t.match(bad.body, '<dd data-testid="sise-median">20,000원</dd>', 'after a 422 the block has the numbers');
  t.match(bad.body, 'hx-get="/sise"', 'and still refreshes itself');
  t.equal(await app.db.listing.count({ where: { title: q, sellerId: s.id } }), 0, 'nothing was listed');
});

t.test('item page: 시세 for buyers, a real buy-now counted, "비슷한 경매" and "최근 본 물건"', async (t) => {
  const { app, config } = await startApp(t);
  const { mk, sellerId } = await fixture(app);
  // The auction helper lists in the first leaf category; sold history goes there too.
  const leaf = await app.db.category.findFirstOrThrow({ where: { parentId: { not: null } }, orderBy: { id: 'asc' } });
  const q = `${word()} ${word()} 스마트폰`;
  const sold = [];
  for (const p of [100_000, 120_000]) sold.push(await mk(q, { price: p, categoryId: leaf.id }));
  const id = await auction(app, { sellerId, title: `${q} 256GB`, startPrice: 50_000 });
  const other = await auction(app, { sellerId, title: `${q} 128GB`, startPrice: 60_000 });
  const unlike = await auction(app, { sellerId, title: `${word()} ${word()} 케이스`, startPrice: 5_000 });
  const anon = new Client(app);

  let page = await anon.get(`/items/${id}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, '아직 비슷한 거래가 적어요', 'two similar sales: not enough');

  // A buy-now through bidding: the close writes the listing's sold copy, and 시세 counts it.
  const buyNowId = await auction(app, { sellerId, title: q, startPrice: 10_000, buyNowPrice: 140_000 });
  const buyer = await user(app, config, 200_000);
  const cb = await loggedIn(app, buyer.email);
  await cb.get(`/items/${buyNowId}`);
  const r = await cb.post(`/items/${buyNowId}/buy-now`, {}, hx);
  t.equal(r.statusCode, 200, 'bought');
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id: buyNowId } })).status, 'ENDED_SOLD');

  page = await anon.get(`/items/${id}`);
  t.match(page.body, '<dd data-testid="sise-count">3건</dd>', 'the buy-now sale is counted');
  t.match(page.body, '<dd data-testid="sise-median">120,000원</dd>');
  t.match(page.body, `<a href="/items/${buyNowId}">`, 'and linked, newest first');
  t.ok(
    page.body.indexOf(`<a href="/items/${buyNowId}">`) < page.body.indexOf(`<a href="/items/${sold[0]}">`),
    'newest first',
  );
  // The sold item's own page shows the others, not itself.
  const soldPage = await anon.get(`/items/${buyNowId}`);
  t.match(soldPage.body, '아직 비슷한 거래가 적어요', 'its own sale is not counted on its page');

  // 비슷한 경매: live, same category, the similar title before the dissimilar one, not itself.
  const row = page.body.slice(page.body.indexOf('data-testid="similar-row"'));
  t.ok(page.body.includes('data-testid="similar-row"'), 'the row is there');
  const rowIds = [...row.matchAll(/<li class="mini-card" data-testid="mini-card"><a href="\/items\/(\d+)">/g)].map(
    (m) => Number(m[1]),
  );
  t.ok(rowIds.includes(other), 'a similar live auction');
  t.notOk(rowIds.includes(id), 'not the item itself');
  t.notOk(rowIds.includes(buyNowId), 'not a sold one');
  if (rowIds.includes(unlike)) t.ok(rowIds.indexOf(other) < rowIds.indexOf(unlike), 'similar titles first');
  t.match(page.body, `data-recent="${id}" hidden`, 'the recently viewed row waits for the browser');

  // 최근 본 물건: the browser's ids, in its order; cancelled and unknown ones left out; bad lists refused.
  await app.db.listing.update({ where: { id: unlike }, data: { status: 'CANCELLED' } });
  const recent = await anon.get(`/items/recent?ids=${other},${unlike},2147483000,${id}`);
  t.equal(recent.statusCode, 200);
  const recentIds = [...recent.body.matchAll(/<a href="\/items\/(\d+)">/g)].map((m) => Number(m[1]));
  t.same(recentIds, [other, id], 'in the order given, the cancelled and the unknown left out');
  t.equal((await anon.get('/items/recent?ids=1,abc')).statusCode, 400, 'not a list of ids: 400');
  t.equal((await anon.get(`/items/recent?ids=${Array(13).fill(1).join(',')}`)).statusCode, 400, 'more than 12: 400');
  t.equal((await anon.get('/items/recent')).statusCode, 400, 'no list: 400');
  t.equal((await anon.get('/items/recent?ids=2147483000')).body.trim(), '', 'nothing known: empty');
});
