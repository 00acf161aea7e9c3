/* eslint-disable @typescript-eslint/no-unused-vars -- the helpers are orders-offers.test.ts's, kept whole so the two files stay one copy apart */
/**
 * Second-chance offers on the real app (PostgreSQL, Redis, BullMQ, the outbox). Auctions with real
 * bids are closed by bidding's own sweeper once their end is moved into the past; the winner's
 * order is cancelled for no address by its BullMQ job (promoted, never slept for). The seller then
 * offers the item to the next-highest bidder at that bidder's own maximum: accepted (points held,
 * a normal escrowed order, settled), declined, expired by its job and by the sweeper; and the
 * refusals (not the seller's / not the bidder's: 404, twice: 409, not enough points: 409 with
 * nothing changed, no runner-up, below the reserve, cancelled because the seller did not ship).
 * After every money step the ledger sums to zero and balances are what the test computes.
 */
import t from 'tap';
import { startApp, type Client } from '../helpers/app.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';
import { jobId } from '../../src/modules/orders/jobs.js';
import { walletApi } from '../../src/modules/wallet/index.js';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';

async function bal(app: App, userId: number) {
  const rows = await app.db.$queryRaw<{ kind: string; total: bigint }[]>`
    SELECT kind::text AS kind, COALESCE(SUM(balance), 0)::bigint AS total FROM wallet_accounts WHERE user_id = ${userId} GROUP BY kind`;
  const get = (k: string) => Number(rows.find((r) => r.kind === k)?.total ?? 0n);
  return { available: get('USER_AVAILABLE'), held: get('USER_HELD'), escrow: get('ESCROW') };
}

const W_MAX = 40_000;
const R_MAX = 30_000;
const FUNDS = 100_000;

type Sale = Awaited<ReturnType<typeof setUp>>;

/** Seller, winner W (max 40,000), runner-up R (max 30,000) and, unless `solo`, a third bidder (20,000). */
async function setUp(app: App, config: Config, o: { solo?: boolean; reserve?: number } = {}) {
  const seller = await user(app, config, 0, 's');
  const w = await user(app, config, FUNDS, 'w');
  const r = await user(app, config, FUNDS, 'r');
  const third = await user(app, config, FUNDS, 'z');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, reservePrice: o.reserve ?? null });
  const [wc, rc, zc, sc] = await Promise.all([
    loggedIn(app, w.email),
    loggedIn(app, r.email),
    loggedIn(app, third.email),
    loggedIn(app, seller.email),
  ]);
  if (!o.solo) {
    if ((await bid(zc, id, 20_000)).statusCode !== 200) throw new Error('third bid refused');
    if ((await bid(rc, id, R_MAX)).statusCode !== 200) throw new Error('runner-up bid refused');
  }
  if ((await bid(wc, id, W_MAX)).statusCode !== 200) throw new Error('winner bid refused');
  return { seller, w, r, third, id, wc, rc, zc, sc };
}

/** Closes the sales' auctions (end moved into the past, bidding's sweeper) and waits for their orders. */
async function close(app: App, sales: Sale[]) {
  const ids = sales.map((s) => s.id);
  await app.db.$executeRaw`UPDATE auctions SET ends_at = now() - interval '1 second' WHERE id = ANY(${ids})`;
  // The first call may only wait for a sweep that began before the UPDATE; the second is a fresh one.
  await app.queues.runNow('auction-sweeper');
  await app.queues.runNow('auction-sweeper');
  const ok = await waitFor(
    async () => (await app.db.order.count({ where: { auctionId: { in: ids } } })) === ids.length,
    20_000,
  );
  if (!ok) throw new Error('orders were not created');
  return Promise.all(sales.map((s) => app.db.order.findFirstOrThrow({ where: { auctionId: s.id } })));
}

/** The winner gives no address: the order's deadline job fires (promoted) and cancels it. */
async function noAddress(app: App, orderId: number) {
  const o = await app.db.order.findUniqueOrThrow({ where: { id: orderId } });
  const job = await app.queues.queue('orders').getJob(jobId('due', o.id, o.dueAt!));
  if (!job) throw new Error(`no deadline job for order ${o.id}`);
  await job.promote();
  const ok = await waitFor(
    async () => (await app.db.order.findUniqueOrThrow({ where: { id: orderId } })).state === 'CANCELLED',
    15_000,
  );
  if (!ok) throw new Error('not cancelled');
}

async function offerFrom(app: App, sc: Client, orderId: number) {
  await sc.get(`/orders/${orderId}`);
  return sc.post(`/orders/${orderId}/offer`, {});
}

const kinds = async (app: App, userId: number) =>
  (await app.db.notification.findMany({ where: { userId }, orderBy: { id: 'asc' } })).map((n) => n.kind);

// In its own file (its own process): a second app started in the same process after the first one closed
// created no orders from auction.closed (seen at the merge of 2026-12-02; cause not found yet, see the closing note).

t.test('no offer when the seller did not ship', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0', ORDER_SWEEP_MS: '3600000' });
  const G = await setUp(app, config);
  const [og] = await close(app, [G]);
  await G.wc.get(`/orders/${og.id}`);
  const addr = await G.wc.post(`/orders/${og.id}/address`, {
    mode: 'MEETUP',
    meetupPlace: '역삼역 3번 출구',
    meetupAt: new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16),
  });
  t.equal(addr.statusCode, 303);
  const o = await app.db.order.findUniqueOrThrow({ where: { id: og.id } });
  await (await app.queues.queue('orders').getJob(jobId('due', o.id, o.dueAt!)))!.promote();
  t.ok(
    await waitFor(
      async () => (await app.db.order.findUniqueOrThrow({ where: { id: og.id } })).state === 'CANCELLED',
      15_000,
    ),
  );
  t.equal((await app.db.order.findUniqueOrThrow({ where: { id: og.id } })).cancelReason, 'NOT_SHIPPED');
  t.notMatch((await G.sc.get(`/orders/${og.id}`)).body, 'data-testid="second-chance"', 'no offer block');
  const r = await offerFrom(app, G.sc, og.id);
  t.equal(r.statusCode, 409);
  t.match(r.body, '배송 정보를 주지 않아 취소된 주문만');
  t.equal(await app.db.orderOffer.count({ where: { orderId: og.id } }), 0);
  t.same(await ledgerViolations(app), []);
});
