/**
 * No session until one is needed: anonymous page views leave nothing in Redis (no `sess:` key, no
 * `sid` cookie), the forms a logged-out visitor posts (login, sign-up) keep working with CSRF
 * enforced through the stateless cookie secret, and a token is bound to who is logged in.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { auction, user, PASSWORD } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';

const keysOf = async (app: { redis: import('ioredis').Redis }, prefix: string) => {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await app.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  // BullMQ's own bookkeeping, the queues' epoch and the auction sweeper's cursor come and go on their
  // timers, not per page view.
  return found.filter((k) => !/:bull:|:bidding:sweep:|:queue-epoch$/.test(k)).sort();
};

t.test('10,000 anonymous GETs over every public page add 0 keys to Redis', async (t) => {
  // As in production: with the anonymous page cache on (it must add no keys either). Load shedding is
  // not what this counts: on a busy machine the first renders (templates compiling) made under-pressure
  // refuse the next pages with 503, so its thresholds are out of the way here (load-shedding.test.ts).
  const { app, config } = await startApp(t, {
    RATE_LIMIT_MAX: '1000000',
    PAGE_CACHE_ENABLED: 'on',
    LOAD_SHED_BROWSING_DELAY_MS: '60000',
    LOAD_SHED_ALL_DELAY_MS: '60000',
  });
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id, title: `아이폰 익명 ${uniq()}` });
  const category = await app.db.category.findFirstOrThrow({ where: { parentId: null }, orderBy: { id: 'asc' } });
  const pages = [
    '/',
    '/?lang=en',
    `/items/${id}`,
    `/items/${id}/bid-panel`,
    '/search?q=%EC%95%84%EC%9D%B4%ED%8F%B0',
    '/search',
    `/c/${category.slug}`,
    `/sellers/${seller.id}`,
    '/login',
    '/signup',
    '/password/forgot',
  ];
  // One round first: the per-address rate-limit counter exists from the first request on.
  for (const p of pages) {
    const res = await app.inject({ method: 'GET', url: p });
    t.ok(res.statusCode < 500, `${p}: ${res.statusCode}`);
  }
  const before = await keysOf(app, config.redisPrefix);
  let sids = 0;
  let fails = 0;
  const deadline = Date.now() + 240_000;
  const N = 10_000;
  let done = 0;
  for (let i = 0; i < N && Date.now() < deadline; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, N - i) }, (_, j) =>
        app.inject({ method: 'GET', url: pages[(i + j) % pages.length] }),
      ),
    );
    for (const res of batch) {
      if (res.statusCode >= 500 || res.statusCode === 429) fails++;
      if (/(^|,\s*)sid=/.test(String(res.headers['set-cookie'] ?? ''))) sids++;
    }
    done += batch.length;
  }
  t.equal(done, N, `${N} page views made in time`);
  t.equal(fails, 0, 'no 5xx, no 429');
  t.equal(sids, 0, 'no session cookie set');
  const after = await keysOf(app, config.redisPrefix);
  t.same(after, before, 'the same Redis keys before and after: +0');
  t.equal(after.filter((k) => k.includes(':sess:')).length, 0, 'no sess: key at all');
  const home = await app.inject({ method: 'GET', url: '/' });
  t.equal(home.headers['set-cookie'], undefined, 'the anonymous home page sets no cookie');
  t.notMatch(home.body, 'x-csrf-token', 'and carries no CSRF token');
});

t.test('login with the stateless CSRF secret; without a token it is refused', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config);
  // No token: 403, nothing stored.
  const bare = new Client(app);
  await bare.get('/login');
  t.ok(bare.cookies.has('_csrf'), 'the login form sets the signed CSRF secret cookie');
  t.notOk(bare.cookies.has('sid'), 'but no session');
  const refused = await bare.post('/login', { email: u.email, password: PASSWORD, _csrf: null });
  t.equal(refused.statusCode, 403, 'no token: refused');
  const forged = await bare.post('/login', { email: u.email, password: PASSWORD, _csrf: 'forged-token' });
  t.equal(forged.statusCode, 403, 'a forged token: refused');
  // A token from another browser's secret is refused too.
  const other = new Client(app);
  await other.get('/login');
  const stolen = await bare.post('/login', { email: u.email, password: PASSWORD, _csrf: other.csrf });
  t.equal(stolen.statusCode, 403, "another browser's token: refused");
  t.equal((await keysOf(app, config.redisPrefix)).filter((k) => k.includes(':sess:')).length, 0, 'no session yet');

  const c = new Client(app);
  const form = await c.get('/login');
  t.match(form.headers['cache-control'], 'no-store', 'a page with a token is never stored by a shared cache');
  const anonToken = c.csrf;
  const ok = await c.post('/login', { email: u.email, password: PASSWORD });
  t.equal(ok.statusCode, 303, 'logged in');
  t.ok(c.cookies.has('sid'), 'the session starts at the login');
  const me = await c.get('/me');
  t.equal(me.statusCode, 200);
  t.not(c.csrf, anonToken, 'a new token for the logged-in person');
  // The logged-out token is bound to "anonymous": it does not work for the person's session.
  const logoutWithOld = await c.post('/logout', { _csrf: anonToken });
  t.equal(logoutWithOld.statusCode, 403, 'the pre-login token is refused after the login');
  const logout = await c.post('/logout', {});
  t.equal(logout.statusCode, 303, 'logout with the current token');
});

t.test('sign-up works with CSRF enforced and no session before it', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const form = await c.get('/signup');
  t.equal(form.statusCode, 200);
  t.notOk(c.cookies.has('sid'), 'the sign-up form starts no session');
  const noToken = await c.post('/signup', {
    email: `n${uniq()}@example.com`,
    nickname: `n${uniq()}`,
    password: PASSWORD,
    _csrf: null,
  });
  t.equal(noToken.statusCode, 403, 'sign-up without a token: refused');
  const u = uniq();
  const res = await c.signup({
    email: `s${u}@example.com`,
    nickname: `s${u}`,
    password: 'a long enough passphrase 77',
  });
  t.equal(res.statusCode, 303, 'signed up and logged in');
  t.equal((await c.get('/me')).statusCode, 200);
});

t.test('a logged-out bid goes to the login form (no token needed where a login is required)', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id });
  const page = await app.inject({ method: 'GET', url: `/items/${id}` });
  t.equal(page.statusCode, 200);
  const res = await app.inject({
    method: 'POST',
    url: `/items/${id}/bids`,
    payload: 'amount=20000&quick=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
  });
  t.equal(res.statusCode, 401, 'htmx: 401 with a redirect to the login form');
  t.match(String(res.headers['hx-redirect']), `/login?next=`);
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0, 'no bid stored');
});
