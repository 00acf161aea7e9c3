/**
 * One bid form posted twice at once, through two app instances: one bid is placed and the other
 * copy answers "already placed" (not a misleading refusal). The race is made certain: the auction
 * row is held locked until both copies wait for it, so the second copy's lock statement starts
 * before the first one's bid commits.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

t.test('the same form on two instances within milliseconds: one bid, and "already placed"', async (t) => {
  const shared = {
    REDIS_PREFIX: `tdouble${randomBytes(4).toString('hex')}`,
    SESSION_SECRET: 'double-post-secret-'.padEnd(40, 'x'),
    SOFT_CLOSE_SECONDS: '0',
  };
  const { app: a, config } = await startApp(t, shared);
  const { app: b } = await startApp(t, shared);
  const seller = await user(a, config);
  const [first, u] = await Promise.all([user(a, config, 100_000), user(a, config, 100_000)]);
  const id = await auction(a, { sellerId: seller.id, startPrice: 10_000 });
  t.equal((await bid(await loggedIn(a, first.email), id, 20_000)).statusCode, 200, 'someone else leads first');

  // One browser (one session), its form posted through both instances.
  const onA = await loggedIn(a, u.email);
  await onA.get(`/items/${id}/bid-panel`);
  const onB = new Client(b);
  onB.cookies = new Map(onA.cookies);
  onB.csrf = onA.csrf;
  const form = { amount: '30000', requestKey: 'form-1' };
  const hx = { 'hx-request': 'true' };

  const answers = await a.db.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM auctions WHERE id = ${id} FOR UPDATE`;
      const [{ xid }] = await tx.$queryRaw<{ xid: string }[]>`SELECT txid_current()::text AS xid`;
      const posts = [onA.post(`/items/${id}/bids`, form, hx), onB.post(`/items/${id}/bids`, form, hx)];
      // Both copies are inside their bid transaction, waiting for this lock (the first on our
      // transaction id, the second on the row behind it).
      const waiting = await waitFor(
        async () => {
          const [{ n }] = await a.db.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_locks
           WHERE NOT granted AND ((locktype = 'transactionid' AND transactionid::text = ${xid}) OR (locktype = 'tuple' AND relation = 'auctions'::regclass))`;
          return n >= 2;
        },
        10_000,
        20,
      );
      t.ok(waiting, 'both copies wait for the auction row');
      return posts;
    },
    { timeout: 20_000 },
  );
  const [ra, rb] = await Promise.all(answers);
  t.same([ra.statusCode, rb.statusCode], [200, 200], 'both copies answered');
  const bodies = [ra.body, rb.body];
  t.equal(
    bodies.filter((x) => x.includes('30,000원에 입찰했어요.') || x.includes('최대 입찰')).length >= 1,
    true,
    'one copy placed the bid',
  );
  t.equal(
    bodies.filter((x) => x.includes('이미 처리된 입찰이에요.')).length,
    1,
    'the other says it was already placed',
  );
  t.notOk(
    bodies.some((x) => x.includes('새 최대 입찰가는 지금 최대가보다 높아야 해요')),
    'not the misleading refusal',
  );
  const rows = await a.db.bid.findMany({ where: { auctionId: id, requestKey: `${u.id}-form-1` } });
  t.equal(rows.length, 1, 'one bid row for the form');
  const row = await a.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(row.leaderId, u.id);
  t.same(await ledgerViolations(a), []);
});
