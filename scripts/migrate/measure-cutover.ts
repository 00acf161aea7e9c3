/**
 * Measures `npm run migrate:env` (plan, copy, verify, cutover) on the demo data plus N extra
 * listings: `npx tsx scripts/migrate/measure-cutover.ts [--listings 100000] [--jobs 2]`.
 * Not part of npm test (it takes minutes).
 *
 * On the local PostgreSQL (TEST_PG_BASE, default postgresql://postgres@127.0.0.1:5432, trust auth)
 * it creates a source and a target database with the two roles (scripts/db-roles.sh), migrates
 * both (`npx tsx src/cli/db.ts migrate`), seeds the demo data into the source (prisma/seed.ts,
 * photos on local disk), adds N listings with their auctions in one generate_series statement
 * (70 % LIVE ending 3 h to 14 days ahead, 30 % ENDED_UNSOLD; no bids, no photos: every CHECK and
 * the LIVE-auction invariant hold), starts a source app (photos on disk) and a target app (photos
 * on a local s3rver) as test/integration/migrate-cutover.test.ts does, writes the two env files and
 * runs plan, copy, verify and cutover, timing each. Prints the sizes, row counts, photo
 * count/bytes, each step's time and the read-only window cutover reports. The databases, Redis
 * keys and temporary files are removed at the end, also on failure.
 * DB names: MEASURE_DB_PREFIX (default dapanda_measure) + src / dst.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import S3rver from 's3rver';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { main as migrateEnv } from './cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PG_BASE = process.env.TEST_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS_BASE = (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');

const { values: args } = parseArgs({
  options: { listings: { type: 'string', default: '100000' }, jobs: { type: 'string', default: '2' } },
});
const N = Number(args.listings);
if (!Number.isInteger(N) || N < 0 || N > 5_000_000) throw new Error('--listings must be 0..5000000');

const prefixDb = process.env.MEASURE_DB_PREFIX ?? 'dapanda_measure';
const dbs = { src: `${prefixDb}src`, dst: `${prefixDb}dst` };
const work = mkdtempSync(path.join(tmpdir(), 'dapanda-measure-'));
const srcPhotos = path.join(work, 'photos');
const stateDir = path.join(work, 'state');
const redisPrefix = `measure_${randomBytes(3).toString('hex')}`;
const BUCKET = 'dapanda-measure-photos';

const t0 = Date.now();
const say = (msg: string) => console.log(`[measure +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const timed = async <T>(what: string, fn: () => Promise<T>): Promise<{ value: T; seconds: number }> => {
  const s = Date.now();
  const value = await fn();
  const seconds = (Date.now() - s) / 1000;
  say(`${what}: ${seconds.toFixed(1)} s`);
  return { value, seconds };
};

async function q<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

function roleUrls(db: string): { app: string; migrator: string } {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/db-roles.sh'), `${PG_BASE}/postgres`, db], {
    encoding: 'utf8',
  });
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)?.[1] ?? '';
  return { app: get('DATABASE_URL'), migrator: get('MIGRATE_DATABASE_URL') };
}

function run(cmd: string, argv: string[], env: Record<string, string>): void {
  const r = spawnSync(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${out.slice(-2000)}`);
  if (out) say(out.split('\n').slice(-1)[0]);
}

const dirBytes = (dir: string): { files: number; bytes: number } => {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  try {
    walk(dir);
  } catch {
    /* no photos */
  }
  return { files, bytes };
};

