/**
 * The shop as shoppers see it (issue 15): every main page at desktop (1366x900) and phone
 * (390x844, touch) size in real Chromium has no sideways scroll (document width == viewport
 * width) and axe-core reports no WCAG violation of any impact. Also the sell form after a 422:
 * the photo uploader still previews, uploads, removes and picks the cover, and focus moves to
 * the first error. Screenshots go to test/artifacts/ux-<page>-<size>.png.
 */
import type { Test } from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, startServer, screenshotPath, collectPageErrors } from './browser.js';
import { user, auction, bid, loggedIn, PASSWORD } from './auction.js';
import { uniq } from './env.js';

export const SIZES = [
  { name: 'desktop', viewport: { width: 1366, height: 900 }, isMobile: false, hasTouch: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
] as const;

/** Sideways scroll and axe violations of the page as it is now; a full-page screenshot. */
async function audit(page: Page, name: string): Promise<{ width: string; violations: string[] }> {
  await page.evaluate(() => document.fonts?.ready);
  const dims = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    view: window.innerWidth,
  }));
  await page.screenshot({ path: screenshotPath(`ux-${name}`), fullPage: true });
  const res = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  const violations = res.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`.slice(0, 600),
  );
  return { width: `${dims.doc}/${dims.view}`, violations };
}

async function logIn(context: BrowserContext, baseUrl: string, email: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  return page;
}

/** Lists an item through the sell form (with a 422 first), then audits every page at the given sizes. */
export async function auditPages(t: Test, sizes: readonly (typeof SIZES)[number][]): Promise<void> {
  const storage = mkdtempSync(path.join(tmpdir(), 'dapanda-ux-'));
  const { baseUrl, app, config } = await startServer(t, { STORAGE_DIR: storage });
  const browser: Browser = await launchBrowser(t);
  const u = uniq();
  const seller = await user(app, config, 0, 'sel');
  const buyer = await user(app, config, 200_000, 'buy');
  const img = path.join(storage, 'bike.jpg');
  writeFileSync(
    img,
    await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 40, g: 110, b: 60 } } })
      .jpeg()
      .toBuffer(),
  );

  // The seller lists an item through the sell form: first a failing submit (422), then the real one.
  const sellCtx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  t.teardown(() => sellCtx.close());
  const sp = await logIn(sellCtx, baseUrl, seller.email);
  const sellErrors = collectPageErrors(sp);
  await sp.goto(`${baseUrl}/sell`);
  await Promise.all([
    sp.waitForResponse((r) => r.url().endsWith('/sell') && r.request().method() === 'POST'),
    sp.click('[data-testid=submit-listing]'),
  ]);
  await sp.waitForSelector('[data-listing-form] .has-error');
  t.equal(
    await sp.evaluate(() => document.activeElement?.id),
    'f-title',
    'after the 422 the focus is on the first field in error',
  );
  const beforeUpload = sp.waitForResponse((r) => r.url().endsWith('/sell/photos'));
  await sp.setInputFiles('[data-photo-input]', [img, img]);
  await beforeUpload;
  await sp.waitForFunction(() => document.querySelectorAll('[data-photo-list] .photo-item').length === 2, null, {
    timeout: 15_000,
  });
  t.pass('after the 422 new photos are uploaded and previewed');
  const ids = await sp.$$eval('[data-photo-list] input[name=photoIds]', (els) =>
    els.map((e) => (e as HTMLInputElement).value),
  );
  await sp.click('[data-photo-list] .photo-item:nth-child(2) [data-make-cover]');
  t.same(
    await sp.$$eval('[data-photo-list] input[name=photoIds]', (els) => els.map((e) => (e as HTMLInputElement).value)),
    [ids[1], ids[0]],
    '대표 moves the photo first',
  );
  await sp.click('[data-photo-list] .photo-item:nth-child(2) [data-remove]');
  t.equal(await sp.locator('[data-photo-list] .photo-item').count(), 1, '✕ removes a photo');
  const title = `브롬톤 접이식 자전거 ${u}`;
  await sp.fill('#f-title', title);
  await sp.selectOption('#f-categoryId', { label: '자전거' });
  await sp.click('text=사용감 적음');
  await sp.fill('#f-description', '2022년 구매, 잘 관리했어요.');
  await sp.fill('#f-startPrice', '500000');
  await Promise.all([sp.waitForURL(/\/items\/\d+$/), sp.click('[data-testid=submit-listing]')]);
  const itemId = Number(sp.url().split('/').pop());
  t.same(sellErrors, [], 'no script errors on the sell form');
  const others: number[] = [];
  for (let i = 0; i < 3; i++)
    others.push(await auction(app, { sellerId: seller.id, title: `닌텐도 스위치 ${u} ${i}` }));
  // The buyer bids on one, so My bids has a row; it shows the listed item's cover (a real thumbnail).
  const listed = await app.db.listing.findUniqueOrThrow({ where: { id: itemId }, select: { coverPhotoId: true } });
  await app.db.listing.update({ where: { id: others[0]! }, data: { coverPhotoId: listed.coverPhotoId } });
  t.equal((await bid(await loggedIn(app, buyer.email), others[0]!, 10_000)).statusCode, 200, 'the buyer bids');
  const cat = await app.db.category.findUniqueOrThrow({ where: { slug: 'phones' } });
  const catParent = cat.parentId ? await app.db.category.findUniqueOrThrow({ where: { id: cat.parentId } }) : cat;

  for (const size of sizes) {
    const anon = await browser.newContext({
      viewport: size.viewport,
      isMobile: size.isMobile,
      hasTouch: size.hasTouch,
    });
    t.teardown(() => anon.close());
    const ap = await anon.newPage();
    const pages: [string, string][] = [
      ['home', '/'],
      ['search', `/search?q=${encodeURIComponent('자전거')}`],
      ['category', `/c/${catParent.slug}`],
      ['item', `/items/${itemId}`],
      ['login', '/login'],
      ['signup', '/signup'],
      ['terms', '/terms'],
      ['privacy', '/privacy'],
      ['help', '/help'],
    ];
    for (const [name, url] of pages) {
      await ap.goto(`${baseUrl}${url}`);
      if (name === 'home')
        t.match(
          await ap.textContent('[data-testid=business-info]'),
          /사업자등록번호.*통신판매업 신고번호.*고객센터/s,
          'the footer shows the 사업자 정보 from config',
        );
      const r = await audit(ap, `${name}-${size.name}`);
      t.equal(r.width, `${size.viewport.width}/${size.viewport.width}`, `${name} ${size.name}: no sideways scroll`);
      t.same(r.violations, [], `${name} ${size.name}: no axe violations`);
    }

    const ctx = await browser.newContext({ viewport: size.viewport, isMobile: size.isMobile, hasTouch: size.hasTouch });
    t.teardown(() => ctx.close());
    const lp = await logIn(ctx, baseUrl, buyer.email);
    const logged: [string, string][] = [
      ['home-loggedin', '/'],
      ['item-loggedin', `/items/${itemId}`],
      ['sell', '/sell'],
      ['wallet', '/wallet'],
      ['topup', '/wallet/topup'],
      ['me', '/me'],
      ['me-edit', '/me/edit'],
      ['me-password', '/me/password'],
      ['me-delete', '/me/delete'],
      ['my', '/my'],
      ['my-bids', '/my/bids'],
    ];
    for (const [name, url] of logged) {
      await lp.goto(`${baseUrl}${url}`);
      const r = await audit(lp, `${name}-${size.name}`);
      t.equal(r.width, `${size.viewport.width}/${size.viewport.width}`, `${name} ${size.name}: no sideways scroll`);
      t.same(r.violations, [], `${name} ${size.name}: no axe violations`);
      if (name === 'my-bids') {
        // Issue 15 item 4: the row has a thumbnail beside the title, and the badge keeps its size.
        const li = lp.locator('[data-testid=my-bids] li').first();
        const [thumb, titleBox, badge, rowBox] = await Promise.all(
          ['.bid-thumb', '.row-title', '.badge']
            .map((sel) => li.locator(sel).first().boundingBox())
            .concat(li.boundingBox()),
        );
        const row = {
          loaded: await li.locator('img.bid-thumb').evaluate((img) => (img as HTMLImageElement).naturalWidth > 0),
          thumbLeftOfTitle: thumb!.x + thumb!.width <= titleBox!.x,
          badge: badge!.width,
          row: rowBox!.width,
        };
        t.ok(row.loaded, `my-bids ${size.name}: the row shows the item's thumbnail`);
        t.ok(row.thumbLeftOfTitle, `my-bids ${size.name}: the thumbnail is beside the title`);
        t.ok(
          row.badge < row.row / 3,
          `my-bids ${size.name}: the badge does not stretch (${row.badge} of ${row.row} px)`,
        );
      }
    }
    // The sell form after a failed submit (422).
    await lp.goto(`${baseUrl}/sell`);
    await Promise.all([
      lp.waitForResponse((r) => r.url().endsWith('/sell') && r.request().method() === 'POST'),
      lp.click('[data-testid=submit-listing]'),
    ]);
    await lp.waitForSelector('[data-listing-form] .has-error');
    const r = await audit(lp, `sell-422-${size.name}`);
    t.equal(
      r.width,
      `${size.viewport.width}/${size.viewport.width}`,
      `sell after 422 ${size.name}: no sideways scroll`,
    );
    t.same(r.violations, [], `sell after 422 ${size.name}: no axe violations`);
  }
}
