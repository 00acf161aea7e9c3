/**
 * One typed, validated config object from the environment. A missing or malformed value stops
 * the process at start with one line naming the variable. Dev defaults apply only when
 * NODE_ENV is not `production`.
 */
import { randomBytes } from 'node:crypto';

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
  sessionSecret: string;
  role: Role;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  publicUrl: string;
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
    if (!/^\d+$/.test(raw) || n < 0 || n > 65535) throw new ConfigError(name, `must be a port number 0-65535 (got "${raw}")`);
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
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const increments = (raw: string | undefined): string => {
    const spec = raw || '10000:500,100000:1000,1000000:5000,*:10000';
    const ok = /^(\d+:\d+,)*\*:\d+$/.test(spec.replace(/\s/g, ''));
    if (!ok) throw new ConfigError('BID_INCREMENTS', `must look like 10000:500,100000:1000,*:10000 (got "${raw}")`);
    return spec.replace(/\s/g, '');
  };

  const storage = (): StorageConfig => {
    if (oneOf('STORAGE', ['local', 's3'] as const, 'local') === 'local') return { kind: 'local' };
    const bucket = env.S3_BUCKET ?? '';
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError('S3_BUCKET', 'must be an S3 bucket name when STORAGE=s3');
    const region = env.S3_REGION || 'ap-northeast-2';
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new ConfigError('S3_REGION', `must be an AWS region (got "${region}")`);
    const endpoint = env.S3_ENDPOINT ? url('S3_ENDPOINT', ['http:', 'https:'], '') : undefined;
    const photoBaseUrl = env.PHOTO_BASE_URL ? url('PHOTO_BASE_URL', ['https:', 'http:'], '').replace(/\/+$/, '') : undefined;
    if (photoBaseUrl && (prod && !photoBaseUrl.startsWith('https:'))) throw new ConfigError('PHOTO_BASE_URL', 'must be https in production');
    const id = env.S3_ACCESS_KEY_ID ?? '';
    const secret = env.S3_SECRET_ACCESS_KEY ?? '';
    if (!id !== !secret) throw new ConfigError(id ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID', 'must be set together with its pair (or neither: the instance role)');
    return { kind: 's3', bucket, region, endpoint, photoBaseUrl, credentials: id ? { accessKeyId: id, secretAccessKey: secret } : undefined };
  };

  const sessionSecret = str('SESSION_SECRET', randomBytes(32).toString('hex'));
  if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET', 'must be at least 32 characters');

  const port_ = port('PORT', 3000);
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:'], `http://localhost:${port_}`);
  const prefix = env.REDIS_PREFIX ?? 'dapanda';
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(prefix)) throw new ConfigError('REDIS_PREFIX', 'must be 1-40 letters, digits, _ . -');

  return {
    env: nodeEnv as Config['env'],
    databaseUrl: url('DATABASE_URL', ['postgresql:', 'postgres:'], 'postgresql://postgres@127.0.0.1:5432/dapanda'),
    dbPoolMax: int('DB_POOL_MAX', 10, 1, 500),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    redisPrefix: prefix,
    port: port_,
    host: env.HOST || (prod ? '0.0.0.0' : '127.0.0.1'),
    metricsPort: port('METRICS_PORT', 9464),
    sessionSecret,
    role: oneOf('ROLE', ['all', 'web', 'worker'] as const, 'all'),
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, prod ? 'info' : 'info'),
    publicUrl: publicUrl.replace(/\/$/, ''),
    storageDir: str('STORAGE_DIR', '.data/storage'),
    storage: storage(),
    trustProxy: oneOf('TRUST_PROXY', ['true', 'false'] as const, 'false') === 'true',
    bidding: {
      increments: increments(env.BID_INCREMENTS),
      softCloseSeconds: int('SOFT_CLOSE_SECONDS', 180, 0, 3600),
    },
    walletWithdrawalFee: int('WALLET_WITHDRAWAL_FEE', 500, 0, 100_000),
  };
}
