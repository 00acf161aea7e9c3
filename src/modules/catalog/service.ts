/**
 * catalog rules: creating, editing and cancelling listings, the category tree, and the
 * auction-state API bidding calls. Listing rows are written only here (photo rows and files
 * only in photos.ts).
 */
import { prismaSql, type Db, type Sql } from '../../core/db/index.js';
import type { Storage } from '../../core/storage.js';
import type { Events } from '../../core/events.js';
import { AppError, notFound } from '../../core/errors.js';
import type { ListingInput } from './validation.js';
import * as photos from './photos.js';
import { listingCancelled, listingCreated, listingPublished, listingUpdated } from './events.js';

export interface CatalogDeps {
  db: Db;
  storage: Storage;
  events: Events;
}

export type ListingStatus = 'SCHEDULED' | 'LIVE' | 'ENDED_SOLD' | 'ENDED_UNSOLD' | 'CANCELLED';

export interface CategoryNode {
  id: number;
  slug: string;
  nameKo: string;
  nameEn: string;
  parentId: number | null;
  children: CategoryNode[];
}

export interface CategoryTree {
  roots: CategoryNode[];
  byId: Map<number, CategoryNode>;
  bySlug: Map<string, CategoryNode>;
  ids: Set<number>;
  leafIds: Set<number>;
}

/** The tree is reference data (it ships with the migration): read once, refreshed every minute. */
export function categoryLoader(db: Db, ttlMs = 60_000) {
  let cached: { at: number; tree: Promise<CategoryTree> } | null = null;
  return (): Promise<CategoryTree> => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const tree = loadCategories(db);
      cached = { at: Date.now(), tree };
      tree.catch(() => (cached = null));
    }
    return cached.tree;
  };
}

export async function loadCategories(db: Db): Promise<CategoryTree> {
  const rows = await db.category.findMany({ orderBy: [{ parentId: 'asc' }, { position: 'asc' }] });
  const byId = new Map<number, CategoryNode>();
  for (const r of rows)
    byId.set(r.id, { id: r.id, slug: r.slug, nameKo: r.nameKo, nameEn: r.nameEn, parentId: r.parentId, children: [] });
  const roots: CategoryNode[] = [];
  for (const r of rows) {
    const n = byId.get(r.id)!;
    if (r.parentId) byId.get(r.parentId)?.children.push(n);
    else roots.push(n);
  }
  return {
    roots,
    byId,
    bySlug: new Map([...byId.values()].map((n) => [n.slug, n])),
    ids: new Set(byId.keys()),
    leafIds: new Set([...byId.values()].filter((n) => n.children.length === 0).map((n) => n.id)),
  };
}

/** A category and everything under it. */
export function categoryWithChildren(tree: CategoryTree, id: number): number[] {
  const n = tree.byId.get(id);
  return n ? [n.id, ...n.children.map((c) => c.id)] : [];
}

/** Edit and cancel are allowed until the first bid, on auctions that have not ended. */
export function canEdit(l: { bidCount: number; status: ListingStatus }): boolean {
  return l.bidCount === 0 && (l.status === 'SCHEDULED' || l.status === 'LIVE');
}
/** After the first bid the seller may only append to the description, while the auction runs. */
export function canAppend(l: { status: ListingStatus }): boolean {
  return l.status === 'SCHEDULED' || l.status === 'LIVE';
}

const DAY = 24 * 3600 * 1000;

/** Start, end and initial status from the form's start choice (null = now). */
export function schedule(input: Pick<ListingInput, 'startsAt' | 'durationDays'>, now: Date) {
  const startsAt = input.startsAt ?? now;
  const live = startsAt.getTime() <= now.getTime();
  return {
    startsAt,
    endsAt: new Date(startsAt.getTime() + input.durationDays * DAY),
    status: (live ? 'LIVE' : 'SCHEDULED') as ListingStatus,
  };
}

export interface PhotoPlan {
  /** The seller's pending uploads, in the chosen order (the first is the cover). */
  pendingIds: number[];
  /** Files posted with the form itself (no-JS path), appended after the pending ones. */
  fresh: photos.ProcessedPhoto[];
}

/**
 * Creates a listing with its photos, all or nothing: fresh files are written first and removed
 * again if the database refuses; pending uploads are attached in the same transaction.
 */
