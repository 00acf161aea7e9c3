/**
 * One request must not stop the process. The real server (src/server.ts, with close-with-grace
 * treating an unhandled rejection as fatal) gets the requests that used to throw while the
 * reply was being sent; after each one it still answers /healthz, and it is still running at
 * the end. In-process: a header Node refuses, set by a handler, is dropped instead of throwing;
 * a session-store callback that throws is reported, not turned into an unhandled rejection.
 */
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { REDIS_URL, testDatabaseUrl, uniq } from '../helpers/env.js';
import { spawnServer } from '../helpers/server.js';
import { startApp, Client } from '../helpers/app.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { redisSessionStore } from '../../src/core/security.js';

async function startServer(t: Test) {
  const databaseUrl = await testDatabaseUrl();
  const s = await spawnServer((port) => ({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `tsurvive${port}`,
    LOG_LEVEL: 'warn',
  }));
  t.teardown(async () => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`tsurvive${s.port}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });
  // Up when /healthz answers (LOG_LEVEL warn: the "listening" line is not logged).
  for (let i = 0; i < 300; i++) {
    if (s.child.exitCode !== null) break;
    const up = await fetch(`${s.base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child: s.child, base: s.base, output: s.output };
}

/** A cookie jar over fetch, enough to log in through the real form. */
class Browser {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly base: string) {}
  async req(p: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + p, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1];
    return { status: res.status, headers: res.headers, body };
  }
  form(p: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.req(p, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: this.csrf, ...fields }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }
}

t.test('the real server stays up after each request that used to crash it', async (t) => {
  const { child, base, output } = await startServer(t);
  t.equal(child.exitCode, null, 'server started');
  const { app } = await startApp(t);
  const u = uniq();
  const email = `survive${u}@example.com`;
  await createUserDirect(app.db, { email, nickname: `survive${u}`, password: 'survive test password' });
  const b = new Browser(base);
  await b.req('/login');
  t.equal((await b.form('/login', { email, password: 'survive test password' })).status, 303, 'logged in');

  const nexts = ['/%0D%0AX-A:%201', '/%7F', '/%ED%95%9C', '/%ED%A0%80', '%2F%09%2Fevil.example%2Fx'];
  const bad: [string, () => Promise<{ status: number; headers: Headers }>][] = [];
  for (const n of nexts) {
    bad.push([`GET /login?next=${n}`, () => b.req(`/login?next=${n}`)]);
    bad.push([`GET /login?next=${n} (htmx)`, () => b.req(`/login?next=${n}`, { headers: { 'hx-request': 'true' } })]);
  }
  for (const n of ['/\r\nX-A: 1', '/\x7f', '/한', '/\t/evil.example/x']) {
    for (const hx of [false, true]) {
      bad.push([
        `POST /login next=${JSON.stringify(n)}${hx ? ' (htmx)' : ''}`,
        async () => {
          const f = new Browser(base);
          await f.req('/login');
          return f.form(
            '/login',
            { email, password: 'survive test password', next: n },
            hx ? { 'hx-request': 'true' } : {},
          );
        },
      ]);
    }
  }
  bad.push([
    'POST /items/1/watch Referer http://[',
    () => b.form('/items/1/watch', { watch: '1' }, { referer: 'http://[' }),
  ]);
  for (const [what, send] of bad) {
    const res = await send();
    t.ok(res.status < 500, `${what}: ${res.status}`);
    const loc = res.headers.get('location') ?? res.headers.get('hx-redirect');
    if (loc) t.equal(new URL(loc, base).origin, base, `${what}: stays on the site (${loc})`);
    t.equal((await fetch(`${base}/healthz`)).status, 200, `${what}: /healthz still answers`);
  }
  // close-with-grace would have begun a shutdown at once; give it the time to show.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(child.exitCode, null, 'the process is still running');
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  t.notMatch(output(), /fatal error|ERR_INVALID_CHAR|unhandled/i, 'nothing fatal in the log');
});

t.test('a header value Node refuses is dropped, the reply still goes out, nothing is thrown', async (t) => {
  const { app } = await startApp(t, {}, (a) => {
    a.get('/t/bad-header', async (req, reply) => {
      req.session.flash = { kind: 'info', key: 'x' }; // a session to save: the path that used to throw
      reply.header('x-made-from-input', 'a\u0100b').header('location', '/\r\nX: 1');
      return reply.code(303).send();
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  t.teardown(() => process.off('unhandledRejection', onRejection));
  const res = await fetch(`http://127.0.0.1:${port}/t/bad-header`, { redirect: 'manual' });
  t.equal(res.status, 303);
  t.equal(res.headers.get('location'), '/', 'the redirect target fell back to /');
  t.equal(res.headers.get('x-made-from-input'), null, 'the bad header was dropped');
  t.equal(res.headers.get('cache-control'), 'no-store', 'a session-bearing reply is not cacheable');
  await new Promise((r) => setTimeout(r, 100));
  t.same(rejections, [], 'no unhandled rejection');
  t.equal((await new Client(app).get('/healthz')).statusCode, 200);
});

t.test('a session-store callback that throws is reported, not an unhandled rejection', async (t) => {
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  const prefix = `tstore${uniq()}`;
  const reported: unknown[] = [];
  const store = redisSessionStore(redis, prefix, (err) => reported.push(err));
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  t.teardown(() => process.off('unhandledRejection', onRejection));
  await new Promise<void>((resolve) => {
    store.set('sid1', { cookie: { originalMaxAge: 1000 } }, () => {
      setImmediate(resolve);
      throw new TypeError('Invalid character in header content ["location"]');
    });
  });
  await new Promise<void>((resolve) =>
    store.get(
      'sid1',
      () => (
        setImmediate(resolve),
        (() => {
          throw new Error('from get');
        })()
      ),
    ),
  );
  await new Promise<void>((resolve) =>
    store.destroy(
      'sid1',
      () => (
        setImmediate(resolve),
        (() => {
          throw new Error('from destroy');
        })()
      ),
    ),
  );
  await new Promise((r) => setTimeout(r, 50));
  t.equal(reported.length, 3, 'each throw reported');
  t.same(rejections, [], 'no unhandled rejection');
});
