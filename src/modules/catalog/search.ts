/**
 * Listing search and filtered browse, keyset-paginated.
 *
 * Raw SQL, because Prisma cannot express it: pg_trgm's word_similarity() ranking, the `<%`
 * fuzzy-match operator and ILIKE over the GIN trigram indexes, and keyset conditions on a
 * computed relevance score. Every value goes in as a bound parameter through Prisma.sql tagged
 * templates; the only raw pieces are column names picked from the constant SORTS table.
 */
import { Prisma, type Db } from '../../core/db/index.js';
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
}

export interface SearchResult {
  rows: CardRow[];
  total: number;
  nextCursor: string | null;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The words of a query: at most 5, each at most 40 characters. */
export function queryWords(q: string): string[] {
  return q.normalize('NFC').trim().split(/\s+/).filter(Boolean).slice(0, 5).map((w) => w.slice(0, 40));
}

export function encodeCursor(v: string | number, id: number): string {
  return Buffer.from(JSON.stringify([v, id])).toString('base64url');
}

/** A cursor from the URL; anything malformed reads as "first page". */
export function decodeCursor(raw: string | undefined): [string | number, number] | null {
  if (!raw || raw.length > 200) return null;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[1]) && (typeof v[0] === 'number' || typeof v[0] === 'string')) return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  return null;
}

function whereClause(p: SearchParams, q: string): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
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
    const words = queryWords(q).map((w) => Prisma.sql`(l.title ILIKE ${'%' + escapeLike(w) + '%'} OR l.description ILIKE ${'%' + escapeLike(w) + '%'})`);
    parts.push(Prisma.sql`((${Prisma.join(words, ' AND ')}) OR ${q} <% l.title)`);
  }
  return parts.length ? Prisma.sql`WHERE ${Prisma.join(parts, ' AND ')}` : Prisma.empty;
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
  const cursor = decodeCursor(p.cursor);
  const cmp = sort.dir === 'ASC' ? Prisma.raw('>') : Prisma.raw('<');
  const [c0, c1] = sort.cols.map((c) => Prisma.raw(c));
  let after = Prisma.empty;
  if (cursor) {
    const v = sortKey === 'ending' || sortKey === 'newest' ? new Date(String(cursor[0])) : Number(cursor[0]);
    if (!(v instanceof Date && Number.isNaN(v.getTime())) && !(typeof v === 'number' && !Number.isFinite(v))) {
      after = Prisma.sql`WHERE (${c0}, ${c1}) ${cmp} (${v}, ${cursor[1]})`;
    }
  }
  const dir = Prisma.raw(sort.dir);
  const rows = await db.$queryRaw<(CardRow & { score: number; ends_at: Date; created_at: Date; current_price: number; bid_count: number })[]>`
    SELECT * FROM (
      SELECT l.id, l.title, l.current_price, l.bid_count, l.status::text AS status, l.starts_at, l.ends_at, l.created_at,
             l.cover_photo_id, ${scoreExpr(q)} AS score
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
      };
    }),
    total,
    nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last), Number(last.id)) : null,
  };
}