export async function createListing(
  deps: CatalogDeps,
  sellerId: number,
  input: ListingInput,
  plan: PhotoPlan,
  now = new Date(),
): Promise<number> {
  const pending = await photos.ownPending(deps, sellerId, plan.pendingIds);
  if (pending.length !== new Set(plan.pendingIds).size)
    throw new AppError(422, 'catalog.photoErrors.expired', {}, 'PHOTO_GONE');
  const total = pending.length + plan.fresh.length;
  if (total < 1) throw new AppError(422, 'catalog.errors.photosRequired', {}, 'PHOTOS_REQUIRED');
  if (total > photos.MAX_PHOTOS)
    throw new AppError(422, 'catalog.photoErrors.tooMany', { max: photos.MAX_PHOTOS }, 'TOO_MANY_PHOTOS');

  const written: Awaited<ReturnType<typeof photos.writeFiles>>[] = [];
  try {
    for (const p of plan.fresh) written.push(await photos.writeFiles(deps.storage, p));
    const { startsAt, endsAt, status } = schedule(input, now);
    const order = [...new Set(plan.pendingIds)];
    const id = await deps.db.$transaction(async (tx) => {
      const l = await tx.listing.create({
        data: {
          sellerId,
          title: input.title,
          description: input.description,
          categoryId: input.categoryId,
          condition: input.condition,
          startPrice: input.startPrice,
          buyNowPrice: input.buyNowPrice,
          reservePrice: input.reservePrice,
          startsAt,
          endsAt,
          durationDays: input.durationDays,
          status,
          currentPrice: input.startPrice,
          bidCount: 0,
        },
      });
      for (const [i, pid] of order.entries()) {
        await tx.photo.update({ where: { id: pid }, data: { listingId: l.id, position: i, expiresAt: null } });
      }
      const created = [];
      for (const [j, p] of plan.fresh.entries()) {
        created.push(
          await tx.photo.create({
            data: {
              ownerId: sellerId,
              listingId: l.id,
              position: order.length + j,
              ...written[j],
              width: p.width,
              height: p.height,
              bytes: p.bytes,
            },
          }),
        );
      }
      const coverPhotoId = order[0] ?? created[0].id;
      await tx.listing.update({ where: { id: l.id }, data: { coverPhotoId } });
      if (status === 'LIVE' || status === 'SCHEDULED') await deps.events.enqueue(tx, listingPublished(l.id, sellerId));
      return l.id;
    });
    await deps.events.emit(listingCreated({ id, sellerId, status, startsAt, endsAt, startPrice: input.startPrice }));
    return id;
  } catch (err) {
    await Promise.all(written.map((k) => photos.deleteFiles(deps.storage, k)));
    throw err;
  }
}

/** The seller's own listing; anyone else's id is a 404 (not 403) so ids cannot be probed. */
export async function ownListing(deps: Pick<CatalogDeps, 'db'>, sellerId: number, id: number) {
  const l = await deps.db.listing.findUnique({ where: { id }, include: { photos: { orderBy: { position: 'asc' } } } });
  if (!l || l.sellerId !== sellerId) throw notFound();
  return l;
}

/**
 * Edits a listing that has no bids yet. The photo list is replaced by `plan` (kept photos of
 * this listing and new pending uploads, in order); photos left out are deleted with their files.
 * A changed start re-plans the schedule only while the auction has not started.
 */
