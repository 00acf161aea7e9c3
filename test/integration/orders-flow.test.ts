/**
 * Orders end to end on the real app (PostgreSQL, Redis, BullMQ, the outbox): an order from a
 * buy-now exactly once (a replayed auction.closed creates nothing), address -> ship -> confirm ->
 * settlement with the fee rule, out-of-order and foreign actions refused, timers fired by promoting
 * their BullMQ jobs (never by sleeping) and by the sweeper, disputes resolved three ways. After
 * every step the ledger sums to zero and balances are what the test computes.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn, waitFor } from '../helpers/auction.js';
import { ledgerViolations, makeUser } from '../helpers/wallet.js';
import { transaction } from '../../src/core/db/index.js';
import { auctionClosed } from '../../src/modules/bidding/index.js';
import { jobId } from '../../src/modules/orders/jobs.js';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';

const PRICE = 50_000;
const FEE = Math.floor((PRICE * 300) / 10_000); // 1,500

async function bal(app: App, userId: number) {
  const rows = await app.db.$queryRaw<{ kind: string; total: bigint }[]>`
    SELECT kind::text AS kind, COALESCE(SUM(balance), 0)::bigint AS total FROM wallet_accounts WHERE user_id = ${userId} GROUP BY kind`;
  const get = (k: string) => Number(rows.find((r) => r.kind === k)?.total ?? 0n);
  return { available: get('USER_AVAILABLE'), held: get('USER_HELD'), escrow: get('ESCROW') };
}

/** A buy-now win: the order appears through the durable auction.closed. */
async function won(app: App, config: Config) {
  const seller = await user(app, config, 0, 's');
  const buyer = await user(app, config, 100_000, 'k');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: PRICE });
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${id}/bid-panel`);
  const r = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  if (r.statusCode >= 400) throw new Error(`buy-now failed ${r.statusCode}`);
  let order = null as Awaited<ReturnType<typeof app.db.order.findFirst>>;
  await waitFor(async () => !!(order = await app.db.order.findFirst({ where: { auctionId: id } })), 15_000);
  if (!order) throw new Error('no order');
  const sc = await loggedIn(app, seller.email);
  return { seller, buyer, id, order, bc, sc };
}

const state = (app: App, id: number) => async () =>
  (await app.db.order.findUniqueOrThrow({ where: { id } })).state as string;

async function until(app: App, id: number, s: string) {
  return waitFor(async () => (await state(app, id)()) === s, 15_000);
}

const ADDRESS = {
  mode: 'COURIER',
  recipient: '김다판',
  phone: '010-1234-5678',
  postalCode: '04524',
  roadAddress: '서울 중구 세종대로 110',
  detailAddress: '3층 301호',
};

async function address(c: Client, orderId: number) {
  await c.get(`/orders/${orderId}`);
  return c.post(`/orders/${orderId}/address`, ADDRESS);
}

t.test('buy-now -> order once; address, ship, confirm, settlement with the fee', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const { seller, buyer, id, order, bc, sc } = await won(app, config);
  t.equal(order.state, 'AWAITING_ADDRESS');
  t.equal(order.price, PRICE);
  t.same(await bal(app, buyer.id), { available: 100_000 - PRICE, held: 0, escrow: PRICE }, 'hold moved to escrow');
  t.same(await ledgerViolations(app), []);

  // A replayed auction.closed (a second outbox row for the same close) creates nothing.
  const row = await app.db.auction.findUniqueOrThrow({ where: { id } });
  const dup = await transaction(app.db, (tx) => app.events.enqueue(tx, auctionClosed(row, { buyNow: true })));
  t.ok(
    await waitFor(async () => {
      const r = await app.db.$queryRaw<
        { d: Date | null }[]
      >`SELECT delivered_at AS d FROM outbox_events WHERE id = ${BigInt(dup)}`;
      return !!r[0]?.d;
    }, 15_000),
    'the duplicate was delivered',
  );
  t.equal(await app.db.order.count({ where: { auctionId: id } }), 1, 'still one order');
  t.same(await bal(app, buyer.id), { available: 100_000 - PRICE, held: 0, escrow: PRICE });

  // Someone else's order: 404. Out of order: a clear 409.
  const stranger = await user(app, config, 0, 'x');
  const xc = await loggedIn(app, stranger.email);
  t.equal((await xc.get(`/orders/${order.id}`)).statusCode, 404, 'a stranger sees 404');
  await bc.get(`/orders/${order.id}`);
  const early = await bc.post(`/orders/${order.id}/confirm`, {});
  t.equal(early.statusCode, 409, 'confirm before shipping refused');
  t.match(early.body, '발송된 뒤에 확정할 수 있어요');
  await sc.get(`/orders/${order.id}`);
  t.equal(
    (await sc.post(`/orders/${order.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' }))
      .statusCode,
    409,
    'ship before the address refused',
  );

  // Bad address: 422, nothing changed.
  await bc.get(`/orders/${order.id}`);
  const bad = await bc.post(`/orders/${order.id}/address`, { ...ADDRESS, postalCode: '1234' });
  t.equal(bad.statusCode, 422);
  t.match(bad.body, '우편번호는 숫자 5자리예요.');
  t.equal(await state(app, order.id)(), 'AWAITING_ADDRESS');
  t.equal((await address(bc, order.id)).statusCode, 303);
  t.equal(await state(app, order.id)(), 'AWAITING_SHIPMENT');
  t.equal((await address(bc, order.id)).statusCode, 409, 'address twice refused');

  // The seller sees the address on this order; a bad tracking number is refused.
  const sp = await sc.get(`/orders/${order.id}`);
  t.match(sp.body, '세종대로 110');
  t.match(sp.body, '정산 예정 금액');
  t.match(sp.body, '48,500');
  t.equal(
    (await sc.post(`/orders/${order.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '12ab' })).statusCode,
    422,
  );
  t.equal(
    (await sc.post(`/orders/${order.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '1234-5678-9012' }))
      .statusCode,
    303,
  );
  t.equal(
    (await sc.post(`/orders/${order.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' }))
      .statusCode,
    409,
    'ship twice refused',
  );
  const shipped = await app.db.order.findUniqueOrThrow({ where: { id: order.id } });
  t.equal(shipped.trackingNumber, '123456789012');
  t.ok(await app.queues.queue('orders').getJob(jobId('due', order.id, shipped.dueAt!)), 'auto-confirm job planned');

  // The seller cannot confirm (not theirs to confirm); the buyer can.
  t.equal((await sc.post(`/orders/${order.id}/confirm`, {})).statusCode, 409);
  await bc.get(`/orders/${order.id}`);
  t.equal((await bc.post(`/orders/${order.id}/confirm`, {})).statusCode, 303);
  t.ok(await until(app, order.id, 'COMPLETED'), 'settled by the order.received consumer');
  const done = await app.db.order.findUniqueOrThrow({ where: { id: order.id } });
  t.equal(done.fee, FEE, 'fee = floor(price * 300 / 10000)');
  t.equal(done.payout, PRICE - FEE);
  t.same(await bal(app, seller.id), { available: PRICE - FEE, held: 0, escrow: 0 }, 'seller paid price minus fee');
  t.same(await bal(app, buyer.id), { available: 100_000 - PRICE, held: 0, escrow: 0 });
  t.same(await ledgerViolations(app), []);
  const masked = await sc.get(`/orders/${order.id}`);
  t.notMatch(masked.body, '3층 301호', 'address masked once completed');
  t.match(masked.body, '010-****-5678');

  // Reviews: each side once, after completion; validated.
  await bc.get(`/orders/${order.id}`);
  t.equal((await bc.post(`/orders/${order.id}/review`, { stars: '6', body: '' })).statusCode, 422, 'stars 1-5');
  t.equal(
    (await bc.post(`/orders/${order.id}/review`, { stars: '5', tags: 'AS_DESCRIBED', body: '좋아요' })).statusCode,
    303,
  );
  t.equal((await bc.post(`/orders/${order.id}/review`, { stars: '4', body: '' })).statusCode, 409, 'once per side');
  await sc.get(`/orders/${order.id}`);
  t.equal(
    (await sc.post(`/orders/${order.id}/review`, { stars: '4', body: 'x'.repeat(501) })).statusCode,
    422,
    '<= 500 chars',
  );
  t.equal((await sc.post(`/orders/${order.id}/review`, { stars: '4', body: '빠른 입금 감사해요' })).statusCode, 303);
  t.equal((await xc.post(`/orders/${order.id}/review`, { stars: '1', body: '' })).statusCode, 404, 'not a party: 404');
  const reviews = await app.db.orderReview.findMany({ where: { orderId: order.id }, orderBy: { id: 'asc' } });
  t.same(
    reviews.map((r) => [r.authorId, r.subjectId, r.stars, r.tags]),
    [
      [buyer.id, seller.id, 5, ['AS_DESCRIBED']],
      [seller.id, buyer.id, 4, []],
    ],
  );

  const listed = await bc.get('/my/orders?role=buyer');
  t.match(listed.body, `my-order-${order.id}`);
  const { ordersApi } = await import('../../src/modules/orders/index.js');
  const sum = await ordersApi(app.db).summaryFor(buyer.id);
  t.equal(sum.buyer.counts.COMPLETED, 1);
});

t.test('직거래: meetup place and time, handed over', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const { seller, order, bc, sc } = await won(app, config);
  const at = new Date(Date.now() + 2 * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 16);
  await bc.get(`/orders/${order.id}`);
  t.equal(
    (await bc.post(`/orders/${order.id}/address`, { mode: 'MEETUP', meetupPlace: '강남역 11번 출구', meetupAt: at }))
      .statusCode,
    303,
  );
  await sc.get(`/orders/${order.id}`);
  t.equal(
    (await sc.post(`/orders/${order.id}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' }))
      .statusCode,
    409,
    'no courier for 직거래',
  );
  t.equal((await sc.post(`/orders/${order.id}/ship`, { mode: 'HANDED_OVER' })).statusCode, 303);
  await bc.get(`/orders/${order.id}`);
  t.equal((await bc.post(`/orders/${order.id}/confirm`, {})).statusCode, 303);
  t.ok(await until(app, order.id, 'COMPLETED'));
  t.same(await bal(app, seller.id), { available: PRICE - FEE, held: 0, escrow: 0 });
  t.same(await ledgerViolations(app), []);
});

