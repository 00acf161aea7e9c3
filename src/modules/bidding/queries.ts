/** Read models for pages and live pushes: an auction's panel, its history and price series, "my bids", the watchlist. */
import { sqlQuery, type Db } from '../../core/db/index.js';
import type { AccountsApi } from '../accounts/index.js';
import { snapshotOf, type AuctionSnapshot } from './auction-row.js';
import type { IncrementBands } from './engine.js';

export type ViewerStatus = 'leading' | 'outbid' | 'won' | 'lost' | 'seller' | 'none';

export interface HistoryRow {
  id: string;
  bidder: string;
  amount: number;
  kind: 'MANUAL' | 'PROXY' | 'BUY_NOW';
  at: Date;
  mine: boolean;
  /** Who bid (never shown): the panel marks the viewer's own rows from a history shared by all viewers. */
  bidderId: number;
}

/** "dapanda" -> "d***a": enough to tell bidders apart, not enough to find them. */
export function maskNickname(nick: string): string {
  const chars = [...nick];
  if (chars.length <= 1) return `${chars[0] ?? '?'}***`;
  return `${chars[0]}***${chars[chars.length - 1]}`;
}

/** The auction as pages and pushes show it; `extended` once a soft close has moved the end. */
export async function loadSnapshot(
  db: Db,
  id: number,
  bands: IncrementBands,
): Promise<(AuctionSnapshot & { extended: boolean }) | null> {
  const a = await db.auction.findUnique({ where: { id } });
  if (!a) return null;
  const snap = snapshotOf(a, bands);
  return { ...snap, extended: a.endsAt.getTime() > a.originalEndsAt.getTime() };
}

export function viewerStatus(s: AuctionSnapshot, viewerId: number | null, hasBid: boolean): ViewerStatus {
  if (viewerId === null) return 'none';
  if (viewerId === s.sellerId) return 'seller';
  if (s.status === 'ENDED') return s.winnerId === viewerId ? 'won' : hasBid ? 'lost' : 'none';
  if (s.leaderId === viewerId) return 'leading';
  return hasBid ? 'outbid' : 'none';
}

type ViewerInfo = { hasBid: boolean; myMax: number | null; watching: boolean };
type Ask = { auctionId: number; viewerId: number; resolve: (r: ViewerInfo) => void; reject: (e: unknown) => void };
/** The lookups asked for since the last flush, per database client (tests run several apps). */
const asked = new WeakMap<Db, Ask[]>();

/**
 * Every logged-in item view (and each panel fragment) asks this. As two findUnique calls, Prisma
 * batched the calls of concurrent views into one findMany per model whose shape (the batch's size)
 * changed from tick to tick, so its query compiler planned afresh nearly every time (~19 % of a
 * logged-in item view's CPU under load); one raw statement per view instead cost a round trip
 * each. So the lookups of one turn of the event loop go out together as one statement of a fixed
 * shape (arrays of ids): no planning, one round trip for all of them.
 */
export function viewerInfo(db: Db, auctionId: number, viewerId: number | null): Promise<ViewerInfo> {
  if (viewerId === null) return Promise.resolve({ hasBid: false, myMax: null, watching: false });
  return new Promise((resolve, reject) => {
    let batch = asked.get(db);
    if (!batch) {
      asked.set(db, (batch = []));
      setImmediate(() => {
        asked.delete(db);
        void answer(db, batch!);
      });
    }
    batch.push({ auctionId, viewerId, resolve, reject });
  });
}

