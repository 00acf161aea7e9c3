/**
 * buildApp(config): a configured Fastify instance that does not listen. Core plugins first
 * (infrastructure, security, views), then each business module as an encapsulated plugin.
 * Used by server.ts, worker.ts and the tests.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import { dbPlugin } from './core/db/index.js';
import { redisPlugin } from './core/redis.js';
import { queuesPlugin } from './core/queues.js';
import { eventsPlugin } from './core/events.js';
import { i18nPlugin } from './core/i18n.js';
import { viewsPlugin } from './core/views.js';
import { securityPlugin } from './core/security.js';
import { authPlugin } from './core/auth.js';
import { errorsPlugin, sendError } from './core/errors.js';
import { htmxPlugin } from './core/htmx.js';
import { headersPlugin } from './core/headers.js';
import { inputPlugin } from './core/input.js';
import { logUrl, routePath } from './core/redirect.js';
import { mailPlugin } from './core/mail.js';
import { metricsPlugin } from './core/metrics.js';
import { realtimePlugin } from './core/realtime.js';
import { slotsPlugin } from './core/slots.js';
import { adminNavPlugin } from './core/admin-nav.js';
import { reportTargetsPlugin } from './core/report-targets.js';
import { ledgerLabelsPlugin } from './core/ledger-labels.js';
import { accountClosurePlugin } from './core/account-closure.js';
import { maintenancePlugin } from './core/maintenance.js';
import { pageCachePlugin, pageCacheStorePlugin } from './core/page-cache.js';
import { responseCompression } from './core/compress.js';
import { i18n } from './core/i18n.js';
import { LocalDiskStorage } from './core/storage.js';
import { opsModule, type OpsState } from './modules/ops/index.js';
import { siteModule, TERMS_VERSION } from './modules/site/index.js';
import { accountsModule, adminRouteGuardCheck } from './modules/accounts/index.js';
import { catalogModule } from './modules/catalog/index.js';
import { walletModule } from './modules/wallet/index.js';
import { biddingModule } from './modules/bidding/index.js';
import { ordersModule } from './modules/orders/index.js';
import { mypageModule, ordersHubSummary } from './modules/mypage/index.js';
import { messagesModule } from './modules/messages/index.js';
import { moderationModule } from './modules/moderation/index.js';
import { notificationsModule } from './modules/notifications/index.js';
import { adminModule } from './modules/admin/index.js';

/** The project root (holds views/ and public/), from src/ under tsx and from dist/src/ when built. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'views')) && existsSync(path.join(dir, 'public'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the views/ and public/ folders');
}

/** Which node and release this process is: on /readyz for operators, never on shoppers' responses. */
function releaseIdentity(root: string, node: string): { node: string; version: string } {
  let version: string;
  try {
    version = /^version=(.*)$/m.exec(readFileSync(path.join(root, 'VERSION'), 'utf8'))?.[1] ?? '';
  } catch {
    version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  }
  return { node, version };
}

export interface BuildOptions {
  /** Overrides Fastify's logger (tests pass false or a level). */
  logger?: FastifyServerOptions['logger'];
  /** Start BullMQ workers in this process (defaults from config.role). */
  runWorkers?: boolean;
}

