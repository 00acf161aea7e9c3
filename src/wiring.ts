/**
 * The one place that connects modules' public APIs where one module needs another's: bidding's
 * ports onto the wallet and the catalog. Keeping the glue here (not inside bidding) lets each
 * module speak its own language; a change of API shows up as a type error in this file.
 */
import type { Db, Tx } from './core/db/index.js';
import { walletApi } from './modules/wallet/index.js';
import { catalogApi } from './modules/catalog/index.js';
import { InsufficientPoints, type CatalogPort, type ListingForAuction, type WalletPort } from './modules/bidding/index.js';

export function walletPort(db: Db): WalletPort {
  const wallet = walletApi(db);
  return {
    async hold(tx: Tx, userId, amount, ref) {
      try {
        await wallet.withTx(tx).hold(userId, amount, ref);
      } catch (err) {
        if ((err as { code?: string }).code === 'INSUFFICIENT_FUNDS') throw new InsufficientPoints((await wallet.balances(userId)).available);
        throw err;
      }
    },
    async releaseHold(tx: Tx, ref) {
      await wallet.withTx(tx).releaseHold(ref);
    },
    available: async (userId) => (await wallet.balances(userId)).available,
    availableOf: (tx: Tx, userIds) => wallet.withTx(tx).availableOf(userIds),
  };
}

type CatalogListing = NonNullable<Awaited<ReturnType<ReturnType<typeof catalogApi>['getListingForAuction']>>>;
const toAuctionListing = (l: CatalogListing & { createdAt?: Date }): ListingForAuction => ({
  id: l.id,
  sellerId: l.sellerId,
  title: l.title,
  startPrice: l.startPrice,
  reservePrice: l.reservePrice,
  buyNowPrice: l.buyNowPrice,
  startsAt: l.startsAt,
  endsAt: l.endsAt,
  cancelled: l.status === 'CANCELLED',
  createdAt: l.createdAt ?? new Date(0),
});

export function catalogPort(db: Db): CatalogPort {
  const catalog = catalogApi(db);
  return {
    getListing: async (id) => {
      const l = await catalog.getListingForAuction(id);
      return l ? toAuctionListing(l) : null;
    },
    listingsAfter: async (afterId, limit) => (await catalog.listingsAfter(afterId, limit)).map(toAuctionListing),
    async recordAuctionState(tx, listingId, state) {
      await catalogApi(tx).recordAuctionState(listingId, state);
    },
    async lockListing(tx, listingId) {
      const l = await catalogApi(tx).lockListingForAuction(listingId);
      return l ? toAuctionListing(l) : null;
    },
    titles: (ids) => catalog.titles(ids),
  };
}
