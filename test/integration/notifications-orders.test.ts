/**
 * Every order step notifies the right person exactly once, in the reader's language, linking to
 * the order: address needed, address given (ship now), shipped, payout, reviews (one flow);
 * address reminder, no-address cancel, confirm reminder, auto-confirm (timers fired by promoting
 * their jobs); dispute opened / answered / resolved (the other side; both for the resolution).
 */
import t, { type Test } from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { user, loggedIn, waitFor } from '../helpers/auction.js';
import { makeUser } from '../helpers/wallet.js';
import { wonOrder, giveAddress, ship, ORDER_PRICE } from '../helpers/orders.js';
import { jobId } from '../../src/modules/orders/jobs.js';
import type { App } from '../../src/app.js';

const FEE = Math.floor((ORDER_PRICE * 300) / 10_000);
const rows = (app: App, userId: number, kind: string) =>
  app.db.notification.findMany({ where: { userId, kind }, orderBy: { id: 'asc' } });
/** Each test's app and its outbox namespace (its REDIS_PREFIX). */
const namespaces = new WeakMap<App, string>();
const drained = (app: App) =>
  // This app's own namespace only: npm test shares one database, and other files' apps leave
  // events their (closed) relays never deliver, which made each wait here run out its 20 s.
  waitFor(
    async () =>
      (await app.db.outboxEvent.count({
        where: { namespace: namespaces.get(app), deliveredAt: null, deadAt: null },
      })) === 0,
    20_000,
  );

/** Exactly one `kind` for `userId` about the order, shown in Korean and in English. */
async function one(
  t: Test,
  app: App,
  c: Client,
  userId: number,
  kind: string,
  orderId: number,
  texts: { ko: string; en: string },
) {
  t.ok(await waitFor(async () => (await rows(app, userId, kind)).length > 0, 20_000), `${kind}: written`);
  await drained(app);
  const r = await rows(app, userId, kind);
  t.equal(r.length, 1, `${kind}: exactly one for user ${userId}`);
  t.equal(r[0]?.link, `/orders/${orderId}`, `${kind}: links to the order`);
  const ko = await c.get('/notifications?lang=ko');
  t.match(ko.body, texts.ko, `${kind}: Korean`);
  const en = await c.get('/notifications?lang=en');
  t.match(en.body, texts.en, `${kind}: English`);
}

t.test('address needed, ship now, shipped, payout, reviews: once each for the right side', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  namespaces.set(app, config.redisPrefix);
  const { seller, buyer, order, bc, sc } = await wonOrder(app, config, '<i>필름</i> 카메라');
  const esc = '&quot;&lt;i&gt;필름&lt;/i&gt; 카메라&quot;';
  await one(t, app, bc, buyer.id, 'orderAddress', order.id, {
    ko: `${esc} 주문의 배송지를 입력해 주세요. 결제 금액 50,000원`,
    en: `Please enter the delivery address for ${esc}. Paid ₩50,000`,
  });
  t.equal((await rows(app, seller.id, 'orderAddress')).length, 0, 'not to the seller');
  t.equal((await giveAddress(bc, order.id)).statusCode, 303);
  await one(t, app, sc, seller.id, 'orderShipNeeded', order.id, {
    ko: `${esc} 주문의 배송지가 입력됐어요. 기한 안에 발송해 주세요.`,
    en: `The buyer entered the address for ${esc}`,
  });
  t.equal((await ship(sc, order.id)).statusCode, 303);
  await one(t, app, bc, buyer.id, 'orderShipped', order.id, {
    ko: `${esc} 상품이 발송됐어요. 받으면 구매 확정해 주세요.`,
    en: `${esc} has been shipped.`,
  });
  t.equal((await rows(app, seller.id, 'orderShipped')).length, 0);
  await bc.get(`/orders/${order.id}`);
  t.equal((await bc.post(`/orders/${order.id}/confirm`, {})).statusCode, 303);
  await one(t, app, sc, seller.id, 'orderPayout', order.id, {
    ko: `${esc} 판매 대금 ${(ORDER_PRICE - FEE).toLocaleString('ko-KR')}원이 정산됐어요.`,
    en: `You were paid ₩${(ORDER_PRICE - FEE).toLocaleString('ko-KR')} for ${esc}.`,
  });
  t.equal((await rows(app, buyer.id, 'orderAutoConfirmed')).length, 0, 'a confirmation by hand is not "auto"');
  t.equal((await rows(app, buyer.id, 'orderPayout')).length, 0);

  await bc.get(`/orders/${order.id}`);
  t.equal((await bc.post(`/orders/${order.id}/review`, { stars: '5', body: '좋아요' })).statusCode, 303);
  await one(t, app, sc, seller.id, 'reviewReceived', order.id, {
    ko: '거래 후기를 받았어요 (별점 5점).',
    en: 'You received a review (5 stars).',
  });
  t.equal((await rows(app, buyer.id, 'reviewReceived')).length, 0, 'the author hears nothing of their own review');
  await sc.get(`/orders/${order.id}`);
  t.equal((await sc.post(`/orders/${order.id}/review`, { stars: '4', body: '' })).statusCode, 303);
  await one(t, app, bc, buyer.id, 'reviewReceived', order.id, {
    ko: '거래 후기를 받았어요 (별점 4점).',
    en: 'You received a review (4 stars).',
  });

  // Someone else cannot open or read these.
  const stranger = await loggedIn(app, (await user(app, config, 0, 'x')).email);
  const [n] = await rows(app, buyer.id, 'orderShipped');
  t.equal((await stranger.get(`/notifications/${n.id}`)).statusCode, 404);
});

