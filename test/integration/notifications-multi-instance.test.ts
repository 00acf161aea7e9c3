/**
 * Real time at scale (issue 12, item 6): two real app processes share PostgreSQL and Redis. One
 * user has three tabs (two WebSockets on A, one on B) on their own topic `user:<id>`; they are
 * outbid by a bid taken on the other instance and every tab gets exactly one push of the bell
 * with the new unread count. A tab that was closed while another notification arrived gets the
 * current count in the snapshot when it reconnects. A fan-out (one write telling 8 watchers on
 * both instances that the auction ends within the hour) pushes each watcher's bell exactly once.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { REDIS_URL, testDatabaseUrl } from '../helpers/env.js';
import { spawnInstance, HttpClient, openTab, type Tab } from '../helpers/instances.js';
import { startApp } from '../helpers/app.js';
import { user, auction, waitFor } from '../helpers/auction.js';
import { notificationsOf } from '../../src/modules/notifications/index.js';

const SESSION_SECRET = 'notify-multi-instance-secret-'.padEnd(40, 'x');
const HOUR = 3_600_000;

const BELL_RE = /data-testid="bell-count" data-count="(\d+)"/;
/** The counts the bell frames in `messages` carried, in order. */
const counts = (messages: string[]) =>
  messages.map((m) => BELL_RE.exec(m)?.[1]).filter((c): c is string => c !== undefined);

