import t from 'tap';
import { launchBrowser, startServer, screenshotPath, collectPageErrors } from '../helpers/browser.js';
import { makeUser } from '../helpers/wallet.js';

t.test('a shopper tops up (with a mistake, a slow card and a retry) and asks for a withdrawal', async (t) => {
  const { app, baseUrl } = await startServer(t);
  const user = await makeUser(app);
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const errors = collectPageErrors(page);

  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-email', user.email);
  await page.fill('#f-password', 'wallet test password');
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('main button[type=submit]')]);
  await Promise.all([page.waitForURL(`${baseUrl}/wallet`), page.click('[data-testid=header-wallet]')]);
  t.equal(await page.textContent('[data-testid=balance-available]'), '0원');

  await page.click('text=충전하기');
  await page.waitForSelector('[data-testid=test-cards]');
  await page.fill('#f-amount', '12.5');
  await page.fill('#f-cardNumber', '4242 4242 4242 4242');
  await page.click('[data-testid=topup-submit]');
  await page.waitForSelector('text=금액은 1원 단위 정수로 입력해 주세요.');
  t.equal(await page.inputValue('#f-cardNumber'), '4242 4242 4242 4242', 'card number kept after the error');
  await page.fill('#f-amount', '');
  await page.click('text=+1만');
  await page.click('text=+5만');
  t.equal(await page.inputValue('#f-amount'), '60000', 'quick buttons add up');
  await Promise.all([page.waitForURL(`${baseUrl}/wallet`), page.click('[data-testid=topup-submit]')]);
  await page.waitForSelector('text=60,000원이 충전되었어요.');
  t.equal(await page.textContent('[data-testid=balance-available]'), '60,000원');

  await page.goto(`${baseUrl}/wallet/topup`);
  await page.fill('#f-amount', '15000');
  await page.fill('#f-cardNumber', '4000 0000 0000 0119');
  await page.click('[data-testid=topup-submit]');
  await page.waitForSelector('text=카드사 응답이 늦어지고 있어요');
  await page.screenshot({ path: screenshotPath('wallet-topup-timeout-phone'), fullPage: true });
  t.match(await page.textContent('[data-testid=topup-submit]'), '결제 결과 다시 확인하기');
  await Promise.all([page.waitForURL(`${baseUrl}/wallet`), page.click('[data-testid=topup-submit]')]);
  t.equal(await page.textContent('[data-testid=balance-available]'), '75,000원', 'the slow payment was credited once');
  t.equal(await page.locator('[data-testid=history-row]').count(), 2);
  await page.screenshot({ path: screenshotPath('wallet-phone'), fullPage: true });

  await page.click('text=출금하기');
  await page.selectOption('#f-bankCode', '088');
  await page.fill('#f-accountNumber', '110-123-456789');
  await page.fill('#f-holderName', '김판다');
  await page.fill('#f-amount', '5000');
  await page.click('[data-testid=withdraw-submit]');
  await page.waitForSelector('text=최소 10,000원부터 가능해요.');
  t.equal(await page.inputValue('#f-accountNumber'), '110-123-456789', 'account kept after the error');
  await page.fill('#f-amount', '30000');
  await Promise.all([page.waitForURL(`${baseUrl}/wallet/withdraw`), page.click('[data-testid=withdraw-submit]')]);
  await page.waitForSelector('text=30,000원 출금을 신청했어요 (수수료 500원).');
  t.equal(await page.textContent('[data-testid=payout-status]'), '처리 중');
  t.equal(await page.textContent('[data-testid=withdraw-available]'), '44,500원');
  await page.screenshot({ path: screenshotPath('wallet-withdraw-phone'), fullPage: true });

  await page.goto(`${baseUrl}/wallet?lang=en`);
  await page.waitForSelector('text=My points');
  t.equal(await page.textContent('[data-testid=balance-available]'), '₩44,500');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: screenshotPath('wallet-desktop-en'), fullPage: true });
  t.same(errors, [], 'no script or CSP errors in the console');
});

t.test('top-up works without JavaScript', async (t) => {
  const { app, baseUrl } = await startServer(t);
  const user = await makeUser(app);
  const browser = await launchBrowser(t);
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${baseUrl}/login?next=/wallet/topup`);
  await page.fill('#f-email', user.email);
  await page.fill('#f-password', 'wallet test password');
  await Promise.all([page.waitForURL(`${baseUrl}/wallet/topup`), page.click('main button[type=submit]')]);
  await page.fill('#f-amount', '0');
  await page.fill('#f-cardNumber', '4242424242424242');
  await page.click('[data-testid=topup-submit]');
  await page.waitForSelector('text=0원보다 큰 금액을 입력해 주세요.');
  await page.fill('#f-amount', '20,000');
  await Promise.all([page.waitForURL(`${baseUrl}/wallet`), page.click('[data-testid=topup-submit]')]);
  t.equal(await page.textContent('[data-testid=balance-available]'), '20,000원');
});
