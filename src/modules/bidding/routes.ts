/** Bidding endpoints: bid / max bid, buy now, watch, the panel fragment, my bids, the watchlist. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { requireUser } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo, refererPath } from '../../core/redirect.js';
import type { BidResult } from './service.js';
import { placeBid } from './lanes.js';
import * as q from './queries.js';
import { announceBid } from './live.js';
import { panelModel, type PanelDeps } from './panel.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const BidBody = Type.Object({
  amount: Type.String({ maxLength: 40 }),
  requestKey: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9-]*$' })),
  /** The one-click "bid the minimum" button (as opposed to the maximum form). */
  quick: Type.Optional(Type.Literal('1')),
  _csrf: Type.Optional(Type.String()),
});
const BuyBody = Type.Object({
  requestKey: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9-]*$' })),
  _csrf: Type.Optional(Type.String()),
});
const WatchBody = Type.Object({
  watch: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')])),
  compact: Type.Optional(Type.Literal('1')),
  _csrf: Type.Optional(Type.String()),
});
const MyBidsQuery = Type.Object({
  filter: Type.Optional(
    Type.Union([
      Type.Literal('all'),
      Type.Literal('leading'),
      Type.Literal('outbid'),
      Type.Literal('won'),
      Type.Literal('lost'),
    ]),
  ),
  lang: Type.Optional(Type.String()),
});

/** Whole won, digits only (commas and spaces a person may type are dropped); null when it is not a whole number. */
export function parseAmount(raw: string): number | null {
  const s = raw.replace(/[,\s원₩]/g, '');
  if (!/^\d{1,12}$/.test(s)) return null;
  return Number(s);
}

