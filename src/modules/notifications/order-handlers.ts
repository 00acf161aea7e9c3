/**
 * Order steps and order chat for the inbox: one handler per durable `order.*` / `review.received` /
 * `chat.message_posted` event, each written in the outbox consumer's transaction with a source key
 * made of the event id and the recipient's role (so a redelivery writes nothing twice), linking
 * to the order (`link` `/orders/<id>`). Chat messages coalesce per order while the notification is unread (a burst of
 * messages is one notification showing the latest excerpt).
 */
import type { FastifyInstance } from 'fastify';
import type { CatalogApi } from '../catalog/index.js';
import type { Notifier } from './service.js';
import type { NewNotification } from './store.js';
import type { Kind, Params } from './kinds.js';
import { notificationChanged } from './events.js';
import { titlesFor } from './handlers.js';
import type { DurableContext } from '../../core/events.js';

export function registerOrderHandlers(app: FastifyInstance, n: Notifier, catalog: CatalogApi): void {
  const title = titlesFor(catalog);
  const orderLink = (orderId: number) => `/orders/${orderId}`;
  type To = { userId: number; role: string; kind: Kind; params?: Params };

  /** Writes the notifications of one event in its consumer's transaction, then pushes and mails. */
  async function notifyAll(
    { tx, afterCommit, beforeCommit }: Pick<DurableContext, 'tx' | 'afterCommit' | 'beforeCommit'>,
    source: string,
    ref: { orderId: number; auctionId: number | null },
    to: To[],
  ): Promise<void> {
    if (!to.length) return;
    const t = ref.auctionId !== null ? await title(tx, ref.auctionId) : '';
    const items: NewNotification[] = to.map((x) => ({
      userId: x.userId,
      kind: x.kind,
      sourceKey: `${source}:${x.role}`,
      params: { orderId: ref.orderId, title: t, ...(x.params ?? {}) },
      link: orderLink(ref.orderId),
    }));
    n.writeAtCommit({ tx, afterCommit, beforeCommit }, items);
  }

  const ref = (e: { orderId: number; auctionId: number }) => ({ orderId: e.orderId, auctionId: e.auctionId });
  const buyer = (e: { buyerId: number }, kind: Kind, params?: Params): To => ({
    userId: e.buyerId,
    role: 'buyer',
    kind,
    params,
  });
  const seller = (e: { sellerId: number }, kind: Kind, params?: Params): To => ({
    userId: e.sellerId,
    role: 'seller',
    kind,
    params,
  });

  app.events.onDurable('order.created', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.created:${ctx.eventId}`, ref(e), [buyer(e, 'orderAddress', { price: e.price })]),
  );
  app.events.onDurable('order.address_given', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.address_given:${ctx.eventId}`, ref(e), [seller(e, 'orderShipNeeded')]),
  );
  app.events.onDurable('order.reminder', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.reminder:${ctx.eventId}`, ref(e), [
      buyer(e, e.kind === 'ADDRESS' ? 'orderAddressReminder' : 'orderConfirmReminder'),
    ]),
  );
  app.events.onDurable('order.shipped', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.shipped:${ctx.eventId}`, ref(e), [buyer(e, 'orderShipped')]),
  );
  // The buyer's own confirmation needs no notification; the automatic one does.
  app.events.onDurable('order.received', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.received:${ctx.eventId}`, ref(e), e.auto ? [buyer(e, 'orderAutoConfirmed')] : []),
  );
  app.events.onDurable('order.completed', 'notifications', (e, ctx) =>
    notifyAll(
      ctx,
      `order.completed:${ctx.eventId}`,
      ref(e),
      e.payout > 0 ? [seller(e, 'orderPayout', { price: e.payout })] : [],
    ),
  );
  app.events.onDurable('order.cancelled', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.cancelled:${ctx.eventId}`, ref(e), [buyer(e, 'orderCancelled'), seller(e, 'orderCancelled')]),
  );
  // Only the buyer opens a dispute: the seller is the other side.
  app.events.onDurable('order.disputed', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.disputed:${ctx.eventId}`, ref(e), [seller(e, 'orderDisputed')]),
  );
  app.events.onDurable('order.dispute_answered', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.dispute_answered:${ctx.eventId}`, ref(e), [buyer(e, 'orderDisputeAnswered')]),
  );
  app.events.onDurable('order.dispute_resolved', 'notifications', (e, ctx) =>
    notifyAll(ctx, `order.dispute_resolved:${ctx.eventId}`, ref(e), [
      buyer(e, 'orderDisputeResolved', { price: e.buyerAmount }),
      seller(e, 'orderDisputeResolved', { price: e.sellerAmount }),
    ]),
  );
  app.events.onDurable('review.received', 'notifications', (e, ctx) =>
    notifyAll(ctx, `review.received:${ctx.eventId}`, { orderId: e.orderId, auctionId: null }, [
      { userId: e.subjectId, role: 'subject', kind: 'reviewReceived', params: { stars: e.stars } },
    ]),
  );

  // Order chat: a burst of lines in one order is one unread notification showing the latest
  // excerpt; opening the chat (on any instance) marks it read (a line merely pushed to an open tab does not).
  app.events.onDurable(
    'chat.message_posted',
    'notifications',
    async (e, { tx, eventId, afterCommit, beforeCommit }) => {
      n.writeAtCommit({ tx, afterCommit, beforeCommit }, [
        {
          userId: e.recipientId,
          kind: 'chatMessage',
          sourceKey: `chat.message_posted:${eventId}`,
          groupKey: `chat:${e.orderId}`,
          params: { orderId: e.orderId, title: await title(tx, e.listingId), excerpt: e.excerpt },
          link: `${orderLink(e.orderId)}#chat`,
        },
      ]);
    },
  );
  app.events.on('chat.changed', async (c, meta) => {
    if (!meta.local || c.readerId === null || !c.opened) return;
    const r = await app.db.notification.updateMany({
      where: { userId: c.readerId, groupKey: `chat:${c.orderId}`, readAt: null },
      data: { readAt: new Date() },
    });
    if (r.count) await app.events.emit(notificationChanged(c.readerId, null));
  });
}
