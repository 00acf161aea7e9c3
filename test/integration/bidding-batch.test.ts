/**
 * Batched bid decisions are the same decisions: one list of bids (raises, ties, bids below the
 * minimum, bidders short of points, the seller, replayed forms) is placed all at once on one
 * auction (they queue and are decided a batch per transaction) and one at a time on a twin
 * auction with twin bidders. Every answer, history row, final price, hold and balance must match,
 * also when a batch's hold fails and its bids are decided again one by one.
 */
import t, { type Test } from 'tap';
import { startApp } from '../helpers/app.js';
import { user, auction, balances } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';
import { placeBid, type BiddingDeps } from '../../src/modules/bidding/index.js';
import { walletApi, InsufficientFunds, type WalletApi } from '../../src/modules/wallet/index.js';
import { catalogApi } from '../../src/modules/catalog/index.js';
import { parseBands } from '../../src/modules/bidding/engine.js';
import { registry } from '../../src/core/metrics.js';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Step {
  /** Index into the bidders; -1 is the seller. */
  who: number;
  amount: number;
  /** Steps sharing a form number replay one form. */
  form: number;
}

const POINTS = [1_000_000, 1_000_000, 25_000, 1_000_000, 60_000, 1_000_000, 1_000_000, 40_000];

function script(seed: number, n: number): Step[] {
  const r = rng(seed);
  const steps: Step[] = [];
  let level = 10_000;
  for (let i = 0; i < n; i++) {
    const roll = r();
    if (roll < 0.05) steps.push({ who: -1, amount: level + 5_000, form: i });
    else if (roll < 0.15 && steps.length)
      steps.push({ ...steps[Math.floor(r() * steps.length)] }); // a replayed form
    else if (roll < 0.25)
      steps.push({ who: Math.floor(r() * POINTS.length), amount: level - 1_000, form: i }); // too low, mostly
    else {
      level += Math.floor(r() * 6) * 1_000;
      steps.push({ who: Math.floor(r() * POINTS.length), amount: level + Math.floor(r() * 4) * 1_000, form: i });
    }
  }
  return steps;
}

async function batches(): Promise<{ count: number; sum: number }> {
  const m = await registry.getSingleMetric('dapanda_bid_batch_size')!.get();
  const v = (name: string) => m.values.find((x) => (x as { metricName?: string }).metricName === name)?.value ?? 0;
  return { count: v('dapanda_bid_batch_size_count'), sum: v('dapanda_bid_batch_size_sum') };
}

async function side(app: App, config: Config, tag: string) {
  const seller = await user(app, config, 0, `s${tag}`);
  const bidders: Awaited<ReturnType<typeof user>>[] = [];
  for (const p of POINTS) bidders.push(await user(app, config, p, `b${tag}`));
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, reservePrice: 45_000 });
  const who = (i: number) => (i < 0 ? seller.id : bidders[i].id);
  const index = (userId: number | null) =>
    userId === null ? null : userId === seller.id ? -1 : bidders.findIndex((b) => b.id === userId);
  return { seller, bidders, id, who, index };
}

type Side = Awaited<ReturnType<typeof side>>;

/** What must be equal on both sides, with users as indexes. */
async function outcome(app: App, s: Side, results: Awaited<ReturnType<typeof placeBid>>[]) {
  const answers = results.map((r) =>
    r.ok
      ? {
          ok: true,
          duplicate: r.duplicate,
          leads: r.leads,
          price: r.snapshot.currentPrice,
          bids: r.snapshot.bidCount,
          leader: s.index(r.snapshot.leaderId),
          outbid: s.index(r.outbidUserId),
          minimum: r.snapshot.minimumBid,
        }
      : { ok: false, reason: r.reason, minimum: r.minimum ?? null, price: r.snapshot?.currentPrice ?? null },
  );
  const rows = (await app.db.bid.findMany({ where: { auctionId: s.id }, orderBy: { id: 'asc' } })).map((b) => ({
    who: s.index(b.bidderId),
    amount: b.amount,
    max: b.maxAmount,
    kind: b.kind,
    keyed: b.requestKey !== null,
  }));
  const a = await app.db.auction.findUniqueOrThrow({ where: { id: s.id } });
  const auctionState = {
    price: a.currentPrice,
    bids: a.bidCount,
    leader: s.index(a.leaderId),
    leaderMax: a.leaderMax,
    runnerUpMax: a.runnerUpMax,
  };
  const listing = await app.db.listing.findUniqueOrThrow({ where: { id: s.id } });
  const maxima = (await app.db.proxyBid.findMany({ where: { auctionId: s.id } }))
    .map((p) => ({ who: s.index(p.bidderId), max: p.maxAmount }))
    .sort((x, y) => x.who! - y.who!);
  const wallets = [];
  for (const b of s.bidders) wallets.push(await balances(app, b.id));
  const holds = await app.db.walletHold.findMany({
    where: { reference: { startsWith: `auction:${s.id}:` }, status: 'HELD' },
  });
  return {
    answers,
    rows,
    auctionState,
    catalog: { price: listing.currentPrice, bids: listing.bidCount },
    maxima,
    wallets,
    holds: holds.map((h) => ({ who: s.index(h.userId), amount: h.amount })),
  };
}

