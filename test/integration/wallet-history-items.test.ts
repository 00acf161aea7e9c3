/**
 * Wallet history names the item of every hold, release, escrow and payout line (core/ledger-labels:
 * bidding answers `auction:<id>:…`, orders answers `order:<id>`), and the seller's payout line shows
 * the breakdown price − fee = payout. A real sale on the real app: a rival's bid (held, then
 * released by the buy-now), the buyer's buy-now (held, moved to escrow), address, shipment,
 * receipt, settlement by the durable order.received; then /wallet for each of the three, in
 * Korean and in English.
 */
import t from 'tap';
import { user, auction, loggedIn, waitFor, bid } from '../helpers/auction.js';
import { startApp } from '../helpers/app.js';
import { giveAddress, ship } from '../helpers/orders.js';
import { ledgerViolations } from '../helpers/wallet.js';

const PRICE = 50_000;
const FEE = Math.floor((PRICE * 300) / 10_000); // PLATFORM_FEE_BPS default 300: 1,500

/** The history rows of a /wallet page, by kind (each row's HTML). */
function rowsOf(body: string): { kind: string; html: string }[] {
  return [
    ...body.matchAll(/<li class="wallet-row" data-testid="history-row" data-kind="([A-Z_]+)">([\s\S]*?)<\/li>/g),
  ].map((m) => ({ kind: m[1], html: m[2].replaceAll('&#x3D;', '=') }));
}

t.test('hold, release, escrow and payout rows name the item; the payout shows its breakdown', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const title = `지갑 내역 라이카 M6 ${Date.now()}`;
  const seller = await user(app, config, 0, 's');
  const buyer = await user(app, config, 100_000, 'k');
  const rival = await user(app, config, 100_000, 'r');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: PRICE, title });

  const rc = await loggedIn(app, rival.email);
  t.equal((await bid(rc, id, 20_000)).statusCode, 200, 'the rival bids');
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${id}/bid-panel`);
  const bought = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  t.ok(bought.statusCode < 400, 'buy-now');
  let orderId = 0;
  t.ok(
    await waitFor(async () => {
      orderId = (await app.db.order.findFirst({ where: { auctionId: id } }))?.id ?? 0;
      return orderId > 0;
    }, 15_000),
    'order made from auction.closed',
  );
  const sc = await loggedIn(app, seller.email);
  t.equal((await giveAddress(bc, orderId)).statusCode, 303);
  t.equal((await ship(sc, orderId)).statusCode, 303);
  await bc.get(`/orders/${orderId}`);
  t.equal((await bc.post(`/orders/${orderId}/confirm`, {})).statusCode, 303);
  t.ok(
    await waitFor(
      async () => (await app.db.order.findUniqueOrThrow({ where: { id: orderId } })).state === 'COMPLETED',
      15_000,
    ),
    'settled',
  );
  t.same(await ledgerViolations(app), []);

  const itemLink = `href="/items/${id}"`;
  const orderLink = `href="/orders/${orderId}"`;

  // The buyer: the buy-now hold and its escrow name the item and link to it.
  const buyerRows = rowsOf((await bc.get('/wallet')).body);
  const bkinds = buyerRows.map((r) => r.kind);
  t.ok(bkinds.includes('HOLD') && bkinds.includes('ESCROW'), `buyer rows: ${bkinds.join(',')}`);
  for (const r of buyerRows.filter((r) => r.kind === 'HOLD' || r.kind === 'ESCROW')) {
    t.match(r.html, title, `buyer ${r.kind} names the item`);
    t.match(r.html, itemLink, `buyer ${r.kind} links the item`);
  }
  t.notOk(
    buyerRows.some((r) => r.html.includes('data-testid="row-payout"')),
    'the buyer sees no payout breakdown',
  );

  // The rival: the bid's hold and its release when the buy-now ended the auction.
  const rivalRows = rowsOf((await rc.get('/wallet')).body);
  t.same(
    rivalRows.map((r) => r.kind).filter((k) => k !== 'TOPUP'),
    ['RELEASE', 'HOLD'],
    'rival: hold, then release',
  );
  for (const r of rivalRows.filter((r) => r.kind !== 'TOPUP')) {
    t.match(r.html, title, `rival ${r.kind} names the item`);
    t.match(r.html, itemLink);
  }
  t.notOk(rivalRows.find((r) => r.kind === 'TOPUP')!.html.includes('row-item'), 'a top-up names no item');

  // The seller: the payout names the item, links the order, and shows price − fee = payout.
  const sellerPage = await sc.get('/wallet');
  const payout = rowsOf(sellerPage.body).find((r) => r.kind === 'PAYOUT_TO_SELLER');
  t.ok(payout, 'the seller has a payout row');
  t.match(payout!.html, title);
  t.match(payout!.html, orderLink);
  t.match(payout!.html, '판매가 50,000원 − 수수료 1,500원 = 정산 금액 48,500원');
  t.match(payout!.html, '+48,500원');
  t.equal(PRICE - FEE, 48_500);
  const en = rowsOf((await sc.get('/wallet?lang=en')).body).find((r) => r.kind === 'PAYOUT_TO_SELLER');
  t.match(en!.html, 'Sale price ₩50,000 − fee ₩1,500 = payout ₩48,500');
  t.match(en!.html, title);

  // A filtered page asks the registry for its own rows.
  const one = await sc.get('/wallet?kind=PAYOUT_TO_SELLER');
  t.match(one.body, title);
});
