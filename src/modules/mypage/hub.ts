/**
 * The my-page hub's view model: one read per module it links to (bidding, catalog, wallet,
 * accounts), and the orders section when an orders summary is wired in (optional: the hub works
 * without it, and shows orders' counts and next actions when it is there).
 */
import type { Db } from '../../core/db/index.js';
import { biddingApi } from '../bidding/index.js';
import { catalogApi } from '../catalog/index.js';
import { walletApi } from '../wallet/index.js';
import { accountsApi } from '../accounts/index.js';

/** One next step on an order ("주소를 입력해 주세요", "발송해 주세요", "수령을 확인해 주세요"). */
export interface OrderNextAction {
  /** What to do, already in the viewer's language. */
  label: string;
  /** Where to do it (a path on this site). */
  href: string;
  /** The item's title, when known. */
  title?: string;
}

/**
 * What the orders module tells the hub about a user (adapted from `ordersApi(db).summaryFor(userId)`
 * when the orders module is merged): counts per state as buyer and as seller, and next actions.
 */
export interface OrdersHubSummary {
  buying: { state: string; label: string; count: number }[];
  selling: { state: string; label: string; count: number }[];
  next: OrderNextAction[];
  /** Orders as buyer (구매 내역) and completed payouts as seller (정산), with their pages. */
  purchases?: { count: number; href: string };
  settlements?: { count: number; href: string };
  /** The address book's page (주소록). */
  addressesHref?: string;
}

/** The orders part of the hub, per request (the labels are in the viewer's language). */
export type OrdersSummaryFn = (userId: number, t: (key: string) => string) => Promise<OrdersHubSummary | null>;

export interface HubModel {
  profile: { id: number; nickname: string; joined: Date };
  buy: { active: number; leading: number; outbid: number; won: number; purchases: { count: number; href: string } };
  sell: { live: number; scheduled: number; sold: number; unsold: number; settlements: { count: number; href: string } };
  watching: number;
  points: { available: number; held: number; escrow: number };
  addressesHref: string | null;
  /** Present when the orders module is wired: its counts and the user's next actions. */
  orders?: OrdersHubSummary;
}

export async function hubModel(db: Db, userId: number, orders: OrdersHubSummary | null): Promise<HubModel | null> {
  const [user, bids, listings, balances] = await Promise.all([
    accountsApi(db).findUser(userId),
    biddingApi(db).summaryFor(userId),
    catalogApi(db).sellerCounts(userId),
    walletApi(db).balances(userId),
  ]);
  if (!user) return null;
  return {
    profile: { id: user.id, nickname: user.nickname, joined: user.createdAt },
    buy: {
      active: bids.active,
      leading: bids.leading,
      outbid: bids.outbid,
      won: bids.won,
      // Until orders is wired every win is a purchase: the won list is the purchase history.
      purchases: orders?.purchases ?? { count: bids.won, href: '/my/bids?filter=won' },
    },
    sell: {
      live: listings.LIVE,
      scheduled: listings.SCHEDULED,
      sold: listings.ENDED_SOLD,
      unsold: listings.ENDED_UNSOLD,
      settlements: orders?.settlements ?? { count: 0, href: '/wallet?kind=PAYOUT_TO_SELLER' },
    },
    watching: bids.watching,
    points: { available: balances.available, held: balances.held, escrow: balances.escrow },
    addressesHref: orders?.addressesHref ?? null,
    ...(orders ? { orders } : {}),
  };
}
