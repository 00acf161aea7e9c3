/**
 * 시세 and the item page's rows: GET /sise (the sell form's htmx fragment, debounced as the
 * seller types; separate from the form's own validation) and GET /items/recent (the "최근 본
 * 물건" row a browser fills from the ids it remembers, with no server session).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { notFound } from '../../core/errors.js';
import * as browse from './browse.js';
import * as svc from './service.js';
import { siseView, listingsByIds } from './sise.js';
import type { CatalogContext } from './routes-browse.js';

const SiseQuery = Type.Object({
  title: Type.Optional(Type.String({ maxLength: 100 })),
  categoryId: Type.Optional(Type.String({ maxLength: 10, pattern: '^[0-9]*$' })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
export const RECENT_MAX = 12;
const RecentQuery = Type.Object({
  ids: Type.String({ maxLength: 12 * RECENT_MAX, pattern: `^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,${RECENT_MAX - 1}}$` }),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});

export async function siseRoutes(app: FastifyInstance, ctx: CatalogContext) {
  const { deps } = ctx;

  app.get<{ Querystring: Static<typeof SiseQuery> }>(
    '/sise',
    { schema: { querystring: SiseQuery } },
    async (req, reply) => {
      const tree = await ctx.categories();
      const raw = req.query.categoryId ?? '';
      let categoryIds: number[] = [];
      if (raw !== '') {
        const node = tree.byId.get(Number(raw));
        if (!node) throw notFound();
        categoryIds = svc.categoryWithChildren(tree, node.id);
      }
      const sise = await siseView(deps.db, { title: req.query.title ?? '', categoryIds });
      return reply.header('cache-control', 'no-store').fragment('catalog/sise-body', sise);
    },
  );

  app.get<{ Querystring: Static<typeof RecentQuery> }>(
    '/items/recent',
    { schema: { querystring: RecentQuery } },
    async (req, reply) => {
      const ids = [...new Set(req.query.ids.split(',').map(Number))].filter((n) => n <= 2147483647);
      const rows = await listingsByIds(deps.db, ids.slice(0, RECENT_MAX));
      const cards = await browse.toCards(deps.db, deps.storage, req.t, rows);
      return reply.header('cache-control', 'no-store').fragment('catalog/mini-cards', { cards });
    },
  );
}
