/**
 * The my-page hub in real Chromium at desktop (1366x900) and phone (390x844) sizes: the header's
 * 마이페이지 link is visible and leads to /my, the hub shows the counts, and neither the item
 * page's header nor the hub scrolls sideways. Screenshots: test/artifacts/mypage-*.png.
 */
import t from 'tap';
import { launchBrowser, screenshotPath, collectPageErrors } from '../helpers/browser.js';
import { startApp } from '../helpers/app.js';
import { user, auction, PASSWORD, loggedIn, bid } from '../helpers/auction.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { fund, walletDeps } from '../helpers/wallet.js';
import { uniq } from '../helpers/env.js';

t.test('the header links to the hub on desktop and phone; no horizontal overflow', async (t) => {
  const { app, config } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const seller = await user(app, config);
  // A long Korean nickname: the header must still fit a phone.
  const u = uniq();
  const me = await createUserDirect(app.db, {
    email: `mp${u}@example.com`,
    nickname: `중고경매좋아하는판다${u}`.slice(0, 20),
    password: PASSWORD,
  });
  await fund(walletDeps(app, config), me.id, 300_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, title: '캠핑 의자 2개 세트' });
  await auction(app, { sellerId: me.id, startPrice: 5_000, title: '내 블루투스 스피커' });
  await bid(await loggedIn(app, me.email), id, 25_000);

  const browser = await launchBrowser(t);
  for (const [name, viewport] of [
    ['desktop', { width: 1366, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${baseUrl}/login`);
    await page.fill('#f-email', me.email);
    await page.fill('#f-password', PASSWORD);
    await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);

    const overflow = () =>
      page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await page.goto(`${baseUrl}/items/${id}`);
    const link = page.locator('[data-testid=header-mypage]');
    t.ok(await link.isVisible(), `${name}: the 마이페이지 link is visible in the header`);
    const box = await link.boundingBox();
    t.ok(
      box && box.x >= 0 && box.x + box.width <= viewport.width,
      `${name}: and inside the screen (${JSON.stringify(box)})`,
    );
    t.equal(await link.getAttribute('aria-label'), '마이페이지', `${name}: named for screen readers`);
    t.equal(await overflow(), 0, `${name}: the item page does not scroll sideways`);

    await Promise.all([page.waitForURL(`${baseUrl}/my`), link.click()]);
    t.equal(await page.locator('h1').first().textContent(), '마이페이지', `${name}: the hub`);
    const count = (testid: string) => page.locator(`[data-testid=${testid}] .hub-count`).textContent();
    t.equal(await count('hub-bidding'), '1', `${name}: 입찰 중 1`);
    t.equal(await count('hub-selling'), '1', `${name}: 판매 중 1`);
    t.equal(await page.locator('[data-testid=hub-held]').textContent(), '25,000원', `${name}: points held`);
    t.equal(await overflow(), 0, `${name}: the hub does not scroll sideways`);
    await page.screenshot({ path: screenshotPath(`mypage-${name}`), fullPage: true });
    // Every section's link leads to a page that exists.
    for (const testid of ['hub-bidding', 'hub-won', 'hub-selling', 'hub-watching', 'hub-wallet', 'hub-profile']) {
      const href = await page.locator(`[data-testid=${testid}]`).getAttribute('href');
      const res = await page.request.get(`${baseUrl}${href}`);
      t.equal(res.status(), 200, `${name}: ${testid} -> ${href}`);
    }
    t.same(errors, [], `${name}: no script or CSP errors`);
    await context.close();
  }
});
