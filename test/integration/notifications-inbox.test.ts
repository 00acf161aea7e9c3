/**
 * The inbox: each event kind writes exactly one notification for the right user, rendered in the
 * reader's language; outbid bursts coalesce; the "ends within 1 hour" job (made to fire); the
 * bell over the WebSocket (own topic only, escaped); someone else's id is a 404.
 */
import t from 'tap';
import { cookieOf, socket } from '../helpers/ws.js';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { notificationsOf } from '../../src/modules/notifications/index.js';
import { endingJobId } from '../../src/modules/notifications/ending.js';
import type { App } from '../../src/app.js';

const HOUR = 3600_000;
const rows = (app: App, userId: number, kind?: string) =>
  app.db.notification.findMany({ where: { userId, ...(kind ? { kind } : {}) }, orderBy: { id: 'asc' } });

t.test('outbid: one notification per burst with the latest price, in the reader language; read and 404', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 1_000_000), user(app, config, 1_000_000)]);
  const id = await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    endsInMs: 3 * HOUR,
    title: '<b>빈티지</b> 카메라',
  });
  const ca = await loggedIn(app, a.email);
  const cb = await loggedIn(app, b.email);
  // Ten bids in turn: each outbids the other; A ends up outbid five times, B four.
  let price = 10_000;
  for (let i = 0; i < 10; i++) {
    price += 10_000;
    const r = await bid(i % 2 === 0 ? ca : cb, id, price);
    t.equal(r.statusCode, 200, `bid ${i + 1} accepted`);
  }
  const final = (await app.db.auction.findUniqueOrThrow({ where: { id } })).currentPrice;
  t.ok(
    await waitFor(async () => {
      const ra = await rows(app, a.id, 'outbid');
      return ra.length === 1 && (ra[0].params as { price: number }).price === final;
    }),
    'A: one outbid notification showing the latest price',
  );
  t.ok(await waitFor(async () => (await rows(app, b.id, 'outbid')).length === 1), 'B: one as well');
  // All outbox deliveries done: still exactly one each.
  await waitFor(
    async () =>
      (await app.db.outboxEvent.count({
        where: { namespace: config.redisPrefix, deliveredAt: null, deadAt: null, name: 'bid.outbid' },
      })) === 0,
  );
  t.equal((await rows(app, a.id, 'outbid')).length, 1);
  t.equal((await rows(app, seller.id)).length, 0, 'the seller hears nothing of bids');

  const page = await ca.get('/notifications');
  t.equal(page.statusCode, 200);
  t.match(
    page.body,
    '&quot;&lt;b&gt;빈티지&lt;/b&gt; 카메라&quot; 경매에서 누군가 더 높게 입찰했어요',
    'Korean, escaped',
  );
  t.match(page.body, `현재가 ${final.toLocaleString('ko-KR')}원`);
  t.notMatch(page.body, '<b>빈티지</b>');
  t.match(page.body, `href="/items/${id}#bid-panel-${id}"`, 'the one-tap raise link');
  t.match(page.body, 'data-count="1"');
  const en = await ca.get('/notifications?lang=en');
  t.match(
    en.body,
    'You were outbid on &quot;&lt;b&gt;빈티지&lt;/b&gt; 카메라&quot;. Current price ₩',
    'English for the same row',
  );

  const [n] = await rows(app, a.id, 'outbid');
  const other = await cb.get(`/notifications/${n.id}`);
  t.equal(other.statusCode, 404, "someone else's notification is a 404");
  t.equal((await cb.post(`/notifications/${n.id}/read`, {})).statusCode, 404);
  t.equal((await ca.get('/notifications/99999999999')).statusCode, 404);
  t.equal((await ca.get('/notifications/abc')).statusCode, 400);
  t.equal((await app.db.notification.findUniqueOrThrow({ where: { id: n.id } })).readAt, null, 'nothing changed');
  const open = await ca.get(`/notifications/${n.id}`);
  t.equal(open.statusCode, 303);
  t.equal(open.headers.location, `/items/${id}`);
  t.not((await app.db.notification.findUniqueOrThrow({ where: { id: n.id } })).readAt, null, 'opened: read');
  // A later outbid (the earlier one is read) is a new notification.
  await bid(cb, id, final + 50_000);
  await bid(ca, id, final + 100_000);
  await bid(cb, id, final + 150_000);
  t.ok(await waitFor(async () => (await rows(app, a.id, 'outbid')).length === 2), 'a new one after reading');
  const all = await ca.post('/notifications/read-all', {});
  t.equal(all.statusCode, 303);
  t.equal(await app.db.notification.count({ where: { userId: a.id, readAt: null } }), 0);
});

