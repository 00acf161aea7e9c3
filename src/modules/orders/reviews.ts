/** Reviews after a completed order: each side reviews the other once (1-5 stars, tags from a list, up to 500 chars). */
import { transaction } from '../../core/db/index.js';
import { AppError, notFound } from '../../core/errors.js';
import { reviewReceived } from './events.js';
import type { OrdersDeps } from './service.js';

export const REVIEW_TAGS = [
  'FAST_REPLY',
  'AS_DESCRIBED',
  'CAREFUL_PACKING',
  'FAST_SHIPPING',
  'KIND',
  'ON_TIME',
] as const;
export type ReviewTag = (typeof REVIEW_TAGS)[number];

type Checked =
  | { ok: true; value: { stars: number; tags: ReviewTag[]; body: string } }
  | { ok: false; errors: Record<string, string> };

export function checkReview(b: { stars?: string; tags?: string | string[]; body?: string }): Checked {
  const errors: Record<string, string> = {};
  const stars = /^[1-5]$/.test(b.stars ?? '') ? Number(b.stars) : null;
  if (stars === null) errors.stars = 'stars';
  const raw = b.tags === undefined ? [] : Array.isArray(b.tags) ? b.tags : [b.tags];
  const tags = [...new Set(raw)] as ReviewTag[];
  if (tags.length > REVIEW_TAGS.length || tags.some((t) => !REVIEW_TAGS.includes(t))) errors.tags = 'tags';
  const body = (b.body ?? '').normalize('NFC').trim();
  if (body.length > 500) errors.body = 'reviewBody';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { stars: stars!, tags, body } };
}

/** Only a real, completed trade, by its buyer or seller, once each (the unique key decides a race). */
export async function addReview(
  deps: OrdersDeps,
  orderId: number,
  authorId: number,
  r: { stars: number; tags: ReviewTag[]; body: string },
) {
  return transaction(deps.db, async (tx) => {
    const o = await tx.order.findUnique({ where: { id: orderId } });
    if (!o || (o.buyerId !== authorId && o.sellerId !== authorId)) throw notFound();
    if (o.state !== 'COMPLETED')
      throw new AppError(409, 'orders.errors.notNow.review', { state: o.state }, 'ORDER_STATE');
    const role = o.buyerId === authorId ? 'buyer' : 'seller';
    const subjectId = role === 'buyer' ? o.sellerId : o.buyerId;
    const rows = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO order_reviews (order_id, author_id, subject_id, role, stars, tags, body)
      VALUES (${orderId}, ${authorId}, ${subjectId}, ${role}, ${r.stars}, ${r.tags}::text[], ${r.body})
      ON CONFLICT (order_id, author_id) DO NOTHING RETURNING id`;
    if (!rows.length) throw new AppError(409, 'orders.errors.reviewedAlready', {}, 'ORDER_STATE');
    await deps.events.enqueue(
      tx,
      reviewReceived({ reviewId: rows[0].id, orderId, authorId, subjectId, stars: r.stars }),
    );
    return rows[0].id;
  });
}
