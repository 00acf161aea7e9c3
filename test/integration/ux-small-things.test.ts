/** Issue 15, small things users notice: a seller cannot watch their own item, a 1-letter nickname is refused, a one-bid chart is a line. */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import { chartPoints } from '../../src/modules/bidding/queries.js';

t.test('a seller cannot watch their own item; nothing is written', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config, 0, 'w');
  const id = await auction(app, { sellerId: seller.id });
  const c = await loggedIn(app, seller.email);
  await c.get(`/items/${id}`);
  const res = await c.post(`/items/${id}/watch`, { watch: '1' }, { 'hx-request': 'true' });
  t.equal(res.statusCode, 409);
  t.equal(await app.db.watch.count({ where: { userId: seller.id, auctionId: id } }), 0, 'no watch row');
  const page = await c.get(`/items/${id}`);
  t.notMatch(page.body, /data-testid="watch"/, 'the seller sees no watch button on their item');
  const other = await user(app, config, 0, 'w');
  const o = await loggedIn(app, other.email);
  await o.get(`/items/${id}`);
  t.equal((await o.post(`/items/${id}/watch`, { watch: '1' }, { 'hx-request': 'true' })).statusCode, 200);
  t.equal(await app.db.watch.count({ where: { userId: other.id, auctionId: id } }), 1, 'others still can');
});

t.test('a one-letter nickname is refused at sign-up', async (t) => {
  const { app } = await startApp(t);
  const c = new Client(app);
  const u = uniq();
  const res = await c.signup({ email: `n${u}@example.com`, nickname: '가', password: 'a good long password' });
  t.equal(res.statusCode, 422);
  t.match(res.body, /2자 이상/);
  t.equal(await app.db.user.count({ where: { email: `n${u}@example.com` } }), 0, 'no user created');
});

t.test('a chart with one bid draws a line across, not an empty box', async (t) => {
  const at = new Date();
  const c = chartPoints([{ at, price: 12_000 }], 10_000)!;
  const xs = c.points.split(' ').map((p) => Number(p.split(',')[0]));
  t.ok(Math.max(...xs) - Math.min(...xs) > 300, `the line spans the width (${c.points})`);
});
