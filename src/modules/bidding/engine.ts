/**
 * The pure rules of an auction's price (no I/O): minimum increments by price band and
 * eBay-style proxy bidding. The visible price is the second-highest maximum plus one
 * increment, capped at the highest maximum; on equal maxima the earlier one leads; a met
 * reserve lifts the price to the reserve. The service applies these inside the one database
 * transaction that accepts a bid.
 */

/** [upper bound (exclusive), increment] pairs, ascending; the last bound is Infinity. */
export type IncrementBands = ReadonlyArray<readonly [number, number]>;

export const DEFAULT_BANDS: IncrementBands = [
  [10_000, 500],
  [100_000, 1_000],
  [1_000_000, 5_000],
  [Infinity, 10_000],
];

export function increment(price: number, bands: IncrementBands = DEFAULT_BANDS): number {
  for (const [limit, step] of bands) if (price < limit) return step;
  return bands[bands.length - 1][1];
}

/** Parses "10000:500,100000:1000,1000000:5000,*:10000" (the BID_INCREMENTS setting). */
export function parseBands(spec: string): IncrementBands {
  const bands = spec.split(',').map((part) => {
    const [limit, step] = part.split(':').map((s) => s.trim());
    const l = limit === '*' ? Infinity : Number(limit);
    const s = Number(step);
    if (!(l > 0) || !Number.isInteger(s) || s <= 0 || (l !== Infinity && !Number.isInteger(l))) {
      throw new Error(`bad increment band "${part}": expected <limit won>:<step won>, the last one *:<step>`);
    }
    return [l, s] as const;
  });
  for (let i = 1; i < bands.length; i++)
    if (bands[i][0] <= bands[i - 1][0]) throw new Error('increment bands must ascend');
  if (bands[bands.length - 1][0] !== Infinity) throw new Error('the last increment band must be *:<step>');
  return bands;
}

export interface AuctionPriceState {
  startPrice: number;
  reservePrice: number | null;
  currentPrice: number;
  bidCount: number;
  leaderId: number | null;
  /** The leader's maximum (hidden from others). */
  leaderMax: number | null;
  /** The highest maximum of anyone but the leader (hidden): it sets the price. */
  runnerUpMax: number | null;
}

/** The smallest amount a new bid (from someone other than the leader) must offer. */
export function minimumBid(
  s: Pick<AuctionPriceState, 'startPrice' | 'currentPrice' | 'leaderId'>,
  bands: IncrementBands = DEFAULT_BANDS,
): number {
  return s.leaderId === null ? s.startPrice : s.currentPrice + increment(s.currentPrice, bands);
}

export type BidDecision =
  | { ok: false; reason: 'below_minimum' | 'not_above_own_maximum'; minimum: number }
  | {
      ok: true;
      /** The state after the bid. */
      next: AuctionPriceState;
      /** The bidder now leads. */
      leads: boolean;
      /** The previous leader lost the lead (their hold is released). */
      outbidUserId: number | null;
      /** The new bid was answered at once by the leader's proxy (recorded as the leader's bid). */
      proxyAnswered: boolean;
    };

const withReserve = (price: number, max: number, reserve: number | null) =>
  reserve !== null && max >= reserve && price < reserve ? Math.min(reserve, max) : price;

/** Applies one maximum bid to the auction's price state. */
export function applyBid(
  s: AuctionPriceState,
  bidderId: number,
  max: number,
  bands: IncrementBands = DEFAULT_BANDS,
): BidDecision {
  const min = minimumBid(s, bands);
  if (s.leaderId === bidderId) {
    // The leader raises their own maximum: the visible price moves only for the reserve.
    if (max <= (s.leaderMax ?? 0))
      return { ok: false, reason: 'not_above_own_maximum', minimum: (s.leaderMax ?? 0) + 1 };
    // The price moves only where it was capped by the old maximum (a tie) or for the reserve.
    const byRunnerUp =
      s.runnerUpMax === null ? s.currentPrice : Math.min(max, s.runnerUpMax + increment(s.runnerUpMax, bands));
    const price = withReserve(Math.max(s.currentPrice, byRunnerUp), max, s.reservePrice);
    return {
      ok: true,
      next: { ...s, leaderMax: max, currentPrice: price },
      leads: true,
      outbidUserId: null,
      proxyAnswered: false,
    };
  }
  if (max < min) return { ok: false, reason: 'below_minimum', minimum: min };
  const bidCount = s.bidCount + 1;
  if (s.leaderId === null || s.leaderMax === null) {
    const price = withReserve(s.startPrice, max, s.reservePrice);
    return {
      ok: true,
      next: { ...s, currentPrice: price, bidCount, leaderId: bidderId, leaderMax: max, runnerUpMax: null },
      leads: true,
      outbidUserId: null,
      proxyAnswered: false,
    };
  }
  if (max > s.leaderMax) {
    const price = withReserve(Math.min(max, s.leaderMax + increment(s.leaderMax, bands)), max, s.reservePrice);
    return {
      ok: true,
      next: { ...s, currentPrice: price, bidCount, leaderId: bidderId, leaderMax: max, runnerUpMax: s.leaderMax },
      leads: true,
      outbidUserId: s.leaderId,
      proxyAnswered: false,
    };
  }
  // The leader's proxy answers: equal maxima go to the earlier bidder.
  const price = withReserve(Math.min(s.leaderMax, max + increment(max, bands)), s.leaderMax, s.reservePrice);
  const runnerUpMax = Math.max(s.runnerUpMax ?? 0, max);
  return {
    ok: true,
    next: { ...s, currentPrice: Math.max(price, s.currentPrice), bidCount: bidCount + 1, runnerUpMax },
    leads: false,
    outbidUserId: null,
    proxyAnswered: true,
  };
}

/** The price from scratch, given every bidder's maximum in the order placed (for tests and audits). */
export function priceFromMaxima(
  startPrice: number,
  reservePrice: number | null,
  maxima: ReadonlyArray<{ bidderId: number; max: number }>,
  bands: IncrementBands = DEFAULT_BANDS,
): { leaderId: number | null; price: number } {
  const best = new Map<number, { max: number; seq: number }>();
  maxima.forEach((m, seq) => {
    const cur = best.get(m.bidderId);
    // A bidder's maximum only rises; its time (for ties) is when it was placed or last raised.
    if (!cur || m.max > cur.max) best.set(m.bidderId, { max: m.max, seq });
  });
  const ranked = [...best].sort((a, b) => b[1].max - a[1].max || a[1].seq - b[1].seq);
  if (!ranked.length) return { leaderId: null, price: startPrice };
  const [leader, second] = ranked;
  const raw = second ? Math.min(leader[1].max, second[1].max + increment(second[1].max, bands)) : startPrice;
  return { leaderId: leader[0], price: withReserve(raw, leader[1].max, reservePrice) };
}
