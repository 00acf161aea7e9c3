/** Read side for pages: home sections, a seller's and my listings (keyset), detail, and card view models. */
import type { TFunction } from 'i18next';
import type { Db } from '../../core/db/index.js';
import type { Storage } from '../../core/storage.js';
import { PAGE_SIZE, encodeCursor, decodeCursor, type CardRow } from './search.js';
import { photoUrls } from './photos.js';
import type { SlotContent } from '../../core/slots.js';

const cardSelect = {
  id: true,
  title: true,
  currentPrice: true,
  bidCount: true,
  status: true,
  startsAt: true,
  endsAt: true,
  createdAt: true,
  coverPhotoId: true,
  hiddenAt: true,
  sellerId: true,
} as const;

export async function homeSections(db: Db, take = 8) {
  const live = { status: 'LIVE' as const, hiddenAt: null };
  const [ending, fresh, popular] = await Promise.all([
    db.listing.findMany({
      where: { ...live, endsAt: { gt: new Date() } },
      orderBy: [{ endsAt: 'asc' }, { id: 'asc' }],
      take,
      select: cardSelect,
    }),
    db.listing.findMany({ where: live, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take, select: cardSelect }),
    db.listing.findMany({
      where: { ...live, bidCount: { gt: 0 } },
      orderBy: [{ bidCount: 'desc' }, { id: 'desc' }],
      take,
      select: cardSelect,
    }),
  ]);
  return { ending, fresh, popular };
}

/** Newest first, keyset on (createdAt, id). `statuses` null = every status (the seller's own page). */
export async function sellerListings(
  db: Db,
  sellerId: number,
  cursorRaw: string | undefined,
  statuses: CardRow['status'][] | null,
) {
  const cursor = decodeCursor(cursorRaw, 'date');
  // The public seller page (statuses given) never shows hidden listings; the seller's own page does.
  const base = { sellerId, ...(statuses ? { status: { in: statuses as never[] }, hiddenAt: null } : {}) };
  const at = cursor ? new Date(String(cursor[0])) : null;
  const where =
    cursor && at ? { ...base, OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: cursor[1] } }] } : base;
  const [rows, total] = await Promise.all([
    db.listing.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: PAGE_SIZE + 1,
      select: cardSelect,
    }),
    db.listing.count({ where: base }),
  ]);
  const page = rows.slice(0, PAGE_SIZE);
  const last = page[page.length - 1];
  return {
    rows: page as CardRow[],
    total,
    nextCursor: rows.length > PAGE_SIZE && last ? encodeCursor(last.createdAt.toISOString(), last.id) : null,
  };
}

/** "3일 남음" / "5시간 남음" / "마감" ... for a card or the detail page. */
export function timeLeft(t: TFunction, l: { status: string; startsAt: Date; endsAt: Date }, now = Date.now()): string {
  if (l.status === 'CANCELLED') return t('catalog.status.CANCELLED');
  if (l.status === 'ENDED_SOLD' || l.status === 'ENDED_UNSOLD') return t(`catalog.status.${l.status}`);
  if (l.status === 'SCHEDULED') return t('catalog.time.startsIn', { left: span(t, l.startsAt.getTime() - now) });
  const ms = l.endsAt.getTime() - now;
  if (ms <= 0) return t('catalog.time.ended');
  return t('catalog.time.left', { left: span(t, ms) });
}

function span(t: TFunction, ms: number): string {
  const m = Math.max(1, Math.ceil(ms / 60000));
  if (m < 60) return t('catalog.time.minutes', { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return t('catalog.time.hours', { n: h, m: m % 60 });
  return t('catalog.time.days', { n: Math.floor(h / 24), h: h % 24 });
}

export interface Card {
  id: number;
  title: string;
  price: number;
  bidCount: number;
  timeLeft: string;
  endsAt: Date;
  endingSoon: boolean;
  status: string;
  cover: string | null;
  hidden: boolean;
  sellerId: number;
  /** The seller's rating and completed sales (another module's part, through the `listing.seller` slot). */
  seller?: SlotContent | null;
}

/** Card view models, with one query for all cover photos. */
export async function toCards(db: Db, storage: Storage, t: TFunction, rows: CardRow[]): Promise<Card[]> {
  const ids = rows.map((r) => r.coverPhotoId).filter((x): x is number => x !== null);
  const covers = ids.length ? await db.photo.findMany({ where: { id: { in: ids } } }) : [];
  const byId = new Map(covers.map((p) => [p.id, photoUrls(storage, p)]));
  const now = Date.now();
  return rows.map((r) => ({
    id: r.id,
    title: r.title,
    price: r.currentPrice,
    bidCount: r.bidCount,
    timeLeft: timeLeft(t, r, now),
    endsAt: r.endsAt,
    endingSoon: r.status === 'LIVE' && r.endsAt.getTime() - now < 24 * 3600 * 1000,
    status: r.status,
    cover: r.coverPhotoId ? (byId.get(r.coverPhotoId)?.card ?? null) : null,
    hidden: Boolean(r.hiddenAt),
    sellerId: r.sellerId,
  }));
}

export async function listingDetail(db: Db, id: number) {
  return db.listing.findUnique({
    where: { id },
    include: { photos: { orderBy: { position: 'asc' } }, category: { include: { parent: true } } },
  });
}
