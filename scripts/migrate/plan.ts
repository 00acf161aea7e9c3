/**
 * plan: looks at both sides and says whether a migration can start. Each check is GO, WARN (can go,
 * read it) or NO-GO. The copy-time estimate comes from a measured sample: rows streamed out of
 * the source (COPY ... TO STDOUT) and photo objects read from it and written to the target.
 */
import { readdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Side } from './env.js';
import { describeDb } from './env.js';
import { appliedMigrations, appTables, q, withClient } from './db.js';
import { openPhotos } from './photos.js';
import type { Log } from './log.js';

export type Verdict = 'GO' | 'WARN' | 'NO-GO';
export interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

export interface PlanResult {
  checks: Check[];
  go: boolean;
  method: 'logical' | 'dump';
  sizes: { dbBytes: number; rows: number; photoObjects: number; photoBytes: number };
  estimate: { dbSeconds: number; photoSeconds: number; rowsPerSecond: number; photoBytesPerSecond: number };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repoMigrations = () =>
  readdirSync(path.join(ROOT, 'prisma', 'migrations'))
    .filter((d) => !d.endsWith('.toml'))
    .sort();

interface PgFacts {
  ok: boolean;
  error?: string;
  versionNum: number;
  version: string;
  walLevel: string;
  maxSlots: number;
  trgm: boolean;
  trgmAvailable: boolean;
  migrations: string[];
  dbBytes: number;
  rows: number;
  nonEmpty: string[];
  dataDir: string | null;
  admin: { ok: boolean; superuser: boolean; error?: string };
  roles: { app: boolean; migrator: boolean; appSuper: boolean; appMissingGrants: string[] };
}

async function pgFacts(side: Side): Promise<PgFacts> {
  const f: PgFacts = {
    ok: false,
    versionNum: 0,
    version: '',
    walLevel: '',
    maxSlots: 0,
    trgm: false,
    trgmAvailable: false,
    migrations: [],
    dbBytes: 0,
    rows: 0,
    nonEmpty: [],
    dataDir: null,
    admin: { ok: false, superuser: false },
    roles: { app: false, migrator: false, appSuper: false, appMissingGrants: [] },
  };
  try {
    await withClient(side.dbUrl, async (c) => {
      const one = async (sql: string) => (await c.query(sql)).rows[0] as Record<string, unknown>;
      f.versionNum = Number((await one('SHOW server_version_num')).server_version_num);
      f.version = String((await one('SHOW server_version')).server_version);
      f.walLevel = String((await one('SHOW wal_level')).wal_level);
      f.maxSlots = Number((await one('SHOW max_replication_slots')).max_replication_slots);
      f.trgm = !!(await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`)).rowCount;
      f.trgmAvailable = !!(await c.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'`)).rowCount;
      f.migrations = await appliedMigrations(c);
      f.dbBytes = Number((await one('SELECT pg_database_size(current_database()) AS b')).b);
      for (const t of await appTables(c)) {
        const n = Number((await c.query(`SELECT count(*)::bigint AS n FROM ${q(t.name)}`)).rows[0].n);
        f.rows += n;
        if (n > 0) f.nonEmpty.push(`${t.name}=${n}`);
      }
      const roles = await c.query<{ rolname: string; rolsuper: boolean }>(
        `SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('dapanda_app', 'dapanda_migrator')`,
      );
      f.roles.app = roles.rows.some((r) => r.rolname === 'dapanda_app');
      f.roles.migrator = roles.rows.some((r) => r.rolname === 'dapanda_migrator');
      f.roles.appSuper = roles.rows.some((r) => r.rolname === 'dapanda_app' && r.rolsuper);
      if (f.roles.app) {
        const g = await c.query<{ t: string }>(
          `SELECT relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND relname <> '_prisma_migrations'
             AND NOT has_table_privilege('dapanda_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE')`,
        );
        f.roles.appMissingGrants = g.rows.map((r) => r.t);
      }
    });
    f.ok = true;
  } catch (err) {
    f.error = (err as Error).message;
  }
  if (side.adminUrl) {
    try {
      await withClient(side.adminUrl, async (c) => {
        f.admin.superuser = (await c.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)).rows[0]
          ?.rolsuper;
        if (f.admin.superuser) f.dataDir = String((await c.query('SHOW data_directory')).rows[0].data_directory);
      });
      f.admin.ok = true;
    } catch (err) {
      f.admin.error = (err as Error).message;
    }
  }
  return f;
}

