/**
 * bidding: auctions (SCHEDULED -> LIVE -> ENDED / CANCELLED), bids and proxy maxima, buy-now,
 * soft close, the watchlist, and the live bid panel. Emits `bid.placed` and `auction.started`
 * (live) and `auction.closed` (durable: it names the wallet hold that pays for a win), see events.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import { accountsApi } from '../accounts/index.js';
import { walletApi } from '../wallet/index.js';
import { catalogApi } from '../catalog/index.js';
import { parseBands } from './engine.js';
import type { BiddingSettings, BiddingDeps } from './service.js';
import { auctionTimers } from './jobs.js';
import { biddingRoutes } from './routes.js';
import { renderedPanel, sharedPanel, type PanelDeps } from './panel.js';
import type { TFunction } from 'i18next';
import { livePusher, stateBadge } from './live.js';
import { openAuction, cancelAuction, syncAuction, forceCancelLocked } from './lifecycle.js';
import type { Events } from '../../core/events.js';
import type { AuctionCancelled } from './events.js';
import { addMessages } from '../../core/i18n.js';
import { refId } from '../../core/ledger-labels.js';
import type { Db, Tx } from '../../core/db/index.js';
import { bidSummary, myBids, type MyBidRow } from './queries.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { BidPlaced, BidOutbid, AuctionStarted, AuctionClosed, AuctionCancelled } from './events.js';
export { auctionClosed, auctionCancelled } from './events.js';
export type { BiddingDeps, BidResult, PlaceBid } from './service.js';
export { placeBid } from './lanes.js';
export { maskNickname } from './queries.js';
export type { MyBidRow } from './queries.js';

/** Opens auctions for listings directly (seeds and tests); the running app does it from `listing.created`. */
export { openAuction };

export interface BiddingOptions {
  increments: string;
  softCloseSeconds: number;
  sweepMs: number;
}