async function answer(db: Db, batch: Ask[]): Promise<void> {
  try {
    // Plain SQL on the pool (core/db sqlQuery): this runs for every logged-in view of an item page,
    // and through Prisma's $queryRaw it cost more than the rest of that page's data.
    const rows = await sqlQuery<{
      auction_id: number;
      viewer_id: number;
      max_amount: number | null;
      watching: boolean;
    }>(
      db,
      `SELECT v.auction_id, v.viewer_id, p.max_amount,
              EXISTS (SELECT 1 FROM watches w WHERE w.user_id = v.viewer_id AND w.auction_id = v.auction_id) AS watching
         FROM unnest($1::int[], $2::int[]) AS v(auction_id, viewer_id)
         LEFT JOIN proxy_bids p ON p.auction_id = v.auction_id AND p.bidder_id = v.viewer_id`,
      [batch.map((b) => b.auctionId), batch.map((b) => b.viewerId)],
    );
    const byKey = new Map(rows.map((r) => [`${r.auction_id}:${r.viewer_id}`, r]));
    for (const b of batch) {
      const r = byKey.get(`${b.auctionId}:${b.viewerId}`);
      const myMax = r?.max_amount ?? null;
      b.resolve({ hasBid: myMax !== null, myMax, watching: r?.watching === true });
    }
  } catch (err) {
    for (const b of batch) b.reject(err);
  }
}

/** Everyone who has bid on the auction (their maximum is on file). */
export async function bidderIds(db: Db, auctionId: number): Promise<Set<number>> {
  const rows = await db.proxyBid.findMany({ where: { auctionId }, select: { bidderId: true } });
  return new Set(rows.map((r) => r.bidderId));
}

/**
 * The public bid history, newest first. A leader raising their own maximum is kept for audit
 * (a PROXY row carrying a maximum) but not shown: it is not a bid, and showing it would tell
 * rivals the leader's maximum moved. `afterId` returns only rows newer than that id (live pushes).
 */
export async function history(
  db: Db,
  accounts: AccountsApi,
  auctionId: number,
  viewerId: number | null,
  limit = 30,
  afterId?: bigint,
): Promise<HistoryRow[]> {
  const bids = await db.bid.findMany({
    where: {
      auctionId,
      NOT: { kind: 'PROXY', maxAmount: { not: null } },
      ...(afterId !== undefined ? { id: { gt: afterId } } : {}),
    },
    orderBy: { id: 'desc' },
    take: limit,
  });
  const names = await accounts.publicProfiles(bids.map((b) => b.bidderId));
  return bids.map((b) => ({
    id: String(b.id),
    bidder: maskNickname(names.get(b.bidderId)?.nickname ?? '?'),
    amount: b.amount,
    kind: b.kind,
    at: b.createdAt,
    mine: viewerId === b.bidderId,
    bidderId: b.bidderId,
  }));
}

/** The visible price after each bid, oldest first (the chart). */
export async function priceSeries(db: Db, auctionId: number, limit = 200): Promise<{ at: Date; price: number }[]> {
  const rows = await db.bid.findMany({
    where: { auctionId, NOT: { kind: 'PROXY', maxAmount: { not: null } } },
    orderBy: { id: 'desc' },
    take: limit,
    select: { createdAt: true, amount: true },
  });
  return rows.reverse().map((r) => ({ at: r.createdAt, price: r.amount }));
}

/** A small server-rendered SVG polyline of the price over time: no chart library, works without JS. */
export function chartPoints(
  series: { at: Date; price: number }[],
  startPrice: number,
  width = 320,
  height = 120,
): { points: string; min: number; max: number } | null {
  if (series.length < 1) return null;
  const pts = [{ at: series[0].at, price: startPrice }, ...series];
  const t0 = pts[0].at.getTime();
  const t1 = Math.max(pts[pts.length - 1].at.getTime(), t0 + 1);
  const min = Math.min(...pts.map((p) => p.price));
  const top = Math.max(...pts.map((p) => p.price));
  const max = Math.max(top, min + 1); // a flat line still needs a non-zero scale
  const x = (t: number) => ((t - t0) / (t1 - t0)) * (width - 8) + 4;
  const y = (p: number) => height - 4 - ((p - min) / (max - min)) * (height - 8);
  // A step line: the price holds until the next bid.
  const out: string[] = [];
  pts.forEach((p, i) => {
    if (i > 0) out.push(`${x(p.at.getTime()).toFixed(1)},${y(pts[i - 1].price).toFixed(1)}`);
    out.push(`${x(p.at.getTime()).toFixed(1)},${y(p.price).toFixed(1)}`);
  });
  // The last price holds to the right edge: with one bid (all points at one instant) the line
  // would otherwise be a vertical stroke at the left and the chart an empty box.
  out.push(`${(width - 4).toFixed(1)},${y(pts[pts.length - 1].price).toFixed(1)}`);
  return { points: out.join(' '), min, max: top };
}

