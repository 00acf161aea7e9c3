/**
 * Test environment: the run's fresh database (created and migrated once by scripts/test.sh,
 * or here when a file is run alone) and a Redis key prefix per test file, so files never
 * share counters, sessions or queues.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.js';
import { applyMigrations } from '../../src/core/db/migrate.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PG_BASE = process.env.TEST_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let ready: Promise<string> | null = null;

/** The run's database URL, migrated. */
export function testDatabaseUrl(): Promise<string> {
  ready ??= (async () => {
    if (process.env.DATABASE_URL && process.env.TEST_DB_MIGRATED === '1') return process.env.DATABASE_URL;
    const url = process.env.DATABASE_URL ?? `${PG_BASE}/dapanda_test_adhoc`;
    await applyMigrations({ databaseUrl: url, prismaDir: path.join(ROOT, 'prisma') });
    return url;
  })();
  return ready;
}

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
    ...overrides,
  });
}

/** A unique suffix for emails and nicknames created by one test. */
export const uniq = () => randomBytes(4).toString('hex');
