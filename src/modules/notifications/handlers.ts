/**
 * What each domain event means for whose inbox. Durable events (`bid.outbid`, `auction.closed`)
 * are written in the outbox consumer's transaction (with its inbox row: once per event), keyed by
 * the event id. A handler queues its items (`writeAtCommit`); the items of all the events of a
 * relay batch are written together just before the commit (a burst of outbids coalesces in a
 * few statements), and the push and mail follow once after it. A new kind is one handler here
 * (plus its messages and an entry in kinds.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { CatalogApi } from '../catalog/index.js';
import type { Notifier } from './service.js';
import type { NewNotification } from './store.js';
import type { Tx } from '../../core/db/index.js';

/**
 * Listing titles for the handlers, read once per durable transaction: a relay batch of 50 outbids
 * on one hot auction reads its title once, not 50 times.
 */
export function titlesFor(catalog: CatalogApi): (tx: Tx, listingId: number) => Promise<string> {
  const memo = new WeakMap<Tx, Map<number, Promise<string>>>();
  return (tx, id) => {
    let byId = memo.get(tx);
    if (!byId) memo.set(tx, (byId = new Map()));
    let title = byId.get(id);
    if (!title) byId.set(id, (title = catalog.titles([id]).then((t) => t.get(id) ?? `#${id}`)));
    return title;
  };
}

export function registerHandlers(app: FastifyInstance, n: Notifier, catalog: CatalogApi): void {
  const title = titlesFor(catalog);
  const itemLink = (id: number) => `/items/${id}`;

  // Outbid: one per person who lost the lead; a burst on one auction within a minute is one
  // unread notification showing the latest (highest) price.
  app.events.onDurable('bid.outbid', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    const items: NewNotification[] = [
      {
        userId: e.userId,
        kind: 'outbid',
        sourceKey: `bid.outbid:${eventId}`,
        groupKey: `outbid:${e.auctionId}`,
        params: { auctionId: e.auctionId, title: await title(tx, e.auctionId), price: e.price },
        link: itemLink(e.auctionId),
        replaces: (stored, next) => Number(next.price) >= Number(stored.price ?? 0),
      },
    ];
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, items);
  });

  // Listing Q&A (messages): the seller hears of a question, the asker of its answer.
  app.events.onDurable('question.asked', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
      {
        userId: e.sellerId,
        kind: 'question',
        sourceKey: `question.asked:${eventId}`,
        params: { listingId: e.listingId, title: await title(tx, e.listingId), excerpt: e.excerpt },
        link: `/items/${e.listingId}#q-${e.questionId}`,
      },
    ]);
  });
  app.events.onDurable('question.answered', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
      {
        userId: e.askerId,
        kind: 'answer',
        sourceKey: `question.answered:${eventId}`,
        params: { listingId: e.listingId, title: await title(tx, e.listingId), excerpt: e.excerpt },
        link: `/items/${e.listingId}#q-${e.questionId}`,
      },
    ]);
  });

  // Moderation: a cancelled auction tells every bidder their points are free again; a warning its user.
  app.events.onDurable('auction.cancelled', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    const t = await title(tx, e.auctionId);
    n.writeAtCommit(
      { tx, afterCommit, beforeCommit },
      e.bidderIds.map((userId) => ({
        userId,
        kind: 'cancelled' as const,
        sourceKey: `auction.cancelled:${eventId}:${userId}`,
        params: { auctionId: e.auctionId, title: t },
        link: '/wallet',
      })),
    );
  });
  app.events.onDurable('user.warned', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
      {
        userId: e.userId,
        kind: 'warning',
        sourceKey: `user.warned:${eventId}`,
        params: { excerpt: e.note.slice(0, 200) },
        link: '/terms',
      },
    ]);
  });

  // A suspension or a ban: the user is told why and until when (inbox, and mail: they cannot log in to read it).
  app.events.onDurable('user.sanctioned', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
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
  });

  // The end: the winner and the seller hear it (a buy-now too).
  app.events.onDurable('auction.closed', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    const t = await title(tx, e.auctionId);
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
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, items);
  });

  // Second-chance offers (orders): the next bidder hears of the offer, the seller of its answer.
  app.events.onDurable('order.offer_made', 'notifications', async (e, { tx, eventId, afterCommit, beforeCommit }) => {
    const params = { auctionId: e.auctionId, title: await title(tx, e.auctionId), price: e.price };
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
      {
        userId: e.bidderId,
        kind: 'offer',
        sourceKey: `order.offer_made:${eventId}`,
        params,
        link: `/offers/${e.offerId}`,
      },
    ]);
  });
  app.events.onDurable(
    'order.offer_answered',
    'notifications',
    async (e, { tx, eventId, afterCommit, beforeCommit }) => {
      const params = { auctionId: e.auctionId, title: await title(tx, e.auctionId), price: e.price };
      const kind = e.answer === 'ACCEPTED' ? 'offerAccepted' : 'offerClosed';
      const link = e.newOrderId ? `/orders/${e.newOrderId}` : `/offers/${e.offerId}`;
      n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
        { userId: e.sellerId, kind, sourceKey: `order.offer_answered:${eventId}`, params, link },
      ]);
    },
  );
}
