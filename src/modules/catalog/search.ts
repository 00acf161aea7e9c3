/**
 * Listing search and filtered browse, keyset-paginated.
 *
 * Raw SQL, because Prisma cannot express it: pg_trgm's word_similarity() ranking, the `<%`
 * fuzzy-match operator and ILIKE over the GIN trigram indexes, and keyset conditions on a
 * computed relevance score. Every value goes in as a bound parameter through Prisma.sql tagged
 * templates; the only raw pieces are column names picked from the constant SORTS table.
 */
import { Prisma, type Db } from '../../core/db/index.js';
import { AppError } from '../../core/errors.js';
import { CONDITIONS, type Condition } from './validation.js';

export const PAGE_SIZE = 24;
export const SORTS = {
  relevance: { cols: ['score', 'id'], dir: 'DESC' },
  ending: { cols: ['ends_at', 'id'], dir: 'ASC' },
  newest: { cols: ['created_at', 'id'], dir: 'DESC' },
  price_asc: { cols: ['current_price', 'id'], dir: 'ASC' },
  price_desc: { cols: ['current_price', 'id'], dir: 'DESC' },
  bids: { cols: ['bid_count', 'id'], dir: 'DESC' },
} as const;
export type SortKey = keyof typeof SORTS;
export const STATUS_FILTERS = ['live', 'ending', 'upcoming', 'ended'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export interface SearchParams {
  q?: string;
  categoryIds?: number[];
  minPrice?: number;
  maxPrice?: number;
  conditions?: Condition[];
  status: StatusFilter;
  sort: SortKey;
  cursor?: string;
  limit?: number;
}

export interface CardRow {
  id: number;
  title: string;
  currentPrice: number;
  bidCount: number;
  status: string;
  startsAt: Date;
  endsAt: Date;
  createdAt: Date;
  coverPhotoId: number | null;
  /** Set when a moderator hid it (only the seller's own list shows such rows). */
  hiddenAt?: Date | null;
  sellerId: number;
}

export interface SearchResult {
  rows: CardRow[];
  total: number;
  nextCursor: string | null;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The words of a query: at most 5, each at most 40 characters. */
export function queryWords(q: string): string[] {
  return q
    .normalize('NFC')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 5)
    .map((w) => w.slice(0, 40));
}

export function encodeCursor(v: string | number, id: number): string {
  return Buffer.from(JSON.stringify([v, id])).toString('base64url');
}

const INT_MAX = 2147483647;
const badCursor = () => new AppError(400, 'guard.badCursor', {}, 'BAD_CURSOR');

/**
 * A cursor from the URL: `[key, id]` where the key is an integer column (`int`) or a timestamp
 * (`date`). Absent is the first page; anything else that is not exactly what `encodeCursor`
 * makes (wrong shape, out-of-range numbers PostgreSQL would refuse, impossible dates) is a 400.
 */
export function decodeCursor(raw: string | undefined, kind: 'int' | 'date'): [string | number, number] | null {
  if (raw === undefined || raw === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(v) || v.length !== 2) throw badCursor();
  const [key, id] = v as unknown[];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > INT_MAX) throw badCursor();
  if (kind === 'int') {
    if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < -INT_MAX - 1 || key > INT_MAX) throw badCursor();
    return [key, id];
  }
  if (typeof key !== 'string' || key.length > 40) throw badCursor();
  const at = new Date(key);
  const year = at.getUTCFullYear();
  if (Number.isNaN(at.getTime()) || year < 1970 || year > 9999) throw badCursor();
  return [at.toISOString(), id];
}

type Filters = Pick<SearchParams, 'categoryIds' | 'minPrice' | 'maxPrice' | 'conditions'> & { status?: StatusFilter };

function whereClause(p: Filters, q: string): Prisma.Sql {
  // Listings hidden by a moderator are found by nobody (search, category pages, keyword alerts).
  const parts: Prisma.Sql[] = [Prisma.sql`l.hidden_at IS NULL`];
  switch (p.status) {
    case 'live':
      parts.push(Prisma.sql`l.status = 'LIVE'`);
      break;
    case 'ending':
      parts.push(Prisma.sql`l.status = 'LIVE' AND l.ends_at <= now() + interval '24 hours'`);
      break;
    case 'upcoming':
      parts.push(Prisma.sql`l.status = 'SCHEDULED'`);
      break;
    case 'ended':
      parts.push(Prisma.sql`l.status IN ('ENDED_SOLD', 'ENDED_UNSOLD')`);
      break;
  }
  if (p.categoryIds?.length) parts.push(Prisma.sql`l.category_id = ANY(${p.categoryIds}::int[])`);
  if (p.minPrice !== undefined) parts.push(Prisma.sql`l.current_price >= ${p.minPrice}`);
  if (p.maxPrice !== undefined) parts.push(Prisma.sql`l.current_price <= ${p.maxPrice}`);
  const conds = (p.conditions ?? []).filter((c) => CONDITIONS.includes(c));
  if (conds.length) parts.push(Prisma.sql`l.condition::text = ANY(${conds}::text[])`);
  if (q) {
    // Every word appears somewhere (substring, any case), or the whole query is a close
    // fuzzy match for words of the title (typos: "맥북에아", "macbok").
    const words = queryWords(q).map(
      (w) =>
        Prisma.sql`(l.title ILIKE ${'%' + escapeLike(w) + '%'} OR l.description ILIKE ${'%' + escapeLike(w) + '%'})`,
    );
    parts.push(Prisma.sql`((${Prisma.join(words, ' AND ')}) OR ${q} <% l.title)`);
  }
  return Prisma.sql`WHERE ${Prisma.join(parts, ' AND ')}`;
}

