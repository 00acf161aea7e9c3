/**
 * moderation: users' reports (of a listing, a user, a question, a chat message: each resolved by
 * the module that owns it through core/report-targets.ts) and the moderators' queue
 * (/admin/reports) with its actions, which go through the owning modules' APIs: catalog hides,
 * bidding force-cancels, accounts suspends and bans, messages hides questions and chat lines (its
 * registered hider). Emits `user.warned` and `user.sanctioned` (durable, events.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import type { Db } from '../../core/db/index.js';
import { moderationDeps, openReportsCount } from './service.js';
import { reportRoutes } from './routes.js';
import { moderationAdminRoutes } from './admin-routes.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { UserWarned, UserSanctioned } from './events.js';
export { userWarned, userSanctioned } from './events.js';

export const moderationModule: FastifyPluginAsync = async (app) => {
  addMessages('moderation', { ko, en });
  app.views.module('moderation', import.meta.url);
  const deps = moderationDeps(app.db, app.events, app.reportTargets);
  await reportRoutes(app, deps);
  await moderationAdminRoutes(app, deps);
};

/** What other modules may read (the admin dashboard). */
export function moderationApi(db: Db) {
  return {
    /** Reports waiting for a moderator. */
    openReports: () => openReportsCount(db),
  };
}
