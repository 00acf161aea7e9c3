/**
 * After a bid or a close: the domain event (heard by every instance), and on every instance the
 * push of fresh fragments to that auction's watchers. Fragments are rendered once per language and viewer standing (leading / outbid / seller / won / lost /
 * others), not per socket. Pushes for one auction run one after another and always show the
 * state read at push time, so events handled out of order never leave a tab on an older price;
 * the history carries every row newer than the last one this instance pushed.
 */
import type { FastifyInstance } from 'fastify';
import type { ConnContext } from '../../core/realtime.js';
import type { BidResult } from './service.js';
import type { PanelDeps } from './panel.js';
import type { AuctionSnapshot } from './auction-row.js';
import * as q from './queries.js';
import { bidPlaced } from './events.js';
import { bidsTotal, countClose } from './metrics.js';

export async function announceBid(
  app: FastifyInstance,
  deps: PanelDeps,
  res: BidResult,
  bidderId: number,
): Promise<void> {
  if (!res.ok) {
    bidsTotal.inc({ result: 'refused', reason: res.reason });
    // The bid found the seller's edit before its event did: plan the auction's new start and end now.
    if (res.reason === 'terms_changed' && res.snapshot)
      await deps.timers.schedule(res.snapshot.id, res.snapshot.startsAt, res.snapshot.endsAt);
    return;
  }
  if (res.duplicate) return;
  bidsTotal.inc({ result: 'accepted', reason: '' });
  const s = res.snapshot;
  if (res.extended) await deps.timers.replanClose(s.id, s.endsAt);
  // A buy-now closed the auction: its auction.closed committed with it (the outbox delivers it).
  if (res.closed) countClose({ auctionId: s.id, outcome: 'SOLD', lagMs: 0, finalPrice: s.currentPrice }, app.log);
  await app.events.emit(
    bidPlaced({
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
    }),
  );
}

/** The item page's state badge (catalog's listing states: 진행 중, 낙찰 완료, 유찰 ...) for an auction. */
export function stateBadge(
  a: Pick<AuctionSnapshot, 'id' | 'status' | 'outcome'>,
  t: (key: string) => unknown,
): { listingId: number; stateStatus: string; stateLabel: string } {
  const s = a.status === 'ENDED' ? (a.outcome === 'SOLD' ? 'ENDED_SOLD' : 'ENDED_UNSOLD') : a.status;
  return { listingId: a.id, stateStatus: s, stateLabel: String(t(`bidding.state.${s}`)) };
}

type Who = { leaderId: number | null; outbidUserId: number | null; sellerId: number };

export interface LivePusher {
  /** Pushes the auction's current state to its watchers on this instance (queued per auction). */
  push(auctionId: number, who: Who, opts?: { extended?: boolean; newRows?: number }): Promise<number>;
  /** The socket snapshot of an auction was read up to this bid row: pushes continue from there. */
  snapshotAt(auctionId: number, lastRowId: bigint): void;
}

