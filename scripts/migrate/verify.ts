/**
 * verify: is the target the source? Per table: row count and an ordered checksum (md5 over the
 * md5 of each primary key and row, in key order), with the first differing keys named on a
 * mismatch; business invariants on each side (and equal on both); every photo object present
 * with the same SHA-256; a sample of pages rendered by both apps, compared after removing what is
 * per-response (CSRF tokens, nonces, photo URL bases). Writes verify.json and verify.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Side } from './env.js';
import { appTables, q, withClient, type TableInfo } from './db.js';
import { openPhotos, parallel, sha256 } from './photos.js';
import type { Log } from './log.js';
import type { ClockShift } from './flags.js';

export interface VerifyCheck {
  name: string;
  pass: boolean;
  detail: string;
}

export interface VerifyReport {
  at: string;
  seconds: number;
  pass: boolean;
  sizes: { tables: number; rows: number; photos: number; pages: number };
  checks: VerifyCheck[];
}

const rowHash = (t: TableInfo) => `md5(row(${t.pk.length ? t.pk.map(q).join(', ') : 'x.*'})::text || x::text)`;
const orderBy = (t: TableInfo) => (t.pk.length ? t.pk.map(q).join(', ') : `x::text`);

/**
 * The clock moves one side had that the other did not (cutover's resume moved the target's open
 * auctions, order timers and listings by the pause; see flags.ts): verify compares that other
 * side as if it had moved the same way, with the same predicates, each move on the result of the
 * one before. `side` is the side whose rows are projected (the one that did not move).
 */
export interface ClockProjection {
  side: 'source' | 'target';
  shifts: ClockShift[];
}

