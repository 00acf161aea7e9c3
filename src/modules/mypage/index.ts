/**
 * mypage: the my-page hub at /my: 구매 (입찰 중 / 낙찰 / 구매 내역), 판매 (판매 중 / 판매 완료 /
 * 정산), 관심, 포인트, 주소록, 프로필, with counts, linking to the pages the other modules own.
 * A leaf (nobody imports it): it reads the other modules through their index.ts and owns no table.
 */
import type { FastifyPluginAsync } from 'fastify';
import { requireUser } from '../../core/auth.js';
import { notFound } from '../../core/errors.js';
import { addMessages } from '../../core/i18n.js';
import { hubModel, type OrdersSummaryFn } from './hub.js';
import { profileRoutes } from './profile.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

export type { HubModel, OrdersHubSummary, OrderNextAction, OrdersSummaryFn } from './hub.js';
export { ordersHubSummary } from './orders-summary.js';

export interface MypageOptions {
  /**
   * ORDERS: the orders section of the hub. When the orders module is merged, pass an adapter over
   * `ordersApi(app.db).summaryFor(userId)` (counts per state, next actions "주소를 입력해 주세요",
   * "발송해 주세요", "수령을 확인해 주세요", and the purchases / payouts / address-book pages);
   * without it the hub shows everything else and no orders section.
   */
  ordersSummary?: OrdersSummaryFn;
  /** The site's address, for the public profile's canonical link. */
  publicUrl: string;
}

export const mypageModule: FastifyPluginAsync<MypageOptions> = async (app, opts) => {
  addMessages('mypage', { ko, en });
  app.views.module('mypage', import.meta.url);

  app.get('/my', { preHandler: requireUser }, async (req, reply) => {
    const userId = req.user!.id;
    const orders = opts.ordersSummary ? await opts.ordersSummary(userId, (k) => String(req.t(k))) : null;
    const [hub, chatArea] = await Promise.all([
      hubModel(app.db, userId, orders),
      // Unread order-chat lines (the messages module's, through a slot; absent without it).
      app.slots.render('mypage.hub.chat', userId, req),
    ]);
    if (!hub) throw notFound();
    return reply.page('mypage/hub', { hub, chatArea }, { title: req.t('mypage.title') });
  });

  await profileRoutes(app, opts.publicUrl);
};