t.test(
  'timers: reminder and no-address cancel by their jobs; no shipment by the sweeper (strike); auto-confirm',
  async (t) => {
    const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
    const q = app.queues.queue('orders');
    const fire = async (kind: 'due' | 'remind', id: number, at: Date) => {
      const job = await q.getJob(jobId(kind, id, at));
      if (!job) throw new Error(`no ${kind} job for order ${id}`);
      await job.promote();
    };

    // 1. No address: the reminder job, then the cancel job (refund).
    const a = await won(app, config);
    await fire('remind', a.order.id, a.order.remindAt!);
    t.ok(
      await waitFor(
        async () => !!(await app.db.order.findUniqueOrThrow({ where: { id: a.order.id } })).remindedAt,
        15_000,
      ),
      'reminded',
    );
    await fire('due', a.order.id, a.order.dueAt!);
    t.ok(await until(app, a.order.id, 'CANCELLED'), 'cancelled by its job');
    t.equal((await app.db.order.findUniqueOrThrow({ where: { id: a.order.id } })).cancelReason, 'NO_ADDRESS');
    t.same(await bal(app, a.buyer.id), { available: 100_000, held: 0, escrow: 0 }, 'refunded');

    // 2. Not shipped: the job is lost, the sweeper cancels, refunds and gives a strike.
    const b = await won(app, config);
    t.equal((await address(b.bc, b.order.id)).statusCode, 303);
    await q.obliterate({ force: true });
    await app.db.$executeRaw`UPDATE orders SET due_at = now() - interval '1 minute' WHERE id = ${b.order.id}`;
    await app.queues.runNow('orders-sweeper');
    t.equal(await state(app, b.order.id)(), 'CANCELLED');
    t.equal(await app.db.orderStrike.count({ where: { userId: b.seller.id } }), 1, 'seller strike');
    t.same(await bal(app, b.buyer.id), { available: 100_000, held: 0, escrow: 0 });
    t.same(await bal(app, b.seller.id), { available: 0, held: 0, escrow: 0 });

    // 3. Shipped, never confirmed: the reminder a day before, then auto-confirm and payout.
    const c = await won(app, config);
    t.equal((await address(c.bc, c.order.id)).statusCode, 303);
    await c.sc.get(`/orders/${c.order.id}`);
    await c.sc.post(`/orders/${c.order.id}/ship`, {
      mode: 'COURIER',
      courier: 'EPOST',
      trackingNumber: '1234567890123',
    });
    const s = await app.db.order.findUniqueOrThrow({ where: { id: c.order.id } });
    t.equal(s.remindAt!.getTime(), s.dueAt!.getTime() - 86_400_000, 'reminder a day before');
    await fire('remind', s.id, s.remindAt!);
    await fire('due', s.id, s.dueAt!);
    t.ok(await until(app, s.id, 'COMPLETED'), 'auto-confirmed and settled');
    t.ok((await app.db.order.findUniqueOrThrow({ where: { id: s.id } })).autoConfirmed);
    t.same(await bal(app, c.seller.id), { available: PRICE - FEE, held: 0, escrow: 0 });
    t.same(await ledgerViolations(app), []);
  },
);

