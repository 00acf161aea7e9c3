/**
 * Two rules for every response, whichever module answered:
 * - no header value Node would refuse leaves here: Node throws while writing such a head, after
 *   the handler has finished, where no error handler can catch it. Redirects are built safely
 *   (core/redirect.ts); this is the net under them: a bad value is logged and dropped (a redirect
 *   target becomes `/`), so the reply still goes out.
 * - a response that carries a session (a logged-in person, or the session cookie of a form's
 *   CSRF token) is never stored by a browser or proxy cache: `Cache-Control: no-store`, unless
 *   the route chose its own caching.
 * Registered before the session plugin, so these onSend hooks run before the session is saved.
 */
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The characters Node's http module refuses in a header value (lib/_http_common.js). */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const REDIRECT_HEADERS = new Set(['location', 'hx-redirect', 'hx-location']);

const invalid = (v: unknown): boolean =>
  Array.isArray(v) ? v.some(invalid) : typeof v === 'string' ? INVALID_HEADER_CHAR.test(v) : false;

function guardHeaders(req: FastifyRequest, reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (!invalid(value)) continue;
    req.log.error({ header: name, url: req.url }, 'response header with characters Node refuses: replaced');
    if (REDIRECT_HEADERS.has(name)) reply.header(name, '/');
    else reply.removeHeader(name);
  }
}

/** True when the response belongs to one person: they are logged in, or the request has a session. */
function sessionBearing(req: FastifyRequest): boolean {
  if (req.user || req.session?.user) return true;
  const s = req.session as { isModified?: () => boolean } | undefined;
  return Boolean(req.cookies?.sid) || Boolean(s?.isModified?.());
}

export const headersPlugin = fp(
  async (app) => {
    app.addHook('onSend', async (req, reply) => {
      guardHeaders(req, reply);
      if (!reply.hasHeader('cache-control') && sessionBearing(req)) reply.header('cache-control', 'no-store');
    });
  },
  { name: 'core-headers' },
);
