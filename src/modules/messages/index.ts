/**
 * messages: public listing Q&A (questions.ts) and the private buyer–seller chat of each order
 * (chat.ts). Emits `question.asked` and `question.answered` (durable, events.ts); shows its
 * block on the item page through the `item.questions` slot.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { accountsApi } from '../accounts/index.js';
import { catalogApi } from '../catalog/index.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';
import { hideQuestion, publicQuestions, questionRoutes, questionsModel, type QaDeps } from './questions.js';
import { orderChat, chatRoutes, type ChatDeps } from './chat.js';
import { ordersApi } from '../orders/index.js';

export type { QuestionAsked, QuestionAnswered, ChatMessagePosted, ChatChanged } from './events.js';

export const messagesModule: FastifyPluginAsync = async (app) => {
  addMessages('messages', { ko, en });
  app.views.module('messages', import.meta.url);
  app.views.fillSlot('orders.row.chat', 'messages/chat-unread-lazy');
  const deps: QaDeps = { db: app.db, accounts: accountsApi(app.db), catalog: catalogApi(app.db) };
  app.slots.provide('item.questions', async (listingId, req) => {
    // The public part (seller, answered questions) from core's shared cache, invalidated with the
    // item page (a question asked or answered, a moderator's hide); the viewer's own are read each time.
    const data = await questionsModel(deps, listingId, req, (d, id) =>
      app.pageCache.shared(
        `messages:questions:${id}`,
        { item: id, bytes: (p) => (p ? 512 + p.answered.length * 600 : 16) },
        () => publicQuestions(d, id),
      ),
    );
    return data ? { partial: 'messages/questions', data } : null;
  });
  await questionRoutes(app, deps);
  // Reports of a question (moderation): one the viewer may see (answered, or theirs to see), on a listing not hidden.
  app.reportTargets.register('QUESTION', async (id, viewerId, { staff }) => {
    const q = await app.db.listingQuestion.findUnique({ where: { id } });
    if (!q) return null;
    const l = await deps.catalog.moderationState(q.listingId);
    if (!l) return null;
    if (!staff && (l.hiddenAt || q.hiddenAt || (!q.answeredAt && viewerId !== q.askerId && viewerId !== q.sellerId)))
      return null;
    const summary = q.answer ? `Q. ${q.body}\nA. ${q.answer}` : `Q. ${q.body}`;
    return { ownerId: q.askerId, summary, href: `/items/${q.listingId}#q-${q.id}`, hidden: Boolean(q.hiddenAt) };
  });
  app.reportTargets.registerHider('QUESTION', hideQuestion);
  // Order chat: one conversation per order, on the order page (slot `order.chat`) and /orders/:id/chat.
  const chatDeps: ChatDeps = { ...deps, orders: ordersApi(app.db) };
  const chat = orderChat(app, chatDeps);
  await chatRoutes(app, chatDeps, chat);
  // The my-page hub's line of unread chat messages over all of the viewer's orders (id: the viewer).
  app.slots.provide('mypage.hub.chat', async (userId) => ({
    partial: 'messages/chat-unread-total',
    data: await chat.unreadTotal(userId),
  }));
};
