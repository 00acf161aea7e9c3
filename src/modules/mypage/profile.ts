/**
 * The public profile /u/:id: nickname, join date, completed sales and purchases, rating and count,
 * strikes, recent reviews (keyset pages of REVIEWS_PAGE) and live listings. It composes public
 * APIs only: accounts (who), orders (trust and reviews), catalog (titles; the listings come
 * through catalog's `user.listings` slot). Unknown and banned accounts answer 404, the same page
 * for both, so the page does not tell which. A suspended account still shows (the suspension ends).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { notFound } from '../../core/errors.js';
import { accountsApi } from '../accounts/index.js';
import { ordersApi } from '../orders/index.js';
import { catalogApi } from '../catalog/index.js';

export const REVIEWS_PAGE = 10;

const Params = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const Query = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});

export async function profileRoutes(app: FastifyInstance, publicUrl: string) {
  const accounts = accountsApi(app.db);
  const orders = ordersApi(app.db);
  const catalog = catalogApi(app.db);

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/u/:id',
    { schema: { params: Params, querystring: Query } },
    async (req, reply) => {
      const id = req.params.id;
      const [user, restriction] = await Promise.all([accounts.findUser(id), accounts.restriction(id)]);
      if (!user || restriction?.kind === 'banned') throw notFound();
      const [trust, reviews, listings] = await Promise.all([
        orders.trust([id]),
        orders.reviewsAbout(id, { limit: REVIEWS_PAGE, beforeId: req.query.before }),
        app.slots.render('user.listings', id, req),
      ]);
      const [authors, titles] = await Promise.all([
        accounts.publicProfiles(reviews.rows.map((r) => r.authorId)),
        catalog.titles(reviews.rows.map((r) => r.listingId)),
      ]);
      const tr = trust.get(id)!;
      const last = reviews.rows[reviews.rows.length - 1];
      return reply.page(
        'mypage/profile',
        {
          profile: { id: user.id, nickname: user.nickname, joined: user.createdAt },
          trust: tr,
          reviews: reviews.rows.map((r) => ({
            id: r.id,
            stars: r.stars,
            starsText: '★'.repeat(r.stars) + '☆'.repeat(5 - r.stars),
            roleLabel: req.t(r.role === 'buyer' ? 'mypage.reviewBy.buyer' : 'mypage.reviewBy.seller'),
            // An author whose account is gone shows without a name.
            author: authors.get(r.authorId)?.nickname ?? null,
            tags: r.tags.map((tag) => req.t(`orders.reviewTags.${tag}`)),
            body: r.body,
            item: r.listingId ? { id: r.listingId, title: titles.get(r.listingId) ?? null } : null,
            createdAt: r.createdAt,
          })),
          olderHref: reviews.more && last ? `/u/${id}?before=${last.id}` : null,
          paged: req.query.before !== undefined,
          listings,
          mine: req.user?.id === id,
        },
        {
          title: req.t('mypage.publicTitle', { nickname: user.nickname }),
          description: req.t('mypage.publicDescription', { nickname: user.nickname, n: tr.sales }),
          canonical: `${publicUrl}/u/${id}`,
        },
      );
    },
  );
}
