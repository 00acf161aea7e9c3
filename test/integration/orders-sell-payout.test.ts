/**
 * 정산 예정 금액 on the sell form: orders fills catalog's sell.payout slot with the fee rule as text
 * (works without JS) and an htmx area that asks /sell/payout-preview as the seller types; the
 * amounts use the settlement's rule, floor(price × PLATFORM_FEE_BPS / 10000) (default 300).
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, loggedIn } from '../helpers/auction.js';

const decode = (s: string) => s.replaceAll('&#x3D;', '=');

t.test('the sell form states the fee rule and previews the payout for the typed prices', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config, 0, 's');
  const c = await loggedIn(app, seller.email);

  const form = await c.get('/sell');
  t.equal(form.statusCode, 200);
  t.match(form.body, 'data-testid="sell-payout"');
  t.match(form.body, '정산 예정 금액');
  t.match(form.body, '수수료 3%(원 단위 내림)', 'the rule as text, for a page without JS');
  t.match(form.body, 'hx-get="/sell/payout-preview"');
  t.match(form.body, 'hx-include="#f-startPrice, #f-buyNowPrice"');
  t.match(form.body, /id="sell-payout-amounts"[^>]*hx-target="this"/, 'its own target, not the form it sits in');

  const p = await c.get('/sell/payout-preview?startPrice=12%2C345&buyNowPrice=50000%EC%9B%90');
  t.equal(p.statusCode, 200);
  // 12,345 × 3 % = 370.35 -> 370 (rounded down, as the settlement does); 50,000 -> 1,500.
  t.match(decode(p.body), '시작가로 팔리면: 12,345원 − 수수료 370원 = 11,975원');
  t.match(decode(p.body), '즉시 구매가로 팔리면: 50,000원 − 수수료 1,500원 = 48,500원');
  t.notMatch(p.body, '<html', 'a fragment, not a page');

  const onlyStart = await c.get('/sell/payout-preview?startPrice=9999&buyNowPrice=');
  t.match(decode(onlyStart.body), '9,999원 − 수수료 299원 = 9,700원');
  t.notMatch(onlyStart.body, 'payout-buynow', 'no buy-now price, no line');
  const junk = await c.get('/sell/payout-preview?startPrice=-5&buyNowPrice=1.5');
  t.equal(junk.statusCode, 200);
  t.notMatch(junk.body, 'data-testid', 'nothing for text that is not whole won');
  t.equal(
    (await c.get(`/sell/payout-preview?startPrice=${'9'.repeat(40)}`)).statusCode,
    400,
    'over-long input refused',
  );

  const en = await c.get('/sell/payout-preview?startPrice=10000&lang=en');
  t.match(decode(en.body), 'Sold at the start price: ₩10,000 − fee ₩300 = ₩9,700');
  const enForm = await c.get('/sell?lang=en');
  t.match(enForm.body, 'Expected payout');
  t.match(enForm.body, 'minus a 3% fee (rounded down to the won)');
});

t.test('a different PLATFORM_FEE_BPS shows in the rule and the amounts', async (t) => {
  const { app, config } = await startApp(t, { PLATFORM_FEE_BPS: '550' });
  const seller = await user(app, config, 0, 's');
  const c = await loggedIn(app, seller.email);
  t.match((await c.get('/sell')).body, '수수료 5.5%(원 단위 내림)');
  // 10,001 × 5.5 % = 550.055 -> 550.
  t.match(decode((await c.get('/sell/payout-preview?startPrice=10001')).body), '10,001원 − 수수료 550원 = 9,451원');
});
