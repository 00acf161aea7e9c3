/**
 * Public pages from memory (core/page-cache.ts, issue 16 item 2): anonymous home, category, search
 * and item pages are served from the cache until an event changes them; logged-in people, other
 * languages, htmx fragments, cookies and errors never mix with them; the memory bound holds.
 */
import zlib from 'node:zlib';
import t from 'tap';
import { startApp, Client, type Res } from '../helpers/app.js';
import { auction, user, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import { rawRequest as rawGet } from '../helpers/http.js';
import { registry } from '../../src/core/metrics.js';
import { i18n } from '../../src/core/i18n.js';
import { listingUpdated } from '../../src/modules/catalog/index.js';

const won = (n: number) => `${new Intl.NumberFormat('ko-KR').format(n)}원`;

async function counts(): Promise<{ hit: number; miss: number }> {
  const m = await registry.getSingleMetric('page_cache_requests_total')!.get();
  const of = (r: string) => m.values.find((v) => v.labels.result === r)?.value ?? 0;
  return { hit: of('hit'), miss: of('miss') };
}

const price = async (app: Awaited<ReturnType<typeof startApp>>['app'], id: number) =>
  (await app.db.listing.findUniqueOrThrow({ where: { id }, select: { currentPrice: true } })).currentPrice;

t.test('anonymous pages: hit, invalidation by bid/close/listing change, 304, no mixing', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const seller = await user(app, config, 0, 's');
  const word = `캐시${uniq()}`;
  const id = await auction(app, { sellerId: seller.id, title: `${word} 아이폰`, startPrice: 10_000 });
  const anon = new Client(app);
  const item = `/items/${id}`;
  const search = `/search?q=${encodeURIComponent(word)}`;

  // Second anonymous GET is a hit, byte-identical, with the public revalidation headers.
  const before = await counts();
  const first = await anon.get(item);
  t.equal(first.statusCode, 200);
  t.equal(first.headers['set-cookie'], undefined);
  t.equal(first.headers['x-page-cache'], 'miss');
  const second = await anon.get(item);
  t.equal(second.headers['x-page-cache'], 'hit');
  t.equal(second.body, first.body, 'byte-identical');
  t.equal(second.headers['cache-control'], 'public, max-age=0, must-revalidate');
  t.match(String(second.headers.etag), /^W\/"/);
  t.equal(second.headers.etag, first.headers.etag);
  t.equal(second.headers.vary, 'Cookie, HX-Request, HX-Target, Accept-Encoding');
  const after = await counts();
  t.equal(after.hit - before.hit, 1, 'hit counted');
  t.equal(after.miss - before.miss, 1, 'miss counted');

  // If-None-Match: 304 without a body, from the cache and from a fresh render alike.
  const nm = await anon.get(item, { 'if-none-match': String(first.headers.etag) });
  t.equal(nm.statusCode, 304);
  t.equal(nm.body, '');
  t.equal((await anon.get(item, { 'if-none-match': 'W/"other"' })).statusCode, 200);

  // The list pages are cached too: search (full page and its htmx fragment kept apart), home.
  const s1 = await anon.get(search);
  t.match(s1.body, won(10_000));
  t.equal((await anon.get(search)).headers['x-page-cache'], 'hit');
  const frag = await anon.get(search, { 'hx-request': 'true', 'hx-target': 'results' });
  t.equal(frag.statusCode, 200);
  t.notMatch(frag.body, '<html', 'the htmx request gets the fragment, not the cached page');
  t.equal(frag.headers['x-page-cache'], 'miss');
  t.equal((await anon.get(search, { 'hx-request': 'true', 'hx-target': 'results' })).body, frag.body);
  t.match((await anon.get(search)).body, '<html', 'and the full page stays the full page');
  await anon.get('/');
  t.equal((await anon.get('/')).headers['x-page-cache'], 'hit');

  // Korean and English never mixed: the English visitor (cookie) gets English.
  const en = new Client(app);
  en.cookies.set('lang', 'en');
  const enItem = await en.get(item);
  t.match(enItem.body, '<html lang="en">');
  t.equal(enItem.headers['x-page-cache'], 'miss');
  t.match((await anon.get(item)).body, '<html lang="ko">');
  t.match((await en.get(item)).body, '<html lang="en">');

  // A logged-in person never gets the anonymous body: their nickname, no-store, no cache header.
  const b1 = await user(app, config, 200_000);
  const c1 = await loggedIn(app, b1.email);
  const mine = await c1.get(item);
  t.equal(mine.statusCode, 200);
  t.match(mine.body, b1.nickname);
  t.not(mine.body, first.body);
  t.equal(mine.headers['x-page-cache'], undefined);
  t.equal(mine.headers['cache-control'], 'no-store');
  t.match((await c1.get('/')).body, b1.nickname);
  t.equal((await c1.get('/')).headers['cache-control'], 'no-store');

  // Bids invalidate the item page and the list pages: the new price on the next anonymous GET.
  const b2 = await user(app, config, 200_000);
  const c2 = await loggedIn(app, b2.email);
  t.equal((await bid(c1, id, 20_000)).statusCode, 200);
  t.equal((await bid(c2, id, 30_000)).statusCode, 200);
  const now = await price(app, id);
  t.ok(now > 10_000, `price moved to ${now}`);
  const fresh = (res: Res) => res.body.includes(won(now));
  t.ok(await waitFor(async () => fresh(await anon.get(item)), 3000), 'item page shows the new price');
  t.ok(await waitFor(async () => fresh(await anon.get(search)), 3000), 'search shows the new price');
  t.equal((await anon.get(item)).headers['x-page-cache'], 'hit', 'and is cached again');

  // A listing change (the seller's edit emits listing.updated) shows at once.
  await app.db.listing.update({ where: { id }, data: { title: `${word} 갤럭시` } });
  await app.events.emit(listingUpdated(id, seller.id));
  t.ok(await waitFor(async () => (await anon.get(item)).body.includes(`${word} 갤럭시`), 3000), 'edited title');
  t.ok(await waitFor(async () => (await anon.get(search)).body.includes(`${word} 갤럭시`), 3000), 'in search');

  // The auction's close (a durable event, through the outbox) too.
  const short = await auction(app, { sellerId: seller.id, title: `${word} 마감`, endsInMs: 1500 });
  const shortPage = await anon.get(`/items/${short}`);
  t.equal((await anon.get(`/items/${short}`)).body, shortPage.body);
  const unsold = i18n.getFixedT('ko')('catalog.status.ENDED_UNSOLD') as string;
  t.notMatch(shortPage.body, unsold);
  t.ok(
    await waitFor(async () => (await anon.get(`/items/${short}`)).body.includes(unsold), 15_000, 200),
    'closed auction shows as ended',
  );
});

t.test('cached pages are sent compressed as Accept-Encoding asks (brotli, else gzip), compressed once', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id, title: `압축${uniq()} 카메라`, startPrice: 10_000 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const item = `/items/${id}`;
  const plain = await rawGet(port, item, {});
  t.equal(plain.status, 200);
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: as it is');
  const page = plain.raw.toString('utf8');
  t.ok(page.length > 5000, `a real page (${page.length} bytes)`);
  const etag = String(plain.headers.etag);

  const compressions = async (encoding: string) =>
    (await registry.getSingleMetric('page_cache_compress_seconds')!.get()).values.find(
      (v) => v.labels.encoding === encoding && (v as { metricName?: string }).metricName?.endsWith('_count'),
    )?.value ?? 0;
  const br0 = await compressions('br');
  const browser = 'gzip, deflate, br, zstd';
  const br = await rawGet(port, item, { 'accept-encoding': browser });
  t.equal(br.headers['x-page-cache'], 'hit');
  t.equal(br.headers['content-encoding'], 'br', "a browser's header: brotli");
  t.equal(Number(br.headers['content-length']), br.raw.length, 'content-length is the compressed size');
  t.ok(br.raw.length * 2 < plain.raw.length, `${plain.raw.length} -> ${br.raw.length} bytes`);
  t.equal(zlib.brotliDecompressSync(br.raw).toString('utf8'), page, 'the same page');
  t.equal(br.headers.etag, `${etag.slice(0, -1)}-br"`, 'its own ETag');
  t.match(String(br.headers.vary), /Accept-Encoding/);

  for (const [accept, want] of [
    ['gzip', 'gzip'],
    ['br;q=0, gzip;q=0.5', 'gzip'],
    ['gzip;q=0.2, br;q=0.9', 'br'],
    ['identity', undefined],
    ['br;q=0, gzip;q=0', undefined],
    ['x'.repeat(3000), undefined],
    ['*', 'br'],
  ] as const) {
    const r = await rawGet(port, item, { 'accept-encoding': accept });
    t.equal(r.status, 200, `${accept.slice(0, 30)}: 200`);
    t.equal(r.headers['content-encoding'], want, `${accept.slice(0, 30)} -> ${want ?? 'as it is'}`);
    const body = want === 'br' ? zlib.brotliDecompressSync(r.raw) : want === 'gzip' ? zlib.gunzipSync(r.raw) : r.raw;
    t.equal(body.toString('utf8'), page, `${accept.slice(0, 30)}: the same page`);
  }

  t.equal((await compressions('br')) - br0, 1, 'three brotli hits, one compression');

  // Revalidation: either representation's ETag is the same page (304, no body).
  for (const inm of [String(br.headers.etag), etag]) {
    const r = await rawGet(port, item, { 'accept-encoding': browser, 'if-none-match': inm });
    t.equal(r.status, 304, `If-None-Match ${inm}`);
    t.equal(r.raw.length, 0);
  }

  // A bid changes the page: the compressed copy goes with the entry, the new one shows the new price.
  const b1 = await user(app, config, 200_000);
  const c1 = await loggedIn(app, b1.email);
  t.equal((await bid(c1, id, 20_000)).statusCode, 200);
  const now = await price(app, id);
  t.ok(
    await waitFor(async () => {
      const r = await rawGet(port, item, { 'accept-encoding': browser });
      return r.headers['content-encoding'] === 'br' && zlib.brotliDecompressSync(r.raw).toString().includes(won(now));
    }, 3000),
    'the compressed page shows the new price',
  );
});

