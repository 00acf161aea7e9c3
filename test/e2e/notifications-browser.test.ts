/**
 * The bell in real Chromium, two people in two browser contexts: the buyer asks a question on
 * the item page and the seller's bell count rises without a reload; the buyer watches the
 * auction, its "ends within 1 hour" timer is made to fire, and the buyer's bell rises too.
 */
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, collectPageErrors, screenshotPath } from '../helpers/browser.js';
import { startApp } from '../helpers/app.js';
import { user, auction, PASSWORD, loggedIn } from '../helpers/auction.js';
import { endingJobId } from '../../src/modules/notifications/ending.js';

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

const bellShows = (page: Page, n: number, timeout = 10_000) =>
  page.waitForFunction(
    (want) => document.querySelector('[data-testid=bell-count]')?.getAttribute('data-count') === want,
    String(n),
    {
      timeout,
    },
  );

t.test('the bell count rises live in another context; the ending timer reaches a watcher', async (t) => {
  const { app, config } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const [sellerU, buyerU] = await Promise.all([user(app, config), user(app, config)]);
  const id = await auction(app, {
    sellerId: sellerU.id,
    endsInMs: 3600_000 + 60_000,
    title: '브라우저 알림 테스트 상품',
  });

  const browser = await launchBrowser(t);
  const seller = await login(browser, baseUrl, sellerU.email);
  const buyer = await login(browser, baseUrl, buyerU.email);
  await seller.page.goto(`${baseUrl}/`);
  await bellShows(seller.page, 0);
  t.equal(await seller.page.locator('[data-testid=bell-count]').isHidden(), true, 'no unread: no badge');

  await buyer.page.goto(`${baseUrl}/items/${id}`);
  await buyer.page.fill('[data-testid=ask-form] textarea', '<img src=x onerror=alert(1)> 박스 있나요?');
  await Promise.all([
    buyer.page.waitForURL(/\/items\/\d+/),
    buyer.page.click('[data-testid=ask-form] button[type=submit]'),
  ]);
  await bellShows(seller.page, 1);
  t.pass("the seller's bell shows 1 without a reload");
  t.equal(await seller.page.locator('[data-testid=bell-count]').isVisible(), true);
  t.match(
    (await seller.page.locator('[data-testid=bell-latest]').textContent()) ?? '',
    '박스 있나요?',
    'the newest item, as text',
  );
  await seller.page.screenshot({ path: screenshotPath('notifications-bell') });

  // The buyer watches; the auction's ending timer is made to fire.
  const c = await loggedIn(app, buyerU.email);
  await c.get(`/items/${id}`);
  await c.post(`/items/${id}/watch`, { watch: '1' });
  await buyer.page.goto(`${baseUrl}/items/${id}`);
  await bellShows(buyer.page, 0);
  const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
  const job = await app.queues.queue('notifications').getJob(endingJobId(id, a.endsAt));
  t.ok(job, 'the timer is planned');
  await job!.promote();
  await bellShows(buyer.page, 1);
  t.pass("the watcher's bell shows the ending notification without a reload");
  await buyer.page.click('[data-testid=bell]');
  await buyer.page.waitForURL(`${baseUrl}/notifications`);
  t.match((await buyer.page.locator('[data-testid=notifications]').textContent()) ?? '', '1시간 안에 끝나요');
  t.same(seller.errors, [], 'no script or CSP errors for the seller');
  t.same(buyer.errors, [], 'no script or CSP errors for the buyer');
});