export async function biddingRoutes(app: FastifyInstance, deps: PanelDeps) {
  const respond = async (
    req: FastifyRequest,
    reply: FastifyReply,
    id: number,
    res: BidResult | null,
    amount?: number,
    errorKey?: string,
    errorParams?: Record<string, unknown>,
  ) => {
    const model = await panelModel(deps, id, req.user?.id ?? null);
    // A cancelled auction has no panel any more; a bid on it still hears why it was refused.
    if (!model && res && !res.ok && res.reason === 'cancelled')
      throw new AppError(422, 'bidding.errors.cancelled', {}, 'CANCELLED');
    if (!model) throw notFound();
    let error: string | undefined;
    let notice: string | undefined;
    const won = (n: number) => new Intl.NumberFormat('ko-KR').format(n) + (req.lang === 'en' ? ' won' : '원');
    if (errorKey) error = req.t(errorKey, errorParams) as string;
    else if (res && !res.ok)
      error = req.t(`bidding.errors.${res.reason}`, { minimum: res.minimum ? won(res.minimum) : '' }) as string;
    else if (res?.ok) {
      if (res.duplicate) notice = req.t('bidding.duplicate') as string;
      else if (res.closed) notice = req.t('bidding.boughtNow', { price: won(res.snapshot.currentPrice) }) as string;
      else if (!res.leads) notice = req.t('bidding.outbidAtOnce', { price: won(res.snapshot.currentPrice) }) as string;
      else
        notice = req.t(amount && amount > res.snapshot.currentPrice ? 'bidding.acceptedMax' : 'bidding.accepted', {
          amount: won(amount ?? res.snapshot.currentPrice),
        }) as string;
    }
    const failed = !!error;
    if (!req.htmx) {
      // Without JavaScript: back to the item page (the panel there shows the outcome via flash).
      req.session.flash = {
        kind: failed ? 'error' : 'info',
        key: failed ? 'bidding.flashError' : 'bidding.flashOk',
        params: { message: error ?? notice ?? '' },
      };
      return goTo(req, reply, `/items/${id}#bid-panel-${id}`);
    }
    reply.code(failed ? 422 : 200);
    return reply.fragment('bidding/bid-panel', {
      ...model,
      extended: !!(res?.ok && res.extended),
      error,
      notice,
      openMax: failed && amount !== undefined,
      maxValue: failed ? amount : undefined,
    });
  };

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof BidBody> }>(
    '/items/:id/bids',
    {
      schema: { params: IdParams, body: BidBody },
      preHandler: requireUser,
      config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      // A suspended or banned user may not bid (403, read from the database).
      await deps.accounts.assertMayAct(req.user!.id);
      const id = req.params.id;
      const amount = parseAmount(req.body.amount);
      if (amount === null) return respond(req, reply, id, null, undefined, 'bidding.errors.amount_invalid');
      if (amount > deps.settings.maxBid)
        return respond(req, reply, id, null, amount, 'bidding.errors.amount_too_large', {
          max: deps.settings.maxBid.toLocaleString('ko-KR'),
        });
      const userId = req.user!.id;
      if (req.body.quick) {
        // The leader's one-click bid would only raise their own hidden maximum: say so instead.
        const lead = await deps.db.auction.findUnique({ where: { id }, select: { leaderId: true, status: true } });
        if (lead?.status === 'LIVE' && lead.leaderId === userId)
          return respond(req, reply, id, null, undefined, 'bidding.errors.already_leading');
      }
      // The form's key is scoped to the user: the same page pushed to many watchers carries one key.
      const requestKey = req.body.requestKey ? `${userId}-${req.body.requestKey}` : undefined;
      const res = await placeBid(deps, { auctionId: id, bidderId: userId, amount, requestKey });
      await announceBid(app, deps, res, userId);
      return respond(req, reply, id, res, amount);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof BuyBody> }>(
    '/items/:id/buy-now',
    { schema: { params: IdParams, body: BuyBody }, preHandler: requireUser },
    async (req, reply) => {
      const userId = req.user!.id;
      await deps.accounts.assertMayAct(userId);
      const requestKey = req.body.requestKey ? `${userId}-${req.body.requestKey}` : undefined;
      const res = await placeBid(deps, {
        auctionId: req.params.id,
        bidderId: userId,
        amount: 0,
        buyNow: true,
        requestKey,
      });
      await announceBid(app, deps, res, userId);
      return respond(req, reply, req.params.id, res);
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/items/:id/bid-panel',
    { schema: { params: IdParams } },
    async (req, reply) => {
      const model = await panelModel(deps, req.params.id, req.user?.id ?? null);
      if (!model) throw notFound();
      return reply.fragment('bidding/auction', model);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof WatchBody> }>(
    '/items/:id/watch',
    { schema: { params: IdParams, body: WatchBody }, preHandler: requireUser },
    async (req, reply) => {
      const id = req.params.id;
      const exists = await deps.db.auction.findUnique({ where: { id }, select: { id: true } });
      if (!exists) throw notFound();
      const userId = req.user!.id;
      const watch = req.body.watch !== '0';
      if (watch)
        await deps.db.watch.upsert({
          where: { userId_auctionId: { userId, auctionId: id } },
          create: { userId, auctionId: id },
          update: {},
        });
      else await deps.db.watch.deleteMany({ where: { userId, auctionId: id } });
      if (!req.htmx) return goTo(req, reply, refererPath(req, `/items/${id}`));
      return reply.fragment('bidding/watch-form', {
        auctionId: id,
        watching: watch,
        compact: req.body.compact === '1',
      });
    },
  );

  app.get<{ Querystring: Static<typeof MyBidsQuery> }>(
    '/my/bids',
    { schema: { querystring: MyBidsQuery }, preHandler: requireUser },
    async (req, reply) => {
      const filter = req.query.filter ?? 'all';
      const rows = await q.myBids(deps.db, req.user!.id, filter);
      const titles = await deps.catalog.titles(rows.map((r) => r.auctionId));
      return reply.page(
        'bidding/my-bids',
        { rows: rows.map((r) => ({ ...r, title: titles.get(r.auctionId) ?? `#${r.auctionId}` })), filter },
        { title: req.t('bidding.myBidsTitle') },
      );
    },
  );

  app.get('/my/watchlist', { preHandler: requireUser }, async (req, reply) => {
    const rows = await q.watchlist(deps.db, req.user!.id);
    const titles = await deps.catalog.titles(rows.map((r) => r.auctionId));
    return reply.page(
      'bidding/watchlist',
      { rows: rows.map((r) => ({ ...r, title: titles.get(r.auctionId) ?? `#${r.auctionId}` })) },
      { title: req.t('bidding.watchlistTitle') },
    );
  });
}
