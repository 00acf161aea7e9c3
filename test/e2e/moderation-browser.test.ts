/**
 * Moderation in real Chromium, a shopper and a moderator in two browser contexts (and an admin
 * reading the audit log in a third): the shopper, a bidder on a LIVE auction, reports it from the
 * item page's 신고 link; the moderator hides it from the queue; both bidders' holds are released,
 * the shopper's bell rises without a reload and the inbox says why; the listing is 404 for the
 * public; the action is in /admin/audit with its before and after.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { launchBrowser, collectPageErrors, screenshotPath } from '../helpers/browser.js';
import { startApp } from '../helpers/app.js';
import { user, auction, bid, balances, loggedIn, waitFor, PASSWORD } from '../helpers/auction.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { uniq } from '../helpers/env.js';

async function login(browser: Browser, baseUrl: string, email: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // 404: the hidden listing, opened on purpose.
  const errors = collectPageErrors(page, [404]);
  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  return { context, page, errors };
}

t.test('a reported live listing is hidden by a moderator: holds released, bidders told, audited', async (t) => {
  const { app, config } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const sellerU = await user(app, config, 0, 's');
  const [shopperU, otherU] = [await user(app, config, 100_000, 'p'), await user(app, config, 100_000, 'o')];
  const u = uniq();
  const [modU, adminU] = await Promise.all(
    (['MODERATOR', 'ADMIN'] as const).map((role) =>
      createUserDirect(app.db, {
        email: `${role.toLowerCase()}${u}@example.com`,
        nickname: `${role.slice(0, 3).toLowerCase()}${u}`,
        password: PASSWORD,
        role,
      }),
    ),
  );
  const title = `모의 권총 ${u}`;
  const id = await auction(app, { sellerId: sellerU.id, startPrice: 10_000, title });
  await bid(await loggedIn(app, shopperU.email), id, 20_000);
  await bid(await loggedIn(app, otherU.email), id, 35_000);
  t.equal((await balances(app, otherU.id)).held, 35_000, 'the leader holds their maximum');

  const browser = await launchBrowser(t);
  const shopper = await login(browser, baseUrl, shopperU.email);
  const mod = await login(browser, baseUrl, modU.email);

  // The shopper reports it from the item page.
  await shopper.page.goto(`${baseUrl}/items/${id}`);
  await Promise.all([
    shopper.page.waitForURL(/\/reports\/new\?targetType=LISTING/),
    shopper.page.click('[data-testid=report-listing]'),
  ]);
  t.match((await shopper.page.locator('[data-testid=report-target]').textContent()) ?? '', title, 'the form names it');
  await shopper.page.check('input[name=reason][value=PROHIBITED]');
  await shopper.page.fill('#report-text', '실물 총기처럼 보여요');
  await Promise.all([
    shopper.page.waitForURL(`${baseUrl}/items/${id}`),
    shopper.page.click('[data-testid=report-submit]'),
  ]);
  t.match((await shopper.page.textContent('body')) ?? '', '신고가 접수됐어요', 'thanked');
  t.equal(await app.db.report.count({ where: { targetKind: 'LISTING', targetId: id, status: 'OPEN' } }), 1);
  // The shopper was outbid (one notification): the bell shows it before the hide.
  t.ok(
    await waitFor(
      async () => (await app.db.notification.count({ where: { userId: shopperU.id, kind: 'outbid' } })) === 1,
      20_000,
    ),
    'the shopper was told of the outbid',
  );
  await shopper.page.goto(`${baseUrl}/`);
  await shopper.page.waitForFunction(
    () => document.querySelector('[data-testid=bell-count]')?.getAttribute('data-count') === '1',
  );

  // The moderator hides it from the queue.
  await mod.page.goto(`${baseUrl}/admin/reports`);
  const group = mod.page.locator(`[data-target="LISTING:${id}"]`);
  await group.waitFor();
  t.match((await group.textContent()) ?? '', '실물 총기처럼 보여요', "the report's text is in the queue");
  await group.locator('textarea[name=note]').fill('총포 모형 판매 금지');
  await mod.page.screenshot({ path: screenshotPath('moderation-queue') });
  await Promise.all([mod.page.waitForURL(`${baseUrl}/admin/reports`), group.locator('[data-testid=act-hide]').click()]);
  t.match((await mod.page.textContent('body')) ?? '', '상품을 숨겼어요', 'the moderator is told');
  t.equal(await mod.page.locator(`[data-target="LISTING:${id}"]`).count(), 0, 'the queue no longer has it');

  t.same(await balances(app, otherU.id), { available: 100_000, held: 0 }, "the leader's hold is released");
  t.same(await balances(app, shopperU.id), { available: 100_000, held: 0 }, 'the shopper holds nothing');
  await shopper.page.waitForFunction(
    () => document.querySelector('[data-testid=bell-count]')?.getAttribute('data-count') === '2',
    undefined,
    { timeout: 20_000 },
  );
  t.pass("the shopper's bell rises without a reload");
  t.ok(
    await waitFor(
      async () => (await app.db.notification.count({ where: { userId: otherU.id, kind: 'cancelled' } })) === 1,
      20_000,
    ),
    'the other bidder is notified too',
  );
  await shopper.page.goto(`${baseUrl}/notifications`);
  t.match(
    (await shopper.page.textContent('main')) ?? '',
    `"${title}" 경매가 운영 정책에 따라 취소됐어요`,
    'the inbox says why',
  );
  const gone = await shopper.page.goto(`${baseUrl}/items/${id}`);
  t.equal(gone?.status(), 404, 'the listing is 404 for the public');

  // The admin reads it in the audit log.
  const admin = await login(browser, baseUrl, adminU.email);
  await admin.page.goto(`${baseUrl}/admin/audit?action=moderation.listing.hide&targetId=${id}`);
  const row = admin.page.locator('[data-action="moderation.listing.hide"]');
  await row.waitFor();
  t.equal(await row.count(), 1, 'one audit row');
  t.match((await row.locator('[data-testid=audit-before]').textContent()) ?? '', /"status": "LIVE"/, 'before: LIVE');
  const after = (await row.locator('[data-testid=audit-after]').textContent()) ?? '';
  t.match(after, /"status": "CANCELLED"/, 'after: CANCELLED');
  t.match(after, /"hiddenAt": "20/, 'after: hidden');
  t.match((await row.textContent()) ?? '', '총포 모형 판매 금지', 'with the reason');
  t.match((await row.textContent()) ?? '', `#${modU.id} (MODERATOR)`, 'and who');
  await admin.page.screenshot({ path: screenshotPath('moderation-audit') });

  t.same([...shopper.errors, ...mod.errors, ...admin.errors], [], 'no page errors');
  for (const c of [shopper, mod, admin]) await c.context.close();
});