t.test('never cached: a response that sets a cookie, a non-200, with PAGE_CACHE_ENABLED=off nothing', async (t) => {
  const { app } = await startApp(t, { PAGE_CACHE_ENABLED: 'on' });
  const c = new Client(app);
  // ?lang=en without the cookie sets it: not stored, not served from memory.
  const a = await app.inject({ method: 'GET', url: '/?lang=en' });
  t.match(String(a.headers['set-cookie']), /lang=en/);
  t.not(a.headers['x-page-cache'], 'miss');
  const b = await app.inject({ method: 'GET', url: '/?lang=en' });
  t.not(b.headers['x-page-cache'], 'hit');
  t.equal(b.headers.etag, undefined);
  // Non-200s.
  for (const url of ['/items/2147483000', '/c/no-such-category']) {
    t.equal((await c.get(url)).statusCode, 404);
    const again = await c.get(url);
    t.equal(again.statusCode, 404);
    t.equal(again.headers['x-page-cache'], undefined, `${url} not cached`);
  }
  t.equal(app.pageCache.entries, 0, 'nothing stored');

  const off = await startApp(t, { PAGE_CACHE_ENABLED: 'off' });
  await off.app.inject({ method: 'GET', url: '/' });
  const r = await off.app.inject({ method: 'GET', url: '/' });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['x-page-cache'], undefined);
  t.equal(off.app.pageCache.entries, 0);
});

