/**
 * Public pages from memory (issue 16, item 2): an anonymous visitor's GET of a page a module
 * marked cacheable is answered from a short-lived, byte-bounded LRU (lru-cache) in this process,
 * so a popular page costs one render per change (or per PAGE_CACHE_TTL_MS), not one per view.
 *
 * A route opts in with its config: `{ config: { pageCache: 'list' } }` for pages that list many
 * listings (home, category, search), `{ config: { pageCache: 'item' } }` for one listing's page
 * (its `:id` param names it). The module that owns the pages says when they change, through
 * `app.pageCache.invalidateLists()` (a generation counter in every list page's key) and
 * `app.pageCache.invalidateItem(id)` (that item's entries deleted), and for what a page shows of
 * other things, `app.pageCache.dependsOn(req, tag)` while rendering it and `invalidateTag(tag)`
 * when that changes (catalog: an item page's 시세 and similar auctions on its top category's
 * sales). Core knows no domain events.
 *
 * Two plugins, registered at two places of app.ts:
 * - `pageCachePlugin`, before the security plugin: the lookup, an onRequest hook that runs before
 *   the cookie parser, the session, helmet, the rate limit and under-pressure. A hit is answered
 *   there, with the headers the render that filled the entry had (helmet's security headers, the
 *   content type; not its per-request ones), so a hit costs a Map lookup and a write, no session
 *   object, no Redis round trip, no CSP string built again. What those plugins did for a hit is
 *   done here, cheaper: under-pressure's browsing level (`app.shedsBrowsing`, security.ts) sends a
 *   hit down the normal path, which sheds it; the rate limit for hits is a per-process, per-address
 *   counter in memory with RATE_LIMIT_MAX per minute (a crawler writes no Redis key; see below).
 * - `pageCacheStorePlugin`, after the session: the onSend hook that stores a render (it must see the
 *   session's cookie, set in the session's own onSend).
 *
 * Never from or into the cache: a request with a session cookie (`sid`: logged in, a flash, a form's
 * state) or a logged-in person, a `?lang=` that sets the language cookie, a response that sets a
 * cookie, carries its own Cache-Control (a CSRF token: no-store) or is not a 200. The key is the
 * language, the htmx headers that change the body (HX-Request, HX-Boosted, HX-Target), the
 * maintenance banner and the full path and query. A render that was running when something was
 * invalidated is not stored (it may show the state before the change). Concurrent misses of one
 * key wait for the first one's render (bounded) instead of rendering it fifty times over; an entry
 * past its TTL is rendered again by the first request after it, while the others meanwhile get
 * the old entry (an invalidation deletes, so this is only the TTL's bound: TTL + one render).
 *
 * Cached pages answer with a weak ETag of the body (304 on If-None-Match) and
 * `Cache-Control: public, max-age=0, must-revalidate` (`Vary: Cookie, HX-Request, HX-Target,
 * Accept-Encoding`), compressed (brotli or gzip, once per entry: core/compress.ts) for a visitor whose
 * Accept-Encoding asks for it; everything else keeps its headers
 * (logged-in pages: no-store, core/headers.ts). Hits and misses are counted in
 * `page_cache_requests_total` (hit ratio = hit / (hit + miss)).
 *
 * Rate limit of hits: in memory, per process. A hit costs less than the Redis round trip the shared
 * limiter would spend on it, and a shared counter would let a crawler write a key per address. N
 * instances let one address have N x RATE_LIMIT_MAX hits a minute; renders (misses, other pages)
 * still count in the shared limiter. Over the budget: 429 + Retry-After, as the shared limiter says.
 */
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { prom, registry } from './metrics.js';
import { encodingFor, compressed, type Compressible } from './compress.js';
import { AppError } from './errors.js';
import { DEFAULT_LANG, tFor, isLang, type Lang } from './i18n.js';

export type PageCacheKind = 'list' | 'item';

