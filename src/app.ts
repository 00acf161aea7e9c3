/**
 * buildApp(config): a configured Fastify instance that does not listen. Core plugins first
 * (infrastructure, security, views), then each business module as an encapsulated plugin.
 * Used by server.ts, worker.ts and the tests.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
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
import { metricsPlugin } from './core/metrics.js';
import { realtimePlugin } from './core/realtime.js';
import { slotsPlugin } from './core/slots.js';
import { S3Storage } from './core/storage-s3.js';
import { opsModule, type OpsState } from './modules/ops/index.js';
import { accountsModule } from './modules/accounts/index.js';
import { catalogModule } from './modules/catalog/index.js';
import { walletModule } from './modules/wallet/index.js';
import { biddingModule } from './modules/bidding/index.js';
import { walletPort, catalogPort } from './wiring.js';

/** The project root (holds views/ and public/), from src/ under tsx and from dist/src/ when built. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'views')) && existsSync(path.join(dir, 'public'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the views/ and public/ folders');
}

/** Which release and node answered (operators and the ops rehearsal read these through the load balancer). */
function releaseIdentity(root: string): { node: string; version: string } {
  let version: string;
  try {
    version = /^version=(.*)$/m.exec(readFileSync(path.join(root, 'VERSION'), 'utf8'))?.[1] ?? '';
  } catch {
    version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  }
  return { node: process.env.NODE_NAME || hostname(), version };
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
      redact: ['req.headers.cookie', 'req.headers.authorization', 'req.body.password', 'req.body._csrf'],
    },
    trustProxy: config.trustProxy,
    genReqId: (req) => (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || crypto.randomUUID(),
    requestIdHeader: false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const root = projectRoot();
  const production = config.env === 'production';
  const state: OpsState = { draining: false };
  app.decorate('opsState', state);
  const identity = releaseIdentity(root);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-dapanda-node', identity.node);
    reply.header('x-dapanda-version', identity.version);
  });

  await app.register(errorsPlugin);
  await app.register(metricsPlugin);
  await app.register(dbPlugin, { databaseUrl: config.databaseUrl, poolMax: config.dbPoolMax });
  await app.register(redisPlugin, { redisUrl: config.redisUrl, prefix: config.redisPrefix });
  await app.register(queuesPlugin, {
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    runWorkers: opts.runWorkers ?? config.role !== 'web',
  });
  await app.register(eventsPlugin, { redisUrl: config.redisUrl, prefix: config.redisPrefix });
  // Photos on S3 (STORAGE=s3): pages link PHOTO_BASE_URL (CloudFront) when set, else /media/ proxies.
  const s3 = config.storage.kind === 's3' ? new S3Storage({ ...config.storage, publicBaseUrl: config.storage.photoBaseUrl }) : undefined;
  if (s3) app.addHook('onClose', async () => s3.close());
  const photoOrigin = config.storage.kind === 's3' && config.storage.photoBaseUrl ? new URL(config.storage.photoBaseUrl).origin : undefined;
  await app.register(securityPlugin, {
    redis: app.redis,
    prefix: config.redisPrefix,
    sessionSecret: config.sessionSecret,
    imgOrigins: photoOrigin ? [photoOrigin] : [],
    production,
  });
  await app.register(i18nPlugin);
  await app.register(authPlugin);
  await app.register(viewsPlugin, {
    root,
    production,
    locals: (req, reply) => {
      const flash = req.session?.flash;
      if (flash) delete req.session.flash;
      return {
        __t: req.t,
        lang: req.lang,
        user: req.user,
        csrfToken: req.session ? reply.generateCsrf() : '',
        currentPath: req.url.split('?')[0],
        flash: flash ? { kind: flash.kind, message: req.t(flash.key, flash.params) } : null,
        publicUrl: config.publicUrl,
      };
    },
  });
  await app.register(realtimePlugin, { publicUrl: config.publicUrl, upgradeHeaders: { 'x-dapanda-node': identity.node, 'x-dapanda-version': identity.version } });
  await app.register(slotsPlugin);
  await app.register(fastifyStatic, {
    root: path.join(root, 'public'),
    prefix: '/static/',
    maxAge: production ? '7d' : 0,
    immutable: production,
  });

  await app.register(opsModule, { state });
  await app.register(accountsModule, { keyPrefix: config.redisPrefix });
  await app.register(catalogModule, { storageDir: config.storageDir, publicUrl: config.publicUrl, storage: s3 });
  await app.register(walletModule, { withdrawalFee: config.walletWithdrawalFee, keyPrefix: config.redisPrefix });
  await app.register(biddingModule, {
    wallet: walletPort(app.db),
    catalog: catalogPort(app.db),
    increments: config.bidding.increments,
    softCloseSeconds: config.bidding.softCloseSeconds,
  });

  // URL probing is slowed down: unknown paths share a tight per-IP budget.
  app.setNotFoundHandler({ preHandler: app.rateLimit({ max: 120, timeWindow: '1 minute' }) }, async (req, reply) =>
    sendError(req, reply, { status: 404, code: 'NOT_FOUND', key: 'errors.notFoundBody', params: {} }),
  );
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    opsState: OpsState;
  }
}
