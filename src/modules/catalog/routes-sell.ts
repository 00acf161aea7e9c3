/** Selling: the listing form (create and edit), photo uploads, append-to-description and cancel. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import { AppError } from '../../core/errors.js';
import * as svc from './service.js';
import * as photos from './photos.js';
import { readForm, one, ids, type Fields } from './multipart.js';
import {
  validateListing,
  formValues,
  LISTING_FORM_FIELDS,
  toKstInput,
  cleanText,
  CONDITIONS,
  DURATIONS,
  type ListingForm,
  type FieldErrors,
} from './validation.js';
import type { CatalogContext } from './routes-browse.js';
import { bannedWordsIn, warningText } from './banned-words.js';
import { siseView } from './sise.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
type IdParams = Static<typeof IdParams>;
const AppendBody = Type.Object({ addition: Type.String({ maxLength: 6000 }), _csrf: Type.Optional(Type.String()) });
const CsrfBody = Type.Object({ _csrf: Type.Optional(Type.String()) });
const RelistBody = Type.Object({
  durationDays: Type.Optional(Type.String({ maxLength: 3 })),
  _csrf: Type.Optional(Type.String()),
});
/**
 * Multipart bodies stream through readForm (fields checked by validateListing, files by
 * processImage): a JSON schema cannot see them, so these routes validate the query only.
 */
const MultipartOnly = { querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 5 })) }) };

function toForm(f: Fields): ListingForm {
  const o: Record<string, string | undefined> = {};
  for (const k of LISTING_FORM_FIELDS) o[k] = one(f[k]);
  return o as ListingForm;
}

