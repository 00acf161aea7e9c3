/**
 * The moderators' queue (/admin/reports): open reports grouped by target with the target's summary
 * (its owning module's resolver), and the actions on it. `?targetType=&targetId=` opens one target
 * even without open reports (to restore a hidden listing). Every action is POST /admin/reports/act.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { flash } from '../../core/auth.js';
import { actorOf } from '../../core/audit.js';
import { AppError } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import type { ReportTargetKind } from '../../core/report-targets.js';
import { requireRole, roleAtLeast } from '../accounts/index.js';
import {
  ACTION_MIN_ROLE,
  MAX_SUSPEND_DAYS,
  MAX_TEXT,
  act,
  isAction,
  openGroups,
  parseTarget,
  reportsOn,
  type Action,
  type ModerationDeps,
} from './service.js';

const QueueQuery = Type.Object({
  targetType: Type.Optional(Type.String({ maxLength: 20 })),
  targetId: Type.Optional(Type.String({ maxLength: 20 })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
const ActBody = Type.Object({
  targetType: Type.String({ maxLength: 20 }),
  targetId: Type.String({ maxLength: 20 }),
  action: Type.String({ maxLength: 20 }),
  note: Type.Optional(Type.String({ maxLength: 20_000 })),
  days: Type.Optional(Type.String({ maxLength: 5 })),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});

export async function moderationAdminRoutes(app: FastifyInstance, deps: ModerationDeps) {
  const moderator = requireRole('MODERATOR');
  app.adminNav.add({ href: '/admin/reports', labelKey: 'moderation.admin.nav', minRole: 'MODERATOR', order: 10 });

  async function group(req: FastifyRequest, kind: ReportTargetKind, id: number, count: number) {
    const resolve = deps.targets.resolver(kind);
    const info = resolve ? await resolve(id, req.user!.id, { staff: true }) : null;
    const reports = await reportsOn(deps.db, kind, id);
    const names = await deps.accounts.publicProfiles([
      ...reports.map((r) => r.reporterId),
      ...(info?.ownerId ? [info.ownerId] : []),
    ]);
    const listing = kind === 'LISTING' ? await deps.catalog.moderationState(id) : null;
    const restriction = info?.ownerId ? await deps.accounts.restriction(info.ownerId) : null;
    const role = req.user!.role;
    const can = (a: Action) => roleAtLeast(role, ACTION_MIN_ROLE[a]);
    const owner = info?.ownerId
      ? {
          id: info.ownerId,
          nickname: names.get(info.ownerId)?.nickname ?? `#${info.ownerId}`,
          restriction: restriction
            ? restriction.kind === 'banned'
              ? req.t('moderation.admin.banned')
              : req.t('moderation.admin.suspendedUntil', { until: restriction.until.toISOString().slice(0, 16) })
            : null,
        }
      : null;
    const userActions = Boolean(owner) && owner!.id !== req.user!.id;
    const hideable =
      kind !== 'LISTING' && Boolean(info) && info!.hidden !== undefined && Boolean(deps.targets.hider(kind));
    return {
      kind,
      id,
      kindLabel: req.t(`moderation.kinds.${kind}`),
      count,
      gone: !info,
      summary: info?.summary.slice(0, 400) ?? req.t('moderation.admin.gone'),
      href: info?.href ?? null,
      owner,
      listing: listing
        ? { hidden: Boolean(listing.hiddenAt), status: req.t(`catalog.status.${listing.status}`) }
        : null,
      reports: reports.map((r) => ({
        id: r.id,
        reporter: names.get(r.reporterId)?.nickname ?? `#${r.reporterId}`,
        reason: req.t(`moderation.reasons.${r.reason}`),
        text: r.text,
        createdAt: r.createdAt,
      })),
      // A question or chat line its owning module can hide (it registered a hider and says whether it is hidden).
      contentHidden: hideable ? Boolean(info!.hidden) : null,
      actions: {
        hide: (Boolean(listing) && !listing!.hiddenAt) || (hideable && !info!.hidden),
        restore: Boolean(listing?.hiddenAt) || (hideable && Boolean(info!.hidden)),
        warn: userActions,
        suspend: userActions,
        ban: userActions && can('ban'),
        dismiss: reports.length > 0,
      },
    };
  }

  app.get<{ Querystring: Static<typeof QueueQuery> }>(
    '/admin/reports',
    { onRequest: moderator, schema: { querystring: QueueQuery } },
    async (req, reply) => {
      let groups;
      let focused = false;
      if (req.query.targetType || req.query.targetId) {
        const t = parseTarget(req.query.targetType, req.query.targetId);
        const open = await reportsOn(deps.db, t.kind, t.id);
        const g = await group(req, t.kind, t.id, open.length);
        if (g.gone) throw new AppError(404, 'errors.notFoundBody', {}, 'NOT_FOUND');
        groups = [g];
        focused = true;
      } else {
        const open = await openGroups(deps.db);
        groups = [];
        for (const g of open) groups.push(await group(req, g.kind, g.id, g.count));
      }
      return reply.page(
        'moderation/admin-reports',
        {
          groups,
          focused,
          max: MAX_TEXT,
          maxDays: MAX_SUSPEND_DAYS,
          kinds: deps.targets.kinds().map((k) => ({ value: k, label: req.t(`moderation.kinds.${k}`) })),
        },
        { title: req.t('moderation.admin.title') },
      );
    },
  );

  app.post<{ Body: Static<typeof ActBody> }>(
    '/admin/reports/act',
    { onRequest: moderator, schema: { body: ActBody } },
    async (req, reply) => {
      const t = parseTarget(req.body.targetType, req.body.targetId);
      const action = req.body.action;
      if (!isAction(action)) throw new AppError(422, 'moderation.errors.action', {}, 'BAD_ACTION');
      const daysRaw = req.body.days?.trim();
      const days = daysRaw ? (/^\d{1,3}$/.test(daysRaw) ? Number(daysRaw) : NaN) : undefined;
      const actor = { ...actorOf(req), id: req.user!.id };
      const res = await act(deps, actor, { kind: t.kind, targetId: t.id, action, note: req.body.note ?? '', days });
      const content = t.kind !== 'LISTING' && (action === 'hide' || action === 'restore');
      flash(req, 'info', `moderation.admin.done.${content ? `${action}Content` : action}`, {
        reports: res.resolved.length,
        auctions: res.cancelled.length,
      });
      return goTo(req, reply, '/admin/reports');
    },
  );
}