export interface PageCacheOptions {
  enabled: boolean;
  /** Bodies plus keys, in bytes, this process keeps at most. */
  maxBytes: number;
  /** How long an entry is served without a change event. */
  ttlMs: number;
  /** Hits one address may have per minute in this process (RATE_LIMIT_MAX, as the shared limiter). */
  rateLimitMax?: number;
  /** The maintenance banner is on (it is part of every page). */
  maintenance?: () => boolean;
}

export interface PageCache {
  readonly enabled: boolean;
  /** Home, category and search pages are stale: a new generation for all of them. */
  invalidateLists(): void;
  /** One listing's page is stale (every language and variant). */
  invalidateItem(id: number | string): void;
  /** Every page that said it depends on `tag` (dependsOn) is stale. */
  invalidateTag(tag: string): void;
  /**
   * The page this request renders depends on `tag` as well (e.g. the item page on its category's
   * sales, for 시세): invalidateTag(tag) makes it stale. Nothing when the request is not cached.
   */
  dependsOn(req: FastifyRequest, tag: string): void;
  /**
   * A viewer-independent part of logged-in pages (a view model or rendered HTML: an item page's body,
   * a bid panel's history and chart), computed once per change and shared by every viewer's render
   * in this process: the same invalidations as the pages (`item` names the listing whose
   * invalidateItem drops it; `dep(tag)` inside `compute` makes invalidateTag(tag) drop it), the same
   * TTL, bounded by a quarter of maxBytes (`bytes` estimates a value's size). Concurrent misses of one
   * key share one computation; one that was running when something was invalidated is not kept.
   * With the cache off, `compute` runs every time.
   */
  shared<T>(
    key: string,
    o: { item?: number | string; bytes?: (v: T) => number },
    compute: (dep: (tag: string) => void) => Promise<T>,
  ): Promise<T>;
  /** Everything (tests, operators). */
  clear(): void;
  /** Bytes held now (bodies and keys). */
  readonly bytes: number;
  readonly entries: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    pageCache: PageCache;
  }
  interface FastifyContextConfig {
    /** This GET may be answered from core/page-cache.ts for anonymous visitors. */
    pageCache?: PageCacheKind;
  }
}

interface SharedEntry {
  value: unknown;
  tag: string | null;
  deps: [string, number][];
  /** Estimated bytes (the LRU's bound). */
  size: number;
}

interface Entry extends Compressible {
  etag: string;
  /** The render's response headers that are the same for every visitor (content type, helmet's). */
  headers: Record<string, string | string[]>;
  /** `item:<id>` for item pages (their entries are deleted on invalidateItem). */
  tag: string | null;
  /** Tags (dependsOn) and their generation when the render started: any moved, the entry is stale. */
  deps: [string, number][];
}

/** The lookup's result, kept on the request until onSend decides whether to store. */
interface Pending {
  key: string;
  tag: string | null;
  epoch: number;
  deps?: [string, number][];
  /** Set when this request renders a key others wait for: wakes them (once). */
  release?: () => void;
}
const pendingOf = new WeakMap<FastifyRequest, Pending>();

/** Cache keys per item tag, so that invalidating an item deletes exactly its entries. */
class TagIndex {
  private readonly keys = new Map<string, Set<string>>();
  add(tag: string, key: string): void {
    let keys = this.keys.get(tag);
    if (!keys) this.keys.set(tag, (keys = new Set()));
    keys.add(key);
  }
  /** The LRU cache's `dispose`: an entry gone (evicted, expired, deleted) leaves the index. */
  readonly dispose = (e: { tag: string | null }, key: string): void => {
    if (!e.tag) return;
    const keys = this.keys.get(e.tag);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.keys.delete(e.tag);
  };
  /** Deletes every entry of `tag` from `cache` (its dispose then empties the index). */
  deleteAll(tag: string, cache: { delete(key: string): unknown }): void {
    const keys = this.keys.get(tag);
    if (keys) for (const k of [...keys]) cache.delete(k);
  }
}