const ts = (iso: string) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${iso}`);
  return `'${d.toISOString()}'::timestamptz`;
};

/** The relation to read a table from: the table, or the table with the given moves applied. */
export function relation(t: TableInfo, shifts: ClockShift[] = []): string {
  let rel = q(t.name);
  for (const s of shifts) {
    if (!Number.isInteger(s.shiftMs) || s.shiftMs < 0) throw new Error(`bad shift ${s.shiftMs}`);
    const p = ts(s.pausedAt);
    const at = ts(s.at);
    const iv = `interval '${s.shiftMs} milliseconds'`;
    const col: Record<string, string> = {};
    let pred: string;
    if (t.name === 'auctions') {
      pred = `status IN ('LIVE', 'SCHEDULED') AND ends_at > ${p}`;
      col.ends_at = `ends_at + ${iv}`;
      col.original_ends_at = `original_ends_at + ${iv}`;
      col.starts_at = `CASE WHEN status = 'SCHEDULED' AND starts_at > ${p} THEN starts_at + ${iv} ELSE starts_at END`;
    } else if (t.name === 'listings') {
      pred = `status IN ('LIVE', 'SCHEDULED') AND ends_at > ${p} AND updated_at < ${at}`;
      col.ends_at = `ends_at + ${iv}`;
      col.starts_at = `CASE WHEN status = 'SCHEDULED' AND starts_at > ${p} THEN starts_at + ${iv} ELSE starts_at END`;
    } else if (t.name === 'orders') {
      pred = `due_at IS NOT NULL AND due_at > ${p}`;
      col.due_at = `due_at + ${iv}`;
      col.remind_at = `CASE WHEN remind_at > ${p} AND reminded_at IS NULL THEN remind_at + ${iv} ELSE remind_at END`;
    } else continue;
    col.updated_at = at;
    const list = t.columns.map((c) => (col[c] ? `CASE WHEN ${pred} THEN ${col[c]} ELSE ${q(c)} END AS ${q(c)}` : q(c)));
    rel = `(SELECT ${list.join(', ')} FROM ${rel} y)`;
  }
  return rel;
}

export async function tableSummary(
  c: pg.Client,
  t: TableInfo,
  shifts: ClockShift[] = [],
): Promise<{ n: number; hash: string }> {
  const r = await c.query<{ n: string; h: string | null }>(
    `SELECT count(*) AS n, md5(string_agg(${rowHash(t)}, '' ORDER BY ${orderBy(t)})) AS h FROM ${relation(t, shifts)} x`,
  );
  return { n: Number(r.rows[0].n), hash: r.rows[0].h ?? '' };
}

async function rowHashes(c: pg.Client, t: TableInfo, shifts: ClockShift[] = []): Promise<Map<string, string>> {
  const keyExpr = t.pk.length ? `row(${t.pk.map(q).join(', ')})::text` : 'x::text';
  const r = await c.query<{ k: string; h: string }>(
    `SELECT ${keyExpr} AS k, md5(x::text) AS h FROM ${relation(t, shifts)} x`,
  );
  return new Map(r.rows.map((x) => [x.k, x.h]));
}

/** Keys that differ (missing, extra or changed) between two tables: up to `limit` of each kind. */
export async function tableDiff(
  a: pg.Client,
  b: pg.Client,
  t: TableInfo,
  limit = 10,
  shifts: { a?: ClockShift[]; b?: ClockShift[] } = {},
) {
  const [ha, hb] = await Promise.all([rowHashes(a, t, shifts.a), rowHashes(b, t, shifts.b)]);
  const missing: string[] = [];
  const extra: string[] = [];
  const changed: string[] = [];
  for (const [k, h] of ha) {
    if (!hb.has(k)) missing.push(k);
    else if (hb.get(k) !== h) changed.push(k);
  }
  for (const k of hb.keys()) if (!ha.has(k)) extra.push(k);
  return {
    missing: missing.slice(0, limit),
    extra: extra.slice(0, limit),
    changed: changed.slice(0, limit),
    counts: { missing: missing.length, extra: extra.length, changed: changed.length },
  };
}

/** Business invariants of one side; each returns the offending rows (empty: holds). */
const INVARIANTS: { name: string; sql: string }[] = [
  {
    name: 'ledger sums to zero',
    sql: `SELECT 'total' AS id, sum(amount) AS got FROM ledger_entries HAVING coalesce(sum(amount), 0) <> 0`,
  },
  {
    name: 'every ledger transaction balances',
    sql: `SELECT transaction_id AS id, sum(amount) AS got FROM ledger_entries GROUP BY 1 HAVING sum(amount) <> 0 LIMIT 20`,
  },
  {
    name: 'every balance equals its postings',
    sql: `SELECT a.id, a.balance AS got, coalesce(e.s, 0) AS want FROM wallet_accounts a
          LEFT JOIN (SELECT account_id, sum(amount) s FROM ledger_entries GROUP BY 1) e ON e.account_id = a.id
          WHERE a.balance <> coalesce(e.s, 0) LIMIT 20`,
  },
  {
    name: "every LIVE auction's leader and price are what its bids give",
    sql: `SELECT a.id, a.leader_id || '@' || a.current_price AS got, coalesce(l.bidder_id || '@' || l.amount, 'none@' || a.start_price) AS want
          FROM auctions a LEFT JOIN LATERAL (SELECT bidder_id, amount FROM bids b WHERE b.auction_id = a.id ORDER BY b.id DESC LIMIT 1) l ON true
          WHERE a.status = 'LIVE' AND (a.leader_id IS DISTINCT FROM l.bidder_id OR a.current_price <> coalesce(l.amount, a.start_price)) LIMIT 20`,
  },
  {
    name: 'held escrows equal the escrow account',
    sql: `SELECT 'escrow' AS id, coalesce((SELECT sum(balance) FROM wallet_accounts WHERE kind = 'ESCROW'), 0) AS got,
                 coalesce((SELECT sum(amount) FROM wallet_escrows WHERE status = 'HELD'), 0) AS want
          WHERE coalesce((SELECT sum(balance) FROM wallet_accounts WHERE kind = 'ESCROW'), 0)
             <> coalesce((SELECT sum(amount) FROM wallet_escrows WHERE status = 'HELD'), 0)`,
  },
  {
    name: "every user's held points equal their open holds",
    sql: `SELECT a.user_id AS id, a.balance AS got, coalesce(h.s, 0) AS want FROM wallet_accounts a
          LEFT JOIN (SELECT user_id, sum(amount) s FROM wallet_holds WHERE status = 'HELD' GROUP BY 1) h ON h.user_id = a.user_id
          WHERE a.kind = 'USER_HELD' AND a.balance <> coalesce(h.s, 0) LIMIT 20`,
  },
];

export async function invariants(c: pg.Client): Promise<{ name: string; bad: Record<string, unknown>[] }[]> {
  const out = [];
  for (const inv of INVARIANTS) out.push({ name: inv.name, bad: (await c.query(inv.sql)).rows });
  return out;
}

/** A page with what differs per response or per side taken out. */
export function normalizePage(html: string): string {
  return html
    .replace(/<div class="maintenance-banner"[^]*?<\/div>/g, '')
    .replace(/nonce="[^"]*"/g, 'nonce=""')
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""')
    .replace(/"x-csrf-token": "[^"]*"/g, '"x-csrf-token": ""')
    .replace(/(?:https?:\/\/[^"'\s)]+?\/|\/media\/)(photos\/[0-9a-f-]{36}[a-z0-9.-]*)/g, '/$1');
}

async function samplePaths(c: pg.Client, n: number): Promise<string[]> {
  const r = await c.query<{ id: number }>(
    `(SELECT id FROM listings WHERE status = 'LIVE' ORDER BY id LIMIT $1) UNION (SELECT id FROM listings ORDER BY id DESC LIMIT $1)`,
    [Math.ceil(n / 2)],
  );
  return ['/', '/?sort=ending', ...r.rows.map((x) => `/items/${x.id}`)];
}

async function fetchPage(base: string, p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(new URL(p, base), { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

export async function verify(
  from: Side,
  to: Side,
  log: Log,
  opts: { reportDir: string; pages: number; jobs: number; step?: string; clock?: ClockProjection },
): Promise<VerifyReport> {
  const step = opts.step ?? 'verify';
  const clock = opts.clock?.shifts.length ? opts.clock : undefined;
  const proj = {
    a: clock?.side === 'source' ? clock.shifts : [],
    b: clock?.side === 'target' ? clock.shifts : [],
  };
  const started = Date.now();
  const checks: VerifyCheck[] = [];
  const add = (name: string, pass: boolean, detail: string) => {
    checks.push({ name, pass, detail });
    log.line(step, `${pass ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
  };
  let rows = 0;
  let tablesN = 0;
  const pagePaths: string[] = [];
  const session = async (c: pg.Client) => {
    await c.query(`SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET statement_timeout = '10min'`);
  };
  await withClient(from.dbUrl, (a) =>
    withClient(to.dbUrl, async (b) => {
      await session(a);
      await session(b);
      const [ta, tb] = await Promise.all([appTables(a), appTables(b)]);
      const names = (x: TableInfo[]) => x.map((t) => t.name).join(',');
      if (clock) {
        const other = clock.side === 'source' ? 'target' : 'source';
        const moves = clock.shifts.map((s) => `+${s.shiftMs} ms at ${s.at}`).join(', ');
        log.line(
          step,
          `the ${other}'s clocks were moved after the last copy (${moves}): the ${clock.side}'s auctions, listings and orders are compared as if moved the same way`,
        );
      }
      add('same tables on both sides', names(ta) === names(tb), `${ta.length} source, ${tb.length} target`);
      tablesN = ta.length;
      let done = 0;
      for (const t of ta) {
        if (!tb.some((x) => x.name === t.name)) continue;
        const [sa, sb] = await Promise.all([tableSummary(a, t, proj.a), tableSummary(b, t, proj.b)]);
        rows += sa.n;
        if (sa.n === sb.n && sa.hash === sb.hash)
          add(`table ${t.name}`, true, `${sa.n} rows, checksum ${sa.hash.slice(0, 12)}`);
        else {
          const d = await tableDiff(a, b, t, 10, proj);
          add(
            `table ${t.name}`,
            false,
            `source ${sa.n} rows, target ${sb.n}; missing on target ${d.counts.missing} [${d.missing.join(' ')}], ` +
              `extra ${d.counts.extra} [${d.extra.join(' ')}], changed ${d.counts.changed} [${d.changed.join(' ')}]`,
          );
        }
        log.progress(step, 'tables', ++done, ta.length);
      }
      const [ia, ib] = [await invariants(a), await invariants(b)];
      for (let i = 0; i < ia.length; i++) {
        const fmt = (bad: Record<string, unknown>[]) =>
          bad
            .slice(0, 5)
            .map((r) => JSON.stringify(r))
            .join(' ');
        add(
          `invariant (target): ${ib[i].name}`,
          ib[i].bad.length === 0,
          ib[i].bad.length ? `${ib[i].bad.length} offending: ${fmt(ib[i].bad)}` : 'holds',
        );
        if (ia[i].bad.length)
          add(
            `invariant (source): ${ia[i].name}`,
            false,
            `${ia[i].bad.length} offending on the source too: ${fmt(ia[i].bad)}`,
          );
      }
      pagePaths.push(...(await samplePaths(a, opts.pages)));
    }),
  );

  // Photos: every source object on the target with the same SHA-256, and nothing extra.
  const sp = openPhotos(from.storage);
  const tp = openPhotos(to.storage);
  let photoCount: number;
  try {
    const [la, lb] = await Promise.all([sp.list(), tp.list()]);
    photoCount = la.length;
    const there = new Set(lb.map((o) => o.key));
    const missing = la.filter((o) => !there.has(o.key)).map((o) => o.key);
    const extra = lb.filter((o) => !la.some((x) => x.key === o.key)).map((o) => o.key);
    add(
      'photo count',
      la.length === lb.length && !missing.length,
      `source ${la.length}, target ${lb.length}; missing ${missing.length} [${missing.slice(0, 10).join(' ')}]; extra ${extra.length}`,
    );
    const differ: string[] = [];
    let done = 0;
    await parallel(
      la.filter((o) => there.has(o.key)),
      opts.jobs,
      async (o) => {
        const [x, y] = await Promise.all([sp.read(o.key), tp.read(o.key)]);
        if (!x || !y || sha256(x) !== sha256(y)) differ.push(o.key);
        log.progress(step, 'photo hashes', ++done, la.length - missing.length);
      },
    );
    add(
      'photo hashes',
      differ.length === 0,
      differ.length
        ? `${differ.length} differ: ${differ.slice(0, 10).join(' ')}`
        : `${la.length - missing.length} objects identical (SHA-256)`,
    );
  } finally {
    sp.close();
    tp.close();
  }

  // Pages: the same anonymous page from both apps.
  if (clock && opts.pages > 0)
    add(
      'pages rendered on both sides',
      true,
      `not compared: the ${clock.side === 'source' ? 'target' : 'source'}'s end times were moved by ${clock.shifts.map((s) => s.shiftMs).join(' + ')} ms after the last copy, so its pages show other times`,
    );
  else if (from.appUrl && to.appUrl) {
    const differ: string[] = [];
    for (const p of pagePaths) {
      try {
        const [x, y] = await Promise.all([fetchPage(from.appUrl, p), fetchPage(to.appUrl, p)]);
        const [nx, ny] = [normalizePage(x.body), normalizePage(y.body)];
        if (x.status !== y.status || nx !== ny) {
          differ.push(`${p} (${x.status}/${y.status})`);
          // Both normalized bodies beside the report, for `diff` by the operator.
          const dir = path.join(opts.reportDir, `${step}-pages`);
          mkdirSync(dir, { recursive: true });
          const slug = p.replace(/[^A-Za-z0-9]+/g, '_') || 'root';
          writeFileSync(path.join(dir, `${slug}.source.html`), nx);
          writeFileSync(path.join(dir, `${slug}.target.html`), ny);
        }
      } catch (err) {
        differ.push(`${p} (${(err as Error).message})`);
      }
    }
    add(
      'pages rendered on both sides',
      differ.length === 0,
      differ.length
        ? `${differ.length}/${pagePaths.length} differ: ${differ.slice(0, 10).join(' ')}`
        : `${pagePaths.length} pages identical`,
    );
  } else if (opts.pages === 0) add('pages rendered on both sides', true, 'not asked (--pages 0): pages not compared');
  else add('pages rendered on both sides', false, 'DAPANDA_APP_URL missing on a side: pages not compared');

  const report: VerifyReport = {
    at: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    pass: checks.every((c) => c.pass),
    sizes: { tables: tablesN, rows, photos: photoCount, pages: pagePaths.length },
    checks,
  };
  writeReport(report, opts.reportDir, step);
  log.line(
    step,
    `${report.pass ? 'PASS' : 'FAIL'}: ${checks.filter((c) => !c.pass).length} failed of ${checks.length} checks, ${report.seconds.toFixed(1)} s (${rows} rows, ${photoCount} photos)`,
  );
  return report;
}

export function writeReport(r: VerifyReport, dir: string, name = 'verify'): void {
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(r, null, 2));
  const md = [
    `# DAPANDA migration ${name}: ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${r.at} — ${r.seconds.toFixed(1)} s; ${r.sizes.tables} tables, ${r.sizes.rows} rows, ${r.sizes.photos} photos, ${r.sizes.pages} pages`,
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...r.checks.map((c) => `| ${c.name} | ${c.pass ? 'PASS' : '**FAIL**'} | ${c.detail.replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, `${name}.md`), md);
}
