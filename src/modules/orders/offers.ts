/**
 * Second-chance offers (eBay's rule). When an order is CANCELLED because the buyer gave no address
 * (NO_ADDRESS; not when the seller did not ship), its seller may offer the item ONCE to the
 * next-highest distinct bidder at that bidder's own highest maximum, if that maximum meets the
 * reserve. The bidder has ORDER_OFFER_HOURS (48) to accept or decline:
 *
 *   (none) --seller offers--> OPEN --bidder accepts--> ACCEPTED (points held, then a normal order
 *                                                               `offer:<id>` in AWAITING_ADDRESS, escrowed)
 *                             OPEN --bidder declines--> DECLINED
 *                             OPEN --expiresAt passes (job or sweeper)--> EXPIRED
 *
 * Every transition is one conditional UPDATE (`state = 'OPEN'`): a double accept/decline finds no
 * row and gets a clear 409. Someone else's offer is a 404.
 */
import type { Db, Tx } from '../../core/db/index.js';
import { transaction } from '../../core/db/index.js';
import { AppError, notFound } from '../../core/errors.js';
import { InsufficientFunds } from '../wallet/index.js';
import type { Models } from '../../core/db/index.js';
import { offerAnswered, offerMade, orderCreated, type OfferAnswered } from './events.js';
import { DAY_MS, refOf, type Order, type OrdersDeps } from './service.js';

export type Offer = Models.OrderOfferModel;
export const HOUR_MS = 3_600_000;

/** Bidding's read of the auction's next-highest bidder (biddingReads(db).runnerUp). */
export type RunnerUp = (
  auctionId: number,
  excludeUserId: number,
) => Promise<{ bidderId: number; maxAmount: number; reservePrice: number | null } | null>;

export type Chance =
  | { ok: true; bidderId: number; price: number }
  | { ok: false; reason: 'notCancelledForAddress' | 'notAuction' | 'noRunnerUp' | 'belowReserve' };

/** Whether the seller may offer this (cancelled) order's item to the next bidder, and to whom at what price. */
export async function chanceFor(runnerUp: RunnerUp, o: Order): Promise<Chance> {
  if (o.state !== 'CANCELLED' || o.cancelReason !== 'NO_ADDRESS')
    return { ok: false, reason: 'notCancelledForAddress' };
  // Only a won auction's order: an offer's own order does not chain into another offer.
  if (!o.sourceKey.startsWith('auction:')) return { ok: false, reason: 'notAuction' };
  const r = await runnerUp(o.auctionId, o.buyerId);
  if (!r) return { ok: false, reason: 'noRunnerUp' };
  if (r.reservePrice !== null && r.maxAmount < r.reservePrice) return { ok: false, reason: 'belowReserve' };
  return { ok: true, bidderId: r.bidderId, price: r.maxAmount };
}

const payload = (f: Offer) => ({
  offerId: f.id,
  orderId: f.orderId,
  auctionId: f.auctionId,
  sellerId: f.sellerId,
  bidderId: f.bidderId,
  price: f.price,
});