t.test('three tabs on two instances: one push per tab per notification; a reconnect re-syncs the count', async (t) => {
  const started = Date.now();
  const prefix = `tnotmi${randomBytes(4).toString('hex')}`;
  const shared = { DATABASE_URL: await testDatabaseUrl(), REDIS_URL, REDIS_PREFIX: prefix, SESSION_SECRET };
  const instances = await Promise.all([spawnInstance('A', shared), spawnInstance('B', shared)]);
  t.teardown(() => {
    for (const i of instances) if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
  });
  // The test's own handle on the shared database (no workers: only A and B run the outbox and jobs).
  const { app, config } = await startApp(t, { REDIS_PREFIX: prefix, ROLE: 'web', SESSION_SECRET });
  const [A, B] = instances;
  const up = await waitFor(async () => instances.every((i) => i.out().includes('DAPANDA listening')), 60_000, 100);
  t.ok(up, 'both instances listening');
  if (!up) {
    t.comment(A.out().slice(-2000), B.out().slice(-2000));
    return;
  }
  t.comment(`both instances up after ${Date.now() - started} ms`);

  const seller = await user(app, config);
  const [u1, u2] = await Promise.all([user(app, config, 1_000_000), user(app, config, 1_000_000)]);
  const first = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 3 * HOUR });
  const second = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 3 * HOUR });

  // u1 (the one with three tabs) bids through A; u2 through B. Sessions live in Redis: valid on both.
  const c1 = new HttpClient(A.base);
  const c2 = new HttpClient(B.base);
  await Promise.all([c1.login(u1.email), c2.login(u2.email)]);
  const cookie = c1.cookieHeader();
  const tabs = [
    openTab('A tab 1', A.base, `user:${u1.id}`, cookie),
    openTab('A tab 2', A.base, `user:${u1.id}`, cookie),
    openTab('B tab 3', B.base, `user:${u1.id}`, cookie),
  ];
  await Promise.all(tabs.map((x) => x.ready));
  t.ok(
    await waitFor(async () => tabs.every((x) => counts(x.messages).length >= 1), 5000),
    'every tab got the bell on connect',
  );
  for (const x of tabs) t.same(counts(x.messages), ['0'], `${x.label}: snapshot says 0 unread`);

  // Someone else's tab on u1's topic is refused the snapshot (and any push) for u1.
  const spy = openTab('u2 on u1 topic', B.base, `user:${u1.id}`, c2.cookieHeader());
  await spy.ready;

  // u1 leads on A, u2 outbids on B: the outbox consumer (either instance) writes u1's notification.
  const seen = tabs.map((x) => x.messages.length);
  t.equal((await c1.bid(first, 10_000)).status, 200, 'u1 bids on A');
  const t0 = Date.now();
  t.equal((await c2.bid(first, 20_000)).status, 200, 'u2 outbids on B');
  t.ok(
    await waitFor(async () => tabs.every((x, i) => counts(x.messages.slice(seen[i])).includes('1')), 10_000, 5),
    'every tab on both instances is pushed the count 1',
  );
  t.comment(`outbid bid POST -> bell on all 3 tabs: ${Date.now() - t0} ms`);
  // Let every delivery of the durable event finish, then a little longer: no second push.
  t.ok(
    await waitFor(
      async () =>
        (await app.db.outboxEvent.count({ where: { namespace: prefix, deliveredAt: null, deadAt: null } })) === 0,
      10_000,
    ),
    'the outbox is drained',
  );
  await new Promise((r) => setTimeout(r, 1000));
  for (const [i, x] of tabs.entries()) {
    t.same(counts(x.messages.slice(seen[i])), ['1'], `${x.label}: exactly one push, with the count 1`);
    t.match(x.messages.slice(seen[i]).join(''), 'hx-swap-oob', `${x.label}: an out-of-band fragment`);
  }
  t.equal(
    await app.db.notification.count({ where: { userId: u1.id, readAt: null } }),
    1,
    'one unread notification stored',
  );
  t.same(counts(spy.messages), [], "another user's socket on u1's topic gets nothing");

  // Tab 3 (on B) drops; a notification arrives on another auction meanwhile (no coalescing across auctions).
  const closed = new Promise((r) => tabs[2].ws.once('close', r));
  tabs[2].ws.close();
  await closed;
  const seen2 = tabs.map((x) => x.messages.length);
  t.equal((await c1.bid(second, 10_000)).status, 200, 'u1 bids on the second auction on A');
  t.equal((await c2.bid(second, 20_000)).status, 200, 'u2 outbids on B');
  t.ok(
    await waitFor(
      async () => tabs.slice(0, 2).every((x, i) => counts(x.messages.slice(seen2[i])).includes('2')),
      10_000,
    ),
    'the two open tabs on A are pushed the count 2',
  );
  t.equal(counts(tabs[2].messages.slice(seen2[2])).length, 0, 'the closed tab received nothing');

  // Tab 3 reconnects (to B, as a load balancer might): the snapshot carries the current count.
  const again = openTab('B tab 3 again', B.base, `user:${u1.id}`, cookie);
  await again.ready;
  t.ok(await waitFor(async () => counts(again.messages).length >= 1, 5000), 'the reconnected tab got the bell');
  t.equal(counts(again.messages)[0], '2', 'the reconnected tab shows 2 unread without a page load');
  // And the same after a reconnect to the other instance.
  const elsewhere = openTab('tab 3 on A', A.base, `user:${u1.id}`, cookie);
  await elsewhere.ready;
  t.ok(await waitFor(async () => counts(elsewhere.messages).length >= 1, 5000), 'a reconnect to A gets it too');
  t.equal(counts(elsewhere.messages)[0], '2');

  // A fan-out (one write telling many people: "ends within 1 hour" to every watcher) goes out as
  // one event; each instance reads the bells of its own subscribers at once and pushes each once.
  const third = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 3 * HOUR });
  const fans = await Promise.all(Array.from({ length: 8 }, () => user(app, config)));
  await app.db.watch.createMany({ data: fans.map((f) => ({ userId: f.id, auctionId: third })) });
  const fanTabs: Tab[] = [];
  for (const [i, f] of fans.entries()) {
    const c = new HttpClient(instances[i % 2].base);
    await c.login(f.email);
    fanTabs.push(openTab(`watcher ${i} on ${i % 2 ? 'B' : 'A'}`, c.base, `user:${f.id}`, c.cookieHeader()));
  }
  await Promise.all(fanTabs.map((x) => x.ready));
  t.ok(
    await waitFor(async () => fanTabs.every((x) => counts(x.messages).length >= 1), 5000),
    'every watcher tab got its bell on connect',
  );
  const soon = new Date(Date.now() + HOUR / 2);
  await app.db.$executeRaw`UPDATE auctions SET ends_at = ${soon}, original_ends_at = ${soon} WHERE id = ${third}`;
  await app.db.$executeRaw`UPDATE listings SET ends_at = ${soon} WHERE id = ${third}`;
  const fanSeen = fanTabs.map((x) => x.messages.length);
  // As the ending timer would (a sweep on A or B may get there first: the source key makes it once).
  await notificationsOf(app).ending.fire(third);
  t.ok(
    await waitFor(async () => fanTabs.every((x, i) => counts(x.messages.slice(fanSeen[i])).includes('1')), 10_000, 5),
    'every watcher on both instances is pushed the count 1',
  );
  await new Promise((r) => setTimeout(r, 1000));
  for (const [i, x] of fanTabs.entries())
    t.same(counts(x.messages.slice(fanSeen[i])), ['1'], `${x.label}: exactly one push, with the count 1`);
  t.equal(
    await app.db.notification.count({ where: { userId: { in: fans.map((f) => f.id) }, kind: 'ending' } }),
    fans.length,
    'one "ending" row per watcher',
  );

  t.notMatch(
    A.out() + B.out(),
    /event handler failed|realtime snapshot failed|notification follow-up failed|"level":60/,
    'no failed push, snapshot or crash on either instance',
  );
  for (const x of [...tabs, spy, again, elsewhere, ...fanTabs]) x.ws.terminate();
  for (const i of instances) i.child.kill('SIGTERM');
  await Promise.all(
    instances.map((i) =>
      i.child.exitCode !== null
        ? undefined
        : Promise.race([new Promise((r) => i.child.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]),
    ),
  );
  t.comment(`whole test ${Date.now() - started} ms`);
});
