/**
 * The viewer's own standing on an auction (maximum, watching) is looked up for many viewers at
 * once (bidding/queries.ts viewerInfo: one statement per turn of the event loop, issue 16). Each
 * viewer still gets their own answer: concurrent item views by a bidder, a watcher and a
 * stranger, on two auctions, each show theirs and nobody else's.
 */
import t from 'tap';
import pg from 'pg';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, bid } from '../helpers/auction.js';
import { viewerInfo } from '../../src/modules/bidding/queries.js';

let statements = 0;
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const a = args[0] as string | { text?: string };
  // Only the lookups' statements (timers poll the maintenance flag and the outbox meanwhile).
  if ((typeof a === 'string' ? a : (a?.text ?? '')).includes('proxy_bids')) statements++;
  return (orig as (...x: unknown[]) => unknown).apply(this, args);
} as typeof orig;

t.test('one lookup for many viewers, each answered with their own', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const bidder = await user(app, config, 1_000_000);
  const watcher = await user(app, config);
  const stranger = await user(app, config);
  const a1 = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const a2 = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const cb = await loggedIn(app, bidder.email);
  const cw = await loggedIn(app, watcher.email);
  const cs = await loggedIn(app, stranger.email);
  t.equal((await bid(cb, a1, 40_000)).statusCode, 200, 'the bidder sets a maximum on the first');
  await cw.get(`/items/${a2}`);
  t.equal((await cw.post(`/items/${a2}/watch`, { watch: '1' }, { 'hx-request': 'true' })).statusCode, 200);

  statements = 0;
  const asked = await Promise.all([
    viewerInfo(app.db, a1, bidder.id),
    viewerInfo(app.db, a2, bidder.id),
    viewerInfo(app.db, a1, watcher.id),
    viewerInfo(app.db, a2, watcher.id),
    viewerInfo(app.db, a1, stranger.id),
    viewerInfo(app.db, a1, bidder.id), // the same question twice in one batch
    viewerInfo(app.db, a1, null),
  ]);
  t.equal(statements, 1, 'six lookups (one anonymous) in one statement');
  t.same(asked, [
    { hasBid: true, myMax: 40_000, watching: false },
    { hasBid: false, myMax: null, watching: false },
    { hasBid: false, myMax: null, watching: false },
    { hasBid: false, myMax: null, watching: true },
    { hasBid: false, myMax: null, watching: false },
    { hasBid: true, myMax: 40_000, watching: false },
    { hasBid: false, myMax: null, watching: false },
  ]);

  // The same through the pages, all at once.
  const [pb1, pw2, ps1, pb2] = await Promise.all([
    cb.get(`/items/${a1}`),
    cw.get(`/items/${a2}`),
    cs.get(`/items/${a1}`),
    cb.get(`/items/${a2}`),
  ]);
  t.match(pb1.body, /data-testid="my-max">[^<]*40,000원/, 'the bidder sees their maximum on the first');
  t.match(pb1.body, /status-leading/, 'and leads it');
  t.notMatch(pb2.body, 'data-testid="my-max"', 'but no maximum on the second');
  t.match(pw2.body, /data-testid="watch" aria-pressed="true"/, 'the watcher sees the second as watched');
  t.notMatch(ps1.body, 'data-testid="my-max"', "the stranger sees nobody's maximum");
  t.match(ps1.body, /data-testid="watch" aria-pressed="false"/, 'and does not watch it');
});