export function livePusher(app: FastifyInstance, deps: PanelDeps): LivePusher {
  const queue = new Map<number, Promise<number>>();
  // Newest history row pushed to this instance's watchers, per watched auction.
  const lastRow = new Map<number, bigint>();

  const pushOnce = async (
    auctionId: number,
    who: Who,
    opts: { extended?: boolean; newRows?: number },
  ): Promise<number> => {
    const topic = `auction:${auctionId}`;
    if (!app.realtime.watchers(topic)) {
      lastRow.delete(auctionId); // the next watcher's snapshot starts the count again
      return 0;
    }
    const since = lastRow.get(auctionId);
    // The auction, its new history rows and its price series read side by side (one round trip's
    // wait instead of two before the first socket hears anything); each reflects what committed
    // before it ran, and the history only ever adds rows, so reading it beside the row is safe.
    const [a, rows, series] = await Promise.all([
      q.loadSnapshot(deps.db, auctionId, deps.settings.bands),
      since !== undefined
        ? q.history(deps.db, deps.accounts, auctionId, null, 30, since)
        : opts.newRows
          ? q.history(deps.db, deps.accounts, auctionId, null, opts.newRows)
          : Promise.resolve([]),
      q.priceSeries(deps.db, auctionId),
    ]);
    if (!a || a.status === 'CANCELLED') return 0;
    const ended = a.status === 'ENDED';
    // At the end every bidder learns whether they won, not only the last one outbid.
    const bidders = ended ? await q.bidderIds(deps.db, auctionId) : new Set<number>();
    if (rows.length) lastRow.set(auctionId, BigInt(rows[0].id));
    if (ended) lastRow.delete(auctionId);
    const chart = q.chartPoints(series, series.length ? Math.min(series[0].price, a.currentPrice) : a.currentPrice);
    // While live, only viewers whose standing this change moved get a status line; the others
    // keep theirs ("outbid" stays true until they bid again, which pushes anew). The leader is
    // read from the current state, not the event, in case a later bid already moved it.
    const statusOf = (ctx: ConnContext): q.ViewerStatus | null => {
      if (ended) return q.viewerStatus(a, ctx.userId, ctx.userId !== null && bidders.has(ctx.userId));
      if (ctx.userId === null) return null;
      if (ctx.userId === a.sellerId) return 'seller';
      if (ctx.userId === a.leaderId) return 'leading';
      if (ctx.userId === who.outbidUserId || ctx.userId === who.leaderId) return 'outbid';
      return null;
    };
    const requestKey = `push-${auctionId}-${a.bidCount}-${a.endsAt.getTime()}`;
    // The end swaps every control of the page (state badge, bid forms, buy now) for everyone;
    // while live, a viewer's controls are pushed only when their standing moved (a form someone
    // is typing into is not replaced by every rival's bid).
    const controlsFor = (status: q.ViewerStatus | null) => ended || status !== null;
    return app.realtime.publish(
      topic,
      (ctx) => {
        const status = statusOf(ctx);
        const data = {
          a,
          rows,
          chart,
          extended: opts.extended || a.extended,
          requestKey,
          oob: true,
          viewer: { status: status ?? 'none', loggedIn: ctx.userId !== null },
        };
        let html =
          app.renderPartial('bidding/live', data, ctx.t, ctx.lang) +
          app.renderPartial('bidding/chart', data, ctx.t, ctx.lang);
        if (rows.length) html += app.renderPartial('bidding/history', data, ctx.t, ctx.lang);
        if (status !== null) html += app.renderPartial('bidding/status', data, ctx.t, ctx.lang);
        if (controlsFor(status)) html += app.renderPartial('bidding/controls', data, ctx.t, ctx.lang);
        if (ended)
          html += app.renderPartial('bidding/state-badge', { ...stateBadge(a, ctx.t), oob: true }, ctx.t, ctx.lang);
        return html;
      },
      (ctx) => `${ctx.lang}:${statusOf(ctx) ?? '-'}:${ctx.userId === null ? 'anon' : 'user'}`,
    );
  };

  return {
    push(auctionId, who, opts = {}) {
      const run = (queue.get(auctionId) ?? Promise.resolve(0))
        .catch(() => 0)
        .then(() => pushOnce(auctionId, who, opts));
      queue.set(auctionId, run);
      void run.then(
        () => queue.get(auctionId) === run && queue.delete(auctionId),
        () => queue.get(auctionId) === run && queue.delete(auctionId),
      );
      return run;
    },
    snapshotAt(auctionId, lastRowId) {
      // Never move forward past rows other watchers still wait for: a repeat is dropped in the
      // browser (bidding.js), a gap would not be.
      const known = lastRow.get(auctionId);
      lastRow.set(auctionId, known === undefined || lastRowId < known ? lastRowId : known);
    },
  };
}
