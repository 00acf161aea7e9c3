/**
 * A worker SIGKILLed mid-settlement. The test's own process serves HTTP only (ROLE=web: no jobs, no
 * relay); the real worker (src/worker.ts, ROLE=worker) creates the orders from auction.closed and
 * settles them as the durable consumer of order.received. Many buyers confirm at once; as soon as
 * the first settlement has committed, the worker is killed with SIGKILL (settlements in flight: some
 * done, some claimed or mid-transaction, some not started). A restarted worker finishes the rest:
 * every order COMPLETED exactly once, one payout per order, one order.completed per order, the
 * seller paid N x (price - fee), the ledger sums to zero.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { REDIS_URL, ROOT, ownDatabase, tsNodeArgs } from '../helpers/env.js';
import { startApp } from '../helpers/app.js';
import { freePort } from '../helpers/redis.js';
import { user, auction, loggedIn, waitFor } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

const N = 30;
const PRICE = 20_000;

t.test('SIGKILL during settlements: the restarted worker completes each order once', async (t) => {
  const databaseUrl = await ownDatabase(t);
  const shared = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `tokill${randomBytes(4).toString('hex')}`,
    SESSION_SECRET: 'orders-worker-kill-secret-'.padEnd(40, 'x'),
    SOFT_CLOSE_SECONDS: '0',
    // A relay killed mid-delivery holds its claimed rows for the lease: short here, so the test is quick.
    OUTBOX_LEASE_MS: '2000',
    OUTBOX_POLL_MS: '200',
    ORDER_SWEEP_MS: '3600000',
  };
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const worker = async () => {
    const child = spawn(process.execPath, tsNodeArgs('src/worker.ts'), {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        ROLE: 'worker',
        METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'info',
        ...shared,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const up = await waitFor(async () => out.includes('DAPANDA worker running'), 60_000, 100);
    t.ok(up, `worker ${child.pid} running`);
    if (!up) t.comment(out.slice(-2000));
    return { child, out: () => out };
  };

  const { app, config } = await startApp(t, { ...shared, ROLE: 'web' });
  const first = await worker();
  const seller = await user(app, config, 0, 'ks');
  const sc = await loggedIn(app, seller.email);

  // N buy-now wins; the worker turns each durable auction.closed into an order.
  const buyers = await Promise.all(Array.from({ length: N }, () => user(app, config, 50_000, 'kb')));
  const clients = await Promise.all(buyers.map((b) => loggedIn(app, b.email)));
  const ids: number[] = [];
  for (const [i, bc] of clients.entries()) {
    const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: PRICE, title: `정산 ${i}` });
    await bc.get(`/items/${id}/bid-panel`);
    const r = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
    if (r.statusCode >= 400) throw new Error(`buy-now ${r.statusCode}`);
    ids.push(id);
  }
  t.ok(
    await waitFor(async () => (await app.db.order.count({ where: { auctionId: { in: ids } } })) === N, 60_000),
    `${N} orders made by the worker`,
  );
  const orders = await app.db.order.findMany({ where: { auctionId: { in: ids } }, orderBy: { id: 'asc' } });
  const orderIds = orders.map((o) => o.id);
  const byBuyer = new Map(orders.map((o) => [o.buyerId, o.id]));

  // Address and shipment for each (HTTP on the web process).
  for (const [i, bc] of clients.entries()) {
    const oid = byBuyer.get(buyers[i].id)!;
    await bc.get(`/orders/${oid}`);
    const a = await bc.post(`/orders/${oid}/address`, {
      mode: 'COURIER',
      recipient: '김정산',
      phone: '010-1111-2222',
      postalCode: '04524',
      roadAddress: '서울 중구 세종대로 110',
      detailAddress: `${i + 1}호`,
    });
    if (a.statusCode !== 303) throw new Error(`address ${a.statusCode}`);
    await sc.get(`/orders/${oid}`);
    const s = await sc.post(`/orders/${oid}/ship`, {
      mode: 'COURIER',
      courier: 'CJ',
      trackingNumber: String(100_000_000_000 + oid),
    });
    if (s.statusCode !== 303) throw new Error(`ship ${s.statusCode}`);
  }
  t.equal(await app.db.order.count({ where: { id: { in: orderIds }, state: 'SHIPPED' } }), N, 'all shipped');

  // Everyone confirms at once; the first settlement commits; SIGKILL.
  await Promise.all(clients.map((bc, i) => bc.get(`/orders/${byBuyer.get(buyers[i].id)}`)));
  const confirmed = await Promise.all(
    clients.map((bc, i) => bc.post(`/orders/${byBuyer.get(buyers[i].id)}/confirm`, {})),
  );
  t.same(
    confirmed.map((r) => r.statusCode),
    Array(N).fill(303),
    'all confirmed',
  );
  const done = () => app.db.order.count({ where: { id: { in: orderIds }, state: 'COMPLETED' } });
  t.ok(await waitFor(async () => (await done()) > 0, 30_000, 10), 'settlements running');
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  t.equal(first.child.signalCode, 'SIGKILL');
  const atKill = await done();
  t.comment(`completed when killed: ${atKill}/${N}`);
  t.ok(atKill < N, `killed mid-settlement (${atKill} of ${N} done)`);
  t.equal(
    await app.db.order.count({ where: { id: { in: orderIds }, state: 'RECEIVED' } }),
    N - atKill,
    'the rest wait in RECEIVED',
  );
  t.same(await ledgerViolations(app), [], 'the ledger is whole at the kill (a killed transaction left nothing)');

  const second = await worker();
  t.ok(await waitFor(async () => (await done()) === N, 60_000), 'the restarted worker completed the rest');
  // Room for a wrong second delivery (a lease expiring on an already-settled event).
  await new Promise((r) => setTimeout(r, 2500));

  const fee = Math.floor((PRICE * config.orders.feeBps) / 10_000);
  const final = await app.db.order.findMany({ where: { id: { in: orderIds } } });
  t.ok(
    final.every((o) => o.state === 'COMPLETED' && o.fee === fee && o.payout === PRICE - fee),
    'each COMPLETED with fee and payout',
  );
  const payouts = await app.db.$queryRaw<{ reference: string; n: bigint }[]>`
    SELECT reference, count(*)::bigint AS n FROM ledger_transactions
     WHERE kind = 'PAYOUT_TO_SELLER' AND reference = ANY(${orderIds.map((id) => `order:${id}`)}) GROUP BY reference`;
  t.equal(payouts.length, N, 'a payout for every order');
  t.ok(
    payouts.every((p) => p.n === 1n),
    'and exactly one each',
  );
  const completedEvents = await app.db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*)::bigint AS n FROM outbox_events
     WHERE name = 'order.completed' AND (payload->>'orderId')::int = ANY(${orderIds})`;
  t.equal(Number(completedEvents[0].n), N, 'one order.completed per order');
  const inbox = await app.db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*)::bigint AS n FROM inbox_events i JOIN outbox_events o ON o.id = i.event_id
     WHERE i.consumer = 'orders-settlement' AND (o.payload->>'orderId')::int = ANY(${orderIds})`;
  t.equal(Number(inbox[0].n), N, 'the settlement consumer committed once per order.received');
  const [sb] = await app.db.$queryRaw<{ available: bigint; escrow: bigint }[]>`
    SELECT COALESCE(SUM(balance) FILTER (WHERE kind = 'USER_AVAILABLE'), 0)::bigint AS available,
           COALESCE(SUM(balance) FILTER (WHERE kind = 'ESCROW'), 0)::bigint AS escrow
      FROM wallet_accounts WHERE user_id = ${seller.id}`;
  t.equal(Number(sb.available), N * (PRICE - fee), 'the seller was paid N x (price - fee)');
  const [escrow] = await app.db.$queryRaw<{ total: bigint }[]>`
    SELECT COALESCE(SUM(balance), 0)::bigint AS total FROM wallet_accounts WHERE kind = 'ESCROW'`;
  t.equal(Number(escrow.total), 0, 'no escrow left anywhere');
  for (const b of buyers.slice(0, 3)) {
    const [r] = await app.db.$queryRaw<{ available: bigint }[]>`
      SELECT COALESCE(SUM(balance) FILTER (WHERE kind = 'USER_AVAILABLE'), 0)::bigint AS available FROM wallet_accounts WHERE user_id = ${b.id}`;
    t.equal(Number(r.available), 50_000 - PRICE, 'buyer paid once');
  }
  t.same(await ledgerViolations(app), []);
  t.notMatch(second.out(), /durable event consumer failed/, 'no failed delivery on the restarted worker');
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
});
