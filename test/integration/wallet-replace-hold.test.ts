/**
 * wallet.replaceHold (the database function wallet_replace_hold, issue 16): a bid's release of
 * the previous leader's hold and its own hold in one statement. It leaves exactly the ledger
 * releaseHold + hold leave, refuses what they refuse (and then writes nothing, leaving the
 * caller's transaction usable), replays like them, and keeps every hold right when many bids on
 * many auctions sharing the same bidders run at once.
 */
import t from 'tap';
import { transaction } from '../../src/core/db/index.js';
import { InsufficientFunds, walletApi } from '../../src/modules/wallet/index.js';
import { placeBid, type BiddingDeps } from '../../src/modules/bidding/index.js';
import { catalogApi } from '../../src/modules/catalog/index.js';
import { parseBands } from '../../src/modules/bidding/engine.js';
import { startApp } from '../helpers/app.js';
import { fund, ledgerViolations, makeUser, walletDeps } from '../helpers/wallet.js';
import { user, auction } from '../helpers/auction.js';
import type { App } from '../../src/app.js';

async function ledgerOf(app: App, userIds: number[]) {
  const rows = await app.db.$queryRaw<{ kind: string; uid: number; account: string; amount: bigint; after: bigint }[]>`
    SELECT t.kind::text AS kind, t.user_id AS uid, a.key AS account, e.amount, e.balance_after AS after
      FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id JOIN wallet_accounts a ON a.id = e.account_id
     WHERE t.user_id = ANY(${userIds}::int[]) AND t.kind IN ('HOLD', 'RELEASE') ORDER BY e.id`;
  const name = new Map(userIds.map((id, i) => [id, `u${i}`]));
  return rows.map((r) => ({
    kind: r.kind,
    user: name.get(r.uid),
    account: r.account.replace(/^user:(\d+):/, (_, id: string) => `${name.get(Number(id))}:`),
    amount: Number(r.amount),
    after: Number(r.after),
  }));
}

t.test('the same ledger as releaseHold + hold, for a new leader and for a raise', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const wallet = walletApi(app.db);
  const [a1, b1, a2, b2] = [await makeUser(app), await makeUser(app), await makeUser(app), await makeUser(app)];
  for (const u of [a1, b1, a2, b2]) await fund(deps, u.id, 100_000);
  // Two steps each: A holds 30,000; B takes over with 50,000; B raises to 80,000.
  await wallet.hold(a1.id, 30_000, `old:${a1.id}`);
  await wallet.releaseHold(`old:${a1.id}`);
  await wallet.hold(b1.id, 50_000, `new:${b1.id}`);
  await wallet.releaseHold(`new:${b1.id}`);
  await wallet.hold(b1.id, 80_000, `raise:${b1.id}`);

  await wallet.hold(a2.id, 30_000, `old:${a2.id}`);
  const r1 = await wallet.replaceHold(`old:${a2.id}`, b2.id, 50_000, `new:${b2.id}`);
  const r2 = await wallet.replaceHold(`new:${b2.id}`, b2.id, 80_000, `raise:${b2.id}`);
  t.equal(r1.replayed || r2.replayed, false);
  t.same(await ledgerOf(app, [a2.id, b2.id]), await ledgerOf(app, [a1.id, b1.id]), 'the same postings, in order');
  for (const [x, y] of [
    [a1, a2],
    [b1, b2],
  ])
    t.same(await wallet.balances(y.id), await wallet.balances(x.id), 'the same balances');
  t.same(await wallet.findHold(`old:${a2.id}`).then((h) => h?.status), 'RELEASED');
  t.same(await wallet.findHold(`new:${b2.id}`).then((h) => h?.status), 'RELEASED');
  t.same(await wallet.findHold(`raise:${b2.id}`).then((h) => h?.amount), 80_000);
  t.same(await ledgerViolations(app), []);
});

t.test('insufficient points: refused, nothing written, the transaction still usable', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const wallet = walletApi(app.db);
  const [a, b] = [await makeUser(app), await makeUser(app)];
  await fund(deps, a.id, 100_000);
  await fund(deps, b.id, 40_000);
  await wallet.hold(a.id, 30_000, `old:${a.id}`);
  // Other test files write the same database at the same time: only these two users' postings count.
  const count = async () =>
    Number(
      (
        await app.db.$queryRaw<{ n: bigint }[]>`
          SELECT count(*) AS n FROM ledger_entries e JOIN wallet_accounts w ON w.id = e.account_id
           WHERE w.user_id = ANY(${[a.id, b.id]}::int[])`
      )[0].n,
    );
  const before = { entries: await count(), a: await wallet.balances(a.id), b: await wallet.balances(b.id) };

  const after = await transaction(app.db, async (tx) => {
    const err = await wallet
      .withTx(tx)
      .replaceHold(`old:${a.id}`, b.id, 50_000, `new:${b.id}`)
      .then(
        () => null,
        (e: unknown) => e,
      );
    t.ok(err instanceof InsufficientFunds, 'InsufficientFunds');
    t.equal((err as InsufficientFunds).available, 40_000, 'it says what was available');
    t.equal((err as InsufficientFunds).needed, 50_000, 'and what was needed');
    // The same transaction goes on (no aborted statement): the old hold is still there, still held.
    return wallet.withTx(tx).findHold(`old:${a.id}`);
  });
  t.equal(after?.status, 'HELD', "the previous leader's hold was not released");
  t.equal(await count(), before.entries, 'no posting written');
  t.same(await wallet.balances(a.id), before.a);
  t.same(await wallet.balances(b.id), before.b);
  t.equal(await wallet.findHold(`new:${b.id}`), null, 'no new hold');
  t.equal(
    await app.db.ledgerTransaction.count({
      where: { reference: { in: [`old:${a.id}`, `new:${b.id}`] }, kind: { not: 'HOLD' } },
    }),
    0,
    'no RELEASE claimed',
  );

  // A raise counts the hold that goes back: 30,000 held + 70,000 available covers 100,000, not 100,001.
  await t.rejects(wallet.replaceHold(`old:${a.id}`, a.id, 100_001, `raise1:${a.id}`), { code: 'INSUFFICIENT_FUNDS' });
  t.same(await wallet.balances(a.id), before.a, 'unchanged by the refused raise');
  await wallet.replaceHold(`old:${a.id}`, a.id, 100_000, `raise2:${a.id}`);
  t.same(await wallet.balances(a.id), { available: 0, held: 100_000, escrow: 0, pendingWithdrawal: 0 });
  t.same(await ledgerViolations(app), []);
});

