/**
 * Row deltas between two sides, by primary key: which rows one side has that the other lacks,
 * which differ, which are gone — and copying them over. Two uses:
 * - cutover on the pg_dump path: the final incremental copy (source paused → target);
 * - rollback: the writes made on the target since cutover, copied back to the (paused) source.
 * A table is compared by its ordered checksum first (verify's); only a table that differs is read
 * key by key. Rows are applied in one transaction with triggers and foreign keys off
 * (session_replication_role=replica, as a restore or a subscription applies them), so the
 * wallet's append-only guards do not refuse what the other side already accepted.
 */
import type pg from 'pg';
import { appTables, q, type TableInfo } from './db.js';
import { tableSummary } from './verify.js';
import type { Log } from './log.js';

export interface TableDelta {
  table: string;
  pk: string[];
  /** Keys (JSON objects of the primary key) present on `from` only. */
  inserted: string[];
  /** Keys present on both with different rows. */
  updated: string[];
  /** Keys present on `to` only. */
  deleted: string[];
}

const keyExpr = (t: TableInfo) =>
  `json_build_object(${t.pk.map((c) => `'${c.replace(/'/g, "''")}', ${q(c)}`).join(', ')})::text`;

async function keyedHashes(c: pg.Client, t: TableInfo): Promise<Map<string, string>> {
  const r = await c.query<{ k: string; h: string }>(`SELECT ${keyExpr(t)} AS k, md5(x::text) AS h FROM ${q(t.name)} x`);
  return new Map(r.rows.map((x) => [x.k, x.h]));
}

/** Tables without a primary key: their rows cannot be told apart, so no delta can be copied. */
export async function tablesWithoutKey(c: pg.Client): Promise<string[]> {
  return (await appTables(c)).filter((t) => !t.pk.length).map((t) => t.name);
}

/**
 * What `to` must change to equal `from`, per table (only tables that differ). Both clients should
 * see a quiet database (maintenance mode) for the answer to hold.
 */
export async function computeDelta(from: pg.Client, to: pg.Client, log: Log, step: string): Promise<TableDelta[]> {
  const tables = await appTables(from);
  const out: TableDelta[] = [];
  let done = 0;
  for (const t of tables) {
    log.progress(step, 'tables compared', done++, tables.length);
    const [a, b] = await Promise.all([tableSummary(from, t), tableSummary(to, t)]);
    if (a.n === b.n && a.hash === b.hash) continue;
    if (!t.pk.length) {
      out.push({ table: t.name, pk: [], inserted: [], updated: [], deleted: [] });
      continue;
    }
    const [ha, hb] = await Promise.all([keyedHashes(from, t), keyedHashes(to, t)]);
    const d: TableDelta = { table: t.name, pk: t.pk, inserted: [], updated: [], deleted: [] };
    for (const [k, h] of ha) {
      const other = hb.get(k);
      if (other === undefined) d.inserted.push(k);
      else if (other !== h) d.updated.push(k);
    }
    for (const k of hb.keys()) if (!ha.has(k)) d.deleted.push(k);
    out.push(d);
  }
  log.progress(step, 'tables compared', tables.length, tables.length);
  return out;
}

/** One line per table: what the delta holds, with every key (ids) named. */
export function describeDelta(deltas: TableDelta[], maxKeys = Infinity): string[] {
  const ids = (keys: string[]) => {
    const shown = keys.slice(0, maxKeys).map((k) => {
      const o = JSON.parse(k) as Record<string, unknown>;
      const v = Object.values(o);
      return v.length === 1 ? String(v[0]) : `(${v.join(',')})`;
    });
    return shown.join(' ') + (keys.length > maxKeys ? ` …(+${keys.length - maxKeys})` : '');
  };
  return deltas.map((d) =>
    d.pk.length
      ? `${d.table}: ${d.inserted.length} new [${ids(d.inserted)}], ${d.updated.length} changed [${ids(d.updated)}], ${d.deleted.length} deleted [${ids(d.deleted)}]`
      : `${d.table}: differs and has no primary key (rows cannot be named)`,
  );
}

export const deltaRows = (deltas: TableDelta[]) =>
  deltas.reduce((s, d) => s + d.inserted.length + d.updated.length + d.deleted.length, 0);

/**
 * Applies `deltas` (computed from→to) on `to`: inserts and updates as upserts of the `from` rows,
 * deletes by key, all in one transaction with triggers off. `to` must be a superuser connection.
 */
export async function applyDelta(
  from: pg.Client,
  to: pg.Client,
  deltas: TableDelta[],
  log: Log,
  step: string,
): Promise<number> {
  const keyless = deltas.filter((d) => !d.pk.length);
  if (keyless.length) throw new Error(`tables without a primary key differ: ${keyless.map((d) => d.table).join(', ')}`);
  const total = deltaRows(deltas);
  const cols = new Map<string, string[]>();
  for (const d of deltas) {
    const r = await to.query<{ c: string }>(
      `SELECT a.attname::text AS c FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0
       AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
      [q(d.table)],
    );
    cols.set(
      d.table,
      r.rows.map((x) => x.c),
    );
  }
  let done = 0;
  await to.query('BEGIN');
  try {
    await to.query(`SET LOCAL session_replication_role = replica`);
    // Deletes first: a row gone on one side may free a unique value a new row there took.
    for (const d of deltas) {
      const t = q(d.table);
      for (let i = 0; i < d.deleted.length; i += 500) {
        const keys = d.deleted.slice(i, i + 500);
        await to.query(
          `DELETE FROM ${t} x USING json_populate_recordset(null::${t}, $1::json) k WHERE ${d.pk
            .map((p) => `x.${q(p)} = k.${q(p)}`)
            .join(' AND ')}`,
          [`[${keys.join(',')}]`],
        );
        done += keys.length;
        log.progress(step, 'rows copied', done, total);
      }
    }
    for (const d of deltas) {
      const c = cols.get(d.table)!;
      const t = q(d.table);
      const using = d.pk.map(q).join(', ');
      const set = c.filter((x) => !d.pk.includes(x));
      const upserts = [...d.inserted, ...d.updated];
      for (let i = 0; i < upserts.length; i += 500) {
        const keys = upserts.slice(i, i + 500);
        const rows = await from.query<{ r: string }>(
          `SELECT row_to_json(x)::text AS r FROM ${t} x JOIN json_populate_recordset(null::${t}, $1::json) k USING (${using})`,
          [`[${keys.join(',')}]`],
        );
        await to.query(
          `INSERT INTO ${t} (${c.map(q).join(', ')})
           SELECT ${c.map(q).join(', ')} FROM json_populate_recordset(null::${t}, $1::json)
           ON CONFLICT (${using}) DO ${set.length ? `UPDATE SET ${set.map((x) => `${q(x)} = EXCLUDED.${q(x)}`).join(', ')}` : 'NOTHING'}`,
          [`[${rows.rows.map((x) => x.r).join(',')}]`],
        );
        done += keys.length;
        log.progress(step, 'rows copied', done, total);
      }
    }
    await to.query('COMMIT');
  } catch (err) {
    await to.query('ROLLBACK').catch(() => {});
    throw err;
  }
  log.progress(step, 'rows copied', total, total);
  return total;
}
