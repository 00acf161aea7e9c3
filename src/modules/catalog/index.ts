/**
 * catalog: listings, photos, categories and search. Bidding reads listings and reports each
 * auction's state through the functions below (the listing row keeps a denormalised copy that
 * only this module writes); events `listing.created` and `listing.cancelled` carry plain ids.
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import type { Db, Tx } from '../../core/db/index.js';
import { LocalDiskStorage, type Storage } from '../../core/storage.js';
import { accountsApi } from '../accounts/index.js';
import * as svc from './service.js';
import { MAX_PHOTOS, MAX_PHOTO_BYTES } from './photos.js';
import { browseRoutes } from './routes-browse.js';
import { sellRoutes } from './routes-sell.js';
import { registerJobs } from './jobs.js';

export type { AuctionListing, AuctionState, ListingStatus } from './service.js';
export { canEdit, canAppend } from './service.js';

export interface CatalogOptions {
  storageDir: string;
  publicUrl: string;
  /** Another storage (S3, tests); defaults to local disk under storageDir. */
  storage?: Storage;
}

export const catalogModule: FastifyPluginAsync<CatalogOptions> = async (app, opts) => {
  const storage = opts.storage ?? new LocalDiskStorage(opts.storageDir);
  const deps: svc.CatalogDeps = { db: app.db, storage, events: app.events };
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: false, // we read `truncated` and refuse with the file's name
    limits: { fileSize: MAX_PHOTO_BYTES, files: MAX_PHOTOS, fields: 60, fieldSize: 32 * 1024, parts: 80, headerPairs: 100 },
  });
  const ctx = { deps, accounts: accountsApi(app.db), categories: svc.categoryLoader(app.db), config: { publicUrl: opts.publicUrl } };
  await browseRoutes(app, ctx);
  await sellRoutes(app, ctx);
  await registerJobs(app, deps);
};

/** What bidding (and admin) may call. `db` may be a transaction client. */
export interface CatalogApi {
  getListingForAuction(id: number): Promise<svc.AuctionListing | null>;
  recordAuctionState(id: number, state: svc.AuctionState): Promise<boolean>;
  /** getListingForAuction with the row locked (call inside a transaction: `catalogApi(tx)`). */
  lockListingForAuction(id: number): Promise<svc.AuctionListing | null>;
  listingsToStart(now?: Date): Promise<svc.AuctionListing[]>;
  listingsToClose(now?: Date): Promise<svc.AuctionListing[]>;
  listingsAfter(afterId: number, limit: number): Promise<(svc.AuctionListing & { createdAt: Date })[]>;
  titles(ids: number[]): Promise<Map<number, string>>;
}

export function catalogApi(dbOrTx: Db | Tx): CatalogApi {
  // A transaction client has the same model and raw queries as the client.
  const db = dbOrTx as Db;
  return {
    getListingForAuction: (id) => svc.getListingForAuction({ db }, id),
    recordAuctionState: (id, s) => svc.recordAuctionState({ db }, id, s),
    lockListingForAuction: (id) => svc.lockListingForAuction({ db }, id),
    listingsToStart: (now) => svc.listingsToStart({ db }, now),
    listingsToClose: (now) => svc.listingsToClose({ db }, now),
    listingsAfter: (afterId, limit) => svc.listingsAfter({ db }, afterId, limit),
    titles: (ids) => svc.titles({ db }, ids),
  };
}
