/**
 * Writing notifications and what follows their commit: the live bell push (every instance, over
 * the event bus) and the e-mail (claimed from PostgreSQL, handed to core/mail.ts's queue).
 * A writer runs inside some transaction: a durable consumer's queues its items with `writeAtCommit`:
 * all the items of its transaction (a relay batch) are written together just before the commit,
 * and followed up once (one push, one mail claim) after it, never for a rolled-back write; timers and live
 * listeners use `notifyNow`, which commits first. A sweeper mails whatever an interrupted process
 * left PENDING.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TFunction } from 'i18next';
import { transaction, type Db, type Tx } from '../../core/db/index.js';
import type { DurableContext } from '../../core/events.js';
import { isLang, tFor as fastT, type Lang } from '../../core/i18n.js';
import type { AccountsApi } from '../accounts/index.js';
import * as store from './store.js';
import { actionLink, messageParams, type Params } from './kinds.js';
import { notificationChanged, notificationsChanged } from './events.js';

export interface NotifyDeps {
  app: FastifyInstance;
  db: Db;
  accounts: AccountsApi;
  publicUrl: string;
  /** Signs unsubscribe links. */
  secret: string;
}

/** One notification as a page, a push or a mail shows it (text unescaped: the template escapes). */
export function present(row: store.Row, t: TFunction, lang: string) {
  const params = (row.params ?? {}) as Params;
  const text = t(`notifications.kinds.${row.kind}`, messageParams(params, lang)) as string;
  return {
    id: row.id.toString(),
    kind: row.kind,
    text,
    link: row.link,
    action: actionLink(row.kind, params),
    unread: !row.readAt,
    createdAt: row.createdAt,
  };
}

export const tFor = (lang: string): { t: TFunction; lang: Lang } => {
  const l: Lang = isLang(lang) ? lang : 'ko';
  return { t: fastT(l), lang: l };
};

// ── unsubscribe tokens: `<userId>-<HMAC>`, valid until the secret changes ──
const sig = (secret: string, userId: number) =>
  createHmac('sha256', secret).update(`notifications-unsubscribe:${userId}`).digest('base64url');