export async function updateListing(
  deps: CatalogDeps,
  sellerId: number,
  id: number,
  input: ListingInput,
  plan: { order: number[]; fresh: photos.ProcessedPhoto[] },
  now = new Date(),
) {
  const l = await ownListing(deps, sellerId, id);
  if (!canEdit(l)) throw new AppError(409, 'catalog.errors.notEditable', {}, 'NOT_EDITABLE');
  const own = new Map(l.photos.map((p) => [p.id, p]));
  const keptIds = [...new Set(plan.order.filter((pid) => own.has(pid)))];
  const pending = await photos.ownPending(
    deps,
    sellerId,
    plan.order.filter((pid) => !own.has(pid)),
  );
  const total = keptIds.length + pending.length + plan.fresh.length;
  if (total < 1) throw new AppError(422, 'catalog.errors.photosRequired', {}, 'PHOTOS_REQUIRED');
  if (total > photos.MAX_PHOTOS)
    throw new AppError(422, 'catalog.photoErrors.tooMany', { max: photos.MAX_PHOTOS }, 'TOO_MANY_PHOTOS');
  const written: Awaited<ReturnType<typeof photos.writeFiles>>[] = [];
  const removed = l.photos.filter((p) => !keptIds.includes(p.id));
  try {
    for (const p of plan.fresh) written.push(await photos.writeFiles(deps.storage, p));
    // The submitted order mixes kept and pending ids; fresh files go last.
    const pendingSet = new Set(pending.map((p) => p.id));
    const order = [
      ...new Set(plan.order.filter((pid) => (own.has(pid) ? keptIds.includes(pid) : pendingSet.has(pid)))),
    ];
    const times = l.status === 'SCHEDULED' || (l.status === 'LIVE' && input.startsAt) ? schedule(input, now) : null;
    await deps.db.$transaction(async (tx) => {
      await tx.photo.deleteMany({ where: { id: { in: removed.map((p) => p.id) } } });
      for (const [i, pid] of order.entries())
        await tx.photo.update({ where: { id: pid }, data: { listingId: id, position: i, expiresAt: null } });
      const created = [];
      for (const [j, p] of plan.fresh.entries()) {
        created.push(
          await tx.photo.create({
            data: {
              ownerId: sellerId,
              listingId: id,
              position: order.length + j,
              ...written[j],
              width: p.width,
              height: p.height,
              bytes: p.bytes,
            },
          }),
        );
      }
      // Conditional on "still no bids": a bid that lands meanwhile makes this edit fail, not slip through.
      const res = await tx.listing.updateMany({
        where: { id, bidCount: 0, status: { in: ['SCHEDULED', 'LIVE'] } },
        data: {
          title: input.title,
          description: input.description,
          categoryId: input.categoryId,
          condition: input.condition,
          startPrice: input.startPrice,
          currentPrice: input.startPrice,
          buyNowPrice: input.buyNowPrice,
          reservePrice: input.reservePrice,
          durationDays: input.durationDays,
          coverPhotoId: order[0] ?? created[0].id,
          ...(times ? { startsAt: times.startsAt, endsAt: times.endsAt, status: times.status } : {}),
        },
      });
      if (res.count !== 1) throw new AppError(409, 'catalog.errors.notEditable', {}, 'NOT_EDITABLE');
    });
  } catch (err) {
    await Promise.all(written.map((k) => photos.deleteFiles(deps.storage, k)));
    throw err;
  }
  await Promise.all(removed.map((p) => photos.deleteFiles(deps.storage, p)));
  await deps.events.emit(listingUpdated(id, sellerId));
}

/** After bids: a dated addition at the end of the description (the original text is never changed). */
export async function appendDescription(deps: CatalogDeps, sellerId: number, id: number, text: string, stamp: string) {
  const l = await ownListing(deps, sellerId, id);
  if (!canAppend(l)) throw new AppError(409, 'catalog.errors.notEditable', {}, 'NOT_EDITABLE');
  const addition = `\n\n[${stamp}]\n${text}`;
  if ([...l.description].length + [...addition].length > 5000)
    throw new AppError(422, 'catalog.errors.descriptionLength', {}, 'TOO_LONG');
  // Appended in SQL so two appends never overwrite each other.
  await deps.db
    .$executeRaw`UPDATE listings SET description = description || ${addition}, updated_at = now() WHERE id = ${id}`;
}

export async function cancelListing(deps: CatalogDeps, sellerId: number, id: number) {
  await ownListing(deps, sellerId, id);
  const res = await deps.db.listing.updateMany({
    where: { id, sellerId, bidCount: 0, status: { in: ['SCHEDULED', 'LIVE'] } },
    data: { status: 'CANCELLED' },
  });
  if (res.count !== 1) throw new AppError(409, 'catalog.errors.notCancellable', {}, 'NOT_CANCELLABLE');
  await deps.events.emit(listingCancelled(id, sellerId));
}

// ── the API bidding uses (through index.ts) ──

/** A listing as bidding sees it: the seller's terms, and the auction state catalog shows. */
export interface AuctionListing {
  id: number;
  sellerId: number;
  title: string;
  status: ListingStatus;
  startPrice: number;
  buyNowPrice: number | null;
  reservePrice: number | null;
  currentPrice: number;
  bidCount: number;
  startsAt: Date;
  endsAt: Date;
  createdAt: Date;
}

const auctionSelect = {
  id: true,
  sellerId: true,
  title: true,
  status: true,
  startPrice: true,
  buyNowPrice: true,
  reservePrice: true,
  currentPrice: true,
  bidCount: true,
  startsAt: true,
  endsAt: true,
  createdAt: true,
} as const;

