/**
 * accounts: users, sessions, profiles and roles. Other modules use `findUser` and
 * `publicProfiles` for names and join dates; nobody else reads the users table.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { accountsRoutes } from './routes.js';
import { profileRoutes } from './routes-profile.js';
import type { Storage } from '../../core/storage.js';
import * as svc from './service.js';
import { accountsJobs } from './jobs.js';
import { accountsAdminRoutes } from './admin-routes.js';
import { endAllSessions } from './sessions.js';
import * as roles from './roles.js';
import type { Db, Sql, Tx } from '../../core/db/index.js';
import type { AuditActor } from '../../core/audit.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { PublicUser } from './service.js';
export { DELETED_NICKNAME } from './service.js';
export type { Role, Restriction, RestrictionChange } from './roles.js';
/** The one role guard of admin routes: `{ onRequest: requireRole('MODERATOR') }`. */
export { requireRole, guardOf, adminRouteGuardCheck, roleAtLeast, AccountRestricted, UnknownAccount } from './roles.js';
export type { UserRestricted } from './events.js';
export { userRestricted } from './events.js';

export interface AccountsOptions {
  keyPrefix: string;
  publicUrl: string;
  /** Where profile photos go (the same storage as listing photos; /media/ serves both). */
  storage: Storage;
  /** The version of 이용약관 / 개인정보 수집·이용 a sign-up agrees to (site's TERMS_VERSION). */
  termsVersion: string;
  /** argon2id cost of new password hashes (config.passwordHashing). */
  passwordHashing: svc.PasswordHashing;
}

export const accountsModule: FastifyPluginAsync<AccountsOptions> = async (app, opts) => {
  addMessages('accounts', { ko, en });
  app.views.module('accounts', import.meta.url);
  const deps: svc.AccountsDeps = {
    db: app.db,
    redis: app.redis,
    prefix: opts.keyPrefix,
    mail: app.mail,
    publicUrl: opts.publicUrl,
    passwordHashing: opts.passwordHashing,
  };
  await accountsRoutes(app, deps, accountsJobs(app, deps), {
    termsVersion: opts.termsVersion,
    photoUrl: (key) => opts.storage.url(key),
  });
  await profileRoutes(app, {
    db: app.db,
    redis: app.redis,
    prefix: opts.keyPrefix,
    storage: opts.storage,
    passwordHashing: opts.passwordHashing,
  });
  await accountsAdminRoutes(app, app.db);
  // Reports of a user (moderation): any account that exists; the reporter sees its public profile.
  app.reportTargets.register('USER', async (id) => {
    const u = await app.db.user.findUnique({ where: { id }, select: { id: true, nickname: true } });
    return u ? { ownerId: u.id, summary: u.nickname, href: `/sellers/${u.id}` } : null;
  });
  // A suspended or banned user's sessions end at once (the instance where it happened does it).
  app.events.on('user.restricted', async (e, meta) => {
    if (meta.local && (e.kind === 'suspended' || e.kind === 'banned'))
      await endAllSessions(app.redis, opts.keyPrefix, e.userId);
  });
};

export type RestrictChange = { suspendDays: number } | { ban: true } | { lift: true };

export interface AccountsTxOps {
  /** Suspends for N days, bans or lifts, with its audit row, inside the caller's transaction. */
  restrictUser(
    actor: AuditActor,
    userId: number,
    change: RestrictChange,
    reason: string | null,
    extra?: Record<string, unknown>,
  ): Promise<roles.RestrictionChange>;
  /** The user's restriction now (null: may act). */
  restriction(userId: number): Promise<roles.Restriction>;
}

/** The restriction check of a bid, inside the caller's plain-SQL transaction (see `withSql`). */
export interface AccountsSqlOps {
  /** The restricted (suspended or banned) users among `userIds`, with their restriction; the others may act. */
  restrictionsOf(userIds: readonly number[]): Promise<Map<number, NonNullable<roles.Restriction>>>;
}

export interface AccountsApi {
  findUser(id: number): Promise<svc.PublicUser | null>;
  publicProfiles(ids: number[]): ReturnType<typeof svc.publicProfiles>;
  /** Address, nickname and language of several users (for mail other modules send them). */
  contacts(ids: number[]): Promise<Map<number, { id: number; email: string; nickname: string; locale: string }>>;
  /** The user's restriction now (null: may act). */
  restriction(userId: number): Promise<roles.Restriction>;
  /** Throws AccountRestricted (403) when the user is suspended or banned: bidding and listing call it. */
  assertMayAct(userId: number): Promise<void>;
  /** Users by exact nickname or e-mail (the moderation queue's search). */
  findByEmail(email: string): Promise<roles.RoleRow | null>;
  withTx(tx: Tx): AccountsTxOps;
  /**
   * assertMayAct's read for several users inside the caller's plain-SQL transaction (core/db
   * sqlTransaction: bidding's batches), so the check travels with the bid's own statements.
   */
  withSql(sql: Sql): AccountsSqlOps;
}

const txOps = (tx: Tx): AccountsTxOps => ({
  restrictUser: (actor, userId, change, reason, extra) => roles.restrictUser(tx, actor, userId, change, reason, extra),
  restriction: (userId) => roles.restrictionFor(tx, userId),
});

export function accountsApi(db: Db): AccountsApi {
  return {
    findUser: (id) => svc.findUser({ db }, id),
    publicProfiles: (ids) => svc.publicProfiles({ db }, ids),
    contacts: async (ids) => {
      // A deleted account has no address any more: nobody mails it.
      const rows = await db.user.findMany({
        where: { id: { in: [...new Set(ids)] }, deletedAt: null },
        select: { id: true, email: true, nickname: true, locale: true },
      });
      return new Map(rows.map((r) => [r.id, r]));
    },
    restriction: (userId) => roles.restrictionFor(db, userId),
    assertMayAct: async (userId) => {
      const r = await roles.restrictionFor(db, userId);
      if (r) throw new roles.AccountRestricted(r);
    },
    findByEmail: (email) => roles.findByEmail(db, email),
    withTx: txOps,
    withSql: (sql) => ({ restrictionsOf: (userIds) => roles.restrictionsOfSql(sql, userIds) }),
  };
}

/** For seeds and tests: create a user with a hashed password (at production's cost unless told), bypassing the form. */
export async function createUserDirect(
  db: svc.AccountsDeps['db'],
  u: { email: string; nickname: string; password: string; role?: roles.Role },
  cost: svc.PasswordHashing = svc.PASSWORD_HASHING,
) {
  const passwordHash = await svc.hashPassword(u.password, cost);
  return db.user.upsert({
    where: { email: u.email },
    update: {},
    create: { email: u.email, nickname: u.nickname, passwordHash, role: u.role ?? 'USER' },
  });
}

/**
 * `npm run admin:create -- <email>`: makes an existing account ADMIN (audited, actor "system").
 * There is no default password and no account is created: sign up first, then promote.
 */
export async function promoteToAdmin(
  db: Db,
  email: string,
): Promise<{ id: number; nickname: string; before: roles.Role }> {
  const res = await roles.setRole(db, { id: null, role: 'system' }, { email }, 'ADMIN', 'npm run admin:create');
  return { id: res.user.id, nickname: res.user.nickname, before: res.before };
}
