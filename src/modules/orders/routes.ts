/** Order pages and forms: /orders/:id (buyer and seller views), /my/orders, /my/addresses. Plain forms, htmx on top. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import type { Storage } from '../../core/storage.js';
import type { AccountsApi } from '../accounts/index.js';
import { roleAtLeast } from '../accounts/index.js';
import { MAX_PHOTO_BYTES } from '../catalog/index.js';
import type { CatalogApi } from '../catalog/index.js';
import * as svc from './service.js';
import * as book from './addresses.js';
import type { OrderTimers } from './jobs.js';
import { chanceFor, type RunnerUp } from './offers.js';
import { maskNickname } from '../bidding/index.js';
import { REVIEW_TAGS, addReview, checkReview } from './reviews.js';
import {
  DISPUTE_PHOTO_SIZES,
  MAX_DISPUTE_PHOTOS,
  deleteDisputeFiles,
  disputePhotoViews,
  readDisputeForm,
  writeDisputeFiles,
} from './dispute-photos.js';
import {
  COURIER_CODES,
  DISPUTE_REASONS,
  checkAddress,
  checkDispute,
  checkMeetup,
  checkShipment,
  feeOf,
  maskAddress,
} from './validation.js';

export interface RouteDeps extends svc.OrdersDeps {
  timers: OrderTimers;
  catalog: CatalogApi;
  accounts: AccountsApi;
  runnerUp: RunnerUp;
  storage: Storage;
}

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
type IdReq = { Params: Static<typeof IdParams> };
const S = (max: number) => Type.Optional(Type.String({ maxLength: max }));
const AddressBody = Type.Object({
  mode: Type.Union([Type.Literal('COURIER'), Type.Literal('MEETUP')]),
  addressId: S(12),
  recipient: S(200),
  phone: S(200),
  postalCode: S(200),
  roadAddress: S(400),
  detailAddress: S(400),
  save: S(2),
  meetupPlace: S(400),
  meetupAt: S(40),
  _csrf: S(200),
});
const ShipBody = Type.Object({
  mode: Type.Union([Type.Literal('COURIER'), Type.Literal('HANDED_OVER')]),
  courier: S(20),
  trackingNumber: S(100),
  _csrf: S(200),
});
/** The dispute form (photos to decode): at most 20 tries per user in 15 minutes. */
const disputeForm = { rateLimit: { max: 20, timeWindow: '15 minutes' } };
const PhotoParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  photoId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  size: Type.Union(DISPUTE_PHOTO_SIZES.map((x) => Type.Literal(x))),
});
const AnswerBody = Type.Object({ answer: S(4000), _csrf: S(200) });
const EmptyBody = Type.Object({ _csrf: S(200) });
const ReviewBody = Type.Object({
  stars: S(2),
  tags: Type.Optional(
    Type.Union([Type.String({ maxLength: 30 }), Type.Array(Type.String({ maxLength: 30 }), { maxItems: 10 })]),
  ),
  body: S(2000),
  _csrf: S(200),
});
const BookBody = Type.Object({
  recipient: S(200),
  phone: S(200),
  postalCode: S(200),
  roadAddress: S(400),
  detailAddress: S(400),
  makeDefault: S(2),
  _csrf: S(200),
});
const ListQuery = Type.Object({
  role: Type.Optional(Type.Union([Type.Literal('buyer'), Type.Literal('seller')])),
  lang: S(10),
});

const errorsOf = (req: FastifyRequest, e: Record<string, string>) =>
  Object.fromEntries(Object.entries(e).map(([k, v]) => [k, req.t(`orders.errors.${v}`)]));

