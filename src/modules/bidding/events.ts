/**
 * The events bidding emits. `auction.closed` and `bid.outbid` are durable: the winner's order and payment (and the
 * seller's payout after it) hang on it, so it is written in the transaction that closes the
 * auction and delivered at least once through the outbox. The others are live only: they move
 * browser panels and counters, and a page that missed one re-syncs when its socket reconnects.
 */
import { domainEvent } from '../../core/events.js';
import type { AuctionRow } from './auction-row.js';

/** A bid was accepted (possibly answered at once by the leader's proxy). */
export type BidPlaced = {
  auctionId: number;
  bidderId: number;
  leaderId: number | null;
  outbidUserId: number | null;
  sellerId: number;
  price: number;
  bidCount: number;
  endsAt: string;
  extended: boolean;
  closed: boolean;
  /** History rows this bid added (2 when a leader's proxy answered at once). */
  newRows: number;
};

/**
 * Someone who was leading lost the lead to another bid (durable: written in the bid's own
 * transaction, one per outbid person per batch, so the "you were outbid" notice is not lost to
 * a Redis hiccup or a crash between the commit and the live event).
 */
export type BidOutbid = {
  auctionId: number;
  /** Who lost the lead. */
  userId: number;
  /** The price after the batch (what they must beat). */
  price: number;
  leaderId: number | null;
  endsAt: string;
};

/** A scheduled auction went live. */
export type AuctionStarted = { auctionId: number };

/** An auction ended: by its end time (SOLD or UNSOLD) or by a buy-now (SOLD). */
export type AuctionClosed = {
  auctionId: number;
  sellerId: number;
  outcome: 'SOLD' | 'UNSOLD';
  winnerId: number | null;
  finalPrice: number | null;
  /** The wallet hold of exactly the final price that pays for the win (orders moves it to escrow). */
  holdRef: string | null;
  endsAt: string;
  closedAt: string;
  /** From the end to the close, on the database clock (0 for a buy-now). */
  lagMs: number;
  buyNow: boolean;
};

/**
 * A LIVE or SCHEDULED auction was cancelled by a moderator (its listing hidden, or its seller
 * suspended or banned): every hold on it was released in the same transaction. Durable: each
 * bidder is owed a message that their points are free again (the notifications module's job).
 */
export type AuctionCancelled = {
  auctionId: number;
  sellerId: number;
  /** Everyone who bid on it, the leader included. */
  bidderIds: number[];
  /** The hold released (the leader's), or null when nobody had bid. */
  releasedHoldRef: string | null;
  reason: 'moderation';
  cancelledAt: string;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'bid.placed': BidPlaced;
    'bid.outbid': BidOutbid;
    'auction.started': AuctionStarted;
    'auction.closed': AuctionClosed;
    'auction.cancelled': AuctionCancelled;
  }
  interface DurableEvents {
    'auction.closed': true;
    'bid.outbid': true;
    'auction.cancelled': true;
  }
}

export const auctionCancelled = (e: AuctionCancelled) => domainEvent('auction.cancelled', e);

export const bidPlaced = (e: BidPlaced) => domainEvent('bid.placed', e);

export const bidOutbid = (e: BidOutbid) => domainEvent('bid.outbid', e);

export const auctionStarted = (auctionId: number) => domainEvent('auction.started', { auctionId });

/** The one way an `auction.closed` is made: from the auction row as its close wrote it. */
export function auctionClosed(
  a: Pick<
    AuctionRow,
    'id' | 'sellerId' | 'outcome' | 'winnerId' | 'finalPrice' | 'leaderHoldRef' | 'endsAt' | 'closedAt'
  >,
  how: { buyNow: boolean },
) {
  if (!a.outcome || !a.closedAt) throw new Error(`auction ${a.id} is not closed`);
  const sold = a.outcome === 'SOLD';
  return domainEvent('auction.closed', {
    auctionId: a.id,
    sellerId: a.sellerId,
    outcome: a.outcome,
    winnerId: sold ? a.winnerId : null,
    finalPrice: sold ? a.finalPrice : null,
    holdRef: sold ? a.leaderHoldRef : null,
    endsAt: a.endsAt.toISOString(),
    closedAt: a.closedAt.toISOString(),
    lagMs: Math.max(0, a.closedAt.getTime() - a.endsAt.getTime()),
    buyNow: how.buyNow,
  });
}
