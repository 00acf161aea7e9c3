/**
 * Closing: the BullMQ close job decides SOLD at the final price or UNSOLD (no bid, reserve not
 * met), exactly once; the sweeper closes what a lost job left open; soft close moves the end.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, bid, balances, committed, waitFor } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

const ended = (app: Awaited<ReturnType<typeof startApp>>['app'], id: number) => async () =>
  (await app.db.auction.findUniqueOrThrow({ where: { id } })).status === 'ENDED';

t.test('the close job sells to the leader at the final price and keeps exactly that on hold', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const events: Record<string, unknown>[] = [];
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 100_000), user(app, config, 100_000)]);
  const [ca, cb] = await Promise.all([loggedIn(app, a.email), loggedIn(app, b.email)]);
  // Logged in first, so the two bids land well inside the auction's 8 s even on a loaded machine.
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 8_000 });
  // Only this auction's: this app's sweeper also closes other test files' overdue auctions (one shared database).
  app.events.on('auction.closed', (p) => void (p.auctionId === id && events.push(p)));
  t.equal((await bid(ca, id, 40_000)).statusCode, 200, "A's bid accepted");
  t.equal((await bid(cb, id, 25_000)).statusCode, 200, "B's bid accepted");
  t.ok(await waitFor(ended(app, id), 30_000), 'closed by its job');
  const row = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(row.outcome, 'SOLD');
  t.equal(row.winnerId, a.id);
  t.equal(row.finalPrice, 26_000, "B's max + one increment");
  t.ok(row.closedAt! >= row.endsAt, 'never before the end');
  // orders (a durable consumer of auction.closed) moves the hold into the order's escrow moments
  // later: one statement reads both, so the sum is the winner's committed points either way.
  t.same(
    await committed(app, a.id),
    { available: 74_000, heldOrEscrow: 26_000 },
    'the winner holds exactly the final price',
  );
  t.same(await balances(app, b.id), { available: 100_000, held: 0 });
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).status, 'ENDED_SOLD');
  await waitFor(async () => events.length > 0, 2000);
  t.same(
    events.map((e) => [e.auctionId, e.outcome, e.winnerId, e.finalPrice, e.holdRef]),
    [[id, 'SOLD', a.id, 26_000, `auction:${id}:won`]],
    'auction.closed once, with plain data',
  );
  t.same(await ledgerViolations(app), []);
  const late = await bid(await loggedIn(app, b.email), id, 90_000);
  t.match(late.body, '경매가 종료되었어요.', 'no bid after the close');
});

t.test('no bid, or the reserve not met: UNSOLD, every hold returned', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const a = await user(app, config, 100_000);
  const none = await auction(app, { sellerId: seller.id, endsInMs: 1_500 });
  const reserved = await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    reservePrice: 80_000,
    endsInMs: 2_000,
  });
  const r = await bid(await loggedIn(app, a.email), reserved, 50_000);
  t.match(r.body, '최저가 미달');
  t.ok(await waitFor(ended(app, none), 10_000));
  t.ok(await waitFor(ended(app, reserved), 10_000));
  for (const id of [none, reserved]) {
    const row = await app.db.auction.findUniqueOrThrow({ where: { id } });
    t.equal(row.outcome, 'UNSOLD', `auction ${id} unsold`);
    t.equal(row.winnerId, null);
    t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).status, 'ENDED_UNSOLD');
  }
  t.same(await balances(app, a.id), { available: 100_000, held: 0 }, 'hold released');
});

t.test('a lost close job: the sweeper closes the auction, once', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const a = await user(app, config, 100_000);
  // Logged in before the 3 s auction starts: on a loaded machine a login (argon2) can outlive it.
  const ca = await loggedIn(app, a.email);
  const id = await auction(app, { sellerId: seller.id, endsInMs: 3_000 });
  // Lose every job (as after a Redis flush), then let the end pass.
  const q = app.queues.queue('auctions');
  await q.obliterate({ force: true });
  await bid(ca, id, 20_000);
  await q.obliterate({ force: true });
  await new Promise((r) => setTimeout(r, 3_500));
  const counts = await q.getJobCounts('delayed', 'waiting', 'active');
  t.same(counts, { delayed: 0, waiting: 0, active: 0 }, 'overdue: its close job is gone');
  // Every test file's app shares this database and runs its own sweeper, so one of those may
  // already have closed it; with no close job anywhere, only a sweeper can have.
  t.match((await app.db.auction.findUniqueOrThrow({ where: { id } })).status, /^(LIVE|ENDED)$/);
  const res = await app.queues.queue('auctions').add('sweep', {});
  t.ok(res.id, 'a sweep is queued (the repeatable one does the same every AUCTION_SWEEP_MS)');
  t.ok(await waitFor(ended(app, id), 10_000), 'closed by the sweeper');
  // A second sweep and a stray close job change nothing.
  await app.queues.queue('auctions').add('sweep', {});
  await app.queues.queue('auctions').add('close', { id });
  await new Promise((r) => setTimeout(r, 1000));
  const holds = await app.db.$queryRaw<
    { n: bigint }[]
  >`SELECT count(*) AS n FROM ledger_transactions WHERE kind = 'HOLD' AND reference LIKE ${`auction:${id}:won%`}`;
  t.equal(Number(holds[0].n), 1, 'the win was held once');
  t.same(await committed(app, a.id), { available: 90_000, heldOrEscrow: 10_000 }, 'held once (or in escrow once)');
  t.same(await ledgerViolations(app), []);
});

t.test('soft close: a late bid moves the end and the close waits for it', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '4' });
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 100_000), user(app, config, 100_000)]);
  // Both logged in before the 2 s auction starts: on a loaded machine a login can outlive it.
  const [ca, cb] = await Promise.all([loggedIn(app, a.email), loggedIn(app, b.email)]);
  const id = await auction(app, { sellerId: seller.id, endsInMs: 2_000 });
  const before = (await app.db.auction.findUniqueOrThrow({ where: { id } })).endsAt;
  const res = await bid(ca, id, 20_000);
  t.match(res.body, '마감 연장됨', 'the panel says the end moved');
  const after = (await app.db.auction.findUniqueOrThrow({ where: { id } })).endsAt;
  t.ok(after.getTime() > before.getTime(), 'end moved later');
  t.ok(after.getTime() - Date.now() > 3_000, 'to about now + 4 s');
  await new Promise((r) => setTimeout(r, before.getTime() - Date.now() + 800));
  t.equal(
    (await app.db.auction.findUniqueOrThrow({ where: { id } })).status,
    'LIVE',
    'still live after the original end',
  );
  await bid(cb, id, 30_000);
  t.ok(await waitFor(ended(app, id), 12_000), 'closes after the moved end');
  const row = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(row.winnerId, b.id);
  t.ok(row.closedAt! >= row.endsAt);
  t.equal(
    (await app.db.listing.findUniqueOrThrow({ where: { id } })).endsAt.getTime(),
    row.endsAt.getTime(),
    'the catalog shows the moved end',
  );
});

t.test('a scheduled auction starts by its job', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const id = await auction(app, { sellerId: seller.id, startsInMs: 1_500, endsInMs: 60_000 });
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id } })).status, 'SCHEDULED');
  t.ok(
    await waitFor(async () => (await app.db.auction.findUniqueOrThrow({ where: { id } })).status === 'LIVE', 8_000),
    'live after its start',
  );
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).status, 'LIVE');
});

t.test('the seller cancels before the first bid, not after', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const a = await user(app, config, 100_000);
  const cs = await loggedIn(app, seller.email);
  const free = await auction(app, { sellerId: seller.id });
  const taken = await auction(app, { sellerId: seller.id });
  await bid(await loggedIn(app, a.email), taken, 10_000);
  await cs.get(`/items/${free}`);
  t.equal((await cs.post(`/items/${free}/cancel`, {})).statusCode, 303);
  t.ok(
    await waitFor(
      async () => (await app.db.auction.findUniqueOrThrow({ where: { id: free } })).status === 'CANCELLED',
      3000,
    ),
    'the auction follows the listing',
  );
  t.match((await bid(await loggedIn(app, a.email), free, 20_000)).body, '취소된 경매예요.');
  await cs.get(`/items/${taken}`);
  t.equal((await cs.post(`/items/${taken}/cancel`, {})).statusCode, 409, 'not after a bid');
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id: taken } })).status, 'LIVE');
});
