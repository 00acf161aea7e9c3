/**
 * Redis stops (its own redis-server, SIGKILL) while an auction ends: the sweeper still closes it
 * from PostgreSQL, the durable `auction.closed` commits with the close and its consumer runs
 * without Redis; the live push to the other instance, which needs Redis, is delivered once
 * Redis is back, once.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ownDatabase } from '../helpers/env.js';
import { startApp } from '../helpers/app.js';
import { freePort, startRedis, stopRedis } from '../helpers/redis.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { walletApi } from '../../src/modules/wallet/index.js';

t.test(
  'Redis down during the close: closed and consumed from PostgreSQL, pushed to other instances when Redis returns',
  async (t) => {
    const port = await freePort();
    let redis = await startRedis(port);
    t.teardown(() => stopRedis(redis));
    const shared = {
      DATABASE_URL: await ownDatabase(t),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_PREFIX: `tdown${randomBytes(4).toString('hex')}`,
      SESSION_SECRET: 'outbox-redis-down-secret-'.padEnd(40, 'x'),
      AUCTION_SWEEP_MS: '500',
      OUTBOX_POLL_MS: '200',
      SOFT_CLOSE_SECONDS: '0',
    };
    const consumed: number[] = [];
    const { app, config } = await startApp(t, shared, (app) => {
      app.events.onDurable('auction.closed', 'probe-orders', async (e, { tx }) => {
        if (e.holdRef)
          await walletApi(app.db)
            .withTx(tx)
            .moveHoldToEscrow(e.holdRef, e.auctionId, e.finalPrice ?? undefined);
        consumed.push(e.auctionId);
      });
    });
    // Another instance (web only): its tabs learn of the close through Redis.
    const { app: web } = await startApp(t, { ...shared, ROLE: 'web' });
    const heardOnWeb: number[] = [];
    web.events.on('auction.closed', (p) => void heardOnWeb.push(p.auctionId));

    const seller = await user(app, config);
    const buyer = await user(app, config, 50_000);
    // Logged in before the auction's 3 s start: on a loaded machine the login (argon2) alone outlived
    // a 2.5 s auction and the bid came too late (422).
    const bc = await loggedIn(app, buyer.email);
    const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 3_000 });
    const placed = await bid(bc, id, 20_000);
    t.equal(placed.statusCode, 200, placed.body.slice(0, 300));

    await stopRedis(redis);
    // Should an assertion below throw, Redis comes back before the apps close (a BullMQ worker
    // closed while Redis is away keeps reconnecting and would hold the test process open).
    let down = true;
    t.teardown(async () => {
      if (down) redis = await startRedis(port);
    });
    t.equal((await app.inject('/readyz')).statusCode, 503, 'Redis is really down');
    const ended = await waitFor(
      async () => (await app.db.auction.findUniqueOrThrow({ where: { id } })).status === 'ENDED',
      10_000,
      100,
    );
    t.ok(ended, 'the sweeper closed it with Redis down');
    const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
    t.same([a.outcome, a.winnerId, a.finalPrice], ['SOLD', buyer.id, 10_000]);
    t.ok(await waitFor(async () => consumed.includes(id), 10_000), 'the durable consumer ran without Redis');
    t.equal(
      (await app.db.walletEscrow.findUniqueOrThrow({ where: { orderId: id } })).amount,
      10_000,
      'and its write committed',
    );
    const row = () =>
      app.db.outboxEvent.findFirstOrThrow({
        where: { name: 'auction.closed', payload: { path: ['auctionId'], equals: id } },
      });
    await waitFor(async () => (await row()).lastError !== null, 5000);
    t.equal((await row()).deliveredAt, null, 'not done: the other instances have not heard it');
    t.match((await row()).lastError, /live/, 'and the row says why');
    t.same(heardOnWeb, [], 'the other instance has not heard it');

    redis = await startRedis(port);
    down = false;
    // The relay retries on its own backoff (core/outbox.ts backoffMs: 1 s, 2 s, 4 s ... with jitter), which
    // grew for as long as Redis was away: on a loaded machine that is many seconds. Wait for the retry the
    // row has planned (available_at) plus a margin for the reconnect, not a fixed time that load can outrun.
    const retryIn = Math.min(90_000, Math.max(0, (await row()).availableAt.getTime() - Date.now()));
    t.ok(
      await waitFor(async () => heardOnWeb.includes(id), retryIn + 20_000, 50),
      'delivered to the other instance once Redis is back',
    );
    t.ok(await waitFor(async () => (await row()).deliveredAt !== null, 10_000), 'and the event is done');
    await new Promise((r) => setTimeout(r, 1000));
    t.same(
      heardOnWeb.filter((x) => x === id),
      [id],
      'heard once there',
    );
    t.same(
      consumed.filter((x) => x === id),
      [id],
      'consumed once',
    );
    t.equal(await app.db.ledgerTransaction.count({ where: { kind: 'ESCROW', reference: `auction:${id}:won` } }), 1);
  },
);
