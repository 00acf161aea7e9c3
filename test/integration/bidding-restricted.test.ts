/**
 * The account check of a bid inside its own transaction (PlaceBid.checkRestriction, issue 16):
 * accounts' withSql(sql).restrictionsOf reads who is suspended or banned beside the batch's other
 * reads. A restricted bidder's bids are answered 'restricted' (the route's 403) and write nothing;
 * the other bids of the same batch are decided as if those had never been placed, in the same
 * transaction (no falling back to one transaction per bid). The HTTP side (403 for every answer of
 * the bid route) is in admin-roles.test.ts.
 */
import t from 'tap';
import { prismaSql, transaction } from '../../src/core/db/index.js';
import { accountsApi } from '../../src/modules/accounts/index.js';
import { placeBid, type BiddingDeps, type BidResult, type PlaceBid } from '../../src/modules/bidding/index.js';
import { walletApi } from '../../src/modules/wallet/index.js';
import { catalogApi } from '../../src/modules/catalog/index.js';
import { parseBands } from '../../src/modules/bidding/engine.js';
import { registry } from '../../src/core/metrics.js';
import { startApp } from '../helpers/app.js';
import { user, auction, balances } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

const system = { id: null, role: 'system' } as const;

async function transactions(): Promise<number> {
  const m = await registry.getSingleMetric('dapanda_bid_batch_size')!.get();
  return m.values.find((x) => (x as { metricName?: string }).metricName === 'dapanda_bid_batch_size_count')?.value ?? 0;
}

/** What a bid's answer says, for comparing two runs. */
const answer = (r: BidResult) =>
  r.ok
    ? { ok: true, leads: r.leads, duplicate: r.duplicate, price: r.snapshot.currentPrice, bids: r.snapshot.bidCount }
    : { ok: false, reason: r.reason };

