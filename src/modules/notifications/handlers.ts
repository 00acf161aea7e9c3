/**
 * What each domain event means for whose inbox. Durable events (`bid.outbid`, `auction.closed`)
 * are written in the outbox consumer's transaction (with its inbox row: once per event), keyed by
 * the event id; the push and mail follow after the commit. A new kind is one handler here (plus
 * its messages and an entry in kinds.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { CatalogApi } from '../catalog/index.js';
import type { Notifier } from './service.js';
import type { NewNotification } from './store.js';

export function registerHandlers(app: FastifyInstance, n: Notifier, catalog: CatalogApi): void {
  const title = async (auctionId: number) => (await catalog.titles([auctionId])).get(auctionId) ?? `#${auctionId}`;
  const itemLink = (id: number) => `/items/${id}`;

  // Outbid: one per person who lost the lead; a burst on one auction within a minute is one
  // unread notification showing the latest (highest) price.
  app.events.onDurable('bid.outbid', 'notifications', async (e, { tx, eventId }) => {
    const items: NewNotification[] = [
      {
        userId: e.userId,
        kind: 'outbid',
        sourceKey: `bid.outbid:${eventId}`,
        groupKey: `outbid:${e.auctionId}`,
        params: { auctionId: e.auctionId, title: await title(e.auctionId), price: e.price },
        link: itemLink(e.auctionId),
        replaces: (stored, next) => Number(next.price) >= Number(stored.price ?? 0),
      },
    ];
    const written = await n.writeAll(tx, items);
    void n.afterCommit(written);
  });

  // Listing Q&A (messages): the seller hears of a question, the asker of its answer.
  app.events.onDurable('question.asked', 'notifications', async (e, { tx, eventId }) => {
    const written = await n.writeAll(tx, [
      {
        userId: e.sellerId,
        kind: 'question',
        sourceKey: `question.asked:${eventId}`,
        params: { listingId: e.listingId, title: await title(e.listingId), excerpt: e.excerpt },
        link: `/items/${e.listingId}#q-${e.questionId}`,
      },
    ]);
    void n.afterCommit(written);
  });
  app.events.onDurable('question.answered', 'notifications', async (e, { tx, eventId }) => {
    const written = await n.writeAll(tx, [
      {
        userId: e.askerId,
        kind: 'answer',
        sourceKey: `question.answered:${eventId}`,
        params: { listingId: e.listingId, title: await title(e.listingId), excerpt: e.excerpt },
        link: `/items/${e.listingId}#q-${e.questionId}`,
      },
    ]);
    void n.afterCommit(written);
  });

  // Moderation: a cancelled auction tells every bidder their points are free again; a warning its user.
  app.events.onDurable('auction.cancelled', 'notifications', async (e, { tx, eventId }) => {
    const t = await title(e.auctionId);
    const written = await n.writeAll(
      tx,
      e.bidderIds.map((userId) => ({
        userId,
        kind: 'cancelled' as const,
        sourceKey: `auction.cancelled:${eventId}:${userId}`,
        params: { auctionId: e.auctionId, title: t },
        link: '/wallet',
      })),
    );
    void n.afterCommit(written);
  });
  app.events.onDurable('user.warned', 'notifications', async (e, { tx, eventId }) => {
    const written = await n.writeAll(tx, [
      {
        userId: e.userId,
        kind: 'warning',
        sourceKey: `user.warned:${eventId}`,
        params: { excerpt: e.note.slice(0, 200) },
        link: '/terms',
      },
    ]);
    void n.afterCommit(written);
  });

  // A suspension or a ban: the user is told why and until when (inbox, and mail: they cannot log in to read it).
  app.events.onDurable('user.sanctioned', 'notifications', async (e, { tx, eventId }) => {
    const written = await n.writeAll(tx, [
      {
        userId: e.userId,
        kind: e.kind,
        sourceKey: `user.sanctioned:${eventId}`,
        params: {
          excerpt: e.note.slice(0, 200),
          until: e.until ? e.until.slice(0, 16).replace('T', ' ') + ' UTC' : null,
        },
        link: '/terms',
      },
    ]);
    void n.afterCommit(written);
  });

  // The end: the winner and the seller hear it (a buy-now too).
  app.events.onDurable('auction.closed', 'notifications', async (e, { tx, eventId }) => {
    const t = await title(e.auctionId);
    const base = { auctionId: e.auctionId, title: t, price: e.finalPrice };
    const items: NewNotification[] = [];
    if (e.outcome === 'SOLD' && e.winnerId !== null)
      items.push({
        userId: e.winnerId,
        kind: 'won',
        sourceKey: `auction.closed:${eventId}:won`,
        params: base,
        link: itemLink(e.auctionId),
      });
    items.push({
      userId: e.sellerId,
      kind: e.outcome === 'SOLD' ? 'sold' : 'unsold',
      sourceKey: `auction.closed:${eventId}:seller`,
      params: base,
      link: itemLink(e.auctionId),
    });
    const written = await n.writeAll(tx, items);
    void n.afterCommit(written);
  });

  // Second-chance offers (orders): the next bidder hears of the offer, the seller of its answer.
  app.events.onDurable('order.offer_made', 'notifications', async (e, { tx, eventId }) => {
    const params = { auctionId: e.auctionId, title: await title(e.auctionId), price: e.price };
    const written = await n.writeAll(tx, [
      {
        userId: e.bidderId,
        kind: 'offer',
        sourceKey: `order.offer_made:${eventId}`,
        params,
        link: `/offers/${e.offerId}`,
      },
    ]);
    void n.afterCommit(written);
  });
  app.events.onDurable('order.offer_answered', 'notifications', async (e, { tx, eventId }) => {
    const params = { auctionId: e.auctionId, title: await title(e.auctionId), price: e.price };
    const kind = e.answer === 'ACCEPTED' ? 'offerAccepted' : 'offerClosed';
    const link = e.newOrderId ? `/orders/${e.newOrderId}` : `/offers/${e.offerId}`;
    const written = await n.writeAll(tx, [
      { userId: e.sellerId, kind, sourceKey: `order.offer_answered:${eventId}`, params, link },
    ]);
    void n.afterCommit(written);
  });
}
