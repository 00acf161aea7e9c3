/**
 * 시세: what similar things really sold for on DAPANDA, and the item page's "비슷한 경매" row.
 *
 * Owned by catalog, because every number it needs is already on the listing row: bidding closes
 * an auction and, in that same transaction (the one that enqueues the durable `auction.closed`),
 * writes the listing's copy through `catalogApi.recordAuctionState`: status ENDED_SOLD,
 * current_price = the final price (a buy-now's price too) and ends_at = when it sold (a buy-now
 * moves it to the moment of the sale). So the statistics are one indexed query over catalog's
 * own table: no import of bidding (the module graph forbids catalog -> bidding) and no second
 * copy of sold prices to keep in step.
 *
 * Similar = the same category (a top category: it and its children, as /search does) and a
 * title pg_trgm finds close, with search's operator and pg_trgm's default thresholds: `q <% title`
 * (the whole query is a close match for words of the title, what /search uses for typos; a
 * short "아이폰" matches every iPhone) or `q % title` (the whole titles share enough trigrams, so a
 * full title typed with other details, "아이폰 13 프로 128GB 팝니다", still finds
 * "아이폰 13 프로 256GB 블루"). Sold in the last 90 days, by the database clock.
 */
import { Prisma, type Db } from '../../core/db/index.js';
import { queryWords } from './search.js';

export const SISE_DAYS = 90;
/** Fewer similar sales than this and the numbers would mislead: the block says so instead. */
export const SISE_MIN_SALES = 3;
export const SISE_BINS = 8;
export const SISE_RECENT = 5;

export interface SiseSale {
  id: number;
  title: string;
  price: number;
  soldAt: Date;
}

export interface SiseBin {
  /** Lower bound (inclusive) and upper bound (exclusive, the last one inclusive), won. */
  from: number;
  to: number;
  count: number;
}

export interface Sise {
  count: number;
  /** Linear-interpolated percentiles (PostgreSQL's percentile_cont), rounded to whole won; null below SISE_MIN_SALES. */
  median: number | null;
  p25: number | null;
  p75: number | null;
  min: number | null;
  max: number | null;
  bins: SiseBin[];
  /** The most recent similar sales, newest first. */
  recent: SiseSale[];
}

export interface SiseQuery {
  title: string;
  categoryIds: number[];
  /** The listing being looked at (its own sale is not its own 시세). */
  excludeId?: number;
}

/** The words a title is compared by (as search normalises a query); '' when there is nothing to compare. */
export function siseText(title: string): string {
  const q = queryWords(title).join(' ');
  return [...q].length >= 2 ? q : '';
}

const EMPTY: Sise = { count: 0, median: null, p25: null, p75: null, min: null, max: null, bins: [], recent: [] };

/**
 * The statement itself (the benchmark EXPLAINs exactly this). `cand` is the category's sales of
 * the last 90 days, read index-only from listings_sise_idx (category, status, sale time, then the
 * columns it returns); MATERIALIZED keeps the title test out of that scan, so the planner does
 * not AND it with a trigram-index scan over every listing (a popular word matches thousands of
 * titles there; in one category's 90 days there are at most a few thousand rows to compare).
 * Every value is a bound parameter.
 */
export function siseSql(q: SiseQuery, text = siseText(q.title)): Prisma.Sql {
  return Prisma.sql`
    WITH cand AS MATERIALIZED (
      SELECT l.id, l.title, l.current_price AS price, l.ends_at
      FROM listings l
      WHERE l.category_id = ANY(${q.categoryIds}::int[])
        AND l.status = 'ENDED_SOLD'
        AND l.ends_at > now() - make_interval(days => ${SISE_DAYS})
    ), sim AS MATERIALIZED (
      SELECT * FROM cand
      WHERE (${text} <% title OR ${text} % title) AND id <> ${q.excludeId ?? 0}
    ), st AS (
      SELECT count(*)::int AS n, min(price) AS lo, max(price) AS hi,
             percentile_cont(ARRAY[0.25, 0.5, 0.75]::float8[]) WITHIN GROUP (ORDER BY price) AS pct
      FROM sim
    )
    SELECT st.n, st.lo, st.hi, st.pct,
      (SELECT coalesce(json_agg(json_build_object('b', h.b, 'n', h.c) ORDER BY h.b), '[]'::json)
         FROM (SELECT CASE WHEN st.hi = st.lo THEN 1
                             ELSE LEAST(width_bucket(price::float8, st.lo::float8, st.hi::float8, ${SISE_BINS}), ${SISE_BINS}) END AS b,
                        count(*)::int AS c
                 FROM sim GROUP BY 1) h) AS bins,
      (SELECT coalesce(json_agg(json_build_object('id', r.id, 'title', r.title, 'price', r.price, 'at', r.ends_at)
                                ORDER BY r.ends_at DESC, r.id DESC), '[]'::json)
         FROM (SELECT id, title, price, ends_at FROM sim ORDER BY ends_at DESC, id DESC LIMIT ${SISE_RECENT}) r) AS recent
    FROM st`;
}

interface SiseRow {
  n: number;
  lo: number | null;
  hi: number | null;
  pct: number[] | null;
  bins: { b: number; n: number }[];
  recent: { id: number; title: string; price: number; at: string }[];
}

