/**
 * Test environment: the run's fresh database (created and migrated once by scripts/test.sh,
 * or here when a file is run alone; the app connects as dapanda_app, DML only, migrations run as
 * dapanda_migrator) and a Redis key prefix per test file, so files never share counters,
 * sessions or queues.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.js';
import { applyMigrations } from '../../src/core/db/migrate.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PG_BASE = process.env.TEST_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let ready: Promise<string> | null = null;

/**
 * Database URLs of one database for the two roles the VMs use (scripts/db-roles.sh applies
 * deploy/provision/sql/roles.sql): the app's (DML only) and the migrator's (owns the schema).
 */
export function roleUrls(db: string): { app: string; migrator: string } {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/db-roles.sh'), `${PG_BASE}/postgres`, db], {
    encoding: 'utf8',
  });
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)?.[1] ?? '';
  return { app: get('DATABASE_URL'), migrator: get('MIGRATE_DATABASE_URL') };
}

/** The migrator's URL of the run's database (the app's is testDatabaseUrl()). */
export async function migratorDatabaseUrl(): Promise<string> {
  await testDatabaseUrl();
  return process.env.MIGRATE_DATABASE_URL!;
}

/** The run's database URL for the app role, migrated (as the migrator). */
export function testDatabaseUrl(): Promise<string> {
  ready ??= (async () => {
    if (process.env.DATABASE_URL && process.env.MIGRATE_DATABASE_URL && process.env.TEST_DB_MIGRATED === '1')
      return process.env.DATABASE_URL;
    // A file run alone: the database named by DATABASE_URL, or an ad-hoc one, set up with both roles.
    const db = process.env.DATABASE_URL
      ? decodeURIComponent(new URL(process.env.DATABASE_URL).pathname.slice(1))
      : 'dapanda_test_adhoc';
    const urls = roleUrls(db);
    await applyMigrations({ databaseUrl: urls.migrator, prismaDir: path.join(ROOT, 'prisma') });
    process.env.MIGRATE_DATABASE_URL = urls.migrator;
    return urls.app;
  })();
  return ready;
}

/**
 * Load shedding out of reach in tests (60 s of event-loop delay): on a test machine busy with other
 * files (two jobs, a browser, the rehearsal) the loop of an app can be 500 ms late, and the designed
 * 503 + Retry-After would then fail a login or a page view that has nothing to do with shedding.
 * load-shedding.test.ts and page-cache.test.ts test shedding with LOAD_SHED_FORCE.
 */
export const TEST_LOAD_SHED = { LOAD_SHED_BROWSING_DELAY_MS: '60000', LOAD_SHED_ALL_DELAY_MS: '60000' } as const;

/**
 * The least argon2id allows (8 KiB, one pass) for the passwords tests make: at production's cost a
 * hash or a login is ~20 ms of CPU, ~30 s per npm test. Hashes carry their cost, so logins verify
 * them the same way; accounts-signup.test.ts still sees argon2id, config.test.ts that production
 * refuses this.
 */
export const TEST_PASSWORD_HASHING = { memoryCost: 8, timeCost: 1 } as const;
export const TEST_PASSWORD_HASH_ENV = {
  PASSWORD_HASH_MEMORY_KIB: String(TEST_PASSWORD_HASHING.memoryCost),
  PASSWORD_HASH_TIME_COST: String(TEST_PASSWORD_HASHING.timeCost),
} as const;

export async function testConfig(overrides: Record<string, string> = {}): Promise<Config> {
  const databaseUrl = await testDatabaseUrl();
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `t${process.env.TEST_RUN_ID ?? 'adhoc'}_${randomBytes(4).toString('hex')}`,
    SESSION_SECRET: 'test-secret-'.padEnd(40, 'x'),
    LOG_LEVEL: 'silent',
    STORAGE_DIR: path.join(ROOT, '.data', 'test-storage'),
    // The anonymous page cache is on, as in production (PAGE_CACHE_ENABLED=off in the shell or a test's
    // overrides turns it off): every path that changes what an anonymous page shows invalidates it
    // (catalog/page-invalidation.ts), so a test reads the change at once, as a visitor would.
    PAGE_CACHE_ENABLED: process.env.PAGE_CACHE_ENABLED ?? 'on',
    // Off, as on-prem behind nginx; COMPRESS_RESPONSES=on in the shell runs the suite as the cloud does.
    COMPRESS_RESPONSES: process.env.COMPRESS_RESPONSES ?? 'off',
    ...TEST_LOAD_SHED,
    ...TEST_PASSWORD_HASH_ENV,
    ...overrides,
  });
}

/** A unique suffix for emails and nicknames created by one test. */
export const uniq = () => randomBytes(4).toString('hex');

/** `node` arguments that run one of the project's TypeScript entry points in a child process. */
export const tsNodeArgs = (file: string): string[] => [
  '--import',
  'tsx',
  path.isAbsolute(file) ? file : path.join(ROOT, file),
];

/**
 * A database of the test's own, migrated, dropped at the end: for tests whose app re-plans or
 * sweeps every auction it can see, or moves money in a durable consumer, so that other test
 * files' auctions (in the run's shared database) are not touched. It is a copy of a template
 * database migrated once per set of migrations (named by their hash), so no test pays for the
 * migration engine again.
 */
export async function ownDatabase(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const pg = (await import('pg')).default;
  const { createHash } = await import('node:crypto');
  const { readdirSync, readFileSync } = await import('node:fs');
  const migrations = path.join(ROOT, 'prisma', 'migrations');
  const hash = createHash('sha256');
  for (const d of readdirSync(migrations).sort())
    if (!d.endsWith('.toml')) hash.update(d).update(readFileSync(path.join(migrations, d, 'migration.sql')));
  const template = `dapanda_tpl_${hash.digest('hex').slice(0, 12)}`;
  const name = `dapanda_test_${process.env.TEST_RUN_ID ?? 'adhoc'}_own_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  try {
    // One process builds the template; the others wait for it here.
    await admin.query(`SELECT pg_advisory_lock(hashtext('dapanda test template'))`);
    const known = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!known.rowCount) {
      const building = `${template}_${randomBytes(3).toString('hex')}`;
      await applyMigrations({ databaseUrl: `${PG_BASE}/${building}`, prismaDir: path.join(ROOT, 'prisma') });
      // The migration engine's pool may still be closing its idle connections.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [building]);
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    }
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(hashtext('dapanda test template'))`).catch(() => {});
    await admin.end();
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => c.end());
  });
  return `${PG_BASE}/${name}`;
}
