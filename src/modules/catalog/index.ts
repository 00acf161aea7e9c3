/**
 * catalog: listings, photos, categories and search. For now it serves the home page; listings
 * arrive with the catalog issue.
 */
import type { FastifyPluginAsync } from 'fastify';

export const catalogModule: FastifyPluginAsync = async (app) => {
  app.get('/', async (req, reply) => reply.page('catalog/home', {}, { title: req.t('site.tagline') }));
};
