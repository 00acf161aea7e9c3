/**
 * orders: what happens after a win. One order per sale from the durable `auction.closed` (the
 * winner's hold moved to the order's escrow in the same transaction), shipping (address book or
 * 직거래), receipt and settlement (escrow to the seller minus PLATFORM_FEE_BPS), timers (BullMQ
 * with deterministic ids + a sweeper), disputes resolved by an ADMIN. Emits the durable
 * `order.*` events of events.ts. Other modules read orders through `ordersApi` below.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Db, Tx } from '../../core/db/index.js';
import { addMessages } from '../../core/i18n.js';
import type { Storage } from '../../core/storage.js';
import { refId, type LedgerLabel } from '../../core/ledger-labels.js';
import { walletApi } from '../wallet/index.js';
import { catalogApi } from '../catalog/index.js';
import { accountsApi } from '../accounts/index.js';
import { biddingReads } from '../bidding/index.js';
import { Type, type Static } from '../../core/typebox.js';
import * as svc from './service.js';
import { payoutPreview } from './validation.js';
import { trustFor, reviewsAbout, type Trust, type ReviewRow } from './trust.js';
import { orderTimers } from './jobs.js';
import { ordersRoutes, type RouteDeps } from './routes.js';
import { ordersAdminRoutes } from './admin-routes.js';
import { offerRoutes } from './offer-routes.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type * from './events.js';
export {
  orderCreated,
  orderAddressGiven,
  orderShipped,
  orderReceived,
  orderCompleted,
  orderCancelled,
  orderDisputed,
  orderDisputeAnswered,
  orderDisputeResolved,
  orderReminder,
  reviewReceived,
  offerMade,
  offerAnswered,
} from './events.js';
export type { OrdersSummary, RoleSummary, OrderListItem, NextAction } from './service.js';
export { feeOf } from './validation.js';
export type { Trust, ReviewRow } from './trust.js';

export interface OrdersOptions extends svc.OrdersSettings {
  sweepMs: number;
  /** Where dispute photos are kept (keys under the private `disputes/` prefix). */
  storage: Storage;
}

export const ordersModule: FastifyPluginAsync<OrdersOptions> = async (app, opts) => {
  addMessages('orders', { ko, en });
  app.views.module('orders', import.meta.url);
  const base: svc.OrdersDeps = {
    db: app.db,
    wallet: walletApi(app.db),
    events: app.events,
    settings: {
      addressRemindDays: opts.addressRemindDays,
      addressDays: opts.addressDays,
      shipDays: opts.shipDays,
      autoConfirmDays: opts.autoConfirmDays,
      feeBps: opts.feeBps,
      offerHours: opts.offerHours,
    },
  };
  const timers = orderTimers(app, base, { sweepMs: opts.sweepMs });
  const deps: RouteDeps = {
    ...base,
    timers,
    catalog: catalogApi(app.db),
    accounts: accountsApi(app.db),
    runnerUp: biddingReads(app.db).runnerUp,
    storage: opts.storage,
  };

  // Exactly once per sale: the order row is keyed by the auction, and the inbox row by the event.
  app.events.onDurable('auction.closed', 'orders', async (e, { tx }) => {
    const o = await svc.createFromClose(base, tx, e, (x) =>
      app.log.error(
        { auctionId: x.auctionId, holdRef: x.holdRef },
        'orders: auction.closed names no usable hold; no order',
      ),
    );
    // Planned before the commit: a job that fires for an order that did not commit finds nothing.
    if (o) await timers.plan(o).catch((err: Error) => app.log.warn({ err: err.message }, 'order timer not planned'));
  });
  // Settlement: RECEIVED -> COMPLETED with the payout, in the consumer's transaction.
  app.events.onDurable('order.received', 'orders-settlement', async (e, { tx }) => {
    await svc.settle(base, tx, e.orderId);
  });

  // Listing cards and the item page show each seller's rating and completed sales: one read for
  // every seller on the page (catalog asks with all of them at once).
  app.slots.provideMany('listing.seller', async (ids) => {
    const trust = await trustFor(app.db, ids);
    return new Map([...trust].map(([id, tr]) => [id, { partial: 'orders/seller-trust', data: { ...tr, userId: id } }]));
  });

  // Wallet history names the item of every payout and refund (`order:<id>`) and of a second-chance
  // offer's hold and escrow (`offer:<id>`, the source key of the order it made): one order read and
  // one title read per page; the link goes to the order page (its parties only).
  const orderLabels = async (where: { id: { in: number[] } } | { sourceKey: { in: string[] } }) => {
    const orders = await app.db.order.findMany({ where, select: { id: true, listingId: true, sourceKey: true } });
    const titles = await deps.catalog.titles([...new Set(orders.map((o) => o.listingId))]);
    return orders.map((o) => ({
      o,
      label: { title: titles.get(o.listingId) ?? `#${o.listingId}`, href: `/orders/${o.id}` },
    }));
  };
  app.ledgerLabels.register('order:', async (refs) => {
    const ids = refs.map((r) => refId(r, 'order:')).filter((x): x is number => x !== null);
    const out = new Map<string, LedgerLabel>();
    for (const { o, label } of await orderLabels({ id: { in: ids } })) out.set(`order:${o.id}`, label);
    return out;
  });
  app.ledgerLabels.register('offer:', async (refs) => {
    const out = new Map<string, LedgerLabel>();
    for (const { o, label } of await orderLabels({ sourceKey: { in: refs } })) out.set(o.sourceKey, label);
    return out;
  });

  // The sell form (catalog's) shows 정산 예정 금액: the fee rule as text, and the payout for the typed
  // prices by the settlement's own rule (feeOf), refreshed by htmx from this fragment.
  const feePercent = (opts.feeBps / 100).toString();
  app.slots.provide('sell.payout', async () => ({ partial: 'orders/sell-payout', data: { feePercent } }));
  const PreviewQuery = Type.Object({
    startPrice: Type.Optional(Type.String({ maxLength: 30 })),
    buyNowPrice: Type.Optional(Type.String({ maxLength: 30 })),
    lang: Type.Optional(Type.String({ maxLength: 5 })),
  });
  app.get<{ Querystring: Static<typeof PreviewQuery> }>(
    '/sell/payout-preview',
    { schema: { querystring: PreviewQuery } },
    async (req, reply) =>
      reply.fragment('orders/sell-payout-amounts', {
        start: payoutPreview(req.query.startPrice, opts.feeBps),
        buyNow: payoutPreview(req.query.buyNowPrice, opts.feeBps),
      }),
  );

  await ordersRoutes(app, deps);
  await ordersAdminRoutes(app, deps);
  await offerRoutes(app, deps);
  // Open trades stop an account deletion; afterwards the address book and the shipping details of
  // the user's purchases go (the orders stay, with their ids, amounts and states).
  app.accountClosure.register('orders', {
    blockers: async (userId) => {
      const open = await app.db.order.count({
        where: { OR: [{ buyerId: userId }, { sellerId: userId }], state: { notIn: ['COMPLETED', 'CANCELLED'] } },
      });
      return open ? [{ key: 'orders.closure.open', params: { count: open } }] : [];
    },
    erase: async (tx, userId) => {
      await tx.orderAddress.deleteMany({ where: { userId } });
      await tx.order.updateMany({
        where: { buyerId: userId },
        data: {
          recipient: null,
          phone: null,
          postalCode: null,
          roadAddress: null,
          detailAddress: null,
          meetupPlace: null,
        },
      });
    },
  });
};

