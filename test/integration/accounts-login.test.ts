import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import type { App } from '../../src/app.js';

async function member(app: App) {
  const u = uniq();
  const creds = { email: `m${u}@example.com`, nickname: `m${u}`, password: 'a good long password' };
  const c = new Client(app);
  await c.signup(creds);
  await c.post('/logout', {});
  return creds;
}

t.test('log in rotates the session, logout destroys it', async (t) => {
  const { app } = await startApp(t);
  const creds = await member(app);
  const c = new Client(app);
  await c.get('/login');
  const anonSid = c.cookies.get('sid');
  const res = await c.post('/login', { email: creds.email.toUpperCase(), password: creds.password });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  const loggedSid = c.cookies.get('sid');
  t.not(loggedSid, anonSid, 'new session id at login');
  t.match((await c.get('/me')).body, creds.nickname);

  const out = await c.post('/logout', {});
  t.equal(out.statusCode, 303);
  const home = await c.get('/');
  t.match(home.body, '로그아웃되었어요.');
  t.notMatch(home.body, creds.nickname);

  // The old session id is dead: replaying its cookie is not logged in.
  const replay = new Client(app);
  replay.cookies.set('sid', loggedSid!);
  const me = await replay.get('/me');
  t.equal(me.statusCode, 303, 'replayed cookie is not a session');
});

t.test('/me needs a login and comes back after it', async (t) => {
  const { app } = await startApp(t);
  const creds = await member(app);
  const c = new Client(app);
  const me = await c.get('/me');
  t.equal(me.statusCode, 303);
  t.equal(me.headers.location, '/login?next=%2Fme');
  const form = await c.get('/login?next=%2Fme');
  t.match(form.body, 'name="next" value="/me"');
  const res = await c.post('/login', { email: creds.email, password: creds.password, next: '/me' });
  t.equal(res.headers.location, '/me');
  const page = await c.get('/me');
  t.match(page.body, '가입일');
  // an open redirect is not possible
  const c2 = new Client(app);
  await c2.get('/login');
  const evil = await c2.post('/login', { email: creds.email, password: creds.password, next: '//evil.example/x' });
  t.equal(evil.headers.location, '/');
  const hx = await new Client(app).get('/me', { 'hx-request': 'true' });
  t.equal(hx.statusCode, 401);
  t.equal(hx.headers['hx-redirect'], '/login?next=%2Fme');
});

t.test('wrong password: the form again with the email kept', async (t) => {
  const { app } = await startApp(t);
  const creds = await member(app);
  const c = new Client(app);
  await c.get('/login');
  const res = await c.post('/login', { email: creds.email, password: 'wrong password!' });
  t.equal(res.statusCode, 422);
  t.match(res.body, '이메일 또는 비밀번호가 맞지 않아요.');
  t.match(res.body, `value="${creds.email}"`);
  const unknown = await c.post('/login', { email: `nobody${uniq()}@example.com`, password: 'whatever123' });
  t.equal(unknown.statusCode, 422, 'unknown email gets the same answer');
  t.match(unknown.body, '이메일 또는 비밀번호가 맞지 않아요.');
});
