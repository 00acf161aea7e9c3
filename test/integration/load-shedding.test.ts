/**
 * Under pressure, bids keep priority over browsing: at the "browsing" level anonymous page views
 * are refused (503 + Retry-After, in the visitor's language) while bids, logged-in pages, the
 * login form, static files and the probes are served; at the "all" level bids are refused too,
 * static files and probes still are not. The level is forced through LOAD_SHED_FORCE (carried by
 * under-pressure's custom health check), so the order is shown without burning CPU.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { auction, user, loggedIn, bid } from '../helpers/auction.js';
import { registry } from '../../src/core/metrics.js';

const shedCount = async (kind: string) => {
  const m = await registry.getSingleMetric('http_shed_requests_total')?.get();
  return m?.values.find((v) => v.labels.kind === kind)?.value ?? 0;
};

t.test('browsing level: anonymous pages shed, bids and the rest served', async (t) => {
  const { app, config } = await startApp(t, { LOAD_SHED_FORCE: 'browsing' });
  const seller = await user(app, config, 0, 's');
  const bidder = await user(app, config, 1_000_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const browsingBefore = await shedCount('browsing');

  for (const url of ['/', `/items/${id}`, '/search?q=x']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 503, `anonymous ${url}: 503`);
    t.equal(res.headers['retry-after'], '10', `${url}: Retry-After`);
    t.match(res.body, '서비스가 잠시 혼잡해요', `${url}: the message in Korean by default`);
  }
  const en = await app.inject({ method: 'GET', url: `/items/${id}`, headers: { cookie: 'lang=en' } });
  t.equal(en.statusCode, 503);
  t.match(en.body, 'The service is busy', 'the visitor with lang=en reads English');
  const q = await app.inject({ method: 'GET', url: '/?lang=en' });
  t.match(q.body, 'The service is busy', '?lang=en too');
  t.equal((await shedCount('browsing')) - browsingBefore, 5, 'the shed counter counted the 5 browsing refusals');

  for (const url of ['/static/css/app.css', '/healthz', '/readyz'])
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url}: served`);

  // The way to a bid stays open: the login form, the login, the bidder's own pages, the bid.
  const c = await loggedIn(app, bidder.email);
  const page = await c.get(`/items/${id}`);
  t.equal(page.statusCode, 200, 'logged-in item page served');
  const res = await bid(c, id, 10_000);
  t.equal(res.statusCode, 200, 'the bid is accepted');
  const row = await app.db.auction.findUniqueOrThrow({ where: { id }, select: { bidCount: true } });
  t.equal(row.bidCount, 1, 'and recorded');
});

t.test('all level: bids shed too, static files and probes still served', async (t) => {
  const { app, config } = await startApp(t, { LOAD_SHED_FORCE: 'all' });
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id });
  const otherBefore = await shedCount('other');
  const login = await app.inject({ method: 'GET', url: '/login' });
  t.equal(login.statusCode, 503, 'the login form is refused at this level');
  const post = await app.inject({
    method: 'POST',
    url: `/items/${id}/bids`,
    payload: 'amount=10000',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
  });
  t.equal(post.statusCode, 503, 'a bid post is refused');
  t.equal(post.headers['retry-after'], '10');
  t.equal((await shedCount('other')) - otherBefore, 2, 'counted as "other"');
  t.equal((await app.inject({ method: 'GET', url: `/items/${id}` })).statusCode, 503, 'pages too');
  for (const url of ['/static/css/app.css', '/healthz', '/readyz'])
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url}: served`);
  const row = await app.db.auction.findUniqueOrThrow({ where: { id }, select: { bidCount: true } });
  t.equal(row.bidCount, 0, 'nothing changed');
});

t.test('LOAD_SHED_FORCE off (the default): nothing is shed on an idle process', async (t) => {
  const { app } = await startApp(t);
  t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
});
