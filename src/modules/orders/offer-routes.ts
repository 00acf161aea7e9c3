/**
 * Second-chance offers: the seller offers from the cancelled order's page (POST /orders/:id/offer),
 * the bidder answers on /offers/:id (accept: points held, a normal order; decline). Only the
 * offer's bidder and seller see it; anyone else gets 404.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import * as offers from './offers.js';
import type { RouteDeps } from './routes.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
type IdReq = { Params: Static<typeof IdParams> };
const EmptyBody = Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 200 })) });

export async function offerRoutes(app: FastifyInstance, deps: RouteDeps) {
  const planned = (p: Promise<void>, what: Record<string, unknown>) =>
    p.catch((err: Error) => app.log.warn({ err: err.message, ...what }, 'offer timer not planned'));

  app.post<IdReq>(
    '/orders/:id/offer',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      const f = await offers.makeOffer(deps, deps.runnerUp, req.params.id, req.user!.id);
      // With Redis away the sweeper expires it anyway.
      await planned(deps.timers.planOffer(f), { offerId: f.id });
      flash(req, 'info', 'orders.offer.flash.made');
      return goTo(req, reply, `/orders/${req.params.id}`);
    },
  );

  app.get<IdReq>('/offers/:id', { preHandler: requireUser, schema: { params: IdParams } }, async (req, reply) => {
    const userId = req.user!.id;
    const f = await offers.offerFor(deps.db, req.params.id, userId);
    const isBidder = f.bidderId === userId;
    const [titles, available] = await Promise.all([
      deps.catalog.titles([f.listingId]),
      isBidder ? deps.wallet.availableOf([userId]) : Promise.resolve(new Map<number, number>()),
    ]);
    const open = f.state === 'OPEN' && f.expiresAt > new Date();
    return reply.page(
      'orders/offer',
      {
        f,
        isBidder,
        title: titles.get(f.listingId) ?? `#${f.listingId}`,
        stateLabel: req.t(`orders.offer.state.${f.state}`),
        available: available.get(userId) ?? 0,
        short: isBidder ? Math.max(0, f.price - (available.get(userId) ?? 0)) : 0,
        canAnswer: isBidder && open,
      },
      { title: req.t('orders.offer.title') },
    );
  });

  app.post<IdReq>(
    '/offers/:id/accept',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      const o = await offers.acceptOffer(deps, req.params.id, req.user!.id);
      await planned(deps.timers.plan(o), { orderId: o.id });
      flash(req, 'info', 'orders.offer.flash.accepted');
      return goTo(req, reply, `/orders/${o.id}`);
    },
  );

  app.post<IdReq>(
    '/offers/:id/decline',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      await offers.declineOffer(deps, req.params.id, req.user!.id);
      flash(req, 'info', 'orders.offer.flash.declined');
      return goTo(req, reply, `/offers/${req.params.id}`);
    },
  );
}
