/**
 * site: the service pages a Korean 통신판매 site shows — 이용약관 (/terms), 개인정보처리방침
 * (/privacy) and a help page on bidding, escrow and fees (/help). The footer's 사업자 정보 come
 * from config (BUSINESS_*) through the layout locals.
 */
import type { FastifyPluginAsync } from 'fastify';
import { addMessages } from '../../core/i18n.js';
import { ko } from './locales/ko.js';
import { en } from './locales/en.js';

/** Version of the terms and privacy texts (shown on the pages; a consent record would store it). */
export const TERMS_VERSION = '2026-12-01';

export const siteModule: FastifyPluginAsync = async (app) => {
  addMessages('site-pages', { ko, en });
  app.views.module('site', import.meta.url);
  for (const page of ['terms', 'privacy', 'help'] as const)
    app.get(`/${page}`, async (req, reply) =>
      reply.page(
        `site/${page}`,
        { version: TERMS_VERSION },
        { title: req.t(`sitePages.${page}.title`), description: req.t(`sitePages.${page}.description`) },
      ),
    );
};
