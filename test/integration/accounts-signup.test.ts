import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import { waitForMail, linkIn } from '../helpers/mail.js';

t.test('sign up by plain form: "check your e-mail", the link creates the account and logs in', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  const email = `user${u}@example.com`;
  await c.get('/signup');
  const mail = waitForMail(app, email);
  const res = await c.post('/signup', {
    email: `User${u}@Example.com`,
    nickname: `판다${u}`,
    password: 'correct horse battery',
    terms: 'on',
    privacy: 'on',
  });
  t.equal(res.statusCode, 200);
  t.match(res.body, '메일을 확인해 주세요');
  t.equal(await app.db.user.count({ where: { email } }), 0, 'no account before the link is used');
  const m = await mail;
  t.match(m.subject, '가입을 마무리해 주세요');
  const link = linkIn(m, '/signup/verify')!;
  t.ok(link, 'the mail has the link');
  const page = await c.get(link);
  t.equal(page.statusCode, 200, 'opening the link shows a button (mail scanners open links too)');
  t.equal(await app.db.user.count({ where: { email } }), 0, 'opening it changes nothing');
  const before = c.cookies.get('sid');
  const token = new URL(link, 'http://x').searchParams.get('token')!;
  const done = await c.post('/signup/verify', { token });
  t.equal(done.statusCode, 303);
  t.equal(done.headers.location, '/');
  t.not(c.cookies.get('sid'), before, 'session id rotated at sign-up');
  const home = await c.get('/');
  t.match(home.body, `판다${u}`, 'nickname shown in the header');
  t.match(home.body, `환영해요, 판다${u}님!`, 'welcome flash');
  const row = await app.db.user.findUnique({ where: { email } });
  t.ok(row, 'email stored lower-cased');
  t.match(row!.passwordHash, /^\$argon2id\$/, 'argon2id hash');
  const again = await new Client(app).post('/signup/verify', { token, _csrf: null });
  t.equal(again.statusCode, 403, 'a form post without a token is refused');
  const other = new Client(app);
  await other.get(link);
  t.equal((await other.post('/signup/verify', { token })).statusCode, 400, 'the link works once');
});

t.test('sign up through htmx answers with the "check your e-mail" card', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  const res = await c.signup(
    { email: `hx${u}@example.com`, nickname: `hx${u}`, password: 'long enough pw' },
    { 'hx-request': 'true' },
  );
  t.equal(res.statusCode, 204, 'the verification answers HX-Redirect');
  t.equal(res.headers['hx-redirect'], '/');
  const d = new Client(app);
  await d.get('/signup');
  const card = await d.post(
    '/signup',
    { email: `hx2${u}@example.com`, nickname: `hx2${u}`, password: 'long enough pw', terms: 'on', privacy: 'on' },
    { 'hx-request': 'true' },
  );
  t.equal(card.statusCode, 200);
  t.match(card.body, /^<div class="card form" role="status"/, 'fragment only');
});