t.test('the end: the winner hears "won", the seller "sold"; no bids: "unsold"; once each', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 100_000), user(app, config, 100_000)]);
  const sold = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 2_500, title: '팔릴 물건' });
  await auction(app, {
    sellerId: seller.id,
    startPrice: 10_000,
    endsInMs: 2_000,
    title: '안 팔릴 물건',
  });
  await bid(await loggedIn(app, a.email), sold, 40_000);
  await bid(await loggedIn(app, b.email), sold, 25_000);
  t.ok(await waitFor(async () => (await rows(app, a.id, 'won')).length === 1, 15_000), 'A won');
  t.ok(await waitFor(async () => (await rows(app, seller.id, 'sold')).length === 1, 15_000), 'seller: sold');
  t.ok(await waitFor(async () => (await rows(app, seller.id, 'unsold')).length === 1, 15_000), 'seller: unsold');
  const [won] = await rows(app, a.id, 'won');
  t.same(won.params, { auctionId: sold, title: '팔릴 물건', price: 26_000 });
  t.equal((await rows(app, b.id, 'won')).length, 0, 'B did not win');
  // Replay the close event to the consumer: the inbox row of the outbox makes it a no-op.
  const ev = await app.db.outboxEvent.findFirstOrThrow({
    where: { name: 'auction.closed', payload: { path: ['auctionId'], equals: sold } },
  });
  await app.db
    .$executeRaw`UPDATE outbox_events SET delivered_at = NULL, attempts = 0, available_at = now() WHERE id = ${ev.id}`;
  await waitFor(async () => !!(await app.db.outboxEvent.findUniqueOrThrow({ where: { id: ev.id } })).deliveredAt);
  t.equal((await rows(app, a.id, 'won')).length, 1, 'still one after a redelivery');
  t.equal((await rows(app, seller.id, 'sold')).length, 1);
});

t.test('ends within 1 hour: the job fires for watchers and non-leading bidders, once', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const [leader, loser, watcher] = await Promise.all([
    user(app, config, 100_000),
    user(app, config, 100_000),
    user(app, config),
  ]);
  // Ends in 61 minutes: its job is due in a minute, the sweeper (last hour only) does not see it yet.
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: HOUR + 60_000 });
  await bid(await loggedIn(app, loser.email), id, 20_000);
  await bid(await loggedIn(app, leader.email), id, 50_000);
  const cw = await loggedIn(app, watcher.email);
  await cw.get(`/items/${id}`);
  t.equal((await cw.post(`/items/${id}/watch`, { watch: '1' })).statusCode, 303);
  const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
  const queue = app.queues.queue('notifications');
  const job = await queue.getJob(endingJobId(id, a.endsAt));
  t.ok(job, 'planned with its deterministic id');
  t.equal(await job!.getState(), 'delayed', 'waiting for its time');
  t.equal((await rows(app, watcher.id, 'ending')).length, 0, 'nobody told yet');
  await job!.promote(); // its time has come
  t.ok(await waitFor(async () => (await rows(app, watcher.id, 'ending')).length === 1), 'the watcher is told');
  t.ok(await waitFor(async () => (await rows(app, loser.id, 'ending')).length === 1), 'the outbid bidder is told');
  t.equal((await rows(app, leader.id, 'ending')).length, 0, 'the leader is not');
  t.equal((await rows(app, seller.id, 'ending')).length, 0, 'the seller is not');
  // Firing again (a second job, the sweeper) tells nobody twice.
  t.equal(await notificationsOf(app).ending.fire(id), 0);
  t.equal((await rows(app, watcher.id, 'ending')).length, 1);
});

t.test('the bell: live count on the own topic only, escaped; re-synced on reconnect', async (t) => {
  const { app, config } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const [me, other] = await Promise.all([user(app, config), user(app, config)]);
  const cm = await loggedIn(app, me.email);
  const co = await loggedIn(app, other.email);
  const page = await cm.get('/');
  t.match(page.body, `ws-connect="/ws?topics=user:${me.id}"`, 'the page socket carries the own topic');
  const mine = socket(`ws://127.0.0.1:${port}/ws?topics=user:${me.id}`, cookieOf(cm));
  const spy = socket(`ws://127.0.0.1:${port}/ws?topics=user:${me.id}`, cookieOf(co));
  const anon = socket(`ws://127.0.0.1:${port}/ws?topics=user:${me.id}`, '');
  await Promise.all([mine.ready, spy.ready, anon.ready]);
  t.ok(await mine.waitMsg((m) => m.includes('id="bell-count"') && m.includes('data-count="0"')), 'snapshot: 0');
  await notificationsOf(app).notifyNow([
    {
      userId: me.id,
      kind: 'alert',
      sourceKey: `test:${me.id}:1`,
      params: { query: '<script>alert(1)</script>', title: '"><img src=x onerror=alert(1)>', listingId: 1 },
      link: '/items/1',
    },
  ]);
  const pushed = await mine.waitMsg((m) => m.includes('data-count="1"'));
  t.ok(pushed, 'pushed: 1');
  t.notMatch(pushed!, '<script>', 'escaped in the frame');
  t.notMatch(pushed!, '<img');
  t.match(pushed!, '&lt;script&gt;alert(1)&lt;/script&gt;');
  await new Promise((r) => setTimeout(r, 300));
  t.same(spy.messages, [], "another user's socket gets nothing of it");
  t.same(anon.messages, [], 'neither does a logged-out one');
  mine.ws.close();
  const again = socket(`ws://127.0.0.1:${port}/ws?topics=user:${me.id}`, cookieOf(cm));
  await again.ready;
  t.ok(await again.waitMsg((m) => m.includes('data-count="1"')), 'a reconnecting tab re-syncs the count');
  // Read on the page: the bell goes back to 0 in every tab.
  await cm.get('/notifications');
  await cm.post('/notifications/read-all', {});
  t.ok(await again.waitMsg((m) => m.includes('data-count="0"') && again.messages.indexOf(m) > 0), 'read: 0');
  for (const s of [again, spy, anon]) s.ws.close();
});