/** N listings and their auctions, in one statement; ids from the listings sequence. */
const EXTRA_LISTINGS = `
WITH s AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE email LIKE 'seller%@dapanda.kr'),
     c AS (SELECT array_agg(id ORDER BY id) AS ids FROM categories WHERE parent_id IS NOT NULL),
     g AS (
       SELECT i, s.ids[1 + i % array_length(s.ids, 1)] AS seller_id,
              c.ids[1 + (i * 7) % array_length(c.ids, 1)] AS category_id,
              (1 + (i * 37) % 500) * 1000 AS start_price,
              (ARRAY[1, 3, 5, 7, 10, 14])[1 + i % 6] AS d,
              i % 10 < 7 AS live
         FROM generate_series(1, $1::int) AS i, s, c),
     t AS (
       SELECT g.*, CASE WHEN live
                        THEN now() - make_interval(hours => i % (d * 24 - 3)) - interval '1 hour'
                        ELSE now() - make_interval(days => d + 1 + i % 60) END AS starts
         FROM g),
     l AS (
       INSERT INTO listings (seller_id, title, description, category_id, condition, start_price, buy_now_price,
                             reserve_price, starts_at, ends_at, duration_days, status, current_price, bid_count,
                             created_at, updated_at)
       SELECT seller_id, '측정용 매물 ' || i || ' measure item ' || md5(i::text)::varchar(8),
              repeat('상태 좋은 중고 물품입니다. Good used item, works fine. ', 1 + i % 5) || i, category_id,
              (ARRAY['NEW', 'LIKE_NEW', 'GOOD', 'FAIR', 'FOR_PARTS']::"ListingCondition"[])[1 + i % 5],
              start_price, CASE WHEN i % 4 = 0 THEN start_price * 2 END, NULL,
              starts, starts + make_interval(days => d), d,
              (CASE WHEN live THEN 'LIVE' ELSE 'ENDED_UNSOLD' END)::"ListingStatus",
              start_price, 0, starts - interval '1 hour', now()
         FROM t
       RETURNING id, seller_id, status, start_price, buy_now_price, starts_at, ends_at, created_at)
INSERT INTO auctions (id, seller_id, status, outcome, start_price, reserve_price, buy_now_price, current_price,
                      bid_count, starts_at, ends_at, original_ends_at, closed_at, created_at, updated_at)
SELECT id, seller_id,
       (CASE WHEN status = 'LIVE' THEN 'LIVE' ELSE 'ENDED' END)::"AuctionStatus",
       (CASE WHEN status = 'LIVE' THEN NULL ELSE 'UNSOLD' END)::"AuctionOutcome",
       start_price, NULL, buy_now_price, start_price, 0, starts_at, ends_at, ends_at,
       CASE WHEN status = 'LIVE' THEN NULL ELSE ends_at END, starts_at, now()
  FROM l`;

const apps: App[] = [];
let s3: S3rver | null = null;
let created = false;

