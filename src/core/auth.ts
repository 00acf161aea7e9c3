/** Who is logged in (`req.user`, from the server-side session) and the guard for pages that need it. */
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hxRedirect, loginUrl, safePath } from './redirect.js';

export interface CurrentUser {
  id: number;
  nickname: string;
  role: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: CurrentUser | null;
  }
}

export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('user', null);
    app.addHook('preHandler', async (req) => {
      req.user = req.session?.user ?? null;
    });
  },
  { name: 'core-auth' },
);

/**
 * preHandler: pages redirect to the login form (and back after); htmx and JSON get 401.
 * Returns the reply when it answered: an async hook that sends without returning it lets
 * Fastify run the handler too (it did, with req.user null, once the session had to be saved).
 */
export async function requireUser(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  return loginFirst(req, reply, req.url);
}

const loginGuards = new WeakSet<object>([requireUser]);
/**
 * True for requireUser and every requireUserThen guard: a logged-out request to such a route is
 * answered with the way to the login form before anything changes (security.ts lets it through
 * the CSRF check for that reason).
 */
export function isLoginGuard(fn: unknown): boolean {
  return typeof fn === 'function' && loginGuards.has(fn);
}

/**
 * requireUser for a route whose own URL is no page to come back to (a POST-only form target):
 * after the login the shopper lands on `next(req)` instead (e.g. the item page with its bid form open).
 */
export function requireUserThen(next: (req: FastifyRequest) => string) {
  const guard = (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> =>
    loginFirst(req, reply, next(req));
  loginGuards.add(guard);
  return guard;
}

async function loginFirst(req: FastifyRequest, reply: FastifyReply, next: string): Promise<FastifyReply | void> {
  // A page that needs a login is one person's: never cached, and neither is the way to the login form.
  reply.header('cache-control', 'no-store');
  if (req.user) return;
  const login = loginUrl(next);
  if (req.htmx) return hxRedirect(reply, login, 401);
  const accept = req.headers.accept ?? '';
  if (accept.includes('application/json') && !accept.includes('text/html')) {
    return reply.code(401).send({ error: { code: 'LOGIN_REQUIRED', message: req.t('accounts.errors.loginRequired') } });
  }
  return reply.redirect(login, 303);
}

/** A same-site path to go to after login; anything else (absolute URLs, //host, control characters) is `/`. */
export const safeNext = safePath;

/** Sets a one-shot message shown on the next page. */
export function flash(
  req: FastifyRequest,
  kind: 'info' | 'error',
  key: string,
  params?: Record<string, unknown>,
): void {
  req.session.flash = { kind, key, params };
}
