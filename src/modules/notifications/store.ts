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

type MailState = 'NONE' | 'PENDING' | 'DIGEST';

/** How each new row is to be mailed, from its user's choices (one read for all the users). */
async function mailStates(tx: Tx, items: NewNotification[]): Promise<(n: NewNotification) => MailState> {
  const users = [...new Set(items.map((n) => n.userId))];
  const prefs = new Map(
    (users.length ? await tx.notificationPref.findMany({ where: { userId: { in: users } } }) : []).map((p) => [
      p.userId,
      p,
    ]),
  );
  return (n) => {
    const p = prefs.get(n.userId);
    if (p?.unsubscribed) return 'NONE';
    if (!(p ? p.emailKinds : DEFAULT_EMAIL_KINDS).includes(n.kind)) return 'NONE';
    return p?.digest ? 'DIGEST' : 'PENDING';
  };
}

/** A row to insert: the item, its group's first source (the unique key) and the source it shows. */
type Insert = { n: NewNotification; sourceKey: string; lastSource: string };

/** One INSERT … ON CONFLICT (source_key) DO NOTHING per 500 rows; the rows written (not the ones already there). */
async function insertRows(tx: Tx, rows: Insert[]): Promise<Written[]> {
  const out: Written[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const state = await mailStates(
      tx,
      chunk.map((r) => r.n),
    );
    const got = await tx.$queryRaw<{ id: bigint; source_key: string }[]>`
      INSERT INTO notifications (user_id, kind, source_key, group_key, params, link, last_source, mail_state, created_at, updated_at)
      SELECT u, k, s, g, p::jsonb, l, ls, m, now(), now()
        FROM unnest(${chunk.map((r) => r.n.userId)}::int[], ${chunk.map((r) => r.n.kind)}::text[],
                    ${chunk.map((r) => r.sourceKey)}::text[], ${chunk.map((r) => r.n.groupKey ?? null)}::text[],
                    ${chunk.map((r) => JSON.stringify(r.n.params))}::text[], ${chunk.map((r) => r.n.link)}::text[],
                    ${chunk.map((r) => r.lastSource)}::text[], ${chunk.map((r) => state(r.n))}::text[])
             AS x(u, k, s, g, p, l, ls, m)
      ON CONFLICT (source_key) DO NOTHING RETURNING id, source_key`;
    const bySource = new Map(got.map((r) => [r.source_key, r.id]));
    for (const r of chunk) {
      const id = bySource.get(r.sourceKey);
      if (id !== undefined) out.push({ id: id.toString(), userId: r.n.userId, created: true });
    }
  }
  return out;
}

/**
 * Grouped items (bursts that coalesce): per (user, group), the newest unread row younger than
 * COALESCE_MS is updated in place, else a row is inserted. A group's items fold in their order
 * exactly as one write after another would (`replaces` decides against what is stored so far),
 * but the whole set costs four statements, not three per item: the groups' locks (one writer per
 * group at a time, so two bursts never both insert; taken in sorted order, so two writers never
 * wait on each other in a circle), their rows, one UPDATE, one INSERT.
 */
async function writeGrouped(tx: Tx, items: NewNotification[]): Promise<Written[]> {
  const groups = new Map<string, NewNotification[]>();
  for (const n of items) {
    const k = `${n.userId}:${n.groupKey}`;
    const g = groups.get(k);
    if (g) g.push(n);
    else groups.set(k, [n]);
  }
  const keys = [...groups.keys()].sort();
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('notif:' || k)) FROM unnest(${keys}::text[]) AS k`;
  const firsts = keys.map((k) => groups.get(k)![0]);
  const recent = await tx.$queryRaw<{ id: bigint; user_id: number; group_key: string; params: Prisma.JsonValue }[]>`
    SELECT DISTINCT ON (n.user_id, n.group_key) n.id, n.user_id, n.group_key, n.params
      FROM notifications n
      JOIN unnest(${firsts.map((n) => n.userId)}::int[], ${firsts.map((n) => n.groupKey!)}::text[]) AS g(u, k)
        ON n.user_id = g.u AND n.group_key = g.k
     WHERE n.read_at IS NULL AND n.created_at > ${new Date(Date.now() - COALESCE_MS)}
     ORDER BY n.user_id, n.group_key, n.id DESC`;
  const stored = new Map(recent.map((r) => [`${r.user_id}:${r.group_key}`, r]));
  const out: Written[] = [];
  const updates: { id: string; n: NewNotification }[] = [];
  const inserts: Insert[] = [];
  for (const k of keys) {
    const g = groups.get(k)!;
    const row = stored.get(k);
    let current = row ? ((row.params ?? {}) as Params) : undefined;
    let pick: NewNotification | undefined;
    for (const n of g)
      if (current === undefined || !n.replaces || n.replaces(current, n.params)) {
        current = n.params;
        pick = n;
      }
    if (!row) inserts.push({ n: pick!, sourceKey: g[0].sourceKey, lastSource: pick!.sourceKey });
    else {
      if (pick) updates.push({ id: row.id.toString(), n: pick });
      out.push({ id: row.id.toString(), userId: g[0].userId, created: false });
    }
  }
  if (updates.length)
    await tx.$executeRaw`
      UPDATE notifications n SET params = u.p::jsonb, link = u.l, last_source = u.s, updated_at = now()
        FROM unnest(${updates.map((u) => u.id)}::bigint[], ${updates.map((u) => JSON.stringify(u.n.params))}::text[],
                    ${updates.map((u) => u.n.link)}::text[], ${updates.map((u) => u.n.sourceKey)}::text[]) AS u(id, p, l, s)
       WHERE n.id = u.id`;
  out.push(...(await insertRows(tx, inserts)));
  return out;
}

/**
 * Writes many notifications once each (inside the caller's transaction): the grouped ones
 * coalesced (writeGrouped), the rest in two statements per 500 (the users' mail choices, then one
 * INSERT … ON CONFLICT DO NOTHING), so a fan-out to 1,000 watchers or a relay batch's burst of
 * outbids is a few round trips, not thousands. Already-written ones are left out of the result.
 */
export async function writeMany(tx: Tx, items: NewNotification[]): Promise<Written[]> {
  const grouped = items.filter((n) => n.groupKey);
  const plain = items.filter((n) => !n.groupKey).map((n) => ({ n, sourceKey: n.sourceKey, lastSource: n.sourceKey }));
  return [...(grouped.length ? await writeGrouped(tx, grouped) : []), ...(await insertRows(tx, plain))];
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