export async function sellRoutes(app: FastifyInstance, ctx: CatalogContext) {
  const { deps } = ctx;

  /** Renders the listing form (full page or, for htmx, the form alone) with values, errors and photos. */
  async function renderForm(
    req: FastifyRequest,
    reply: FastifyReply,
    o: {
      values: Record<string, string>;
      errors?: FieldErrors;
      formError?: string;
      photoIds?: number[];
      listingId?: number;
      status?: number;
    },
  ) {
    const tree = await ctx.categories();
    const en = req.lang === 'en';
    const rows = o.photoIds?.length
      ? await deps.db.photo.findMany({ where: { id: { in: o.photoIds }, ownerId: req.user!.id } })
      : [];
    const byId = new Map(rows.map((p) => [p.id, p]));
    const shown = o.photoIds?.map((id) => byId.get(id)).filter((p) => p !== undefined) ?? [];
    const data = {
      values: o.values,
      // Banned title words warn (never refuse): also on a form shown again with errors.
      titleWarning: warningText(req.t, await bannedWordsIn(deps.db, o.values.title ?? '')),
      errors: Object.fromEntries(Object.entries(o.errors ?? {}).map(([k, v]) => [k, req.t(v as string)])),
      formError: o.formError,
      action: o.listingId ? `/items/${o.listingId}/edit` : '/sell',
      editing: Boolean(o.listingId),
      photos: shown.map((p) => photos.photoUrls(deps.storage, p)),
      maxPhotos: photos.MAX_PHOTOS,
      groups: tree.roots.map((r) => ({
        name: en ? r.nameEn : r.nameKo,
        options: r.children.map((c) => ({
          id: c.id,
          name: en ? c.nameEn : c.nameKo,
          selected: String(c.id) === o.values.categoryId,
        })),
      })),
      conditions: CONDITIONS.map((c) => ({
        value: c,
        label: req.t(`catalog.condition.${c}`),
        checked: c === o.values.condition,
      })),
      durations: DURATIONS.map((d) => ({
        value: d,
        label: req.t('catalog.days', { n: d }),
        selected: String(d) === (o.values.durationDays || '7'),
      })),
      scheduled: o.values.startMode === 'scheduled',
      // 시세 for what the form holds now (after a 422 or on the edit page); htmx refreshes it as the seller types.
      sise: await siseView(deps.db, {
        title: o.values.title ?? '',
        categoryIds: tree.byId.has(Number(o.values.categoryId)) ? [Number(o.values.categoryId)] : [],
        excludeId: o.listingId,
      }),
      // 정산 예정 금액 under the prices: orders' part (the fee is its rule), when it provides one.
      payout: await app.slots.render('sell.payout', 0, req),
      minStart: toKstInput(new Date()),
      maxStart: toKstInput(new Date(Date.now() + 7 * 24 * 3600 * 1000)),
    };
    reply.code(o.status ?? 200);
    if (req.htmx && o.status && o.status >= 400) return reply.fragment('catalog/listing-form', data);
    const title = req.t(o.listingId ? 'catalog.editTitle' : 'catalog.sellTitle');
    return reply.page('catalog/sell', data, { title, scripts: ['catalog.js'] });
  }

  app.get('/sell', { preHandler: requireUser }, async (req, reply) =>
    renderForm(req, reply, { values: formValues({}) }),
  );

  // The upload script posts photos here first (with progress), then the form submits their ids.
  app.post(
    '/sell/photos',
    { preHandler: requireUser, config: { csrf: false }, schema: MultipartOnly },
    async (req, reply) => {
      const form = await readForm(app, req, reply);
      if (form.error) throw form.error;
      if (!form.photos.length) throw new AppError(422, 'catalog.photoErrors.none', {}, 'NO_PHOTO');
      const stored = await photos.storePending(deps, req.user!.id, form.photos);
      return reply.code(201).send({ photos: stored.map((p) => photos.photoUrls(deps.storage, p)) });
    },
  );

  /** The shared submit path of create and edit. */
  async function submit(req: FastifyRequest, reply: FastifyReply, listingId?: number) {
    const form = await readForm(app, req, reply);
    const raw = toForm(form.fields);
    const order = ids(form.fields.photoIds);
    const values = formValues(raw);
    const tree = await ctx.categories();
    const { input, errors } = validateListing(raw, {
      now: new Date(),
      categoryIds: tree.ids,
      leafCategoryIds: tree.leafIds,
    });
    const fail = (formError?: string, fieldErrors: FieldErrors = errors, status = 422) =>
      renderForm(req, reply, { values, errors: fieldErrors, formError, photoIds: order, listingId, status });
    if (form.error) return fail(req.t(form.error.messageKey, form.error.params), errors, form.error.statusCode);
    if (!input) return fail(req.t('catalog.errors.fixBelow'));
    try {
      if (listingId) {
        await svc.updateListing(deps, req.user!.id, listingId, input, { order, fresh: form.photos });
        flash(req, 'info', 'catalog.updated');
        return goTo(req, reply, `/items/${listingId}`);
      }
      const id = await svc.createListing(deps, req.user!.id, input, { pendingIds: order, fresh: form.photos });
      const banned = await bannedWordsIn(deps.db, input.title);
      if (banned.length) flash(req, 'error', 'catalog.bannedWords.createdWithWarning', { words: banned.join(', ') });
      else flash(req, 'info', 'catalog.created');
      return goTo(req, reply, `/items/${id}`);
    } catch (err) {
      if (err instanceof AppError && err.statusCode === 422) {
        const photoField: FieldErrors = { photos: err.messageKey };
        return fail(req.t('catalog.errors.fixBelow'), { ...errors, ...photoField });
      }
      throw err;
    }
  }

  app.post('/sell', { preHandler: requireUser, config: { csrf: false }, schema: MultipartOnly }, async (req, reply) => {
    // A suspended or banned user may not list (403, read from the database).
    await ctx.accounts.assertMayAct(req.user!.id);
    return submit(req, reply);
  });

  app.get<{ Params: IdParams }>(
    '/items/:id/edit',
    { preHandler: requireUser, schema: { params: IdParams } },
    async (req, reply) => {
      const l = await svc.ownListing(deps, req.user!.id, req.params.id);
      if (!svc.canEdit(l)) {
        if (!svc.canAppend(l)) throw new AppError(409, 'catalog.errors.notEditable', {}, 'NOT_EDITABLE');
        return reply.page('catalog/append', { listing: l }, { title: req.t('catalog.appendTitle') });
      }
      const values = formValues({
        title: l.title,
        description: l.description,
        categoryId: String(l.categoryId),
        condition: l.condition,
        startPrice: String(l.startPrice),
        buyNowPrice: l.buyNowPrice ? String(l.buyNowPrice) : '',
        reservePrice: l.reservePrice ? String(l.reservePrice) : '',
        startMode: l.status === 'SCHEDULED' ? 'scheduled' : 'now',
        startsAt: l.status === 'SCHEDULED' ? toKstInput(l.startsAt) : '',
        durationDays: String(l.durationDays),
      });
      return renderForm(req, reply, { values, photoIds: l.photos.map((p) => p.id), listingId: l.id });
    },
  );

  app.post<{ Params: IdParams }>(
    '/items/:id/edit',
    { preHandler: requireUser, config: { csrf: false }, schema: { params: IdParams, ...MultipartOnly } },
    async (req, reply) => {
      await svc.ownListing(deps, req.user!.id, req.params.id); // 404 before reading any upload
      return submit(req, reply, req.params.id);
    },
  );

  app.post<{ Params: IdParams; Body: Static<typeof AppendBody> }>(
    '/items/:id/append',
    { preHandler: requireUser, schema: { params: IdParams, body: AppendBody } },
    async (req, reply) => {
      const text = cleanText(req.body.addition).trim();
      const l = await svc.ownListing(deps, req.user!.id, req.params.id);
      if (!text || [...text].length > 1000) {
        reply.code(422);
        return reply.page(
          'catalog/append',
          { listing: l, error: req.t('catalog.errors.appendLength'), addition: text },
          { title: req.t('catalog.appendTitle') },
        );
      }
      const stamp = new Intl.DateTimeFormat(req.lang === 'en' ? 'en-US' : 'ko-KR', {
        dateStyle: 'medium',
        timeStyle: 'short',
        timeZone: 'Asia/Seoul',
      }).format(new Date());
      await svc.appendDescription(deps, req.user!.id, req.params.id, text, req.t('catalog.addedAt', { when: stamp }));
      flash(req, 'info', 'catalog.appended');
      return goTo(req, reply, `/items/${req.params.id}`);
    },
  );

  // "다시 올리기": an unsold listing again, same photos and terms, starting now (RelistBody's duration or the old one).
  app.post<{ Params: IdParams; Body: Static<typeof RelistBody> }>(
    '/items/:id/relist',
    { preHandler: requireUser, schema: { params: IdParams, body: RelistBody } },
    async (req, reply) => {
      const d = req.body.durationDays ? Number(req.body.durationDays) : undefined;
      if (d !== undefined && !(DURATIONS as readonly number[]).includes(d))
        throw new AppError(422, 'catalog.errors.durationInvalid', {}, 'VALIDATION');
      const id = await svc.relistListing(deps, req.user!.id, req.params.id, { durationDays: d });
      flash(req, 'info', 'catalog.relist.done');
      return goTo(req, reply, `/items/${id}`);
    },
  );

  app.post<{ Params: IdParams }>(
    '/items/:id/cancel',
    { preHandler: requireUser, schema: { params: IdParams, body: CsrfBody } },
    async (req, reply) => {
      await svc.cancelListing(deps, req.user!.id, req.params.id);
      flash(req, 'info', 'catalog.cancelled');
      return goTo(req, reply, '/my/listings');
    },
  );
}
