/**
 * A dispute with photos in real Chromium, buyer and seller in two contexts (phone size for the
 * buyer): the plain form (no htmx on it) refuses 4 photos with the message beside the field and
 * keeps the text, then sends 2 photos; both parties see the thumbnails load (the private photo
 * route), a stranger's request for one is 404. Screenshots: test/artifacts/orders-dispute-*.png.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshotPath, collectPageErrors } from '../helpers/browser.js';
import { startApp } from '../helpers/app.js';
import { PASSWORD, user } from '../helpers/auction.js';
import { jpeg } from '../helpers/catalog.js';
import { wonOrder, giveAddress } from '../helpers/orders.js';

async function login(browser: Browser, baseUrl: string, email: string, viewport: { width: number; height: number }) {
  const context = await browser.newContext({ viewport, hasTouch: viewport.width < 500 });
  const page = await context.newPage();
  const errors = collectPageErrors(page, [413, 422]);
  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  return { context, page, errors };
}

t.test('the buyer disputes with photos; buyer and seller see them, a stranger does not', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const browser = await launchBrowser(t);
  const w = await wonOrder(app, config, '분쟁 브라우저 테스트');
  t.equal((await giveAddress(w.bc, w.order.id)).statusCode, 303);

  const b = await login(browser, baseUrl, w.buyer.email, { width: 390, height: 844 });
  const files = await Promise.all(
    [0, 1, 2, 3].map(async (i) => ({
      name: `p${i}.jpg`,
      mimeType: 'image/jpeg',
      buffer: await jpeg(640, 480, { r: 60 * i, g: 120, b: 200 - 40 * i }),
    })),
  );
  await b.page.goto(`${baseUrl}/orders/${w.order.id}`);
  await b.page.click('[data-testid=dispute-form] >> xpath=ancestor::details/summary');
  await b.page.selectOption('#f-reason', 'DAMAGED');
  await b.page.fill('#f-body', '받아 보니 모서리가 깨져 있어요. 사진 첨부해요.');
  await b.page.setInputFiles('#f-dphotos', files);
  await Promise.all([b.page.waitForLoadState('load'), b.page.click('[data-testid=dispute-form] button[type=submit]')]);
  await b.page.waitForSelector('[data-testid=photos-error]');
  t.match(await b.page.textContent('[data-testid=photos-error]'), '최대 3장');
  t.equal(await b.page.inputValue('#f-body'), '받아 보니 모서리가 깨져 있어요. 사진 첨부해요.', 'the text is kept');
  await b.page.screenshot({ path: screenshotPath('orders-dispute-phone-buyer-1-too-many'), fullPage: true });
  t.equal(await app.db.orderDispute.count({ where: { orderId: w.order.id } }), 0, 'nothing stored');

  await b.page.setInputFiles('#f-dphotos', files.slice(0, 2));
  await Promise.all([
    b.page.waitForURL(`${baseUrl}/orders/${w.order.id}`),
    b.page.click('[data-testid=dispute-form] button[type=submit]'),
  ]);
  await b.page.waitForSelector('[data-testid=dispute-photos] img');
  const loaded = (page: typeof b.page) =>
    page.$$eval('[data-testid=dispute-photos] img', (imgs) =>
      Promise.all(
        (imgs as HTMLImageElement[]).map((i) =>
          i.complete ? i.naturalWidth : new Promise<number>((r) => (i.onload = () => r(i.naturalWidth))),
        ),
      ),
    );
  const widths = await loaded(b.page);
  t.equal(widths.length, 2, 'two photos on the buyer page');
  t.ok(
    widths.every((x) => x > 0),
    `they load (${widths.join(', ')} px)`,
  );
  t.equal(await b.page.getAttribute('#order-main', 'data-state'), 'DISPUTED');
  await b.page.screenshot({ path: screenshotPath('orders-dispute-phone-buyer-2-sent'), fullPage: true });

  const s = await login(browser, baseUrl, w.seller.email, { width: 1366, height: 900 });
  await s.page.goto(`${baseUrl}/orders/${w.order.id}`);
  const sellerWidths = await loaded(s.page);
  t.equal(sellerWidths.length, 2, 'the seller sees them too');
  t.ok(sellerWidths.every((x) => x > 0));
  await s.page.screenshot({ path: screenshotPath('orders-dispute-desktop-seller'), fullPage: true });
  const src = await s.page.getAttribute('[data-testid=dispute-photos] img', 'src');

  const x = await login(browser, baseUrl, (await user(app, config, 0, 'x')).email, { width: 1366, height: 900 });
  const res = await x.page.goto(`${baseUrl}${src}`);
  t.equal(res?.status(), 404, "a stranger asking for the photo's address: 404");

  t.same(b.errors, [], 'buyer: no page errors');
  t.same(s.errors, [], 'seller: no page errors');
  await Promise.all([b.context.close(), s.context.close(), x.context.close()]);
});
