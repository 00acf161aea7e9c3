/**
 * Trust: what other people see of a user's trades. Average stars and count of the reviews about
 * them, completed sales and purchases, strikes, and the recent reviews. Listing cards ask for many
 * sellers at once (`trustFor` is one statement for a whole page, never one query per card).
 */
import { Prisma, type Db, type Tx } from '../../core/db/index.js';
import type { ReviewTag } from './reviews.js';

export interface Trust {
  userId: number;
  /** Average stars to one decimal (null: no reviews yet). */
  rating: number | null;
  reviews: number;
  sales: number;
  purchases: number;
  strikes: number;
}

/**
 * One statement for every id: the review aggregate (order_reviews by subject), completed orders
 * as seller and as buyer, and strikes, each grouped over the ids (indexes: order_reviews
 * (subject_id, created_at), orders (seller_id, state) and (buyer_id, state), order_strikes (user_id)).
 */
export async function trustFor(db: Db | Tx, ids: number[]): Promise<Map<number, Trust>> {
  const unique = [...new Set(ids)].filter((n) => Number.isInteger(n) && n > 0);
  if (!unique.length) return new Map();
  const arr = Prisma.sql`${unique}::int[]`;
  const rows = await (db as Db).$queryRaw<
    { id: number; avg: number | null; n: number; sales: number; purchases: number; strikes: number }[]
  >`
    WITH ids AS (SELECT unnest(${arr}) AS id)
    SELECT ids.id,
           r.avg::float8 AS avg, COALESCE(r.n, 0)::int AS n,
           COALESCE(s.n, 0)::int AS sales, COALESCE(p.n, 0)::int AS purchases, COALESCE(k.n, 0)::int AS strikes
    FROM ids
    LEFT JOIN (SELECT subject_id, avg(stars) AS avg, count(*) AS n FROM order_reviews
               WHERE subject_id = ANY(${arr}) GROUP BY subject_id) r ON r.subject_id = ids.id
    LEFT JOIN (SELECT seller_id, count(*) AS n FROM orders
               WHERE seller_id = ANY(${arr}) AND state = 'COMPLETED' GROUP BY seller_id) s ON s.seller_id = ids.id
    LEFT JOIN (SELECT buyer_id, count(*) AS n FROM orders
               WHERE buyer_id = ANY(${arr}) AND state = 'COMPLETED' GROUP BY buyer_id) p ON p.buyer_id = ids.id
    LEFT JOIN (SELECT user_id, count(*) AS n FROM order_strikes
               WHERE user_id = ANY(${arr}) GROUP BY user_id) k ON k.user_id = ids.id`;
  return new Map(
    rows.map((r) => [
      Number(r.id),
      {
        userId: Number(r.id),
        rating: r.avg === null ? null : Math.round(Number(r.avg) * 10) / 10,
        reviews: Number(r.n),
        sales: Number(r.sales),
        purchases: Number(r.purchases),
        strikes: Number(r.strikes),
      },
    ]),
  );
}

export interface ReviewRow {
  id: number;
  orderId: number;
  authorId: number;
  /** What the author was in that trade: 'buyer' (reviewing the seller) or 'seller'. */
  role: string;
  stars: number;
  tags: ReviewTag[];
  body: string;
  listingId: number;
  createdAt: Date;
}

/** Reviews about a user, newest first, keyset on id (`beforeId`); one more than `limit` tells if there are more. */
export async function reviewsAbout(
  db: Db | Tx,
  userId: number,
  opts: { limit: number; beforeId?: number },
): Promise<{ rows: ReviewRow[]; more: boolean }> {
  const rows = await (db as Db).orderReview.findMany({
    where: { subjectId: userId, ...(opts.beforeId ? { id: { lt: opts.beforeId } } : {}) },
    orderBy: { id: 'desc' },
    take: opts.limit + 1,
  });
  const orderIds = rows.map((r) => r.orderId);
  const orders = orderIds.length
    ? await (db as Db).order.findMany({ where: { id: { in: orderIds } }, select: { id: true, listingId: true } })
    : [];
  const listingOf = new Map(orders.map((o) => [o.id, o.listingId]));
  return {
    rows: rows.slice(0, opts.limit).map((r) => ({
      id: r.id,
      orderId: r.orderId,
      authorId: r.authorId,
      role: r.role,
      stars: r.stars,
      tags: r.tags as ReviewTag[],
      body: r.body,
      listingId: listingOf.get(r.orderId) ?? 0,
      createdAt: r.createdAt,
    })),
    more: rows.length > opts.limit,
  };
}
