/**
 * What bidding needs from the wallet and the catalog, in bidding's own words. index.ts wires
 * these to the wallet's and catalog's public APIs; every call takes the bid's transaction so a
 * bid, its hold and the listing's displayed price commit together or not at all.
 */
import type { Tx } from '../../core/db/index.js';

export class InsufficientPoints extends Error {
  constructor(readonly available: number) {
    super('insufficient points');
  }
}

export interface WalletPort {
  /** Holds `amount` of the user's available points under `ref`; throws InsufficientPoints. Idempotent on ref. */
  hold(tx: Tx, userId: number, amount: number, ref: string): Promise<void>;
  /** Releases the hold `ref` back to available (no-op if already released). */
  releaseHold(tx: Tx, ref: string): Promise<void>;
  available(userId: number): Promise<number>;
  /** Available points of several users, read inside the bid's transaction. */
  availableOf(tx: Tx, userIds: number[]): Promise<Map<number, number>>;
}

export interface ListingForAuction {
  id: number;
  sellerId: number;
  startPrice: number;
  reservePrice: number | null;
  buyNowPrice: number | null;
  startsAt: Date;
  endsAt: Date;
  cancelled: boolean;
  title: string;
  createdAt: Date;
}

export interface AuctionStateForCatalog {
  status: 'SCHEDULED' | 'LIVE' | 'ENDED_SOLD' | 'ENDED_UNSOLD' | 'CANCELLED';
  currentPrice: number;
  bidCount: number;
  endsAt: Date;
}

export interface CatalogPort {
  getListing(id: number): Promise<ListingForAuction | null>;
  /** Listings with id > afterId, oldest first: the sweeper opens any auction an event missed. */
  listingsAfter(afterId: number, limit: number): Promise<ListingForAuction[]>;
  recordAuctionState(tx: Tx, listingId: number, state: AuctionStateForCatalog): Promise<void>;
  /** The listing with its row locked until the caller's transaction ends (edits wait, or see its writes). */
  lockListing(tx: Tx, listingId: number): Promise<ListingForAuction | null>;
  /** Listing titles by id, for "my bids" and the watchlist. */
  titles(ids: number[]): Promise<Map<number, string>>;
}
