/**
 * Every redirect stays on this site and every Location / HX-Redirect is a header value Node
 * accepts, whatever `next` or `Referer` a request carries (plain forms and htmx alike).
 */
import t, { type Test } from 'tap';
import { startApp, Client, type Res } from '../helpers/app.js';
import { auction, user, PASSWORD } from '../helpers/auction.js';

const ORIGIN = 'http://127.0.0.1:3000';
/** Node's own rule for header values, and the browser's reading of the target. */
function assertSameOrigin(t: Test, res: Res, what: string) {
  t.ok(res.statusCode < 500, `${what}: not a server error (${res.statusCode})`);
  for (const name of ['location', 'hx-redirect']) {
    const v = res.headers[name];
    if (v === undefined) continue;
    const s = String(v);
    t.match(s, /^\/(?![/\\])[\x21-\x7e]*$/, `${what}: ${name} is a plain same-site path (${JSON.stringify(s)})`);
    t.equal(new URL(s, ORIGIN).origin, ORIGIN, `${what}: ${name} stays on the site`);
  }
}

/** encodeURIComponent, with a lone surrogate sent as the invalid UTF-8 bytes a hostile client would send. */
const enc = (s: string) =>
  s
    .split(/([\ud800-\udfff])/)
    .map((p) => (/^[\ud800-\udfff]$/.test(p) ? '%ED%A0%80' : encodeURIComponent(p)))
    .join('');

/** A test name in plain ASCII (a raw U+2028 in a name breaks the TAP stream). */
const ascii = (s: string) =>
  JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const HOSTILE_NEXT = [
  '/\r\nX-A: 1',
  '/\x7f',
  '/한국어',
  '/\u0000',
  '/\t/evil.example/x',
  '/\t\\evil.example',
  '//evil.example/x',
  '/\\evil.example',
  '/.//evil.example',
  '/%2F/evil.example',
  'https://evil.example/',
  'javascript:alert(1)',
  '\u2028/x',
  '/\ud800',
  '/' + 'x'.repeat(1990),
];

t.test('next= after login never leaves the site nor breaks the header', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  for (const next of HOSTILE_NEXT) {
    const label = ascii(next.slice(0, 30));
    assertSameOrigin(t, await c.get(`/login?next=${enc(next)}`), `GET /login next=${label}`);
    assertSameOrigin(
      t,
      await c.get(`/login?next=${enc(next)}`, { 'hx-request': 'true' }),
      `GET /login (htmx) next=${label}`,
    );
  }
  // The same values through the form, logging in each time (a fresh client, so the form is shown).
  for (const next of HOSTILE_NEXT) {
    const label = ascii(next.slice(0, 30));
    for (const hx of [false, true]) {
      const f = new Client(app);
      await f.get('/login');
      const res = await f.post(
        '/login',
        { email: u.email, password: PASSWORD, next },
        hx ? { 'hx-request': 'true' } : {},
      );
      // A NUL is refused before anything else (core/input.ts); every other value logs in and goes somewhere safe.
      if (next.includes('\u0000'))
        t.equal(res.statusCode, 400, `POST /login ${hx ? '(htmx) ' : ''}next=${label}: refused`);
      else
        t.ok(
          res.statusCode === 303 || res.statusCode === 204,
          `POST /login ${hx ? '(htmx) ' : ''}next=${label}: logged in`,
        );
      assertSameOrigin(t, res, `POST /login ${hx ? '(htmx) ' : ''}next=${label}`);
    }
  }
  // A good target still works, percent-encoded.
  const ok = await c.get(`/login?next=${encodeURIComponent('/search?q=아이폰 13')}`);
  t.equal(ok.headers.location, '/search?q=%EC%95%84%EC%9D%B4%ED%8F%B0%2013');
});

t.test('watch without htmx goes back to the Referer only when it is this site', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const id = await auction(app, { sellerId: seller.id });
  const u = await user(app, config);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  await c.get(`/items/${id}`);
  const host = { host: '127.0.0.1:3000' };
  const cases: [string, string][] = [
    [`${ORIGIN}//evil.example/x`, `/items/${id}`],
    [`${ORIGIN}/\t/evil.example/x`, `/items/${id}`],
    ['http://[', `/items/${id}`],
    ['http://evil.example/my/watchlist', `/items/${id}`],
    [`${ORIGIN}/my/watchlist`, '/my/watchlist'],
    [`${ORIGIN}/search?q=카메라`, '/search?q=%EC%B9%B4%EB%A9%94%EB%9D%BC'],
  ];
  for (const [referer, expected] of cases) {
    const res = await c.post(`/items/${id}/watch`, { watch: '1' }, { ...host, referer });
    assertSameOrigin(t, res, `Referer ${JSON.stringify(referer)}`);
    t.equal(res.headers.location, expected, `Referer ${JSON.stringify(referer)} -> ${expected}`);
  }
});

t.test("the request id echoed back is the proxy's only when it is a plain token", async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  t.equal((await c.get('/healthz', { 'x-request-id': 'lb-1234.abc:5' })).headers['x-request-id'], 'lb-1234.abc:5');
  for (const bad of ['a\u007fb', 'x'.repeat(65), 'a b', 'é', '']) {
    const res = await c.get('/healthz', { 'x-request-id': bad });
    t.equal(res.statusCode, 200);
    t.match(
      String(res.headers['x-request-id']),
      /^[0-9a-f-]{36}$/,
      `x-request-id ${JSON.stringify(bad.slice(0, 10))} replaced by a fresh id`,
    );
  }
});