/** What the lookup plugin and the store plugin share (one per app). */
interface Internals {
  cache: LRUCache<string, Entry>;
  byTag: TagIndex;
  epoch(): number;
  /** The last stored render's headers without its content type: helmet's, for a 429 sent before helmet ran. */
  securityHeaders: Record<string, string | string[]>;
}
const internals = new WeakMap<PageCache, Internals>();

export const sharedFragmentRequests = new prom.Counter({
  name: 'page_cache_shared_requests_total',
  help: "Logged-in pages' shared parts (item body, bid panel history and chart) by result (hit, miss)",
  labelNames: ['result'] as const,
  registers: [registry],
});

export const pageCacheRequests = new prom.Counter({
  name: 'page_cache_requests_total',
  help: 'Cacheable anonymous page requests by result (hit, miss; bypass: not eligible, e.g. a cookie was set)',
  labelNames: ['result'] as const,
  registers: [registry],
});

/** Every app's cache in this process (tests build several), for the bytes gauge. */
const live = new Set<PageCache>();
new prom.Gauge({
  name: 'page_cache_bytes',
  help: 'Bytes held by the anonymous page cache (bodies and keys)',
  registers: [registry],
  collect() {
    let n = 0;
    for (const c of live) n += c.bytes;
    this.set(n);
  },
});

const CACHE_CONTROL = 'public, max-age=0, must-revalidate';
/** What else the body depends on besides the URL: a browser or proxy keeps them apart too. */
const VARY = 'Cookie, HX-Request, HX-Target, Accept-Encoding';
/** A render's headers that belong to that one response, never replayed on a hit. */
const PER_RESPONSE = new Set([
  'set-cookie',
  'content-length',
  'x-request-id',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'etag',
  'cache-control',
  'vary',
  'x-page-cache',
  'retry-after',
]);
/** How long a miss waits for another request's render of the same key before rendering itself. */
const COALESCE_WAIT_MS = 2000;
const RATE_WINDOW_MS = 60_000;

const weakEtag = (body: string) => `W/"${createHash('sha1').update(body).digest('base64url')}"`;

/**
 * If-None-Match lists this ETag (or `*`); weak comparison, as RFC 9110 asks for GET. The tag of a
 * compressed copy (`W/"<hash>-br"`) matches too: it is the same page, which a 304 says is current.
 */
function notModified(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  if (!inm) return false;
  const bare = etag.slice(2);
  return inm.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === bare || v.replace(/-(br|gzip)"$/, '"') === bare;
  });
}

const header = (req: FastifyRequest, name: string): string => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
};

const SID_COOKIE = /(?:^|;)\s*sid=/;
const LANG_COOKIE = /(?:^|;)\s*lang=([^;]*)/;

/**
 * The language the page will be rendered in (core/i18n.ts's rule: `?lang=`, else the `lang` cookie,
 * else Korean), read from the raw Cookie header: this runs before the cookie parser. null when the
 * request must not use the cache: it has a session cookie, or `?lang=` differs from the cookie
 * (i18n sets the cookie then).
 */