/** Everything the order page shows, as the viewer (buyer or seller) may see it. */
export async function orderModel(deps: RouteDeps, req: FastifyRequest, o: svc.Order) {
  const userId = req.user!.id;
  const isBuyer = o.buyerId === userId;
  const [titles, people, dispute, addresses, myReview] = await Promise.all([
    deps.catalog.titles([o.listingId]),
    deps.accounts.publicProfiles([o.buyerId, o.sellerId]),
    deps.db.orderDispute.findUnique({ where: { orderId: o.id } }),
    isBuyer && o.state === 'AWAITING_ADDRESS' ? book.listAddresses(deps.db, userId) : Promise.resolve([]),
    deps.db.orderReview.findUnique({ where: { orderId_authorId: { orderId: o.id, authorId: userId } } }),
  ]);
  const nick = (id: number) => people.get(id)?.nickname ?? `#${id}`;
  const over = o.state === 'COMPLETED' || o.state === 'CANCELLED';
  const raw = {
    recipient: o.recipient,
    phone: o.phone,
    postalCode: o.postalCode,
    roadAddress: o.roadAddress,
    detailAddress: o.detailAddress,
  };
  // The seller sees the address only on this order, and masked once it is over.
  const address = o.delivery === 'COURIER' ? (!isBuyer && over ? maskAddress(raw) : raw) : null;
  const fee = o.fee ?? feeOf(o.price, o.feeBps);
  return {
    secondChance: !isBuyer ? await secondChanceModel(deps, req, o) : null,
    o,
    isBuyer,
    isSeller: !isBuyer,
    title: titles.get(o.listingId) ?? `#${o.listingId}`,
    buyerName: nick(o.buyerId),
    sellerName: nick(o.sellerId),
    stateLabel: req.t(`orders.state.${o.state}`),
    cancelText: o.cancelReason ? req.t(`orders.cancelReason.${o.cancelReason}`) : null,
    address,
    masked: !isBuyer && over,
    fee,
    payout: o.payout ?? o.price - fee,
    feePercent: (o.feeBps / 100).toString(),
    courierName: o.courier ? req.t(`orders.couriers.${o.courier}`) : null,
    couriers: COURIER_CODES.map((c) => ({ code: c, name: req.t(`orders.couriers.${c}`) })),
    reasons: DISPUTE_REASONS.map((r) => ({ code: r, name: req.t(`orders.disputeReasons.${r}`) })),
    maxDisputePhotos: MAX_DISPUTE_PHOTOS,
    addresses: addresses.map((a) => ({ ...a, checked: a.isDefault })),
    hasAddresses: addresses.length > 0,
    dispute: dispute
      ? {
          ...dispute,
          photos: (await disputePhotoViews(deps.db, [dispute])).get(dispute.id) ?? [],
          reasonLabel: req.t(`orders.disputeReasons.${dispute.reason}`),
          resolutionLabel: dispute.resolution ? req.t(`orders.resolution.${dispute.resolution}`) : null,
        }
      : null,
    can: {
      address: isBuyer && o.state === 'AWAITING_ADDRESS',
      ship: !isBuyer && o.state === 'AWAITING_SHIPMENT',
      confirm: isBuyer && o.state === 'SHIPPED',
      dispute: isBuyer && (o.state === 'AWAITING_SHIPMENT' || o.state === 'SHIPPED'),
      answer: !isBuyer && o.state === 'DISPUTED' && !!dispute && dispute.answer === null,
      review: o.state === 'COMPLETED' && !myReview,
    },
    myReview,
    reviewTags: REVIEW_TAGS.map((code) => ({ code, name: req.t(`orders.reviewTags.${code}`) })),
    errors: {} as Record<string, string>,
    values: {} as Record<string, unknown>,
  };
}

/** The seller's second-chance block on an order cancelled for no address (null elsewhere). */
async function secondChanceModel(deps: RouteDeps, req: FastifyRequest, o: svc.Order) {
  if (o.state !== 'CANCELLED' || o.cancelReason !== 'NO_ADDRESS' || !o.sourceKey.startsWith('auction:')) return null;
  const offer = await deps.db.orderOffer.findUnique({ where: { orderId: o.id } });
  if (offer) return { offer, stateLabel: req.t(`orders.offer.state.${offer.state}`) };
  const c = await chanceFor(deps.runnerUp, o);
  if (!c.ok) return { none: req.t(`orders.offer.none.${c.reason === 'belowReserve' ? 'belowReserve' : 'noRunnerUp'}`) };
  const nick = (await deps.accounts.publicProfiles([c.bidderId])).get(c.bidderId)?.nickname ?? '?';
  return {
    can: true,
    price: c.price,
    bidder: maskNickname(nick),
    hours: deps.settings.offerHours,
  };
}

