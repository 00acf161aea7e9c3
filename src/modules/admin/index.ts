/**
 * admin: the shell over every module's admin pages. It owns no tables and no decisions: the
 * layout's menu (modules add their entries to core/admin-nav.ts), the dashboard (numbers read
 * from the modules' public APIs and the Prometheus registry) and the audit log's page (the log
 * itself is core/audit.ts, written by the modules that act). A leaf: nobody imports it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { adminRoutes } from './routes.js';
import { moderationApi } from '../moderation/index.js';
import { ordersApi } from '../orders/index.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export const adminModule: FastifyPluginAsync = async (app) => {
  addMessages('admin', { ko, en });
  app.views.module('admin', import.meta.url);
  await adminRoutes(app, {
    openReports: moderationApi(app.db).openReports,
    ordersByState: () => ordersApi(app.db).countsByState(),
  });
};