export async function getListingForAuction(deps: Pick<CatalogDeps, 'db'>, id: number): Promise<AuctionListing | null> {
  return deps.db.listing.findUnique({ where: { id }, select: auctionSelect });
}

/** The auction's state as bidding reports it for the listing's pages (only what changed). */
export interface AuctionState {
  status?: ListingStatus;
  currentPrice?: number;
  bidCount?: number;
  endsAt?: Date;
}

/**
 * Bidding reports the auction's state; catalog stores its denormalised copy. `db` may be the
 * bidding transaction's client so the copy commits (or rolls back) with the bid. A cancelled
 * listing is never revived.
 */
export function recordAuctionState(deps: Pick<CatalogDeps, 'db'>, id: number, s: AuctionState): Promise<boolean> {
  return recordAuctionStateSql(prismaSql(deps.db), id, s);
}

/** recordAuctionState on plain SQL (bidding's batch transaction, core/db sqlTransaction): the one implementation of both. */
export async function recordAuctionStateSql(sql: Sql, id: number, s: AuctionState): Promise<boolean> {
  if (s.currentPrice !== undefined && (!Number.isInteger(s.currentPrice) || s.currentPrice < 0))
    throw new Error('currentPrice must be whole won');
  if (s.bidCount !== undefined && (!Number.isInteger(s.bidCount) || s.bidCount < 0))
    throw new Error('bidCount must be >= 0');
  if (s.endsAt !== undefined && Number.isNaN(s.endsAt.getTime())) throw new Error('endsAt must be a date');
  // One statement (it runs in every bid's transaction). The end is kept after the start
  // (listings_ends_after_start): a sale's time copied as the end may lie a moment before the
  // listing's start (clock skew between nodes, an auction ended at once), and a refused copy would
  // roll back the close itself and leave the auction LIVE.
  const rows = await sql.query(
    `UPDATE listings SET
      status = COALESCE($1::"ListingStatus", status),
      current_price = COALESCE($2::int, current_price),
      bid_count = COALESCE($3::int, bid_count),
      ends_at = CASE WHEN $4::timestamptz IS NULL THEN ends_at
                     ELSE GREATEST($4::timestamptz, starts_at + interval '1 millisecond') END,
      updated_at = now()
    WHERE id = $5::int AND status <> 'CANCELLED'
    RETURNING id`,
    [s.status ?? null, s.currentPrice ?? null, s.bidCount ?? null, s.endsAt ?? null, id],
  );
  return rows.length === 1;
}

/**
 * The listing as bidding sees it, its row locked inside the caller's transaction: an edit or a
 * cancel in flight is waited for and seen, and one that comes later finds the caller's bid (its
 * "no bids yet" condition fails). Bidding calls this before an auction's first bid.
 */
export async function lockListingForAuction(deps: Pick<CatalogDeps, 'db'>, id: number): Promise<AuctionListing | null> {
  await deps.db.$queryRaw`SELECT 1 FROM listings WHERE id = ${id} FOR UPDATE`;
  return getListingForAuction(deps, id);
}

/**
 * lockListingForAuction on plain SQL (bidding's batch transaction, core/db sqlTransaction): the
 * lock and the read in one statement (FOR UPDATE returns the row as locked, an edit in flight
 * waited for and seen).
 */
export async function lockListingForAuctionSql(sql: Sql, id: number): Promise<AuctionListing | null> {
  const rows = await sql.query<AuctionListing>(
    `SELECT id, seller_id AS "sellerId", title, status::text AS status, start_price AS "startPrice",
            buy_now_price AS "buyNowPrice", reserve_price AS "reservePrice", current_price AS "currentPrice",
            bid_count AS "bidCount", starts_at AS "startsAt", ends_at AS "endsAt", created_at AS "createdAt"
       FROM listings WHERE id = $1::int FOR UPDATE`,
    [id],
  );
  return rows[0] ?? null;
}

/** Listings with id > afterId, oldest first, with when they were made (bidding's sweeper opens auctions an event missed). */
export async function listingsAfter(
  deps: Pick<CatalogDeps, 'db'>,
  afterId: number,
  take = 500,
): Promise<AuctionListing[]> {
  return deps.db.listing.findMany({
    where: { id: { gt: afterId } },
    select: auctionSelect,
    orderBy: { id: 'asc' },
    take,
  });
}

