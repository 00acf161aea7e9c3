/**
 * Order chat: one private conversation per order between its buyer and seller, shown on the order
 * page (the `order.chat` slot) and on its own paginated page /orders/:id/chat. Plain text up to
 * CHAT_MAX characters, escaped wherever shown (pages, fragments, WebSocket frames; the mail of the
 * notification escapes its excerpt); URLs stay text. Lines are stored in PostgreSQL and pushed live
 * over the page's one WebSocket (topic `chat:<orderId>`, only to the two parties and to an ADMIN who
 * read the disputed order); a reconnecting tab gets the latest lines and its unread count again.
 * Read positions give read receipts and unread counts. Sending: > RATE_MAX lines a minute per user
 * is refused (429), a suspended or banned user cannot send (403), someone else's order is a 404.
 * A line with a phone number or a bank account number carries a warning banner. An ADMIN may read
 * the chat of a DISPUTED order (/admin/orders/:id/chat); the parties see a line saying so.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import { transaction, type Db } from '../../core/db/index.js';
import type { ConnContext } from '../../core/realtime.js';
import { requireRole, type AccountsApi } from '../accounts/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { OrderParties, OrdersApi } from '../orders/index.js';
import { chatChanged, chatMessagePosted } from './events.js';

export const CHAT_MAX = 1000;
export const RATE_MAX = 20;
export const RATE_WINDOW_MS = 60_000;
export const CHAT_PAGE = 30;
/** An ADMIN's reading is one line per admin per order per this long (not one per page view). */
const ADMIN_READ_EVERY_MS = 60 * 60_000;

// ── phone numbers and bank accounts (Korean formats) ──
const PHONE = [
  // 010-1234-5678, 01012345678, 010 1234 5678, 02-123-4567, 031-123-4567, 070-1234-5678, 0505-123-4567
  /(?<![\d])(?:01[016789]|02|0[3-6][1-5]|070|050[2-8]?)[-.\s]?\d{3,4}[-.\s]?\d{4}(?!\d)/,
  // +82 10-1234-5678, 82-10-1234-5678
  /(?<![\d])\+?82[-.\s]?\(?0?\)?1[016789][-.\s]?\d{3,4}[-.\s]?\d{4}(?!\d)/,
  // 공일공-..., 영일영 ... (digits spelled out are common to dodge filters)
  /[공영]\s*일\s*[공영]/,
];
const BANKS =
  '국민|신한|우리|하나|농협|기업|카카오뱅크|카뱅|카카오|토스뱅크|토스|케이뱅크|새마을|우체국|수협|SC제일|씨티|부산|대구|경남|광주|전북|제주|신협|산업';
const BANK = [
  // 3-4 groups of digits joined by dashes: 123-456-789012, 1002-123-456789, 110-123-456789
  /(?<![\d-])\d{2,6}-\d{2,6}-\d{2,7}(?:-\d{1,3})?(?![\d-])/,
  // 10-14 digits in a row (most account numbers written without dashes)
  /(?<!\d)\d{10,14}(?!\d)/,
  // a bank's name or 계좌 with a number after it
  new RegExp(`(?:${BANKS})(?:은행)?\\s*[:.]?\\s*\\d[\\d\\s-]{6,}`),
  /계좌\s*(?:번호)?\s*[:.]?\s*\d[\d\s-]{6,}/,
];

/** Whether a line shows a phone number or a bank account (the classic off-platform payment scam). */
export function contactWarning(text: string): { phone: boolean; bank: boolean } {
  const phone = PHONE.some((r) => r.test(text));
  // A phone number also matches the dashed-digits rule: count it as a bank number only if something else does.
  const withoutPhones = PHONE.reduce((s, r) => s.replace(new RegExp(r.source, 'g'), ' '), text);
  const bank = BANK.some((r) => {
    const m = r.exec(withoutPhones);
    // Dashed groups are an account only with 10+ digits (a date, 2026-12-02, is not).
    return !!m && m[0].replace(/\D/g, '').length >= 10;
  });
  return { phone, bank };
}

