/**
 * 정산 예정 금액 live on the sell form, in a real browser (phone size): typing the start and the
 * buy-now price updates the payout lines through htmx; with JavaScript off the fee rule still shows.
 */
import t from 'tap';
import { launchBrowser, startServer, screenshotPath, collectPageErrors, submitSignup } from '../helpers/browser.js';
import { uniq } from '../helpers/env.js';

t.test('the payout preview follows the typed prices', async (t) => {
  const { baseUrl, app } = await startServer(t);
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const errors = collectPageErrors(page);
  const u = uniq();
  await page.goto(`${baseUrl}/signup`);
  await page.fill('#f-email', `pay${u}@example.com`);
  await page.fill('#f-nickname', `정산${u}`);
  await page.fill('#f-password', 'a long enough password');
  await submitSignup(page, app, baseUrl, `pay${u}@example.com`);

  await page.goto(`${baseUrl}/sell`);
  await page.locator('[data-testid=sell-payout]').waitFor();
  // The preview's load request swaps only its own area (not the form around it).
  await page.waitForLoadState('networkidle');
  t.ok(await page.isVisible('#f-title'), 'the form is still there');
  await page.fill('#f-startPrice', '12,345');
  await page.locator('[data-testid=payout-start]').waitFor();
  t.equal(
    (await page.textContent('[data-testid=payout-start]'))?.trim(),
    '시작가로 팔리면: 12,345원 − 수수료 370원 = 11,975원',
  );
  await page.fill('#f-buyNowPrice', '50000');
  await page.locator('[data-testid=payout-buynow]').waitFor();
  t.equal(
    (await page.textContent('[data-testid=payout-buynow]'))?.trim(),
    '즉시 구매가로 팔리면: 50,000원 − 수수료 1,500원 = 48,500원',
  );
  await page.fill('#f-startPrice', '20000');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=payout-start]')?.textContent?.includes('19,400원'),
  );
  t.pass('the start line followed the new price (20,000 − 600 = 19,400)');
  await page.locator('[data-testid=sell-payout]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshotPath('orders-sell-payout-phone') });
  t.same(errors, [], 'no page errors');

  // Without JavaScript: the rule as text, no amounts.
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const cookies = await page.context().cookies();
  await ctx.addCookies(cookies);
  const plain = await ctx.newPage();
  await plain.goto(`${baseUrl}/sell`);
  t.match(await plain.textContent('[data-testid=sell-payout]'), '수수료 3%(원 단위 내림)');
  await ctx.close();
});
