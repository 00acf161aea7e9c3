/** Admin payout queue: list withdrawal requests, mark one paid after the bank transfer, or reject it. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { requireUser, flash } from '../../core/auth.js';
import { AppError } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import * as svc from './service.js';
import { payoutQueue } from './history.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const ActionBody = Type.Object({ _csrf: Type.Optional(Type.String()) });

async function requireAdmin(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  await requireUser(req, reply);
  if (reply.sent) return;
  if (req.user!.role !== 'ADMIN') throw new AppError(403, 'wallet.errors.adminOnly', {}, 'FORBIDDEN');
}

export async function walletAdminRoutes(app: FastifyInstance, deps: svc.WalletDeps) {
  app.get('/admin/payouts', { preHandler: requireAdmin }, async (req, reply) => {
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
          ? await svc.markPayoutPaid(deps, req.params.id, req.user!.id)
          : await svc.rejectPayout(deps, req.params.id, req.user!.id);
      flash(req, 'info', to === 'paid' ? 'wallet.admin.markedPaid' : 'wallet.admin.rejected', { id: req.params.id });
      return goTo(req, reply.header('x-replayed', String(r.replayed)), '/admin/payouts');
    };
  app.post<{ Params: Static<typeof IdParams> }>(
    '/admin/payouts/:id/paid',
    { preHandler: requireAdmin, schema: { params: IdParams, body: ActionBody } },
    action('paid'),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    '/admin/payouts/:id/reject',
    { preHandler: requireAdmin, schema: { params: IdParams, body: ActionBody } },
    action('reject'),
  );
}