export async function ordersRoutes(app: FastifyInstance, deps: RouteDeps) {
  const plan = async (o: svc.Order) => {
    // With Redis away the sweeper acts on the deadline anyway.
    await deps.timers
      .plan(o)
      .catch((err: Error) => app.log.warn({ err: err.message, orderId: o.id }, 'order timer not planned'));
  };
  const page = async (
    req: FastifyRequest,
    reply: FastifyReply,
    o: svc.Order,
    extra: { errors?: Record<string, string>; values?: Record<string, unknown> } = {},
  ) => {
    // The order's chat belongs to the messages module; it fills this slot when present.
    const chat = await app.slots.render('order.chat', o.id, req);
    const model = { ...(await orderModel(deps, req, o)), ...extra, chat };
    return reply.page('orders/order', model, { title: req.t('orders.title', { id: o.id }) });
  };

  app.get<IdReq>('/orders/:id', { preHandler: requireUser, schema: { params: IdParams } }, async (req, reply) =>
    page(req, reply, await svc.orderFor(deps.db, req.params.id, req.user!.id)),
  );

  app.post<IdReq & { Body: Static<typeof AddressBody> }>(
    '/orders/:id/address',
    { preHandler: requireUser, schema: { params: IdParams, body: AddressBody } },
    async (req, reply) => {
      const userId = req.user!.id;
      const o = await svc.orderFor(deps.db, req.params.id, userId);
      if (o.buyerId !== userId) throw notFound();
      const b = req.body;
      let choice: svc.DeliveryChoice;
      if (b.mode === 'MEETUP') {
        const m = checkMeetup(b);
        if (!m.ok) return page(req, reply.code(422), o, { errors: errorsOf(req, m.errors), values: b });
        choice = { kind: 'MEETUP', place: m.value.place, at: m.value.at };
      } else if (b.addressId && b.addressId !== 'new') {
        if (!/^\d{1,9}$/.test(b.addressId)) throw new AppError(422, 'orders.errors.addressPick', {}, 'VALIDATION');
        const a = await book.findAddress(deps.db, userId, Number(b.addressId));
        choice = {
          kind: 'COURIER',
          address: {
            recipient: a.recipient,
            phone: a.phone,
            postalCode: a.postalCode,
            roadAddress: a.roadAddress,
            detailAddress: a.detailAddress,
          },
        };
      } else {
        const a = checkAddress(b);
        if (!a.ok) return page(req, reply.code(422), o, { errors: errorsOf(req, a.errors), values: b });
        choice = { kind: 'COURIER', address: a.value };
        if (b.save === '1') await book.addAddress(deps.db, userId, a.value, false).catch(() => null);
      }
      const done = await svc.giveAddress(deps, o.id, userId, choice);
      await plan(done);
      flash(req, 'info', 'orders.flash.address');
      return goTo(req, reply, `/orders/${o.id}`);
    },
  );

  app.post<IdReq & { Body: Static<typeof ShipBody> }>(
    '/orders/:id/ship',
    { preHandler: requireUser, schema: { params: IdParams, body: ShipBody } },
    async (req, reply) => {
      const userId = req.user!.id;
      const o = await svc.orderFor(deps.db, req.params.id, userId);
      if (o.sellerId !== userId) throw notFound();
      let s: svc.Shipment;
      if (req.body.mode === 'HANDED_OVER') {
        if (o.delivery !== 'MEETUP' && o.state === 'AWAITING_SHIPMENT')
          throw new AppError(409, 'orders.errors.handedOverCourier', {}, 'ORDER_STATE');
        s = { kind: 'HANDED_OVER' };
      } else {
        if (o.delivery === 'MEETUP' && o.state === 'AWAITING_SHIPMENT')
          throw new AppError(409, 'orders.errors.courierMeetup', {}, 'ORDER_STATE');
        const c = checkShipment(req.body);
        if (!c.ok) return page(req, reply.code(422), o, { errors: errorsOf(req, c.errors), values: req.body });
        s = { kind: 'COURIER', ...c.value };
      }
      const done = await svc.ship(deps, o.id, userId, s);
      await plan(done);
      flash(req, 'info', 'orders.flash.shipped');
      return goTo(req, reply, `/orders/${o.id}`);
    },
  );

  app.post<IdReq>(
    '/orders/:id/confirm',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      await svc.confirm(deps, req.params.id, { buyerId: req.user!.id });
      flash(req, 'info', 'orders.flash.confirmed');
      return goTo(req, reply, `/orders/${req.params.id}`);
    },
  );

  // The dispute form: urlencoded (no photos) or multipart with up to MAX_DISPUTE_PHOTOS photos. Its
  // own context holds the multipart parser with this form's limits (busboy stops a 4th file and
  // any file over 10 MB while the bytes arrive); the CSRF check is in readDisputeForm.
  await app.register(async (sub) => {
    await sub.register(fastifyMultipart, {
      throwFileSizeLimit: false, // readUpload reads `truncated` and refuses with the file's name
      limits: {
        fileSize: MAX_PHOTO_BYTES,
        files: MAX_DISPUTE_PHOTOS,
        fields: 10,
        fieldSize: 16 * 1024,
        parts: 16,
        headerPairs: 100,
      },
    });
    sub.post<IdReq>(
      '/orders/:id/dispute',
      // Each request may carry 30 MB of photos to re-encode: a per-user budget on top of the global one.
      { preHandler: requireUser, schema: { params: IdParams }, config: { csrf: false, ...disputeForm } },
      async (req, reply) => {
        const userId = req.user!.id;
        // Before the body is read: someone else's order costs nothing and learns nothing (404), and
        // an order that cannot be disputed now is refused before any photo is decoded (409).
        const o = await svc.orderFor(deps.db, req.params.id, userId);
        if (o.buyerId !== userId) throw notFound();
        if (o.state !== 'AWAITING_SHIPMENT' && o.state !== 'SHIPPED')
          throw new AppError(409, 'orders.errors.notNow.dispute', { state: o.state }, 'ORDER_STATE');
        const form = await readDisputeForm(app, req, reply);
        const values = { reason: form.fields.reason ?? '', body: form.fields.body ?? '' };
        const d = checkDispute(form.fields);
        const errors = d.ok ? {} : errorsOf(req, d.errors);
        if (form.error) {
          // A refused photo: nothing is stored; the form comes back with the text kept.
          const e = form.error;
          return page(req, reply.code(e.statusCode), o, {
            errors: { ...errors, photos: req.t(e.messageKey, e.params) },
            values,
          });
        }
        if (!d.ok) return page(req, reply.code(422), o, { errors, values });
        const stored = await writeDisputeFiles(deps.storage, form.photos);
        try {
          await svc.openDispute(deps, o.id, userId, d.value, stored);
        } catch (err) {
          await deleteDisputeFiles(deps.storage, stored);
          throw err;
        }
        flash(req, 'info', 'orders.flash.disputed');
        return goTo(req, reply, `/orders/${o.id}`);
      },
    );
  });

  // A dispute's photo: only to the order's buyer and seller and to ADMINs; everyone else 404 (as
  // for an order that does not exist). Never cached by a shared cache, never sniffed.
  app.get<{ Params: Static<typeof PhotoParams> }>(
    '/orders/:id/dispute/photos/:photoId/:size',
    { preHandler: requireUser, schema: { params: PhotoParams } },
    async (req, reply) => {
      reply.header('cache-control', 'private, no-store');
      const userId = req.user!.id;
      const o = await deps.db.order.findUnique({
        where: { id: req.params.id },
        select: { id: true, buyerId: true, sellerId: true },
      });
      if (!o) throw notFound();
      if (o.buyerId !== userId && o.sellerId !== userId) {
        // The role as the database has it now, as requireRole reads it: a revoked, suspended or
        // banned ADMIN sees nothing more.
        const [u, restricted] = await Promise.all([deps.accounts.findUser(userId), deps.accounts.restriction(userId)]);
        if (!u || restricted || !roleAtLeast(u.role, 'ADMIN')) throw notFound();
      }
      const p = await deps.db.orderDisputePhoto.findFirst({
        where: { id: req.params.photoId, dispute: { orderId: o.id } },
      });
      if (!p) throw notFound();
      const obj = await deps.storage.get(req.params.size === 'thumb' ? p.thumbKey : p.fullKey);
      if (!obj) throw notFound();
      return reply
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', 'inline')
        .type(obj.contentType)
        .header('content-length', obj.size)
        .send(obj.stream);
    },
  );

  app.post<IdReq & { Body: Static<typeof AnswerBody> }>(
    '/orders/:id/dispute/answer',
    { preHandler: requireUser, schema: { params: IdParams, body: AnswerBody } },
    async (req, reply) => {
      const userId = req.user!.id;
      const o = await svc.orderFor(deps.db, req.params.id, userId);
      if (o.sellerId !== userId) throw notFound();
      const answer = (req.body.answer ?? '').normalize('NFC').trim();
      if (answer.length < 2 || answer.length > 2000)
        return page(req, reply.code(422), o, { errors: { answer: req.t('orders.errors.answer') }, values: req.body });
      await svc.answerDispute(deps, o.id, userId, answer);
      flash(req, 'info', 'orders.flash.answered');
      return goTo(req, reply, `/orders/${o.id}`);
    },
  );

  app.post<IdReq & { Body: Static<typeof ReviewBody> }>(
    '/orders/:id/review',
    { preHandler: requireUser, schema: { params: IdParams, body: ReviewBody } },
    async (req, reply) => {
      const userId = req.user!.id;
      const o = await svc.orderFor(deps.db, req.params.id, userId);
      const r = checkReview(req.body);
      if (!r.ok) return page(req, reply.code(422), o, { errors: errorsOf(req, r.errors), values: req.body });
      await addReview(deps, o.id, userId, r.value);
      flash(req, 'info', 'orders.flash.reviewed');
      return goTo(req, reply, `/orders/${o.id}`);
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/my/orders',
    { preHandler: requireUser, schema: { querystring: ListQuery } },
    async (req, reply) => {
      const role = req.query.role ?? 'buyer';
      const titles = (ids: number[]) => deps.catalog.titles(ids);
      const rows = await svc.listFor(deps.db, titles, req.user!.id, role);
      return reply.page(
        'orders/my-orders',
        {
          role,
          isBuyer: role === 'buyer',
          rows: rows.map((r) => ({
            ...r,
            stateLabel: req.t(`orders.state.${r.state}`),
            actionLabel: r.nextAction ? req.t(`orders.next.${r.nextAction}`) : null,
          })),
        },
        { title: req.t('orders.myTitle') },
      );
    },
  );

  // ── the address book ──
  const bookPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    reply.page(
      'orders/addresses',
      {
        addresses: await book.listAddresses(deps.db, req.user!.id),
        errors: {},
        values: {},
        max: book.MAX_ADDRESSES,
        ...extra,
      },
      { title: req.t('orders.book.title') },
    );
  app.get('/my/addresses', { preHandler: requireUser }, async (req, reply) => bookPage(req, reply));
  app.post<{ Body: Static<typeof BookBody> }>(
    '/my/addresses',
    { preHandler: requireUser, schema: { body: BookBody } },
    async (req, reply) => {
      const a = checkAddress(req.body);
      if (!a.ok) return bookPage(req, reply.code(422), { errors: errorsOf(req, a.errors), values: req.body });
      await book.addAddress(deps.db, req.user!.id, a.value, req.body.makeDefault === '1');
      flash(req, 'info', 'orders.book.saved');
      return goTo(req, reply, '/my/addresses');
    },
  );
  app.post<IdReq>(
    '/my/addresses/:id/default',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      await book.setDefault(deps.db, req.user!.id, req.params.id);
      return goTo(req, reply, '/my/addresses');
    },
  );
  app.post<IdReq>(
    '/my/addresses/:id/delete',
    { preHandler: requireUser, schema: { params: IdParams, body: EmptyBody } },
    async (req, reply) => {
      await book.deleteAddress(deps.db, req.user!.id, req.params.id);
      return goTo(req, reply, '/my/addresses');
    },
  );
}
