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
  await app.db.$executeRaw`UPDATE auctions SET ends_at = now() WHERE id = ANY(${ids})`;
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

t.test('second-chance offers: accepted, declined, expired (job and sweeper), and every refusal', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0', ORDER_SWEEP_MS: '3600000' });
  const fee = (p: number) => Math.floor((p * config.orders.feeBps) / 10_000);
  const [A, B, C, D, E, F] = await Promise.all([
    setUp(app, config),
    setUp(app, config),
    setUp(app, config),
    setUp(app, config),
    setUp(app, config, { solo: true }),
    setUp(app, config, { reserve: 35_000 }),
  ]);
  const [oa, ob, oc, od, oe, of] = await close(app, [A, B, C, D, E, F]);
  t.equal(oa.buyerId, A.w.id, 'the winner has the order');
  t.equal(oa.price, R_MAX + 1000, "the runner-up's max plus one increment");
  t.equal(of.price, 35_000, 'the reserve price, met by the winner only');

  // Before the cancel: no offer block (the order is not cancelled), and an offer is refused.
  t.notMatch((await A.sc.get(`/orders/${oa.id}`)).body, 'data-testid="second-chance"');
  const early = await offerFrom(app, A.sc, oa.id);
  t.equal(early.statusCode, 409, 'no offer for an open order');
  t.match(early.body, '배송 정보를 주지 않아 취소된 주문만');

  await Promise.all([oa, ob, oc, od, oe, of].map((o) => noAddress(app, o.id)));
  t.same(await bal(app, A.w.id), { available: FUNDS, held: 0, escrow: 0 }, 'the winner refunded');
  t.same(
    await bal(app, A.r.id),
    { available: FUNDS, held: 0, escrow: 0 },
    "the runner-up's hold was released long ago",
  );
  t.same(await ledgerViolations(app), []);

  // ── A: accepted ──
  const page = await A.sc.get(`/orders/${oa.id}`);
  t.match(page.body, 'data-testid="second-chance"');
  t.match(page.body, '30,000원에 제안하기', "the seller sees the runner-up's own maximum");
  // Not the seller: 404 (the winner, a stranger), nothing made.
  t.equal((await offerFrom(app, A.wc, oa.id)).statusCode, 404, "the cancelled winner can't offer");
  t.equal((await offerFrom(app, B.sc, oa.id)).statusCode, 404, "another seller can't offer");
  t.equal(await app.db.orderOffer.count({ where: { orderId: oa.id } }), 0);
  t.equal((await offerFrom(app, A.sc, oa.id)).statusCode, 303, 'offered');
  const fa = await app.db.orderOffer.findUniqueOrThrow({ where: { orderId: oa.id } });
  t.match(fa, { bidderId: A.r.id, sellerId: A.seller.id, price: R_MAX, state: 'OPEN', auctionId: A.id });
  const hours = (fa.expiresAt.getTime() - fa.createdAt.getTime()) / 3_600_000;
  t.ok(Math.abs(hours - 48) < 0.01, 'open for 48 hours');
  t.ok(await app.queues.queue('orders').getJob(jobId('offer', fa.id, fa.expiresAt)), 'the expiry job is planned');
  const twice = await offerFrom(app, A.sc, oa.id);
  t.equal(twice.statusCode, 409, 'one offer per order');
  t.match(twice.body, '이미 보냈어요');
  t.match((await A.sc.get(`/orders/${oa.id}`)).body, '답변 대기');

  // Only the bidder and the seller see it; only the bidder answers.
  t.equal((await A.wc.get(`/offers/${fa.id}`)).statusCode, 404, 'the former winner: 404');
  t.equal((await A.zc.get(`/offers/${fa.id}`)).statusCode, 404, 'the third bidder: 404');
  t.equal((await A.sc.get(`/offers/${fa.id}`)).statusCode, 200, 'the seller may look');
  t.notMatch((await A.sc.get(`/offers/${fa.id}`)).body, 'data-testid="offer-accept"');
  t.equal((await A.zc.post(`/offers/${fa.id}/accept`, {})).statusCode, 404, "someone else's offer: 404");
  t.equal((await A.sc.post(`/offers/${fa.id}/accept`, {})).statusCode, 404, "the seller can't accept");

  // Not enough available points: a clear 409, nothing changed.
  const wallet = walletApi(app.db);
  await wallet.hold(A.r.id, 80_000, `test:offer-funds:${fa.id}`);
  const rp = await A.rc.get(`/offers/${fa.id}`);
  t.match(rp.body, 'data-testid="offer-accept"');
  t.match(rp.body, '포인트가 10,000원 부족해요', 'the page says how much is missing');
  const poor = await A.rc.post(`/offers/${fa.id}/accept`, {});
  t.equal(poor.statusCode, 409);
  t.match(poor.body, '포인트가 부족해요. 필요한 포인트 30,000원 중 사용 가능한 포인트는 20,000원이에요.');
  t.equal((await app.db.orderOffer.findUniqueOrThrow({ where: { id: fa.id } })).state, 'OPEN', 'still open');
  t.equal(await app.db.order.count({ where: { auctionId: A.id } }), 1, 'no order made');
  t.same(await bal(app, A.r.id), { available: 20_000, held: 80_000, escrow: 0 });
  await wallet.releaseHold(`test:offer-funds:${fa.id}`);

  await A.rc.get(`/offers/${fa.id}`);
  const acc = await A.rc.post(`/offers/${fa.id}/accept`, {});
  t.equal(acc.statusCode, 303, 'accepted');
  const fa2 = await app.db.orderOffer.findUniqueOrThrow({ where: { id: fa.id } });
  t.equal(fa2.state, 'ACCEPTED');
  t.ok(fa2.newOrderId);
  t.equal(acc.headers.location, `/orders/${fa2.newOrderId}`);
  const na = await app.db.order.findUniqueOrThrow({ where: { id: fa2.newOrderId! } });
  t.match(na, {
    buyerId: A.r.id,
    sellerId: A.seller.id,
    price: R_MAX,
    state: 'AWAITING_ADDRESS',
    sourceKey: `offer:${fa.id}`,
  });
  t.ok(await app.queues.queue('orders').getJob(jobId('due', na.id, na.dueAt!)), "the new order's deadline job");
  t.same(await bal(app, A.r.id), { available: FUNDS - R_MAX, held: 0, escrow: R_MAX }, 'held, then escrowed');
  t.same(await ledgerViolations(app), []);
  const again = await A.rc.post(`/offers/${fa.id}/accept`, {});
  t.equal(again.statusCode, 409, 'accept twice refused');
  t.match(again.body, '이미 수락한 제안이에요');
  t.equal((await A.rc.post(`/offers/${fa.id}/decline`, {})).statusCode, 409, 'decline after accept refused');
  t.equal(await app.db.order.count({ where: { sourceKey: `offer:${fa.id}` } }), 1, 'one order');
  t.same(await bal(app, A.r.id), { available: FUNDS - R_MAX, held: 0, escrow: R_MAX });

  // The rest is a normal order: address, ship, confirm, settlement with the fee.
  await A.rc.get(`/orders/${na.id}`);
  const addr = await A.rc.post(`/orders/${na.id}/address`, {
    mode: 'COURIER',
    recipient: '이다판',
    phone: '010-2345-6789',
    postalCode: '06236',
    roadAddress: '서울 강남구 테헤란로 152',
    detailAddress: '12층',
  });
  t.equal(addr.statusCode, 303);
  await A.sc.get(`/orders/${na.id}`);
  t.equal(
    (await A.sc.post(`/orders/${na.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' }))
      .statusCode,
    303,
  );
  await A.rc.get(`/orders/${na.id}`);
  t.equal((await A.rc.post(`/orders/${na.id}/confirm`, {})).statusCode, 303);
  t.ok(
    await waitFor(
      async () => (await app.db.order.findUniqueOrThrow({ where: { id: na.id } })).state === 'COMPLETED',
      15_000,
    ),
    'settled',
  );
  t.same(await bal(app, A.seller.id), { available: R_MAX - fee(R_MAX), held: 0, escrow: 0 }, 'seller paid once');
  t.same(await bal(app, A.r.id), { available: FUNDS - R_MAX, held: 0, escrow: 0 });
  t.same(await bal(app, A.w.id), { available: FUNDS, held: 0, escrow: 0 });
  t.same(await ledgerViolations(app), []);
  t.ok(await waitFor(async () => (await kinds(app, A.r.id)).includes('offer'), 15_000), 'the bidder was told');
  t.ok(
    await waitFor(async () => (await kinds(app, A.seller.id)).includes('offerAccepted'), 15_000),
    'the seller was told',
  );
  const inbox = await A.rc.get('/notifications');
  t.match(inbox.body, '최고 입찰가 30,000원에 팔겠다고 제안했어요');

  // ── B: declined ──
  t.equal((await offerFrom(app, B.sc, ob.id)).statusCode, 303);
  const fb = await app.db.orderOffer.findUniqueOrThrow({ where: { orderId: ob.id } });
  await B.rc.get(`/offers/${fb.id}`);
  t.equal((await B.wc.post(`/offers/${fb.id}/decline`, {})).statusCode, 404, "the winner can't decline it");
  t.equal((await B.rc.post(`/offers/${fb.id}/decline`, {})).statusCode, 303, 'declined');
  t.equal((await app.db.orderOffer.findUniqueOrThrow({ where: { id: fb.id } })).state, 'DECLINED');
  const dd = await B.rc.post(`/offers/${fb.id}/decline`, {});
  t.equal(dd.statusCode, 409, 'decline twice refused');
  t.match(dd.body, '이미 거절한 제안이에요');
  t.equal((await B.rc.post(`/offers/${fb.id}/accept`, {})).statusCode, 409, 'accept after decline refused');
  t.same(await bal(app, B.r.id), { available: FUNDS, held: 0, escrow: 0 }, 'nothing held');
  t.equal(await app.db.order.count({ where: { auctionId: B.id } }), 1, 'no new order');
  t.match((await B.sc.get(`/orders/${ob.id}`)).body, '거절됨');
  t.equal((await offerFrom(app, B.sc, ob.id)).statusCode, 409, 'no second offer after a decline');
  t.ok(await waitFor(async () => (await kinds(app, B.seller.id)).includes('offerClosed'), 15_000), 'seller told');

  // ── C: expired by its BullMQ job (promoted) ──
  t.equal((await offerFrom(app, C.sc, oc.id)).statusCode, 303);
  const fc = await app.db.orderOffer.findUniqueOrThrow({ where: { orderId: oc.id } });
  const job = await app.queues.queue('orders').getJob(jobId('offer', fc.id, fc.expiresAt));
  t.ok(job, 'expiry job');
  await job!.promote();
  t.ok(
    await waitFor(
      async () => (await app.db.orderOffer.findUniqueOrThrow({ where: { id: fc.id } })).state === 'EXPIRED',
      15_000,
    ),
    'expired by its job',
  );
  await C.rc.get(`/offers/${fc.id}`);
  const late = await C.rc.post(`/offers/${fc.id}/accept`, {});
  t.equal(late.statusCode, 409);
  t.match(late.body, '답변 기한이 지나 제안이 끝났어요');
  t.same(await bal(app, C.r.id), { available: FUNDS, held: 0, escrow: 0 });
  t.ok(await waitFor(async () => (await kinds(app, C.seller.id)).includes('offerClosed'), 15_000));

  // ── D: the job is lost; past its time the offer cannot be accepted, and the sweeper expires it ──
  t.equal((await offerFrom(app, D.sc, od.id)).statusCode, 303);
  const fd = await app.db.orderOffer.findUniqueOrThrow({ where: { orderId: od.id } });
  await (await app.queues.queue('orders').getJob(jobId('offer', fd.id, fd.expiresAt)))!.remove();
  await app.db.$executeRaw`UPDATE order_offers SET expires_at = now() - interval '1 minute' WHERE id = ${fd.id}`;
  await D.rc.get(`/offers/${fd.id}`);
  const overdue = await D.rc.post(`/offers/${fd.id}/accept`, {});
  t.equal(overdue.statusCode, 409, 'past its time: refused even before the sweeper ran');
  t.match(overdue.body, '답변 기한이 지나');
  await app.queues.runNow('orders-sweeper');
  t.equal((await app.db.orderOffer.findUniqueOrThrow({ where: { id: fd.id } })).state, 'EXPIRED', 'by the sweeper');
  t.same(await bal(app, D.r.id), { available: FUNDS, held: 0, escrow: 0 });

  // ── E: nobody else bid; F: the runner-up's maximum is below the reserve ──
  t.match((await E.sc.get(`/orders/${oe.id}`)).body, '제안할 차순위 입찰자가 없어요');
  t.equal((await offerFrom(app, E.sc, oe.id)).statusCode, 409, 'no runner-up');
  t.match((await F.sc.get(`/orders/${of.id}`)).body, '최저 낙찰가보다 낮아');
  const below = await offerFrom(app, F.sc, of.id);
  t.equal(below.statusCode, 409, 'below the reserve');
  t.match(below.body, '최저 낙찰가보다 낮아 제안할 수 없어요');
  t.equal(await app.db.orderOffer.count({ where: { orderId: { in: [oe.id, of.id] } } }), 0);
  t.same(await ledgerViolations(app), []);
});

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
