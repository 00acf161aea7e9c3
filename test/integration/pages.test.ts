import t from 'tap';
import { startApp, Client } from '../helpers/app.js';

t.test('home page in Korean by default, English by ?lang= and remembered', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const ko = await c.get('/');
  t.equal(ko.statusCode, 200);
  t.match(ko.body, '<html lang="ko">');
  t.match(ko.body, '원하는 가격, 정해진 마감.');
  t.match(ko.body, /<script src="\/static\/vendor\/htmx.min.js"/, 'htmx served locally, no CDN');
  const en = await c.get('/?lang=en');
  t.match(en.body, '<html lang="en">');
  t.match(en.body, 'Your price. A clear end time.');
  t.equal(c.cookies.get('lang'), 'en');
  t.match((await c.get('/login')).body, '<h1>Log in</h1>', 'remembered in a cookie');
  t.match((await c.get('/login?lang=ko')).body, '<h1>로그인</h1>');
  t.match((await c.get('/static/vendor/htmx.min.js')).body.slice(0, 200), /htmx/);
});

t.test('security headers: CSP without unsafe-inline, no framing', async (t) => {
  const { app } = await startApp(t);
  const res = await new Client(app).get('/');
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, "script-src 'self'");
  t.notMatch(csp, 'unsafe-inline');
  t.notMatch(csp, 'unsafe-eval');
  t.match(csp, "frame-ancestors 'none'");
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.ok(res.headers['x-request-id'], 'request id echoed');
  t.equal(res.headers['set-cookie'], undefined, 'an anonymous page sets no cookie');
  const form = await new Client(app).get('/login');
  t.match(String(form.headers['set-cookie']), /_csrf=.*HttpOnly; SameSite=Lax/, 'a form sets the CSRF secret cookie');
});

t.test('404 page in both languages, JSON for API clients, htmx fragment', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const ko = await c.get('/no/such/page');
  t.equal(ko.statusCode, 404);
  t.match(ko.body, '페이지를 찾을 수 없어요');
  t.match(ko.body, '<header class="site-header">', 'full page with layout');
  const en = await c.get('/no/such/page?lang=en');
  t.match(en.body, 'Page not found');
  const json = await c.get('/nope', { accept: 'application/json' });
  t.equal(json.json().error.code, 'NOT_FOUND');
  const hx = await c.get('/nope', { 'hx-request': 'true' });
  t.equal(hx.headers['hx-retarget'], '#flash');
  t.match(hx.body, /^<div class="flash flash-error"/);
});

t.test('500 page hides details, in both languages', async (t) => {
  const { app } = await startApp(t, {}, (a) => {
    a.get('/boom', async () => {
      throw new Error('secret internals: password=hunter2');
    });
  });
  const c = new Client(app);
  const res = await c.get('/boom');
  t.equal(res.statusCode, 500);
  t.match(res.body, '잠시 문제가 생겼어요');
  t.notMatch(res.body, 'hunter2');
  t.match(res.body, '요청 번호');
  const en = await c.get('/boom?lang=en');
  t.match(en.body, 'Something broke on our side');
  const json = await c.get('/boom', { accept: 'application/json' });
  t.same(Object.keys(json.json().error).sort(), ['code', 'message', 'requestId']);
  t.notMatch(json.body, 'hunter2');
});

t.test('bad query input is a 400, not a crash', async (t) => {
  const { app } = await startApp(t);
  const res = await new Client(app).get(`/login?next=${'x'.repeat(3000)}`);
  t.equal(res.statusCode, 400);
});
