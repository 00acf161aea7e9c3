/**
 * Request-level protection: cookies, form bodies, server-side sessions in Redis (created only when
 * there is something to keep: a login, a flash message), CSRF tokens on every state-changing
 * request (stateless: the secret lives in a signed cookie, the token is bound to who is logged in), security headers with a CSP htmx works under, rate limits
 * (shared across instances through Redis) and load shedding before the event loop drowns.
 */
import fp from 'fastify-plugin';
import fastifyCookie, { Signer, type UnsignResult } from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import fastifyCsrf from '@fastify/csrf-protection';
import helmet, { type HelmetOptions } from 'helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import type { Redis } from 'ioredis';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHmac } from 'node:crypto';
import { AppError } from './errors.js';
import { isLoginGuard } from './auth.js';
import { requestLang, tFor } from './i18n.js';
import { prom, registry } from './metrics.js';

/** Requests refused by load shedding, by kind (browsing first, then the rest). */
const shedCounter = new prom.Counter({
  name: 'http_shed_requests_total',
  help: 'Requests refused with 503 under pressure, by kind (browsing: anonymous page views; other: the rest)',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const SESSION_TTL_SECONDS = 14 * 24 * 3600;

/** The Redis key of a session: ending a session elsewhere (all of a user's at a password reset) deletes it. */
export const sessionKey = (prefix: string, sid: string) => `${prefix}:sess:${sid}`;

/**
 * Minimal @fastify/session store on ioredis: one JSON value per session id with a TTL.
 * Callbacks run on their own tick, outside the Redis promise: the session's save callback goes on
 * to send the reply, and anything thrown there must not become a rejection of this promise (an
 * unhandled rejection ends the process). A throw is reported to `onCallbackError` instead.
 */
export function redisSessionStore(redis: Redis, prefix: string, onCallbackError: (err: unknown) => void = () => {}) {
  const key = (sid: string) => sessionKey(prefix, sid);
  const unavailable = (cause: unknown) =>
    Object.assign(new AppError(503, 'errors.unavailable', {}, 'SESSION_STORE_DOWN'), { cause });
  const settle = <A extends unknown[]>(cb: (...args: A) => void, ...args: A) =>
    process.nextTick(() => {
      try {
        cb(...args);
      } catch (err) {
        onCallbackError(err);
      }
    });
  return {
    set(sid: string, session: unknown, cb: (err?: unknown) => void) {
      const s = session as { cookie?: { originalMaxAge?: number | null } };
      const ttl = Math.ceil((s.cookie?.originalMaxAge ?? SESSION_TTL_SECONDS * 1000) / 1000);
      redis.set(key(sid), JSON.stringify(session), 'EX', Math.max(ttl, 1)).then(
        () => settle(cb),
        (e) => settle(cb, unavailable(e)),
      );
    },
    get(sid: string, cb: (err: unknown, session?: Session | null) => void) {
      redis.get(key(sid)).then(
        (raw) => {
          let session: Session | null;
          try {
            session = raw ? (JSON.parse(raw) as Session) : null;
          } catch {
            session = null; // a corrupt value is no session, not an error page
          }
          settle(cb, null, session);
        },
        (e) => settle(cb, unavailable(e)),
      );
    },
    destroy(sid: string, cb: (err?: unknown) => void) {
      redis.del(key(sid)).then(
        () => settle(cb),
        (e) => settle(cb, unavailable(e)),
      );
    },
  };
}

/**
 * The cookie signer (@fastify/cookie's HMAC-SHA256) with its answers remembered: every logged-in
 * request checked the session cookie's signature, signed the session id again (@fastify/session
 * does in each Session it builds) and checked the CSRF secret cookie's signature, three HMACs
 * for the same few strings a browser sends again and again. A signature is a pure function of
 * the secret and the value, so remembering one changes no answer; only valid signatures are kept
 * (junk cookies cannot fill the memory), at most `max` of each, the oldest forgotten first.
 */
export function memoSigner(
  secret: string,
  max = 20_000,
): { sign(value: string): string; unsign(signed: string): UnsignResult } {
  const signer = new Signer(secret, 'sha256');
  const signed = new Map<string, string>();
  const valid = new Map<string, UnsignResult>();
  const remember = <V>(m: Map<string, V>, k: string, v: V) => {
    if (m.size >= max) m.delete(m.keys().next().value!);
    m.set(k, v);
  };
  return {
    sign(value) {
      let out = signed.get(value);
      if (out === undefined) remember(signed, value, (out = signer.sign(value)));
      return out;
    },
    unsign(input) {
      const known = valid.get(input);
      if (known) return { ...known };
      const r = signer.unsign(input);
      if (r.valid) remember(valid, input, { ...r });
      return r;
    },
  };
}

/** The security headers' settings (a CSP htmx works under); helmetHeaders turns them into headers. */
export function helmetOptions(production: boolean, imgOrigins: string[]): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // htmx runs from our own file with eval off (htmx-config meta), so no 'unsafe-*' is needed.
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...imgOrigins],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: production ? { maxAge: 15552000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  };
}