function anonymousLang(req: FastifyRequest): Lang | null {
  const raw = req.headers.cookie ?? '';
  if (raw && SID_COOKIE.test(raw)) return null;
  const c = raw ? LANG_COOKIE.exec(raw)?.[1]?.trim() : undefined;
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (isLang(q)) return q === c ? q : null;
  return isLang(c) ? c : DEFAULT_LANG;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

declare module 'fastify' {
  interface FastifyInstance {
    /** True while under-pressure would refuse an anonymous page view (security.ts). */
    shedsBrowsing?: () => boolean;
  }
}

export const pageCachePlugin = fp<PageCacheOptions>(
  async (app, opts) => {
    const byTag = new TagIndex();
    const cache = new LRUCache<string, Entry>({
      maxSize: opts.maxBytes,
      sizeCalculation: (e, k) => Math.max(1, e.body.length + k.length * 2 + 600),
      // A page larger than an eighth of the budget is not worth holding.
      maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 8)),
      ttl: opts.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      dispose: byTag.dispose,
    });
    /** Shared parts of logged-in pages (shared()), by key, and their keys per item tag. */
    const sharedByTag = new TagIndex();
    const sharedCache = new LRUCache<string, SharedEntry>({
      maxSize: Math.max(1, Math.floor(opts.maxBytes / 4)),
      sizeCalculation: (e) => Math.max(1, e.size),
      ttl: opts.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      dispose: sharedByTag.dispose,
    });
    const sharedInflight = new Map<string, { gen: string; promise: Promise<unknown> }>();
    /**
     * Invalidations per item since `itemGenEpoch` (bounded: past 100,000 items it starts afresh under
     * a new epoch). A shared part is kept only if its item did not move while it was computed: a bid
     * storm on other items does not keep this one from being cached (the pages' global epoch would).
     */
    const itemGen = new Map<string, number>();
    let itemGenEpoch = 0;
    const genOf = (item: string | undefined) =>
      item === undefined ? `e${epoch}` : `${itemGenEpoch}:${itemGen.get(item) ?? 0}`;
    let listGeneration = 0;
    /** Moves on every invalidation: a render that saw an older epoch is not stored. */
    let epoch = 0;
    /** invalidateTag's generations (a tag never invalidated is at 0). */
    const tagGen = new Map<string, number>();

    const api: PageCache = {
      enabled: opts.enabled,
      invalidateLists() {
        listGeneration++;
        epoch++;
      },
      invalidateItem(id) {
        epoch++;
        byTag.deleteAll(`item:${id}`, cache);
        sharedByTag.deleteAll(`item:${id}`, sharedCache);
        if (itemGen.size >= 100_000) {
          itemGen.clear();
          itemGenEpoch++;
        }
        itemGen.set(String(id), (itemGen.get(String(id)) ?? 0) + 1);
      },
      invalidateTag(tag) {
        epoch++;
        // Bounded: tags are a module's own few kinds (categories), not visitors' input.
        tagGen.set(tag, (tagGen.get(tag) ?? 0) + 1);
      },
      dependsOn(req, tag) {
        const p = pendingOf.get(req);
        if (p) (p.deps ??= []).push([tag, tagGen.get(tag) ?? 0]);
      },
      async shared<T>(
        key: string,
        o: { item?: number | string; bytes?: (v: T) => number },
        compute: (dep: (tag: string) => void) => Promise<T>,
      ): Promise<T> {
        if (!opts.enabled) return compute(() => {});
        const hit = sharedCache.get(key);
        if (hit && hit.deps.every(([tag, gen]) => (tagGen.get(tag) ?? 0) === gen)) {
          sharedFragmentRequests.inc({ result: 'hit' });
          return hit.value as T;
        }
        // Another viewer's request is computing it now (since the last change): share its result.
        const item = o.item === undefined ? undefined : String(o.item);
        const running = sharedInflight.get(key);
        if (running && running.gen === genOf(item)) return running.promise as Promise<T>;
        sharedFragmentRequests.inc({ result: 'miss' });
        const started = genOf(item);
        const deps: [string, number][] = [];
        const promise = compute((tag) => deps.push([tag, tagGen.get(tag) ?? 0])).then((value) => {
          // Something changed while it was computed: it may show the state before the change.
          if (started === genOf(item)) {
            const tag = item === undefined ? null : `item:${item}`;
            const size = (o.bytes ? o.bytes(value) : 2048) + key.length * 2 + 200;
            sharedCache.set(key, { value, tag, deps, size });
            if (tag && sharedCache.has(key)) sharedByTag.add(tag, key);
          }
          return value;
        });
        sharedInflight.set(key, { gen: started, promise });
        const forget = () => {
          if (sharedInflight.get(key)?.promise === promise) sharedInflight.delete(key);
        };
        promise.then(forget, forget);
        return promise;
      },
      clear() {
        epoch++;
        listGeneration++;
        itemGen.clear();
        itemGenEpoch++;
        cache.clear();
        sharedCache.clear();
      },
      get bytes() {
        return cache.calculatedSize;
      },
      get entries() {
        return cache.size;
      },
    };
    app.decorate('pageCache', api);
    const own: Internals = { cache, byTag, epoch: () => epoch, securityHeaders: {} };
    /** An entry none of whose tags moved since its render. */
    const current = (e: Entry) => e.deps.every(([tag, gen]) => (tagGen.get(tag) ?? 0) === gen);
    internals.set(api, own);
    live.add(api);
    app.addHook('onClose', async () => {
      live.delete(api);
      cache.clear();
      sharedCache.clear();
    });
    if (!opts.enabled) return;

    /** Keys being rendered now, and the promise their waiters wait on. */
    const inflight = new Map<string, Promise<void>>();
    /** Hits per address in the current minute (bounded: an address pushed out starts afresh). */
    const hitsBy = new LRUCache<string, { n: number; resetAt: number }>({ max: 100_000 });
    const maxHits = opts.rateLimitMax ?? 600;

    /** The entry key, or null when this request must not use the cache. */
    function keyOf(req: FastifyRequest): Pending | null {
      if (req.method !== 'GET') return null;
      const kind = req.routeOptions.config?.pageCache;
      if (!kind) return null;
      const lang = anonymousLang(req);
      if (!lang) {
        pageCacheRequests.inc({ result: 'bypass' });
        return null;
      }
      let tag: string | null = null;
      let scope: string;
      if (kind === 'item') {
        const id = (req.params as Record<string, unknown> | undefined)?.id;
        if (id === undefined) return null;
        tag = `item:${String(id)}`;
        scope = tag;
      } else {
        scope = `list:${listGeneration}`;
      }
      const hx = `${header(req, 'hx-request') ? 1 : 0}${header(req, 'hx-boosted') ? 1 : 0}:${header(req, 'hx-target')}`;
      const maint = opts.maintenance?.() ? 'm' : '-';
      return { key: `${scope}|${lang}|${hx}|${maint}|${req.url}`, tag, epoch };
    }

    /** Counts a hit for the address; false when it is over this minute's budget. */
    function withinBudget(req: FastifyRequest, reply: FastifyReply): boolean {
      const now = Date.now();
      const k = req.ip;
      let c = hitsBy.get(k);
      if (!c || c.resetAt <= now) hitsBy.set(k, (c = { n: 0, resetAt: now + RATE_WINDOW_MS }));
      c.n++;
      if (c.n <= maxHits) return true;
      reply.header('retry-after', String(Math.max(1, Math.ceil((c.resetAt - now) / 1000))));
      return false;
    }

    function serve(req: FastifyRequest, reply: FastifyReply, hit: Entry): FastifyReply {
      pageCacheRequests.inc({ result: 'hit' });
      const enc = encodingFor(req.headers['accept-encoding'], hit);
      reply
        .headers(hit.headers)
        .header('etag', enc ? `${hit.etag.slice(0, -1)}-${enc}"` : hit.etag)
        .header('cache-control', CACHE_CONTROL)
        .header('vary', VARY)
        .header('x-page-cache', 'hit');
      if (notModified(req, hit.etag)) return reply.code(304).send();
      if (!enc) return reply.send(hit.body);
      return reply.header('content-encoding', enc).send(compressed(hit, enc));
    }

    // Before the cookie parser, the session, helmet, the rate limit and under-pressure (app.ts
    // registers this plugin before security.ts): a hit never reaches them, the handler or the views.
    app.addHook('onRequest', async (req, reply) => {
      const p = keyOf(req);
      if (!p) return;
      // Under pressure anonymous page views are refused, hits too: the normal path sheds them.
      if (app.shedsBrowsing?.()) return;
      const status: LRUCache.Status<string, Entry> = {};
      let hit = cache.get(p.key, { allowStale: true, noDeleteOnStaleGet: true, status });
      if (hit && !current(hit)) {
        cache.delete(p.key);
        hit = undefined;
      }
      // Past its TTL (no event said it changed): this request renders it again; the ones that come
      // while it does are served the entry they would have had a moment ago, not kept waiting.
      if (hit && status.get === 'stale' && !inflight.has(p.key)) hit = undefined;
      if (hit || inflight.has(p.key)) {
        if (!withinBudget(req, reply)) {
          reply.headers(own.securityHeaders);
          req.lang = anonymousLang(req) ?? DEFAULT_LANG;
          req.t = tFor(req.lang);
          throw new AppError(429, 'errors.rateLimited', {}, 'RATE_LIMITED');
        }
      }
      // Another request is rendering this page: wait for it (bounded) rather than render it again.
      for (let i = 0; !hit && i < 3; i++) {
        const running = inflight.get(p.key);
        if (!running) break;
        await Promise.race([running, sleep(COALESCE_WAIT_MS)]);
        hit = cache.get(p.key, { allowStale: true, noDeleteOnStaleGet: true });
        if (hit && !current(hit)) hit = undefined;
      }
      if (hit) return serve(req, reply, hit);
      // Something changed while this request waited: the key of what it renders now.
      const q = p.epoch === epoch ? p : keyOf(req);
      if (!q) return;
      pageCacheRequests.inc({ result: 'miss' });
      if (!inflight.has(q.key)) {
        let release!: () => void;
        const done = new Promise<void>((resolve) => (release = resolve));
        inflight.set(q.key, done);
        q.release = () => {
          if (inflight.get(q.key) === done) inflight.delete(q.key);
          release();
        };
      }
      pendingOf.set(req, q);
    });
    // A render that ends without reaching the store hook (an error, a closed socket) still wakes its waiters.
    const wake = async (req: FastifyRequest) => {
      pendingOf.get(req)?.release?.();
    };
    app.addHook('onResponse', wake);
    app.addHook('onRequestAbort', wake);
  },
  { name: 'core-page-cache', dependencies: ['core-metrics'] },
);

