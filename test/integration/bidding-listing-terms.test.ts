/**
 * Until the first bid the seller may edit or cancel the listing. The first bid must never be
 * decided on terms the listing no longer shows: not while the edit is still committing (the
 * listing row is locked and waited for), and not after it committed but before its event was
 * handled (the bid adopts the listing's terms itself and asks the bidder to look again).
 */
import t from 'tap';
import pg from 'pg';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, bid, balances } from '../helpers/auction.js';
import { testDatabaseUrl } from '../helpers/env.js';

t.test(
  'an edit committed before its event: the first bid adopts the new terms and is refused with an explanation',
  async (t) => {
    const { app, config } = await startApp(t);
    const seller = await user(app, config);
    const b = await user(app, config, 200_000);
    const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
    const before = await app.db.auction.findUniqueOrThrow({ where: { id } });
    const newEnd = new Date(before.endsAt.getTime() + 3_600_000);
    // As the catalog's edit writes it; its listing.updated event has not been handled yet.
    await app.db
      .$executeRaw`UPDATE listings SET start_price = 20000, current_price = 20000, buy_now_price = 90000, ends_at = ${newEnd} WHERE id = ${id}`;

    const c = await loggedIn(app, b.email);
    let res = await bid(c, id, 15_000);
    t.equal(res.statusCode, 422);
    t.match(res.body, '판매자가 방금 경매 조건을 바꿨어요');
    t.match(res.body, /data-testid="current-price">20,000원/, 'the panel shows the new start price');
    const adopted = await app.db.auction.findUniqueOrThrow({ where: { id } });
    t.same(
      {
        start: adopted.startPrice,
        price: adopted.currentPrice,
        buyNow: adopted.buyNowPrice,
        ends: adopted.endsAt.getTime(),
        original: adopted.originalEndsAt.getTime(),
        bids: adopted.bidCount,
      },
      { start: 20_000, price: 20_000, buyNow: 90_000, ends: newEnd.getTime(), original: newEnd.getTime(), bids: 0 },
      "the auction took the listing's terms",
    );
    t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0, 'no bid was recorded');
    t.same(await balances(app, b.id), { available: 200_000, held: 0 }, 'no points held');
    const job = await app.queues.queue('auctions').getJob(`close-${id}-${newEnd.getTime()}`);
    t.ok(job, 'the close is planned for the new end');

    res = await bid(c, id, 15_000);
    t.match(res.body, '최소 입찰가는 20,000원이에요.', 'the new minimum applies');
    res = await bid(c, id, 20_000);
    t.equal(res.statusCode, 200);
    t.match(res.body, /data-testid="current-price">20,000원/);
    t.same(await balances(app, b.id), { available: 180_000, held: 20_000 });
  },
);

t.test('a cancel committed before its event: the bid is refused and the auction cancelled', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const b = await user(app, config, 200_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  await app.db.$executeRaw`UPDATE listings SET status = 'CANCELLED' WHERE id = ${id}`;
  const res = await bid(await loggedIn(app, b.email), id, 10_000);
  t.equal(res.statusCode, 422);
  t.match(res.body, '취소된 경매예요.');
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id } })).status, 'CANCELLED');
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0);
  t.equal(
    (await app.db.listing.findUniqueOrThrow({ where: { id } })).status,
    'CANCELLED',
    'the listing stays cancelled',
  );
  t.same(await balances(app, b.id), { available: 200_000, held: 0 });
});

t.test('an edit still committing is waited for; after the first bid, an edit finds the bid and fails', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const b = await user(app, config, 200_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const c = await loggedIn(app, b.email);
  await c.get(`/items/${id}/bid-panel`);

  const editor = new pg.Client({ connectionString: await testDatabaseUrl() });
  await editor.connect();
  t.teardown(() => editor.end());
  await editor.query('BEGIN');
  await editor.query('UPDATE listings SET start_price = 30000, current_price = 30000 WHERE id = $1 AND bid_count = 0', [
    id,
  ]);
  let settled = false;
  const pending = c
    .post(`/items/${id}/bids`, { amount: '12000' }, { 'hx-request': 'true' })
    .finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(settled, 'the bid waits for the edit in flight');
  await editor.query('COMMIT');
  const res = await pending;
  t.equal(res.statusCode, 422);
  t.match(res.body, '판매자가 방금 경매 조건을 바꿨어요', 'and then sees it');
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0);

  // The first bid commits; an edit written the way the catalog writes it ("no bids yet") now changes nothing.
  t.equal((await bid(c, id, 30_000)).statusCode, 200);
  const edit = await editor.query(
    'UPDATE listings SET start_price = 5000, current_price = 5000 WHERE id = $1 AND bid_count = 0',
    [id],
  );
  t.equal(edit.rowCount, 0, "the edit's condition fails once a bid exists");
  const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.same({ start: a.startPrice, price: a.currentPrice, bids: a.bidCount }, { start: 30_000, price: 30_000, bids: 1 });
});