export interface MyBidRow {
  auctionId: number;
  myMax: number;
  currentPrice: number;
  status: ViewerStatus;
  endsAt: Date;
  auctionStatus: string;
}

/**
 * "My bids": every auction the user put a maximum on, plus every auction they won (a buy-now
 * win leaves a BUY_NOW bid row but no maximum, so wins are read from the auction's winner, not
 * from the bid rows). `won` is exactly the auctions whose winner is the user.
 */
export async function myBids(
  db: Db,
  userId: number,
  filter: 'all' | 'leading' | 'outbid' | 'won' | 'lost' = 'all',
  take = 50,
): Promise<MyBidRow[]> {
  const [rows, wins] = await Promise.all([
    filter === 'won'
      ? Promise.resolve([])
      : db.proxyBid.findMany({
          where: { bidderId: userId },
          orderBy: { updatedAt: 'desc' },
          take: 500,
          include: { auction: true },
        }),
    filter === 'all' || filter === 'won'
      ? db.auction.findMany({
          where: { winnerId: userId, status: 'ENDED' },
          orderBy: { closedAt: 'desc' },
          take: 500,
        })
      : Promise.resolve([]),
  ]);
  const maxOf = new Map(rows.map((r) => [r.auctionId, r.maxAmount]));
  const out: (MyBidRow & { at: Date })[] = rows
    .filter((r) => !(r.auction.status === 'ENDED' && r.auction.winnerId === userId))
    .map((r) => {
      const a = r.auction;
      const status: ViewerStatus =
        a.status === 'ENDED' || a.status === 'CANCELLED' ? 'lost' : a.leaderId === userId ? 'leading' : 'outbid';
      return {
        auctionId: a.id,
        myMax: r.maxAmount,
        currentPrice: a.currentPrice,
        status,
        endsAt: a.endsAt,
        auctionStatus: a.status,
        at: r.updatedAt,
      };
    });
  for (const a of wins)
    out.push({
      auctionId: a.id,
      myMax: maxOf.get(a.id) ?? a.finalPrice ?? a.currentPrice,
      currentPrice: a.finalPrice ?? a.currentPrice,
      status: 'won',
      endsAt: a.endsAt,
      auctionStatus: a.status,
      at: a.closedAt ?? a.endsAt,
    });
  out.sort((x, y) => y.at.getTime() - x.at.getTime());
  return (filter === 'all' ? out : out.filter((r) => r.status === filter)).slice(0, take).map(({ at: _at, ...r }) => r);
}

/** Counts for the my-page hub: live bids (leading / outbid) and wins (by bid or buy-now). */
export async function bidSummary(
  db: Db,
  userId: number,
): Promise<{ active: number; leading: number; outbid: number; won: number; watching: number }> {
  const [leading, active, won, watching] = await Promise.all([
    db.auction.count({ where: { status: 'LIVE', leaderId: userId } }),
    db.proxyBid.count({ where: { bidderId: userId, auction: { status: { in: ['LIVE', 'SCHEDULED'] } } } }),
    db.auction.count({ where: { status: 'ENDED', winnerId: userId } }),
    db.watch.count({ where: { userId } }),
  ]);
  return { active, leading, outbid: active - leading, won, watching };
}

export async function watchlist(
  db: Db,
  userId: number,
  take = 100,
): Promise<{ auctionId: number; currentPrice: number; endsAt: Date; status: string; bidCount: number }[]> {
  const rows = await db.watch.findMany({
    where: { userId },
    orderBy: { createdAt: 'desc' },
    take,
    include: { auction: true },
  });
  return rows.map((w) => ({
    auctionId: w.auctionId,
    currentPrice: w.auction.currentPrice,
    endsAt: w.auction.endsAt,
    status: w.auction.status,
    bidCount: w.auction.bidCount,
  }));
}
