/** Admin dispute desk: /admin/disputes lists open disputes; an ADMIN resolves one (refund, release or split). */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { flash } from '../../core/auth.js';
import { AppError } from '../../core/errors.js';
import { actorOf } from '../../core/audit.js';
import { requireRole } from '../accounts/index.js';
import { goTo } from '../../core/redirect.js';
import * as svc from './service.js';
import type { RouteDeps } from './routes.js';
import { disputePhotoViews } from './dispute-photos.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const ResolveBody = Type.Object({
  resolution: Type.Union([Type.Literal('REFUND'), Type.Literal('RELEASE'), Type.Literal('SPLIT')]),
  buyerAmount: Type.Optional(Type.String({ maxLength: 20 })),
  sellerAmount: Type.Optional(Type.String({ maxLength: 20 })),
  note: Type.Optional(Type.String({ maxLength: 4000 })),
  _csrf: Type.Optional(Type.String()),
});

/** The server checks the role on every admin request (the page hiding a button is not a check). */
const requireAdmin = requireRole('ADMIN');

const won = (raw: string | undefined): number | null => {
  const s = (raw ?? '').replace(/[,\s원]/g, '');
  if (!/^\d{1,10}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
};

export async function ordersAdminRoutes(app: FastifyInstance, deps: RouteDeps) {
  app.adminNav.add({ href: '/admin/disputes', labelKey: 'orders.admin.title', minRole: 'ADMIN', order: 30 });
  app.get('/admin/disputes', { onRequest: requireAdmin }, async (req, reply) => {
    const rows = await deps.db.orderDispute.findMany({
      include: { order: true },
      orderBy: [{ resolvedAt: { sort: 'desc', nulls: 'first' } }, { id: 'asc' }],
      take: 200,
    });
    const [titles, photos] = await Promise.all([
      deps.catalog.titles(rows.map((r) => r.order.listingId)),
      disputePhotoViews(deps.db, rows),
    ]);
    const view = rows.map((d) => ({
      ...d,
      photos: photos.get(d.id) ?? [],
      title: titles.get(d.order.listingId) ?? `#${d.order.listingId}`,
      price: d.order.price,
      reasonLabel: req.t(`orders.disputeReasons.${d.reason}`),
      resolutionLabel: d.resolution ? req.t(`orders.resolution.${d.resolution}`) : null,
    }));
    return reply.page(
      'orders/admin-disputes',
      { open: view.filter((d) => !d.resolution), resolved: view.filter((d) => d.resolution) },
      { title: req.t('orders.admin.title') },
    );
  });

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ResolveBody> }>(
    '/admin/disputes/:id/resolve',
    { onRequest: requireAdmin, schema: { params: IdParams, body: ResolveBody } },
    async (req, reply) => {
      const b = req.body;
      const note = (b.note ?? '').normalize('NFC').trim();
      if (note.length < 2 || note.length > 2000)
        throw new AppError(422, 'orders.errors.resolutionNote', {}, 'VALIDATION');
      let r: svc.Resolution;
      if (b.resolution === 'SPLIT') {
        const buyerAmount = won(b.buyerAmount);
        const sellerAmount = won(b.sellerAmount);
        if (buyerAmount === null || sellerAmount === null)
          throw new AppError(422, 'orders.errors.splitAmounts', {}, 'VALIDATION');
        r = { kind: 'SPLIT', buyerAmount, sellerAmount };
      } else r = { kind: b.resolution };
      await svc.resolveDispute(deps, req.params.id, actorOf(req), r, note);
      flash(req, 'info', 'orders.admin.resolved', { id: req.params.id });
      return goTo(req, reply, '/admin/disputes');
    },
  );
}
