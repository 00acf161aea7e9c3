/**
 * Order chat in real Chromium, buyer and seller in two browser contexts on the order page: the
 * buyer's line appears live on the seller's page (escaped, as text) and the seller's bell count
 * rises, both without a reload; the buyer's page then shows the seller's read receipt.
 */
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, collectPageErrors, screenshotPath } from '../helpers/browser.js';
import { startApp } from '../helpers/app.js';
import { PASSWORD } from '../helpers/auction.js';
import { wonOrder } from '../helpers/orders.js';

async function login(browser: Browser, baseUrl: string, email: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  return { context, page, errors };
}

const bellShows = (page: Page, n: number, timeout = 20_000) =>
  page.waitForFunction(
    (want) => document.querySelector('[data-testid=bell-count]')?.getAttribute('data-count') === want,
    String(n),
    { timeout },
  );

t.test("the buyer's chat line appears live on the seller's order page and the bell rises", async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const { seller: sellerU, buyer: buyerU, order } = await wonOrder(app, config, '브라우저 채팅 상품');
  // The order's own notifications (address needed) are not what this test counts: read them.
  await app.db.notification.updateMany({ where: { userId: sellerU.id }, data: { readAt: new Date() } });

  const browser = await launchBrowser(t);
  const seller = await login(browser, baseUrl, sellerU.email);
  const buyer = await login(browser, baseUrl, buyerU.email);
  await seller.page.goto(`${baseUrl}/orders/${order.id}`);
  await seller.page.waitForSelector('[data-testid=chat]');
  await bellShows(seller.page, 0);
  // The page's socket is open once the chat snapshot has replaced the log (it carries the chat topic).
  await buyer.page.goto(`${baseUrl}/orders/${order.id}`);
  await buyer.page.waitForSelector('[data-testid=chat-form]');
  await seller.page.waitForTimeout(500);

  const text = '<img src=x onerror=alert(1)> 내일 보내 주실 수 있나요?';
  await buyer.page.fill('[data-testid=chat-form] textarea', text);
  await buyer.page.click('[data-testid=chat-send]');

  const line = seller.page.locator('[data-testid=chat-log] [data-testid=chat-body]', { hasText: '내일 보내 주실' });
  await line.waitFor({ timeout: 20_000 });
  t.equal(await line.textContent(), text, "the buyer's line, as text, on the seller's page without a reload");
  t.equal(await seller.page.locator('[data-testid=chat-log] img').count(), 0, 'no element from the text');
  await bellShows(seller.page, 1);
  t.pass("the seller's bell shows 1 without a reload");
  t.ok(await seller.page.locator('[data-testid=chat-report]').first().isVisible(), 'the 신고 link');
  // The buyer's form is fresh, their own line arrived in their tab too, and the seller's tab reported it seen.
  await buyer.page
    .locator('[data-testid=chat-log] [data-testid=chat-body]', { hasText: '내일 보내 주실' })
    .waitFor({ timeout: 20_000 });
  t.equal(await buyer.page.locator('[data-testid=chat-form] textarea').inputValue(), '', 'the form is empty again');
  await buyer.page.waitForFunction(
    () => Number(document.querySelector('[data-testid=chat-receipt]')?.getAttribute('data-up-to') ?? 0) > 0,
    undefined,
    { timeout: 20_000 },
  );
  t.pass("the buyer sees the seller's read receipt live");
  await seller.page.screenshot({ path: screenshotPath('messages-chat-seller') });
  t.same(seller.errors, [], 'no script or CSP errors for the seller');
  t.same(buyer.errors, [], 'no script or CSP errors for the buyer');
});
