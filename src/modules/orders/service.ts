/**
 * The order state machine. Every transition is ONE conditional UPDATE (`WHERE id = … AND state =
 * …` and the acting party): two racing requests, a replayed form or an out-of-order action find
 * no row to change and get a clear refusal; nothing else is written. Money moves through
 * walletApi inside the same transaction, and each step enqueues its durable event there too.
 *
 *   AWAITING_ADDRESS --address/직거래--> AWAITING_SHIPMENT --ship/handed over--> SHIPPED
 *   SHIPPED --confirm (or auto-confirm)--> RECEIVED --settlement (consumer of order.received)--> COMPLETED
 *   AWAITING_ADDRESS --no address in ORDER_ADDRESS_DAYS--> CANCELLED (refund)
 *   AWAITING_SHIPMENT --not shipped in ORDER_SHIP_DAYS--> CANCELLED (refund, seller strike)
 *   AWAITING_SHIPMENT | SHIPPED --buyer disputes--> DISPUTED --admin: refund--> CANCELLED
 *   DISPUTED --admin: release | split--> COMPLETED
 */
import type { Db, Tx } from '../../core/db/index.js';
import { transaction } from '../../core/db/index.js';
import type { Events } from '../../core/events.js';
import { AppError, notFound } from '../../core/errors.js';
import { audit, type AuditActor } from '../../core/audit.js';
import type { WalletApi } from '../wallet/index.js';
import type { AuctionClosed } from '../bidding/index.js';
import {
  orderAddressGiven,
  orderCancelled,
  orderCompleted,
  orderCreated,
  orderDisputeAnswered,
  orderDisputeResolved,
  orderDisputed,
  orderReceived,
  orderReminder,
  orderShipped,
  type OrderRef,
  type OrderStateName,
} from './events.js';
import { feeOf, type AddressInput, type Courier, type DisputeReason } from './validation.js';
import type { Models } from '../../core/db/index.js';
import { addDisputePhotos, type StoredDisputePhoto } from './dispute-photos.js';

export type Order = Models.OrderModel;

export interface OrdersSettings {
  addressRemindDays: number;
  addressDays: number;
  shipDays: number;
  autoConfirmDays: number;
  feeBps: number;
  /** Hours a second-chance offer stays open (ORDER_OFFER_HOURS). */
  offerHours: number;
}

export interface OrdersDeps {
  db: Db;
  wallet: WalletApi;
  events: Events;
  settings: OrdersSettings;
}

export const DAY_MS = 86_400_000;
const days = (from: Date, n: number) => new Date(from.getTime() + n * DAY_MS);

export const refOf = (o: Order): OrderRef => ({
  orderId: o.id,
  auctionId: o.auctionId,
  buyerId: o.buyerId,
  sellerId: o.sellerId,
  price: o.price,
});

/** The actions refused out of order, each with its own message (orders.errors.notNow.<action>). */
export type Action = 'address' | 'ship' | 'confirm' | 'dispute' | 'answer' | 'resolve' | 'review';

/**
 * After a conditional update found nothing: 404 when the order is not the user's (or does not
 * exist), else 409 naming what the order is waiting for.
 */
async function refuse(tx: Tx, orderId: number, userId: number | null, action: Action): Promise<never> {
  const o = await tx.order.findUnique({ where: { id: orderId } });
  if (!o || (userId !== null && o.buyerId !== userId && o.sellerId !== userId)) throw notFound();
  throw new AppError(409, `orders.errors.notNow.${action}`, { state: o.state }, 'ORDER_STATE');
}

const visibleTo = (o: Order | null, userId: number) => !!o && (o.buyerId === userId || o.sellerId === userId);

/** The order if the user is its buyer or seller, else 404. */
export async function orderFor(db: Db | Tx, orderId: number, userId: number): Promise<Order> {
  const o = await db.order.findUnique({ where: { id: orderId } });
  if (!visibleTo(o, userId)) throw notFound();
  return o!;
}

/**
 * From a durable `auction.closed`: the order, and the winner's hold moved to its escrow, in the
 * consumer's transaction. A duplicate (same auction) inserts nothing and moves nothing.
 */
