/**
 * Keyword alerts (saved searches): "이 검색 알림 받기" on /search and category pages saves the
 * query and filters (at most MAX_ALERTS per user); a new listing is matched against them off the
 * request path (the durable `listing.published` consumer, which catalog writes with the listing,
 * so an alert survives a process dying after the commit) with catalog's own search conditions,
 * and each owner is told once per listing.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import type { CatalogApi, SavedSearchFilter } from '../catalog/index.js';
import type { Notifier } from './service.js';
import type { NewNotification, Written } from './store.js';

export const MAX_ALERTS = 20;
const PATH_RE = /^\/(search|c\/[a-z0-9-]{1,40})$/;

/** The filters of a search page's query string, as /search reads them; null when it is not one. */
export function parseSaved(path: string, query: string): SavedSearchFilter | null {
  const m = PATH_RE.exec(path);
  if (!m) return null;
  const p = new URLSearchParams(query);
  const f: SavedSearchFilter = {};
  const q = (p.get('q') ?? '').trim();
  if (q.length > 100) return null;
  if (q) f.q = q;
  if (m[1].startsWith('c/')) f.slug = m[1].slice(2);
  else if (p.get('category')) {
    const c = Number(p.get('category'));
    if (!Number.isSafeInteger(c) || c < 1 || c > 2147483647) return null;
    f.category = c;
  }
  for (const k of ['min', 'max'] as const) {
    const raw = (p.get(k) ?? '').replace(/[,\s원₩]/g, '');
    if (!raw) continue;
    if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2147483647) return null;
    f[k] = Number(raw);
  }
  // Catalog keeps only the conditions it knows (as /search does).
  const conds = p
    .getAll('condition')
    .filter((c) => /^[A-Z_]{1,12}$/.test(c))
    .slice(0, 5);
  if (conds.length) f.conditions = [...new Set(conds)].sort();
  return f;
}

const hrefOf = (path: string, f: SavedSearchFilter) => {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.category) p.set('category', String(f.category));
  if (f.min !== undefined) p.set('min', String(f.min));
  if (f.max !== undefined) p.set('max', String(f.max));
  for (const c of f.conditions ?? []) p.append('condition', c);
  const s = p.toString();
  return s ? `${path}?${s}` : path;
};

const SaveBody = Type.Object({
  path: Type.String({ maxLength: 60 }),
  query: Type.String({ maxLength: 600 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const FormBody = Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 200 })) });

export function keywordAlerts(app: FastifyInstance, n: Notifier, catalog: CatalogApi) {
  const db = app.db;

  /**
   * Tells every owner of a matching saved search about a new listing, once per listing: the rows
   * through `write` (the durable consumer's transaction, or one of their own).
   */
  async function matchNew(
    listingId: number,
    sellerId: number,
    write: (items: NewNotification[]) => Promise<unknown> = (items) => n.notifyNow(items),
  ): Promise<number> {
    const title = (await catalog.titles([listingId])).get(listingId);
    if (!title) return 0;
    const told = new Set<number>();
    let after = 0;
    for (;;) {
      const batch = await db.savedSearch.findMany({
        where: { id: { gt: after }, userId: { not: sellerId } },
        orderBy: { id: 'asc' },
        take: 500,
      });
      if (!batch.length) break;
      after = batch[batch.length - 1].id;
      const todo = batch.filter((s) => !told.has(s.userId));
      const hits = await catalog.matchSavedSearches(
        listingId,
        todo.map((s) => s.filters as SavedSearchFilter),
      );
      const items = todo
        .filter((_, i) => hits[i])
        .filter((s) => !told.has(s.userId) && told.add(s.userId))
        .map((s) => ({
          userId: s.userId,
          kind: 'alert' as const,
          sourceKey: `alert:${listingId}:${s.userId}`,
          params: { listingId, title, query: s.query || s.path },
          link: `/items/${listingId}`,
        }));
      await write(items);
    }
    return told.size;
  }

  // Durable (catalog writes it with the listing): a process that dies after the commit leaves the
  // event for another relay, and the rows commit with the consumer's inbox row, so each owner hears
  // of a listing once however often it is delivered.
  app.events.onDurable('listing.published', 'alerts', async (p, { tx, afterCommit }) => {
    const written: Written[] = [];
    await matchNew(p.listingId, p.sellerId, async (items) => written.push(...(await n.writeAll(tx, items))));
    n.afterCommitOf({ tx, afterCommit }, written);
  });

  app.post<{ Body: Static<typeof SaveBody> }>(
    '/alerts',
    { schema: { body: SaveBody }, preHandler: requireUser, config: { rateLimit: { max: 30, timeWindow: '1 minute' } } },
    async (req, reply) => {
      const userId = req.user!.id;
      const f = parseSaved(req.body.path, req.body.query);
      if (!f) throw new AppError(400, 'errors.validation', {}, 'BAD_SEARCH');
      const href = hrefOf(req.body.path, f);
      const created = await db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`alerts:${userId}`}))`;
        const mine = await tx.savedSearch.findMany({ where: { userId }, select: { path: true } });
        if (mine.some((m) => m.path === href)) return 'already' as const;
        if (mine.length >= MAX_ALERTS) return 'limit' as const;
        await tx.savedSearch.create({ data: { userId, query: f.q ?? '', filters: { ...f }, path: href } });
        return 'saved' as const;
      });
      if (created === 'limit')
        throw new AppError(422, 'notifications.alerts.limit', { max: MAX_ALERTS }, 'TOO_MANY_ALERTS');
      flash(req, 'info', created === 'saved' ? 'notifications.alerts.saved' : 'notifications.alerts.already');
      return goTo(req, reply, href);
    },
  );

  app.get('/alerts', { preHandler: requireUser }, async (req, reply) => {
    const rows = await db.savedSearch.findMany({ where: { userId: req.user!.id }, orderBy: { id: 'desc' } });
    return reply.page(
      'notifications/alerts',
      {
        rows: rows.map((r) => ({
          id: r.id,
          href: r.path,
          label: r.query
            ? `${r.query} · ${r.path.split('?')[0]}`
            : `${r.path} ${req.t('notifications.alerts.allListings')}`,
        })),
      },
      { title: req.t('notifications.alerts.title') },
    );
  });

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof FormBody> }>(
    '/alerts/:id/delete',
    { schema: { params: IdParams, body: FormBody }, preHandler: requireUser },
    async (req, reply) => {
      const r = await db.savedSearch.deleteMany({ where: { id: req.params.id, userId: req.user!.id } });
      if (!r.count) throw notFound();
      flash(req, 'info', 'notifications.alerts.deleted');
      return goTo(req, reply, '/alerts');
    },
  );

  return { matchNew };
}
