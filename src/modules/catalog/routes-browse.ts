/** Shopping pages: home sections, search and category pages (htmx filters), seller page, my listings, detail, media. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser } from '../../core/auth.js';
import { notFound } from '../../core/errors.js';
import type { PageOptions } from '../../core/views.js';
import { isPrivateKey } from '../../core/storage.js';
import type { AccountsApi } from '../accounts/index.js';
import type { Config } from '../../config.js';
import * as svc from './service.js';
import * as browse from './browse.js';
import { photoUrls } from './photos.js';
import { searchListings, SORTS, STATUS_FILTERS, type CardRow, type SortKey, type StatusFilter } from './search.js';
import { CONDITIONS, DURATIONS, parseWon, type Condition } from './validation.js';
import { similarLive, siseView } from './sise.js';
import type { PageInvalidation } from './page-invalidation.js';

export interface CatalogContext {
  deps: svc.CatalogDeps;
  accounts: AccountsApi;
  categories: () => Promise<svc.CategoryTree>;
  config: Pick<Config, 'publicUrl'>;
  pages: PageInvalidation;
}

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const SlugParams = Type.Object({ slug: Type.String({ maxLength: 40, pattern: '^[a-z0-9-]+$' }) });
const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 100 })),
  category: Type.Optional(Type.String({ maxLength: 12 })),
  min: Type.Optional(Type.String({ maxLength: 20 })),
  max: Type.Optional(Type.String({ maxLength: 20 })),
  condition: Type.Optional(Type.Array(Type.String({ maxLength: 12 }), { maxItems: 5 })),
  status: Type.Optional(Type.String({ maxLength: 12 })),
  sort: Type.Optional(Type.String({ maxLength: 12 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
type SearchQuery = Static<typeof SearchQuery>;
const PageQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
const MediaParams = Type.Object({ '*': Type.String({ maxLength: 120 }) });

export async function browseRoutes(app: FastifyInstance, ctx: CatalogContext) {
  const { deps } = ctx;
  /**
   * Card view models for every list on a page at once: one read for the cover photos and one for
   * the sellers' ratings and completed sales (the orders module fills `listing.seller`), however
   * many cards and sections the page has.
   */
  async function cardLists(req: FastifyRequest, lists: CardRow[][], withSeller = true): Promise<browse.Card[][]> {
    const all = lists.flat();
    const [made, sellers] = await Promise.all([
      browse.toCards(deps.db, deps.storage, req.t, all),
      withSeller
        ? app.slots.renderMany(
            'listing.seller',
            all.map((r) => r.sellerId),
            req,
          )
        : new Map(),
    ]);
    for (const c of made) c.seller = sellers.get(c.sellerId) ?? null;
    const out: browse.Card[][] = [];
    let at = 0;
    for (const l of lists) {
      out.push(made.slice(at, at + l.length));
      at += l.length;
    }
    return out;
  }
  const cards = async (req: FastifyRequest, rows: CardRow[]) => (await cardLists(req, [rows]))[0];

  // A user's live listings, for their public profile (/u/:id, another module's page).
  app.slots.provide('user.listings', async (userId, req) => {
    const res = await browse.sellerListings(deps.db, userId, undefined, ['LIVE']);
    const [list] = await cardLists(req, [res.rows], false);
    return {
      partial: 'catalog/user-listings',
      data: { cards: list, total: res.total, more: res.nextCursor ? `/sellers/${userId}` : null },
    };
  });

  app.get('/', { schema: { querystring: PageQuery }, config: { pageCache: 'list' } }, async (req, reply) => {
    const s = await browse.homeSections(deps.db);
    const [ending, fresh, popular] = await cardLists(req, [s.ending, s.fresh, s.popular]);
    const tree = await ctx.categories();
    const en = req.lang === 'en';
    return reply.page(
      'catalog/home',
      { ending, fresh, popular, categories: tree.roots.map((r) => ({ slug: r.slug, name: en ? r.nameEn : r.nameKo })) },
      { title: req.t('site.tagline'), description: req.t('home.heroBody'), canonical: `${ctx.config.publicUrl}/` },
    );
  });

  /** Search and category pages share this: the filter form, the result count, cards and "more". */
  async function results(
    req: FastifyRequest<{ Querystring: SearchQuery }>,
    reply: FastifyReply,
    base: string,
    fixedCategory?: svc.CategoryNode,
  ) {
    const tree = await ctx.categories();
    const en = req.lang === 'en';
    const qs = req.query;
    const q = (qs.q ?? '').trim();
    const catNode = fixedCategory ?? (qs.category ? tree.byId.get(Number(qs.category)) : undefined);
    const min = parseWon(qs.min);
    const max = parseWon(qs.max);
    const status: StatusFilter = (STATUS_FILTERS as readonly string[]).includes(qs.status ?? '')
      ? (qs.status as StatusFilter)
      : 'live';
    const sort: SortKey = qs.sort && qs.sort in SORTS ? (qs.sort as SortKey) : q ? 'relevance' : 'ending';
    const conditions = (qs.condition ?? []).filter((c): c is Condition =>
      (CONDITIONS as readonly string[]).includes(c),
    );
    const res = await searchListings(deps.db, {
      q,
      categoryIds: catNode ? svc.categoryWithChildren(tree, catNode.id) : undefined,
      minPrice: typeof min === 'number' && !Number.isNaN(min) ? min : undefined,
      maxPrice: typeof max === 'number' && !Number.isNaN(max) ? max : undefined,
      conditions,
      status,
      sort,
      cursor: qs.cursor,
    });
    // The "more" link repeats the filters with the next cursor.
    const params = new URLSearchParams();
    if (q) params.set('q', q);
    if (!fixedCategory && catNode) params.set('category', String(catNode.id));
    if (qs.min) params.set('min', qs.min);
    if (qs.max) params.set('max', qs.max);
    for (const c of conditions) params.append('condition', c);
    // What a saved search keeps ("이 검색 알림 받기", the notifications module's button): query and filters.
    const alertQuery = params.toString();
    if (qs.status) params.set('status', status);
    if (qs.sort) params.set('sort', sort);
    const more = res.nextCursor
      ? `${base}?${new URLSearchParams([...params, ['cursor', res.nextCursor]]).toString()}`
      : null;
    const name = (n: svc.CategoryNode) => (en ? n.nameEn : n.nameKo);
    // Active filters as chips: each links to the same search without that one filter.
    const without = (key: string, value?: string) => {
      const p = new URLSearchParams(
        [...params].filter(([k, v]) => !(k === key && (value === undefined || v === value))),
      );
      const s = p.toString();
      return s ? `${base}?${s}` : base;
    };
    const chips: { label: string; href: string }[] = [];
    if (q) chips.push({ label: `"${q}"`, href: without('q') });
    if (!fixedCategory && catNode) chips.push({ label: name(catNode), href: without('category') });
    if (qs.min || qs.max) {
      const p = new URLSearchParams([...params].filter(([k]) => k !== 'min' && k !== 'max')).toString();
      chips.push({ label: `${qs.min ?? ''} ~ ${qs.max ?? ''}`, href: p ? `${base}?${p}` : base });
    }
    for (const c of conditions) chips.push({ label: req.t(`catalog.condition.${c}`), href: without('condition', c) });
    if (qs.status) chips.push({ label: req.t(`catalog.filter.${status}`), href: without('status') });
    const data = {
      chips,
      base,
      alertQuery,
      q,
      fixedCategory: fixedCategory ? { slug: fixedCategory.slug, name: name(fixedCategory) } : null,
      categoryGroups: tree.roots.map((r) => ({
        id: r.id,
        name: name(r),
        selected: catNode?.id === r.id,
        children: r.children.map((c) => ({ id: c.id, name: name(c), selected: catNode?.id === c.id })),
      })),
      subcategories: fixedCategory ? fixedCategory.children.map((c) => ({ slug: c.slug, name: name(c) })) : [],
      min: qs.min ?? '',
      max: qs.max ?? '',
      conditions: CONDITIONS.map((c) => ({
        value: c,
        label: req.t(`catalog.condition.${c}`),
        checked: conditions.includes(c),
      })),
      statuses: STATUS_FILTERS.map((s) => ({ value: s, label: req.t(`catalog.filter.${s}`), checked: s === status })),
      sorts: (Object.keys(SORTS) as SortKey[])
        .filter((s) => q || s !== 'relevance')
        .map((s) => ({ value: s, label: req.t(`catalog.sort.${s}`), selected: s === sort })),
      cards: await cards(req, res.rows),
      total: res.total,
      more,
      appending: Boolean(qs.cursor),
    };
    // htmx: "more" appends cards; filter changes swap the results block. Plain GET: the full page.
    if (req.htmx && req.headers['hx-target'] === 'more-row') return reply.fragment('catalog/card-page', data);
    if (req.htmx && req.headers['hx-target'] === 'results') return reply.fragment('catalog/results', data);
    const title = fixedCategory
      ? name(fixedCategory)
      : q
        ? req.t('catalog.searchTitleQ', { q })
        : req.t('catalog.searchTitle');
    return reply.page('catalog/search', data, {
      title,
      description: `${title} · ${req.t('catalog.resultCount', { n: res.total })} · ${req.t('site.tagline')}`,
      canonical: `${ctx.config.publicUrl}${base}${fixedCategory ? '' : q ? `?q=${encodeURIComponent(q)}` : ''}`,
    });
  }

  app.get<{ Querystring: SearchQuery }>(
    '/search',
    { schema: { querystring: SearchQuery }, config: { pageCache: 'list' } },
    async (req, reply) => results(req, reply, '/search'),
  );

  app.get<{ Params: Static<typeof SlugParams>; Querystring: SearchQuery }>(
    '/c/:slug',
    { schema: { params: SlugParams, querystring: SearchQuery }, config: { pageCache: 'list' } },
    async (req, reply) => {
      const node = (await ctx.categories()).bySlug.get(req.params.slug);
      if (!node) throw notFound();
      return results(req, reply, `/c/${node.slug}`, node);
    },
  );

  async function listingPage(
    req: FastifyRequest,
    reply: FastifyReply,
    o: {
      sellerId: number;
      all: boolean;
      template: string;
      title: string;
      extra: Record<string, unknown>;
      base: string;
      cursor?: string;
    },
  ) {
    const res = await browse.sellerListings(
      deps.db,
      o.sellerId,
      o.cursor,
      o.all ? null : ['LIVE', 'SCHEDULED', 'ENDED_SOLD', 'ENDED_UNSOLD'],
    );
    let shown: (Awaited<ReturnType<typeof cards>>[number] & { relistable?: boolean })[] = await cards(req, res.rows);
    if (o.all && req.user?.id === o.sellerId) {
      // My listings: unsold ones not relisted yet get "다시 올리기".
      const unsold = res.rows.filter((r) => r.status === 'ENDED_UNSOLD').map((r) => r.id);
      const done = unsold.length
        ? await deps.db.listing.findMany({
            where: { relistedFromId: { in: unsold } },
            select: { relistedFromId: true },
          })
        : [];
      const taken = new Set(done.map((d) => d.relistedFromId));
      shown = shown.map((c) => ({ ...c, relistable: unsold.includes(c.id) && !taken.has(c.id) }));
    }
    const data = {
      ...o.extra,
      cards: shown,
      total: res.total,
      more: res.nextCursor ? `${o.base}?cursor=${res.nextCursor}` : null,
      appending: Boolean(o.cursor),
    };
    if (req.htmx && req.headers['hx-target'] === 'more-row') return reply.fragment('catalog/card-page', data);
    return reply.page(o.template, data, { title: o.title, canonical: `${ctx.config.publicUrl}${o.base}` });
  }

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof PageQuery> }>(
    '/sellers/:id',
    { schema: { params: IdParams, querystring: PageQuery } },
    async (req, reply) => {
      const seller = (await ctx.accounts.publicProfiles([req.params.id])).get(req.params.id);
      if (!seller) throw notFound();
      return listingPage(req, reply, {
        sellerId: seller.id,
        all: false,
        template: 'catalog/seller',
        title: req.t('catalog.sellerTitle', { nickname: seller.nickname }),
        extra: { seller },
        base: `/sellers/${seller.id}`,
        cursor: req.query.cursor,
      });
    },
  );

  app.get<{ Querystring: Static<typeof PageQuery> }>(
    '/my/listings',
    { preHandler: requireUser, schema: { querystring: PageQuery } },
    async (req, reply) =>
      listingPage(req, reply, {
        sellerId: req.user!.id,
        all: true,
        template: 'catalog/my-listings',
        title: req.t('catalog.myTitle'),
        extra: {},
        base: '/my/listings',
        cursor: req.query.cursor,
      }),
  );

  /** "다시 올리기" on the seller's unsold item: the duration choices (the sell form's), or the relisted copy. */
  const relistModel = async (l: { id: number; durationDays: number }) => {
    const next = await deps.db.listing.findUnique({ where: { relistedFromId: l.id }, select: { id: true } });
    if (next) return { doneId: next.id };
    return { durations: DURATIONS.map((d) => ({ value: d, selected: d === l.durationDays })) };
  };

  type Detail = NonNullable<Awaited<ReturnType<typeof browse.listingDetail>>>;
  /** Who looks at the page, as far as its body is concerned (the bid area and questions are their slots'). */
  interface DetailViewer {
    mine: boolean;
    loggedIn: boolean;
  }
  /** The detail page's model and page options; `slots` fills the bid area and questions (or stands in for them). */
  async function detailPage(
    req: FastifyRequest,
    l: Detail,
    v: DetailViewer,
    slots: (id: number) => Promise<{ bidArea: unknown; questions: unknown }>,
    dep?: (tag: string) => void,
  ) {
    const { mine } = v;
    // 시세 and the similar auctions below come from the top category: its changes make this page stale.
    ctx.pages.itemRendered(req, l.id, l.category.parent?.id ?? l.categoryId, dep);
    const [profiles, trust] = await Promise.all([
      ctx.accounts.publicProfiles([l.sellerId]),
      app.slots.renderMany('listing.seller', [l.sellerId], req),
    ]);
    const seller = profiles.get(l.sellerId);
    const sellerTrust = trust.get(l.sellerId);
    const en = req.lang === 'en';
    const gallery = l.photos.map((p, i) => ({ ...photoUrls(deps.storage, p), n: i + 1 }));
    const cat = l.category;
    const listing = {
      id: l.id,
      title: l.title,
      description: l.description,
      condition: req.t(`catalog.condition.${l.condition}`),
      currentPrice: l.currentPrice,
      startPrice: l.startPrice,
      buyNowPrice: l.buyNowPrice,
      // The reserve is the seller's secret: only they see it.
      reservePrice: mine ? l.reservePrice : null,
      bidCount: l.bidCount,
      status: l.status,
      statusLabel: req.t(`catalog.status.${l.status}`),
      startsAt: l.startsAt,
      endsAt: l.endsAt,
      timeLeft: browse.timeLeft(req.t, l),
      live: l.status === 'LIVE',
    };
    const description = l.description.replace(/\s+/g, ' ').slice(0, 150);
    // 시세 for buyers deciding their maximum, and live auctions like this one.
    const [sise, similar, parts] = await Promise.all([
      siseView(deps.db, { title: l.title, categoryIds: [l.categoryId], excludeId: l.id }),
      similarLive(deps.db, { title: l.title, categoryId: l.categoryId, excludeId: l.id }).then((rows) =>
        cards(req, rows),
      ),
      l.status === 'CANCELLED' ? { bidArea: null, questions: null } : slots(l.id),
    ]);
    const data = {
      listing,
      gallery,
      cover: gallery[0] ?? null,
      multi: gallery.length > 1,
      seller,
      sellerTrust: sellerTrust ? { ...sellerTrust, data: { ...sellerTrust.data, full: true } } : null,
      category: {
        name: en ? cat.nameEn : cat.nameKo,
        slug: cat.slug,
        parent: cat.parent ? { name: en ? cat.parent.nameEn : cat.parent.nameKo, slug: cat.parent.slug } : null,
      },
      mine,
      hidden: Boolean(l.hiddenAt),
      // Logged-in visitors who are not the seller may report it (moderation's /reports/new).
      reportable: v.loggedIn && !mine,
      editable: mine && !l.hiddenAt && svc.canEdit(l),
      relist: mine && !l.hiddenAt && l.status === 'ENDED_UNSOLD' ? await relistModel(l) : null,
      appendable: mine && !l.hiddenAt && !svc.canEdit(l) && svc.canAppend(l),
      // The live bid area belongs to the bidding module; it fills this slot when present.
      bidArea: parts.bidArea,
      // Questions and answers under the description belong to the messages module.
      questions: parts.questions,
      sise,
      similar,
    };
    const popts = {
      title: l.title,
      description: description || l.title,
      canonical: `${ctx.config.publicUrl}/items/${l.id}`,
      // Photo URLs are site paths (/media/...) or absolute on a CDN.
      ogImage: gallery[0]
        ? gallery[0].card.startsWith('/')
          ? `${ctx.config.publicUrl}${gallery[0].card}`
          : gallery[0].card
        : undefined,
      scripts: ['catalog.js'],
    };
    return { data, popts };
  }

  /**
   * A logged-in buyer's item page (issue 16): the body is the same for every logged-in viewer who is
   * neither the seller nor staff, except the bid area and the questions (theirs: standing, maximum,
   * watch button, own questions, forms with their CSRF token). That body is rendered once per change
   * (core/page-cache.ts shared(), invalidated by the events that invalidate the anonymous page) with a
   * marker where each personal part goes, and only those parts and the layout (header) are rendered
   * per view. Null when the page is not of that kind (no such listing, a cancelled or hidden one):
   * the full render decides.
   */
  type SharedBody = {
    sellerId: number;
    parts: (string | { slot: 'bidArea' | 'questions' })[];
    popts: PageOptions;
  } | null;
  const SPLICE = /<!--splice:(bidArea|questions)-->/g;
  const sharedBody = (req: FastifyRequest, id: number): Promise<SharedBody> =>
    app.pageCache.shared<SharedBody>(
      `catalog:item-body:${id}:${req.lang}`,
      {
        item: id,
        bytes: (b) => (b ? b.parts.reduce<number>((n, p) => n + (typeof p === 'string' ? p.length * 2 : 16), 0) : 16),
      },
      async (dep) => {
        const l = await browse.listingDetail(deps.db, id);
        if (!l || l.status === 'CANCELLED' || l.hiddenAt) return null;
        const marker = (name: string) => ({ partial: 'catalog/splice', data: { name } });
        const { data, popts } = await detailPage(
          req,
          l,
          { mine: false, loggedIn: true },
          async () => ({ bidArea: marker('bidArea'), questions: marker('questions') }),
          dep,
        );
        const html = app.views.renderShared('catalog/detail', data, req.t, req.lang);
        const parts: NonNullable<SharedBody>['parts'] = [];
        let at = 0;
        for (const m of html.matchAll(SPLICE)) {
          parts.push(html.slice(at, m.index), { slot: m[1] as 'bidArea' | 'questions' });
          at = m.index + m[0].length;
        }
        parts.push(html.slice(at));
        return { sellerId: l.sellerId, parts, popts };
      },
    );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/items/:id',
    { schema: { params: IdParams }, config: { pageCache: 'item' } },
    async (req, reply) => {
      const staff = req.user?.role === 'MODERATOR' || req.user?.role === 'ADMIN';
      if (req.user && !staff && app.pageCache.enabled) {
        const body = await sharedBody(req, req.params.id);
        if (body && body.sellerId !== req.user.id) {
          const [bidArea, questions] = await Promise.all([
            app.slots.render('item.bidArea', req.params.id, req),
            app.slots.render('item.questions', req.params.id, req),
          ]);
          // No bid area after all (the auction is not open yet, or was just cancelled): the full render says so.
          if (bidArea) {
            const html = body.parts
              .map((p) => {
                if (typeof p === 'string') return p;
                const c = p.slot === 'bidArea' ? bidArea : questions;
                return c ? reply.partialHtml(c.partial, c.data) : '';
              })
              .join('');
            return reply.pageHtml(html, body.popts);
          }
        }
      }
      const l = await browse.listingDetail(deps.db, req.params.id);
      if (!l) throw notFound();
      const mine = req.user?.id === l.sellerId;
      // A cancelled listing stays visible to its seller only; a hidden one (moderation) to its seller and staff.
      if (l.status === 'CANCELLED' && !mine && !staff) throw notFound();
      if (l.hiddenAt && !mine && !staff) throw notFound();
      const { data, popts } = await detailPage(req, l, { mine, loggedIn: Boolean(req.user) }, async (id) => {
        const [bidArea, questions] = await Promise.all([
          app.slots.render('item.bidArea', id, req),
          app.slots.render('item.questions', id, req),
        ]);
        return { bidArea, questions };
      });
      return reply.page('catalog/detail', data, popts);
    },
  );

  // Photos: keys are random and never reused, so they can be cached for a year.
  app.get<{ Params: Static<typeof MediaParams> }>(
    '/media/*',
    { schema: { params: MediaParams } },
    async (req, reply) => {
      // Private objects (a dispute's photos) are served by their module to the people allowed only.
      if (isPrivateKey(req.params['*'])) throw notFound();
      const obj = await deps.storage.get(req.params['*']);
      if (!obj) throw notFound();
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .type(obj.contentType)
        .header('content-length', obj.size)
        .send(obj.stream);
    },
  );
}