export const biddingModule: FastifyPluginAsync<BiddingOptions> = async (app, opts) => {
  addMessages('bidding', { ko, en });
  app.views.module('bidding', import.meta.url);
  // The watch button on every listing card (catalog's template) is this module's.
  app.views.fillSlot('listing.card.actions', 'bidding/card-watch');
  const settings: BiddingSettings = {
    bands: parseBands(opts.increments),
    softCloseMs: opts.softCloseSeconds * 1000,
    maxBid: 1_000_000_000,
  };
  const base: BiddingDeps = {
    db: app.db,
    wallet: walletApi(app.db),
    catalog: catalogApi(app.db),
    events: app.events,
    settings,
  };
  const timers = auctionTimers(app, base, { sweepMs: opts.sweepMs });
  const deps: PanelDeps = { ...base, accounts: accountsApi(app.db), timers };

  await biddingRoutes(app, deps);

  // Wallet history names the item of every bid hold, release and win (`auction:<id>:…`): one
  // title read for the whole page.
  app.ledgerLabels.register('auction:', async (refs) => {
    const ids = new Map(refs.map((r) => [r, refId(r, 'auction:')] as const));
    const titles = await base.catalog.titles([...new Set([...ids.values()].filter((x): x is number => x !== null))]);
    const out = new Map<string, { title: string; href: string }>();
    for (const [ref, id] of ids) {
      const title = id === null ? undefined : titles.get(id);
      if (id !== null && title !== undefined) out.set(ref, { title, href: `/items/${id}` });
    }
    return out;
  });

  const pusher = livePusher(app, deps);

  /**
   * The viewer-independent part of the bid area from core's shared cache (invalidated with the item
   * page: a bid, the auction's start or close, the listing's change); renderedPanel renders its
   * history rows and chart once per change and language, so a viewer's panel renders only what is theirs.
   */
  const cachedPanel = (d: PanelDeps, id: number) =>
    app.pageCache.shared(
      `bidding:panel:${id}`,
      // The model (~200 B a row) and its rendered rows and chart in up to two languages and variants,
      // and a few viewers' standings' panels (~3 KB each, panelFor; up to PANELS_PER_STATE per language
      // on an auction with that many bidders, which this estimate then undercounts).
      { item: id, bytes: (s) => (s ? 4096 + 12_288 + s.rows.length * 1800 : 16) },
      () => sharedPanel(d, id),
    );
  const view = (t: TFunction, lang: string, oob: boolean) => ({
    lang,
    oob,
    render: (name: string, data: Record<string, unknown>) => app.renderHtml(name, data, t, lang),
  });

  // A (re)connecting tab gets the whole bid area again, history included (replaced, not added to).
  app.realtime.registerTopic('auction', async (id, ctx) => {
    const model = await renderedPanel(deps, Number(id), ctx.userId, cachedPanel, view(ctx.t, ctx.lang, true));
    if (!model) return null;
    pusher.snapshotAt(model.a.id, model.rows.length ? BigInt(model.rows[0].id) : 0n);
    const data = { ...model, oob: true, historyReplace: true };
    const badge = stateBadge(model.a, ctx.t);
    const r = (p: string) => app.renderPartial(p, data, ctx.t, ctx.lang);
    let html = r('bidding/live') + r('bidding/status') + String(model.chartHtml) + r('bidding/history');
    // Controls only once the auction is over: while live the page's own (e.g. the form `?bid=1` opened) stay.
    if (model.a.status !== 'LIVE') html += r('bidding/controls');
    return html + app.renderPartial('bidding/state-badge', { ...badge, oob: true }, ctx.t, ctx.lang);
  });

  // Only the instance where a listing event happened acts on it (the steps are idempotent anyway).
  app.events.on('listing.created', async (p, meta) => {
    if (!meta.local) return;
    const l = await base.catalog.getListingForAuction(p.listingId);
    if (l && (await openAuction(base, l))) await timers.schedule(l.id, l.startsAt, l.endsAt);
  });
  app.events.on('listing.updated', async (p, meta) => {
    if (!meta.local) return;
    const l = await base.catalog.getListingForAuction(p.listingId);
    if (l && (await syncAuction(base, l))) await timers.schedule(l.id, l.startsAt, l.endsAt);
  });
  app.events.on('listing.cancelled', async (p, meta) => {
    if (meta.local) await cancelAuction(base, p.listingId);
  });
  // Every instance pushes to its own watchers.
  app.events.on('bid.placed', async (p) => {
    await pusher.push(
      p.auctionId,
      { leaderId: p.leaderId, outbidUserId: p.outbidUserId, sellerId: p.sellerId },
      { extended: p.extended, newRows: p.newRows },
    );
  });
  app.events.on('auction.closed', async (p) => {
    await pusher.push(p.auctionId, { leaderId: p.winnerId, outbidUserId: null, sellerId: p.sellerId });
  });
  app.events.on('auction.started', async (p) => {
    const a = await app.db.auction.findUnique({
      where: { id: p.auctionId },
      select: { sellerId: true, leaderId: true },
    });
    if (a) await pusher.push(p.auctionId, { leaderId: a.leaderId, outbidUserId: null, sellerId: a.sellerId });
  });

  // The item page (catalog) shows this module's bid area through a slot; `?bid=1` (where a
  // bid's login comes back to) opens the maximum-bid form.
  app.slots.provide('item.bidArea', async (listingId, req) => {
    // The shared part from the cache (cachedPanel); the viewer's standing is read each time.
    const openMax = (req.query as Record<string, unknown> | undefined)?.bid === '1';
    const model = await renderedPanel(deps, listingId, req.user?.id ?? null, cachedPanel, {
      ...view(req.t, req.lang, false),
      openMax,
    });
    return model
      ? {
          partial: 'bidding/auction',
          data: model,
          scripts: ['bidding.js'],
          topics: [`auction:${listingId}`],
        }
      : null;
  });
  // Its state badge too (the end push swaps it with the rest of the page's controls).
  app.views.fillSlot('item.state', 'bidding/state-badge');
};

/** An auction as other modules see it (notifications: who to tell, and when it ends). */
export interface AuctionAudience {
  id: number;
  status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED';
  sellerId: number;
  leaderId: number | null;
  currentPrice: number;
  endsAt: Date;
  /** Users watching it. */
  watchers: number[];
  /** Users who have bid on it. */
  bidders: number[];
}