export const unsubscribeToken = (secret: string, userId: number) => `${userId}-${sig(secret, userId)}`;
export function verifyUnsubscribe(secret: string, token: string): number | null {
  const m = /^([1-9][0-9]{0,9})-([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const userId = Number(m[1]);
  if (userId > 2147483647) return null;
  const want = Buffer.from(sig(secret, userId));
  const got = Buffer.from(m[2]);
  return want.length === got.length && timingSafeEqual(want, got) ? userId : null;
}

const MAIL_BATCH = 50;

export function notifier(deps: NotifyDeps) {
  const { app, db } = deps;

  /**
   * Pushes each user's bell and mails the new rows; only called once their writes committed. Never rejects: callers fire it and go on, and an
   * error here (the database going away at shutdown, Redis down) must not become an unhandled
   * rejection; the rows are written and the bell catches up on the next page or reconnect.
   */
  async function afterCommit(written: store.Written[]): Promise<void> {
    try {
      await followUp(written);
    } catch (err) {
      app.log.warn({ err }, 'notification follow-up failed: the rows are written, the push and mail wait');
    }
  }

  // What each durable consumer's transaction wrote so far (several events of a relay batch share it).
  const pendingOf = new WeakMap<Tx, store.Written[]>();
  /**
   * For a durable consumer: follows up the rows after its transaction commits (the relay says
   * when), together with every other row written in that transaction; nothing if it rolls back.
   */
  function afterCommitOf(ctx: Pick<DurableContext, 'tx' | 'afterCommit'>, written: store.Written[]): void {
    if (!written.length) return;
    const pending = pendingOf.get(ctx.tx);
    if (pending) {
      pending.push(...written);
      return;
    }
    const all = [...written];
    pendingOf.set(ctx.tx, all);
    ctx.afterCommit(() => afterCommit(all));
  }

  // What each durable consumer's transaction is to write just before its commit.
  const queuedOf = new WeakMap<Tx, store.NewNotification[]>();
  /**
   * For a durable consumer: writes `items` with everything else the events of its transaction
   * queue (a relay batch), just before the commit, then follows them up after it. A burst of 50
   * outbids on one auction is then one coalesced row per user in a few statements, not three
   * statements per event.
   */
  function writeAtCommit(
    ctx: Pick<DurableContext, 'tx' | 'afterCommit' | 'beforeCommit'>,
    items: store.NewNotification[],
  ) {
    if (!items.length) return;
    const queued = queuedOf.get(ctx.tx);
    if (queued) {
      queued.push(...items);
      return;
    }
    const all = [...items];
    queuedOf.set(ctx.tx, all);
    ctx.beforeCommit(async () => afterCommitOf(ctx, await store.writeMany(ctx.tx, all)));
  }

  async function followUp(input: store.Written[]): Promise<void> {
    // One row written twice in a transaction (a burst in one group): follow up its last write.
    const written = [...new Map(input.map((w) => [w.id, w])).values()];
    if (!written.length) return;
    const users = new Map<number, string>();
    for (const w of written) users.set(w.userId, w.id);
    // One user: the plain event; many (a fan-out): one event for all, so each instance reads the
    // bells of its own subscribers in one query instead of one per user.
    if (users.size === 1) for (const [userId, id] of users) await app.events.emit(notificationChanged(userId, id));
    else
      await app.events.emit(
        notificationsChanged([...users].map(([userId, notificationId]) => ({ userId, notificationId }))),
      );
    const fresh = [...new Set(input.filter((w) => w.created).map((w) => w.id))];
    if (fresh.length) await flushMail(fresh).catch((err) => app.log.warn({ err }, 'notification mail: queued later'));
  }

  /** Writes inside the caller's transaction; follow up the result after its commit (`afterCommitOf`). */
  async function writeAll(tx: Tx, items: store.NewNotification[]): Promise<store.Written[]> {
    return store.writeMany(tx, items);
  }

  /** Writes in a transaction of its own and follows up at once (timers, live listeners). */
  async function notifyNow(items: store.NewNotification[]): Promise<store.Written[]> {
    if (!items.length) return [];
    const written = await transaction(db, (tx) => writeAll(tx, items));
    await afterCommit(written);
    return written;
  }

  function mailFor(row: store.Row, to: { email: string; locale: string; userId: number }) {
    const { t, lang } = tFor(to.locale);
    const item = present(row, t, lang);
    const url = `${deps.publicUrl}${item.link}`;
    const unsubscribe = `${deps.publicUrl}/notifications/unsubscribe?token=${unsubscribeToken(deps.secret, to.userId)}`;
    const settings = `${deps.publicUrl}/notifications/settings`;
    const subject = (t('notifications.mail.subject', { message: item.text }) as string).slice(0, 200);
    const text = [
      item.text,
      '',
      `${t('notifications.mail.open')}: ${url}`,
      '',
      '--',
      t('notifications.mail.footer'),
      `${t('notifications.mail.settings')}: ${settings}`,
      `${t('notifications.mail.unsubscribe')}: ${unsubscribe}`,
    ].join('\n');
    const html = app.renderPartial('notifications/mail', { items: [{ ...item, url }], unsubscribe, settings }, t, lang);
    return {
      to: to.email,
      subject,
      text,
      html,
      kind: `notifications.${row.kind}`,
      headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    };
  }

  /**
   * Hands PENDING rows to the mail queue, each exactly once: claimed under a row lock in one
   * transaction with the queue write, so a crash before the commit leaves them PENDING for the
   * sweeper (the mail may then be queued twice; never zero times). `ids`: only those rows.
   */
  async function flushMail(ids?: string[]): Promise<number> {
    return transaction(db, async (tx) => {
      const rows = ids
        ? await tx.$queryRaw<{ id: bigint }[]>`
            SELECT id FROM notifications WHERE mail_state = 'PENDING' AND id = ANY(${ids}::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED`
        : await tx.$queryRaw<{ id: bigint }[]>`
            SELECT id FROM notifications WHERE mail_state = 'PENDING' AND created_at < now() - interval '5 seconds'
             ORDER BY id LIMIT ${MAIL_BATCH}::int FOR UPDATE SKIP LOCKED`;
      if (!rows.length) return 0;
      const full = await tx.notification.findMany({
        where: { id: { in: rows.map((r) => r.id) } },
        orderBy: { id: 'asc' },
      });
      const contacts = await deps.accounts.contacts(full.map((r) => r.userId));
      for (const row of full) {
        const c = contacts.get(row.userId);
        if (c) await app.mail.send(mailFor(row, { email: c.email, locale: c.locale, userId: c.id }));
      }
      await tx.notification.updateMany({ where: { id: { in: full.map((r) => r.id) } }, data: { mailState: 'QUEUED' } });
      return full.length;
    });
  }

  /** One mail per digest user with their DIGEST rows, at most once a day each. */
  async function sendDigests(): Promise<number> {
    const due = await db.$queryRaw<{ user_id: number }[]>`
      SELECT p.user_id FROM notification_prefs p
       WHERE p.digest AND NOT p.unsubscribed AND (p.digest_sent_at IS NULL OR p.digest_sent_at < now() - interval '1 day')
         AND EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = p.user_id AND n.mail_state = 'DIGEST')
       LIMIT 200`;
    let sent = 0;
    for (const { user_id: userId } of due) {
      sent += await transaction(db, async (tx) => {
        // Claim the user's digest (another worker process may be at the same user).
        const claimed = await tx.$executeRaw`
          UPDATE notification_prefs SET digest_sent_at = now(), updated_at = now()
           WHERE user_id = ${userId} AND (digest_sent_at IS NULL OR digest_sent_at < now() - interval '1 day')`;
        if (!claimed) return 0;
        const rows = await tx.notification.findMany({
          where: { userId, mailState: 'DIGEST' },
          orderBy: { id: 'asc' },
          take: 100,
        });
        const c = (await deps.accounts.contacts([userId])).get(userId);
        if (!rows.length || !c) return 0;
        const { t, lang } = tFor(c.locale);
        const items = rows.map((r) => {
          const item = present(r, t, lang);
          return { ...item, url: `${deps.publicUrl}${item.link}` };
        });
        const unsubscribe = `${deps.publicUrl}/notifications/unsubscribe?token=${unsubscribeToken(deps.secret, userId)}`;
        const settings = `${deps.publicUrl}/notifications/settings`;
        await app.mail.send({
          to: c.email,
          subject: t('notifications.mail.digestSubject', { count: items.length }) as string,
          text: [
            t('notifications.mail.digestIntro'),
            '',
            ...items.map((i) => `- ${i.text}\n  ${i.url}`),
            '',
            '--',
            `${t('notifications.mail.settings')}: ${settings}`,
            `${t('notifications.mail.unsubscribe')}: ${unsubscribe}`,
          ].join('\n'),
          html: app.renderPartial(
            'notifications/mail',
            { items, unsubscribe, settings, intro: t('notifications.mail.digestIntro') },
            t,
            lang,
          ),
          kind: 'notifications.digest',
          headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
        await tx.notification.updateMany({
          where: { id: { in: rows.map((r) => r.id) } },
          data: { mailState: 'QUEUED' },
        });
        return 1;
      });
    }
    return sent;
  }

  return { writeAll, writeAtCommit, afterCommitOf, notifyNow, flushMail, sendDigests };
}
export type Notifier = ReturnType<typeof notifier>;
