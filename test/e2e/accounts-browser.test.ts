import t from 'tap';
import { launchBrowser, startServer, screenshotPath, collectPageErrors, submitSignup } from '../helpers/browser.js';
import { uniq } from '../helpers/env.js';

t.test('a shopper signs up, logs out, logs in, and switches to English', async (t) => {
  const { baseUrl, app } = await startServer(t);
  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  const u = uniq();
  const nick = `판다${u}`;

  await page.goto(`${baseUrl}/`);
  t.match(await page.title(), '다판다');
  await page.click('text=회원가입');
  // a mistake first: htmx swaps the form with the message, keeping what was typed
  await page.fill('#f-email', `e2e${u}@example.com`);
  await page.fill('#f-nickname', nick);
  await page.fill('#f-password', 'short');
  await page.click('main button[type=submit]');
  await page.waitForSelector('text=비밀번호는 10자 이상이어야 해요.');
  t.equal(await page.inputValue('#f-nickname'), nick, 'nickname kept after the error');
  await page.fill('#f-password', 'a long enough password');
  await submitSignup(page, app, baseUrl, `e2e${u}@example.com`);
  t.equal(await page.textContent('[data-testid=header-nickname]'), nick, 'nickname in the header after sign-up');
  await page.screenshot({ path: screenshotPath('home-logged-in'), fullPage: true });

  await page.click('text=로그아웃');
  await page.waitForSelector('text=로그아웃되었어요.');
  t.equal(await page.locator('[data-testid=header-nickname]').count(), 0, 'logged out');

  await page.click('.user-nav >> text=로그인');
  await page.fill('#f-email', `e2e${u}@example.com`);
  await page.fill('#f-password', 'wrong password here');
  await page.click('main button[type=submit]');
  await page.waitForSelector('text=이메일 또는 비밀번호가 맞지 않아요.');
  await page.fill('#f-password', 'a long enough password');
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  t.equal(await page.textContent('[data-testid=header-nickname]'), nick, 'nickname in the header after login');

  await page.click('[data-testid=lang-en]');
  await page.waitForSelector('text=Your price. A clear end time.');
  t.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.goto(`${baseUrl}/me`);
  t.ok(await page.isVisible('text=My account'), 'English is remembered on the next page');
  t.equal(await page.textContent('[data-testid=profile-nickname]'), nick);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: screenshotPath('me-phone-en'), fullPage: true });
  t.same(errors, [], 'no script or CSP errors in the console');
});

t.test('works without JavaScript (plain form posts)', async (t) => {
  const { baseUrl, app } = await startServer(t);
  const browser = await launchBrowser(t);
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const u = uniq();
  await page.goto(`${baseUrl}/signup`);
  await page.fill('#f-email', `nojs${u}@example.com`);
  await page.fill('#f-nickname', `nojs${u}`);
  await page.fill('#f-password', 'a long enough password');
  await submitSignup(page, app, baseUrl, `nojs${u}@example.com`);
  t.equal(await page.textContent('[data-testid=header-nickname]'), `nojs${u}`);
  await page.click('text=로그아웃');
  await page.waitForSelector('text=로그아웃되었어요.');
});
