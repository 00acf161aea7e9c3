/**
 * planBatch, the pure decision of a batch of bids: hand-picked cases, and a property: deciding a
 * batch gives the same answers, bid rows, final auction state and final hold as deciding its bids
 * one at a time (each on the state, form keys and points the previous one left).
 */
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { planBatch, type BatchPlan, type PlaceBid } from '../../src/modules/bidding/plan.js';
import { DEFAULT_BANDS } from '../../src/modules/bidding/engine.js';
import type { LockedAuction } from '../../src/modules/bidding/auction-row.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const settings = { bands: DEFAULT_BANDS, softCloseMs: 180_000, maxBid: 1_000_000_000 };
const SELLER = 99;

function auction(o: Partial<LockedAuction> = {}): LockedAuction {
  return {
    id: 7,
    sellerId: SELLER,
    status: 'LIVE',
    outcome: null,
    startPrice: 10_000,
    reservePrice: null,
    buyNowPrice: null,
    currentPrice: 10_000,
    bidCount: 0,
    leaderId: null,
    leaderMax: null,
    runnerUpMax: null,
    leaderHoldRef: null,
    startsAt: new Date(NOW.getTime() - 3600_000),
    endsAt: new Date(NOW.getTime() + 3600_000),
    originalEndsAt: new Date(NOW.getTime() + 3600_000),
    winnerId: null,
    finalPrice: null,
    closedAt: null,
    dbNow: NOW,
    ...o,
  };
}

const bid = (bidderId: number, amount: number, requestKey?: string): PlaceBid => ({
  auctionId: 7,
  bidderId,
  amount,
  requestKey,
});

t.test('a plain first bid leads at the start price and holds its maximum', async (t) => {
  const p = planBatch({
    auction: auction(),
    cmds: [bid(1, 30_000, 'k1')],
    seenKeys: new Set(),
    available: new Map([[1, 50_000]]),
    settings,
  });
  t.match(p.results, [
    { ok: true, leads: true, duplicate: false, snapshot: { currentPrice: 10_000, bidCount: 1, leaderId: 1 } },
  ]);
  t.same(p.rows, [{ bidderId: 1, amount: 10_000, maxAmount: 30_000, kind: 'MANUAL', requestKey: 'k1' }]);
  t.same(p.holder, { userId: 1, amount: 30_000, ref: 'auction:7:bid:1:0:30000' });
  t.equal(p.after.leaderHoldRef, 'auction:7:bid:1:0:30000');
});

t.test('refusals: the seller, short of points, below the minimum, a form seen before, after the end', async (t) => {
  const a = auction({ leaderId: 1, leaderMax: 30_000, currentPrice: 10_000, bidCount: 1, leaderHoldRef: 'h1' });
  const p = planBatch({
    auction: a,
    cmds: [bid(SELLER, 50_000), bid(2, 40_000), bid(3, 10_000), bid(4, 40_000, 'old')],
    seenKeys: new Set(['old']),
    available: new Map([
      [2, 39_000],
      [3, 100_000],
    ]),
    settings,
  });
  t.same(
    p.results.map((r) => (r.ok ? (r.duplicate ? 'duplicate' : 'ok') : r.reason)),
    ['own_item', 'insufficient_points', 'below_minimum', 'duplicate'],
  );
  t.same(p.rows, [], 'nothing to write');
  const late = planBatch({
    auction: auction({ dbNow: new Date(NOW.getTime() + 7200_000) }),
    cmds: [bid(1, 20_000)],
    seenKeys: new Set(),
    available: new Map([[1, 1e6]]),
    settings,
  });
  t.match(late.results, [{ ok: false, reason: 'ended' }]);
});

t.test("the leader's proxy answers a lower bid at once; a late bid moves the end", async (t) => {
  const a = auction({
    leaderId: 1,
    leaderMax: 30_000,
    currentPrice: 10_000,
    bidCount: 1,
    leaderHoldRef: 'h1',
    endsAt: new Date(NOW.getTime() + 60_000),
  });
  const p = planBatch({
    auction: a,
    cmds: [bid(2, 20_000)],
    seenKeys: new Set(),
    available: new Map([[2, 50_000]]),
    settings,
  });
  t.match(p.results, [{ ok: true, leads: false, extended: true, snapshot: { currentPrice: 21_000, leaderId: 1 } }]);
  t.same(
    p.rows.map((r) => [r.bidderId, r.amount, r.kind]),
    [
      [2, 20_000, 'MANUAL'],
      [1, 21_000, 'PROXY'],
    ],
  );
  t.equal(p.after.endsAt.getTime(), NOW.getTime() + 180_000, 'now + the soft-close window');
  t.same(p.holder, { userId: 1, amount: 30_000, ref: 'h1' }, 'the leader keeps the same hold');
});