t.test('disputes: timers stop, seller answers, admin resolves refund / release / split', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const admin = await makeUser(app, 'ADMIN');
  const ac = new Client(app);
  await ac.login(admin.email, 'wallet test password');
  const cases: { res: Record<string, string>; buyer: number; seller: number; state: string }[] = [
    { res: { resolution: 'REFUND' }, buyer: PRICE, seller: 0, state: 'CANCELLED' },
    { res: { resolution: 'RELEASE' }, buyer: 0, seller: PRICE - FEE, state: 'COMPLETED' },
    {
      res: { resolution: 'SPLIT', buyerAmount: '20000', sellerAmount: '30000' },
      buyer: 20_000,
      seller: 30_000 - Math.floor((30_000 * 300) / 10_000),
      state: 'COMPLETED',
    },
  ];
  for (const k of cases) {
    const w = await won(app, config);
    await address(w.bc, w.order.id);
    await w.bc.get(`/orders/${w.order.id}`);
    t.equal(
      (await w.bc.post(`/orders/${w.order.id}/dispute`, { reason: 'NOT_RECEIVED', body: 'short' })).statusCode,
      422,
    );
    t.equal(
      (
        await w.bc.post(`/orders/${w.order.id}/dispute`, {
          reason: 'NOT_RECEIVED',
          body: '물건이 오지 않았어요. 확인 부탁드려요.',
        })
      ).statusCode,
      303,
    );
    const d = await app.db.order.findUniqueOrThrow({ where: { id: w.order.id } });
    t.equal(d.state, 'DISPUTED');
    t.equal(d.dueAt, null, 'timers stopped');
    await w.sc.get(`/orders/${w.order.id}`);
    t.equal((await w.sc.post(`/orders/${w.order.id}/dispute/answer`, { answer: '어제 보냈어요.' })).statusCode, 303);
    // Not an admin: 403, nothing changes.
    t.equal(
      (await w.bc.post(`/admin/disputes/${w.order.id}/resolve`, { resolution: 'REFUND', note: 'x y' })).statusCode,
      403,
    );
    await ac.get('/admin/disputes');
    if (k.res.resolution === 'SPLIT') {
      const off = await ac.post(`/admin/disputes/${w.order.id}/resolve`, {
        resolution: 'SPLIT',
        buyerAmount: '20000',
        sellerAmount: '20000',
        note: '반반',
      });
      t.equal(off.statusCode, 422, 'amounts must sum to the escrow');
    }
    t.equal(
      (await ac.post(`/admin/disputes/${w.order.id}/resolve`, { ...k.res, note: '양측 확인 후 처리' })).statusCode,
      303,
    );
    t.equal(await state(app, w.order.id)(), k.state);
    const rec = await app.db.orderDispute.findUniqueOrThrow({ where: { orderId: w.order.id } });
    t.equal(rec.resolvedBy, admin.id);
    t.ok(rec.resolvedAt);
    t.equal(rec.note, '양측 확인 후 처리');
    const audited = await app.db.auditLog.findMany({
      where: { action: 'orders.dispute.resolve', targetKind: 'order', targetId: String(w.order.id) },
    });
    t.equal(audited.length, 1, 'the resolution is one audit row');
    t.match(audited[0], { actorId: admin.id, actorRole: 'ADMIN', reason: '양측 확인 후 처리' });
    t.match(audited[0].after, { resolution: k.res.resolution, state: k.state });
    t.same(
      await bal(app, w.buyer.id),
      { available: 100_000 - PRICE + k.buyer, held: 0, escrow: 0 },
      `${k.res.resolution}: buyer`,
    );
    t.same(await bal(app, w.seller.id), { available: k.seller, held: 0, escrow: 0 }, `${k.res.resolution}: seller`);
    t.equal(
      (await ac.post(`/admin/disputes/${w.order.id}/resolve`, { ...k.res, note: '다시' })).statusCode,
      409,
      'resolved once',
    );
    t.same(await ledgerViolations(app), []);
  }
});