t.test('bad input returns the form with field messages, keeps the values, stores nothing', async (t) => {
  const { app } = await startApp(t);
  const existing = new Client(app);
  const u = uniq();
  t.equal(
    (await existing.signup({ email: `taken${u}@example.com`, nickname: `taken${u}`, password: 'long enough pw' }))
      .statusCode,
    303,
  );
  // Only this test's addresses and nicknames: other test files create users in the same database at the same time.
  const count = () =>
    app.db.user.count({
      where: {
        OR: [
          { email: { contains: u } },
          { nickname: { contains: u } },
          { email: 'not-an-email' },
          { email: 'x' },
          { nickname: '가'.repeat(21) },
        ],
      },
    });
  const pending = () =>
    app.db.signupRequest.count({ where: { OR: [{ email: { contains: u } }, { nickname: { contains: u } }] } });
  const base = await count();
  const basePending = await pending();

  const cases: { name: string; form: Record<string, string>; expect: RegExp[] }[] = [
    {
      name: 'short password',
      form: { email: `weak${u}@example.com`, nickname: `weak${u}`, password: 'short' },
      expect: [/비밀번호는 10자 이상이어야 해요/],
    },
    {
      name: 'common password',
      form: { email: `common${u}@example.com`, nickname: `common${u}`, password: 'password12' },
      expect: [/흔하게 쓰이는 비밀번호예요/],
    },
    {
      name: 'invalid email',
      form: { email: 'not-an-email', nickname: `inv${u}`, password: 'long enough pw' },
      expect: [/올바른 이메일 주소를 입력해 주세요/],
    },
    {
      name: 'nickname taken',
      form: { email: `nick${u}@example.com`, nickname: `taken${u}`, password: 'long enough pw' },
      expect: [/이미 사용 중인 닉네임이에요/],
    },
    {
      name: 'nickname over 20 chars',
      form: { email: `long${u}@example.com`, nickname: '가'.repeat(21), password: 'long enough pw' },
      expect: [/닉네임은 20자 이하여야 해요/],
    },
    {
      name: 'everything wrong at once',
      form: { email: 'x', nickname: '', password: '1' },
      expect: [/올바른 이메일/, /닉네임을 입력해 주세요/, /10자 이상/],
    },
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
  t.equal(await pending(), basePending, 'no sign-up is pending');

  // htmx gets only the form back, in English when the cookie says so
  const c = new Client(app);
  await c.get('/signup?lang=en');
  const res = await c.post(
    '/signup',
    { email: 'bad', nickname: `en${u}`, password: 'long enough pw' },
    { 'hx-request': 'true' },
  );
  t.equal(res.statusCode, 422);
  t.match(res.body, /^<form/, 'fragment only');
  t.match(res.body, 'Enter a valid email address.');
});

t.test('a POST without the CSRF token is refused with 403 and changes nothing', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  await c.get('/signup');
  const res = await c.post('/signup', {
    _csrf: null,
    email: `csrf${u}@example.com`,
    nickname: `csrf${u}`,
    password: 'long enough pw',
  });
  t.equal(res.statusCode, 403);
  t.match(res.body, '보안 토큰이 만료되었어요');
  t.equal(await app.db.signupRequest.count({ where: { email: `csrf${u}@example.com` } }), 0);
  const forged = await c.post('/signup', {
    _csrf: 'forged-token',
    email: `csrf${u}@example.com`,
    nickname: `csrf${u}`,
    password: 'long enough pw',
  });
  t.equal(forged.statusCode, 403, 'a wrong token too');
  const json = await c.post('/logout', { _csrf: null }, { accept: 'application/json' });
  t.equal(json.statusCode, 403);
  t.equal(json.json().error.code, 'CSRF');
});

t.test('sign-ups racing for one nickname: every link is mailed, exactly one account is made', async (t) => {
  const { app } = await startApp(t);
  const u = uniq();
  const clients = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const c = new Client(app);
      await c.get('/signup');
      return { c, i, mail: waitForMail(app, `race${i}${u}@example.com`) };
    }),
  );
  const forms = await Promise.all(
    clients.map(({ c, i }) =>
      c.post('/signup', {
        email: `race${i}${u}@example.com`,
        nickname: `race${u}`,
        password: 'long enough pw',
        terms: 'on',
        privacy: 'on',
      }),
    ),
  );
  t.same(
    forms.map((r) => r.statusCode),
    [200, 200, 200, 200, 200, 200],
    'each is told to check their e-mail',
  );
  const links = await Promise.all(clients.map(async ({ mail }) => linkIn(await mail, '/signup/verify')!));
  await Promise.all(clients.map(({ c }, i) => c.get(links[i])));
  const results = await Promise.all(
    clients.map(({ c }, i) =>
      c.post('/signup/verify', { token: new URL(links[i], 'http://x').searchParams.get('token')! }),
    ),
  );
  t.equal(results.filter((r) => r.statusCode === 303).length, 1, 'one account created');
  const refused = results.filter((r) => r.statusCode === 409);
  t.equal(refused.length, 5, 'the rest told the nickname went meanwhile');
  t.match(refused[0].body, '그사이 다른 분이 이 닉네임으로 가입했어요');
  t.equal(await app.db.user.count({ where: { nickname: `race${u}` } }), 1);
});
