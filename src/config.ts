/**
 * One typed, validated config object from the environment. A missing or malformed value stops
 * the process at start with one line naming the variable. Dev defaults apply only when
 * NODE_ENV is not `production`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isIP } from 'node:net';

export type Role = 'all' | 'web' | 'worker';

export interface Config {
  env: 'production' | 'development' | 'test';
  databaseUrl: string;
  /** PostgreSQL connections per process (DB_POOL_MAX; keep instances x pool under max_connections). */
  dbPoolMax: number;
  redisUrl: string;
  /** Prefix of every Redis key and BullMQ queue: lets test runs and stacks share one Redis. */
  redisPrefix: string;
  port: number;
  host: string;
  metricsPort: number;
  /** Address the metrics listener binds (METRICS_HOST): loopback unless a private address is given. */
  metricsHost: string;
  sessionSecret: string;
  role: Role;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  publicUrl: string;
  /** 전자상거래법 사업자 정보 shown in every page's footer (BUSINESS_*; placeholders in dev, omitted when unset in production). */
  business: {
    name: string;
    ceo: string;
    registrationNo: string;
    mailOrderNo: string;
    address: string;
    support: string;
  };
  storageDir: string;
  /** Where photos live: the local folder above, or an S3 bucket (STORAGE=s3). */
  storage: StorageConfig;
  trustProxy: boolean;
  bidding: {
    /** "<limit>:<step>,...,*:<step>" minimum increments by price band, in won. */
    increments: string;
    softCloseSeconds: number;
  };
  /** Won charged per withdrawal request (wallet). */
  walletWithdrawalFee: number;
  /**
   * argon2id cost of new password hashes (PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_TIME_COST): OWASP's
   * minimum, 19 MiB and 2 passes, by default. Production refuses less; tests set the least argon2
   * allows (hashing was ~30 s of CPU per npm test). A hash carries its own parameters, so a change
   * never locks anyone out: old hashes verify with the cost they were made with.
   */
  passwordHashing: { memoryCost: number; timeCost: number };
  /** Requests per minute per address (anonymous) or per person (logged in) (RATE_LIMIT_MAX). */
  rateLimitMax: number;
  /**
   * Load shedding (core/security.ts): above LOAD_SHED_BROWSING_DELAY_MS (500) of mean event-loop
   * delay anonymous page views get 503 + Retry-After, above LOAD_SHED_ALL_DELAY_MS (1000) every
   * request but /static/ and the probes; LOAD_SHED_FORCE=browsing|all sheds that level now (off).
   */
  loadShed: { browsingDelayMs: number; allDelayMs: number; force: 'off' | 'browsing' | 'all' };
  /**
   * Anonymous home, category, search and item pages from memory (core/page-cache.ts):
   * PAGE_CACHE_ENABLED (on|off, on), PAGE_CACHE_MAX_BYTES per process (32 MiB), PAGE_CACHE_TTL_MS
   * (5000): how long a page is served without a change event invalidating it.
   */
  pageCache: { enabled: boolean; maxBytes: number; ttlMs: number };
  /**
   * Compress every other response too (COMPRESS_RESPONSES=on|off, off): logged-in pages, fragments,
   * static files. On where nothing in front compresses (the cloud's ALB); on-prem nginx does it.
   * The page cache's anonymous pages are stored compressed either way.
   */
  compressResponses: boolean;
  /** Which node answered (NODE_NAME; default the host name): operators read it on /readyz and in logs. */
  nodeName: string;
  /** How long /readyz fails before the server stops accepting connections on SIGTERM (DRAIN_DELAY_MS). */
  drainDelayMs: number;
  /** WebSocket ping interval; a peer silent for one interval is dropped (WS_PING_MS). */
  wsPingMs: number;
  /** Upper bound on closing BullMQ workers and queues at shutdown (QUEUE_CLOSE_TIMEOUT_MS). */
  queueCloseTimeoutMs: number;
  /** How often each worker process sweeps for overdue auction starts and closes (AUCTION_SWEEP_MS). */
  auctionSweepMs: number;
  /** Orders after a win (src/modules/orders): deadlines in days, the platform fee, the timer sweeper. */
  orders: {
    /** Days after the win until the buyer is reminded to give an address (ORDER_ADDRESS_REMIND_DAYS, 2). */
    addressRemindDays: number;
    /** Days after the win until an order without an address is cancelled and refunded (ORDER_ADDRESS_DAYS, 4). */
    addressDays: number;
    /** Days after the address until an unshipped order is cancelled, refunded and the seller gets a strike (ORDER_SHIP_DAYS, 3). */
    shipDays: number;
    /** Days after shipping until receipt is confirmed automatically; a reminder goes a day before (ORDER_AUTOCONFIRM_DAYS, 7). */
    autoConfirmDays: number;
    /** Platform fee in basis points of the price (PLATFORM_FEE_BPS, 300 = 3 %); fee = floor(price * bps / 10000). */
    feeBps: number;
    /** How often each worker process sweeps for overdue order timers (ORDER_SWEEP_MS). */
    sweepMs: number;
    /** Hours the next-highest bidder has to answer a second-chance offer (ORDER_OFFER_HOURS, 48). */
    offerHours: number;
  };
  /** How often each worker process looks for auctions in their last hour and notification mail left behind (NOTIFY_SWEEP_MS). */
  notifySweepMs: number;
  /** How often each process reads the maintenance switch (core/maintenance.ts) (MAINTENANCE_POLL_MS). */
  maintenancePollMs: number;
  outbox: {
    /** Deliver durable events from this process (OUTBOX_RELAY=off pauses delivery; events wait in PostgreSQL). */
    relay: boolean;
    /** Fallback poll when a NOTIFY was missed, and how soon a retry that came due is seen (OUTBOX_POLL_MS). */
    pollMs: number;
    /** A claimed event is retried by another relay after this long (its relay died) (OUTBOX_LEASE_MS). */
    leaseMs: number;
    /** Deliveries tried per event before it is set aside as dead (OUTBOX_MAX_ATTEMPTS). */
    maxAttempts: number;
    /** Delivered events are kept this many days for audits, then deleted (OUTBOX_RETENTION_DAYS). */
    retentionDays: number;
  };
  /** Outgoing mail (core/mail.ts). */
  mail: {
    /** SMTP_URL (smtp:// or smtps://); unset: messages are written as .eml files to `dir` (tests: kept in memory). */
    smtpUrl: string | null;
    /** MAIL_FROM: the sender shown to people. */
    from: string;
    /** MAIL_DIR: where .eml files go without SMTP. */
    dir: string;
  };
}

