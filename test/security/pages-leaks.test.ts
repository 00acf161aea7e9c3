/**
 * What a page shows and who may keep it: links are built from the route (not the request line),
 * a cancelled listing's bid panel is gone everywhere the item page is, and a page that belongs to
 * one person is never stored by a cache.
 */
import t from 'tap';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { startApp, Client } from '../helpers/app.js';
import { auction, user, PASSWORD } from '../helpers/auction.js';

const rawGet = (port: number, requestLine: string) =>
  new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () =>
      s.write(`${requestLine}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });

t.test('the language switch links to the route, never to another site', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const id = await auction(app, { sellerId: seller.id });
  const c = new Client(app);
  for (const url of ['//evil.example/x', '///evil.example/x', '/%2F%2Fevil.example', '/\\evil.example']) {
    const res = await c.get(url);
    t.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
    t.notMatch(res.body, /href="[^"]*evil\.example/, `${url}: no link to evil.example`);
    if (res.statusCode === 404) t.match(res.body, 'href="/?lang=en"', `${url}: the 404's switch goes home`);
  }
  t.match((await c.get(`/items/${id}?x=1`)).body, `href="/items/${id}?lang=en"`, 'a real page keeps its own path');
  t.match((await c.get('/search?q=%22%3E%3Cscript%3E')).body, 'href="/search?lang=en"');

  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  for (const line of [
    'GET http://evil.example/x HTTP/1.1',
    'GET http://evil.example//evil.example/x HTTP/1.1',
    `GET http://evil.example/items/${id} HTTP/1.1`,
  ]) {
    const res = await rawGet(port, line);
    t.match(res, /^HTTP\/1\.1 [1-4]\d\d/, `${line}: answered, not a 5xx`);
    t.notMatch(res, /href="[^"]*evil\.example/, `${line}: no link to evil.example`);
  }
});

t.test('a cancelled listing has no bid panel: fragment, page slot, socket snapshot', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const viewer = await user(app, config);
  const cancelled = await auction(app, { sellerId: seller.id });
  const inFlight = await auction(app, { sellerId: seller.id });
  const live = await auction(app, { sellerId: seller.id });
  const s = new Client(app);
  await s.login(seller.email, PASSWORD);
  await s.get(`/items/${cancelled}`);
  t.equal((await s.post(`/items/${cancelled}/cancel`, {})).statusCode, 303, 'the seller cancels');
  for (
    let i = 0;
    i < 100 && (await app.db.auction.findUniqueOrThrow({ where: { id: cancelled } })).status !== 'CANCELLED';
    i++
  )
    await new Promise((r) => setTimeout(r, 30));
  // The listing cancelled, its event not handled yet: the auction row still says LIVE.
  await app.db.listing.update({ where: { id: inFlight }, data: { status: 'CANCELLED' } });

  const v = new Client(app);
  await v.login(viewer.email, PASSWORD);
  for (const id of [cancelled, inFlight]) {
    for (const [who, c] of [
      ['anonymous', new Client(app)],
      ['a member', v],
      ['the seller', s],
    ] as const) {
      const panel = await c.get(`/items/${id}/bid-panel`);
      t.equal(panel.statusCode, 404, `${who}: /items/${id}/bid-panel is 404`);
      t.notMatch(panel.body, /bid-panel-|입찰 \d/, `${who}: no price or bids`);
      const hx = await c.get(`/items/${id}/bid-panel`, { 'hx-request': 'true' });
      t.equal(hx.statusCode, 404, `${who}: the htmx fragment too`);
    }
    t.equal((await v.get(`/items/${id}`)).statusCode, 404, 'the item page is 404 for others');
  }
  t.equal((await v.get(`/items/${live}/bid-panel`)).statusCode, 200, 'a live auction still has its panel');

  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topics=auction:${cancelled},auction:${inFlight},auction:${live}`);
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  for (let i = 0; i < 100 && !messages.length; i++) await new Promise((r) => setTimeout(r, 30));
  await new Promise((r) => setTimeout(r, 200));
  ws.close();
  const all = messages.join('');
  t.match(all, `bid-panel-${live}`, 'the live auction is in the snapshot');
  t.notMatch(all, new RegExp(`(panel|price|status|history|chart)-${cancelled}\\b`), 'nothing of the cancelled auction');
  t.notMatch(
    all,
    new RegExp(`(panel|price|status|history|chart)-${inFlight}\\b`),
    'nothing of the listing whose cancel is in flight',
  );
});

t.test('pages of a logged-in person, and session-bearing forms, are no-store', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const id = await auction(app, { sellerId: seller.id });
  const u = await user(app, config, 20_000);
  const c = new Client(app);
  t.equal((await c.get('/login')).headers['cache-control'], 'no-store', 'the login form carries a CSRF session');
  await c.login(u.email, PASSWORD);
  for (const p of [
    '/wallet',
    '/wallet/withdraw',
    '/wallet/topup',
    '/me',
    '/my/bids',
    '/my/watchlist',
    '/my/listings',
    '/sell',
    '/',
    `/items/${id}`,
    `/items/${id}/bid-panel`,
    '/search?q=x',
    '/no/such/page',
  ]) {
    const res = await c.get(p);
    t.equal(res.headers['cache-control'], 'no-store', `${p} (${res.statusCode}): no-store`);
  }
  const hx = await c.get('/wallet', { 'hx-request': 'true', 'hx-target': 'wallet-more' });
  t.equal(hx.headers['cache-control'], 'no-store', 'htmx fragments too');
  const anon = await new Client(app).get('/wallet');
  t.equal(anon.statusCode, 303);
  t.equal(anon.headers['cache-control'], 'no-store', 'the redirect to the login form too');
  const css = await c.get('/static/css/app.css');
  t.not(css.headers['cache-control'], 'no-store', 'static files keep their own caching');
  t.equal((await new Client(app).get('/healthz')).headers['cache-control'], undefined, 'no session, no rule');
});