export async function createFromClose(
  deps: OrdersDeps,
  tx: Tx,
  e: AuctionClosed,
  onUnpayable?: (e: AuctionClosed) => void,
): Promise<Order | null> {
  if (e.outcome !== 'SOLD' || !e.winnerId || !e.finalPrice || !e.holdRef) return null;
  // A close whose hold does not exist (or is not the winner's, still held) cannot be paid for; retrying
  // would not change that. Nothing is created and the caller logs it as an error for an operator.
  const hold = await deps.wallet.withTx(tx).findHold(e.holdRef);
  if (!hold || hold.userId !== e.winnerId || (hold.status !== 'HELD' && hold.orderId === null)) {
    onUnpayable?.(e);
    return null;
  }
  const now = new Date();
  const dueAt = days(now, deps.settings.addressDays);
  const remindAt = days(now, deps.settings.addressRemindDays);
  const rows = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO orders (source_key, auction_id, listing_id, buyer_id, seller_id, price, fee_bps, hold_ref, buy_now, due_at, remind_at)
    VALUES (${`auction:${e.auctionId}`}, ${e.auctionId}, ${e.auctionId}, ${e.winnerId}, ${e.sellerId}, ${e.finalPrice},
            ${deps.settings.feeBps}, ${e.holdRef}, ${e.buyNow}, ${dueAt}, ${remindAt})
    ON CONFLICT (source_key) DO NOTHING RETURNING id`;
  if (!rows.length) return null;
  const order = await tx.order.findUniqueOrThrow({ where: { id: rows[0].id } });
  await deps.wallet.withTx(tx).moveHoldToEscrow(e.holdRef, order.id, e.finalPrice);
  await deps.events.enqueue(tx, orderCreated({ ...refOf(order), buyNow: e.buyNow, addressDueAt: dueAt.toISOString() }));
  return order;
}

export type DeliveryChoice = { kind: 'COURIER'; address: AddressInput } | { kind: 'MEETUP'; place: string; at: Date };

export async function giveAddress(deps: OrdersDeps, orderId: number, buyerId: number, d: DeliveryChoice) {
  return transaction(deps.db, async (tx) => {
    const now = new Date();
    const dueAt = days(now, deps.settings.shipDays);
    const fields =
      d.kind === 'COURIER'
        ? { delivery: 'COURIER' as const, ...d.address, meetupPlace: null, meetupAt: null }
        : {
            delivery: 'MEETUP' as const,
            meetupPlace: d.place,
            meetupAt: d.at,
            recipient: null,
            phone: null,
            postalCode: null,
            roadAddress: null,
            detailAddress: null,
          };
    const n = await tx.order.updateMany({
      where: { id: orderId, buyerId, state: 'AWAITING_ADDRESS' },
      data: { ...fields, state: 'AWAITING_SHIPMENT', addressAt: now, dueAt, remindAt: null, remindedAt: null },
    });
    if (!n.count) return refuse(tx, orderId, buyerId, 'address');
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(
      tx,
      orderAddressGiven({ ...refOf(o), delivery: fields.delivery, shipDueAt: dueAt.toISOString() }),
    );
    return o;
  });
}

export type Shipment = { kind: 'COURIER'; courier: Courier; trackingNumber: string } | { kind: 'HANDED_OVER' };

export async function ship(deps: OrdersDeps, orderId: number, sellerId: number, s: Shipment) {
  return transaction(deps.db, async (tx) => {
    const now = new Date();
    const dueAt = days(now, deps.settings.autoConfirmDays);
    const n = await tx.order.updateMany({
      where: {
        id: orderId,
        sellerId,
        state: 'AWAITING_SHIPMENT',
        delivery: s.kind === 'COURIER' ? 'COURIER' : 'MEETUP',
      },
      data: {
        state: 'SHIPPED',
        shippedAt: now,
        courier: s.kind === 'COURIER' ? s.courier : null,
        trackingNumber: s.kind === 'COURIER' ? s.trackingNumber : null,
        dueAt,
        remindAt: days(dueAt, -1),
        remindedAt: null,
      },
    });
    if (!n.count) return refuse(tx, orderId, sellerId, 'ship');
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(
      tx,
      orderShipped({
        ...refOf(o),
        delivery: o.delivery!,
        courier: o.courier,
        trackingNumber: o.trackingNumber,
        autoConfirmAt: dueAt.toISOString(),
      }),
    );
    return o;
  });
}

/**
 * SHIPPED -> RECEIVED by the buyer (or the auto-confirm timer: `auto`, then only if the deadline
 * it was planned for still stands). The payout follows as the consumer of `order.received`.
 */
export async function confirm(
  deps: OrdersDeps,
  orderId: number,
  by: { buyerId: number } | { auto: Date },
): Promise<Order | null> {
  return transaction(deps.db, async (tx) => {
    const auto = 'auto' in by;
    const n = await tx.order.updateMany({
      where: auto
        ? { id: orderId, state: 'SHIPPED', dueAt: by.auto }
        : { id: orderId, state: 'SHIPPED', buyerId: by.buyerId },
      data: { state: 'RECEIVED', receivedAt: new Date(), autoConfirmed: auto, dueAt: null, remindAt: null },
    });
    if (!n.count) {
      if (auto) return null;
      return refuse(tx, orderId, by.buyerId, 'confirm');
    }
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(tx, orderReceived({ ...refOf(o), auto }));
    return o;
  });
}

/**
 * Settlement, in the transaction of the durable consumer of `order.received`: the escrow to the
 * seller minus the fee (floor(price * fee_bps / 10000), fee_bps fixed when the order was made),
 * and the order COMPLETED. A redelivery finds the order no longer RECEIVED and does nothing.
 */
export async function settle(deps: OrdersDeps, tx: Tx, orderId: number): Promise<Order | null> {
  const o0 = await tx.order.findUnique({ where: { id: orderId } });
  if (!o0) return null;
  const fee = feeOf(o0.price, o0.feeBps);
  const n = await tx.order.updateMany({
    where: { id: orderId, state: 'RECEIVED' },
    data: { state: 'COMPLETED', completedAt: new Date(), fee, payout: o0.price - fee },
  });
  if (!n.count) return null;
  await deps.wallet.withTx(tx).releaseEscrowToSeller(orderId, o0.sellerId, fee);
  const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
  await deps.events.enqueue(tx, orderCompleted({ ...refOf(o), fee, payout: o.price - fee }));
  return o;
}

/**
 * A deadline passed (job or sweeper): `dueAt` is the deadline the timer was planned for, so a
 * timer of an earlier state (or one moved since) changes nothing.
 */
export async function expire(deps: OrdersDeps, orderId: number, dueAt: Date): Promise<Order | null> {
  return transaction(deps.db, async (tx) => {
    const o0 = await tx.order.findUnique({ where: { id: orderId } });
    if (!o0 || !o0.dueAt || o0.dueAt.getTime() !== dueAt.getTime()) return null;
    if (o0.state === 'SHIPPED') return null; // auto-confirm goes through confirm()
    const reason =
      o0.state === 'AWAITING_ADDRESS' ? 'NO_ADDRESS' : o0.state === 'AWAITING_SHIPMENT' ? 'NOT_SHIPPED' : null;
    if (!reason) return null;
    const n = await tx.order.updateMany({
      where: { id: orderId, state: o0.state, dueAt },
      data: { state: 'CANCELLED', cancelledAt: new Date(), cancelReason: reason, dueAt: null, remindAt: null },
    });
    if (!n.count) return null;
    await deps.wallet.withTx(tx).refundEscrow(orderId);
    const strike = reason === 'NOT_SHIPPED';
    if (strike) {
      await tx.$executeRaw`INSERT INTO order_strikes (user_id, order_id, reason) VALUES (${o0.sellerId}, ${orderId}, ${reason}) ON CONFLICT (order_id) DO NOTHING`;
    }
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(tx, orderCancelled({ ...refOf(o), reason, refunded: o.price, strike }));
    return o;
  });
}

/** A reminder is due (job or sweeper): sent once per state, as the durable `order.reminder`. */
export async function remind(deps: OrdersDeps, orderId: number, remindAt: Date): Promise<boolean> {
  return transaction(deps.db, async (tx) => {
    const n = await tx.order.updateMany({
      where: { id: orderId, remindAt, remindedAt: null, state: { in: ['AWAITING_ADDRESS', 'SHIPPED'] } },
      data: { remindedAt: new Date() },
    });
    if (!n.count) return false;
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(
      tx,
      orderReminder({
        ...refOf(o),
        kind: o.state === 'AWAITING_ADDRESS' ? 'ADDRESS' : 'CONFIRM',
        dueAt: (o.dueAt ?? remindAt).toISOString(),
      }),
    );
    return true;
  });
}

/**
 * The buyer disputes before confirming: escrow stays frozen, every timer stops (dueAt cleared).
 * The rows of the dispute's photos (files already stored) are written in the same transaction.
 */
export async function openDispute(
  deps: OrdersDeps,
  orderId: number,
  buyerId: number,
  d: { reason: DisputeReason; body: string },
  photos: StoredDisputePhoto[] = [],
) {
  return transaction(deps.db, async (tx) => {
    const o0 = await tx.order.findUnique({ where: { id: orderId } });
    if (!o0 || o0.buyerId !== buyerId) return refuse(tx, orderId, buyerId, 'dispute');
    const from = o0.state;
    if (from !== 'AWAITING_SHIPMENT' && from !== 'SHIPPED') return refuse(tx, orderId, buyerId, 'dispute');
    const n = await tx.order.updateMany({
      where: { id: orderId, buyerId, state: from },
      data: { state: 'DISPUTED', disputedFrom: from, dueAt: null, remindAt: null },
    });
    if (!n.count) return refuse(tx, orderId, buyerId, 'dispute');
    const dispute = await tx.orderDispute.create({ data: { orderId, reason: d.reason, body: d.body } });
    // The photos' files are already written (dispute-photos.ts); their rows commit with the dispute.
    await addDisputePhotos(tx, dispute.id, photos);
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(tx, orderDisputed({ ...refOf(o), reason: d.reason, from: from as OrderStateName }));
    return o;
  });
}

export async function answerDispute(deps: OrdersDeps, orderId: number, sellerId: number, answer: string) {
  return transaction(deps.db, async (tx) => {
    const now = new Date();
    const n = await tx.orderDispute.updateMany({
      where: { orderId, answer: null, resolution: null, order: { sellerId, state: 'DISPUTED' } },
      data: { answer, answeredAt: now },
    });
    if (!n.count) return refuse(tx, orderId, sellerId, 'answer');
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    await deps.events.enqueue(tx, orderDisputeAnswered({ ...refOf(o), answeredAt: now.toISOString() }));
    return o;
  });
}

export type Resolution =
  { kind: 'REFUND' } | { kind: 'RELEASE' } | { kind: 'SPLIT'; buyerAmount: number; sellerAmount: number };

/**
 * An ADMIN resolves a dispute: refund (all to the buyer, order CANCELLED), release (to the seller
 * minus the fee, COMPLETED) or split (two amounts summing to the escrow; the fee is taken from the
 * seller's part: floor(sellerAmount * fee_bps / 10000); COMPLETED). Recorded with who, when, why.
 */
export async function resolveDispute(
  deps: OrdersDeps,
  orderId: number,
  admin: AuditActor,
  r: Resolution,
  note: string,
) {
  const adminId = admin.id!;
  return transaction(deps.db, async (tx) => {
    const o0 = await tx.order.findUnique({ where: { id: orderId } });
    if (!o0) throw notFound();
    const [buyerAmount, sellerAmount] =
      r.kind === 'REFUND' ? [o0.price, 0] : r.kind === 'RELEASE' ? [0, o0.price] : [r.buyerAmount, r.sellerAmount];
    if (buyerAmount + sellerAmount !== o0.price || buyerAmount < 0 || sellerAmount < 0)
      throw new AppError(422, 'orders.errors.splitSum', { price: o0.price }, 'VALIDATION');
    const fee = feeOf(sellerAmount, o0.feeBps);
    const now = new Date();
    const done = r.kind === 'REFUND' ? 'CANCELLED' : 'COMPLETED';
    const n = await tx.order.updateMany({
      where: { id: orderId, state: 'DISPUTED' },
      data:
        done === 'CANCELLED'
          ? { state: 'CANCELLED', cancelledAt: now, cancelReason: 'DISPUTE_REFUND' }
          : { state: 'COMPLETED', completedAt: now, fee, payout: sellerAmount - fee },
    });
    if (!n.count) return refuse(tx, orderId, null, 'resolve');
    await tx.orderDispute.update({
      where: { orderId },
      data: { resolution: r.kind, buyerAmount, sellerAmount, resolvedBy: adminId, resolvedAt: now, note },
    });
    const w = deps.wallet.withTx(tx);
    if (r.kind === 'REFUND') await w.refundEscrow(orderId);
    else if (r.kind === 'RELEASE') await w.releaseEscrowToSeller(orderId, o0.sellerId, fee);
    else await w.splitEscrow(orderId, o0.sellerId, buyerAmount, fee);
    const o = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    // The admin's decision is audited in the transaction that moves the escrow.
    await audit.record(tx, admin, {
      action: 'orders.dispute.resolve',
      target: { kind: 'order', id: orderId },
      before: { state: o0.state, escrow: o0.price },
      after: { state: o.state, resolution: r.kind, buyerAmount, sellerAmount, fee },
      reason: note,
    });
    await deps.events.enqueue(
      tx,
      orderDisputeResolved({
        ...refOf(o),
        resolution: r.kind,
        buyerAmount,
        sellerAmount,
        fee,
        resolvedBy: adminId,
        resolvedAt: now.toISOString(),
      }),
    );
    return o;
  });
}

// ── reads ──

export const OPEN_STATES: OrderStateName[] = [
  'AWAITING_ADDRESS',
  'AWAITING_SHIPMENT',
  'SHIPPED',
  'RECEIVED',
  'DISPUTED',
];
export type NextAction = 'GIVE_ADDRESS' | 'SHIP' | 'CONFIRM' | 'ANSWER_DISPUTE';

/** What the user should do next on an order, as buyer or seller (null: nothing, waiting for the other side). */
export function nextAction(
  o: Pick<Order, 'state' | 'buyerId' | 'sellerId'>,
  userId: number,
  answered = true,
): NextAction | null {
  if (o.buyerId === userId) {
    if (o.state === 'AWAITING_ADDRESS') return 'GIVE_ADDRESS';
    if (o.state === 'SHIPPED') return 'CONFIRM';
  }
  if (o.sellerId === userId) {
    if (o.state === 'AWAITING_SHIPMENT') return 'SHIP';
    if (o.state === 'DISPUTED' && !answered) return 'ANSWER_DISPUTE';
  }
  return null;
}

export interface OrderListItem {
  id: number;
  listingId: number;
  title: string;
  price: number;
  state: OrderStateName;
  role: 'buyer' | 'seller';
  counterpartId: number;
  nextAction: NextAction | null;
  dueAt: Date | null;
  createdAt: Date;
}

export interface RoleSummary {
  counts: Record<OrderStateName, number>;
  /** Orders waiting for this user, oldest deadline first. */
  actions: { orderId: number; action: NextAction; dueAt: string | null }[];
}
export interface OrdersSummary {
  buyer: RoleSummary;
  seller: RoleSummary;
}

const zeroCounts = (): Record<OrderStateName, number> => ({
  AWAITING_ADDRESS: 0,
  AWAITING_SHIPMENT: 0,
  SHIPPED: 0,
  RECEIVED: 0,
  COMPLETED: 0,
  CANCELLED: 0,
  DISPUTED: 0,
});

export async function summaryFor(db: Db | Tx, userId: number): Promise<OrdersSummary> {
  const groups = await db.order.groupBy({
    by: ['buyerId', 'state'],
    where: { OR: [{ buyerId: userId }, { sellerId: userId }] },
    _count: { _all: true },
  });
  const sellerGroups = await db.order.groupBy({
    by: ['state'],
    where: { sellerId: userId },
    _count: { _all: true },
  });
  const buyer = { counts: zeroCounts(), actions: [] as RoleSummary['actions'] };
  const seller = { counts: zeroCounts(), actions: [] as RoleSummary['actions'] };
  for (const g of groups) if (g.buyerId === userId) buyer.counts[g.state] += g._count._all;
  for (const g of sellerGroups) seller.counts[g.state] += g._count._all;
  const open = await db.order.findMany({
    where: { OR: [{ buyerId: userId }, { sellerId: userId }], state: { in: OPEN_STATES } },
    orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
    take: 200,
    include: { dispute: { select: { answer: true } } },
  });
  for (const o of open) {
    const action = nextAction(o, userId, o.dispute ? o.dispute.answer !== null : true);
    if (!action) continue;
    const item = { orderId: o.id, action, dueAt: o.dueAt?.toISOString() ?? null };
    (o.buyerId === userId ? buyer : seller).actions.push(item);
  }
  return { buyer, seller };
}

export async function listFor(
  db: Db | Tx,
  titles: (ids: number[]) => Promise<Map<number, string>>,
  userId: number,
  role: 'buyer' | 'seller',
  opts: { states?: OrderStateName[]; limit?: number; beforeId?: number } = {},
): Promise<OrderListItem[]> {
  const rows = await db.order.findMany({
    where: {
      ...(role === 'buyer' ? { buyerId: userId } : { sellerId: userId }),
      ...(opts.states ? { state: { in: opts.states } } : {}),
      ...(opts.beforeId ? { id: { lt: opts.beforeId } } : {}),
    },
    orderBy: { id: 'desc' },
    take: Math.min(Math.max(opts.limit ?? 50, 1), 200),
    include: { dispute: { select: { answer: true } } },
  });
  const names = await titles([...new Set(rows.map((r) => r.listingId))]);
  return rows.map((o) => ({
    id: o.id,
    listingId: o.listingId,
    title: names.get(o.listingId) ?? `#${o.listingId}`,
    price: o.price,
    state: o.state,
    role,
    counterpartId: role === 'buyer' ? o.sellerId : o.buyerId,
    nextAction: nextAction(o, userId, o.dispute ? o.dispute.answer !== null : true),
    dueAt: o.dueAt,
    createdAt: o.createdAt,
  }));
}
