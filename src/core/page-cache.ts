/**
 * Public pages from memory (issue 16, item 2): an anonymous visitor's GET of a page a module
 * marked cacheable is answered from a short-lived, byte-bounded LRU (lru-cache) in this process,
 * so a popular page costs one render per change (or per PAGE_CACHE_TTL_MS), not one per view.
 *
 * A route opts in with its config: `{ config: { pageCache: 'list' } }` for pages that list many
 * listings (home, category, search), `{ config: { pageCache: 'item' } }` for one listing's page
 * (its `:id` param names it). The module that owns the pages says when they change, through
 * `app.pageCache.invalidateLists()` (a generation counter in every list page's key) and
 * `app.pageCache.invalidateItem(id)` (that item's entries deleted); core knows no domain events.
 *
 * Never from or into the cache: a logged-in person or any request with a session cookie, a
 * response that sets a cookie, carries its own Cache-Control (a CSRF token: no-store) or is not
 * a 200. The key is the language, the htmx headers that change the body (HX-Request, HX-Boosted,
 * HX-Target), the maintenance banner and the full path and query. A render that was running when
 * something was invalidated is not stored (it may show the state before the change).
 *
 * Cached pages answer with a weak ETag of the body (304 on If-None-Match) and
 * `Cache-Control: public, max-age=0, must-revalidate` (`Vary: Cookie, HX-Request, HX-Target`); everything else keeps its headers
 * (logged-in pages: no-store, core/headers.ts). Hits and misses are counted in
 * `page_cache_requests_total` (hit ratio = hit / (hit + miss)).
 */
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { prom, registry } from './metrics.js';

export type PageCacheKind = 'list' | 'item';

export interface PageCacheOptions {
  enabled: boolean;
  /** Bodies plus keys, in bytes, this process keeps at most. */
  maxBytes: number;
  /** How long an entry is served without a change event. */
  ttlMs: number;
}

export interface PageCache {
  readonly enabled: boolean;
  /** Home, category and search pages are stale: a new generation for all of them. */
  invalidateLists(): void;
  /** One listing's page is stale (every language and variant). */
  invalidateItem(id: number | string): void;
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

interface Entry {
  body: string;
  etag: string;
  contentType: string;
  /** `item:<id>` for item pages (their entries are deleted on invalidateItem). */
  tag: string | null;
}

/** The lookup's result, kept on the request until onSend decides whether to store. */
interface Pending {
  key: string;
  tag: string | null;
  epoch: number;
}
const pendingOf = new WeakMap<FastifyRequest, Pending>();

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
const VARY = 'Cookie, HX-Request, HX-Target';

const weakEtag = (body: string) => `W/"${createHash('sha1').update(body).digest('base64url')}"`;

/** If-None-Match lists this ETag (or `*`); weak comparison, as RFC 9110 asks for GET. */
function notModified(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  if (!inm) return false;
  const bare = etag.slice(2);
  return inm.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === bare || v.replace(/^W\//, '') === bare;
  });
}

const header = (req: FastifyRequest, name: string): string => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
};

export const pageCachePlugin = fp<PageCacheOptions & { maintenance?: () => boolean }>(
  async (app, opts) => {
    /** Entry keys per item tag, so invalidateItem deletes exactly that item's pages. */
    const byTag = new Map<string, Set<string>>();
    const cache = new LRUCache<string, Entry>({
      maxSize: opts.maxBytes,
      sizeCalculation: (e, k) => Math.max(1, Buffer.byteLength(e.body) + k.length * 2 + 200),
      // A page larger than an eighth of the budget is not worth holding.
      maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 8)),
      ttl: opts.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      dispose: (e, k) => {
        if (!e.tag) return;
        const keys = byTag.get(e.tag);
        if (!keys) return;
        keys.delete(k);
        if (keys.size === 0) byTag.delete(e.tag);
      },
    });
    let listGeneration = 0;
    /** Moves on every invalidation: a render that saw an older epoch is not stored. */
    let epoch = 0;

    const api: PageCache = {
      enabled: opts.enabled,
      invalidateLists() {
        listGeneration++;
        epoch++;
      },
      invalidateItem(id) {
        epoch++;
        const keys = byTag.get(`item:${id}`);
        if (keys) for (const k of [...keys]) cache.delete(k);
      },
      clear() {
        epoch++;
        listGeneration++;
        cache.clear();
      },
      get bytes() {
        return cache.calculatedSize;
      },
      get entries() {
        return cache.size;
      },
    };
    app.decorate('pageCache', api);
    live.add(api);
    app.addHook('onClose', async () => {
      live.delete(api);
      cache.clear();
    });
    if (!opts.enabled) return;

    /** The entry key, or null when this request must not use the cache. */
    function keyOf(req: FastifyRequest, reply: FastifyReply): Pending | null {
      if (req.method !== 'GET') return null;
      const kind = req.routeOptions.config?.pageCache;
      if (!kind) return null;
      // A session (logged in, a flash, a form's state) makes the page one person's.
      if (req.cookies?.sid || req.user) return null;
      if (reply.hasHeader('set-cookie')) {
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
      return { key: `${scope}|${req.lang}|${hx}|${maint}|${req.url}`, tag, epoch };
    }

    // After i18n's onRequest (req.lang) and the session's (the cookie is read): a hit never
    // reaches the handler, the session store or the views.
    app.addHook('onRequest', async (req, reply) => {
      const p = keyOf(req, reply);
      if (!p) return;
      const hit = cache.get(p.key);
      if (!hit) {
        pageCacheRequests.inc({ result: 'miss' });
        pendingOf.set(req, p);
        return;
      }
      pageCacheRequests.inc({ result: 'hit' });
      reply
        .header('etag', hit.etag)
        .header('cache-control', CACHE_CONTROL)
        .header('vary', VARY)
        .header('x-page-cache', 'hit');
      if (notModified(req, hit.etag)) return reply.code(304).send();
      return reply.type(hit.contentType).send(hit.body);
    });

    app.addHook('onSend', async (req, reply, payload) => {
      const p = pendingOf.get(req);
      if (!p) return payload;
      pendingOf.delete(req);
      if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
      if (req.user || reply.hasHeader('set-cookie') || reply.hasHeader('cache-control')) return payload;
      const s = req.session as { isModified?: () => boolean } | undefined;
      if (s?.isModified?.()) return payload;
      const etag = weakEtag(payload);
      reply
        .header('etag', etag)
        .header('cache-control', CACHE_CONTROL)
        .header('vary', VARY)
        .header('x-page-cache', 'miss');
      if (p.epoch === epoch) {
        const contentType = String(reply.getHeader('content-type') ?? 'text/html; charset=utf-8');
        cache.set(p.key, { body: payload, etag, contentType, tag: p.tag });
        if (p.tag && cache.has(p.key)) {
          let keys = byTag.get(p.tag);
          if (!keys) byTag.set(p.tag, (keys = new Set()));
          keys.add(p.key);
        }
      }
      if (notModified(req, etag)) {
        reply.code(304);
        return '';
      }
      return payload;
    });
  },
  { name: 'core-page-cache', dependencies: ['core-i18n', 'core-metrics'] },
);