t.test('restricted bidders in a batch: refused inside its transaction, the rest decided without them', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const accounts = accountsApi(app.db);
  const deps: BiddingDeps = {
    db: app.db,
    wallet: walletApi(app.db),
    catalog: catalogApi(app.db),
    events: app.events,
    settings: { bands: parseBands(config.bidding.increments), softCloseMs: 0, maxBid: 1_000_000_000 },
    accounts,
  };
  const seller = await user(app, config, 0, 'rs');
  const [b1, b2, b3, b4] = [
    await user(app, config, 200_000, 'r1'),
    await user(app, config, 200_000, 'r2'),
    await user(app, config, 200_000, 'r3'),
    await user(app, config, 200_000, 'r4'),
  ];
  // b2 suspended, b4 banned (through accounts' own path, with its audit row).
  await transaction(app.db, (tx) => accounts.withTx(tx).restrictUser(system, b2.id, { suspendDays: 3 }, 'test'));
  await transaction(app.db, (tx) => accounts.withTx(tx).restrictUser(system, b4.id, { ban: true }, 'test'));

  // accounts' read itself: only the restricted come back; an expired suspension is no restriction.
  const expired = await user(app, config, 0, 'rx');
  await app.db.user.update({ where: { id: expired.id }, data: { suspendedUntil: new Date(Date.now() - 60_000) } });
  const found = await accounts.withSql(prismaSql(app.db)).restrictionsOf([b1.id, b2.id, b4.id, expired.id, 2147483000]);
  t.same([...found.keys()].sort(), [b2.id, b4.id].sort(), 'the suspended and the banned, nobody else');
  t.equal(found.get(b2.id)?.kind, 'suspended');
  t.equal(found.get(b4.id)?.kind, 'banned');
  t.same(await accounts.withSql(prismaSql(app.db)).restrictionsOf([]), new Map(), 'nobody asked: no statement');

  // The same bids on two auctions: with the restricted bidders (all placed at once: one bid alone,
  // then one batch) and, one at a time on a twin auction, without them.
  const script: [typeof b1, number][] = [
    [b1, 20_000],
    [b2, 30_000],
    [b3, 25_000],
    [b4, 60_000],
    [b2, 40_000],
    [b1, 26_000],
    [b3, 50_000],
  ];
  const restricted = new Set([b2.id, b4.id]);
  const [together, alone] = [
    await auction(app, { sellerId: seller.id, startPrice: 10_000 }),
    await auction(app, { sellerId: seller.id, startPrice: 10_000 }),
  ];
  const cmd = (id: number, [b, amount]: [typeof b1, number], k: number): PlaceBid => ({
    auctionId: id,
    bidderId: b.id,
    amount,
    requestKey: `${id}-${k}`,
    checkRestriction: true,
  });
  const before = await transactions();
  const batched = await Promise.all(script.map((s, k) => placeBid(deps, cmd(together, s, k))));
  t.equal((await transactions()) - before, 2, 'two transactions: the first bid alone, the rest in one batch');
  const sequential: BidResult[] = [];
  for (const [k, s] of script.entries())
    if (!restricted.has(s[0].id)) sequential.push(await placeBid(deps, cmd(alone, s, k)));

  for (const [k, r] of batched.entries()) {
    if (!restricted.has(script[k][0].id)) continue;
    t.match(
      r,
      { ok: false, reason: 'restricted', restriction: { kind: script[k][0].id === b2.id ? 'suspended' : 'banned' } },
      `bid ${k} (restricted bidder): refused as restricted`,
    );
  }
  t.same(
    batched.filter((_, k) => !restricted.has(script[k][0].id)).map(answer),
    sequential.map(answer),
    'the other bids got the answers they get without the restricted bidders',
  );
  t.ok(
    sequential.some((r) => r.ok && r.leads),
    'the script has accepted bids',
  );
  const rowsOf = async (id: number) =>
    (await app.db.bid.findMany({ where: { auctionId: id }, orderBy: { id: 'asc' } })).map((b) => ({
      bidder: b.bidderId,
      amount: b.amount,
      kind: b.kind,
    }));
  const [rowsTogether, rowsAlone] = [await rowsOf(together), await rowsOf(alone)];
  t.same(rowsTogether, rowsAlone, 'the same history rows');
  t.notOk(
    rowsTogether.some((r) => restricted.has(r.bidder)),
    'no bid row of a restricted bidder',
  );
  t.equal(
    await app.db.proxyBid.count({ where: { auctionId: together, bidderId: { in: [...restricted] } } }),
    0,
    'no maximum stored for them',
  );
  for (const b of [b2, b4])
    t.same(await balances(app, b.id), { available: 200_000, held: 0 }, 'nothing held of a restricted bidder');
  const [a1, a2] = await Promise.all(
    [together, alone].map((id) =>
      app.db.auction.findUniqueOrThrow({
        where: { id },
        select: { currentPrice: true, bidCount: true, leaderId: true, leaderMax: true },
      }),
    ),
  );
  t.same(a1, a2, 'the same price, bid count, leader and maximum');

  // Only restricted bidders: every bid refused, nothing written at all.
  const quiet = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const only = await Promise.all(
    [[b2, 20_000] as [typeof b1, number], [b4, 30_000] as [typeof b1, number], [b2, 40_000] as [typeof b1, number]].map(
      (s, k) => placeBid(deps, cmd(quiet, s, 100 + k)),
    ),
  );
  t.same(
    only.map((r) => r.ok || r.reason),
    ['restricted', 'restricted', 'restricted'],
    'a batch of restricted bidders only: all refused',
  );
  t.match(
    await app.db.auction.findUniqueOrThrow({ where: { id: quiet } }),
    { bidCount: 0, leaderId: null, currentPrice: 10_000 },
    'the auction is untouched',
  );
  t.equal(await app.db.bid.count({ where: { auctionId: quiet } }), 0, 'no bid row');

  // Without checkRestriction (other callers, seeds): no check, as before.
  const unchecked = await placeBid(deps, { auctionId: quiet, bidderId: b2.id, amount: 20_000 });
  t.ok(unchecked.ok, 'a bid that does not ask is not checked');
  // Asking without the accounts API is a programming error, not a silent pass.
  const { accounts: _none, ...noAccounts } = deps;
  await t.rejects(
    placeBid(noAccounts, { auctionId: quiet, bidderId: b1.id, amount: 50_000, checkRestriction: true }),
    /checkRestriction needs deps.accounts/,
  );
  t.same(await ledgerViolations(app), []);
});
