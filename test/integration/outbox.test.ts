/**
 * Durable events (core/outbox.ts) in one process: written with the transaction or not at all,
 * delivered to each durable consumer once however often the row is delivered (a replay, two
 * relays racing), handed to live listeners too; a failing consumer is retried with backoff, does
 * not hold up other events or the other consumers, and is set aside as dead, visibly, after its
 * last attempt.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startApp } from '../helpers/app.js';
import { waitFor } from '../helpers/auction.js';
import { registry } from '../../src/core/metrics.js';
import { auctionClosed } from '../../src/modules/bidding/index.js';
import type { App } from '../../src/app.js';

/** The app's own consumers of auction.closed (orders makes the order, notifications tells the people). */
const APP_CONSUMERS = new Set(['orders', 'notifications']);

let nextId = 2_000_000_000 - Math.floor(Math.random() * 1_000_000);
/** An `auction.closed` for an auction no one else knows (no module acts on it but these consumers). */
function closedEvent(sold = true) {
  const id = nextId--;
  const at = new Date();
  return auctionClosed(
    {
      id,
      sellerId: 1,
      outcome: sold ? 'SOLD' : 'UNSOLD',
      winnerId: sold ? 2 : null,
      finalPrice: sold ? 10_000 : null,
      leaderHoldRef: sold ? `auction:${id}:won` : null,
      endsAt: at,
      closedAt: at,
    },
    { buyNow: false },
  );
}

const row = async (app: App, eventId: string) =>
  await app.db.outboxEvent.findUniqueOrThrow({ where: { id: BigInt(eventId) }, include: { handledBy: true } });

async function enqueue(app: App, ev: ReturnType<typeof closedEvent>): Promise<string> {
  return app.db.$transaction((tx) => app.events.enqueue(tx, ev));
}

t.test(
  'delivered once to each consumer and to live listeners; a replayed or doubly claimed row does nothing more',
  async (t) => {
    const prefix = `toutbox${randomBytes(4).toString('hex')}`;
    const runs: string[] = [];
    const consumer = (app: App) =>
      app.events.onDurable('auction.closed', 'probe', async (e, { tx, eventId }) => {
        await tx.$queryRaw`SELECT 1`; // the consumer's own writes would go through tx
        runs.push(`${eventId}:${e.auctionId}`);
      });
    const { app } = await startApp(t, { REDIS_PREFIX: prefix, OUTBOX_POLL_MS: '200' }, consumer);
    const heard: number[] = [];
    app.events.on('auction.closed', (p, meta) => void (meta.eventId && heard.push(p.auctionId)));

    const ev = closedEvent();
    const rolledBack = closedEvent();
    await t.rejects(
      app.db.$transaction(async (tx) => {
        await app.events.enqueue(tx, rolledBack);
        throw new Error('the change failed');
      }),
    );
    const t0 = Date.now();
    const id = await enqueue(app, ev);
    t.ok(await waitFor(async () => (await row(app, id)).deliveredAt !== null, 5000, 10), 'delivered');
    const latency = Date.now() - t0;
    t.comment(`commit -> delivered in ${latency} ms`);
    // (Only this test's events: the app's sweeper may close other test files' auctions meanwhile.)
    const of = (eventId: string) => runs.filter((r) => r.startsWith(`${eventId}:`));
    t.same(of(id), [`${id}:${ev.payload.auctionId}`], 'the consumer ran once');
    t.ok(await waitFor(async () => heard.includes(ev.payload.auctionId), 2000), 'the live listener heard it');
    t.notOk(heard.includes(rolledBack.payload.auctionId), 'a rolled-back event does not exist');
    t.equal(
      await app.db.outboxEvent.count({
        where: { payload: { path: ['auctionId'], equals: rolledBack.payload.auctionId } },
      }),
      0,
    );
    t.same(
      (await row(app, id)).handledBy.map((h) => h.consumer).filter((c) => !APP_CONSUMERS.has(c)),
      ['probe'],
      'its inbox row',
    );

    // A replay (an operator re-queues it, or a relay lost its lease): the consumer does nothing.
    await app.db
      .$executeRaw`UPDATE outbox_events SET delivered_at = NULL, published_at = NULL, available_at = now() WHERE id = ${BigInt(id)}`;
    t.ok(await waitFor(async () => (await row(app, id)).deliveredAt !== null, 5000, 20), 'delivered again');
    t.equal(of(id).length, 1, 'still one run');
    t.equal((await row(app, id)).attempts, 2, 'two deliveries');

    // Two relays of one deployment (a second instance) racing for many events: each runs once.
    const { app: other } = await startApp(t, { REDIS_PREFIX: prefix, OUTBOX_POLL_MS: '50' }, consumer);
    void other;
    const ids = await Promise.all(Array.from({ length: 40 }, () => enqueue(app, closedEvent(false))));
    t.ok(
      await waitFor(
        async () =>
          (await app.db.outboxEvent.count({ where: { id: { in: ids.map(BigInt) }, deliveredAt: { not: null } } })) ===
          ids.length,
        15_000,
      ),
      'all 40 delivered',
    );
    const mine = runs.filter((r) => ids.includes(r.split(':')[0]));
    t.equal(mine.length, 40, 'one run per event');
    t.equal(new Set(mine).size, 40, 'no event twice');
  },
);

