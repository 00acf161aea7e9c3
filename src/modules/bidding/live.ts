/**
 * After a bid or a close: the domain event (heard by every instance through Redis pub/sub),
 * and on every instance the push of fresh fragments to that auction's watchers. Fragments are
 * rendered once per language and viewer role (leader / outbid / seller / others), not per socket.
 */
import type { FastifyInstance } from 'fastify';
import { prom, registry } from '../../core/metrics.js';
import type { ConnContext } from '../../core/realtime.js';
import type { BidResult } from './service.js';
import type { PanelDeps } from './panel.js';
import * as q from './queries.js';

const bidsTotal = new prom.Counter({ name: 'dapanda_bids_total', help: 'Bids by result', labelNames: ['result', 'reason'] as const, registers: [registry] });

export interface BidPlacedEvent {
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
  [key: string]: unknown;
}

export async function announceBid(app: FastifyInstance, deps: PanelDeps, res: BidResult, bidderId: number): Promise<void> {
  if (!res.ok) {
    bidsTotal.inc({ result: 'refused', reason: res.reason });
    return;
  }
  if (res.duplicate) return;
  bidsTotal.inc({ result: 'accepted', reason: '' });
  const s = res.snapshot;
  if (res.extended) await deps.timers.replanClose(s.id, s.endsAt);
  const ev: BidPlacedEvent = {
    auctionId: s.id,
    bidderId,
    leaderId: s.leaderId,
    outbidUserId: res.outbidUserId,
    sellerId: s.sellerId,
    price: s.currentPrice,
    bidCount: s.bidCount,
    endsAt: s.endsAt.toISOString(),
    extended: res.extended,
    closed: res.closed,
    newRows: res.leads ? 1 : 2,
  };
  await app.events.emit('bid.placed', ev);
  if (res.closed) {
    await app.events.emit('auction.closed', {
      auctionId: s.id,
      sellerId: s.sellerId,
      outcome: 'SOLD',
      winnerId: s.winnerId,
      finalPrice: s.currentPrice,
      holdRef: `auction:${s.id}:won`,
      endsAt: s.endsAt.toISOString(),
      closedAt: s.endsAt.toISOString(),
      lagMs: 0,
      buyNow: true,
    });
  }
}

type Role = 'leading' | 'outbid' | 'seller' | 'none';

/** Pushes the auction's current state to its watchers on this instance. */
export async function pushAuction(app: FastifyInstance, deps: PanelDeps, auctionId: number, who: { leaderId: number | null; outbidUserId: number | null; sellerId: number }, opts: { extended?: boolean; newRows?: number } = {}): Promise<number> {
  const topic = `auction:${auctionId}`;
  const a = await q.loadSnapshot(deps.db, auctionId, deps.settings.bands);
  if (!a) return 0;
  const ended = a.status === 'ENDED';
  const [rows, series, bidders] = await Promise.all([
    opts.newRows ? q.history(deps.db, deps.accounts, auctionId, null, opts.newRows) : Promise.resolve([]),
    q.priceSeries(deps.db, auctionId),
    // At the end every bidder learns whether they won, not only the last one outbid.
    ended ? q.bidderIds(deps.db, auctionId) : Promise.resolve(new Set<number>()),
  ]);
  const chart = q.chartPoints(series, series.length ? Math.min(series[0].price, a.currentPrice) : a.currentPrice);
  // While live, only the viewers whose standing this change moved get a status line; the
  // others keep theirs ("outbid" stays true until they bid again, which pushes anew).
  const statusOf = (ctx: ConnContext): q.ViewerStatus | null => {
    if (ended) return q.viewerStatus(a, ctx.userId, ctx.userId !== null && bidders.has(ctx.userId));
    const role: Role =
      ctx.userId === null ? 'none' : ctx.userId === who.sellerId ? 'seller' : ctx.userId === who.leaderId ? 'leading' : ctx.userId === who.outbidUserId ? 'outbid' : 'none';
    return role === 'none' ? null : role;
  };
  const requestKey = `push-${auctionId}-${a.bidCount}-${a.endsAt.getTime()}`;
  return app.realtime.publish(
    topic,
    (ctx) => {
      const status = statusOf(ctx);
      const data = { a, rows, chart, extended: opts.extended, requestKey, oob: true, viewer: { status: status ?? 'none' } };
      let html = app.renderPartial('bidding/live', data, ctx.t, ctx.lang) + app.renderPartial('bidding/chart', data, ctx.t, ctx.lang);
      if (rows.length) html += app.renderPartial('bidding/history', data, ctx.t, ctx.lang);
      if (status !== null) html += app.renderPartial('bidding/status', data, ctx.t, ctx.lang);
      return html;
    },
    (ctx) => `${ctx.lang}:${statusOf(ctx) ?? '-'}`,
  );
}
