/** Admin payout queue: list withdrawal requests, mark one paid after the bank transfer, or reject it. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { flash } from '../../core/auth.js';
import { actorOf } from '../../core/audit.js';
import { requireRole } from '../accounts/index.js';
import { goTo } from '../../core/redirect.js';
import * as svc from './service.js';
import { payoutQueue } from './history.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const ActionBody = Type.Object({ _csrf: Type.Optional(Type.String()) });

const adminOnly = requireRole('ADMIN');

export async function walletAdminRoutes(app: FastifyInstance, deps: svc.WalletDeps) {
  app.adminNav.add({ href: '/admin/payouts', labelKey: 'wallet.admin.nav', minRole: 'ADMIN', order: 40 });
  app.get('/admin/payouts', { onRequest: adminOnly }, async (req, reply) => {
    const q = await payoutQueue(deps.db);
    const label = (p: { bankCode: string; status: string }) => ({
      bankName: req.t(`wallet.banks.b${p.bankCode}`),
      statusLabel: req.t(`wallet.payoutStatus.${p.status}`),
    });
    return reply.page(
      'wallet/admin-payouts',
      {
        requested: q.requested.map((p) => ({ ...p, ...label(p), total: p.amount + p.fee })),
        processed: q.processed.map((p) => ({ ...p, ...label(p) })),
      },
      { title: req.t('wallet.admin.title') },
    );
  });

  const action =
    (to: 'paid' | 'reject') =>
    async (req: FastifyRequest<{ Params: Static<typeof IdParams> }>, reply: FastifyReply) => {
      const r =
        to === 'paid'
          ? await svc.markPayoutPaid(deps, req.params.id, actorOf(req))
          : await svc.rejectPayout(deps, req.params.id, actorOf(req));
      flash(req, 'info', to === 'paid' ? 'wallet.admin.markedPaid' : 'wallet.admin.rejected', { id: req.params.id });
      return goTo(req, reply.header('x-replayed', String(r.replayed)), '/admin/payouts');
    };
  app.post<{ Params: Static<typeof IdParams> }>(
    '/admin/payouts/:id/paid',
    { onRequest: adminOnly, schema: { params: IdParams, body: ActionBody } },
    action('paid'),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    '/admin/payouts/:id/reject',
    { onRequest: adminOnly, schema: { params: IdParams, body: ActionBody } },
    action('reject'),
  );
}
