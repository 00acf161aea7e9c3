/**
 * Roles (USER < MODERATOR < ADMIN) and restrictions (suspended until a date, banned). The one
 * server-side guard for admin pages is `requireRole(min)`: it runs at the route's onRequest (so
 * before body validation and the CSRF check: an outsider learns nothing about a route's input)
 * and reads the role from the database on every request, so a revoked role or a suspension takes
 * effect at once, not at the next login. Every /admin route must carry it: `adminRouteGuardCheck`
 * refuses to register one that does not (the app does not start), and
 * test/integration/admin-roles.test.ts tries every /admin route as anonymous, USER and MODERATOR.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from '../../core/errors.js';
import { audit, type AuditActor } from '../../core/audit.js';
import { transaction, type Db, type Sql, type Tx } from '../../core/db/index.js';
import { hxRedirect, loginUrl } from '../../core/redirect.js';

export const ROLES = ['USER', 'MODERATOR', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];
const rank = (r: string) => ROLES.indexOf(r as Role);
export const isRole = (r: unknown): r is Role => typeof r === 'string' && rank(r) >= 0;
/** Whether `role` may do what `min` may. */
export const roleAtLeast = (role: string, min: Role) => rank(role) >= rank(min);

export type Restriction = { kind: 'banned'; since: Date } | { kind: 'suspended'; until: Date } | null;

export function restrictionOf(
  u: { suspendedUntil: Date | null; bannedAt: Date | null },
  now = new Date(),
): Restriction {
  if (u.bannedAt) return { kind: 'banned', since: u.bannedAt };
  if (u.suspendedUntil && u.suspendedUntil > now) return { kind: 'suspended', until: u.suspendedUntil };
  return null;
}

/** The error every refused action of a restricted user gets (login, bid, list). */
export class AccountRestricted extends AppError {
  constructor(readonly restriction: NonNullable<Restriction>) {
    super(
      403,
      restriction.kind === 'banned' ? 'accounts.errors.banned' : 'accounts.errors.suspended',
      restriction.kind === 'suspended' ? { until: restriction.until.toISOString().slice(0, 16).replace('T', ' ') } : {},
      'ACCOUNT_RESTRICTED',
    );
  }
}

const GUARD = Symbol.for('dapanda.requireRole');
type Guard = ((req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | void>) & { [GUARD]: Role };

/**
 * The guard of every admin route: `{ onRequest: requireRole('MODERATOR') }`. Anonymous: the
 * login form (htmx and JSON: 401); logged in below `min`, suspended or banned: 403.
 */
export function requireRole(min: Exclude<Role, 'USER'>): Guard {
  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const session = req.session?.user;
    if (!session) {
      const login = loginUrl(req.url);
      if (req.htmx) return hxRedirect(reply, login, 401);
      const accept = req.headers.accept ?? '';
      if (accept.includes('application/json') && !accept.includes('text/html'))
        return reply
          .code(401)
          .send({ error: { code: 'LOGIN_REQUIRED', message: req.t('accounts.errors.loginRequired') } });
      return reply.redirect(login, 303);
    }
    const u = await req.server.db.user.findUnique({
      where: { id: session.id },
      select: { role: true, suspendedUntil: true, bannedAt: true },
    });
    if (!u || restrictionOf(u) || !roleAtLeast(u.role, min))
      throw new AppError(403, 'accounts.errors.roleRequired', {}, 'FORBIDDEN');
    // The role as it is now (a grant or revoke since the login shows at once).
    if (session.role !== u.role) req.session.user = { ...session, role: u.role };
    req.user = { ...session, role: u.role };
  };
  return Object.assign(guard, { [GUARD]: min });
}

/** The minimum role a route's guard asks for, or null when it has none. */
export function guardOf(route: Pick<RouteOptions, 'onRequest'>): Role | null {
  const hooks = [route.onRequest ?? []].flat() as unknown[];
  for (const h of hooks) if (typeof h === 'function' && GUARD in h) return (h as Guard)[GUARD];
  return null;
}

/** onRoute hook (src/app.ts): an /admin route without requireRole is a startup error, not a hole. */
export function adminRouteGuardCheck(route: RouteOptions): void {
  const url = route.url;
  if ((url === '/admin' || url.startsWith('/admin/')) && !guardOf(route))
    throw new Error(`${String(route.method)} ${url} has no requireRole guard in onRequest (accounts/roles.ts)`);
}

/** A user as the role page shows them. */
export interface RoleRow {
  id: number;
  email: string;
  nickname: string;
  role: Role;
  suspendedUntil: Date | null;
  bannedAt: Date | null;
}

const ROW = { id: true, email: true, nickname: true, role: true, suspendedUntil: true, bannedAt: true } as const;

export async function staff(db: Db): Promise<RoleRow[]> {
  return db.user.findMany({ where: { role: { not: 'USER' } }, select: ROW, orderBy: { id: 'asc' }, take: 200 });
}

export async function findByEmail(db: Db | Tx, email: string): Promise<RoleRow | null> {
  return db.user.findUnique({ where: { email: email.trim().toLowerCase() }, select: ROW });
}

export class UnknownAccount extends AppError {
  constructor(readonly who: string) {
    super(404, 'accounts.errors.unknownAccount', { who }, 'UNKNOWN_ACCOUNT');
  }
}

/**
 * Sets a user's role, audited in the same transaction. An admin cannot take away their own ADMIN
 * role (so the last admin cannot lock everybody out by a slip).
 */
