/**
 * catalog: listings, photos, categories and search. Bidding reads listings and reports each
 * auction's state through `catalogApi` below (the listing row keeps a denormalised copy that only
 * this module writes); it emits `listing.created`, `listing.updated`, `listing.cancelled` (events.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import type { Db, Sql, Tx } from '../../core/db/index.js';
import { LocalDiskStorage, type Storage } from '../../core/storage.js';
import { accountsApi } from '../accounts/index.js';
import * as svc from './service.js';
import { MAX_PHOTOS, MAX_PHOTO_BYTES } from './photos.js';
import { browseRoutes } from './routes-browse.js';
import { sellRoutes } from './routes-sell.js';
import { siseRoutes } from './routes-sise.js';
import { registerJobs } from './jobs.js';
import { pageInvalidation } from './page-invalidation.js';
import { bannedWordRoutes, bannedWordsIn } from './banned-words.js';
import { matchListing, type MatchFilter } from './search.js';
import { CONDITIONS, type Condition } from './validation.js';
import { addMessages } from '../../core/i18n.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { AuctionListing, AuctionState, ListingStatus } from './service.js';
export { canEdit, canAppend } from './service.js';
export type { ListingCreated, ListingUpdated, ListingCancelled } from './events.js';
export { listingCreated, listingUpdated, listingCancelled, listingPublished } from './events.js';
/**
 * The photo checks other modules reuse (orders' dispute photos): the type decided from the bytes
 * (sharp), SVG refused, the size and pixel limits, metadata dropped, WebP re-encoded.
 */
export { processImage, readUpload, PhotoError, MAX_PHOTO_BYTES, type ProcessedPhoto } from './photos.js';
/** The streaming photo-form reader (CSRF, busboy limits, those checks), for forms with photos of their own. */
export { readPhotoForm, type PhotoForm, type PhotoFormSpec } from './multipart.js';

export interface CatalogOptions {
  storageDir: string;
  publicUrl: string;
  /** Another storage (S3, tests); defaults to local disk under storageDir. */
  storage?: Storage;
}

export const catalogModule: FastifyPluginAsync<CatalogOptions> = async (app, opts) => {
  addMessages('catalog', { ko, en });
  app.views.module('catalog', import.meta.url);
  const storage = opts.storage ?? new LocalDiskStorage(opts.storageDir);
  storages.set(app.db, storage);
  const deps: svc.CatalogDeps = { db: app.db, storage, events: app.events };
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: false, // we read `truncated` and refuse with the file's name
    limits: {
      fileSize: MAX_PHOTO_BYTES,
      files: MAX_PHOTOS,
      fields: 60,
      fieldSize: 32 * 1024,
      parts: 80,
      headerPairs: 100,
    },
  });
  const ctx = {
    deps,
    accounts: accountsApi(app.db),
    categories: svc.categoryLoader(app.db),
    config: { publicUrl: opts.publicUrl },
    // What makes the anonymous pages in core's page cache stale (page-invalidation.ts).
    pages: pageInvalidation(app),
  };
  await browseRoutes(app, ctx);
  await sellRoutes(app, ctx);
  await bannedWordRoutes(app, app.db);
  await siseRoutes(app, ctx);
  await registerJobs(app, deps);
  // Reports of a listing (moderation): anyone may report what they can see; staff see hidden ones too.
  app.reportTargets.register('LISTING', async (id, viewerId, { staff }) => {
    const l = await app.db.listing.findUnique({
      where: { id },
      select: { id: true, sellerId: true, title: true, status: true, hiddenAt: true },
    });
    if (!l) return null;
    if (!staff && (l.hiddenAt || (l.status === 'CANCELLED' && l.sellerId !== viewerId))) return null;
    return { ownerId: l.sellerId, summary: l.title, href: `/items/${l.id}` };
  });
  // A seller with auctions scheduled or running cannot delete the account (bidders would win from nobody).
  app.accountClosure.register('catalog', {
    blockers: async (userId) => {
      const selling = await app.db.listing.count({
        where: { sellerId: userId, status: { in: ['SCHEDULED', 'LIVE'] } },
      });
      return selling ? [{ key: 'catalog.closure.selling', params: { count: selling } }] : [];
    },
  });
};

/** A listing as moderation sees it. */
export interface ListingModeration {
  id: number;
  sellerId: number;
  title: string;
  status: svc.ListingStatus;
  hiddenAt: Date | null;
}

/**
 * What bidding (and admin) may call. `withTx(tx)` runs the same calls inside the caller's
 * transaction, so the listing's copy of an auction's state commits with the bid.
 */
export interface CatalogOps {
  getListingForAuction(id: number): Promise<svc.AuctionListing | null>;
  recordAuctionState(id: number, state: svc.AuctionState): Promise<boolean>;
  /** getListingForAuction with the row locked until the transaction ends (use it through `withTx`). */
  lockListingForAuction(id: number): Promise<svc.AuctionListing | null>;
  /** Listings with id > afterId, oldest first (bidding's sweeper opens any auction an event missed). */
  listingsAfter(afterId: number, limit: number): Promise<svc.AuctionListing[]>;
  /** Listing titles by id (for other modules' lists: "my bids", the watchlist, orders). */
  titles(ids: number[]): Promise<Map<number, string>>;
  /** Listing cover thumbnails (URL) by id, for the same lists; a listing without photos is left out. */
  thumbnails(ids: number[]): Promise<Map<number, string>>;
  /** A seller's listings counted by status (the my-page hub). */
  sellerCounts(sellerId: number): Promise<Record<svc.ListingStatus, number>>;
  /** Which saved searches (query and filters as /search and /c/:slug take them) find this listing. */
  matchSavedSearches(listingId: number, searches: SavedSearchFilter[]): Promise<boolean[]>;
  /** Moderation: the listing's status and whether it is hidden (null: no such listing). */
  moderationState(id: number): Promise<ListingModeration | null>;
  /**
   * Moderation: hides or shows the listing (row locked; use it through `withTx`). Hidden listings
   * are 404 to everyone but staff and their seller and are found by no search. Null when it does
   * not exist; `changed` false when it already was so. The caller writes the audit row.
   */
  setHidden(id: number, hidden: boolean): Promise<{ changed: boolean; listing: ListingModeration } | null>;
  /** The admin's banned words a title contains (the sell form's warning). */
  bannedWordsIn(title: string): Promise<string[]>;
}

