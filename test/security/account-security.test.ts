/**
 * Account security for people with money on the site: guessable passwords are refused with a
 * reason; failures from one address cannot lock the owner out from another; sign-up, login and
 * reset answer alike for known and unknown addresses; a reset link arrives over real SMTP,
 * works once, and ends every session of the user.
 */
import t from 'tap';
import { SMTPServer } from 'smtp-server';
import { startApp, Client, type Res } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import { waitForMail, linkIn } from '../helpers/mail.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';

const PASSWORD = 'owner long password here';

async function member(app: Parameters<typeof createUserDirect>[0]) {
  const u = uniq();
  const email = `sec${u}@example.com`;
  await createUserDirect(app, { email, nickname: `sec${u}`, password: PASSWORD });
  return { email, nickname: `sec${u}` };
}

/** The page without what differs per request (CSRF tokens, the typed address). */
const shape = (r: Res, email: string) =>
  `${r.statusCode} ${r.body.replaceAll(email, 'EMAIL').replace(/(csrf[^"]*": "|name="_csrf" value=")[^"]+/g, '$1X')}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

t.test('guessable passwords are refused, with the reason', async (t) => {
  const { app } = await startApp(t);
  for (const [password, reason] of [
    ['1234567890', /많이 쓰이는|흔하게|연속된/],
    ['aaaaaaaaaa', /같은 글자를 반복/],
    ['password12', /흔하게 쓰이는|흔한 비밀번호/],
    ['qwertyuiop', /많이 쓰이는|흔하게|키보드/],
  ] as const) {
    const c = new Client(app);
    await c.get('/signup');
    const u = uniq();
    const res = await c.post('/signup', { email: `weak${u}@example.com`, nickname: `weak${u}`, password });
    t.equal(res.statusCode, 422, `${password}: refused`);
    t.match(res.body, reason, `${password}: says why`);
  }
  const c = new Client(app);
  await c.get('/signup?lang=en');
  const u = uniq();
  const en = await c.post('/signup', { email: `weak${u}@example.com`, nickname: `weak${u}`, password: `weak${u}2024` });
  t.equal(en.statusCode, 422, 'the nickname inside the password');
  t.match(en.body, /e-mail or nickname in it|easy to guess/, 'in English too');
});

t.test('an attacker at address A cannot lock the owner out at address B', async (t) => {
  const { app } = await startApp(t);
  const owner = await member(app.db);
  const attacker = new Client(app, '203.0.113.9');
  await attacker.get('/login');
  const codes: number[] = [];
  for (let i = 0; i < 12; i++)
    codes.push((await attacker.post('/login', { email: owner.email, password: `guess ${i} password` })).statusCode);
  t.same(codes.slice(0, 4), [422, 422, 422, 422], 'the first failures are answered plainly');
  t.ok(
    codes.slice(4).every((c) => c === 429),
    "then the attacker's address waits",
  );
  const blocked = await attacker.post('/login', { email: owner.email, password: PASSWORD });
  t.equal(blocked.statusCode, 429, "even the right password waits at the attacker's address");
  t.ok(Number(blocked.headers['retry-after']) >= 1, 'Retry-After given');
  t.match(blocked.body, '로그인 시도가 너무 많아요');

  const ownerClient = new Client(app, '198.51.100.20');
  await ownerClient.get('/login');
  const res = await ownerClient.post('/login', { email: owner.email, password: PASSWORD });
  t.equal(res.statusCode, 303, 'the owner logs in from another address at once');

  // One address trying many accounts is slowed down too.
  const sprayer = new Client(app, '203.0.113.10');
  await sprayer.get('/login');
  const spray: number[] = [];
  for (let i = 0; i < 22; i++)
    spray.push(
      (await sprayer.post('/login', { email: `nobody${i}${uniq()}@example.com`, password: 'guess password' }))
        .statusCode,
    );
  t.equal(spray.filter((c) => c === 422).length, 20, '20 free failures per address');
  t.equal(spray[21], 429, 'then it waits');
});

t.test('sign-up, login and reset answer the same for known and unknown addresses', async (t) => {
  const { app } = await startApp(t);
  const known = await member(app.db);
  const unknown = `nobody${uniq()}@example.com`;
  const timings = {
    knownSignup: [] as number[],
    unknownSignup: [] as number[],
    knownReset: [] as number[],
    unknownReset: [] as number[],
  };
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) {
    for (const [email, kind] of [
      [known.email, 'known'],
      [unknown, 'unknown'],
    ] as const) {
      const c = new Client(app, `192.0.2.${i * 2 + (kind === 'known' ? 1 : 2)}`);
      await c.get('/signup');
      let start = performance.now();
      codes.push(
        (
          await c.post('/signup', {
            email,
            nickname: `n${uniq()}`,
            password: 'a fine long password',
            terms: 'on',
            privacy: 'on',
          })
        ).statusCode,
      );
      timings[`${kind}Signup`].push(performance.now() - start);
      await c.get('/password/forgot');
      start = performance.now();
      codes.push((await c.post('/password/forgot', { email })).statusCode);
      timings[`${kind}Reset`].push(performance.now() - start);
    }
  }
  t.ok(
    codes.every((c) => c === 200),
    'every sign-up and reset form answered 200',
  );
  // Same page, byte for byte, once the typed address is set aside.
  const page = async (email: string, path: string, form: Record<string, string>) => {
    const c = new Client(app, '192.0.2.200');
    await c.get(path);
    return shape(await c.post(path, form), email);
  };
  t.equal(
    await page(known.email, '/signup', {
      email: known.email,
      nickname: 'samepage1',
      password: 'a fine long password',
      terms: 'on',
      privacy: 'on',
    }),
    await page(unknown, '/signup', {
      email: unknown,
      nickname: 'samepage1',
      password: 'a fine long password',
      terms: 'on',
      privacy: 'on',
    }),
    'sign-up: the same page',
  );
  t.equal(
    await page(known.email, '/password/forgot', { email: known.email }),
    await page(unknown, '/password/forgot', { email: unknown }),
    'reset: the same page',
  );
  const lk = new Client(app, '192.0.2.201');
  await lk.get('/login');
  const lu = new Client(app, '192.0.2.202');
  await lu.get('/login');
  t.equal(
    shape(await lk.post('/login', { email: known.email, password: 'wrong password x' }), known.email),
    shape(await lu.post('/login', { email: unknown, password: 'wrong password x' }), unknown),
    'login: the same page',
  );
  // Timing: medians within a few milliseconds plus a fraction (the work differs only off the request).
  for (const what of ['Signup', 'Reset'] as const) {
    const k = median(timings[`known${what}`]);
    const u = median(timings[`unknown${what}`]);
    t.ok(
      Math.abs(k - u) < 25 + 0.5 * Math.max(k, u),
      `${what}: known ${k.toFixed(1)} ms vs unknown ${u.toFixed(1)} ms`,
    );
  }
  t.equal(await app.db.user.count({ where: { email: unknown } }), 0, 'no account for the unknown address yet');
});

t.test('password reset over real SMTP: one-time link, all sessions end', async (t) => {
  const received: { to: string; body: string }[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      let body = '';
      stream.on('data', (d) => (body += d));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), body });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => smtp.close(() => r())));
  const port = (smtp.server.address() as { port: number }).port;
  const { app } = await startApp(t, {
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    MAIL_FROM: '다판다 <no-reply@dapanda.test>',
  });
  const u = await member(app.db);

  // Two logged-in sessions (a phone and a laptop).
  const phone = new Client(app, '10.1.0.1');
  const laptop = new Client(app, '10.1.0.2');
  for (const c of [phone, laptop]) {
    await c.get('/login');
    t.equal((await c.post('/login', { email: u.email, password: PASSWORD })).statusCode, 303);
    t.equal((await c.get('/me')).statusCode, 200);
  }

  const c = new Client(app, '10.1.0.3');
  await c.get('/password/forgot');
  const delivered = waitForMail(app, u.email);
  t.equal((await c.post('/password/forgot', { email: u.email.toUpperCase() })).statusCode, 200);
  const m = await delivered;
  for (let i = 0; i < 100 && !received.length; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(received.length, 1, 'the SMTP server got one message');
  t.equal(received[0].to, u.email);
  t.match(received[0].body, /Subject: =\?UTF-8\?/, 'a proper MIME subject');
  const link = linkIn(m, '/password/reset')!;
  t.ok(link, 'the message has the reset link');
  const token = new URL(link, 'http://x').searchParams.get('token')!;
  const stored = await app.db.passwordReset.findMany({
    where: { userId: (await app.db.user.findUniqueOrThrow({ where: { email: u.email } })).id },
  });
  t.equal(stored.length, 1);
  t.not(stored[0].tokenHash, token, 'only a hash is stored');
  t.ok(stored[0].expiresAt.getTime() - Date.now() <= 30 * 60 * 1000 + 1000, 'expires within 30 minutes');

  t.equal((await c.get(link)).statusCode, 200, 'the link opens the form');
  const weak = await c.post('/password/reset', { token, password: 'password12' });
  t.equal(weak.statusCode, 422, 'the new password follows the same rule');
  const newPassword = 'brand new long passphrase';
  const done = await c.post('/password/reset', { token, password: newPassword });
  t.equal(done.statusCode, 303);
  t.equal(done.headers.location, '/login');
  for (const [name, s] of [
    ['phone', phone],
    ['laptop', laptop],
  ] as const)
    t.equal((await s.get('/me')).statusCode, 303, `the ${name}'s session ended`);
  const again = new Client(app, '10.1.0.4');
  await again.get(link);
  t.equal(
    (await again.post('/password/reset', { token, password: 'another new long passphrase' })).statusCode,
    400,
    'the link works once',
  );
  const login = new Client(app, '10.1.0.5');
  await login.get('/login');
  t.equal(
    (await login.post('/login', { email: u.email, password: PASSWORD })).statusCode,
    422,
    'the old password is gone',
  );
  t.equal((await login.post('/login', { email: u.email, password: newPassword })).statusCode, 303, 'the new one works');
  t.equal(
    (await new Client(app).get('/password/reset?token=' + 'x'.repeat(43))).statusCode,
    400,
    'a made-up token is refused',
  );
});
