/**
 * Which of catalog's anonymous pages in core's page cache (home, /c/:slug, /search: 'list';
 * /items/:id: 'item') a change makes stale, from the events that say so, from this instance or
 * another (the bus delivers both). An auction's id is its listing's.
 *
 * - The listing's own page and every list page: any change of its state, price or terms.
 * - Other listings' item pages in the same top category: their 시세 (sold prices of similar
 *   titles in the category) and their "비슷한 경매" row (live auctions of the category) change when
 *   one of the category's auctions sells, closes, starts or is cancelled, or a listing in it is
 *   created, edited or hidden. Each item page depends on the tag `category:<top id>`; the listing's
 *   top category is known from its last render on this instance, else read (one query, a moment
 *   later). A bid that does not close the auction only moves a price in other pages' rows: that waits
 *   out PAGE_CACHE_TTL_MS, as a seller's rating or nickname on a card does.
 * - A moderator's hide or restore (moderation's live `content.moderated`): the listing as above; a
 *   question's listing page.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Listing id -> its top category, learned from renders; bounded (the oldest goes first). */
const KNOWN_MAX = 50_000;

export interface PageInvalidation {
  /**
   * The item page being rendered for `listingId` shows things of its top category (시세, similar
   * auctions); `dep` is core's shared() collector when the render is a logged-in page's shared body.
   */
  itemRendered(req: FastifyRequest, listingId: number, topCategoryId: number, dep?: (tag: string) => void): void;
}

export function pageInvalidation(app: FastifyInstance): PageInvalidation {
  const topOf = new Map<number, number>();
  const remember = (id: number, top: number) => {
    if (topOf.get(id) === top) return;
    topOf.delete(id);
    if (topOf.size >= KNOWN_MAX) topOf.delete(topOf.keys().next().value!);
    topOf.set(id, top);
  };
  const categoryTag = (top: number) => `category:${top}`;

  /** The item pages of the listing's top category are stale. */
  const categoryChanged = (id: number) => {
    const top = topOf.get(id);
    if (top !== undefined) return app.pageCache.invalidateTag(categoryTag(top));
    // Not rendered here lately: read it (a cached page of the category may still count it).
    void app.db.listing
      .findUnique({ where: { id }, select: { category: { select: { id: true, parentId: true } } } })
      .then((l) => {
        if (!l) return;
        const t = l.category.parentId ?? l.category.id;
        remember(id, t);
        app.pageCache.invalidateTag(categoryTag(t));
      })
      .catch((err: unknown) => app.log.warn({ err, listingId: id }, 'page cache: category of a listing not read'));
  };
  const itemChanged = (id: number, category: boolean) => {
    app.pageCache.invalidateItem(id);
    app.pageCache.invalidateLists();
    if (category) categoryChanged(id);
  };

  if (app.pageCache.enabled) {
    app.events.on('bid.placed', (p) => itemChanged(p.auctionId, p.closed));
    app.events.on('auction.started', (p) => itemChanged(p.auctionId, true));
    app.events.on('auction.closed', (p) => itemChanged(p.auctionId, true));
    app.events.on('auction.cancelled', (p) => itemChanged(p.auctionId, true));
    app.events.on('listing.created', (p) => itemChanged(p.listingId, true));
    app.events.on('listing.updated', (p) => itemChanged(p.listingId, true));
    app.events.on('listing.cancelled', (p) => itemChanged(p.listingId, true));
    // Questions and answers show under the item's description (messages' slot).
    app.events.on('question.asked', (p) => app.pageCache.invalidateItem(p.listingId));
    app.events.on('question.answered', (p) => app.pageCache.invalidateItem(p.listingId));
    app.events.on('content.moderated', (p) => {
      if (p.kind === 'LISTING') itemChanged(p.targetId, true);
      else if (p.listingId !== null) app.pageCache.invalidateItem(p.listingId);
    });
  }

  return {
    itemRendered(req, listingId, topCategoryId, dep) {
      remember(listingId, topCategoryId);
      app.pageCache.dependsOn(req, categoryTag(topCategoryId));
      dep?.(categoryTag(topCategoryId));
    },
  };
}