/** Stores anonymous renders: registered after the session plugin, so it sees the session's cookie. */
export const pageCacheStorePlugin = fp(
  async (app) => {
    const own = internals.get(app.pageCache);
    if (!app.pageCache.enabled || !own) return;
    const { cache, byTag } = own;
    app.addHook('onSend', async (req, reply, payload) => {
      const p = pendingOf.get(req);
      if (!p) return payload;
      pendingOf.delete(req);
      try {
        const s = req.session as { isModified?: () => boolean } | undefined;
        if (
          reply.statusCode !== 200 ||
          typeof payload !== 'string' ||
          req.user ||
          reply.hasHeader('set-cookie') ||
          reply.hasHeader('cache-control') ||
          s?.isModified?.()
        ) {
          // What an anonymous visitor gets here now is not the (stale) entry: it goes.
          cache.delete(p.key);
          if (reply.statusCode === 200) pageCacheRequests.inc({ result: 'bypass' });
          return payload;
        }
        const etag = weakEtag(payload);
        if (p.epoch === own.epoch()) {
          const headers: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(reply.getHeaders())) {
            if (value === undefined || PER_RESPONSE.has(name) || name.startsWith('x-ratelimit-')) continue;
            headers[name] = typeof value === 'number' ? String(value) : value;
          }
          const security = { ...headers };
          delete security['content-type'];
          own.securityHeaders = security;
          headers['content-type'] ??= 'text/html; charset=utf-8';
          cache.set(p.key, { body: Buffer.from(payload), etag, headers, tag: p.tag, deps: p.deps ?? [] });
          if (p.tag && cache.has(p.key)) byTag.add(p.tag, p.key);
        }
        reply
          .header('etag', etag)
          .header('cache-control', CACHE_CONTROL)
          .header('vary', VARY)
          .header('x-page-cache', 'miss');
        if (notModified(req, etag)) {
          reply.code(304);
          return '';
        }
        return payload;
      } finally {
        p.release?.();
        delete p.release;
      }
    });
  },
  { name: 'core-page-cache-store', dependencies: ['core-page-cache', '@fastify/session'] },
);
