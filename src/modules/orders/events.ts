/**
 * The events orders emits. All are durable (written in the transaction that makes the change,
 * delivered at least once through the outbox): a reminder, a payout or a notification depends on
 * each. `order.received` is also consumed by orders itself: the settlement (escrow to the seller,
 * order COMPLETED) runs as its durable consumer, so a worker killed mid-settlement only delays it.
 */
import { domainEvent } from '../../core/events.js';

export type OrderStateName =
  'AWAITING_ADDRESS' | 'AWAITING_SHIPMENT' | 'SHIPPED' | 'RECEIVED' | 'COMPLETED' | 'CANCELLED' | 'DISPUTED';

/** Who an order is between, on every order event. */
export type OrderRef = { orderId: number; auctionId: number; buyerId: number; sellerId: number; price: number };

export type OrderCreated = OrderRef & { buyNow: boolean; addressDueAt: string };
export type OrderAddressGiven = OrderRef & { delivery: 'COURIER' | 'MEETUP'; shipDueAt: string };
export type OrderShipped = OrderRef & {
  delivery: 'COURIER' | 'MEETUP';
  courier: string | null;
  trackingNumber: string | null;
  autoConfirmAt: string;
};
export type OrderReceived = OrderRef & { auto: boolean };
export type OrderCompleted = OrderRef & { fee: number; payout: number };
export type OrderCancelled = OrderRef & {
  reason: 'NO_ADDRESS' | 'NOT_SHIPPED';
  refunded: number;
  /** The seller got a strike (NOT_SHIPPED). */
  strike: boolean;
};
export type OrderDisputed = OrderRef & { reason: string; from: OrderStateName };
export type OrderDisputeAnswered = OrderRef & { answeredAt: string };
export type OrderDisputeResolved = OrderRef & {
  resolution: 'REFUND' | 'RELEASE' | 'SPLIT';
  buyerAmount: number;
  sellerAmount: number;
  fee: number;
  resolvedBy: number;
  resolvedAt: string;
};
/** A timer's reminder: `kind` says to whom and about what (ADDRESS: buyer, CONFIRM: buyer, the day before auto-confirm). */
export type OrderReminder = OrderRef & { kind: 'ADDRESS' | 'CONFIRM'; dueAt: string };
/** A second-chance offer to the next-highest bidder (after an order cancelled for no address). */
export type OfferMade = {
  offerId: number;
  orderId: number;
  auctionId: number;
  sellerId: number;
  bidderId: number;
  price: number;
  expiresAt: string;
};
/** The bidder's answer (or the 48 h passing): ACCEPTED names the new order. */
export type OfferAnswered = Omit<OfferMade, 'expiresAt'> & {
  answer: 'ACCEPTED' | 'DECLINED' | 'EXPIRED';
  newOrderId: number | null;
};
export type ReviewReceived = {
  reviewId: number;
  orderId: number;
  authorId: number;
  subjectId: number;
  stars: number;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'order.created': OrderCreated;
    'order.address_given': OrderAddressGiven;
    'order.shipped': OrderShipped;
    'order.received': OrderReceived;
    'order.completed': OrderCompleted;
    'order.cancelled': OrderCancelled;
    'order.disputed': OrderDisputed;
    'order.dispute_answered': OrderDisputeAnswered;
    'order.dispute_resolved': OrderDisputeResolved;
    'order.reminder': OrderReminder;
    'review.received': ReviewReceived;
    'order.offer_made': OfferMade;
    'order.offer_answered': OfferAnswered;
  }
  interface DurableEvents {
    'order.created': true;
    'order.address_given': true;
    'order.shipped': true;
    'order.received': true;
    'order.completed': true;
    'order.cancelled': true;
    'order.disputed': true;
    'order.dispute_answered': true;
    'order.dispute_resolved': true;
    'order.reminder': true;
    'review.received': true;
    'order.offer_made': true;
    'order.offer_answered': true;
  }
}

export const orderCreated = (e: OrderCreated) => domainEvent('order.created', e);
export const orderAddressGiven = (e: OrderAddressGiven) => domainEvent('order.address_given', e);
export const orderShipped = (e: OrderShipped) => domainEvent('order.shipped', e);
export const orderReceived = (e: OrderReceived) => domainEvent('order.received', e);
export const orderCompleted = (e: OrderCompleted) => domainEvent('order.completed', e);
export const orderCancelled = (e: OrderCancelled) => domainEvent('order.cancelled', e);
export const orderDisputed = (e: OrderDisputed) => domainEvent('order.disputed', e);
export const orderDisputeAnswered = (e: OrderDisputeAnswered) => domainEvent('order.dispute_answered', e);
export const orderDisputeResolved = (e: OrderDisputeResolved) => domainEvent('order.dispute_resolved', e);
export const orderReminder = (e: OrderReminder) => domainEvent('order.reminder', e);
export const reviewReceived = (e: ReviewReceived) => domainEvent('review.received', e);
export const offerMade = (e: OfferMade) => domainEvent('order.offer_made', e);
export const offerAnswered = (e: OfferAnswered) => domainEvent('order.offer_answered', e);
