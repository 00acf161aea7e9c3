/**
 * Every redirect the app sends (Location and htmx's HX-Redirect) goes through here, so no value
 * from a request can take a shopper to another site or put a character into a header that Node
 * refuses (which would throw while the reply is being sent).
 *
 * A target is kept only when it is a path on this site: it is parsed the way a browser parses
 * it (tabs and newlines dropped, `\` read as `/`), must stay on our origin, and is sent in its
 * percent-encoded form. Anything else becomes `/`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const BASE = 'http://dapanda.invalid';
/** What a header value built from a path may contain: printable ASCII only (the serialised URL). */
const SAFE_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;
const MAX_LENGTH = 2000;

/** A same-origin relative path (percent-encoded), or `/`. */
export function safePath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > MAX_LENGTH || !raw.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) return '/';
  const out = url.pathname + url.search + url.hash;
  // The parser can still produce `//host` (e.g. from `/.//host`), which a browser reads as another site.
  return SAFE_PATH.test(out) ? out : '/';
}

/**
 * The path of a Referer that points at this site (same host as the request), or `fallback`.
 * A malformed Referer is not an error: it is simply not used.
 */
export function refererPath(req: FastifyRequest, fallback: string): string {
  const referer = req.headers.referer;
  const host = req.headers.host;
  if (typeof referer !== 'string' || !host || referer.length > MAX_LENGTH) return safePath(fallback);
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return safePath(fallback);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host !== host) return safePath(fallback);
  const path = safePath(url.pathname + url.search);
  return path === '/' && url.pathname !== '/' ? safePath(fallback) : path;
}

/** After a successful form: a full-page navigation (303 for plain forms, HX-Redirect for htmx). */
export function goTo(req: FastifyRequest, reply: FastifyReply, target: string, code = 303): FastifyReply {
  const path = safePath(target);
  if (req.htmx) return reply.header('HX-Redirect', path).code(204).send();
  return reply.redirect(path, code);
}

/** htmx's full-page navigation with a status of the caller's choosing (e.g. 401 to the login form). */
export function hxRedirect(reply: FastifyReply, target: string, code: number): FastifyReply {
  return reply.header('HX-Redirect', safePath(target)).code(code).send();
}

/** The login form, coming back to `next` (a path on this site) afterwards. */
export function loginUrl(next: unknown): string {
  const path = safePath(next);
  return path === '/' ? '/login' : `/login?next=${encodeURIComponent(path)}`;
}

/**
 * The path of the page being answered, rebuilt from the matched route and its (validated)
 * parameters, never copied from the request line: `GET //evil.example/x` or an absolute-form
 * request must not turn into a link to another site. No route (a 404) is `/`.
 */
export function routePath(req: FastifyRequest): string {
  const pattern = req.routeOptions?.url;
  if (!pattern || req.is404) return '/';
  const params = (req.params ?? {}) as Record<string, unknown>;
  return safePath(
    pattern.replace(/:([A-Za-z0-9_]+)|\*/g, (_m, name: string | undefined) =>
      encodeURIComponent(String(params[name ?? '*'] ?? '')),
    ),
  );
}

/** A URL for the logs: one-time link tokens (`token=`) are secrets until used, so they are masked. */
export const logUrl = (url: string) => url.replace(/([?&]token=)[^&#]*/gi, '$1***');