async function measure(): Promise<void> {
  say(`source ${dbs.src}, target ${dbs.dst}, ${N} extra listings, work dir ${work}`);
  // Fresh databases (a previous run that was killed may have left them).
  for (const d of Object.values(dbs)) await q(`${PG_BASE}/postgres`, `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
  created = true;
  const urls = { src: roleUrls(dbs.src), dst: roleUrls(dbs.dst) };
  for (const side of ['src', 'dst'] as const)
    await timed(`migrate ${dbs[side]}`, async () =>
      run('npx', ['tsx', 'src/cli/db.ts', 'migrate'], {
        MIGRATE_DATABASE_URL: urls[side].migrator,
        DATABASE_URL: urls[side].migrator,
      }),
    );
  const common = {
    NODE_ENV: 'test',
    REDIS_PREFIX: redisPrefix,
    SESSION_SECRET: 'measure-cutover-secret-'.padEnd(40, 'x'),
    LOG_LEVEL: 'silent',
    MAINTENANCE_POLL_MS: '200',
  };
  await timed('seed demo data (prisma/seed.ts)', async () =>
    run('npx', ['tsx', 'prisma/seed.ts'], {
      ...common,
      DATABASE_URL: urls.src.app,
      STORAGE_DIR: srcPhotos,
      REDIS_URL: `${REDIS_BASE}/0`,
    }),
  );
  await timed(`${N} extra listings + auctions (generate_series)`, async () => {
    if (N > 0) await q(urls.src.migrator, EXTRA_LISTINGS, [N]);
    await q(urls.src.migrator, 'ANALYZE');
  });

  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(work, 's3'),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const s3port = ((await s3.run()) as AddressInfo).port;
  const s3env = {
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: `http://127.0.0.1:${s3port}`,
    S3_REGION: 'ap-northeast-2',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
  };
  const start = async (env: Record<string, string>) => {
    const app = await buildApp(loadConfig({ ...common, ...env }), { logger: false });
    apps.push(app);
    await app.ready();
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  const srcAddr = await start({ DATABASE_URL: urls.src.app, STORAGE_DIR: srcPhotos, REDIS_URL: `${REDIS_BASE}/0` });
  const dstAddr = await start({ DATABASE_URL: urls.dst.app, REDIS_URL: `${REDIS_BASE}/1`, ...s3env });
  say(`apps: source ${srcAddr} (photos on disk), target ${dstAddr} (photos on s3rver)`);

  const upstreamFile = path.join(work, 'upstream.conf');
  writeFileSync(upstreamFile, `upstream dapanda_app {\n  server ${srcAddr};\n}\n`);
  const envFile = (name: string, lines: Record<string, string>) => {
    const f = path.join(work, `${name}.env`);
    const text = Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
    writeFileSync(f, `${text}\n`, { mode: 0o600 });
    return f;
  };
  const from = envFile('onprem', {
    DATABASE_URL: urls.src.app,
    MIGRATE_DATABASE_URL: urls.src.migrator,
    DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.src}`,
    REDIS_URL: `${REDIS_BASE}/0`,
    REDIS_PREFIX: redisPrefix,
    MAINTENANCE_POLL_MS: '200',
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: srcPhotos,
    DAPANDA_APP_URL: `http://${srcAddr}`,
    DAPANDA_UPSTREAM: srcAddr,
    DAPANDA_LB_UPSTREAM_FILE: upstreamFile,
    DAPANDA_LB_RELOAD: 'true',
  });
  const to = envFile('cloud', {
    DATABASE_URL: urls.dst.app,
    MIGRATE_DATABASE_URL: urls.dst.migrator,
    DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.dst}`,
    REDIS_URL: `${REDIS_BASE}/1`,
    REDIS_PREFIX: redisPrefix,
    MAINTENANCE_POLL_MS: '200',
    ...s3env,
    DAPANDA_APP_URL: `http://${dstAddr}`,
    DAPANDA_UPSTREAM: dstAddr,
  });

  // Sizes before the move.
  const srcSize = await q<{ b: string }>(`${PG_BASE}/postgres`, `SELECT pg_database_size($1) AS b`, [dbs.src]);
  const counts = await q<Record<string, string>>(
    urls.src.migrator,
    `SELECT (SELECT count(*) FROM listings) AS listings, (SELECT count(*) FROM auctions) AS auctions,
            (SELECT count(*) FROM auctions WHERE status = 'LIVE') AS live_auctions,
            (SELECT count(*) FROM bids) AS bids, (SELECT count(*) FROM users) AS users,
            (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM ledger_entries) AS ledger_entries,
            (SELECT count(*) FROM photos) AS photo_rows, (SELECT coalesce(sum(bytes), 0) FROM photos) AS photo_row_bytes,
            (SELECT sum(n_live_tup) FROM pg_stat_user_tables) AS all_rows_estimate`,
  );
  const [wal] = await q<{ wal_level: string }>(`${PG_BASE}/postgres`, `SHOW wal_level`);
  const photos = dirBytes(srcPhotos);

  const step = async (name: string, ...more: string[]) => {
    const r = await timed(`migrate:env ${name}`, () =>
      migrateEnv([name, '--from', from, '--to', to, '--state', stateDir, '--quiet', '--jobs', args.jobs!, ...more]),
    );
    if (r.value !== 0) {
      const log = readFileSync(path.join(stateDir, 'migrate.log'), 'utf8').split('\n').slice(-25).join('\n');
      throw new Error(`migrate:env ${name} exited ${r.value}; log tail:\n${log}`);
    }
    return r.seconds;
  };
  const times = {
    plan: await step('plan'),
    copy: await step('copy'),
    verify: await step('verify'),
    cutover: await step('cutover'),
  };
  const planJson = JSON.parse(readFileSync(path.join(stateDir, 'plan.json'), 'utf8')) as { method?: string };
  const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as {
    cutover?: { windowSeconds?: number; phase?: string; shiftMs?: number; pausedAt?: string; resumedAt?: string };
  };
  const logText = readFileSync(path.join(stateDir, 'migrate.log'), 'utf8');
  const copyLine = /copy\S*\s.*done: .*/.exec(logText)?.[0] ?? '(no copy summary in the log)';
  const windowLine = /DONE: read-only window [\d.]+ s.*/.exec(logText)?.[0] ?? '';
  // The resume: what moved in the transaction, and the listings after the switch.
  const resumeLines = logText
    .split('\n')
    .filter((l) => /\[cutover\] (target live|listings' end times moved|the clock moves took|warning)/.test(l));
  const dstSize = await q<{ b: string }>(`${PG_BASE}/postgres`, `SELECT pg_database_size($1) AS b`, [dbs.dst]);
  const mb = (b: string | number) => `${(Number(b) / 1024 / 1024).toFixed(1)} MB`;

  const c = counts[0];
  console.log('\n=== migrate:env measurement ===');
  console.log(`PostgreSQL wal_level=${wal.wal_level}: copy method ${planJson.method ?? '?'}`);
  if (wal.wal_level !== 'logical')
    console.log(
      '  (wal_level is not logical, so copy took the pg_dump/pg_restore path, with the final incremental copy in cutover)',
    );
  console.log(`extra listings: ${N} (70 % LIVE, 30 % ENDED_UNSOLD, no bids, no photos) on top of the demo seed`);
  console.log(
    `source database size: ${mb(srcSize[0].b)} (pg_database_size); target after cutover: ${mb(dstSize[0].b)}`,
  );
  console.log(
    `rows: listings ${c.listings}, auctions ${c.auctions} (LIVE ${c.live_auctions}), bids ${c.bids}, users ${c.users}, orders ${c.orders}, ledger_entries ${c.ledger_entries}, all tables ~${c.all_rows_estimate}`,
  );
  console.log(
    `photos: ${c.photo_rows} photo rows (${mb(c.photo_row_bytes)} by their bytes column), ${photos.files} files / ${mb(photos.bytes)} on disk`,
  );
  console.log(`copy log: ${copyLine.trim()}`);
  console.log(
    `times: plan ${times.plan.toFixed(1)} s, copy ${times.copy.toFixed(1)} s, verify ${times.verify.toFixed(1)} s, cutover ${times.cutover.toFixed(1)} s (--jobs ${args.jobs})`,
  );
  console.log(
    `read-only window (cutover reports): ${state.cutover?.windowSeconds?.toFixed(1) ?? '?'} s, phase ${state.cutover?.phase ?? '?'}${windowLine ? ` — "${windowLine.trim()}"` : ''}`,
  );
  const c0 = state.cutover;
  if (c0?.pausedAt && c0.resumedAt)
    console.log(
      `pausedAt → resumedAt (maintenance off on the target): ${((Date.parse(c0.resumedAt) - Date.parse(c0.pausedAt)) / 1000).toFixed(1)} s; open auctions' ends and order timers moved by ${((c0.shiftMs ?? 0) / 1000).toFixed(1)} s`,
    );
  for (const l of resumeLines) console.log(`  ${l.trim()}`);
}

async function cleanup(): Promise<void> {
  for (const app of apps) {
    const keys = await app.redis.keys(`${redisPrefix}:*`).catch(() => [] as string[]);
    if (keys.length) await app.redis.del(...keys).catch(() => {});
    await app.close().catch((err: Error) => say(`closing an app: ${err.message}`));
  }
  if (s3) await new Promise<void>((r) => s3!.close(() => r()));
  if (created)
    for (const d of Object.values(dbs))
      await q(`${PG_BASE}/postgres`, `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`).catch((err: Error) =>
        say(`drop ${d}: ${err.message}`),
      );
  rmSync(work, { recursive: true, force: true });
  say('cleaned up: apps closed, Redis keys deleted, databases dropped, work dir removed');
}

let code = 0;
try {
  await measure();
} catch (err) {
  console.error(`measure-cutover failed: ${(err as Error).message}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