/** Titles by listing id (for other modules' lists: "my bids", the watchlist, orders). */
/** A seller's listings counted by status (the my-page hub: 판매 중 / 판매 완료 / 유찰). */
export async function sellerCounts(
  deps: Pick<CatalogDeps, 'db'>,
  sellerId: number,
): Promise<Record<ListingStatus, number>> {
  const rows = await deps.db.listing.groupBy({ by: ['status'], where: { sellerId }, _count: { _all: true } });
  const out: Record<ListingStatus, number> = { SCHEDULED: 0, LIVE: 0, ENDED_SOLD: 0, ENDED_UNSOLD: 0, CANCELLED: 0 };
  for (const r of rows) out[r.status] = r._count._all;
  return out;
}

export async function titles(deps: Pick<CatalogDeps, 'db'>, ids: number[]): Promise<Map<number, string>> {
  if (!ids.length) return new Map();
  const rows = await deps.db.listing.findMany({
    where: { id: { in: [...new Set(ids)] } },
    select: { id: true, title: true },
  });
  return new Map(rows.map((r) => [r.id, r.title]));
}

/**
 * "다시 올리기": an unsold listing (its auction ended without a sale: no bids, or the reserve not
 * met) becomes a new listing with the same title, description, category, condition, prices and
 * photos, starting now for `durationDays` (default: the old duration). The photo files are copied
 * (the two listings never share a file: editing or deleting one leaves the other's images intact).
 * Only the seller (others: 404), only ENDED_UNSOLD (409), and once per ended listing (409): the new
 * listing records `relistedFromId`, unique. The old listing stays as it was (ended). Bidding opens
 * the new auction from `listing.created`, as for any listing.
 */
export async function relistListing(
  deps: CatalogDeps,
  sellerId: number,
  id: number,
  opts: { durationDays?: number } = {},
  now = new Date(),
): Promise<number> {
  const old = await ownListing(deps, sellerId, id);
  if (old.status !== 'ENDED_UNSOLD') throw new AppError(409, 'catalog.relist.notUnsold', {}, 'RELIST_STATE');
  const done = await deps.db.listing.findUnique({ where: { relistedFromId: id }, select: { id: true } });
  if (done) throw new AppError(409, 'catalog.relist.already', { id: done.id }, 'RELIST_STATE');
  const durationDays = opts.durationDays ?? old.durationDays;
  const copies: Awaited<ReturnType<typeof photos.copyFiles>>[] = [];
  try {
    for (const p of old.photos) copies.push(await photos.copyFiles(deps.storage, p));
    const { startsAt, endsAt, status } = schedule({ startsAt: null, durationDays }, now);
    const newId = await deps.db.$transaction(async (tx) => {
      const l = await tx.listing.create({
        data: {
          sellerId,
          title: old.title,
          description: old.description,
          categoryId: old.categoryId,
          condition: old.condition,
          startPrice: old.startPrice,
          buyNowPrice: old.buyNowPrice,
          reservePrice: old.reservePrice,
          startsAt,
          endsAt,
          durationDays,
          status,
          currentPrice: old.startPrice,
          bidCount: 0,
          relistedFromId: id,
        },
      });
      let cover: number | null = null;
      for (const [i, p] of old.photos.entries()) {
        const row = await tx.photo.create({
          data: {
            ownerId: sellerId,
            listingId: l.id,
            position: p.position,
            ...copies[i],
            width: p.width,
            height: p.height,
            bytes: p.bytes,
          },
        });
        if (p.id === old.coverPhotoId || (cover === null && i === 0)) cover = row.id;
      }
      await tx.listing.update({ where: { id: l.id }, data: { coverPhotoId: cover } });
      if (status === 'LIVE' || status === 'SCHEDULED') await deps.events.enqueue(tx, listingPublished(l.id, sellerId));
      return l.id;
    });
    await deps.events.emit(
      listingCreated({ id: newId, sellerId, status, startsAt, endsAt, startPrice: old.startPrice }),
    );
    return newId;
  } catch (err) {
    await Promise.all(copies.map((k) => photos.deleteFiles(deps.storage, k)));
    // Two relists at once: the unique relisted_from_id lets one through.
    if ((err as { code?: string }).code === 'P2002')
      throw new AppError(409, 'catalog.relist.already', {}, 'RELIST_STATE');
    throw err;
  }
}
