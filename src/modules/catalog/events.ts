/**
 * The events catalog emits. Live: bidding opens, syncs or cancels the auction on the instance
 * where the listing changed, and if one is lost its sweeper opens auctions for listings it has not
 * seen, and an auction's first bid re-reads the listing's terms (bidding/service.ts). Durable:
 * `listing.published`, written in the transaction that creates a live or scheduled listing (a new
 * one or a relist), for reactions nothing else would redo if a process died after the commit
 * (keyword alerts: a saved search's owner hears of every matching new listing, once).
 */
import { domainEvent } from '../../core/events.js';
import type { Models } from '../../core/db/index.js';

type ListingStatus = Models.ListingModel['status'];

export type ListingCreated = {
  listingId: number;
  sellerId: number;
  status: ListingStatus;
  startsAt: string;
  endsAt: string;
  startPrice: number;
};
/** The seller edited a listing that has no bids yet (terms may have changed). */
export type ListingUpdated = { listingId: number; sellerId: number };
export type ListingCancelled = { listingId: number; sellerId: number };
/** A listing others may now find (LIVE or SCHEDULED), as committed with it. */
export type ListingPublished = { listingId: number; sellerId: number };

declare module '../../core/events.js' {
  interface DomainEvents {
    'listing.created': ListingCreated;
    'listing.updated': ListingUpdated;
    'listing.cancelled': ListingCancelled;
    'listing.published': ListingPublished;
  }
  interface DurableEvents {
    'listing.published': true;
  }
}

export const listingCreated = (l: {
  id: number;
  sellerId: number;
  status: ListingStatus;
  startsAt: Date;
  endsAt: Date;
  startPrice: number;
}) =>
  domainEvent('listing.created', {
    listingId: l.id,
    sellerId: l.sellerId,
    status: l.status,
    startsAt: l.startsAt.toISOString(),
    endsAt: l.endsAt.toISOString(),
    startPrice: l.startPrice,
  });
export const listingUpdated = (listingId: number, sellerId: number) =>
  domainEvent('listing.updated', { listingId, sellerId });
export const listingCancelled = (listingId: number, sellerId: number) =>
  domainEvent('listing.cancelled', { listingId, sellerId });
export const listingPublished = (listingId: number, sellerId: number) =>
  domainEvent('listing.published', { listingId, sellerId });