export async function siseFor(db: Db, q: SiseQuery): Promise<Sise> {
  const text = siseText(q.title);
  if (!text || q.categoryIds.length === 0) return EMPTY;
  const [r] = await db.$queryRaw<SiseRow[]>(siseSql(q, text));
  if (!r || r.n === 0) return EMPTY;
  const recent = r.recent.map((s) => ({ id: s.id, title: s.title, price: s.price, soldAt: new Date(s.at) }));
  if (r.n < SISE_MIN_SALES) return { ...EMPTY, count: r.n, recent };
  const lo = Number(r.lo);
  const hi = Number(r.hi);
  // Equal bands from the lowest to the highest price, the last one closed (as the query buckets them).
  const width = (hi - lo) / SISE_BINS;
  const counts = new Map(r.bins.map((b) => [b.b, b.n]));
  const bins = Array.from({ length: SISE_BINS }, (_, i) => ({
    from: Math.round(lo + i * width),
    to: i === SISE_BINS - 1 ? hi : Math.round(lo + (i + 1) * width),
    count: counts.get(i + 1) ?? 0,
  }));
  const [p25, median, p75] = (r.pct ?? []).map((v) => Math.round(v));
  return { count: r.n, median, p25, p75, min: lo, max: hi, bins, recent };
}

/** The distribution chart's geometry (server-rendered SVG: bars, the p25–p75 band and the median line). */
export function siseChart(s: Sise, w = 280, h = 72) {
  if (s.median === null || s.min === null || s.max === null || !s.bins.length) return null;
  const top = Math.max(...s.bins.map((b) => b.count));
  const bw = w / s.bins.length;
  const span = Math.max(1, s.max - s.min);
  const x = (v: number) => Math.round(((v - s.min!) / span) * w * 10) / 10;
  return {
    w,
    h,
    bars: s.bins.map((b, i) => {
      const bh = top ? Math.round((b.count / top) * (h - 4) * 10) / 10 : 0;
      return {
        x: Math.round(i * bw * 10) / 10 + 1,
        y: h - bh,
        w: Math.max(1, Math.round((bw - 2) * 10) / 10),
        h: bh,
        ...b,
      };
    }),
    band: { x: x(s.p25!), w: Math.max(1, x(s.p75!) - x(s.p25!)) },
    median: x(s.median),
  };
}

export interface SimilarLive {
  id: number;
  sellerId: number;
  title: string;
  currentPrice: number;
  bidCount: number;
  status: string;
  startsAt: Date;
  endsAt: Date;
  createdAt: Date;
  coverPhotoId: number | null;
}

/**
 * "비슷한 경매": live auctions in the same category, those with a similar title (as above) first
 * by how similar, then the rest of the category by the soonest end. Not the listing itself.
 */
export async function similarLive(
  db: Db,
  o: { title: string; categoryId: number; excludeId: number; limit?: number },
): Promise<SimilarLive[]> {
  const text = siseText(o.title) || o.title.slice(0, 40);
  const rows = await db.$queryRaw<Record<string, unknown>[]>`
    SELECT l.id, l.seller_id, l.title, l.current_price, l.bid_count, l.status::text AS status, l.starts_at, l.ends_at,
           l.created_at, l.cover_photo_id
    FROM listings l
    WHERE l.category_id = ${o.categoryId} AND l.status = 'LIVE' AND l.ends_at > now() AND l.id <> ${o.excludeId}
      AND l.hidden_at IS NULL
    ORDER BY (${text} <% l.title OR ${text} % l.title) DESC, similarity(${text}, l.title) DESC, l.ends_at ASC, l.id ASC
    LIMIT ${Math.min(Math.max(o.limit ?? 6, 1), 12)}`;
  return rows.map((x) => ({
    id: Number(x.id),
    sellerId: Number(x.seller_id),
    title: String(x.title),
    currentPrice: Number(x.current_price),
    bidCount: Number(x.bid_count),
    status: String(x.status),
    startsAt: x.starts_at as Date,
    endsAt: x.ends_at as Date,
    createdAt: x.created_at as Date,
    coverPhotoId: (x.cover_photo_id as number | null) ?? null,
  }));
}

/** "최근 본 물건": the listings behind a browser's remembered ids, in that order, cancelled ones left out. */
export async function listingsByIds(db: Db, ids: number[]): Promise<SimilarLive[]> {
  if (!ids.length) return [];
  const rows = await db.listing.findMany({
    where: { id: { in: ids }, status: { not: 'CANCELLED' }, hiddenAt: null },
    select: {
      id: true,
      sellerId: true,
      title: true,
      currentPrice: true,
      bidCount: true,
      status: true,
      startsAt: true,
      endsAt: true,
      createdAt: true,
      coverPhotoId: true,
    },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r) => r !== undefined);
}

/** The 시세 block's view model: `hint` (nothing to compare yet), `few` (under 3 sales) or `ok`. */
export async function siseView(db: Db, o: { title: string; categoryIds: number[]; excludeId?: number }) {
  const base = { days: SISE_DAYS };
  if (!siseText(o.title) || !o.categoryIds.length) return { ...base, state: 'hint' };
  const s = await siseFor(db, o);
  if (s.count < SISE_MIN_SALES) return { ...base, state: 'few', count: s.count };
  return {
    ...base,
    state: 'ok',
    count: s.count,
    median: s.median,
    p25: s.p25,
    p75: s.p75,
    min: s.min,
    max: s.max,
    chart: siseChart(s),
    recent: s.recent,
  };
}
