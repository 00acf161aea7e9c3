import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';

t.test('sign up by plain form: redirected home, logged in, nickname in the header', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  await c.get('/signup');
  const before = c.cookies.get('sid');
  const res = await c.post('/signup', { email: `User${u}@Example.com`, nickname: `판다${u}`, password: 'correct horse battery' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.not(c.cookies.get('sid'), before, 'session id rotated at sign-up');
  const home = await c.get('/');
  t.match(home.body, `판다${u}`, 'nickname shown in the header');
  t.match(home.body, `환영해요, 판다${u}님!`, 'welcome flash');
  const row = await app.db.user.findUnique({ where: { email: `user${u}@example.com` } });
  t.ok(row, 'email stored lower-cased');
  t.not(row!.passwordHash, 'correct horse battery');
  t.match(row!.passwordHash, /^\$argon2id\$/, 'argon2id hash');
});

t.test('sign up through htmx answers HX-Redirect', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  await c.get('/signup');
  const res = await c.post('/signup', { email: `hx${u}@example.com`, nickname: `hx${u}`, password: 'long enough pw' }, { 'hx-request': 'true' });
  t.equal(res.statusCode, 204);
  t.equal(res.headers['hx-redirect'], '/');
});

t.test('bad input returns the form with field messages, keeps the values, stores nothing', async (t) => {
  const { app } = await startApp(t);
  const existing = new Client(app);
  const u = uniq();
  t.equal((await existing.signup({ email: `taken${u}@example.com`, nickname: `taken${u}`, password: 'long enough pw' })).statusCode, 303);
  // Only this test's addresses and nicknames: other test files create users in the same database at the same time.
  const count = () => app.db.user.count({ where: { OR: [{ email: { contains: u } }, { nickname: { contains: u } }, { email: 'not-an-email' }, { email: 'x' }, { nickname: '가'.repeat(21) }] } });
  const base = await count();

  const cases: { name: string; form: Record<string, string>; expect: RegExp[] }[] = [
    { name: 'duplicate email', form: { email: `TAKEN${u}@example.com`, nickname: `new${u}`, password: 'long enough pw' }, expect: [/이미 가입된 이메일이에요/] },
    { name: 'weak password', form: { email: `weak${u}@example.com`, nickname: `weak${u}`, password: 'short' }, expect: [/비밀번호는 10자 이상이어야 해요/] },
    { name: 'invalid email', form: { email: 'not-an-email', nickname: `inv${u}`, password: 'long enough pw' }, expect: [/올바른 이메일 주소를 입력해 주세요/] },
    { name: 'nickname taken', form: { email: `nick${u}@example.com`, nickname: `taken${u}`, password: 'long enough pw' }, expect: [/이미 사용 중인 닉네임이에요/] },
    { name: 'nickname over 20 chars', form: { email: `long${u}@example.com`, nickname: '가'.repeat(21), password: 'long enough pw' }, expect: [/닉네임은 20자 이하여야 해요/] },
    { name: 'everything wrong at once', form: { email: 'x', nickname: '', password: '1' }, expect: [/올바른 이메일/, /닉네임을 입력해 주세요/, /10자 이상/] },
  ];
  for (const tc of cases) {
    const c = new Client(app);
    await c.get('/signup');
    const res = await c.post('/signup', tc.form);
    t.equal(res.statusCode, 422, `${tc.name}: 422`);
    for (const re of tc.expect) t.match(res.body, re, `${tc.name}: message`);
    if (tc.form.email) t.match(res.body, `value="${tc.form.email.trim().toLowerCase()}"`, `${tc.name}: email kept`);
    if (tc.form.nickname) t.match(res.body, `value="${tc.form.nickname}"`, `${tc.name}: nickname kept`);
    t.notMatch(res.body, `value="${tc.form.password}"`, `${tc.name}: password never echoed`);
  }
  t.equal(await count(), base, 'no user row was created');

  // htmx gets only the form back, in English when the cookie says so
  const c = new Client(app);
  await c.get('/signup?lang=en');
  const res = await c.post('/signup', { email: 'bad', nickname: `en${u}`, password: 'long enough pw' }, { 'hx-request': 'true' });
  t.equal(res.statusCode, 422);
  t.match(res.body, /^<form/, 'fragment only');
  t.match(res.body, 'Enter a valid email address.');
});

t.test('a POST without the CSRF token is refused with 403 and changes nothing', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  await c.get('/signup');
  const res = await c.post('/signup', { _csrf: null, email: `csrf${u}@example.com`, nickname: `csrf${u}`, password: 'long enough pw' });
  t.equal(res.statusCode, 403);
  t.match(res.body, '보안 토큰이 만료되었어요');
  t.equal(await app.db.user.count({ where: { email: `csrf${u}@example.com` } }), 0);
  const forged = await c.post('/signup', { _csrf: 'forged-token', email: `csrf${u}@example.com`, nickname: `csrf${u}`, password: 'long enough pw' });
  t.equal(forged.statusCode, 403, 'a wrong token too');
  const json = await c.post('/logout', { _csrf: null }, { accept: 'application/json' });
  t.equal(json.statusCode, 403);
  t.equal(json.json().error.code, 'CSRF');
});

t.test('two sign-ups racing for one nickname: exactly one wins', async (t) => {
  const { app } = await startApp(t);
  const u = uniq();
  const clients = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const c = new Client(app);
      await c.get('/signup');
      return { c, i };
    }),
  );
  const results = await Promise.all(clients.map(({ c, i }) => c.post('/signup', { email: `race${i}${u}@example.com`, nickname: `race${u}`, password: 'long enough pw' })));
  t.equal(results.filter((r) => r.statusCode === 303).length, 1, 'one account created');
  t.equal(results.filter((r) => r.statusCode === 422).length, 5, 'the rest told the nickname is taken');
  t.equal(await app.db.user.count({ where: { nickname: `race${u}` } }), 1);
});