/** A search as a person saved it: /search's query and filters, or a category page's (slug). */
export interface SavedSearchFilter {
  q?: string;
  /** /search?category=<id> (the category and its children). */
  category?: number;
  /** /c/<slug> (the category and its children). */
  slug?: string;
  min?: number;
  max?: number;
  conditions?: string[];
}

/** The calls of a bid's transaction, on plain SQL (see `withSql`). */
export type CatalogSqlOps = Pick<CatalogOps, 'recordAuctionState' | 'lockListingForAuction'>;

export interface CatalogApi extends CatalogOps {
  withTx(tx: Tx): CatalogOps;
  /** The listing's copy of an auction's state inside the caller's plain-SQL transaction (core/db sqlTransaction: bidding's batches). */
  withSql(sql: Sql): CatalogSqlOps;
}

function ops(dbOrTx: Db | Tx, root: Db): CatalogOps {
  // A transaction client has the same model and raw queries as the client.
  const db = dbOrTx as Db;
  const categories = categoryTrees.get(db) ?? svc.categoryLoader(db);
  categoryTrees.set(db, categories);
  return {
    getListingForAuction: (id) => svc.getListingForAuction({ db }, id),
    recordAuctionState: (id, s) => svc.recordAuctionState({ db }, id, s),
    lockListingForAuction: (id) => svc.lockListingForAuction({ db }, id),
    listingsAfter: (afterId, limit) => svc.listingsAfter({ db }, afterId, limit),
    titles: (ids) => svc.titles({ db }, ids),
    thumbnails: async (ids) => {
      const storage = storages.get(root);
      if (!ids.length || !storage) return new Map();
      const rows = await db.listing.findMany({
        where: { id: { in: [...new Set(ids)] }, coverPhotoId: { not: null } },
        select: { id: true, coverPhotoId: true },
      });
      const photos = await db.photo.findMany({
        where: { id: { in: rows.map((r) => r.coverPhotoId!) } },
        select: { id: true, thumbKey: true },
      });
      const byPhoto = new Map(photos.map((p) => [p.id, storage.url(p.thumbKey)]));
      return new Map(
        rows.flatMap((r) => (byPhoto.has(r.coverPhotoId!) ? [[r.id, byPhoto.get(r.coverPhotoId!)!]] : [])),
      );
    },
    sellerCounts: (sellerId) => svc.sellerCounts({ db }, sellerId),
    moderationState: (id) => db.listing.findUnique({ where: { id }, select: moderationSelect }),
    setHidden: async (id, hidden) => {
      await db.$queryRaw`SELECT 1 FROM listings WHERE id = ${id} FOR UPDATE`;
      const l = await db.listing.findUnique({ where: { id }, select: moderationSelect });
      if (!l) return null;
      if (Boolean(l.hiddenAt) === hidden) return { changed: false, listing: l };
      const listing = await db.listing.update({
        where: { id },
        data: { hiddenAt: hidden ? new Date() : null },
        select: moderationSelect,
      });
      return { changed: true, listing };
    },
    bannedWordsIn: (title) => bannedWordsIn(db, title),
    matchSavedSearches: async (listingId, searches) => {
      const tree = await categories();
      const filters = searches.map((f): MatchFilter => {
        const node =
          f.slug !== undefined
            ? tree.bySlug.get(f.slug)
            : f.category !== undefined
              ? tree.byId.get(f.category)
              : undefined;
        return {
          q: f.q,
          // A category that no longer exists matches nothing (not everything).
          categoryIds: node
            ? svc.categoryWithChildren(tree, node.id)
            : f.slug !== undefined || f.category !== undefined
              ? [-1]
              : undefined,
          minPrice: f.min,
          maxPrice: f.max,
          conditions: (f.conditions ?? []).filter((c): c is Condition => (CONDITIONS as readonly string[]).includes(c)),
        };
      });
      return matchListing(db, listingId, filters);
    },
  };
}

const moderationSelect = { id: true, sellerId: true, title: true, status: true, hiddenAt: true } as const;

const categoryTrees = new WeakMap<Db, ReturnType<typeof svc.categoryLoader>>();
/** The photo storage the catalog module was registered with, per app database (for `thumbnails`). */
const storages = new WeakMap<Db, Storage>();

export function catalogApi(db: Db): CatalogApi {
  return {
    ...ops(db, db),
    withTx: (tx) => ops(tx, db),
    withSql: (sql) => ({
      recordAuctionState: (id, s) => svc.recordAuctionStateSql(sql, id, s),
      lockListingForAuction: (id) => svc.lockListingForAuctionSql(sql, id),
    }),
  };
}
