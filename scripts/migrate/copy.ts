/**
 * copy: the database while the source stays live, the photos, the sequences.
 * - logical replication when both sides allow it: a publication of the app's tables on the source,
 *   a slot made by hand (so source and target may even be two databases of one cluster), and a
 *   subscription on the target that copies the tables, then streams every change until cutover;
 * - else pg_dump/pg_restore (directory format, parallel jobs), data only: the target's schema comes
 *   from its own migrations, and rows are loaded with triggers off (session_replication_role=replica),
 *   as replication applies them.
 * Sequences are not replicated: each one on the target is set past the source's value and the
 * column's max on either side, plus a margin (ids the source hands out until cutover).
 * Every part is idempotent: run it again and it resumes (a subscription already there is waited
 * for; photos already copied with the same hash are skipped).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Side } from './env.js';
import { appTables, ownedSequences, pgToolEnv, q, withClient, SIDE_LOCAL_TABLES } from './db.js';
import { copyPhotos, openPhotos, type PhotoCopyResult } from './photos.js';
import type { Log } from './log.js';
import type { StateFile } from './state.js';
import { setMaintenance } from './flags.js';

export const PUBLICATION = 'dapanda_migrate';
export const SLOT = 'dapanda_migrate';
export const SUBSCRIPTION = 'dapanda_migrate';

export interface CopyOptions {
  method: 'logical' | 'dump';
  jobs: number;
  reset: boolean;
  sequenceMargin: number;
  /** How long to wait for the subscription's initial copy. */
  syncTimeoutMs: number;
}

export interface CopyResult {
  method: 'logical' | 'dump';
  dbSeconds: number;
  rows: number;
  photos: PhotoCopyResult;
  sequences: Record<string, number>;
}

