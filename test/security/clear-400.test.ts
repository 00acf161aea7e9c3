/**
 * Input that used to end in a 500 (PostgreSQL refusing it, a multipart parser error) is a clear
 * 400/422 with a message, and changes nothing.
 */
import t, { type Test } from 'tap';
import { startApp, Client, type Res } from '../helpers/app.js';
import { user, PASSWORD } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function clear(t: Test, res: Res, what: string, message: RegExp) {
  t.ok(res.statusCode === 400 || res.statusCode === 422, `${what}: 400/422 (got ${res.statusCode})`);
  t.match(res.body, message, `${what}: says why`);
}

t.test('query and form text', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config, 50_000);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  const nul = /사용할 수 없는 문자/;
  clear(t, await c.get('/search?q=%00'), 'search q=NUL', nul);
  clear(t, await c.get('/search?q=a%00b&sort=relevance'), 'search q with NUL inside', nul);
  clear(t, await c.get('/c/phones?q=%00'), 'category q=NUL', nul);
  clear(t, await c.get('/search?q=%00', { 'hx-request': 'true', 'hx-target': 'results' }), 'htmx search q=NUL', nul);

  const users = await app.db.user.count();
  for (const [path, form] of [
    ['/login', { email: 'a\u0000@example.com', password: 'whatever password' }],
    ['/signup', { email: `nul\u0000${uniq()}@example.com`, nickname: `nul${uniq()}`, password: 'Xk2#pLm9!qR4zW' }],
  ] as const) {
    const anon = new Client(app);
    await anon.get(path);
    clear(t, await anon.post(path, form), `POST ${path} with NUL in the email`, nul);
  }
  t.equal(await app.db.user.count(), users, 'no account created');
});

t.test('crafted cursors', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  const bad = /페이지 주소가 올바르지 않아요/;
  const cases: [string, string][] = [
    ['/search?sort=price_asc&cursor=WzFlKzMwMCwxXQ', 'price 1e300'],
    [`/search?sort=ending&cursor=${cursor(['2026-01-01T00:00:00Z', 99999999999])}`, 'id beyond int'],
    [`/search?sort=price_desc&cursor=${cursor([5, 1e12])}`, 'id 1e12'],
    [`/search?sort=newest&cursor=${cursor(['not a date', 1])}`, 'not a date'],
    [`/search?sort=bids&cursor=${cursor(['5', 1])}`, 'number as string'],
    [`/search?q=x&sort=relevance&cursor=${cursor([1.5, 1])}`, 'fraction'],
    ['/search?cursor=garbage', 'not base64 JSON'],
    [`/my/listings?cursor=${cursor(['2026-01-01T00:00:00Z', 1e12])}`, 'my listings id 1e12'],
    [`/my/listings?cursor=${cursor(['+275760-09-13T00:00:00.000Z', 1])}`, 'my listings year 275760'],
    [`/sellers/${u.id}?cursor=${cursor([1, 1, 1])}`, 'seller page three items'],
  ];
  for (const [url, what] of cases) clear(t, await c.get(url), what, bad);
  // A real cursor still pages.
  t.equal(
    (await c.get(`/search?sort=price_asc&cursor=${cursor([1000, 1])}`)).statusCode,
    200,
    'a well-formed cursor works',
  );
});

t.test('wallet history filters', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config, 50_000);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  for (const q of [
    'before=9999999999999999999',
    'from=2026-13-45',
    'from=2026-02-30',
    'to=0000-00-00',
    'to=0001-01-00',
    'from=2025-02-29',
  ]) {
    clear(t, await c.get(`/wallet?${q}`), `/wallet?${q}`, /입력값을 확인해 주세요/);
  }
  t.equal((await c.get('/wallet?from=2024-02-29&to=2024-03-01')).statusCode, 200, 'a leap day is a day');
  t.equal((await c.get('/wallet?before=999999999999999999')).statusCode, 200, '18 digits is a cursor');
});

t.test('malformed multipart uploads', async (t) => {
  const { app, config } = await startApp(t);
  const u = await user(app, config);
  const c = new Client(app);
  await c.login(u.email, PASSWORD);
  await c.get('/sell');
  const photos = await app.db.photo.count({ where: { ownerId: u.id } });
  const send = (url: string, ct: string, payload: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': ct,
        cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        'x-csrf-token': c.csrf,
      },
      payload,
    }) as unknown as Promise<Res>;
  const part =
    '--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff';
  const bad = /업로드가 중간에 끊겼거나/;
  clear(t, await send('/sell/photos', 'multipart/form-data', `${part}\r\n--x--\r\n`), 'no boundary', bad);
  clear(
    t,
    await send('/sell/photos', 'multipart/form-data; boundary=y', `${part}\r\n--x--\r\n`),
    'wrong boundary',
    bad,
  );
  clear(t, await send('/sell/photos', 'multipart/form-data; boundary=x', part), 'truncated', bad);
  clear(
    t,
    await send(
      '/sell',
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nab',
    ),
    'listing form truncated',
    bad,
  );
  clear(
    t,
    await send(
      '/sell',
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\na\u0000b\r\n--x--\r\n',
    ),
    'NUL in a multipart field',
    /사용할 수 없는 문자/,
  );
  t.equal(await app.db.photo.count({ where: { ownerId: u.id } }), photos, 'nothing stored');
});
