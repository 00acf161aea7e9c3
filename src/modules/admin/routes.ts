/**
 * The admin shell's own pages: the dashboard (/admin, polled by htmx) and the audit log
 * (/admin/audit, filters, CSV export). Other modules keep their admin pages and add their menu
 * entries (core/admin-nav.ts); every route here is guarded by accounts' requireRole.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { AppError } from '../../core/errors.js';
import { AUDIT_CSV_HEADER, auditCsvLine, searchAudit, type AuditFilters } from '../../core/audit.js';
import { requireRole } from '../accounts/index.js';
import { dashboardModel, type DashboardExtra } from './dashboard.js';

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';
const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ pattern: '^\\d{0,10}$' })),
  action: Type.Optional(Type.String({ maxLength: 60, pattern: '^[a-z0-9_.]*\\*?$' })),
  targetKind: Type.Optional(Type.String({ maxLength: 30, pattern: '^[a-z0-9_]*$' })),
  targetId: Type.Optional(Type.String({ maxLength: 60, pattern: '^[A-Za-z0-9_:-]*$' })),
  from: Type.Optional(Type.String({ pattern: `(${DATE})|^$` })),
  to: Type.Optional(Type.String({ pattern: `(${DATE})|^$` })),
  before: Type.Optional(Type.String({ pattern: '^\\d{0,19}$' })),
  lang: Type.Optional(Type.String()),
});
type AuditQueryT = Static<typeof AuditQuery>;

const ORDER_STATES = [
  'AWAITING_ADDRESS',
  'AWAITING_SHIPMENT',
  'SHIPPED',
  'RECEIVED',
  'COMPLETED',
  'DISPUTED',
  'CANCELLED',
] as const;

const PAGE = 100;
const CSV_MAX = 50_000;

function dateOf(s: string | undefined, plusDay = false): Date | undefined {
  if (!s) return undefined;
  const d = new Date(`${s}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) throw new AppError(400, 'admin.audit.badDate', {}, 'BAD_DATE');
  return plusDay ? new Date(d.getTime() + 86_400_000) : d;
}

function filtersOf(q: AuditQueryT): AuditFilters {
  const actor = q.actor ? Number(q.actor) : undefined;
  if (actor !== undefined && actor > 2_147_483_647) throw new AppError(400, 'admin.audit.badActor', {}, 'BAD_ACTOR');
  return {
    actorId: actor,
    action: q.action || undefined,
    targetKind: q.targetKind || undefined,
    targetId: q.targetId || undefined,
    from: dateOf(q.from),
    // "to" is a day: everything on it is included.
    to: dateOf(q.to, true),
    beforeId: q.before ? BigInt(q.before) : undefined,
  };
}

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v, null, 1));

export async function adminRoutes(app: FastifyInstance, extra: DashboardExtra) {
  const moderator = requireRole('MODERATOR');
  const admin = requireRole('ADMIN');
  app.adminNav.add({ href: '/admin', labelKey: 'admin.nav.dashboard', minRole: 'MODERATOR', order: 0 });
  app.adminNav.add({ href: '/admin/audit', labelKey: 'admin.nav.audit', minRole: 'ADMIN', order: 80 });

  const stats = async (req: FastifyRequest) => {
    const m = await dashboardModel(app, extra);
    return {
      ...m,
      // Every state, zeros included, in the orders module's words.
      orders: m.orders
        ? ORDER_STATES.map((state) => ({
            state,
            label: req.t(`orders.state.${state}`),
            count: m.orders![state] ?? 0,
          }))
        : null,
      isAdmin: req.user?.role === 'ADMIN',
    };
  };

  app.get('/admin', { onRequest: moderator }, async (req, reply) =>
    reply.page('admin/dashboard', { stats: await stats(req) }, { title: req.t('admin.dashboard.title') }),
  );
  // Polled by the dashboard every 10 s (htmx): the numbers only.
  app.get('/admin/dashboard/stats', { onRequest: moderator }, async (req, reply) =>
    reply.fragment('admin/stats', await stats(req)),
  );

  app.get<{ Querystring: AuditQueryT }>(
    '/admin/audit',
    { onRequest: admin, schema: { querystring: AuditQuery } },
    async (req, reply) => {
      const rows = await searchAudit(app.db, filtersOf(req.query), PAGE + 1);
      const more = rows.length > PAGE;
      const shown = rows.slice(0, PAGE).map((r) => ({
        ...r,
        id: String(r.id),
        beforeText: json(r.before),
        afterText: json(r.after),
      }));
      const { before: _b, lang: _l, ...kept } = req.query;
      const qs = new URLSearchParams(Object.entries(kept).filter(([, v]) => v) as [string, string][]);
      const nextQs = new URLSearchParams(qs);
      if (more) nextQs.set('before', shown.at(-1)!.id);
      return reply.page(
        'admin/audit',
        {
          rows: shown,
          filters: req.query,
          csvHref: `/admin/audit.csv${qs.size ? `?${qs}` : ''}`,
          nextHref: more ? `/admin/audit?${nextQs}` : null,
        },
        { title: req.t('admin.audit.title') },
      );
    },
  );

  app.get<{ Querystring: AuditQueryT }>(
    '/admin/audit.csv',
    { onRequest: admin, schema: { querystring: AuditQuery } },
    async (req, reply) => {
      const f = filtersOf(req.query);
      const lines = [AUDIT_CSV_HEADER.join(',')];
      // Pages of 1,000 by id (newest first), up to CSV_MAX rows.
      for (let left = CSV_MAX; left > 0;) {
        const rows = await searchAudit(app.db, f, Math.min(1000, left));
        for (const r of rows) lines.push(auditCsvLine(r));
        if (rows.length < 1000) break;
        left -= rows.length;
        f.beforeId = rows.at(-1)!.id;
      }
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="dapanda-audit-${stamp}.csv"`)
        .header('x-content-type-options', 'nosniff')
        .send(`\uFEFF${lines.join('\r\n')}\r\n`);
    },
  );
}
