/**
 * The inbox's coalescing write (store.writeMany), as a relay batch calls it: all the outbids of
 * a batch in one call. A burst folds exactly as one write after another would (the same rows,
 * params, links and sources as writing the items one call each); a read or an old row starts a
 * new one; plain items beside grouped ones; two transactions writing the same groups at once (in
 * opposite orders) neither both insert nor deadlock.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { transaction } from '../../src/core/db/index.js';
import * as store from '../../src/modules/notifications/store.js';
import type { App } from '../../src/app.js';

// No foreign key to users (the user id is enough): ids far from any test user's.
let nextUser = 900_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
const freshUser = () => nextUser++;
let seq = 0;
const outbid = (userId: number, auctionId: number, price: number): store.NewNotification => ({
  userId,
  kind: 'outbid',
  sourceKey: `test-coalesce:${process.pid}:${++seq}`,
  groupKey: `outbid:${auctionId}`,
  params: { auctionId, title: 'x', price },
  link: `/items/${auctionId}?p=${price}`,
  replaces: (stored, next) => Number(next.price) >= Number(stored.price ?? 0),
});
const rowsOf = (app: App, userIds: number[]) =>
  app.db.notification.findMany({ where: { userId: { in: userIds } }, orderBy: [{ userId: 'asc' }, { id: 'asc' }] });
const write = (app: App, items: store.NewNotification[]) => transaction(app.db, (tx) => store.writeMany(tx, items));

t.test('a burst in one call is one row with the highest price; later calls fold into it', async (t) => {
  const { app } = await startApp(t);
  const u = freshUser();
  const burst = [outbid(u, 1, 100), outbid(u, 1, 300), outbid(u, 1, 200)];
  const w1 = await write(app, burst);
  t.equal(w1.length, 1, 'one written row for the burst');
  t.equal(w1[0].created, true);
  let [row, ...more] = await rowsOf(app, [u]);
  t.equal(more.length, 0, 'one row');
  t.same(row.params, { auctionId: 1, title: 'x', price: 300 }, 'the highest price');
  t.equal(row.link, '/items/1?p=300', 'its link');
  t.equal(row.sourceKey, burst[0].sourceKey, 'keyed by the burst’s first source');
  t.equal(row.lastSource, burst[1].sourceKey, 'showing the source it took the price from');

  // A lower price later: nothing replaced, but the row is reported (the bell is pushed again).
  const w2 = await write(app, [outbid(u, 1, 250)]);
  t.same(
    w2.map((w) => [w.id, w.created]),
    [[row.id.toString(), false]],
  );
  [row, ...more] = await rowsOf(app, [u]);
  t.same([row.params, more.length], [{ auctionId: 1, title: 'x', price: 300 }, 0], 'kept the higher price');
  await write(app, [outbid(u, 1, 400)]);
  t.same((await rowsOf(app, [u]))[0].params, { auctionId: 1, title: 'x', price: 400 }, 'a higher one replaces it');

  // Read: the next outbid is a new row. Old (past COALESCE_MS): the next one is new too.
  await app.db.notification.update({ where: { id: row.id }, data: { readAt: new Date() } });
  await write(app, [outbid(u, 1, 500)]);
  const afterRead = await rowsOf(app, [u]);
  t.equal(afterRead.length, 2, 'a new row after reading');
  await app.db.notification.update({
    where: { id: afterRead[1].id },
    data: { createdAt: new Date(Date.now() - store.COALESCE_MS - 5_000) },
  });
  await write(app, [outbid(u, 1, 600)]);
  t.equal((await rowsOf(app, [u])).length, 3, 'a new row once the last is older than the window');
});

t.test('one call folds exactly as one call per item would (random bursts over users and groups)', async (t) => {
  const { app } = await startApp(t);
  let state = 0x2545f491;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  for (let round = 0; round < 5; round++) {
    const batchUsers = [freshUser(), freshUser(), freshUser()];
    const singleUsers = [freshUser(), freshUser(), freshUser()];
    const plan = Array.from({ length: 40 }, () => ({ u: rand(3), a: 1 + rand(3), price: 1_000 + rand(50) * 100 }));
    // Some groups already have an unread row before the burst.
    const pre = [0, 1, 2].map((u) => ({ u, a: 1 + rand(3), price: 1_000 + rand(50) * 100 }));
    for (const p of pre) {
      await write(app, [outbid(batchUsers[p.u], p.a, p.price)]);
      await write(app, [outbid(singleUsers[p.u], p.a, p.price)]);
    }
    // Plain items ride along in the same call.
    const plain = (u: number): store.NewNotification => ({
      userId: u,
      kind: 'won',
      sourceKey: `test-coalesce-plain:${process.pid}:${++seq}`,
      params: { auctionId: 9, title: 'x', price: 1 },
      link: '/items/9',
    });
    const written = await write(app, [
      plain(batchUsers[0]),
      ...plan.map((p) => outbid(batchUsers[p.u], p.a, p.price)),
      plain(batchUsers[1]),
    ]);
    for (const p of [{ u: 0 }, ...plan, { u: 1 }].map((x, i) => ({ ...x, i }))) {
      if (p.i === 0 || p.i === plan.length + 1) await write(app, [plain(singleUsers[p.u])]);
      else {
        const q = plan[p.i - 1];
        await write(app, [outbid(singleUsers[q.u], q.a, q.price)]);
      }
    }
    const shape = (rows: Awaited<ReturnType<typeof rowsOf>>, users: number[]) =>
      rows.map((r) => JSON.stringify([users.indexOf(r.userId), r.kind, r.groupKey, r.params, r.link, r.readAt])).sort(); // ids differ in order (one call inserts the grouped rows first): compare the rows
    t.same(
      shape(await rowsOf(app, batchUsers), batchUsers),
      shape(await rowsOf(app, singleUsers), singleUsers),
      `round ${round}: the same rows as one call per item`,
    );
    const groups = new Set(plan.map((p) => `${p.u}:${p.a}`));
    t.equal(written.length, groups.size + 2, `round ${round}: one result per group and plain item`);
    t.equal(
      new Set(written.map((w) => w.id)).size,
      groups.size + 2,
      `round ${round}: one written row per group, plus the two plain ones`,
    );
  }
});

t.test('two transactions on the same groups at once, in opposite orders: one row each, no deadlock', async (t) => {
  const { app } = await startApp(t);
  for (let round = 0; round < 10; round++) {
    const users = [freshUser(), freshUser(), freshUser(), freshUser()];
    const forward = users.flatMap((u, i) => [outbid(u, 7, 100 + i), outbid(u, 8, 100 + i)]);
    const backward = users
      .slice()
      .reverse()
      .flatMap((u, i) => [outbid(u, 8, 200 + i), outbid(u, 7, 200 + i)]);
    const res = await Promise.allSettled([write(app, forward), write(app, backward)]);
    t.same(
      res.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
      `round ${round}: both committed`,
    );
    const rows = await rowsOf(app, users);
    t.equal(rows.length, 8, `round ${round}: one row per user and auction`);
    t.ok(
      rows.every((r) => Number((r.params as { price: number }).price) >= 200),
      `round ${round}: the higher burst's prices won`,
    );
  }
});