t.test('timers: address reminder, cancel (both sides), confirm reminder, auto-confirm and payout', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  namespaces.set(app, config.redisPrefix);
  const q = app.queues.queue('orders');
  const fire = async (kind: 'due' | 'remind', id: number, at: Date) => {
    const job = await q.getJob(jobId(kind, id, at));
    if (!job) throw new Error(`no ${kind} job for order ${id}`);
    await job.promote();
  };
  const a = await wonOrder(app, config, '알림 시계');
  await fire('remind', a.order.id, a.order.remindAt!);
  await one(t, app, a.bc, a.buyer.id, 'orderAddressReminder', a.order.id, {
    ko: '&quot;알림 시계&quot; 주문의 배송지가 아직 없어요.',
    en: 'The order &quot;알림 시계&quot; still has no address.',
  });
  await fire('due', a.order.id, a.order.dueAt!);
  await one(t, app, a.bc, a.buyer.id, 'orderCancelled', a.order.id, {
    ko: '&quot;알림 시계&quot; 주문이 취소됐어요.',
    en: 'The order &quot;알림 시계&quot; was cancelled.',
  });
  await one(t, app, a.sc, a.seller.id, 'orderCancelled', a.order.id, {
    ko: '&quot;알림 시계&quot; 주문이 취소됐어요.',
    en: 'The order &quot;알림 시계&quot; was cancelled.',
  });

  const c = await wonOrder(app, config, '자동 확정 램프');
  t.equal((await giveAddress(c.bc, c.order.id)).statusCode, 303);
  t.equal((await ship(c.sc, c.order.id)).statusCode, 303);
  const s = await app.db.order.findUniqueOrThrow({ where: { id: c.order.id } });
  await fire('remind', s.id, s.remindAt!);
  await one(t, app, c.bc, c.buyer.id, 'orderConfirmReminder', s.id, {
    ko: '&quot;자동 확정 램프&quot; 주문이 내일 자동으로 구매 확정돼요.',
    en: '&quot;자동 확정 램프&quot; will be confirmed automatically tomorrow.',
  });
  await fire('due', s.id, s.dueAt!);
  await one(t, app, c.bc, c.buyer.id, 'orderAutoConfirmed', s.id, {
    ko: '&quot;자동 확정 램프&quot; 주문이 자동으로 구매 확정됐어요.',
    en: 'The order &quot;자동 확정 램프&quot; was confirmed automatically.',
  });
  await one(t, app, c.sc, c.seller.id, 'orderPayout', s.id, {
    ko: '판매 대금 48,500원이 정산됐어요.',
    en: 'You were paid ₩48,500',
  });
  t.equal((await rows(app, c.seller.id, 'orderAutoConfirmed')).length, 0);
});

t.test('disputes: opened to the seller, answered to the buyer, resolved to both with their amounts', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  namespaces.set(app, config.redisPrefix);
  const admin = await makeUser(app, 'ADMIN');
  const ac = new Client(app);
  await ac.login(admin.email, 'wallet test password');
  const w = await wonOrder(app, config, '분쟁 스피커');
  await giveAddress(w.bc, w.order.id);
  await w.bc.get(`/orders/${w.order.id}`);
  t.equal(
    (
      await w.bc.post(`/orders/${w.order.id}/dispute`, {
        reason: 'NOT_RECEIVED',
        body: '물건이 오지 않았어요. 확인 부탁드려요.',
      })
    ).statusCode,
    303,
  );
  await one(t, app, w.sc, w.seller.id, 'orderDisputed', w.order.id, {
    ko: '&quot;분쟁 스피커&quot; 주문에 구매자가 분쟁을 신청했어요.',
    en: 'The buyer opened a dispute on &quot;분쟁 스피커&quot;.',
  });
  t.equal((await rows(app, w.buyer.id, 'orderDisputed')).length, 0, 'not to the one who opened it');
  await w.sc.get(`/orders/${w.order.id}`);
  t.equal((await w.sc.post(`/orders/${w.order.id}/dispute/answer`, { answer: '어제 보냈어요.' })).statusCode, 303);
  await one(t, app, w.bc, w.buyer.id, 'orderDisputeAnswered', w.order.id, {
    ko: '&quot;분쟁 스피커&quot; 분쟁에 판매자가 답변했어요.',
    en: 'The seller answered the dispute on &quot;분쟁 스피커&quot;.',
  });
  await ac.get('/admin/disputes');
  t.equal(
    (
      await ac.post(`/admin/disputes/${w.order.id}/resolve`, {
        resolution: 'SPLIT',
        buyerAmount: '20000',
        sellerAmount: '30000',
        note: '반반 처리',
      })
    ).statusCode,
    303,
  );
  await one(t, app, w.bc, w.buyer.id, 'orderDisputeResolved', w.order.id, {
    ko: '&quot;분쟁 스피커&quot; 분쟁이 처리됐어요. 받는 금액 20,000원',
    en: 'The dispute on &quot;분쟁 스피커&quot; was resolved. You receive ₩20,000',
  });
  await one(t, app, w.sc, w.seller.id, 'orderDisputeResolved', w.order.id, {
    ko: '받는 금액 30,000원',
    en: 'You receive ₩30,000',
  });
  t.equal((await rows(app, admin.id, 'orderDisputeResolved')).length, 0, 'the admin gets nothing');
});