/** Relevance as an integer so keyset pages on it are exact: title hits first, then similarity. */
function scoreExpr(q: string): Prisma.Sql {
  if (!q) return Prisma.sql`0`;
  const pat = '%' + escapeLike(q) + '%';
  return Prisma.sql`((CASE WHEN l.title ILIKE ${pat} THEN 1000 ELSE 0 END)
    + round(word_similarity(${q}, l.title) * 500)
    + round(word_similarity(${q}, l.description) * 100))::int`;
}

export async function searchListings(db: Db, p: SearchParams): Promise<SearchResult> {
  const q = queryWords(p.q ?? '').join(' ');
  const sortKey: SortKey = p.sort === 'relevance' && !q ? 'ending' : p.sort;
  const sort = SORTS[sortKey];
  const limit = Math.min(Math.max(p.limit ?? PAGE_SIZE, 1), 100);
  const where = whereClause(p, q);
  const dateKey = sortKey === 'ending' || sortKey === 'newest';
  const cursor = decodeCursor(p.cursor, dateKey ? 'date' : 'int');
  const cmp = sort.dir === 'ASC' ? Prisma.raw('>') : Prisma.raw('<');
  const [c0, c1] = sort.cols.map((c) => Prisma.raw(c));
  const after = cursor
    ? Prisma.sql`WHERE (${c0}, ${c1}) ${cmp} (${dateKey ? new Date(String(cursor[0])) : cursor[0]}, ${cursor[1]})`
    : Prisma.empty;
  const dir = Prisma.raw(sort.dir);
  const rows = await db.$queryRaw<
    (CardRow & { score: number; ends_at: Date; created_at: Date; current_price: number; bid_count: number })[]
  >`
    SELECT * FROM (
      SELECT l.id, l.title, l.current_price, l.bid_count, l.status::text AS status, l.starts_at, l.ends_at, l.created_at,
             l.cover_photo_id, l.seller_id, ${scoreExpr(q)} AS score
      FROM listings l ${where}
    ) s ${after}
    ORDER BY ${c0} ${dir}, ${c1} ${dir}
    LIMIT ${limit + 1}`;
  const [{ total }] = await db.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM listings l ${where}`;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1] as unknown as Record<string, unknown> | undefined;
  const keyOf = (r: Record<string, unknown>) => {
    const v = r[sort.cols[0]];
    return v instanceof Date ? v.toISOString() : Number(v);
  };
  return {
    rows: page.map((r) => {
      const x = r as unknown as Record<string, unknown>;
      return {
        id: Number(x.id),
        title: String(x.title),
        currentPrice: Number(x.current_price),
        bidCount: Number(x.bid_count),
        status: String(x.status),
        startsAt: x.starts_at as Date,
        endsAt: x.ends_at as Date,
        createdAt: x.created_at as Date,
        coverPhotoId: (x.cover_photo_id as number | null) ?? null,
        sellerId: Number(x.seller_id),
      };
    }),
    total,
    nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last), Number(last.id)) : null,
  };
}

/** A saved search's filters, as /search applies them (the status filter aside: a new listing is open). */
export type MatchFilter = Pick<SearchParams, 'q' | 'categoryIds' | 'minPrice' | 'maxPrice' | 'conditions'>;

/**
 * Which of these searches would find the listing, with exactly /search's conditions (every word
 * as a substring, or the pg_trgm fuzzy match on the title). One statement for up to 100 filters.
 */
export async function matchListing(db: Db, listingId: number, filters: MatchFilter[]): Promise<boolean[]> {
  const hits = new Set<number>();
  for (let start = 0; start < filters.length; start += 100) {
    const chunk = filters.slice(start, start + 100);
    const selects = chunk.map((f, i) => {
      const q = queryWords(f.q ?? '').join(' ');
      const where = whereClause(f, q);
      const idCond =
        where === Prisma.empty ? Prisma.sql`WHERE l.id = ${listingId}` : Prisma.sql`${where} AND l.id = ${listingId}`;
      return Prisma.sql`SELECT ${start + i}::int AS i FROM listings l ${idCond}`;
    });
    const rows = await db.$queryRaw<{ i: number }[]>`${Prisma.join(selects, ' UNION ALL ')}`;
    for (const r of rows) hits.add(r.i);
  }
  return filters.map((_, i) => hits.has(i));
}
