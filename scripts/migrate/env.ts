/**
 * One side of a migration (the `--from` or `--to` env file, as in deploy/env/): where its
 * PostgreSQL, Redis, photos, app and load balancer are. Secrets are read from the file and kept in
 * `Side` only; everything printed or logged goes through `redact()`.
 *
 * Keys read (besides the provisioning ones of deploy/env/example.env):
 *   DATABASE_URL / MIGRATE_DATABASE_URL   app's and migrator's URLs (default: built from
 *                                         DAPANDA_DATA_ADDR, DAPANDA_DB_NAME and the role passwords)
 *   DAPANDA_PG_ADMIN_URL                  a superuser (publication/subscription, replica-mode restore)
 *   REDIS_URL, REDIS_PREFIX               (default: redis://:<DAPANDA_REDIS_PASSWORD>@<data addr>:6379, dapanda)
 *   STORAGE=local + DAPANDA_STORAGE_DIR | STORAGE=s3 + S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY
 *   DAPANDA_APP_URL                       this side's app, straight (not through the load balancer)
 *   DAPANDA_UPSTREAM                      host:port the load balancer sends traffic to for this side
 *   DAPANDA_LB_UPSTREAM_FILE, DAPANDA_LB_RELOAD   (from side) the nginx include that names the upstream, and the reload command
 */
import { readFileSync } from 'node:fs';

export interface Side {
  name: string;
  file: string;
  raw: Record<string, string>;
  /** The migrator's URL (owns the schema; reads and writes every table). */
  dbUrl: string;
  appDbUrl: string;
  /** Superuser URL, when given (replication, replica-mode restore). */
  adminUrl: string | null;
  redisUrl: string;
  redisPrefix: string;
  storage:
    | { kind: 'local'; dir: string }
    | {
        kind: 's3';
        bucket: string;
        region: string;
        endpoint?: string;
        credentials?: { accessKeyId: string; secretAccessKey: string };
      };
  appUrl: string | null;
  upstream: string | null;
  lbUpstreamFile: string | null;
  lbReload: string | null;
}

/** Parses KEY=value lines: # comments (also after a value), single/double quotes, `export ` prefix. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.startsWith('"')) {
      const end = v.indexOf('"', 1);
      v = end > 0 ? v.slice(1, end) : v.slice(1);
    } else if (v.startsWith("'")) {
      const end = v.indexOf("'", 1);
      v = end > 0 ? v.slice(1, end) : v.slice(1);
    } else {
      v = v.replace(/\s+#.*$/, '').trim();
    }
    out[m[1]] = v;
  }
  return out;
}

const SECRET_KEYS = /PASSWORD|SECRET|TOKEN|_KEY$|ACCESS_KEY_ID/;

/** Every secret value of both sides, to scrub from anything printed. */
const secrets = new Set<string>();

export function loadSide(name: string, file: string): Side {
  const raw = parseEnvFile(readFileSync(file, 'utf8'));
  const get = (k: string, def = '') => (raw[k] !== undefined && raw[k] !== '' ? raw[k] : def);
  for (const [k, v] of Object.entries(raw)) if (SECRET_KEYS.test(k) && v.length >= 4) secrets.add(v);
  const dataAddr = get('DAPANDA_DATA_ADDR', '127.0.0.1');
  const db = get('DAPANDA_DB_NAME', 'dapanda');
  const pgUrl = (user: string, pw: string) =>
    `postgresql://${user}${pw ? `:${encodeURIComponent(pw)}` : ''}@${dataAddr}:5432/${db}`;
  const dbUrl = get('MIGRATE_DATABASE_URL') || pgUrl('dapanda_migrator', get('DAPANDA_DB_MIGRATOR_PASSWORD'));
  const appDbUrl = get('DATABASE_URL') || pgUrl('dapanda_app', get('DAPANDA_DB_APP_PASSWORD'));
  const adminUrl = get('DAPANDA_PG_ADMIN_URL') || null;
  for (const u of [dbUrl, appDbUrl, adminUrl]) {
    if (!u) continue;
    const pw = safeUrl(u)?.password;
    if (pw) secrets.add(decodeURIComponent(pw)).add(pw);
  }
  const redisPw = get('DAPANDA_REDIS_PASSWORD');
  const redisUrl = get('REDIS_URL') || `redis://${redisPw ? `:${encodeURIComponent(redisPw)}@` : ''}${dataAddr}:6379`;
  const storage: Side['storage'] =
    get('STORAGE', 'local') === 's3'
      ? {
          kind: 's3',
          bucket: get('S3_BUCKET'),
          region: get('S3_REGION', 'ap-northeast-2'),
          endpoint: get('S3_ENDPOINT') || undefined,
          credentials: get('S3_ACCESS_KEY_ID')
            ? { accessKeyId: get('S3_ACCESS_KEY_ID'), secretAccessKey: get('S3_SECRET_ACCESS_KEY') }
            : undefined,
        }
      : { kind: 'local', dir: get('DAPANDA_STORAGE_DIR', get('STORAGE_DIR', '/srv/dapanda/photos')) };
  if (storage.kind === 's3' && !storage.bucket) throw new Error(`${file}: STORAGE=s3 needs S3_BUCKET`);
  return {
    name,
    file,
    raw,
    dbUrl,
    appDbUrl,
    adminUrl,
    redisUrl,
    redisPrefix: get('REDIS_PREFIX', 'dapanda'),
    storage,
    appUrl: get('DAPANDA_APP_URL') || null,
    upstream: get('DAPANDA_UPSTREAM') || null,
    lbUpstreamFile: get('DAPANDA_LB_UPSTREAM_FILE') || null,
    lbReload: get('DAPANDA_LB_RELOAD') || null,
  };
}

function safeUrl(u: string): URL | null {
  try {
    return new URL(u);
  } catch {
    return null;
  }
}

/** Text with every known secret (and any password in a URL) replaced by ***. */
export function redact(text: string): string {
  let s = text.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]+@/g, '$1***@');
  for (const v of secrets) s = s.split(v).join('***');
  return s;
}

/** host:port/db of a database URL, without user or password: how logs name a database. */
export function describeDb(u: string): string {
  const p = safeUrl(u);
  return p ? `${p.hostname}:${p.port || 5432}${p.pathname}` : '(unparsable URL)';
}
