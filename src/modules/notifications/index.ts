/**
 * notifications: the in-app inbox (a bell in the header with the unread count, live over the
 * tab's WebSocket on the per-user topic `user:<id>`; `/notifications`), e-mail by preference
 * (core/mail.ts's queue; a daily digest; a login-free signed unsubscribe link) and the timers
 * that notify ("ends within 1 hour"). A leaf: it reacts to other modules' events and nobody
 * imports it. Items are stored as kind + params and rendered in the reader's language.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { accountsApi } from '../accounts/index.js';
import { catalogApi } from '../catalog/index.js';
import { biddingReads } from '../bidding/index.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';
import { notifier, present, type NotifyDeps } from './service.js';
import { registerHandlers } from './handlers.js';
import { registerOrderHandlers } from './order-handlers.js';
import { endingTimers } from './ending.js';
import { notificationRoutes } from './routes.js';
import * as store from './store.js';
import { keywordAlerts } from './alerts.js';

export type { NotificationChanged } from './events.js';

export interface NotificationsOptions {
  publicUrl: string;
  /** Signs the unsubscribe links (the session secret). */
  secret: string;
  /** How often each worker process looks for auctions in their last hour and for mail left behind. */
  sweepMs: number;
}

export const notificationsModule: FastifyPluginAsync<NotificationsOptions> = async (app, opts) => {
  addMessages('notifications', { ko, en });
  app.views.module('notifications', import.meta.url);
  app.views.fillSlot('header.bell', 'notifications/bell');
  app.views.fillSlot('search.alert', 'notifications/alert-button');
  const deps: NotifyDeps = {
    app,
    db: app.db,
    accounts: accountsApi(app.db),
    publicUrl: opts.publicUrl,
    secret: opts.secret,
  };
  const n = notifier(deps);
  const catalog = catalogApi(app.db);
  registerHandlers(app, n, catalog);
  registerOrderHandlers(app, n, catalog);
  const ending = endingTimers(app, n, { bidding: biddingReads(app.db), catalog, sweepMs: opts.sweepMs });
  const alerts = keywordAlerts(app, n, catalog);
  handles.set(app.events, { ...n, ending, alerts });

  // Mail a process left PENDING (it stopped between the commit and the queue), and daily digests.
  app.queues.every('notifications-mail', opts.sweepMs, () => n.flushMail());
  app.queues.every('notifications-digest', 10 * 60_000, () => n.sendDigests());

  // The bell: the unread count (and the newest item) on connect and after every change, only to the user's own tabs.
  const bell = async (userId: number) => {
    const [count, newest] = await Promise.all([store.unreadCount(app.db, userId), store.latest(app.db, userId)]);
    return { count, newest };
  };
  const render = (
    b: Awaited<ReturnType<typeof bell>>,
    t: Parameters<typeof present>[1],
    lang: string,
    withLatest: boolean,
  ) =>
    app.renderPartial('notifications/bell-count', { count: b.count, oob: true }, t, lang) +
    (withLatest && b.newest && !b.newest.readAt
      ? app.renderPartial('notifications/latest', { item: present(b.newest, t, lang), oob: true }, t, lang)
      : '');
  app.realtime.registerTopic('user', async (id, ctx) => {
    if (ctx.userId === null || String(ctx.userId) !== id) return null;
    return render(await bell(ctx.userId), ctx.t, ctx.lang, false);
  });
  const push = (p: { userId: number; notificationId: string | null }, b: Awaited<ReturnType<typeof bell>>) =>
    app.realtime.publish(
      `user:${p.userId}`,
      (ctx) => (ctx.userId === p.userId ? render(b, ctx.t, ctx.lang, p.notificationId !== null) : null),
      (ctx) => `${ctx.lang}:${ctx.userId === p.userId}`,
    );
  app.events.on('notification.changed', async (p) => {
    if (!app.realtime.watchers(`user:${p.userId}`)) return;
    push(p, await bell(p.userId));
  });
  // A fan-out: only the users with a tab on this instance, their bells read in one go.
  app.events.on('notifications.changed', async ({ users }) => {
    const here = users.filter((p) => app.realtime.watchers(`user:${p.userId}`));
    if (!here.length) return;
    const all = await store.bells(
      app.db,
      here.map((p) => p.userId),
    );
    for (const p of here) push(p, all.get(p.userId)!);
  });

  await notificationRoutes(app, deps);
};

/** The notifier and the ending timers of an app (tests and the bench; nobody else imports this module). */
export type NotificationsHandle = ReturnType<typeof notifier> & {
  ending: ReturnType<typeof endingTimers>;
  alerts: ReturnType<typeof keywordAlerts>;
};
const handles = new WeakMap<object, NotificationsHandle>();
export function notificationsOf(app: { events: object }): NotificationsHandle {
  const h = handles.get(app.events);
  if (!h) throw new Error('the notifications module is not registered in this app');
  return h;
}