export type App = FastifyInstance;

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<App> {
  const app = Fastify({
    logger: opts.logger ?? {
      level: config.logLevel,
      redact: [
        'req.headers.cookie',
        'req.headers.authorization',
        'req.body.password',
        'req.body._csrf',
        'req.body.token',
        'req.query.token',
      ],
      serializers: {
        req: (req) => ({
          method: req.method,
          url: logUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    trustProxy: config.trustProxy,
    // A proxy's request id is kept for tracing only when it is a plain token: it is echoed in a header and logged.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : crypto.randomUUID();
    },
    requestIdHeader: false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Every route as registered (method, url, schema, config): the route fuzzer covers new routes from it.
  const routeTable: RouteOptions[] = [];
  app.addHook('onRoute', (r) => void routeTable.push(r));
  // An /admin route without accounts' requireRole guard stops the app from starting.
  app.addHook('onRoute', adminRouteGuardCheck);
  app.decorate('routeTable', routeTable);
  const root = projectRoot();
  const production = config.env === 'production';
  const state: OpsState = { draining: false };
  app.decorate('opsState', state);
  const identity = releaseIdentity(root, config.nodeName);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // Before every route: it hooks each one as it is declared. Its hook runs after the app's own
  // onSend hooks, so the page cache stores an entry as rendered and a reply it sends already
  // encoded passes as it is.
  if (config.compressResponses) await app.register(responseCompression);
  await app.register(htmxPlugin);
  await app.register(errorsPlugin);
  await app.register(headersPlugin);
  await app.register(inputPlugin);
  await app.register(metricsPlugin);
  await app.register(dbPlugin, { databaseUrl: config.databaseUrl, poolMax: config.dbPoolMax });
  await app.register(redisPlugin, { redisUrl: config.redisUrl, prefix: config.redisPrefix });
  const runWorkers = opts.runWorkers ?? config.role !== 'web';
  await app.register(queuesPlugin, {
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    runWorkers,
    closeTimeoutMs: config.queueCloseTimeoutMs,
  });
  await app.register(eventsPlugin, {
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    databaseUrl: config.databaseUrl,
    // Durable events are delivered by worker processes (OUTBOX_RELAY=off pauses it: they wait in PostgreSQL).
    relay: runWorkers && config.outbox.relay,
    outbox: config.outbox,
  });
  await app.register(mailPlugin, {
    ...config.mail,
    memory: config.env === 'test' && !config.mail.smtpUrl,
    logLinks: config.env !== 'production',
  });
  // Photos on S3 (STORAGE=s3): pages link PHOTO_BASE_URL (CloudFront) when set, else /media/ proxies.
  // The AWS SDK is loaded only then: it is ~0.3 s of CPU to import, paid by every test app and local server otherwise.
  const s3 =
    config.storage.kind === 's3'
      ? new (await import('./core/storage-s3.js')).S3Storage({
          ...config.storage,
          publicBaseUrl: config.storage.photoBaseUrl,
        })
      : undefined;
  if (s3) app.addHook('onClose', async () => s3.close());
  const photoOrigin =
    config.storage.kind === 's3' && config.storage.photoBaseUrl
      ? new URL(config.storage.photoBaseUrl).origin
      : undefined;
  // Before the security plugin: a cached anonymous page is answered before the cookie parser, the
  // session, helmet, the rate limit and under-pressure run (core/page-cache.ts says what it does instead).
  await app.register(pageCachePlugin, {
    ...config.pageCache,
    rateLimitMax: config.rateLimitMax,
    maintenance: () => app.maintenance.active,
  });
  await app.register(securityPlugin, {
    redis: app.redis,
    prefix: config.redisPrefix,
    sessionSecret: config.sessionSecret,
    imgOrigins: photoOrigin ? [photoOrigin] : [],
    production,
    rateLimitMax: config.rateLimitMax,
    loadShed: config.loadShed,
  });
  await app.register(i18nPlugin);
  const maintenanceBanner = {
    ko: i18n.getFixedT('ko')('maintenance.banner') as string,
    en: i18n.getFixedT('en')('maintenance.banner') as string,
  };
  await app.register(authPlugin);
  await app.register(viewsPlugin, {
    root,
    production,
    locals: (req, reply) => {
      const currentPath = routePath(req);
      const flash = req.session?.flash;
      if (flash) delete req.session.flash;
      return {
        __t: req.t,
        lang: req.lang,
        user: req.user,
        // Anonymous pages without a form for them carry no token: nothing is set, nothing is stored.
        csrfToken: req.user || req.method !== 'GET' || req.routeOptions.config?.csrfForm ? reply.csrfToken() : '',
        currentPath,
        flash: flash ? { kind: flash.kind, message: req.t(flash.key, flash.params) } : null,
        publicUrl: config.publicUrl,
        business: config.business,
        // The admin shell's menu (core/admin-nav.ts), on /admin pages for staff.
        adminNav: req.user && currentPath.startsWith('/admin') ? app.adminNav.entriesFor(req.user.role) : null,
        maintenance: app.maintenance.active ? maintenanceBanner : null,
      };
    },
  });
  // After i18n and views: the window's 503 speaks the visitor's language.
  await app.register(maintenancePlugin, { pollMs: config.maintenancePollMs });
  // After the session's onSend (it sets the session cookie): a render that set one is not stored.
  await app.register(pageCacheStorePlugin);
  await app.register(realtimePlugin, { publicUrl: config.publicUrl, pingMs: config.wsPingMs });
  await app.register(slotsPlugin);
  await app.register(adminNavPlugin);
  await app.register(reportTargetsPlugin);
  await app.register(ledgerLabelsPlugin);
  await app.register(accountClosurePlugin);
  await app.register(fastifyStatic, {
    root: path.join(root, 'public'),
    prefix: '/static/',
    maxAge: production ? '7d' : 0,
    immutable: production,
  });

  await app.register(opsModule, { state, identity });
  await app.register(siteModule);
  await app.register(accountsModule, {
    keyPrefix: config.redisPrefix,
    publicUrl: config.publicUrl,
    // Profile photos beside listing photos: catalog's /media/ route (or the CDN) serves both.
    storage: s3 ?? new LocalDiskStorage(config.storageDir),
    termsVersion: TERMS_VERSION,
    passwordHashing: config.passwordHashing,
  });
  await app.register(catalogModule, { storageDir: config.storageDir, publicUrl: config.publicUrl, storage: s3 });
  await app.register(walletModule, { withdrawalFee: config.walletWithdrawalFee, keyPrefix: config.redisPrefix });
  await app.register(biddingModule, {
    increments: config.bidding.increments,
    softCloseSeconds: config.bidding.softCloseSeconds,
    sweepMs: config.auctionSweepMs,
  });
  // Dispute photos in the same storage, under its private prefix (never served by /media/ nor the CDN).
  await app.register(ordersModule, { ...config.orders, storage: s3 ?? new LocalDiskStorage(config.storageDir) });
  // The my-page hub reads every module above through their public APIs (orders: ordersHubSummary).
  await app.register(mypageModule, { ordersSummary: ordersHubSummary(app.db), publicUrl: config.publicUrl });
  await app.register(messagesModule);
  await app.register(moderationModule);
  await app.register(notificationsModule, {
    publicUrl: config.publicUrl,
    secret: config.sessionSecret,
    sweepMs: config.notifySweepMs,
  });
  await app.register(adminModule);

  // URL probing is slowed down: unknown paths share a tight per-IP budget.
  app.setNotFoundHandler({ preHandler: app.rateLimit({ max: 120, timeWindow: '1 minute' }) }, async (req, reply) =>
    sendError(req, reply, { status: 404, code: 'NOT_FOUND', key: 'errors.notFoundBody', params: {} }),
  );
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    opsState: OpsState;
    routeTable: RouteOptions[];
  }
}