t.test('memory bound: many distinct searches stay under PAGE_CACHE_MAX_BYTES', async (t) => {
  const max = 300_000;
  const { app } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_MAX_BYTES: String(max) });
  let peak = 0;
  for (let i = 0; i < 80; i += 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => app.inject({ method: 'GET', url: `/search?q=bound${i + j}` })),
    );
    peak = Math.max(peak, app.pageCache.bytes);
  }
  t.ok(app.pageCache.entries > 1, `entries kept: ${app.pageCache.entries}`);
  t.ok(app.pageCache.entries < 80, 'older ones evicted');
  t.ok(peak <= max, `peak ${peak} bytes <= ${max}`);
});

t.test('a hit is answered before the session, helmet and the shared rate limit, with the same headers', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id, title: `헤더${uniq()}` });
  const url = `/items/${id}`;
  const miss = await app.inject({ method: 'GET', url, remoteAddress: '10.9.0.1' });
  t.equal(miss.headers['x-page-cache'], 'miss');
  t.ok(miss.headers['x-ratelimit-limit'], 'the render went through the shared (Redis) rate limit');
  const hit = await app.inject({ method: 'GET', url, remoteAddress: '10.9.0.2' });
  t.equal(hit.headers['x-page-cache'], 'hit');
  t.equal(hit.headers['x-ratelimit-limit'], undefined, 'the hit did not: no Redis round trip');
  t.notOk(hit.headers['set-cookie'], 'no cookie');
  t.ok(String(hit.headers['x-request-id']).length > 0, 'its own request id');
  t.not(hit.headers['x-request-id'], miss.headers['x-request-id']);
  // Every security header of the render, the same on the hit.
  for (const h of [
    'content-security-policy',
    'x-content-type-options',
    'x-frame-options',
    'referrer-policy',
    'cross-origin-opener-policy',
    'content-type',
  ]) {
    t.ok(miss.headers[h], `${h} on the render`);
    t.equal(hit.headers[h], miss.headers[h], `${h} on the hit`);
  }
  t.equal(hit.headers['content-length'], String(Buffer.byteLength(miss.body)));
  t.equal(hit.body, miss.body);
  // A request with a session cookie never takes the early path, even a stale or forged one.
  const withSid = await app.inject({ method: 'GET', url, headers: { cookie: 'lang=ko; sid=forged' } });
  t.equal(withSid.headers['x-page-cache'], undefined);
  // Nor does ?lang= that changes the language cookie; the matching cookie does.
  const en = await app.inject({ method: 'GET', url: `${url}?lang=en`, headers: { cookie: 'lang=ko' } });
  t.match(String(en.headers['set-cookie']), /lang=en/);
  t.equal(en.headers['x-page-cache'], undefined);
  await app.inject({ method: 'GET', url: `${url}?lang=en`, headers: { cookie: 'lang=en' } });
  const en2 = await app.inject({ method: 'GET', url: `${url}?lang=en`, headers: { cookie: 'lang=en' } });
  t.equal(en2.headers['x-page-cache'], 'hit');
  t.match(en2.body, '<html lang="en">');
});

