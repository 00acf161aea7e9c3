import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { launchBrowser, startServer, screenshotPath, collectPageErrors, submitSignup } from '../helpers/browser.js';
import { uniq } from '../helpers/env.js';

t.test(
  'a seller lists an item with two photos, reorders them, and a shopper finds it through the header search',
  async (t) => {
    const storage = mkdtempSync(path.join(tmpdir(), 'dapanda-e2e-'));
    const { baseUrl, app } = await startServer(t, { STORAGE_DIR: storage });
    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = collectPageErrors(page);
    const u = uniq();
    const red = path.join(storage, 'red.jpg');
    const blue = path.join(storage, 'blue.jpg');
    writeFileSync(
      red,
      await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 220, g: 30, b: 30 } } })
        .jpeg()
        .toBuffer(),
    );
    writeFileSync(
      blue,
      await sharp({ create: { width: 900, height: 1200, channels: 3, background: { r: 30, g: 60, b: 220 } } })
        .jpeg()
        .toBuffer(),
    );

    await page.goto(`${baseUrl}/signup`);
    await page.fill('#f-email', `e2e${u}@example.com`);
    await page.fill('#f-nickname', `판매${u}`);
    await page.fill('#f-password', 'a long enough password');
    await submitSignup(page, app, baseUrl, `e2e${u}@example.com`);

    await page.goto(`${baseUrl}/sell`);
    const title = `브롬톤 자전거 ${u}`;
    await page.fill('#f-title', title);
    await page.selectOption('#f-categoryId', { label: '자전거' });
    await page.click('text=사용감 적음');
    await page.fill('#f-description', '2022년 구매\n잘 관리했어요.');
    await page.fill('#f-startPrice', '500000');
    // Progress bar shows while uploading
    const progressSeen = page.waitForSelector('[data-progress]:not([hidden])', { state: 'attached' });
    await page.setInputFiles('[data-photo-input]', [red, blue]);
    await progressSeen;
    t.pass('the progress bar appeared');
    await page.waitForFunction(() => document.querySelectorAll('[data-photo-list] .photo-item').length === 2);
    const before = await page.$$eval('[data-photo-list] input[name=photoIds]', (els) =>
      els.map((e) => (e as HTMLInputElement).value),
    );
    // Reorder by dragging the second photo before the first.
    await page.dragAndDrop('[data-photo-list] .photo-item:nth-child(2)', '[data-photo-list] .photo-item:nth-child(1)', {
      targetPosition: { x: 5, y: 50 },
    });
    const after = await page.$$eval('[data-photo-list] input[name=photoIds]', (els) =>
      els.map((e) => (e as HTMLInputElement).value),
    );
    t.same(after, [before[1], before[0]], 'the drag reordered the photos');
    await Promise.all([page.waitForURL(/\/items\/\d+$/), page.click('[data-testid=submit-listing]')]);
    const id = Number(page.url().split('/').pop());
    const l = await app.db.listing.findUniqueOrThrow({
      where: { id },
      include: { photos: { orderBy: { position: 'asc' } } },
    });
    t.same(
      l.photos.map((p) => String(p.id)),
      after,
      'saved in the new order',
    );
    t.equal(l.coverPhotoId, Number(after[0]), 'the blue photo is the cover');

    // A shopper: header search, then the detail page.
    await page.goto(`${baseUrl}/`);
    await page.fill('header input[name=q]', `브롬톤 ${u}`);
    await Promise.all([page.waitForURL(/\/search\?q=/), page.press('header input[name=q]', 'Enter')]);
    await page.click(`text=${title}`);
    await page.waitForURL(`${baseUrl}/items/${id}`);
    t.equal(await page.textContent('[data-testid=detail-title]'), title);
    t.match(await page.title(), title);
    await page.focus('[data-gallery]');
    await page.keyboard.press('ArrowRight');
    t.equal(await page.getAttribute('.gallery-slide.is-active', 'data-index'), '1', 'arrow key moves the gallery');
    await page.screenshot({ path: screenshotPath('catalog-detail-desktop'), fullPage: true });
    await page.goto(`${baseUrl}/`);
    await page.screenshot({ path: screenshotPath('catalog-home-desktop'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshotPath('catalog-home-phone'), fullPage: true });
    await page.goto(`${baseUrl}/items/${id}`);
    await page.screenshot({ path: screenshotPath('catalog-detail-phone'), fullPage: true });
    t.same(errors, [], 'no script or CSP errors');
  },
);