/** Plain text: trimmed, line ends normalised, control characters other than newlines refused. */
function cleanText(raw: string): string {
  const s = raw.replace(/\r\n?/g, '\n').trim();
  const length = [...s].length;
  if (!length) throw new AppError(422, 'messages.chat.errors.empty', {}, 'EMPTY');
  if (length > CHAT_MAX) throw new AppError(422, 'messages.chat.errors.tooLong', { max: CHAT_MAX, length }, 'TOO_LONG');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s))
    throw new AppError(400, 'guard.badCharacters', {}, 'BAD_CHARACTERS');
  return s;
}

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
type IdReq = { Params: Static<typeof IdParams> };
const HistoryQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  lang: Type.Optional(Type.String({ maxLength: 10 })),
});
const SeenQuery = Type.Object({ upTo: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
// Generous schema limit: a 10,000-character paste gets the clear "1,000 at most" answer, not a bare 400.
const SendBody = Type.Object({
  body: Type.String({ maxLength: 20_000 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});

export interface ChatDeps {
  db: Db;
  accounts: AccountsApi;
  catalog: CatalogApi;
  orders: OrdersApi;
}

type Line = {
  id: number;
  orderId: number;
  senderId: number;
  kind: string;
  body: string;
  flagged: boolean;
  hiddenAt: Date | null;
  createdAt: Date;
};

export function orderChat(app: FastifyInstance, deps: ChatDeps) {
  const { db } = deps;

  /** The order if `userId` is its buyer or seller; otherwise a 404 (as for an order that does not exist). */
  async function partyOrder(orderId: number, userId: number): Promise<OrderParties> {
    const o = await deps.orders.parties(orderId);
    if (!o || (o.buyerId !== userId && o.sellerId !== userId)) throw notFound();
    return o;
  }

  async function lastRead(orderId: number, userId: number): Promise<number> {
    const r = await db.chatRead.findUnique({ where: { orderId_userId: { orderId, userId } } });
    return r?.lastReadId ?? 0;
  }

  /** Lines a user has not read: the other side's (and admins' notes), after their read position. */
  async function unreadCount(orderId: number, userId: number): Promise<number> {
    const upTo = await lastRead(orderId, userId);
    return db.chatMessage.count({ where: { orderId, id: { gt: upTo }, senderId: { not: userId } } });
  }

  /**
   * Unread lines over all of a user's order chats (their newest 500 orders): the total and how many
   * chats have any. One statement: a per-order count would be a round trip per order.
   */
  async function unreadTotal(userId: number): Promise<{ lines: number; chats: number }> {
    const orderIds = await deps.orders.partyOrderIds(userId);
    if (!orderIds.length) return { lines: 0, chats: 0 };
    const [row] = await db.$queryRaw<{ lines: bigint; chats: bigint }[]>`
      SELECT count(*) AS lines, count(DISTINCT m.order_id) AS chats
        FROM chat_messages m
        LEFT JOIN chat_reads r ON r.order_id = m.order_id AND r.user_id = ${userId}
       WHERE m.order_id = ANY(${orderIds}::int[])
         AND m.sender_id <> ${userId}
         AND m.id > coalesce(r.last_read_id, 0)`;
    return { lines: Number(row?.lines ?? 0), chats: Number(row?.chats ?? 0) };
  }

  /** Marks the chat read up to `upTo` (default: its newest line); tells the other side's tabs. */
  async function markRead(orderId: number, userId: number, upTo?: number): Promise<void> {
    const opened = upTo === undefined;
    const newest = await db.chatMessage.findFirst({
      where: { orderId },
      orderBy: { id: 'desc' },
      select: { id: true },
    });
    if (!newest) return;
    const to = Math.min(upTo ?? newest.id, newest.id);
    const moved = await db.$executeRaw`
      INSERT INTO chat_reads (order_id, user_id, last_read_id, updated_at) VALUES (${orderId}, ${userId}, ${to}, now())
      ON CONFLICT (order_id, user_id) DO UPDATE SET last_read_id = EXCLUDED.last_read_id, updated_at = now()
       WHERE chat_reads.last_read_id < EXCLUDED.last_read_id`;
    // Opening the chat also reads its notification, even when a pushed line already moved the position.
    if (moved || opened)
      await app.events.emit(chatChanged({ orderId, messageId: null, readerId: userId, upTo: to, opened }));
  }

  /** A page of lines, oldest first; `before`: show the lines older than this id. */
  async function history(orderId: number, before: number | null) {
    const rows = await db.chatMessage.findMany({
      where: { orderId, ...(before ? { id: { lt: before } } : {}) },
      orderBy: { id: 'desc' },
      take: CHAT_PAGE + 1,
    });
    const older = rows.length > CHAT_PAGE;
    const shown = rows.slice(0, CHAT_PAGE).reverse();
    return { rows: shown, olderThan: older && shown.length ? shown[0].id : null };
  }

  async function names(ids: number[]) {
    const p = await deps.accounts.publicProfiles([...new Set(ids)]);
    return (id: number) => p.get(id)?.nickname ?? `#${id}`;
  }

  /** One line as templates show it (text raw: Handlebars escapes it). */
  const present = (m: Line, viewerId: number | null, nick: (id: number) => string, otherRead: number) => ({
    id: m.id,
    orderId: m.orderId,
    // A line a moderator hid shows a notice: its text does not leave the server.
    hidden: Boolean(m.hiddenAt),
    body: m.hiddenAt ? '' : m.body,
    adminRead: m.kind === 'ADMIN_READ',
    mine: m.senderId === viewerId,
    sender: nick(m.senderId),
    flagged: m.flagged && !m.hiddenAt,
    createdAt: m.createdAt,
    reportable: m.kind === 'TEXT' && !m.hiddenAt && viewerId !== null && m.senderId !== viewerId,
    unseen: m.kind === 'TEXT' && m.senderId === viewerId && m.id > otherRead,
  });

  /** Everything the chat block shows `viewerId` (a party; an admin reads without a form). */
  async function model(o: OrderParties, viewerId: number, before: number | null, asAdmin = false) {
    const otherId = o.buyerId === viewerId ? o.sellerId : o.buyerId;
    const [page, otherRead, unread, nick] = await Promise.all([
      history(o.id, before),
      asAdmin ? Promise.resolve(0) : lastRead(o.id, otherId),
      asAdmin ? Promise.resolve(0) : unreadCount(o.id, viewerId),
      names([o.buyerId, o.sellerId]),
    ]);
    const receipt = await receiptOf(o.id, otherRead);
    return {
      orderId: o.id,
      lines: page.rows.map((m) => present(m, viewerId, nick, otherRead)),
      olderThan: page.olderThan,
      unread,
      receipt,
      canSend: !asAdmin,
      asAdmin,
      max: CHAT_MAX,
      otherName: asAdmin ? null : nick(otherId),
      base: asAdmin ? `/admin/orders/${o.id}/chat` : `/orders/${o.id}/chat`,
    };
  }

  /** The other side's read receipt: up to which line, and its time. */
  async function receiptOf(orderId: number, upTo: number) {
    if (!upTo) return { orderId, upTo: 0, at: null };
    const m = await db.chatMessage.findFirst({ where: { orderId, id: { lte: upTo } }, orderBy: { id: 'desc' } });
    return { orderId, upTo, at: m?.createdAt ?? null };
  }

  /** Who may get this order's live lines: the parties, and admins who read it while disputed. */
  async function audience(orderId: number): Promise<Set<number> | null> {
    const o = await deps.orders.parties(orderId);
    if (!o) return null;
    const s = new Set([o.buyerId, o.sellerId]);
    if (o.state === 'DISPUTED') {
      const admins = await db.chatMessage.findMany({
        where: { orderId, kind: 'ADMIN_READ' },
        select: { senderId: true },
        distinct: ['senderId'],
      });
      for (const a of admins) s.add(a.senderId);
    }
    return s;
  }

  // ── live: topic chat:<orderId> ──
  // (Re)connect: the newest lines (replacing the log), the unread count and the receipt, so a tab
  // that was offline catches up. Only to the parties (and admins who read it while disputed).
  app.realtime.registerTopic('chat', async (id, ctx) => {
    const orderId = Number(id);
    if (!Number.isSafeInteger(orderId) || ctx.userId === null) return null;
    const who = await audience(orderId);
    if (!who?.has(ctx.userId)) return null;
    const o = (await deps.orders.parties(orderId))!;
    const party = o.buyerId === ctx.userId || o.sellerId === ctx.userId;
    const m = await model(o, ctx.userId, null, !party);
    return app.renderPartial('messages/chat-sync', { ...m, oob: true }, ctx.t, ctx.lang);
  });

  app.events.on('chat.changed', async (c) => {
    const topic = `chat:${c.orderId}`;
    if (!app.realtime.watchers(topic)) return;
    const who = await audience(c.orderId);
    if (!who) return;
    const o = (await deps.orders.parties(c.orderId))!;
    if (c.messageId !== null) {
      const m = await db.chatMessage.findUnique({ where: { id: c.messageId } });
      if (!m) return;
      const nick = await names([m.senderId]);
      app.realtime.publish(
        topic,
        (ctx: ConnContext) => {
          if (ctx.userId === null || !who.has(ctx.userId)) return null;
          const party = ctx.userId === o.buyerId || ctx.userId === o.sellerId;
          const line = present(m, ctx.userId, nick, 0);
          return app.renderPartial(
            'messages/chat-push',
            // The recipient's tab reports the line seen (it is on their screen).
            { line: { ...line, unseen: line.mine }, orderId: o.id, markSeen: party && !line.mine },
            ctx.t,
            ctx.lang,
          );
        },
        (ctx) => `${ctx.lang}:${ctx.userId}`,
      );
    } else if (c.readerId !== null && c.upTo !== null) {
      const receipt = await receiptOf(c.orderId, c.upTo);
      const readerId = c.readerId;
      app.realtime.publish(
        topic,
        (ctx: ConnContext) => {
          // Only the other party's tabs show "read up to" (the reader's own show their unread count: 0).
          if (ctx.userId === null || !who.has(ctx.userId)) return null;
          if (ctx.userId === readerId)
            return app.renderPartial('messages/chat-unread', { orderId: o.id, unread: 0, oob: true }, ctx.t, ctx.lang);
          if (ctx.userId !== o.buyerId && ctx.userId !== o.sellerId) return null;
          return app.renderPartial('messages/chat-receipt', { receipt, oob: true }, ctx.t, ctx.lang);
        },
        (ctx) => `${ctx.lang}:${ctx.userId === readerId}:${ctx.userId === o.buyerId || ctx.userId === o.sellerId}`,
      );
    }
  });

  // ── sending ──
  async function throttle(userId: number): Promise<void> {
    const key = app.rkey('chat', 'rate', userId);
    const now = Date.now();
    const r = await app.redis
      .multi()
      .zremrangebyscore(key, 0, now - RATE_WINDOW_MS)
      .zcard(key)
      .exec();
    const count = Number(r?.[1]?.[1] ?? 0);
    if (count >= RATE_MAX)
      throw new AppError(429, 'messages.chat.errors.tooFast', { max: RATE_MAX }, 'CHAT_RATE_LIMITED');
    await app.redis
      .multi()
      .zadd(key, now, `${now}-${Math.random().toString(36).slice(2)}`)
      .pexpire(key, RATE_WINDOW_MS)
      .exec();
  }

  async function send(o: OrderParties, senderId: number, raw: string): Promise<Line> {
    const body = cleanText(raw);
    await deps.accounts.assertMayAct(senderId);
    await throttle(senderId);
    const w = contactWarning(body);
    const recipientId = senderId === o.buyerId ? o.sellerId : o.buyerId;
    const line = await transaction(db, async (tx) => {
      const m = await tx.chatMessage.create({
        data: { orderId: o.id, senderId, body, flagged: w.phone || w.bank },
      });
      await app.events.enqueue(
        tx,
        chatMessagePosted({ messageId: m.id, orderId: o.id, listingId: o.listingId, senderId, recipientId, body }),
      );
      // Writing is reading: the sender has seen everything up to their own line.
      await tx.$executeRaw`
        INSERT INTO chat_reads (order_id, user_id, last_read_id, updated_at) VALUES (${o.id}, ${senderId}, ${m.id}, now())
        ON CONFLICT (order_id, user_id) DO UPDATE SET last_read_id = GREATEST(chat_reads.last_read_id, EXCLUDED.last_read_id), updated_at = now()`;
      return m;
    });
    await app.events.emit(
      chatChanged({ orderId: o.id, messageId: line.id, readerId: null, upTo: null, opened: false }),
    );
    return line;
  }

  /** An ADMIN opened the chat of a disputed order: one line the parties see (at most one per admin an hour). */
  async function adminRead(o: OrderParties, adminId: number): Promise<void> {
    const recent = await db.chatMessage.findFirst({
      where: {
        orderId: o.id,
        senderId: adminId,
        kind: 'ADMIN_READ',
        createdAt: { gt: new Date(Date.now() - ADMIN_READ_EVERY_MS) },
      },
    });
    if (recent) return;
    const m = await db.chatMessage.create({ data: { orderId: o.id, senderId: adminId, kind: 'ADMIN_READ', body: '' } });
    await app.events.emit(chatChanged({ orderId: o.id, messageId: m.id, readerId: null, upTo: null, opened: false }));
  }

  return { partyOrder, model, markRead, unreadCount, unreadTotal, send, adminRead };
}
export type OrderChat = ReturnType<typeof orderChat>;

export async function chatRoutes(app: FastifyInstance, deps: ChatDeps, chat: OrderChat) {
  // The block on the order page (for the two parties): viewing it reads it.
  app.slots.provide('order.chat', async (orderId, req) => {
    if (!req.user) return null;
    const o = await deps.orders.parties(orderId);
    if (!o || (o.buyerId !== req.user.id && o.sellerId !== req.user.id)) return null;
    const data = await chat.model(o, req.user.id, null);
    await chat.markRead(o.id, req.user.id);
    return { partial: 'messages/chat', data, topics: [`chat:${o.id}`] };
  });

  const page = async (req: FastifyRequest, reply: FastifyReply, o: OrderParties, asAdmin: boolean) => {
    const before = (req.query as { before?: number }).before ?? null;
    const data = await chat.model(o, req.user!.id, before, asAdmin);
    if (!asAdmin) await chat.markRead(o.id, req.user!.id);
    // "Older lines" asked by htmx: only those lines, put before the log.
    if (req.htmx && before) return reply.fragment('messages/chat-older', data);
    return reply.page(
      'messages/chat-page',
      { ...data, title: (await deps.catalog.titles([o.listingId])).get(o.listingId) ?? `#${o.listingId}` },
      { title: req.t('messages.chat.title'), topics: [`chat:${o.id}`] },
    );
  };

  app.get<IdReq & { Querystring: Static<typeof HistoryQuery> }>(
    '/orders/:id/chat',
    { preHandler: requireUser, schema: { params: IdParams, querystring: HistoryQuery } },
    async (req, reply) => page(req, reply, await chat.partyOrder(req.params.id, req.user!.id), false),
  );

  // The unread count of one order's chat as a badge (lazy-loaded by each row of /my/orders through the
  // `orders.row.chat` slot); someone else's order -> 404 like the chat itself.
  app.get<IdReq>(
    '/orders/:id/chat/unread',
    { preHandler: requireUser, schema: { params: IdParams } },
    async (req, reply) => {
      const o = await chat.partyOrder(req.params.id, req.user!.id);
      const unread = await chat.unreadCount(o.id, req.user!.id);
      return reply
        .type('text/html; charset=utf-8')
        .send(app.renderPartial('messages/chat-unread', { orderId: o.id, unread }, req.t, req.lang));
    },
  );

  // The tab that showed a pushed line tells us it was seen (idempotent: the read position only moves forward).
  app.get<IdReq & { Querystring: Static<typeof SeenQuery> }>(
    '/orders/:id/chat/seen',
    { preHandler: requireUser, schema: { params: IdParams, querystring: SeenQuery } },
    async (req, reply) => {
      const o = await chat.partyOrder(req.params.id, req.user!.id);
      await chat.markRead(o.id, req.user!.id, req.query.upTo);
      return reply.code(204).send();
    },
  );

  app.post<IdReq & { Body: Static<typeof SendBody> }>(
    '/orders/:id/chat',
    { preHandler: requireUser, schema: { params: IdParams, body: SendBody } },
    async (req, reply) => {
      const userId = req.user!.id;
      const o = await chat.partyOrder(req.params.id, userId);
      await chat.send(o, userId, req.body.body);
      // htmx: a fresh, empty form (the line itself arrives over the WebSocket, in every tab).
      if (req.htmx) return reply.fragment('messages/chat-form', { orderId: o.id, max: CHAT_MAX, canSend: true });
      flash(req, 'info', 'messages.chat.sent');
      return goTo(req, reply, `/orders/${o.id}#chat`);
    },
  );

  // An ADMIN reads the chat of a disputed order (the parties see a line that this happened).
  app.get<IdReq & { Querystring: Static<typeof HistoryQuery> }>(
    '/admin/orders/:id/chat',
    { onRequest: requireRole('ADMIN'), schema: { params: IdParams, querystring: HistoryQuery } },
    async (req, reply) => {
      const o = await deps.orders.parties(req.params.id);
      if (!o || o.state !== 'DISPUTED') throw notFound();
      await chat.adminRead(o, req.user!.id);
      return page(req, reply, o, true);
    },
  );

  // Reports (the moderation queue): a chat line, for its parties; staff may see any.
  app.reportTargets.register('MESSAGE', async (id, viewerId, opts) => {
    const m = await deps.db.chatMessage.findUnique({ where: { id } });
    if (!m || m.kind !== 'TEXT') return null;
    const o = await deps.orders.parties(m.orderId);
    if (!o) return null;
    if (!opts.staff && (m.hiddenAt || (viewerId !== o.buyerId && viewerId !== o.sellerId))) return null;
    return {
      ownerId: m.senderId,
      summary: [...m.body].slice(0, 300).join(''),
      href: opts.staff ? `/admin/orders/${o.id}/chat#chat-m-${m.id}` : `/orders/${o.id}/chat#chat-m-${m.id}`,
      hidden: Boolean(m.hiddenAt),
    };
  });
  // Moderation hides or restores a line inside the moderator's transaction (an open tab shows it on reload or reconnect).
  app.reportTargets.registerHider('MESSAGE', async (tx, id, hidden) => {
    const m = await tx.chatMessage.findUnique({ where: { id }, select: { kind: true, hiddenAt: true } });
    if (!m || m.kind !== 'TEXT') return null;
    const before = { hiddenAt: m.hiddenAt?.toISOString() ?? null };
    if (Boolean(m.hiddenAt) === hidden) return { changed: false, before, after: before };
    const at = hidden ? new Date() : null;
    const r = await tx.chatMessage.updateMany({ where: { id, hiddenAt: m.hiddenAt }, data: { hiddenAt: at } });
    if (!r.count) return { changed: false, before, after: before };
    return { changed: true, before, after: { hiddenAt: at?.toISOString() ?? null } };
  });
}