t.test('concurrent misses of one page render it once; hits have a per-address budget in memory', async (t) => {
  const { app, config } = await startApp(t, {
    PAGE_CACHE_ENABLED: 'on',
    PAGE_CACHE_TTL_MS: '60000',
    RATE_LIMIT_MAX: '30',
  });
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id, title: `동시${uniq()}` });
  const before = await counts();
  const all = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      app.inject({ method: 'GET', url: `/items/${id}`, remoteAddress: `10.8.0.${i + 1}` }),
    ),
  );
  t.ok(
    all.every((r) => r.statusCode === 200),
    'all 200',
  );
  t.equal(new Set(all.map((r) => r.body)).size, 1, 'one body');
  const after = await counts();
  t.equal(after.miss - before.miss, 1, 'one render');
  t.equal(after.hit - before.hit, 19, 'the others waited for it');

  // One address: 30 hits a minute (RATE_LIMIT_MAX), then 429 with Retry-After and the security headers.
  const statuses: number[] = [];
  for (let i = 0; i < 32; i++)
    statuses.push((await app.inject({ method: 'GET', url: `/items/${id}`, remoteAddress: '10.7.0.1' })).statusCode);
  t.same(statuses.slice(0, 30), Array(30).fill(200));
  const over = await app.inject({
    method: 'GET',
    url: `/items/${id}`,
    remoteAddress: '10.7.0.1',
    headers: { cookie: 'lang=ko' },
  });
  t.equal(over.statusCode, 429);
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After');
  t.ok(over.headers['content-security-policy'], 'with the security headers');
  t.match(over.body, i18n.getFixedT('ko')('errors.rateLimited') as string);
  t.equal(
    (await app.inject({ method: 'GET', url: `/items/${id}`, remoteAddress: '10.7.0.2' })).statusCode,
    200,
    'another address is not affected',
  );
});

t.test('under pressure hits are shed like renders (anonymous pages before bids)', async (t) => {
  const { app } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', LOAD_SHED_FORCE: 'browsing' });
  const res = await app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '10');
  t.equal(app.pageCache.entries, 0);
});