t.test('a failing consumer is retried with backoff, holds up nothing else, and ends dead and visible', async (t) => {
  const prefix = `toutbox${randomBytes(4).toString('hex')}`;
  const bad = closedEvent();
  const good: string[] = [];
  let attempts = 0;
  const { app } = await startApp(
    t,
    { REDIS_PREFIX: prefix, OUTBOX_POLL_MS: '100', OUTBOX_MAX_ATTEMPTS: '3' },
    (app) => {
      app.events.onDurable('auction.closed', 'flaky', async (e) => {
        if (e.auctionId === bad.payload.auctionId) {
          attempts++;
          throw new Error('flaky consumer says no');
        }
      });
      app.events.onDurable('auction.closed', 'steady', async (_e, { eventId }) => void good.push(eventId));
    },
  );
  const failuresBefore = await failures();
  const badId = await enqueue(app, bad);
  const okId = await enqueue(app, closedEvent());
  t.ok(
    await waitFor(async () => (await row(app, okId)).deliveredAt !== null, 5000),
    'the next event is delivered meanwhile',
  );
  t.ok(good.includes(badId), "the failing event's other consumer ran");
  t.ok(
    await waitFor(async () => (await row(app, badId)).deadAt !== null, 20_000, 100),
    'set aside as dead after its attempts',
  );
  const dead = await row(app, badId);
  t.equal(attempts, 3, 'tried OUTBOX_MAX_ATTEMPTS times');
  t.equal(dead.deliveredAt, null);
  t.match(dead.lastError, /flaky: flaky consumer says no/, 'the reason is kept');
  t.same(
    dead.handledBy.map((h) => h.consumer).filter((c) => !APP_CONSUMERS.has(c)),
    ['steady'],
    'only the consumer that succeeded has its inbox row',
  );
  t.equal(good.filter((x) => x === badId).length, 1, 'and it ran once, not on every retry');
  t.equal((await failures()) - failuresBefore, 3, 'each failure counted in dapanda_outbox_failures_total');
  const gap = dead.updatedAt.getTime() - dead.createdAt.getTime();
  t.ok(gap >= 2000, `retries waited (1 s, then 2 s; dead after ${gap} ms)`);
});

async function failures(): Promise<number> {
  const m = await registry.getSingleMetric('dapanda_outbox_failures_total')!.get();
  return m.values.filter((v) => v.labels.consumer === 'flaky').reduce((s, v) => s + v.value, 0);
}