/** The seller makes the offer (once per cancelled order). */
export async function makeOffer(deps: OrdersDeps, runnerUp: RunnerUp, orderId: number, sellerId: number) {
  return transaction(deps.db, async (tx) => {
    const o = await tx.order.findUnique({ where: { id: orderId } });
    if (!o || o.sellerId !== sellerId) throw notFound();
    const c = await chanceFor(runnerUp, o);
    if (!c.ok) throw new AppError(409, `orders.offer.errors.${c.reason}`, {}, 'OFFER_STATE');
    const expiresAt = new Date(Date.now() + deps.settings.offerHours * HOUR_MS);
    const rows = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO order_offers (order_id, auction_id, listing_id, seller_id, bidder_id, price, expires_at)
      VALUES (${o.id}, ${o.auctionId}, ${o.listingId}, ${sellerId}, ${c.bidderId}, ${c.price}, ${expiresAt})
      ON CONFLICT (order_id) DO NOTHING RETURNING id`;
    if (!rows.length) throw new AppError(409, 'orders.offer.errors.exists', {}, 'OFFER_STATE');
    const f = await tx.orderOffer.findUniqueOrThrow({ where: { id: rows[0].id } });
    await deps.events.enqueue(tx, offerMade({ ...payload(f), expiresAt: expiresAt.toISOString() }));
    return f;
  });
}

/** The offer if the user is its bidder or its seller, else 404. */
export async function offerFor(db: Db | Tx, offerId: number, userId: number): Promise<Offer> {
  const f = await db.orderOffer.findUnique({ where: { id: offerId } });
  if (!f || (f.bidderId !== userId && f.sellerId !== userId)) throw notFound();
  return f;
}

/** After a conditional update found nothing: 404 when not the bidder's, else why it is too late. */
async function refuse(tx: Tx, offerId: number, bidderId: number): Promise<never> {
  const f = await tx.orderOffer.findUnique({ where: { id: offerId } });
  if (!f || f.bidderId !== bidderId) throw notFound();
  if (f.state === 'OPEN') throw new AppError(409, 'orders.offer.errors.expired', {}, 'OFFER_STATE');
  throw new AppError(409, `orders.offer.errors.already.${f.state}`, {}, 'OFFER_STATE');
}

const answered = (f: Offer, answer: OfferAnswered['answer']) =>
  offerAnswered({ ...payload(f), answer, newOrderId: f.newOrderId });

/**
 * The bidder accepts: the offer ACCEPTED, the price held from the bidder's available points
 * (`offer:<id>`; not enough: 409 saying how much is missing, nothing changed), and a normal order
 * (AWAITING_ADDRESS, the hold moved to its escrow) exactly as for a won auction.
 */
export async function acceptOffer(deps: OrdersDeps, offerId: number, bidderId: number): Promise<Order> {
  try {
    return await transaction(deps.db, async (tx) => {
      const now = new Date();
      const n = await tx.orderOffer.updateMany({
        where: { id: offerId, bidderId, state: 'OPEN', expiresAt: { gt: now } },
        data: { state: 'ACCEPTED', answeredAt: now },
      });
      if (!n.count) return refuse(tx, offerId, bidderId);
      const f = await tx.orderOffer.findUniqueOrThrow({ where: { id: offerId } });
      const holdRef = `offer:${f.id}`;
      const w = deps.wallet.withTx(tx);
      await w.hold(bidderId, f.price, holdRef);
      const dueAt = new Date(now.getTime() + deps.settings.addressDays * DAY_MS);
      const remindAt = new Date(now.getTime() + deps.settings.addressRemindDays * DAY_MS);
      const order = await tx.order.create({
        data: {
          sourceKey: holdRef,
          auctionId: f.auctionId,
          listingId: f.listingId,
          buyerId: bidderId,
          sellerId: f.sellerId,
          price: f.price,
          feeBps: deps.settings.feeBps,
          holdRef,
          buyNow: false,
          dueAt,
          remindAt,
        },
      });
      await w.moveHoldToEscrow(holdRef, order.id, f.price);
      const done = await tx.orderOffer.update({ where: { id: f.id }, data: { newOrderId: order.id } });
      await deps.events.enqueue(
        tx,
        orderCreated({ ...refOf(order), buyNow: false, addressDueAt: dueAt.toISOString() }),
      );
      await deps.events.enqueue(tx, answered(done, 'ACCEPTED'));
      return order;
    });
  } catch (err) {
    if (err instanceof InsufficientFunds)
      throw new InsufficientFunds(err.available, err.needed, 'orders.offer.errors.funds', {
        available: err.available.toLocaleString('ko-KR'),
        needed: err.needed.toLocaleString('ko-KR'),
        missing: (err.needed - err.available).toLocaleString('ko-KR'),
      });
    throw err;
  }
}

export async function declineOffer(deps: OrdersDeps, offerId: number, bidderId: number): Promise<Offer> {
  return transaction(deps.db, async (tx) => {
    const now = new Date();
    const n = await tx.orderOffer.updateMany({
      where: { id: offerId, bidderId, state: 'OPEN', expiresAt: { gt: now } },
      data: { state: 'DECLINED', answeredAt: now },
    });
    if (!n.count) return refuse(tx, offerId, bidderId);
    const f = await tx.orderOffer.findUniqueOrThrow({ where: { id: offerId } });
    await deps.events.enqueue(tx, answered(f, 'DECLINED'));
    return f;
  });
}

/**
 * The answer time passed (its BullMQ job, or the sweeper): `at` is the deadline the timer was
 * planned for; an offer answered meanwhile (or another deadline) changes nothing.
 */
export async function expireOffer(deps: OrdersDeps, offerId: number, at: Date): Promise<Offer | null> {
  return transaction(deps.db, async (tx) => {
    const n = await tx.orderOffer.updateMany({
      where: { id: offerId, state: 'OPEN', expiresAt: at },
      data: { state: 'EXPIRED', answeredAt: new Date() },
    });
    if (!n.count) return null;
    const f = await tx.orderOffer.findUniqueOrThrow({ where: { id: offerId } });
    await deps.events.enqueue(tx, answered(f, 'EXPIRED'));
    return f;
  });
}