t.test('replays and refusals as the two operations answer them', async (t) => {
  const { app, config } = await startApp(t);
  const deps = walletDeps(app, config);
  const wallet = walletApi(app.db);
  const [a, b] = [await makeUser(app), await makeUser(app)];
  await fund(deps, a.id, 100_000);
  await fund(deps, b.id, 100_000);
  await wallet.hold(a.id, 30_000, `old:${a.id}`);
  const first = await wallet.replaceHold(`old:${a.id}`, b.id, 50_000, `new:${b.id}`);
  const again = await wallet.replaceHold(`old:${a.id}`, b.id, 50_000, `new:${b.id}`);
  t.same(again, { transactionId: first.transactionId, replayed: true }, 'the same call again is a replay');
  t.same(await wallet.balances(b.id), { available: 50_000, held: 50_000, escrow: 0, pendingWithdrawal: 0 });
  t.same(await wallet.balances(a.id), { available: 100_000, held: 0, escrow: 0, pendingWithdrawal: 0 });
  await t.rejects(wallet.replaceHold(null, b.id, 60_000, `new:${b.id}`), { code: 'IDEMPOTENCY_MISMATCH' });
  await t.rejects(wallet.replaceHold(`nope:${a.id}`, b.id, 1_000, `other:${b.id}`), { code: 'HOLD_NOT_FOUND' });
  await wallet.hold(a.id, 10_000, `esc:${a.id}`);
  await wallet.moveHoldToEscrow(`esc:${a.id}`, 1_000_000_000 + a.id); // an order id no other test uses
  await t.rejects(wallet.replaceHold(`esc:${a.id}`, b.id, 1_000, `other:${b.id}`), { code: 'HOLD_NOT_ACTIVE' });
  await t.rejects(wallet.replaceHold(null, b.id, 0, `zero:${b.id}`), { code: 'INVALID_AMOUNT' });
  t.equal(await wallet.findHold(`other:${b.id}`), null, 'nothing held by the refused calls');
  t.same(await ledgerViolations(app), []);
});

t.test('concurrent bids on 8 auctions by the same 12 bidders: every hold right, the ledger balanced', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  const seller = await user(app, config);
  const bidders = [];
  for (let i = 0; i < 12; i++) bidders.push(await user(app, config, 10_000_000));
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(await auction(app, { sellerId: seller.id, startPrice: 1_000 }));
  const deps: BiddingDeps = {
    db: app.db,
    wallet: walletApi(app.db),
    catalog: catalogApi(app.db),
    events: app.events,
    settings: { bands: parseBands(config.bidding.increments), softCloseMs: 0, maxBid: 1_000_000_000 },
  };
  // Rising maxima from random bidders, all in flight at once (batched per auction, the auctions
  // in parallel: the holds' releases and placements cross between the same users' accounts).
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), (seed >>> 16) % n);
  const jobs = [];
  for (let k = 0; k < 240; k++) {
    const id = ids[rnd(ids.length)];
    const b = bidders[rnd(bidders.length)];
    jobs.push(
      placeBid(deps, { auctionId: id, bidderId: b.id, amount: 1_000 + k * 500 + rnd(400), requestKey: `c-${k}` }),
    );
  }
  const results = await Promise.all(jobs);
  t.ok(results.filter((r) => r.ok).length > 50, 'many bids accepted');
  for (const id of ids) {
    const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
    const held = await app.db.walletHold.findMany({
      where: { reference: { startsWith: `auction:${id}:` }, status: 'HELD' },
    });
    if (a.leaderId === null) t.equal(held.length, 0, `auction ${id}: no bid, nothing held`);
    else
      t.same(
        held.map((h) => ({ user: h.userId, amount: h.amount, ref: h.reference })),
        [{ user: a.leaderId, amount: a.leaderMax, ref: a.leaderHoldRef }],
        `auction ${id}: only the leader's maximum is held`,
      );
  }
  for (const b of bidders) {
    const sum = await app.db.walletHold.aggregate({ where: { userId: b.id, status: 'HELD' }, _sum: { amount: true } });
    const bal = await walletApi(app.db).balances(b.id);
    t.equal(bal.held, sum._sum.amount ?? 0, `bidder ${b.id}: held points = their live holds`);
    t.equal(bal.available + bal.held, 10_000_000, `bidder ${b.id}: no points made or lost`);
  }
  t.same(await ledgerViolations(app), []);
});
