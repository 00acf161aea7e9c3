/** The inbox (/notifications), marking read, e-mail settings and the login-free unsubscribe link. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import * as store from './store.js';
import { KINDS, DEFAULT_EMAIL_KINDS, isKind } from './kinds.js';
import { present, verifyUnsubscribe, type NotifyDeps } from './service.js';
import { notificationChanged } from './events.js';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }) });
const ListQuery = Type.Object({
  before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$' })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
const FormBody = Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 200 })) });
const SettingsBody = Type.Object({
  email: Type.Optional(
    Type.Union([Type.String({ maxLength: 40 }), Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 })]),
  ),
  digest: Type.Optional(Type.Literal('1')),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});
const TokenQuery = Type.Object({
  token: Type.String({ maxLength: 80 }),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
const TokenBody = Type.Object({
  token: Type.String({ maxLength: 80 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
  'List-Unsubscribe': Type.Optional(Type.String({ maxLength: 40 })),
});

export async function notificationRoutes(app: FastifyInstance, deps: NotifyDeps) {
  const { db } = deps;
  const changed = (userId: number) => app.events.emit(notificationChanged(userId, null));

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/notifications',
    { schema: { querystring: ListQuery }, preHandler: requireUser },
    async (req, reply) => {
      const userId = req.user!.id;
      const before = req.query.before ? BigInt(req.query.before) : null;
      const [p, unread] = await Promise.all([store.page(db, userId, before), store.unreadCount(db, userId)]);
      return reply.page(
        'notifications/index',
        { items: p.rows.map((r) => present(r, req.t, req.lang)), next: p.next, unread },
        { title: req.t('notifications.title') },
      );
    },
  );

  app.post<{ Body: Static<typeof FormBody> }>(
    '/notifications/read-all',
    { schema: { body: FormBody }, preHandler: requireUser },
    async (req, reply) => {
      await store.markAllRead(db, req.user!.id);
      await changed(req.user!.id);
      return goTo(req, reply, '/notifications');
    },
  );

  // Opening one: marked read, then to what it is about.
  app.get<{ Params: Static<typeof IdParams> }>(
    '/notifications/:id',
    { schema: { params: IdParams }, preHandler: requireUser },
    async (req, reply) => {
      const userId = req.user!.id;
      const row = await store.findOwn(db, userId, BigInt(req.params.id));
      if (!row) throw notFound();
      if (!row.readAt) {
        await store.markRead(db, userId, row.id);
        await changed(userId);
      }
      return goTo(req, reply, row.link);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof FormBody> }>(
    '/notifications/:id/read',
    { schema: { params: IdParams, body: FormBody }, preHandler: requireUser },
    async (req, reply) => {
      const userId = req.user!.id;
      const id = BigInt(req.params.id);
      if (!(await store.markRead(db, userId, id))) throw notFound();
      await changed(userId);
      if (!req.htmx) return goTo(req, reply, '/notifications');
      const row = (await store.findOwn(db, userId, id))!;
      return reply.fragment('notifications/item', present(row, req.t, req.lang));
    },
  );

  const kindOptions = (req: { t: (k: string) => unknown }, chosen: readonly string[]) =>
    KINDS.map((k) => ({ value: k, label: req.t(`notifications.kindNames.${k}`), checked: chosen.includes(k) }));

  app.get('/notifications/settings', { preHandler: requireUser }, async (req, reply) => {
    const p = await db.notificationPref.findUnique({ where: { userId: req.user!.id } });
    return reply.page(
      'notifications/settings',
      {
        kinds: kindOptions(req, p ? p.emailKinds : DEFAULT_EMAIL_KINDS),
        digest: p?.digest ?? false,
        unsubscribed: p?.unsubscribed ?? false,
      },
      { title: req.t('notifications.prefs.title') },
    );
  });

  app.post<{ Body: Static<typeof SettingsBody> }>(
    '/notifications/settings',
    { schema: { body: SettingsBody }, preHandler: requireUser },
    async (req, reply) => {
      const raw = req.body.email === undefined ? [] : Array.isArray(req.body.email) ? req.body.email : [req.body.email];
      if (raw.some((k) => !isKind(k))) throw new AppError(400, 'errors.validation', {}, 'BAD_KIND');
      const emailKinds = [...new Set(raw)];
      const digest = req.body.digest === '1';
      await db.notificationPref.upsert({
        where: { userId: req.user!.id },
        create: { userId: req.user!.id, emailKinds, digest },
        update: { emailKinds, digest, unsubscribed: false },
      });
      flash(req, 'info', 'notifications.prefs.saved');
      return goTo(req, reply, '/notifications/settings');
    },
  );

  // Unsubscribe without logging in: the signed token is the authority. GET shows a button (mail
  // scanners open links); the POST does it, also as RFC 8058 one-click from the mail client, so
  // it takes no CSRF token (a forged POST would need the secret-signed token).
  const invalid = () => new AppError(400, 'notifications.unsubscribe.invalid', {}, 'BAD_TOKEN');
  app.get<{ Querystring: Static<typeof TokenQuery> }>(
    '/notifications/unsubscribe',
    { schema: { querystring: TokenQuery } },
    async (req, reply) => {
      const userId = verifyUnsubscribe(deps.secret, req.query.token);
      if (userId === null) throw invalid();
      const c = (await deps.accounts.contacts([userId])).get(userId);
      if (!c) throw invalid();
      reply.header('cache-control', 'no-store');
      return reply.page(
        'notifications/unsubscribe',
        { token: req.query.token, email: c.email },
        { title: req.t('notifications.unsubscribe.title') },
      );
    },
  );
  app.post<{ Body: Static<typeof TokenBody>; Querystring: Partial<Static<typeof TokenQuery>> }>(
    '/notifications/unsubscribe',
    {
      schema: { body: TokenBody },
      config: { csrf: false, rateLimit: { max: 30, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const userId = verifyUnsubscribe(deps.secret, req.body.token);
      if (userId === null) throw invalid();
      await db.notificationPref.upsert({
        where: { userId },
        create: { userId, emailKinds: [...DEFAULT_EMAIL_KINDS], unsubscribed: true },
        update: { unsubscribed: true },
      });
      // Anything still waiting to be mailed is not sent any more.
      await db.notification.updateMany({
        where: { userId, mailState: { in: ['PENDING', 'DIGEST'] } },
        data: { mailState: 'NONE' },
      });
      return reply.page(
        'notifications/unsubscribe',
        { done: true },
        { title: req.t('notifications.unsubscribe.title') },
      );
    },
  );
}
