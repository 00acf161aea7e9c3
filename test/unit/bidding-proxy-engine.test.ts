/** Proxy bidding rules: increments by band, second-highest max + one step, earlier wins ties, reserve. */
import t from 'tap';
import fc from 'fast-check';
import {
  applyBid,
  increment,
  minimumBid,
  parseBands,
  priceFromMaxima,
  DEFAULT_BANDS,
  type AuctionPriceState,
} from '../../src/modules/bidding/engine.js';

const fresh = (startPrice = 10_000, reservePrice: number | null = null): AuctionPriceState => ({
  startPrice,
  reservePrice,
  currentPrice: startPrice,
  bidCount: 0,
  leaderId: null,
  leaderMax: null,
  runnerUpMax: null,
});

t.test('increments by price band', async (t) => {
  t.equal(increment(0), 500);
  t.equal(increment(9_999), 500);
  t.equal(increment(10_000), 1_000);
  t.equal(increment(99_999), 1_000);
  t.equal(increment(100_000), 5_000);
  t.equal(increment(1_000_000), 10_000);
  t.equal(increment(90_000_000), 10_000);
  t.same(parseBands('10000:500,100000:1000,1000000:5000,*:10000'), DEFAULT_BANDS);
  t.throws(() => parseBands('10000:500,5000:100,*:1'), /ascend/);
  t.throws(() => parseBands('10000:500'), /last increment band/);
  t.throws(() => parseBands('abc:1,*:2'), /bad increment band/);
});

t.test('a worked example, eBay style', async (t) => {
  let s = fresh(10_000);
  t.equal(minimumBid(s), 10_000, 'the first bid may be the start price');
  let d = applyBid(s, 1, 50_000);
  t.ok(d.ok && d.leads);
  if (!d.ok) return;
  s = d.next;
  t.equal(s.currentPrice, 10_000, 'a lone bidder pays the start price');
  t.equal(minimumBid(s), 11_000);

  d = applyBid(s, 2, 10_500);
  t.same(d, { ok: false, reason: 'below_minimum', minimum: 11_000 });

  d = applyBid(s, 2, 30_000);
  t.ok(d.ok && !d.leads && d.proxyAnswered, "bidder 2 is beaten by 1's proxy at once");
  if (!d.ok) return;
  s = d.next;
  t.equal(s.currentPrice, 31_000, 'second max + one increment');
  t.equal(s.leaderId, 1);

  d = applyBid(s, 3, 80_000);
  t.ok(d.ok && d.leads && d.outbidUserId === 1);
  if (!d.ok) return;
  s = d.next;
  t.equal(s.currentPrice, 51_000, "1's max + one increment");

  d = applyBid(s, 1, 80_000);
  t.ok(d.ok && !d.leads, 'an equal maximum loses to the earlier one');
  if (!d.ok) return;
  t.equal(d.next.currentPrice, 80_000, 'price capped at the leader max');
  t.equal(d.next.leaderId, 3);

  const raise = applyBid(d.next, 3, 70_000);
  t.same(raise, { ok: false, reason: 'not_above_own_maximum', minimum: 80_001 }, 'a maximum is never lowered');
  const up = applyBid(d.next, 3, 120_000);
  t.ok(
    up.ok && up.next.currentPrice === 81_000 && up.next.leaderMax === 120_000,
    'after a tie, a raise lifts the price to the runner-up max + one step',
  );
  const lone = applyBid(fresh(10_000), 1, 20_000);
  const loneUp = lone.ok ? applyBid(lone.next, 1, 90_000) : lone;
  t.ok(loneUp.ok && loneUp.next.currentPrice === 10_000, 'a lone leader raising their max does not raise the price');
});

t.test('reserve price: met by a maximum, the price jumps to it', async (t) => {
  let s = fresh(10_000, 40_000);
  const a = applyBid(s, 1, 20_000);
  t.ok(a.ok);
  if (!a.ok) return;
  t.equal(a.next.currentPrice, 10_000, 'reserve not met, start price');
  s = a.next;
  const b = applyBid(s, 2, 60_000);
  t.ok(b.ok);
  if (!b.ok) return;
  t.equal(b.next.currentPrice, 40_000, '21,000 would do, but the reserve is met: 40,000');
  const c = applyBid(b.next, 2, 90_000);
  t.ok(c.ok && c.next.currentPrice === 40_000);
});

t.test('incremental decisions equal a from-scratch computation (property)', async (t) => {
  const bid = fc.record({ bidderId: fc.integer({ min: 1, max: 6 }), max: fc.integer({ min: 1_000, max: 3_000_000 }) });
  fc.assert(
    fc.property(
      fc.integer({ min: 1_000, max: 200_000 }),
      fc.option(fc.integer({ min: 1_000, max: 500_000 }), { nil: null }),
      fc.array(bid, { maxLength: 40 }),
      (start, reserve, bids) => {
        let s = fresh(start, reserve);
        const accepted: { bidderId: number; max: number }[] = [];
        for (const b of bids) {
          const d = applyBid(s, b.bidderId, b.max);
          if (!d.ok) continue;
          // A leader's raise is one more maximum from the same bidder.
          accepted.push(b);
          s = d.next;
          if (s.currentPrice > (s.leaderMax ?? Infinity)) return false; // never above the leader's max
        }
        const full = priceFromMaxima(start, reserve, accepted);
        return full.leaderId === s.leaderId && full.price === s.currentPrice;
      },
    ),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) },
  );
  t.pass('3,000 random bid sequences agree');
});
