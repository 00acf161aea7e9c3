/** Bidding endpoints: bid / max bid, buy now, watch, the panel fragment, my bids, the watchlist. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { randomUUID } from 'node:crypto';
import { requireUser, requireUserThen } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { AccountRestricted } from '../accounts/index.js';
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
const ConfirmQuery = Type.Object({
  amount: Type.String({ maxLength: 40 }),
  quick: Type.Optional(Type.Literal('1')),
  lang: Type.Optional(Type.String()),
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

/** The item page with its bid form open: where a bid's login comes back to (its POST URL is no page). */
export const bidFormPath = (id: number) => `/items/${id}?bid=1#bid-panel-${id}`;
const requireBidder = requireUserThen((req) => bidFormPath((req.params as { id: number }).id));

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
    // Checked inside the bid's transaction (PlaceBid.checkRestriction): the same 403 as assertMayAct's.
    if (res && !res.ok && res.reason === 'restricted') throw new AccountRestricted(res.restriction);
    const model = committedPanel(req, res) ?? (await panelModel(deps, id, req.user?.id ?? null));
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
    // Only the part of the panel a bid changes (bid-main): the watch button stays as it was.
    return reply.fragment('bidding/bid-main', {
      ...model,
      extended: !!(res?.ok && res.extended),
      error,
      notice,
      openMax: failed && amount !== undefined,
      maxValue: failed ? amount : undefined,
    });
  };

  /**
   * What a committed bid answers with, from its batch's own state (the auction after the batch,
   * the bidder's stored maximum), without a single read: the part of the panel it renders
   * (bid-main) shows neither the history, the chart nor the watch button, and the auction was LIVE
   * at commit (a listing cancelled since then shows on the next read, as it would have a moment
   * later anyway). Null: read the panel as usual (refusals, duplicates, buy-now, no htmx).
   */
  const committedPanel = (req: FastifyRequest, res: BidResult | null) => {
    if (!res?.ok || !res.committed || !req.user || !req.htmx) return null;
    const { after, myMax } = res.committed;
    return {
      a: after,
      requestKey: randomUUID(),
      viewer: { loggedIn: true, status: q.viewerStatus(after, req.user.id, true), myMax },
    };
  };

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof BidBody> }>(
    '/items/:id/bids',
    {
      schema: { params: IdParams, body: BidBody },
      preHandler: requireBidder,
      config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      // A suspended or banned user may not bid (403, read from the database): every answer below
      // is theirs only once that is checked. A bid is checked inside its own transaction, beside
      // the bid's reads (checkRestriction: no round trip of its own, nothing written when refused);
      // an answer given without one checks first (assertMayAct).
      const userId = req.user!.id;
      const mayAct = () => deps.accounts.assertMayAct(userId);
      const id = req.params.id;
      const amount = parseAmount(req.body.amount);
      if (amount === null) {
        await mayAct();
        return respond(req, reply, id, null, undefined, 'bidding.errors.amount_invalid');
      }
      if (amount > deps.settings.maxBid) {
        await mayAct();
        return respond(req, reply, id, null, amount, 'bidding.errors.amount_too_large', {
          max: deps.settings.maxBid.toLocaleString('ko-KR'),
        });
      }
      // The form's key is scoped to the user: the same page pushed to many watchers carries one key.
      const requestKey = req.body.requestKey ? `${userId}-${req.body.requestKey}` : undefined;
      if (req.body.quick) {
        // The leader's one-click bid would only raise their own hidden maximum: say so instead
        // (unless it is the same form again, a double tap on confirm: that is answered as a duplicate).
        const lead = await deps.db.auction.findUnique({ where: { id }, select: { leaderId: true, status: true } });
        const again = requestKey ? await deps.db.bid.count({ where: { requestKey } }) : 0;
        if (lead?.status === 'LIVE' && lead.leaderId === userId && !again) {
          await mayAct();
          return respond(req, reply, id, null, undefined, 'bidding.errors.already_leading');
        }
      }
      const res = await placeBid(deps, { auctionId: id, bidderId: userId, amount, requestKey, checkRestriction: true });
      if (!res.ok && res.reason === 'restricted') throw new AccountRestricted(res.restriction);
      await announceBid(app, deps, res, userId);
      return respond(req, reply, id, res, amount);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof BuyBody> }>(
    '/items/:id/buy-now',
    { schema: { params: IdParams, body: BuyBody }, preHandler: requireBidder },
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

  // The bid URL is a form target; anyone who lands on it (an old login link, a reload) gets the form.
  app.get<{ Params: Static<typeof IdParams> }>(
    '/items/:id/bids',
    { schema: { params: IdParams } },
    async (req, reply) => goTo(req, reply, bidFormPath(req.params.id)),
  );

  /**
   * The confirm step of a bid: the amount and the points it will hold, and the button that bids.
   * htmx: the step shown inside the panel (one more tap); without JavaScript: a page of its own.
   * It only reads; the POST it leads to decides the bid as before.
   */
  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ConfirmQuery> }>(
    '/items/:id/bids/confirm',
    { schema: { params: IdParams, querystring: ConfirmQuery }, preHandler: requireUser },
    async (req, reply) => {
      const id = req.params.id;
      const model = await panelModel(deps, id, req.user!.id);
      if (!model) throw notFound();
      const userId = req.user!.id;
      const a = model.a;
      const won = (n: number) => new Intl.NumberFormat('ko-KR').format(n) + (req.lang === 'en' ? ' won' : '원');
      const amount = parseAmount(req.query.amount);
      const raise = a.status === 'LIVE' && a.leaderId === userId;
      const heldNow = raise ? (model.viewer.myMax ?? 0) : 0;
      let error: string | undefined;
      if (a.status === 'ENDED') error = req.t('bidding.errors.ended') as string;
      else if (a.status !== 'LIVE') error = req.t('bidding.errors.not_started') as string;
      else if (a.sellerId === userId) error = req.t('bidding.errors.own_item') as string;
      else if (amount === null) error = req.t('bidding.errors.amount_invalid') as string;
      else if (amount > deps.settings.maxBid)
        error = req.t('bidding.errors.amount_too_large', {
          max: deps.settings.maxBid.toLocaleString('ko-KR'),
        }) as string;
      else if (raise && req.query.quick) error = req.t('bidding.errors.already_leading') as string;
      else if (raise && amount <= heldNow)
        error = req.t('bidding.errors.not_above_own_maximum', { minimum: won(heldNow + 1) }) as string;
      else if (!raise && amount < a.minimumBid)
        error = req.t('bidding.errors.below_minimum', { minimum: won(a.minimumBid) }) as string;
      const available = (await deps.wallet.availableOf([userId])).get(userId) ?? 0;
      const need = amount === null ? 0 : amount - heldNow;
      const confirm = {
        id,
        amount,
        quick: !!req.query.quick,
        raise,
        heldNow,
        extra: need,
        available,
        missing: Math.max(0, need - available),
        error,
        requestKey: randomUUID(),
      };
      if (error) reply.code(422);
      if (req.htmx) return reply.fragment('bidding/confirm-step', { confirm });
      const titles = await deps.catalog.titles([id]);
      return reply.page(
        'bidding/confirm',
        { confirm, title: titles.get(id) ?? `#${id}` },
        { title: req.t('bidding.confirmTitle') },
      );
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
      const exists = await deps.db.auction.findUnique({ where: { id }, select: { id: true, sellerId: true } });
      if (!exists) throw notFound();
      const userId = req.user!.id;
      const watch = req.body.watch !== '0';
      // A seller does not watch their own item (nothing is written).
      if (watch && exists.sellerId === userId) throw new AppError(409, 'bidding.errors.ownWatch', {}, 'OWN_ITEM');
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
      const ids = rows.map((r) => r.auctionId);
      const [titles, thumbs] = await Promise.all([deps.catalog.titles(ids), deps.catalog.thumbnails(ids)]);
      return reply.page(
        'bidding/my-bids',
        {
          rows: rows.map((r) => ({
            ...r,
            title: titles.get(r.auctionId) ?? `#${r.auctionId}`,
            thumb: thumbs.get(r.auctionId) ?? null,
          })),
          filter,
        },
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
