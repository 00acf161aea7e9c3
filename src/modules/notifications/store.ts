/**
 * The inbox table: idempotent writes (one row per source key), coalescing of bursts, reading
 * pages and counts, marking read. Every call takes a client or a transaction.
 */
import { Prisma, type Db, type Tx } from '../../core/db/index.js';
import { DEFAULT_EMAIL_KINDS, type Kind, type Params } from './kinds.js';

/** Bursts in one group within this window are one notification (the first one's time counts). */
export const COALESCE_MS = 60_000;
export const PAGE_SIZE = 20;

export interface NewNotification {
  userId: number;
  kind: Kind;
  /** Unique per source: the event id and role, or the timer and user. */
  sourceKey: string;
  params: Params;
  link: string;
  /** Same group within COALESCE_MS and still unread: the existing row is updated instead. */
  groupKey?: string;
  /** With a group: whether the new params should replace the stored ones (e.g. only a higher price). */
  replaces?: (stored: Params, next: Params) => boolean;
}

export interface Written {
  id: string;
  userId: number;
  /** A new row (false: an earlier row of its group was updated, or it was already written). */
  created: boolean;
}

export interface Row {
  id: bigint;
  userId: number;
  kind: string;
  params: Prisma.JsonValue;
  link: string;
  readAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** How a new row is to be mailed, from the user's choices. */
async function mailStateFor(tx: Tx | Db, userId: number, kind: Kind): Promise<'NONE' | 'PENDING' | 'DIGEST'> {
  const p = await tx.notificationPref.findUnique({ where: { userId } });
  if (p?.unsubscribed) return 'NONE';
  const kinds = p ? p.emailKinds : DEFAULT_EMAIL_KINDS;
  if (!kinds.includes(kind)) return 'NONE';
  return p?.digest ? 'DIGEST' : 'PENDING';
}

/** Writes one notification once (inside the caller's transaction). Returns null when it was already written. */
export async function write(tx: Tx, n: NewNotification): Promise<Written | null> {
  if (n.groupKey) {
    // One writer per (user, group) at a time, so two events of a burst never both insert.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`notif:${n.userId}:${n.groupKey}`}))`;
    const recent = await tx.notification.findFirst({
      where: {
        userId: n.userId,
        groupKey: n.groupKey,
        readAt: null,
        createdAt: { gt: new Date(Date.now() - COALESCE_MS) },
      },
      orderBy: { id: 'desc' },
    });
    if (recent) {
      const stored = (recent.params ?? {}) as Params;
      if (!n.replaces || n.replaces(stored, n.params))
        await tx.notification.update({
          where: { id: recent.id },
          data: { params: n.params, link: n.link, lastSource: n.sourceKey },
        });
      return { id: recent.id.toString(), userId: n.userId, created: false };
    }
  }
  const mailState = await mailStateFor(tx, n.userId, n.kind);
  const rows = await tx.$queryRaw<{ id: bigint }[]>`
    INSERT INTO notifications (user_id, kind, source_key, group_key, params, link, last_source, mail_state, created_at, updated_at)
    VALUES (${n.userId}, ${n.kind}, ${n.sourceKey}, ${n.groupKey ?? null}, ${JSON.stringify(n.params)}::jsonb, ${n.link},
            ${n.sourceKey}, ${mailState}, now(), now())
    ON CONFLICT (source_key) DO NOTHING RETURNING id`;
  if (!rows.length) return null;
  return { id: rows[0].id.toString(), userId: n.userId, created: true };
}

/**
 * Writes many notifications once each (inside the caller's transaction): grouped ones one by one (they coalesce under a lock), the rest in two statements per 500 (the
 * users' mail choices, then one INSERT … ON CONFLICT DO NOTHING), so a fan-out to 1,000 watchers
 * is a few round trips, not 2,000. Already-written ones are left out of the result.
 */
export async function writeMany(tx: Tx, items: NewNotification[]): Promise<Written[]> {
  const out: Written[] = [];
  const plain = items.filter((n) => !n.groupKey);
  for (const n of items.filter((n) => n.groupKey)) {
    const w = await write(tx, n);
    if (w) out.push(w);
  }
  for (let i = 0; i < plain.length; i += 500) {
    const chunk = plain.slice(i, i + 500);
    const prefs = new Map(
      (await tx.notificationPref.findMany({ where: { userId: { in: [...new Set(chunk.map((n) => n.userId))] } } })).map(
        (p) => [p.userId, p],
      ),
    );
    const state = (n: NewNotification) => {
      const p = prefs.get(n.userId);
      if (p?.unsubscribed) return 'NONE';
      if (!(p ? p.emailKinds : DEFAULT_EMAIL_KINDS).includes(n.kind)) return 'NONE';
      return p?.digest ? 'DIGEST' : 'PENDING';
    };
    const rows = await tx.$queryRaw<{ id: bigint; source_key: string }[]>`
      INSERT INTO notifications (user_id, kind, source_key, group_key, params, link, last_source, mail_state, created_at, updated_at)
      SELECT u, k, s, NULL, p::jsonb, l, s, m, now(), now()
        FROM unnest(${chunk.map((n) => n.userId)}::int[], ${chunk.map((n) => n.kind)}::text[],
                    ${chunk.map((n) => n.sourceKey)}::text[], ${chunk.map((n) => JSON.stringify(n.params))}::text[],
                    ${chunk.map((n) => n.link)}::text[], ${chunk.map(state)}::text[]) AS x(u, k, s, p, l, m)
      ON CONFLICT (source_key) DO NOTHING RETURNING id, source_key`;
    const bySource = new Map(rows.map((r) => [r.source_key, r.id]));
    for (const n of chunk) {
      const id = bySource.get(n.sourceKey);
      if (id !== undefined) out.push({ id: id.toString(), userId: n.userId, created: true });
    }
  }
  return out;
}

export async function unreadCount(db: Db, userId: number): Promise<number> {
  return db.notification.count({ where: { userId, readAt: null } });
}

/** A page of a user's inbox, newest first; `before`: the last id of the previous page. */
export async function page(
  db: Db,
  userId: number,
  before: bigint | null,
): Promise<{ rows: Row[]; next: string | null }> {
  const rows = await db.notification.findMany({
    where: { userId, ...(before !== null ? { id: { lt: before } } : {}) },
    orderBy: { id: 'desc' },
    take: PAGE_SIZE + 1,
  });
  const shown = rows.slice(0, PAGE_SIZE);
  return { rows: shown, next: rows.length > PAGE_SIZE ? shown[shown.length - 1].id.toString() : null };
}

/** Unread count and newest row of each of these users (the bells of a fan-out): two statements. */
export async function bells(db: Db, userIds: number[]): Promise<Map<number, { count: number; newest: Row | null }>> {
  const [counts, newest] = await Promise.all([
    db.$queryRaw<{ user_id: number; n: number }[]>`
      SELECT user_id, count(*)::int AS n FROM notifications
       WHERE user_id = ANY(${userIds}::int[]) AND read_at IS NULL GROUP BY user_id`,
    db.$queryRaw<
      {
        id: bigint;
        user_id: number;
        kind: string;
        params: Prisma.JsonValue;
        link: string;
        read_at: Date | null;
        created_at: Date;
        updated_at: Date;
      }[]
    >`
      SELECT n.id, n.user_id, n.kind, n.params, n.link, n.read_at, n.created_at, n.updated_at
        FROM unnest(${userIds}::int[]) AS u(id)
        CROSS JOIN LATERAL (SELECT * FROM notifications WHERE user_id = u.id ORDER BY id DESC LIMIT 1) n`,
  ]);
  const out = new Map<number, { count: number; newest: Row | null }>();
  for (const id of userIds) out.set(id, { count: 0, newest: null });
  for (const c of counts) out.get(c.user_id)!.count = c.n;
  for (const r of newest)
    out.get(r.user_id)!.newest = {
      id: r.id,
      userId: r.user_id,
      kind: r.kind,
      params: r.params,
      link: r.link,
      readAt: r.read_at,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  return out;
}

export async function findOwn(db: Db, userId: number, id: bigint): Promise<Row | null> {
  return db.notification.findFirst({ where: { id, userId } });
}

export async function latest(db: Db, userId: number): Promise<Row | null> {
  return db.notification.findFirst({ where: { userId }, orderBy: { id: 'desc' } });
}

/** Marks one of the user's notifications read; false when it is not theirs (or does not exist). */
export async function markRead(db: Db, userId: number, id: bigint): Promise<boolean> {
  const own = await db.notification.findFirst({ where: { id, userId }, select: { id: true, readAt: true } });
  if (!own) return false;
  if (!own.readAt) await db.notification.update({ where: { id }, data: { readAt: new Date() } });
  return true;
}

export async function markAllRead(db: Db, userId: number): Promise<number> {
  const r = await db.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date() } });
  return r.count;
}