function run(cmd: string, args: string[], env: Record<string, string>, log: Log, step: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', () => {});
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else {
        log.line(step, `${cmd} failed (${code}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
        reject(new Error(`${cmd} exited ${code}`));
      }
    });
  });
}

async function targetRows(to: Side): Promise<number> {
  return withClient(to.dbUrl, async (c) => {
    let n = 0;
    for (const t of await appTables(c))
      n += Number((await c.query(`SELECT count(*) AS n FROM ${q(t.name)}`)).rows[0].n);
    return n;
  });
}

/** Empties every app table of the target (the side-local ones stay). */
export async function truncateTarget(to: Side): Promise<void> {
  await withClient(to.adminUrl ?? to.dbUrl, async (c) => {
    const tables = await appTables(c);
    // The wallet's append-only guards are triggers: off for this session (superuser), as when loading.
    if (to.adminUrl) await c.query(`SET session_replication_role = replica`);
    if (tables.length) await c.query(`TRUNCATE ${tables.map((t) => q(t.name)).join(', ')} CASCADE`);
  });
}

/** The source's connection string as the target's PostgreSQL reaches it (DAPANDA_PG_REPLICATION_URL, else the admin URL). */
const replicationConninfo = (from: Side) => from.raw.DAPANDA_PG_REPLICATION_URL || from.adminUrl!;

async function copyLogical(from: Side, to: Side, o: CopyOptions, log: Log): Promise<void> {
  const tables = await withClient(from.dbUrl, appTables);
  await withClient(from.adminUrl!, async (c) => {
    const pub = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [PUBLICATION]);
    if (!pub.rowCount) {
      await c.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${tables.map((t) => q(t.name)).join(', ')}`);
      log.line('copy', `publication ${PUBLICATION} created on the source (${tables.length} tables)`);
    } else log.line('copy', `publication ${PUBLICATION} already on the source`);
    const slot = await c.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [SLOT]);
    if (!slot.rowCount) {
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [SLOT]);
      log.line('copy', `replication slot ${SLOT} created on the source`);
    }
  });
  await withClient(to.adminUrl!, async (c) => {
    const sub = await c.query(`SELECT 1 FROM pg_subscription WHERE subname = $1`, [SUBSCRIPTION]);
    if (!sub.rowCount) {
      const conninfo = replicationConninfo(from).replace(/'/g, "''");
      await c.query(
        `CREATE SUBSCRIPTION ${SUBSCRIPTION} CONNECTION '${conninfo}' PUBLICATION ${PUBLICATION}
         WITH (create_slot = false, slot_name = '${SLOT}', copy_data = true)`,
      );
      log.line('copy', `subscription ${SUBSCRIPTION} created on the target: initial copy started`);
    } else log.line('copy', `subscription ${SUBSCRIPTION} already on the target: waiting for it`);
  });
  // Initial copy: every table reaches state r (ready) or s (synced).
  const deadline = Date.now() + o.syncTimeoutMs;
  for (;;) {
    const r = await withClient(to.adminUrl!, (c) =>
      c.query<{ state: string; n: string }>(
        `SELECT srsubstate AS state, count(*) AS n FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
         WHERE s.subname = $1 GROUP BY 1`,
        [SUBSCRIPTION],
      ),
    );
    const total = r.rows.reduce((s, x) => s + Number(x.n), 0);
    const ready = r.rows.filter((x) => x.state === 'r' || x.state === 's').reduce((s, x) => s + Number(x.n), 0);
    log.progress('copy', 'tables synced (logical)', ready, total || tables.length);
    if (total > 0 && ready === total) break;
    if (Date.now() > deadline)
      throw new Error(`initial copy not finished after ${o.syncTimeoutMs} ms (${ready}/${total} tables)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function copyDump(from: Side, to: Side, o: CopyOptions, log: Log, dir: string, state: StateFile): Promise<void> {
  if (!to.adminUrl) throw new Error('pg_restore needs the target superuser (DAPANDA_PG_ADMIN_URL)');
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const src = pgToolEnv(from.dbUrl);
  const exclude = SIDE_LOCAL_TABLES.flatMap((t) => ['--exclude-table', t]);
  log.line('copy', `pg_dump (data only, ${o.jobs} jobs) → ${dir}`);
  await run(
    'pg_dump',
    ['--data-only', '-Fd', '-j', String(o.jobs), '-f', dir, ...exclude, src.url],
    src.env,
    log,
    'copy',
  );
  await truncateTarget(to);
  const dst = pgToolEnv(to.adminUrl);
  log.line('copy', `pg_restore (data only, ${o.jobs} jobs, triggers off)`);
  await run(
    'pg_restore',
    ['--data-only', '-j', String(o.jobs), '--no-owner', '-d', dst.url, dir],
    { ...dst.env, PGOPTIONS: '-c session_replication_role=replica' },
    log,
    'copy',
  );
  state.update((s) => (s.copy!.restoredAt = new Date().toISOString()));
}

/** Sets every target sequence past max(source value, column max on both sides) + margin. Returns the new values. */
export async function syncSequences(from: Side, to: Side, margin: number, log: Log, step = 'copy') {
  const out: Record<string, number> = {};
  const seqs = await withClient(from.dbUrl, ownedSequences);
  const srcVals = await withClient(from.dbUrl, async (c) => {
    const m = new Map<string, number>();
    for (const s of seqs) {
      const r = await c.query(`SELECT last_value, is_called FROM ${q(s.seq)}`);
      const max = await c.query(`SELECT coalesce(max(${q(s.column)}), 0) AS m FROM ${q(s.table)}`);
      m.set(s.seq, Math.max(Number(r.rows[0].last_value), Number(max.rows[0].m)));
    }
    return m;
  });
  await withClient(to.dbUrl, async (c) => {
    for (const s of seqs) {
      const cur = await c.query(`SELECT last_value, is_called FROM ${q(s.seq)}`);
      const max = await c.query(`SELECT coalesce(max(${q(s.column)}), 0) AS m FROM ${q(s.table)}`);
      const curVal = cur.rows[0].is_called ? Number(cur.rows[0].last_value) : 0;
      const want = Math.max(srcVals.get(s.seq) ?? 0, Number(max.rows[0].m)) + margin;
      // Never moves a sequence back: a re-run after traffic on the target keeps its ids.
      const value = Math.max(want, curVal);
      await c.query(`SELECT setval($1, $2, true)`, [s.seq, value]);
      out[s.seq] = value;
    }
  });
  log.line(
    step,
    `sequences set on the target (${seqs.length}, margin ${margin}): ${Object.entries(out)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  return out;
}

export async function copy(from: Side, to: Side, o: CopyOptions, log: Log, state: StateFile): Promise<CopyResult> {
  const prev = state.read().copy;
  if (prev && prev.method !== o.method && !o.reset)
    throw new Error(`a ${prev.method} copy was started before; run copy --reset to start over with ${o.method}`);
  if (o.reset) {
    log.line('copy', 'reset: dropping the subscription, publication and slot, emptying the target');
    await dropReplication(from, to, log);
    await truncateTarget(to);
    state.update((s) => delete s.copy);
  } else if (!prev) {
    // A fresh target holds only what its migrations seed (categories); people's data means someone uses it.
    const users = await withClient(to.dbUrl, async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM users')).rows[0].n),
    );
    if (users > 0)
      throw new Error(
        `the target has ${users} users and no copy was started by this tool: run copy --reset to empty it`,
      );
    await truncateTarget(to);
    log.line('copy', 'target emptied (it held only what its migrations seed)');
  }
  if (!state.read().copy)
    state.update((s) => {
      s.copy = { method: o.method, startedAt: new Date().toISOString() };
      delete s.clock;
    });
  // The target's app must not act on data arriving underneath it: standby (maintenance) until cutover resumes it.
  await setMaintenance(to, true, 'standby: receiving a copy (npm run migrate:env)');
  log.line('copy', 'target app in standby (maintenance mode): no timers, no writes until cutover');
  const started = Date.now();
  if (o.method === 'logical') {
    if (!from.adminUrl || !to.adminUrl) throw new Error('logical replication needs DAPANDA_PG_ADMIN_URL on both sides');
    await copyLogical(from, to, o, log);
    state.update((s) => (s.copy!.subscription = SUBSCRIPTION));
  } else if (!state.read().copy?.restoredAt) {
    await copyDump(from, to, o, log, path.join(state.dir, 'dump'), state);
  } else log.line('copy', `database already restored at ${state.read().copy!.restoredAt} (copy --reset to redo)`);
  const dbSeconds = (Date.now() - started) / 1000;
  const rows = await targetRows(to);
  log.line('copy', `database: ${rows} rows on the target after ${dbSeconds.toFixed(1)} s (${o.method})`);
  const sp = openPhotos(from.storage);
  const tp = openPhotos(to.storage);
  let photos: PhotoCopyResult;
  try {
    photos = await copyPhotos(sp, tp, log, 'copy', o.jobs * 2);
  } finally {
    sp.close();
    tp.close();
  }
  log.line(
    'copy',
    `photos: ${photos.objects} objects, ${photos.copied} copied (${(photos.bytes / 1048576).toFixed(1)} MiB), ${photos.skipped} already there, ${photos.seconds.toFixed(1)} s`,
  );
  state.update((s) => (s.copy!.photosAt = new Date().toISOString()));
  const sequences = await syncSequences(from, to, o.sequenceMargin, log);
  state.update((s) => {
    s.copy!.sequencesAt = new Date().toISOString();
    s.copy!.sequences = sequences;
  });
  return { method: o.method, dbSeconds, rows, photos, sequences };
}

/** Drops what logical replication made (subscription on the target; slot and publication on the source). */
export async function dropReplication(from: Side, to: Side, log: Log): Promise<void> {
  if (to.adminUrl)
    await withClient(to.adminUrl, async (c) => {
      const sub = await c.query(`SELECT 1 FROM pg_subscription WHERE subname = $1`, [SUBSCRIPTION]);
      if (sub.rowCount) {
        await c.query(`ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
        await c.query(`ALTER SUBSCRIPTION ${SUBSCRIPTION} SET (slot_name = NONE)`);
        await c.query(`DROP SUBSCRIPTION ${SUBSCRIPTION}`);
        log.line('replication', `subscription ${SUBSCRIPTION} dropped on the target`);
      }
    });
  if (from.adminUrl)
    await withClient(from.adminUrl, async (c) => {
      // The slot may still be held by the walsender a moment after the subscription went.
      for (let i = 0; i < 40; i++) {
        const s = await c.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [
          SLOT,
        ]);
        if (!s.rowCount) break;
        if (!s.rows[0].active) {
          await c.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);
          log.line('replication', `slot ${SLOT} dropped on the source`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      const pub = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [PUBLICATION]);
      if (pub.rowCount) {
        await c.query(`DROP PUBLICATION ${PUBLICATION}`);
        log.line('replication', `publication ${PUBLICATION} dropped on the source`);
      }
    });
}

/** Waits until the subscription has applied everything the source wrote up to now; returns the lag waited (ms). */
export async function waitCaughtUp(from: Side, log: Log, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  const target = await withClient(
    from.adminUrl!,
    async (c) => (await c.query(`SELECT pg_current_wal_lsn() AS l`)).rows[0].l as string,
  );
  for (;;) {
    const r = await withClient(from.adminUrl!, (c) =>
      c.query<{ behind: string | null }>(
        `SELECT pg_wal_lsn_diff($1::pg_lsn, confirmed_flush_lsn) AS behind FROM pg_replication_slots WHERE slot_name = $2`,
        [target, SLOT],
      ),
    );
    const behind = Number(r.rows[0]?.behind ?? Infinity);
    if (behind <= 0) {
      log.line('cutover', `replication caught up with the source (LSN ${target}) in ${Date.now() - started} ms`);
      return Date.now() - started;
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`replication still ${behind} bytes behind after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
