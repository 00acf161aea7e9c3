/**
 * COMPRESS_RESPONSES=on (the cloud, where the ALB compresses nothing): logged-in pages, fragments
 * and static files leave compressed for a browser that accepts it (brotli, else gzip), on a real
 * socket, and decompress to what the app rendered; the page cache's anonymous pages keep their own
 * compression (compressed once, not again per request); small replies and clients that accept no
 * encoding get plain bytes; a compressed request body is not inflated. Off (the default): nothing
 * but the page cache's entries is compressed.
 */
import t from 'tap';
import zlib from 'node:zlib';
import { startApp } from '../helpers/app.js';
import { auction, user, loggedIn } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import { rawRequest as rawGet, type RawResponse } from '../helpers/http.js';

const BROWSER = 'gzip, deflate, br, zstd';

const decoded = (r: RawResponse) =>
  (r.headers['content-encoding'] === 'br'
    ? zlib.brotliDecompressSync(r.raw)
    : r.headers['content-encoding'] === 'gzip'
      ? zlib.gunzipSync(r.raw)
      : r.raw
  ).toString('utf8');

t.test('on: logged-in pages, fragments and static files compressed; cached pages as they were', async (t) => {
  const { app, config } = await startApp(t, {
    COMPRESS_RESPONSES: 'on',
    PAGE_CACHE_ENABLED: 'on',
    PAGE_CACHE_TTL_MS: '60000',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const seller = await user(app, config, 0, 's');
  const viewer = await user(app, config, 1_000_000, 'v');
  const title = `압축${uniq()}`;
  const id = await auction(app, { sellerId: seller.id, title, startPrice: 10_000 });
  const c = await loggedIn(app, viewer.email);
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  // The logged-in item page: brotli for a browser, the page it rendered, with its own token.
  const br = await rawGet(port, `/items/${id}`, { cookie, 'accept-encoding': BROWSER });
  t.equal(br.status, 200);
  t.equal(br.headers['content-encoding'], 'br', 'brotli for a browser');
  t.match(String(br.headers.vary), /accept-encoding/i, 'Vary: Accept-Encoding');
  t.equal(br.headers['cache-control'], 'no-store', 'still private');
  const page = decoded(br);
  t.match(page, title);
  t.match(page, `data-testid="header-nickname">${viewer.nickname}<`, "the viewer's own page");
  t.ok(br.raw.length * 2 < Buffer.byteLength(page), `${Buffer.byteLength(page)} -> ${br.raw.length} bytes`);
  // gzip for a client without brotli, nothing for one that accepts nothing (or only identity).
  const gz = await rawGet(port, `/items/${id}`, { cookie, 'accept-encoding': 'gzip' });
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.match(decoded(gz), `data-testid="header-nickname">${viewer.nickname}<`);
  for (const accept of [undefined, 'identity', 'br;q=0, gzip;q=0']) {
    const plain = await rawGet(port, `/items/${id}`, { cookie, ...(accept ? { 'accept-encoding': accept } : {}) });
    t.equal(plain.headers['content-encoding'], undefined, `Accept-Encoding ${accept}: plain`);
    t.match(plain.raw.toString('utf8'), title);
  }

  // An htmx fragment (the bid panel) and a static file.
  const frag = await rawGet(port, `/items/${id}/bid-panel`, {
    cookie,
    'accept-encoding': BROWSER,
    'hx-request': 'true',
  });
  t.equal(frag.status, 200);
  t.equal(frag.headers['content-encoding'], 'br', 'the fragment too');
  t.match(decoded(frag), `id="bid-panel-${id}"`);
  const css = await rawGet(port, '/static/css/app.css', { 'accept-encoding': BROWSER });
  t.equal(css.status, 200);
  t.equal(css.headers['content-encoding'], 'br', 'static files too');
  t.match(decoded(css), /[{};]/);

  // A small reply stays plain (the framing would eat the gain).
  const small = await rawGet(port, '/healthz', { 'accept-encoding': BROWSER });
  t.equal(small.status, 200);
  t.equal(small.headers['content-encoding'], undefined, 'under 1 KB: plain');

  // The anonymous page: the page cache's own compression, one per entry and encoding, not again.
  // (The miss that renders it is compressed on its way out like any reply; it is stored as rendered.)
  const miss = await rawGet(port, `/items/${id}`, { 'accept-encoding': BROWSER });
  t.equal(miss.headers['content-encoding'], 'br');
  const first = await rawGet(port, `/items/${id}`, { 'accept-encoding': BROWSER });
  const second = await rawGet(port, `/items/${id}`, { 'accept-encoding': BROWSER });
  t.equal(second.headers['x-page-cache'], 'hit');
  t.equal(second.headers['content-encoding'], 'br');
  t.match(String(second.headers.etag), /-br"$/, "the page cache's ETag for its brotli copy");
  t.same(second.raw, first.raw, 'the same bytes: sent as stored, not compressed again');
  t.equal(decoded(miss), decoded(second), 'the miss and the hits are the same page');
  t.equal(Number(second.headers['content-length']), second.raw.length);
  t.match(decoded(second), title);
  t.notMatch(decoded(second), 'header-nickname', 'nobody in it');

  // A compressed request body is not inflated: the form arrives as the bytes it is (refused).
  const login = await rawGet(
    port,
    '/login',
    { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip', 'accept-encoding': BROWSER },
    'POST',
    zlib.gzipSync(Buffer.from(`email=${encodeURIComponent(viewer.email)}&password=x`)),
  );
  t.ok(login.status >= 400 && login.status < 500, `a gzipped form is refused (${login.status})`);
});

t.test('off (the default, nginx compresses in front): only the page cache compresses', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const seller = await user(app, config, 0, 's');
  const viewer = await user(app, config, 0, 'v');
  const id = await auction(app, { sellerId: seller.id, title: `평문${uniq()}` });
  const c = await loggedIn(app, viewer.email);
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const mine = await rawGet(port, `/items/${id}`, { cookie, 'accept-encoding': BROWSER });
  t.equal(mine.status, 200);
  t.equal(mine.headers['content-encoding'], undefined, 'the logged-in page goes plain');
  t.match(mine.raw.toString('utf8'), viewer.nickname);
  const css = await rawGet(port, '/static/css/app.css', { 'accept-encoding': BROWSER });
  t.equal(css.headers['content-encoding'], undefined, 'static files plain');
  await rawGet(port, `/items/${id}`, { 'accept-encoding': BROWSER });
  const anon = await rawGet(port, `/items/${id}`, { 'accept-encoding': BROWSER });
  t.equal(anon.headers['content-encoding'], 'br', 'the cached anonymous page is still compressed');
});