/**
 * The headers helmet sets with these options (it sets the same ones on every response when no
 * CSP directive is a function of the request): helmet run once against a recording response.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) =>
      void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return headers;
}

/**
 * Checks a CSRF token that did not come in a parsed body (a multipart form's `_csrf` field or the
 * `x-csrf-token` header, read before any file): @fastify/csrf-protection's own check, run against
 * a body holding only that token, the real body put back afterwards.
 */
export function verifyCsrfToken(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  token: string | undefined,
): Promise<void> {
  const saved = req.body;
  (req as { body: unknown }).body = { _csrf: token };
  return new Promise<void>((resolve, reject) => {
    app.csrfProtection(req, reply, (err?: Error) => {
      (req as { body: unknown }).body = saved;
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Whom a CSRF token belongs to: the logged-in person, or "anonymous". A token minted before a
 * login (the login form's) is not valid after it, nor one person's for another's session.
 */
export const csrfUserInfo = (req: FastifyRequest): string => (req.session?.user ? `u:${req.session.user.id}` : 'anon');

declare module 'fastify' {
  interface FastifyReply {
    /** A CSRF token for this request's forms (sets the signed `_csrf` secret cookie if the browser has none). */
    csrfToken(): string;
  }
  interface FastifyContextConfig {
    /** Set on routes whose preHandler is requireUser (security.ts reads it): anonymous posts are refused there. */
    requiresUser?: boolean;
    /** A page with a form a logged-out visitor posts (login, sign-up, reset): it gets a CSRF token. */
    csrfForm?: boolean;
  }
  interface Session {
    userId?: number;
    user?: { id: number; nickname: string; role: string };
    flash?: { kind: 'info' | 'error'; key: string; params?: Record<string, unknown> };
    /** The day (UTC, days since 1970) of the session's last save: it is saved again once a day. */
    seenDay?: number;
  }
}

export interface SecurityOptions {
  redis: Redis;
  prefix: string;
  sessionSecret: string;
  production: boolean;
  rateLimitMax?: number;
  /** Other origins pages load images from (the photo CDN). */
  imgOrigins?: string[];
  /** When to shed what (config.loadShed); defaults: browsing above 500 ms of event-loop delay, all above 1000 ms. */
  loadShed?: LoadShedOptions;
}

export interface LoadShedOptions {
  /** Mean event-loop delay (ms) above which anonymous page views are refused. */
  browsingDelayMs: number;
  /** Mean event-loop delay (ms) above which everything but the exempt paths is refused. */
  allDelayMs: number;
  /** Shed without waiting for the measure: an operator's lever (a crawler storm) and the tests'. */
  force: 'off' | 'browsing' | 'all';
}

const RANK = { off: 0, browsing: 1, all: 2 } as const;

/** Never shed: static files (immutable, cheap, the page already shed would need them) and the probes. */
const EXEMPT = /^\/(?:static\/|healthz(?:$|\?)|readyz(?:$|\?))/;

/**
 * Who yields first when the process is saturated: "browsing", an anonymous visitor's page view
 * (GET/HEAD without a login, the live socket included), before anything else. Bids, a logged-in
 * person's pages, the login/sign-up forms and every form post are refused only at the higher level.
 */
export function shedLevelOf(req: FastifyRequest): 'exempt' | 'browsing' | 'other' {
  if (EXEMPT.test(req.url)) return 'exempt';
  // The login and sign-up forms are the way to a bid: not browsing.
  if (req.routeOptions.config?.csrfForm) return 'other';
  if ((req.method === 'GET' || req.method === 'HEAD') && !req.session?.user) return 'browsing';
  return 'other';
}

export const securityPlugin = fp<SecurityOptions>(
  async (app, opts) => {
    // One signer (memoSigner) for the CSRF secret cookie (@fastify/cookie) and the session cookie.
    const signer = memoSigner(opts.sessionSecret);
    await app.register(fastifyCookie, { secret: signer });
    await app.register(fastifyFormbody, { bodyLimit: 256 * 1024 });
    await app.register(fastifySession, {
      secret: signer,
      cookieName: 'sid',
      saveUninitialized: false,
      // Not re-saved (a Redis SET and a Set-Cookie) on every request of a logged-in person: only when
      // it changed, and once a day (below) so that it still expires 14 days after the last visit.
      rolling: false,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: opts.production ? 'auto' : false,
        maxAge: SESSION_TTL_SECONDS * 1000,
        path: '/',
      },
      store: redisSessionStore(opts.redis, opts.prefix, (err) =>
        app.log.error({ err }, 'session store callback threw (the reply was being sent)'),
      ),
    });
    // The sliding expiry at a day's grain: the first request of a day marks the session changed, so
    // it is saved with a fresh TTL and cookie; the day's other requests read it only.
    app.addHook('preHandler', async (req) => {
      const s = req.session;
      if (!s?.user) return;
      const day = Math.floor(Date.now() / 86_400_000);
      if (s.seenDay !== day) s.seenDay = day;
    });
    // CSRF without server state: the secret is a signed, httpOnly cookie (set by the first form a
    // browser is given), the token an HMAC bound to who is logged in (csrfUserInfo). So an anonymous
    // visitor's login or sign-up form needs no session in Redis, and pages without forms set nothing.
    await app.register(fastifyCsrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: '_csrf',
      cookieOpts: {
        path: '/',
        sameSite: 'lax',
        httpOnly: true,
        signed: true,
        secure: opts.production ? 'auto' : false,
      },
      csrfOpts: { hmacKey: createHmac('sha256', opts.sessionSecret).update('csrf user binding').digest() },
      getUserInfo: csrfUserInfo,
      // htmx sends the token as a header (hx-headers on <body>); plain forms as the hidden _csrf field.
      getToken: (req: FastifyRequest) =>
        (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string | undefined),
    });
    app.decorateReply('csrfToken', function (this: FastifyReply) {
      // A response with a token in it is one browser's: never stored by a shared cache.
      if (!this.hasHeader('cache-control')) this.header('cache-control', 'no-store');
      return this.generateCsrf({ userInfo: csrfUserInfo(this.request) });
    });
    // Routes that need a login say so in their config (read below): an anonymous post there is
    // answered by requireUser (login redirect, 401) before anything changes, so it needs no token,
    // and a public page can offer a logged-out visitor the bid button without minting one.
    app.addHook('onRoute', (route) => {
      const pre = route.preHandler;
      if (isLoginGuard(pre) || (Array.isArray(pre) && pre.some(isLoginGuard)))
        route.config = { ...(route.config as object), requiresUser: true } as typeof route.config;
    });
    // Every state-changing request needs a valid token, whichever module's route it is.
    app.addHook('preHandler', async (req, reply) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
      const config = req.routeOptions.config as { csrf?: boolean; requiresUser?: boolean } | undefined;
      if (config?.csrf === false) return;
      if (config?.requiresUser && !req.session?.user) return;
      await new Promise<void>((resolve, reject) => {
        app.csrfProtection(req, reply, (err?: Error) => (err ? reject(err) : resolve()));
      });
    });

    // helmet's headers, worked out once: @fastify/helmet built a new helmet middleware (its options
    // parsed, the CSP compiled) for every request, 2-4 % of a logged-in page's CPU; with no nonce
    // and no directive that depends on the request, every response gets the same headers.
    const securityHeaders = helmetHeaders(helmetOptions(opts.production, opts.imgOrigins ?? []));
    app.addHook('onRequest', (_req, reply, done) => {
      reply.headers(securityHeaders);
      done();
    });

    await app.register(fastifyRateLimit, {
      global: true,
      max: opts.rateLimitMax ?? 600,
      timeWindow: '1 minute',
      redis: opts.redis,
      nameSpace: `${opts.prefix}:rl:`,
      skipOnError: true, // Redis down must not turn into every request refused
      // Logged-in people are counted one by one: many share one address (mobile carriers' NAT,
      // offices), so an address-wide budget would throttle them all for one heavy user.
      keyGenerator: (req) => (req.session?.user ? `u:${req.session.user.id}` : `ip:${req.ip}`),
      allowList: (req) => req.url === '/healthz' || req.url === '/readyz',
    });

    // Load shedding in two levels: above browsingDelayMs of event-loop delay anonymous page views
    // get 503 + Retry-After (in the visitor's language), above allDelayMs everything but static
    // files and probes does. under-pressure measures; its custom health check carries the
    // operator's LOAD_SHED_FORCE (it reads as "unhealthy": the forced level applies).
    const shed: LoadShedOptions = opts.loadShed ?? { browsingDelayMs: 500, allDelayMs: 1000, force: 'off' };
    const forced = shed.force !== 'off';
    await app.register(fastifyUnderPressure, {
      // A busy-but-healthy loop (high utilisation) keeps serving; only a late one sheds.
      maxEventLoopDelay: shed.browsingDelayMs,
      retryAfter: 10,
      exposeStatusRoute: false,
      ...(forced ? { healthCheck: async () => false, healthCheckInterval: 60_000 } : {}),
      pressureHandler: (req, reply, type, value) => {
        // What the measure says: no delay sample in the last interval (the loop was busy once for the
        // whole of it: start-up, a long GC) reads as an infinite delay; the loop is free again now,
        // so that is no reason to refuse. A loop that is really late still records (late) samples.
        // The heap and RSS limits are not set; the health check is the forced level alone.
        const measured =
          type === 'healthCheck' || (type === 'eventLoopDelay' && !Number.isFinite(value))
            ? 0
            : type === 'eventLoopDelay' && (value as number) < shed.allDelayMs
              ? 1
              : 2;
        const level = Math.max(measured, RANK[shed.force]);
        if (level === 0) return;
        const kind = shedLevelOf(req);
        if (kind === 'exempt' || (kind === 'other' && level === 1)) return;
        req.log.warn({ type, value, level }, 'under pressure: shedding request');
        shedCounter.inc({ kind });
        // This runs before i18n's own hook: the message must still be in the visitor's language.
        req.lang = requestLang(req);
        req.t = tFor(req.lang);
        reply.header('Retry-After', '10');
        throw new AppError(503, 'errors.unavailable', {}, 'OVERLOADED');
      },
    });
    // The same rule for the page cache's hits, answered before under-pressure's hook (core/page-cache.ts):
    // true when an anonymous page view would be refused now.
    app.decorate('shedsBrowsing', () => {
      if (RANK[shed.force] >= RANK.browsing) return true;
      const delay = app.memoryUsage().eventLoopDelay;
      return Number.isFinite(delay) && delay > shed.browsingDelayMs;
    });
  },
  { name: 'core-security', dependencies: [] },
);