async function appVersion(side: Side): Promise<{ ok: boolean; version?: string; detail: string }> {
  if (!side.appUrl) return { ok: false, detail: 'DAPANDA_APP_URL not set' };
  try {
    const res = await fetch(new URL('/readyz', side.appUrl), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json().catch(() => ({}))) as { status?: string; version?: string; node?: string };
    return {
      ok: res.status === 200,
      version: body.version,
      detail: `${res.status} ${body.status ?? ''} version ${body.version ?? '?'} node ${body.node ?? '?'}`,
    };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

async function redisCheck(side: Side): Promise<{ ok: boolean; detail: string }> {
  const r = new Redis(side.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  r.on('error', () => {});
  try {
    await r.connect();
    const pong = await r.ping();
    const info = await r.info('server');
    return { ok: pong === 'PONG', detail: `PONG, redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    r.disconnect();
  }
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/** Bytes per second of `COPY (SELECT * FROM t LIMIT n) TO STDOUT` on the source's largest table. */
async function sampleRows(side: Side): Promise<{ rowsPerSecond: number; bytesPerRow: number }> {
  return withClient(side.dbUrl, async (c) => {
    const big = await c.query<{ t: string }>(
      `SELECT relname AS t FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY n_live_tup DESC LIMIT 1`,
    );
    const t = big.rows[0]?.t ?? 'users';
    const started = process.hrtime.bigint();
    const r = await c.query<{ n: string; b: string }>(
      `SELECT count(*) AS n, coalesce(sum(length(x::text)), 0) AS b FROM (SELECT * FROM ${q(t)} LIMIT 20000) x`,
    );
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    const n = Number(r.rows[0].n);
    return { rowsPerSecond: n > 0 ? n / Math.max(s, 0.001) : 50000, bytesPerRow: n > 0 ? Number(r.rows[0].b) / n : 0 };
  });
}

export async function plan(from: Side, to: Side, log: Log): Promise<PlanResult> {
  const checks: Check[] = [];
  const add = (name: string, verdict: Verdict, detail: string) => {
    checks.push({ name, verdict, detail });
    log.line('plan', `${verdict.padEnd(5)} ${name}: ${detail}`);
  };
  log.line('plan', `from ${describeDb(from.dbUrl)} → to ${describeDb(to.dbUrl)}`);
  const [src, dst] = await Promise.all([pgFacts(from), pgFacts(to)]);
  add('source PostgreSQL reachable', src.ok ? 'GO' : 'NO-GO', src.ok ? `${src.version}` : src.error!);
  add('target PostgreSQL reachable', dst.ok ? 'GO' : 'NO-GO', dst.ok ? `${dst.version}` : dst.error!);
  if (src.ok && dst.ok) {
    const major = (n: number) => Math.floor(n / 10000);
    add(
      'PostgreSQL versions',
      major(dst.versionNum) >= major(src.versionNum) ? 'GO' : 'NO-GO',
      `source ${src.version}, target ${dst.version} (target must be the same major or newer)`,
    );
    const repo = repoMigrations();
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    add(
      'migrations applied (source = target = this release)',
      same(src.migrations, dst.migrations) && same(src.migrations, repo) ? 'GO' : 'NO-GO',
      `source ${src.migrations.length}, target ${dst.migrations.length}, release ${repo.length}` +
        (same(src.migrations, dst.migrations)
          ? ''
          : `; differ: ${[...new Set([...src.migrations, ...dst.migrations])].filter((m) => !src.migrations.includes(m) || !dst.migrations.includes(m)).join(', ')}`),
    );
    add(
      'pg_trgm',
      src.trgm && dst.trgm ? 'GO' : 'NO-GO',
      `source ${src.trgm ? 'installed' : 'missing'}, target ${dst.trgm ? 'installed' : dst.trgmAvailable ? 'available, not installed' : 'missing'}`,
    );
    add(
      'target roles',
      dst.roles.app && dst.roles.migrator && !dst.roles.appSuper && !dst.roles.appMissingGrants.length ? 'GO' : 'NO-GO',
      `dapanda_app ${dst.roles.app ? 'present' : 'MISSING'}${dst.roles.appSuper ? ' (SUPERUSER: refuse)' : ''}, dapanda_migrator ${dst.roles.migrator ? 'present' : 'MISSING'}` +
        (dst.roles.appMissingGrants.length ? `; app role lacks DML on ${dst.roles.appMissingGrants.join(', ')}` : ''),
    );
    add(
      'target database empty',
      dst.rows === 0 ? 'GO' : 'WARN',
      dst.rows === 0
        ? 'no rows in the app tables'
        : `has rows (${dst.nonEmpty.slice(0, 8).join(', ')}): fine when resuming a copy; otherwise copy --reset empties it`,
    );
  }
  const logical =
    src.ok && dst.ok && src.walLevel === 'logical' && src.maxSlots > 0 && src.admin.superuser && dst.admin.superuser;
  add(
    'copy method',
    logical || (src.ok && dst.ok) ? 'GO' : 'NO-GO',
    logical
      ? 'logical replication (source wal_level=logical, superuser on both sides): the source stays writable until cutover'
      : `pg_dump/pg_restore (source wal_level=${src.walLevel || '?'}${src.admin.superuser ? '' : ', no superuser DAPANDA_PG_ADMIN_URL on the source'}${dst.admin.superuser ? '' : ', none on the target'}): the data is copied again inside the read-only window`,
  );
  if (!dst.admin.superuser)
    add(
      'target superuser (DAPANDA_PG_ADMIN_URL)',
      'NO-GO',
      dst.admin.error ?? 'not given or not a superuser: needed to load data with triggers off',
    );
  // Free space: the target's data directory when it is on this machine, and a local photo folder.
  if (dst.dataDir) {
    try {
      const s = statfsSync(dst.dataDir);
      const free = s.bavail * s.bsize;
      add(
        'target free space (database)',
        free > src.dbBytes * 2 ? 'GO' : 'NO-GO',
        `${mb(free)} free in ${dst.dataDir}, source database ${mb(src.dbBytes)} (needs 2×)`,
      );
    } catch {
      add(
        'target free space (database)',
        'WARN',
        `data directory ${dst.dataDir} is not on this machine: check on the target host (df)`,
      );
    }
  } else add('target free space (database)', 'WARN', 'unknown without a superuser URL: check on the target host (df)');

  const [ra, rb, va, vb] = await Promise.all([redisCheck(from), redisCheck(to), appVersion(from), appVersion(to)]);
  add('source Redis', ra.ok ? 'GO' : 'NO-GO', ra.detail);
  add('target Redis', rb.ok ? 'GO' : 'NO-GO', rb.detail);
  // Outbox events carry the REDIS_PREFIX of the side that wrote them (their namespace): only relays of
  // that namespace deliver them, so the target must use the source's prefix, on a Redis of its own.
  add(
    'REDIS_PREFIX the same on both sides (outbox namespace)',
    from.redisPrefix === to.redisPrefix ? 'GO' : 'NO-GO',
    from.redisPrefix === to.redisPrefix
      ? `both ${from.redisPrefix}`
      : `source ${from.redisPrefix}, target ${to.redisPrefix}: the target's outbox relay would never deliver the events the source left undelivered (set REDIS_PREFIX=${from.redisPrefix} on the target)`,
  );
  if (from.redisPrefix === to.redisPrefix && redisWhere(from.redisUrl) === redisWhere(to.redisUrl))
    add(
      'separate Redis for the two sides',
      'NO-GO',
      `both sides use ${redisWhere(from.redisUrl)} with prefix ${from.redisPrefix}: they would share BullMQ queues (the target's workers would run the source's timers)`,
    );
  add('source app', va.ok ? 'GO' : 'WARN', va.detail);
  add('target app', vb.ok ? 'GO' : 'WARN', vb.detail);
  if (va.version && vb.version)
    add('app versions', va.version === vb.version ? 'GO' : 'NO-GO', `source ${va.version}, target ${vb.version}`);

  // Photos: count and size on the source, a sample written to the target and read back.
  let photoObjects = 0;
  let photoBytes = 0;
  let photoBytesPerSecond = 20 * 1048576;
  try {
    const sp = openPhotos(from.storage);
    const tp = openPhotos(to.storage);
    const list = await sp.list();
    photoObjects = list.length;
    photoBytes = list.reduce((s, o) => s + o.size, 0);
    if (to.storage.kind === 'local') {
      try {
        const st = statfsSync(to.storage.dir);
        const free = st.bavail * st.bsize;
        add(
          'target free space (photos)',
          free > photoBytes * 1.2 ? 'GO' : 'NO-GO',
          `${mb(free)} free, photos ${mb(photoBytes)}`,
        );
      } catch (err) {
        add('target free space (photos)', 'NO-GO', (err as Error).message);
      }
    }
    const probe = await tp.probe();
    add('target photo store', probe.ok ? 'GO' : 'NO-GO', probe.detail);
    const sample = list.slice(0, 20);
    const started = process.hrtime.bigint();
    let sampled = 0;
    for (const o of sample) sampled += (await sp.read(o.key))?.length ?? 0;
    if (probe.ok && sample.length) await tp.probe(Math.min(sampled, 8 * 1048576));
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    if (sampled > 0) photoBytesPerSecond = sampled / Math.max(s, 0.001);
    add('source photos', 'GO', `${photoObjects} objects, ${mb(photoBytes)}`);
  } catch (err) {
    add('photo stores', 'NO-GO', (err as Error).message);
  }

  let rowsPerSecond = 50000;
  if (src.ok) {
    try {
      rowsPerSecond = (await sampleRows(from)).rowsPerSecond;
    } catch (err) {
      add('row sample', 'WARN', (err as Error).message);
    }
  }
  // Loading (indexes, trgm) is slower than reading: the estimate takes a factor of 3 on the read rate.
  const dbSeconds = src.rows / (rowsPerSecond / 3);
  const photoSeconds = photoBytes / photoBytesPerSecond;
  log.line(
    'plan',
    `estimate: database ${mb(src.dbBytes)} (${src.rows} rows) ~${dbSeconds.toFixed(1)} s at ${Math.round(rowsPerSecond / 3)} rows/s; ` +
      `photos ${photoObjects} objects ${mb(photoBytes)} ~${photoSeconds.toFixed(1)} s at ${mb(photoBytesPerSecond)}/s`,
  );
  const go = checks.every((c) => c.verdict !== 'NO-GO');
  log.line(
    'plan',
    go
      ? 'GO: every check passed (read the WARN lines)'
      : `NO-GO: ${checks
          .filter((c) => c.verdict === 'NO-GO')
          .map((c) => c.name)
          .join('; ')}`,
  );
  return {
    checks,
    go,
    method: logical ? 'logical' : 'dump',
    sizes: { dbBytes: src.dbBytes, rows: src.rows, photoObjects, photoBytes },
    estimate: { dbSeconds, photoSeconds, rowsPerSecond, photoBytesPerSecond },
  };
}

/** host:port/db of a Redis URL (no password): two sides on the same one share their keys. */
function redisWhere(u: string): string {
  try {
    const x = new URL(u);
    return `${x.hostname}:${x.port || 6379}/${x.pathname.replace(/^\//, '') || '0'}`;
  } catch {
    return u;
  }
}