async function compare(
  t: Test,
  app: App,
  config: Config,
  seed: number,
  n: number,
  wallet: (real: WalletApi) => WalletApi,
) {
  const steps = script(seed, n);
  const settings = { bands: parseBands(config.bidding.increments), softCloseMs: 0, maxBid: 1_000_000_000 };
  const depsFor = (w: WalletApi): BiddingDeps => ({
    db: app.db,
    wallet: w,
    catalog: catalogApi(app.db),
    events: app.events,
    settings,
  });
  const [together, alone] = [await side(app, config, 'x'), await side(app, config, 'y')];
  const cmd = (s: Side, step: Step) => ({
    auctionId: s.id,
    bidderId: s.who(step.who),
    amount: step.amount,
    requestKey: `${s.id}-${step.form}`,
  });

  const before = await batches();
  const batchedDeps = depsFor(wallet(walletApi(app.db)));
  // All placed in one tick: the first is decided alone, the rest queue behind it and go in batches.
  const batched = await Promise.all(steps.map((step) => placeBid(batchedDeps, cmd(together, step))));
  const mid = await batches();
  const oneDeps = depsFor(walletApi(app.db));
  const sequential = [];
  for (const step of steps) sequential.push(await placeBid(oneDeps, cmd(alone, step)));
  const after = await batches();

  t.equal(after.count - mid.count, n, 'one at a time: one transaction per bid');
  const got = await outcome(app, together, batched);
  const want = await outcome(app, alone, sequential);
  t.ok(
    want.answers.filter((a) => a.ok && !a.duplicate).length >= 10 && want.answers.some((a) => !a.ok),
    'the script has accepted and refused bids',
  );
  t.same(got.answers, want.answers, 'every bid got the same answer');
  t.same(got.rows, want.rows, 'the same history rows in the same order');
  t.same(got.auctionState, want.auctionState, 'the same price, leader and maxima');
  t.same(got.catalog, want.catalog, "the catalog's copy is the same");
  t.same(got.maxima, want.maxima, "the same bidders' maxima");
  t.same(got.wallets, want.wallets, 'every bidder has the same available and held points');
  t.same(got.holds, want.holds, "only the leader's maximum is held");
  return { transactions: mid.count - before.count, decided: mid.sum - before.sum };
}

t.test('bids decided in batches get the answers they would get one by one', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  for (const seed of [1, 2, 3]) {
    const { transactions, decided } = await compare(t, app, config, seed, 60, (real) => real);
    t.equal(decided, 60, 'each bid decided once');
    t.ok(transactions <= 4, `seed ${seed}: 60 bids in ${transactions} transactions`);
  }
  t.same(await ledgerViolations(app), []);
});

t.test('a batch whose hold fails is decided again bid by bid, with the same answers', async (t) => {
  const { app, config } = await startApp(t, { SOFT_CLOSE_SECONDS: '0' });
  let failures = 0;
  // Points spent elsewhere between the read and the hold, simulated once: for a hold after the
  // auction's first bid (refs are auction:<id>:bid:<user>:<bids so far>:<max>), i.e. in a batch.
  // (A bid's hold goes through replaceHold: the previous leader's release and the new hold in one
  // call, on the batch's plain-SQL transaction: withSql.)
  const failOnce =
    (replaceHold: WalletApi['replaceHold']): WalletApi['replaceHold'] =>
    async (releaseRef, userId, amount, ref) => {
      if (failures === 0 && Number(ref.split(':')[4]) > 0) {
        failures++;
        throw new InsufficientFunds(0, amount);
      }
      return replaceHold(releaseRef, userId, amount, ref);
    };
  const { transactions, decided } = await compare(t, app, config, 7, 40, (real) => ({
    ...real,
    withTx: (tx) => ({ ...real.withTx(tx), replaceHold: failOnce(real.withTx(tx).replaceHold) }),
    withSql: (sql) => ({ ...real.withSql(sql), replaceHold: failOnce(real.withSql(sql).replaceHold) }),
  }));
  t.equal(failures, 1, 'the hold failed once');
  t.ok(transactions > 2, `and the batch was decided again (${transactions} transactions)`);
  t.ok(decided > 40, `bid by bid (${decided} decisions for 40 bids)`);
  t.same(await ledgerViolations(app), []);
});
