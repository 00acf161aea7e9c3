/**
 * Issue 15 item 2, the phone filter sheet, without the layout shift Lighthouse measured (CLS 0.5
 * on /search when script folded a painted form away): on a phone the form is hidden by the
 * stylesheet from the first paint (also when site.js never runs), the 필터 button opens and
 * closes it; without JavaScript the form shows in place and filters by a plain GET; on a desktop
 * the form is the sidebar.
 */
import t from 'tap';
import { launchBrowser, startServer, screenshotPath, collectPageErrors } from '../helpers/browser.js';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

t.test('search filters on a phone: a sheet from the first paint, the form in place without JavaScript', async (t) => {
  const { baseUrl } = await startServer(t);
  const browser = await launchBrowser(t);
  const url = `${baseUrl}/search?q=${encodeURIComponent('자전거')}`;

  const phone = await browser.newContext(PHONE);
  t.teardown(() => phone.close());
  const p = await phone.newPage();
  const errors = collectPageErrors(p);
  await p.addInitScript(() => {
    const w = window as unknown as { __cls: number };
    w.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[])
        if (!e.hadRecentInput) w.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await p.goto(url, { waitUntil: 'load' });
  await p.waitForTimeout(300);
  t.equal(await p.isVisible('[data-filter-sheet]'), false, 'the form is folded away on a phone');
  t.equal(await p.isVisible('[data-filter-open]'), true, 'the 필터 button shows');
  t.equal(await p.evaluate(() => (window as unknown as { __cls: number }).__cls), 0, 'no layout shift on load');
  await p.click('[data-filter-open]');
  t.equal(await p.isVisible('[data-filter-sheet]'), true, 'the button opens the sheet');
  t.equal(await p.getAttribute('[data-filter-open]', 'aria-expanded'), 'true', 'the button says it is open');
  await p.screenshot({ path: screenshotPath('search-filter-sheet-open-phone') });
  await p.keyboard.press('Escape');
  t.equal(await p.isVisible('[data-filter-sheet]'), false, 'Escape closes it');
  t.same(errors, [], 'no script errors');

  // The stylesheet alone folds the form: also before (or without) site.js.
  const noSiteJs = await browser.newContext(PHONE);
  t.teardown(() => noSiteJs.close());
  await noSiteJs.route('**/static/site.js', (r) => r.abort());
  const q = await noSiteJs.newPage();
  await q.goto(url, { waitUntil: 'load' });
  t.equal(await q.isVisible('[data-filter-sheet]'), false, 'folded by CSS, not by script');

  // No JavaScript: the form shows in place, the button that could not open it does not.
  const noJs = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  t.teardown(() => noJs.close());
  const n = await noJs.newPage();
  await n.goto(url);
  t.equal(await n.isVisible('[data-filter-sheet]'), true, 'without JavaScript the form shows');
  t.equal(await n.isVisible('[data-filter-open]'), false, 'without JavaScript the 필터 button is hidden');
  t.equal(await n.isVisible('[data-filter-close]'), false, 'and so is the sheet close button');
  await n.screenshot({ path: screenshotPath('search-filters-nojs-phone'), fullPage: true });
  await n.fill('[data-filter-sheet] input[name=min]', '1000');
  await Promise.all([n.waitForURL(/[?&]min=1000/), n.click('[data-filter-sheet] button[type=submit]')]);
  t.pass('the form filters by a plain GET');

  // Desktop: the form is the sidebar, no button.
  const desk = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  t.teardown(() => desk.close());
  const d = await desk.newPage();
  await d.goto(url);
  t.equal(await d.isVisible('[data-filter-sheet]'), true, 'the sidebar form shows on a desktop');
  t.equal(await d.isVisible('[data-filter-open]'), false, 'no 필터 button on a desktop');
});
