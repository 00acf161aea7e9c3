/**
 * Measures the read-only window on the demo data plus N listings (default 100,000):
 * `npx tsx scripts/migrate/measure-window.ts [--method logical|dump] [--listings N]`.
 * Two throwaway PostgreSQL clusters (pg-cluster.ts; the source with wal_level=logical), the app's
 * roles and migrations on both, the demo seed (prisma/seed.ts) on the source, then N ended listings
 * made in one INSERT ... generate_series (within the schema's CHECKs), then plan, copy, verify
 * (--pages 0: no apps run here) and cutover through npm run migrate:env's main(), each timed.
 * Prints the sizes and each step's seconds and the window; the clusters are removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { applyMigrations } from '../../src/core/db/migrate.js';
import { startCluster, type PgCluster } from './pg-cluster.js';
import { main } from './cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const method = arg('method', 'logical');
const listings = Number(arg('listings', '100000'));
const DB = 'dapanda';

async function sql<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

const clusters: PgCluster[] = [];
try {
  const t0 = Date.now();
  const src = await startCluster('msrc', { wal_level: 'logical', max_wal_senders: '10', max_replication_slots: '10' });
  clusters.push(src);
  const dst = await startCluster('mdst');
  clusters.push(dst);
  const roles = (c: PgCluster) => {
    const out = execFileSync('bash', [path.join(ROOT, 'scripts/db-roles.sh'), c.url(), DB], { encoding: 'utf8' });
    const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)?.[1] ?? '';
    return { app: get('DATABASE_URL'), migrator: get('MIGRATE_DATABASE_URL') };
  };
  const urls = { src: roles(src), dst: roles(dst) };
  for (const u of [urls.src, urls.dst])
    await applyMigrations({ databaseUrl: u.migrator, prismaDir: path.join(ROOT, 'prisma') });
  const work = path.join(src.dir, 'work');
  for (const d of ['photos-src', 'photos-dst']) mkdirSync(path.join(work, d), { recursive: true });
  const seedStarted = Date.now();
  execFileSync('npx', ['tsx', 'prisma/seed.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: urls.src.app, STORAGE_DIR: path.join(work, 'photos-src') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  const fillStarted = Date.now();
  await sql(
    src.url(DB),
    `INSERT INTO listings (seller_id, title, description, category_id, condition, start_price, starts_at, ends_at,
       duration_days, status, current_price, updated_at)
     SELECT (SELECT min(id) FROM users), 'bench listing ' || g, repeat('설명 description ', 20),
       (SELECT min(id) FROM categories), 'GOOD', 10000 + (g % 100) * 1000,
       now() - interval '10 days', now() - interval '3 days', 7, 'ENDED_UNSOLD', 10000 + (g % 100) * 1000, now()
     FROM generate_series(1, ${listings}) g`,
  );
  await sql(src.url(DB), 'VACUUM ANALYZE');
  const fillSeconds = (Date.now() - fillStarted) / 1000;
  const size = await sql<{ db: string; listings: string; rows: string }>(
    src.url(DB),
    `SELECT pg_size_pretty(pg_database_size(current_database())) AS db, (SELECT count(*) FROM listings) AS listings,
       (SELECT sum(n_live_tup) FROM pg_stat_user_tables) AS rows`,
  );
  const env = (name: string, lines: Record<string, string>) => {
    const f = path.join(work, `${name}.env`);
    writeFileSync(
      f,
      Object.entries(lines)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );
    return f;
  };
  const prefix = `mwin_${Date.now()}`;
  const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const from = env('src', {
    DATABASE_URL: urls.src.app,
    MIGRATE_DATABASE_URL: urls.src.migrator,
    DAPANDA_PG_ADMIN_URL: src.url(DB),
    REDIS_URL: redis,
    REDIS_PREFIX: prefix,
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: path.join(work, 'photos-src'),
    DAPANDA_UPSTREAM: '127.0.0.1:18081',
    DAPANDA_LB_UPSTREAM_FILE: path.join(work, 'upstream.conf'),
    DAPANDA_LB_RELOAD: 'true',
    MAINTENANCE_POLL_MS: '1000',
  });
  const to = env('dst', {
    DATABASE_URL: urls.dst.app,
    MIGRATE_DATABASE_URL: urls.dst.migrator,
    DAPANDA_PG_ADMIN_URL: dst.url(DB),
    REDIS_URL: redis,
    REDIS_PREFIX: prefix,
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: path.join(work, 'photos-dst'),
    DAPANDA_UPSTREAM: '127.0.0.1:18082',
  });
  const state = path.join(work, 'state');
  const times: Record<string, string> = {};
  const step = async (name: string, ...more: string[]) => {
    const s = Date.now();
    const code = await main([name, '--from', from, '--to', to, '--state', state, '--quiet', '--jobs', '2', ...more]);
    times[name] = `${((Date.now() - s) / 1000).toFixed(1)} s (exit ${code})`;
    return code;
  };
  await step('plan');
  if ((await step('copy', '--method', method)) !== 0) throw new Error('copy failed: see ' + state);
  await step('verify', '--pages', '0');
  const cut = await step('cutover', '--pages', '0', '--max-window', '300');
  const st = JSON.parse(readFileSync(path.join(state, 'state.json'), 'utf8'));
  console.log(
    JSON.stringify(
      {
        method,
        listingsAdded: listings,
        source: size[0],
        seedSeconds,
        fillSeconds,
        steps: times,
        readOnlyWindowSeconds: cut === 0 ? st.cutover?.windowSeconds : null,
        cutoverLog: readFileSync(path.join(state, 'migrate.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('[cutover]'))
          .slice(-12),
        totalSeconds: (Date.now() - t0) / 1000,
      },
      null,
      2,
    ),
  );
} finally {
  for (const c of clusters) c.stop();
}