t.test('a buy-now passes the checks and is handed back to be completed alone', async (t) => {
  const p = planBatch({
    auction: auction({ buyNowPrice: 90_000 }),
    cmds: [{ ...bid(1, 0), buyNow: true }],
    seenKeys: new Set(),
    available: new Map(),
    settings,
  });
  t.equal(p.buyNow?.bidderId, 1);
  t.throws(() =>
    planBatch({
      auction: auction(),
      cmds: [{ ...bid(1, 0), buyNow: true }, bid(2, 20_000)],
      seenKeys: new Set(),
      available: new Map(),
      settings,
    }),
  );
});

/** The same bids decided one at a time, with the wallet's holds moving between them as they would. */
function oneAtATime(start: LockedAuction, cmds: PlaceBid[], seen: Set<string>, points: Map<number, number>) {
  let a = start;
  const seenKeys = new Set(seen);
  const available = new Map(points);
  const results: BatchPlan['results'] = [];
  const rows: BatchPlan['rows'] = [];
  let holder = { userId: a.leaderId, amount: a.leaderMax, ref: a.leaderHoldRef };
  for (const cmd of cmds) {
    const p = planBatch({ auction: a, cmds: [cmd], seenKeys, available, settings });
    results.push(...p.results);
    rows.push(...p.rows);
    if (!p.rows.length) continue;
    if (p.holder.ref !== holder.ref) {
      if (holder.userId !== null && holder.amount)
        available.set(holder.userId, (available.get(holder.userId) ?? 0) + holder.amount);
      if (p.holder.userId !== null && p.holder.amount)
        available.set(p.holder.userId, (available.get(p.holder.userId) ?? 0) - p.holder.amount);
      holder = p.holder;
    }
    for (const r of p.rows) if (r.requestKey) seenKeys.add(r.requestKey);
    a = p.after;
  }
  return { results, rows, after: a, holder };
}

t.test('property: a batch decides exactly as one bid at a time', async (t) => {
  const cmd = fc.record({
    bidderId: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(SELLER)),
    amount: fc.integer({ min: 18, max: 140 }).map((n) => n * 500),
    key: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
  });
  const start = fc.record({
    reservePrice: fc.option(fc.constantFrom(25_000, 45_000), { nil: null }),
    endsInMs: fc.constantFrom(30_000, 3600_000),
    leader: fc.boolean(),
  });
  const res = fc.check(
    fc.property(
      start,
      fc.array(cmd, { minLength: 1, maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 5, maxLength: 5 }),
      (s, raw, funds) => {
        const a = auction({
          reservePrice: s.reservePrice,
          endsAt: new Date(NOW.getTime() + s.endsInMs),
          ...(s.leader
            ? {
                leaderId: 1,
                leaderMax: 20_000,
                currentPrice: 10_000,
                bidCount: 1,
                leaderHoldRef: 'auction:7:bid:1:0:20000',
              }
            : {}),
        });
        const cmds = raw.map((c) => bid(c.bidderId, c.amount, c.key === undefined ? undefined : `f${c.key}`));
        const points = new Map(funds.map((f, i) => [i + 1, f * 1000] as [number, number]));
        const seen = new Set(['f12']);
        const batch = planBatch({ auction: a, cmds, seenKeys: seen, available: points, settings });
        const alone = oneAtATime(a, cmds, seen, points);
        return isDeepStrictEqual(
          [batch.results, batch.rows, batch.after, batch.holder],
          [alone.results, alone.rows, alone.after, alone.holder],
        );
      },
    ),
    { numRuns: 500, seed: 20261201 },
  );
  t.notOk(res.failed, fc.defaultReportMessage(res) ?? `${res.numRuns} random batches decided as one bid at a time`);
  t.equal(res.numRuns, 500);
});
