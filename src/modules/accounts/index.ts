/**
 * accounts: users, sessions, profiles and roles. Other modules use `findUser` and
 * `publicProfiles` for names and join dates; nobody else reads the users table.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { accountsRoutes } from './routes.js';
import * as svc from './service.js';
import { accountsJobs } from './jobs.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { PublicUser } from './service.js';

export const accountsModule: FastifyPluginAsync<{ keyPrefix: string; publicUrl: string }> = async (app, opts) => {
  addMessages('accounts', { ko, en });
  app.views.module('accounts', import.meta.url);
  const deps: svc.AccountsDeps = {
    db: app.db,
    redis: app.redis,
    prefix: opts.keyPrefix,
    mail: app.mail,
    publicUrl: opts.publicUrl,
  };
  await accountsRoutes(app, deps, accountsJobs(app, deps));
};

export interface AccountsApi {
  findUser(id: number): Promise<svc.PublicUser | null>;
  publicProfiles(ids: number[]): ReturnType<typeof svc.publicProfiles>;
  /** Address, nickname and language of several users (for mail other modules send them). */
  contacts(ids: number[]): Promise<Map<number, { id: number; email: string; nickname: string; locale: string }>>;
}

export function accountsApi(db: svc.AccountsDeps['db']): AccountsApi {
  return {
    findUser: (id) => svc.findUser({ db }, id),
    publicProfiles: (ids) => svc.publicProfiles({ db }, ids),
    contacts: async (ids) => {
      const rows = await db.user.findMany({
        where: { id: { in: [...new Set(ids)] } },
        select: { id: true, email: true, nickname: true, locale: true },
      });
      return new Map(rows.map((r) => [r.id, r]));
    },
  };
}

/** For seeds and tests: create a user with a hashed password, bypassing the form. */
export async function createUserDirect(
  db: svc.AccountsDeps['db'],
  u: { email: string; nickname: string; password: string; role?: 'USER' | 'ADMIN' },
) {
  const passwordHash = await svc.hashPassword(u.password, svc.ARGON_OPTIONS);
  return db.user.upsert({
    where: { email: u.email },
    update: {},
    create: { email: u.email, nickname: u.nickname, passwordHash, role: u.role ?? 'USER' },
  });
}