export type StorageConfig =
  | { kind: 'local' }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      /** An S3-compatible server (tests, rehearsal); empty on AWS. */
      endpoint?: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      /** Browsers load photos from here (CloudFront); without it the app proxies /media/. */
      photoBaseUrl?: string;
    };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`config: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * The database the command-line tool (src/cli/db.ts) works on: DATABASE_URL, validated like the app's, and
 * nothing else (a migration needs none of the app's settings, so a VM's migrate.env holds only this). Without
 * it: the local schema owner for `migrate` (scripts/db-roles.sh creates it), a local superuser for `new` and
 * `drift` (they create a shadow database).
 */
export function cliDatabaseUrl(command: string | undefined, env: Env = process.env): string {
  const v = env.DATABASE_URL;
  if (v === undefined || v === '')
    return command === 'migrate'
      ? 'postgresql://dapanda_migrator@127.0.0.1:5432/dapanda'
      : 'postgresql://postgres@127.0.0.1:5432/dapanda';
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a valid URL (expected postgresql://...)');
  }
  if (!['postgresql:', 'postgres:'].includes(parsed.protocol))
    throw new ConfigError('DATABASE_URL', `must start with postgresql:// or postgres:// (got ${parsed.protocol}//)`);
  return v;
}

/** The config of this process (entry points): a bad setting prints one line and exits 1. */
export function loadConfigOrExit(overrides: Env = {}): Config {
  try {
    return loadConfig({ ...process.env, ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (!['production', 'development', 'test'].includes(nodeEnv)) {
    throw new ConfigError('NODE_ENV', `must be production, development or test (got "${nodeEnv}")`);
  }
  const prod = nodeEnv === 'production';

  const str = (name: string, devDefault?: string): string => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (!prod && devDefault !== undefined) return devDefault;
    throw new ConfigError(name, prod && devDefault !== undefined ? 'is required in production' : 'is required');
  };
  const url = (name: string, protocols: string[], devDefault: string): string => {
    const v = str(name, devDefault);
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new ConfigError(name, `is not a valid URL (expected ${protocols[0]}//...)`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must start with ${protocols.join(' or ')}// (got ${parsed.protocol}//)`);
    }
    return v;
  };
  const port = (name: string, def: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 0 || n > 65535)
      throw new ConfigError(name, `must be a port number 0-65535 (got "${raw}")`);
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], def: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${raw}")`);
    }
    return raw as T;
  };

  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const increments = (raw: string | undefined): string => {
    const spec = raw || '10000:500,100000:1000,1000000:5000,*:10000';
    const ok = /^(\d+:\d+,)*\*:\d+$/.test(spec.replace(/\s/g, ''));
    if (!ok) throw new ConfigError('BID_INCREMENTS', `must look like 10000:500,100000:1000,*:10000 (got "${raw}")`);
    return spec.replace(/\s/g, '');
  };

  const nodeName = (raw: string | undefined): string => {
    const v = raw || hostname();
    // It goes into response headers and logs: printable ASCII only.
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v))
      throw new ConfigError('NODE_NAME', `must be 1-64 letters, digits, _ . : - (got "${v}")`);
    return v;
  };
  const mailFrom = (raw: string | undefined): string => {
    const v = raw || '다판다 <no-reply@dapanda.kr>';
    // A display name and an address, nothing a header could be split with.
    if (!/^[^\r\n<>]*<[^\s<>@]+@[^\s<>@]+>$|^[^\s<>@]+@[^\s<>@]+$/.test(v))
      throw new ConfigError('MAIL_FROM', `must be an address or "Name <address>" (got "${v}")`);
    return v;
  };
  // Metrics carry business figures and have no auth: loopback by default, a private address on the VMs.
  const metricsHost = env.METRICS_HOST || '127.0.0.1';
  if (!isIP(metricsHost))
    throw new ConfigError(
      'METRICS_HOST',
      `must be an IP address such as 127.0.0.1 or the node's private address (got "${metricsHost}")`,
    );
  const storage = (): StorageConfig => {
    if (oneOf('STORAGE', ['local', 's3'] as const, 'local') === 'local') return { kind: 'local' };
    const bucket = env.S3_BUCKET ?? '';
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      throw new ConfigError('S3_BUCKET', 'must be an S3 bucket name when STORAGE=s3');
    const region = env.S3_REGION || 'ap-northeast-2';
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      throw new ConfigError('S3_REGION', `must be an AWS region (got "${region}")`);
    const endpoint = env.S3_ENDPOINT ? url('S3_ENDPOINT', ['http:', 'https:'], '') : undefined;
    const photoBaseUrl = env.PHOTO_BASE_URL
      ? url('PHOTO_BASE_URL', ['https:', 'http:'], '').replace(/\/+$/, '')
      : undefined;
    if (photoBaseUrl && prod && !photoBaseUrl.startsWith('https:'))
      throw new ConfigError('PHOTO_BASE_URL', 'must be https in production');
    const id = env.S3_ACCESS_KEY_ID ?? '';
    const secret = env.S3_SECRET_ACCESS_KEY ?? '';
    if (!id !== !secret)
      throw new ConfigError(
        id ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
        'must be set together with its pair (or neither: the instance role)',
      );
    return {
      kind: 's3',
      bucket,
      region,
      endpoint,
      photoBaseUrl,
      credentials: id ? { accessKeyId: id, secretAccessKey: secret } : undefined,
    };
  };

  const sessionSecret = str('SESSION_SECRET', randomBytes(32).toString('hex'));
  if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET', 'must be at least 32 characters');

  const port_ = port('PORT', 3000);
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:'], `http://localhost:${port_}`);
  const prefix = env.REDIS_PREFIX ?? 'dapanda';
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(prefix))
    throw new ConfigError('REDIS_PREFIX', 'must be 1-40 letters, digits, _ . -');

  return {
    env: nodeEnv as Config['env'],
    // Dev default: the DML-only role scripts/db-roles.sh creates, as on the VMs (never a superuser),
    // over a local server's trust auth; a server that asks for a password gets DATABASE_URL from
    // scripts/up.sh / scripts/test.sh (which print it with the role's password), never from source.
    databaseUrl: url('DATABASE_URL', ['postgresql:', 'postgres:'], 'postgresql://dapanda_app@127.0.0.1:5432/dapanda'),
    dbPoolMax: int('DB_POOL_MAX', 10, 1, 500),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    redisPrefix: prefix,
    port: port_,
    host: env.HOST || (prod ? '0.0.0.0' : '127.0.0.1'),
    metricsPort: port('METRICS_PORT', 9464),
    metricsHost,
    sessionSecret,
    role: oneOf('ROLE', ['all', 'web', 'worker'] as const, 'all'),
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    publicUrl: publicUrl.replace(/\/$/, ''),
    business: {
      name: env.BUSINESS_NAME || (prod ? '' : '(주)다판다 (개발용 예시)'),
      ceo: env.BUSINESS_CEO || (prod ? '' : '홍길동 (예시)'),
      registrationNo: env.BUSINESS_REGISTRATION_NO || (prod ? '' : '000-00-00000 (예시)'),
      mailOrderNo: env.BUSINESS_MAIL_ORDER_NO || (prod ? '' : '제0000-서울강남-0000호 (예시)'),
      address: env.BUSINESS_ADDRESS || (prod ? '' : '서울특별시 강남구 예시로 1 (예시)'),
      support: env.BUSINESS_SUPPORT || (prod ? '' : '1588-0000 · help@example.com (예시)'),
    },
    storageDir: str('STORAGE_DIR', '.data/storage'),
    storage: storage(),
    trustProxy: oneOf('TRUST_PROXY', ['true', 'false'] as const, 'false') === 'true',
    bidding: {
      increments: increments(env.BID_INCREMENTS),
      softCloseSeconds: int('SOFT_CLOSE_SECONDS', 180, 0, 3600),
    },
    walletWithdrawalFee: int('WALLET_WITHDRAWAL_FEE', 500, 0, 100_000),
    passwordHashing: {
      memoryCost: int('PASSWORD_HASH_MEMORY_KIB', 19_456, prod ? 19_456 : 8, 4_194_304),
      timeCost: int('PASSWORD_HASH_TIME_COST', 2, prod ? 2 : 1, 100),
    },
    rateLimitMax: int('RATE_LIMIT_MAX', 600, 1, 10_000_000),
    loadShed: {
      browsingDelayMs: int('LOAD_SHED_BROWSING_DELAY_MS', 500, 1, 60_000),
      allDelayMs: int('LOAD_SHED_ALL_DELAY_MS', 1000, 1, 60_000),
      force: oneOf('LOAD_SHED_FORCE', ['off', 'browsing', 'all'] as const, 'off'),
    },
    pageCache: {
      enabled: oneOf('PAGE_CACHE_ENABLED', ['on', 'off'] as const, 'on') === 'on',
      maxBytes: int('PAGE_CACHE_MAX_BYTES', 32 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
      ttlMs: int('PAGE_CACHE_TTL_MS', 5000, 1, 3_600_000),
    },
    compressResponses: oneOf('COMPRESS_RESPONSES', ['on', 'off'] as const, 'off') === 'on',
    nodeName: nodeName(env.NODE_NAME),
    drainDelayMs: int('DRAIN_DELAY_MS', prod ? 5000 : 0, 0, 120_000),
    wsPingMs: int('WS_PING_MS', 25_000, 100, 600_000),
    queueCloseTimeoutMs: int('QUEUE_CLOSE_TIMEOUT_MS', 10_000, 100, 120_000),
    auctionSweepMs: int('AUCTION_SWEEP_MS', 15_000, 100, 3_600_000),
    orders: {
      addressRemindDays: int('ORDER_ADDRESS_REMIND_DAYS', 2, 1, 60),
      addressDays: int('ORDER_ADDRESS_DAYS', 4, 1, 60),
      shipDays: int('ORDER_SHIP_DAYS', 3, 1, 60),
      autoConfirmDays: int('ORDER_AUTOCONFIRM_DAYS', 7, 2, 60),
      feeBps: int('PLATFORM_FEE_BPS', 300, 0, 5000),
      sweepMs: int('ORDER_SWEEP_MS', 60_000, 100, 3_600_000),
      offerHours: int('ORDER_OFFER_HOURS', 48, 1, 720),
    },
    notifySweepMs: int('NOTIFY_SWEEP_MS', 30_000, 100, 3_600_000),
    maintenancePollMs: int('MAINTENANCE_POLL_MS', 1000, 50, 60_000),
    outbox: {
      relay: oneOf('OUTBOX_RELAY', ['on', 'off'] as const, 'on') === 'on',
      pollMs: int('OUTBOX_POLL_MS', 1000, 50, 60_000),
      leaseMs: int('OUTBOX_LEASE_MS', 60_000, 1000, 3_600_000),
      maxAttempts: int('OUTBOX_MAX_ATTEMPTS', 12, 1, 1000),
      retentionDays: int('OUTBOX_RETENTION_DAYS', 14, 1, 3650),
    },
    mail: {
      smtpUrl: env.SMTP_URL ? url('SMTP_URL', ['smtp:', 'smtps:'], '') : null,
      from: mailFrom(env.MAIL_FROM),
      dir: env.MAIL_DIR || '.data/mail',
    },
  };
}