export async function setRole(
  db: Db,
  actor: AuditActor,
  target: { userId: number } | { email: string },
  role: Role,
  reason: string | null,
): Promise<{ before: Role; after: Role; user: RoleRow }> {
  return transaction(db, async (tx) => {
    const found =
      'userId' in target
        ? await tx.user.findUnique({ where: { id: target.userId }, select: { id: true } })
        : await tx.user.findUnique({ where: { email: target.email.trim().toLowerCase() }, select: { id: true } });
    if (!found) throw new UnknownAccount('userId' in target ? `#${target.userId}` : target.email);
    await tx.$executeRaw`SELECT 1 FROM users WHERE id = ${found.id} FOR UPDATE`;
    const user = (await tx.user.findUniqueOrThrow({ where: { id: found.id }, select: ROW })) as RoleRow;
    if (actor.id === user.id && user.role === 'ADMIN' && role !== 'ADMIN')
      throw new AppError(409, 'accounts.errors.ownAdminRole', {}, 'OWN_ROLE');
    const before = user.role;
    if (before !== role) {
      await tx.user.update({ where: { id: user.id }, data: { role } });
      await audit.record(tx, actor, {
        action: roleAtLeast(role, before) ? 'accounts.role.grant' : 'accounts.role.revoke',
        target: { kind: 'user', id: user.id },
        before: { role: before },
        after: { role },
        reason,
      });
    }
    return { before, after: role, user: { ...user, role } };
  });
}

export interface RestrictionChange {
  before: { suspendedUntil: string | null; bannedAt: string | null };
  after: { suspendedUntil: string | null; bannedAt: string | null };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Suspends (days > 0), bans (days = null) or lifts (days = 0) a user's restriction inside the
 * caller's transaction, with its audit row. Staff cannot be restricted (revoke the role first).
 */
export async function restrictUser(
  tx: Tx,
  actor: AuditActor,
  userId: number,
  change: { suspendDays: number } | { ban: true } | { lift: true },
  reason: string | null,
  /** More for the audit row's `after` (moderation: the auctions the suspension cancelled, the reports it resolved). */
  extra?: Record<string, unknown>,
): Promise<RestrictionChange> {
  const rows = await tx.$queryRaw<
    { id: number; role: string; suspended_until: Date | null; banned_at: Date | null; now: Date }[]
  >`SELECT id, role::text AS role, suspended_until, banned_at, now() AS now FROM users WHERE id = ${userId} FOR UPDATE`;
  if (!rows.length) throw new UnknownAccount(`#${userId}`);
  const u = rows[0];
  if (u.role !== 'USER' && !('lift' in change)) throw new AppError(409, 'accounts.errors.staffRestricted', {}, 'STAFF');
  const before = { suspendedUntil: iso(u.suspended_until), bannedAt: iso(u.banned_at) };
  let data: { suspendedUntil: Date | null; bannedAt: Date | null };
  if ('suspendDays' in change)
    data = { suspendedUntil: new Date(u.now.getTime() + change.suspendDays * 86_400_000), bannedAt: u.banned_at };
  else if ('ban' in change) data = { suspendedUntil: u.suspended_until, bannedAt: u.banned_at ?? u.now };
  else data = { suspendedUntil: null, bannedAt: null };
  await tx.user.update({ where: { id: userId }, data });
  const after = { suspendedUntil: iso(data.suspendedUntil), bannedAt: iso(data.bannedAt) };
  await audit.record(tx, actor, {
    action:
      'suspendDays' in change ? 'accounts.user.suspend' : 'ban' in change ? 'accounts.user.ban' : 'accounts.user.lift',
    target: { kind: 'user', id: userId },
    before,
    after: extra ? { ...after, ...extra } : after,
    reason,
  });
  return { before, after };
}

/**
 * The restricted users among `userIds` (suspended or banned now; the others may act), in one
 * statement on the caller's plain SQL: a bid batch's transaction reads it beside its other reads
 * (no round trip of its own). Only restricted rows come back, so the usual answer is none.
 */
export async function restrictionsOfSql(
  sql: Sql,
  userIds: readonly number[],
): Promise<Map<number, NonNullable<Restriction>>> {
  const out = new Map<number, NonNullable<Restriction>>();
  if (!userIds.length) return out;
  const rows = await sql.query<{ id: number; suspendedUntil: Date | null; bannedAt: Date | null }>(
    `SELECT id, suspended_until AS "suspendedUntil", banned_at AS "bannedAt" FROM users
      WHERE id = ANY($1::int[]) AND (banned_at IS NOT NULL OR suspended_until IS NOT NULL)`,
    [userIds],
  );
  for (const u of rows) {
    const r = restrictionOf(u);
    if (r) out.set(u.id, r);
  }
  return out;
}

/** The user's current restriction (null: may act), read from the database. */
export async function restrictionFor(db: Db | Tx, userId: number): Promise<Restriction> {
  // Raw SQL: this runs before every bid (assertMayAct), where a model query's compile-and-map
  // costs more CPU than the one-row read itself.
  const [u] = await db.$queryRaw<{ suspendedUntil: Date | null; bannedAt: Date | null }[]>`
    SELECT suspended_until AS "suspendedUntil", banned_at AS "bannedAt" FROM users WHERE id = ${userId}`;
  return u ? restrictionOf(u) : null;
}