export interface OrdersOps {
  /** Counts per state and the next actions, as buyer and as seller (for the my-page hub). */
  summaryFor(userId: number): Promise<svc.OrdersSummary>;
  /** The user's orders as buyer (purchases, buy-now wins included), newest first. */
  listForBuyer(userId: number, opts?: ListOpts): Promise<svc.OrderListItem[]>;
  /** The user's orders as seller (sales), newest first. */
  listForSeller(userId: number, opts?: ListOpts): Promise<svc.OrderListItem[]>;
  /** Rating, review count, completed sales and purchases, strikes: one read for all ids. */
  trust(userIds: number[]): Promise<Map<number, Trust>>;
  /** Reviews about a user, newest first (keyset on the review id). */
  reviewsAbout(
    userId: number,
    opts: { limit: number; beforeId?: number },
  ): Promise<{ rows: ReviewRow[]; more: boolean }>;
  /** Who an order is between and its state (the order chat's authorization); null when there is none. */
  parties(orderId: number): Promise<OrderParties | null>;
  /** Ids of the orders a user is buyer or seller of, newest first (at most `limit`, default 500). */
  partyOrderIds(userId: number, limit?: number): Promise<number[]>;
}
export interface OrderParties {
  id: number;
  listingId: number;
  buyerId: number;
  sellerId: number;
  state: svc.OrderListItem['state'];
}
export interface ListOpts {
  states?: svc.OrderListItem['state'][];
  limit?: number;
  beforeId?: number;
}
export interface OrdersApi extends OrdersOps {
  /** How many orders are in each state now (the admin dashboard). */
  countsByState(): Promise<Record<string, number>>;
  withTx(tx: Tx): OrdersOps;
}

function ops(dbOrTx: Db | Tx): OrdersOps {
  const db = dbOrTx as Db;
  const titles = (ids: number[]) => catalogApi(db).titles(ids);
  return {
    summaryFor: (userId) => svc.summaryFor(db, userId),
    listForBuyer: (userId, o) => svc.listFor(db, titles, userId, 'buyer', o),
    listForSeller: (userId, o) => svc.listFor(db, titles, userId, 'seller', o),
    trust: (ids) => trustFor(db, ids),
    reviewsAbout: (userId, o) => reviewsAbout(db, userId, o),
    parties: (orderId) =>
      db.order.findUnique({
        where: { id: orderId },
        select: { id: true, listingId: true, buyerId: true, sellerId: true, state: true },
      }),
    partyOrderIds: async (userId, limit = 500) =>
      (
        await db.order.findMany({
          where: { OR: [{ buyerId: userId }, { sellerId: userId }] },
          select: { id: true },
          orderBy: { id: 'desc' },
          take: Math.min(Math.max(1, limit), 5000),
        })
      ).map((o) => o.id),
  };
}

export function ordersApi(db: Db): OrdersApi {
  return {
    ...ops(db),
    countsByState: async () => {
      const rows = await db.order.groupBy({ by: ['state'], _count: { _all: true } });
      return Object.fromEntries(rows.map((r) => [r.state, r._count._all]));
    },
    withTx: (tx) => ops(tx),
  };
}