/** Read-only calls for other modules (notifications). */
export function biddingReads(db: Db) {
  return {
    async audience(auctionId: number): Promise<AuctionAudience | null> {
      const a = await db.auction.findUnique({
        where: { id: auctionId },
        select: { id: true, status: true, sellerId: true, leaderId: true, currentPrice: true, endsAt: true },
      });
      if (!a) return null;
      const [watchers, bidders] = await Promise.all([
        db.watch.findMany({ where: { auctionId }, select: { userId: true } }),
        db.proxyBid.findMany({ where: { auctionId }, select: { bidderId: true } }),
      ]);
      return { ...a, watchers: watchers.map((w) => w.userId), bidders: bidders.map((b) => b.bidderId) };
    },
    /**
     * The next-highest distinct bidder of an ended auction other than `excludeUserId` (the winner
     * whose order was cancelled), with that bidder's own highest maximum, and the reserve price
     * (orders' second-chance offer). Ties go to whoever reached the maximum first. Null when none.
     */
    async runnerUp(
      auctionId: number,
      excludeUserId: number,
    ): Promise<{ bidderId: number; maxAmount: number; reservePrice: number | null } | null> {
      const a = await db.auction.findUnique({
        where: { id: auctionId },
        select: { status: true, reservePrice: true },
      });
      if (!a || a.status !== 'ENDED') return null;
      const p = await db.proxyBid.findFirst({
        where: { auctionId, bidderId: { not: excludeUserId } },
        orderBy: [{ maxAmount: 'desc' }, { updatedAt: 'asc' }],
        select: { bidderId: true, maxAmount: true },
      });
      return p ? { ...p, reservePrice: a.reservePrice } : null;
    },
    /** Live auctions ending before `until` (not yet ended), soonest first. */
    async liveEndingBefore(until: Date, limit = 500): Promise<{ id: number; endsAt: Date }[]> {
      return db.auction.findMany({
        where: { status: 'LIVE', endsAt: { gt: new Date(), lte: until } },
        select: { id: true, endsAt: true },
        orderBy: { endsAt: 'asc' },
        take: limit,
      });
    },
  };
}
export type BiddingReads = ReturnType<typeof biddingReads>;
/** Today's trading, for the admin dashboard ("today" is the Korean calendar day, Asia/Seoul). */
export interface BiddingStats {
  liveAuctions: number;
  bidsToday: number;
  soldToday: number;
  /** Sum of today's winning prices, won. */
  gmvToday: number;
}

export interface BiddingTxOps {
  /**
   * Moderation: cancels an open auction even with bids, releasing the leader's hold, inside the
   * caller's transaction (with its audit row); enqueues the durable `auction.cancelled`.
   * Null when the auction was not open.
   */
  forceCancel(auctionId: number): Promise<AuctionCancelled | null>;
  /** Open (SCHEDULED or LIVE) auctions of a seller (a suspension cancels them). */
  openAuctionsOf(sellerId: number): Promise<number[]>;
}

/** What other modules may read and do: the my-page hub's bid standing, the admin dashboard, moderation. */
export interface BiddingApi {
  /** Live bids (leading / outbid), wins (by bid or buy-now, from the auction's winner) and watches. */
  summaryFor(userId: number): ReturnType<typeof bidSummary>;
  /** "My bids" rows with a filter; `won` lists every auction the user won, buy-now included. */
  myBids(userId: number, filter?: 'all' | 'leading' | 'outbid' | 'won' | 'lost', take?: number): Promise<MyBidRow[]>;
  stats(): Promise<BiddingStats>;
  /** Writes inside the caller's transaction; needs the app's `events` (biddingApi(db, app.events)). */
  withTx(tx: Tx): BiddingTxOps;
}

export function biddingApi(db: Db, events?: Events): BiddingApi {
  const wallet = walletApi(db);
  const catalog = catalogApi(db);
  const bus = () => {
    if (!events) throw new Error('biddingApi(db, events): withTx needs the event bus');
    return events;
  };
  return {
    summaryFor: (userId) => bidSummary(db, userId),
    myBids: (userId, filter, take) => myBids(db, userId, filter, take),
    async stats() {
      const [r] = await db.$queryRaw<{ live: bigint; bids: bigint; sold: bigint; gmv: bigint }[]>`
        WITH day AS (SELECT date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul' AS start)
        SELECT (SELECT count(*) FROM auctions WHERE status = 'LIVE') AS live,
               (SELECT count(*) FROM bids, day WHERE created_at >= day.start) AS bids,
               (SELECT count(*) FROM auctions, day WHERE outcome = 'SOLD' AND closed_at >= day.start) AS sold,
               (SELECT COALESCE(sum(final_price), 0)::bigint FROM auctions, day WHERE outcome = 'SOLD' AND closed_at >= day.start) AS gmv`;
      return {
        liveAuctions: Number(r.live),
        bidsToday: Number(r.bids),
        soldToday: Number(r.sold),
        gmvToday: Number(r.gmv),
      };
    },
    withTx: (tx) => ({
      forceCancel: (id) => forceCancelLocked({ wallet, catalog, events: bus() }, tx, id),
      openAuctionsOf: async (sellerId) =>
        (
          await tx.auction.findMany({
            where: { sellerId, status: { in: ['SCHEDULED', 'LIVE'] } },
            select: { id: true },
            orderBy: { id: 'asc' },
          })
        ).map((a) => a.id),
    }),
  };
}
