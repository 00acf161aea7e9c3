/**
 * Typed errors with a user-facing message key, and the one error handler: it logs with the
 * request's method, url, params and query, hides the details of 5xx, and answers with JSON,
 * an htmx fragment or a full page by what the request accepts.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tFor, DEFAULT_LANG } from './i18n.js';
import { logUrl } from './redirect.js';

const redactToken = (q: unknown) => (q && typeof q === 'object' && 'token' in q ? { ...q, token: '***' } : q);

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    /** i18n key shown to the user, e.g. `errors.validation`. */
    readonly messageKey: string,
    readonly params: Record<string, unknown> = {},
    readonly code = 'APP_ERROR',
  ) {
    super(messageKey);
    this.name = 'AppError';
  }
}

export const notFound = () => new AppError(404, 'errors.notFoundBody', {}, 'NOT_FOUND');

export function wantsJson(req: FastifyRequest): boolean {
  if (req.htmx) return false;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

interface Classified {
  status: number;
  code: string;
  key: string;
  params: Record<string, unknown>;
}

function classify(err: FastifyError | AppError): Classified {
  if (err instanceof AppError)
    return { status: err.statusCode, code: err.code, key: err.messageKey, params: err.params };
  const code = (err as FastifyError).code ?? '';
  // Connection pool or transaction wait timed out: the database is saturated, try again shortly.
  if (code === 'P2024' || code === 'P2028' || code === 'P2034')
    return { status: 503, code: 'BUSY', key: 'errors.unavailable', params: {} };
  if (code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET')
    return { status: 403, code: 'CSRF', key: 'errors.csrf', params: {} };
  if (err.validation || code === 'FST_ERR_VALIDATION')
    return { status: 400, code: 'VALIDATION', key: 'errors.validation', params: {} };
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status === 429) return { status, code: 'RATE_LIMITED', key: 'errors.rateLimited', params: {} };
  if (status === 404) return { status, code: 'NOT_FOUND', key: 'errors.notFoundBody', params: {} };
  if (status === 503) return { status, code: 'UNAVAILABLE', key: 'errors.unavailable', params: {} };
  if (status >= 500) return { status, code: 'INTERNAL', key: 'errors.serverBody', params: {} };
  return { status, code: code || 'BAD_REQUEST', key: 'errors.validation', params: {} };
}

export async function sendError(req: FastifyRequest, reply: FastifyReply, c: Classified): Promise<FastifyReply> {
  // An error raised before the i18n hook ran (load shedding, the session store) still speaks Korean.
  const t = req.t ?? tFor(DEFAULT_LANG);
  if (!req.t) {
    req.t = t;
    req.lang = DEFAULT_LANG;
  }
  const message = t(c.key, c.params) as string;
  reply.code(c.status);
  if (wantsJson(req)) return reply.send({ error: { code: c.code, message, requestId: req.id } });
  if (typeof reply.page !== 'function') return reply.type('text/plain; charset=utf-8').send(message);
  const title = t(
    c.status === 404 ? 'errors.notFoundTitle' : c.status >= 500 ? 'errors.serverTitle' : 'errors.title',
  ) as string;
  if (req.htmx) {
    // htmx: show the message in the page's flash area instead of replacing the target.
    reply.header('HX-Retarget', '#flash').header('HX-Reswap', 'innerHTML');
    return reply.fragment('flash', { kind: 'error', message });
  }
  return reply.page('errors/error', { status: c.status, errorTitle: title, message, requestId: req.id }, { title });
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(async (err: FastifyError, req, reply) => {
      const c = classify(err);
      const ctx = {
        method: req.method,
        url: logUrl(req.url),
        params: req.params,
        query: redactToken(req.query),
        requestId: req.id,
      };
      if (c.status >= 500) req.log.error({ err, ...ctx }, 'request failed');
      else req.log.info({ code: c.code, status: c.status, msg: err.message, ...ctx }, 'request refused');
      return sendError(req, reply, c);
    });
  },
  { name: 'core-errors' },
);
