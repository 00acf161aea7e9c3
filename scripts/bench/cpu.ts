/**
 * The CPU budget of a bench scenario (issue 16: "show the profile that proves where the floor is"):
 * over exactly one storm's (or one pgbench run's) window, the CPU seconds (utime + stime from
 * /proc/<pid>/stat, in clock ticks) of every party sharing the machine's cores:
 *   - the app server process(es) (a list of pids: one with ROLE=all, two when web and worker run apart);
 *   - PostgreSQL: the client backends on the bench's database (the app's pool, pgbench's clients),
 *     the cluster's background processes that serve the writes (walwriter, checkpointer, background
 *     writer, autovacuum, the postmaster itself), and apart the backends of other databases (other
 *     agents on the shared cluster: noise, not ours). The postmaster's children are sampled every
 *     SAMPLE_MS so a backend that exits inside the window (pgbench's, at its end) is counted up to
 *     its last sample; what it spent after that reaches the postmaster's cutime (it reaps them) and
 *     is added back as the "exit tail", shared among the groups by their exited processes;
 *   - Redis (every redis-server process);
 *   - the load generator: this process (the HTTP storm runs here) plus the children it reaped in the
 *     window (pgbench), without the meter's own sampling, which is shown apart;
 *   - the whole machine (/proc/stat): busy = everything but idle and iowait, so "other" (the machine
 *     minus the parties: other agents, kernel threads) and the idle share show what is not ours.
 * Beside it, PostgreSQL's own count of the work for the bench's database (pg_stat_database: commits,
 * rows inserted / updated / deleted) and the cluster's WAL bytes (pg_current_wal_lsn(): cluster
 * wide, so other agents' writes count too), per accepted bid or per pgbench transaction.
 * printBudgets turns them into ms per unit by party and the floors they imply on this machine.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import pg from 'pg';

const SAMPLE_MS = 100;
let tickMs = 10;
try {
  tickMs = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
} catch {
  // 100 Hz, Linux's USER_HZ everywhere that matters
}

/** utime + stime (self) and cutime + cstime (reaped children) of a process, in ticks; null once it is gone. */
function statOf(pid: number | 'self'): { self: number; children: number; ppid: number; start: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14 -> f[11], stime f[12], cutime f[13], cstime f[14], starttime f[19].
    return { self: +f[11] + +f[12], children: +f[13] + +f[14], ppid: +f[1], start: f[19] };
  } catch {
    return null;
  }
}

/** The machine's busy and total ticks over all cores (/proc/stat, first line). */
function machine(): { busy: number; total: number } {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user already)
  const n = v.slice(0, 8).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - n[3] - n[4], total };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan /proc for the parent.
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => statOf(p)?.ppid === pid);
  }
}

function redisPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'redis-server';
      } catch {
        return false;
      }
    })
    .map(Number);
}

type PgGroup = 'ours' | 'background' | 'other dbs';
const PG_GROUPS: PgGroup[] = ['ours', 'background', 'other dbs'];

/** A postmaster child by its process title: a client backend on our database, another database's, or a background process. */
function groupOf(pid: number, database: string): PgGroup {
  let title: string;
  try {
    title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return 'background';
  }
  // "postgres: 15/main: user db 127.0.0.1(5432) idle" (the cluster name is optional).
  const rest = title.replace(/^postgres: (?:\S+: )?/, '');
  const client = /^\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(rest);
  if (client) return client[1] === database ? 'ours' : 'other dbs';
  if (/autovacuum worker/.test(rest)) return rest.includes(database) ? 'ours' : 'background';
  return 'background';
}

interface PgStats {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  walBytes: number;
}

export interface CpuBudget {
  name: string;
  /** 'bid' (accepted bids) or 'tx' (pgbench transactions). */
  unit: string;
  units: number;
  /** The rate the run reports, when it has its own (pgbench's tps); else units / seconds. */
  rate?: number;
  seconds: number;
  cores: number;
  /** CPU ms over the window by party. */
  ms: {
    app: number;
    pg: Record<PgGroup, number>;
    redis: number;
    loadgen: number;
    meter: number;
    machineBusy: number;
    machineTotal: number;
  };
  /** PostgreSQL's backends (ours) that exited in the window and the tail added back for all groups. */
  exited: number;
  exitTailMs: number;
  stats: PgStats;
  /** What the app counted (server.ts count-start/count-stop), per request, when given. */
  statementsPerRequest?: number;
  roundTripsPerRequest?: number;
}

export interface AroundOptions<T> {
  /** What a unit is: 'bid' (an accepted bid), 'tx' (a pgbench transaction). */
  unit: string;
  /** How many units the run produced. */
  units: (r: T) => number;
  /** The rate the run reports (pgbench's tps without connection time); units / wall time without it. */
  rate?: (r: T) => number;
  /** What the app counted over the run (server.ts count-stop), read after the window. */
  counted?: (r: T) => Promise<{ statements: number; queries: number; requests: number } | null>;
}

export interface CpuMeter {
  /** Runs `fn` and measures the CPU of every party over exactly its window (budgets gets one more). */
  around<T>(name: string, fn: () => Promise<T>, o: AroundOptions<T>): Promise<T>;
  budgets: CpuBudget[];
  close(): Promise<void>;
}

/**
 * A meter for the bench's database `databaseUrl`, the app's processes `appPids()` (read at each
 * window's start: the list may change between scenarios).
 */
export async function cpuMeter(databaseUrl: string, appPids: () => number[]): Promise<CpuMeter> {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const [{ pid: ownPid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
  const postmaster = statOf(ownPid)?.ppid;
  if (!postmaster) throw new Error('cpu meter: cannot find the postmaster (is PostgreSQL on this machine?)');
  const budgets: CpuBudget[] = [];

  const pgStats = async (): Promise<PgStats> => {
    const { rows } = await client.query<Record<string, string>>(
      `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,
              pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const r = rows[0];
    return {
      commits: Number(r.xact_commit),
      rollbacks: Number(r.xact_rollback),
      inserted: Number(r.tup_inserted),
      updated: Number(r.tup_updated),
      deleted: Number(r.tup_deleted),
      walBytes: Number(r.wal),
    };
  };
  // Backends report their counts to pg_stat_database when idle, at most once a second: wait that out.
  const settled = () => new Promise((r) => setTimeout(r, 1200));

  const around = async <T>(name: string, fn: () => Promise<T>, o: AroundOptions<T>): Promise<T> => {
    await settled();
    const apps = appPids();
    const redis = redisPids();
    const sum = (pids: number[]) =>
      pids.reduce((n, p) => {
        const s = statOf(p);
        return n + (s ? s.self + s.children : 0);
      }, 0);
    // Every postmaster child by pid + start time: its group, its ticks at the window's start (0: born
    // inside it) and at its last sample.
    const procs = new Map<string, { group: PgGroup; first: number; last: number; seen: boolean }>();
    let meterUs = 0;
    const sample = (atStart: boolean) => {
      const u0 = process.cpuUsage();
      const alive = new Set<string>();
      for (const pid of childrenOf(postmaster)) {
        if (pid === ownPid) continue;
        const s = statOf(pid);
        if (!s) continue;
        const key = `${pid}:${s.start}`;
        alive.add(key);
        let p = procs.get(key);
        if (!p)
          procs.set(
            key,
            (p = { group: groupOf(pid, database), first: atStart ? s.self + s.children : 0, last: 0, seen: true }),
          );
        p.last = s.self + s.children;
      }
      for (const [k, p] of procs) p.seen = alive.has(k);
      const u = process.cpuUsage(u0);
      meterUs += u.user + u.system;
    };
    const stats0 = await pgStats();
    const m0 = machine();
    const pm0 = statOf(postmaster)!;
    const app0 = sum(apps);
    const redis0 = sum(redis);
    const self0 = statOf('self')!;
    sample(true);
    meterUs = 0;
    const t0 = performance.now();
    const timer = setInterval(() => sample(false), SAMPLE_MS);
    let out: T;
    try {
      out = await fn();
    } finally {
      clearInterval(timer);
    }
    const wall = performance.now() - t0;
    const self1 = statOf('self')!;
    sample(false);
    const m1 = machine();
    const pm1 = statOf(postmaster)!;
    const app1 = sum(apps);
    const redis1 = sum(redis);
    const pgMs: Record<PgGroup, number> = { ours: 0, background: (pm1.self - pm0.self) * tickMs, 'other dbs': 0 };
    // Children that exited: counted up to their last sample; the rest of what they spent is in the postmaster's cutime.
    let exitedLast = 0;
    const exitedBy: Record<PgGroup, number> = { ours: 0, background: 0, 'other dbs': 0 };
    for (const p of procs.values()) {
      pgMs[p.group] += (p.last - p.first) * tickMs;
      if (!p.seen) {
        exitedLast += p.last;
        exitedBy[p.group]++;
      }
    }
    const exited = exitedBy.ours + exitedBy.background + exitedBy['other dbs'];
    const tail = Math.max(0, (pm1.children - pm0.children - exitedLast) * tickMs);
    if (exited) for (const g of PG_GROUPS) pgMs[g] += (tail * exitedBy[g]) / exited;
    const meterMs = meterUs / 1000;
    await settled();
    const stats1 = await pgStats();
    const c = o.counted ? await o.counted(out) : null;
    const b: CpuBudget = {
      name,
      unit: o.unit,
      units: o.units(out),
      ...(o.rate ? { rate: o.rate(out) } : {}),
      seconds: wall / 1000,
      cores: os.cpus().length,
      ms: {
        app: (app1 - app0) * tickMs,
        pg: pgMs,
        redis: (redis1 - redis0) * tickMs,
        loadgen: Math.max(0, (self1.self + self1.children - self0.self - self0.children) * tickMs - meterMs),
        meter: meterMs,
        machineBusy: (m1.busy - m0.busy) * tickMs,
        machineTotal: (m1.total - m0.total) * tickMs,
      },
      exited: exitedBy.ours,
      exitTailMs: tail,
      stats: {
        commits: stats1.commits - stats0.commits,
        rollbacks: stats1.rollbacks - stats0.rollbacks,
        inserted: stats1.inserted - stats0.inserted,
        updated: stats1.updated - stats0.updated,
        deleted: stats1.deleted - stats0.deleted,
        walBytes: stats1.walBytes - stats0.walBytes,
      },
      ...(c && c.requests
        ? { statementsPerRequest: c.statements / c.requests, roundTripsPerRequest: c.queries / c.requests }
        : {}),
    };
    budgets.push(b);
    return out;
  };
  return { around, budgets, close: () => client.end() };
}

const f = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-';

/** The parties' ms per unit, the machine's busy share and what is left for "other". */
export function perUnit(b: CpuBudget) {
  const n = Math.max(1, b.units);
  const pg = b.ms.pg.ours + b.ms.pg.background;
  const parties = b.ms.app + pg + b.ms.redis + b.ms.loadgen + b.ms.meter;
  return {
    app: b.ms.app / n,
    pgOurs: b.ms.pg.ours / n,
    pgBackground: b.ms.pg.background / n,
    pg: pg / n,
    pgOther: b.ms.pg['other dbs'] / n,
    redis: b.ms.redis / n,
    loadgen: b.ms.loadgen / n,
    meter: b.ms.meter / n,
    /** Everything we caused: app, our PostgreSQL, Redis, the load generator and the meter. */
    total: parties / n,
    /** The machine's busy time minus our parties (other agents, the kernel's own threads). */
    other: (b.ms.machineBusy - parties) / n,
    busyShare: b.ms.machineBusy / Math.max(1, b.ms.machineTotal),
    ourShare: parties / Math.max(1, b.ms.machineTotal),
    rate: b.rate ?? b.units / b.seconds,
  };
}

/**
 * The budget table, then for each pair (an HTTP scenario, the pgbench run it is compared with, the
 * ratio it targets) the floor lines, every number computed from the two budgets.
 */
export function printBudgets(budgets: CpuBudget[], pairs: { http: string; pgbench: string; target: number }[]): void {
  if (!budgets.length) return;
  const cores = budgets[0].cores;
  console.log(
    `\n== CPU budget per accepted bid (HTTP) / per transaction (pgbench), ms of CPU by party over each run's window (${cores} cores, /proc ticks of ${f(tickMs)} ms) ==`,
  );
  console.log(
    '| run                      | units/s | app    | PG ours | PG bg  | Redis  | load gen | meter | = total | other  | machine busy | ours / machine | commits | rows ins/upd/del | WAL B (cluster) | stmts / RT per request |',
  );
  console.log(
    '|--------------------------|---------|--------|---------|--------|--------|----------|-------|---------|--------|--------------|----------------|---------|------------------|-----------------|------------------------|',
  );
  for (const b of budgets) {
    const u = perUnit(b);
    const n = Math.max(1, b.units);
    const s = b.stats;
    console.log(
      `| ${`${b.name} (${b.unit})`.padEnd(24)} | ${f(u.rate, 0).padStart(7)} | ${f(u.app, 3).padStart(6)} | ${f(u.pgOurs, 3).padStart(7)} | ${f(u.pgBackground, 3).padStart(6)} | ${f(u.redis, 3).padStart(6)} | ${f(u.loadgen, 3).padStart(8)} | ${f(u.meter, 3).padStart(5)} | ${f(u.total, 3).padStart(7)} | ${f(u.other, 3).padStart(6)} | ${`${(u.busyShare * 100).toFixed(0)}%`.padStart(12)} | ${`${(u.ourShare * 100).toFixed(0)}%`.padStart(14)} | ${f(s.commits / n, 2).padStart(7)} | ${`${f(s.inserted / n, 1)}/${f(s.updated / n, 1)}/${f(s.deleted / n, 1)}`.padStart(16)} | ${f(s.walBytes / n, 0).padStart(15)} | ${(b.statementsPerRequest !== undefined ? `${f(b.statementsPerRequest, 1)} / ${f(b.roundTripsPerRequest!, 1)}` : '').padStart(22)} |`,
    );
  }
  console.log(
    "(PG ours: client backends on the bench's database; PG bg: postmaster, walwriter, checkpointer, background writer, autovacuum; other: the machine's busy time beside our parties (other agents, kernel threads); other databases' backends are in it: " +
      budgets.map((b) => `${b.name} ${f(perUnit(b).pgOther, 3)}`).join(', ') +
      ' ms/unit)',
  );
  console.log(
    "(an HTTP run's window is its storm and then the worker's drain of what the storm left in the outbox, up to 30 s (run.ts withCpu): its ms per bid is a bid's whole cost, its follow-up work (outbid notices, inbox rows) included, and its units/s is over that longer window, not the storm's accepted/s)",
  );
  for (const { http, pgbench, target } of pairs) {
    const h = budgets.find((b) => b.name === http);
    const p = budgets.find((b) => b.name === pgbench);
    if (!h || !p) continue;
    const hu = perUnit(h);
    const pu = perUnit(p);
    const want = target * pu.rate; // bids/s the target asks for
    const budget = (cores * 1000) / want; // ms of CPU per bid the machine has at that rate
    const ceiling = (cores * 1000) / hu.total;
    console.log(
      `\nfloor, ${http} vs ${pgbench}: target ${target} x ${f(pu.rate, 0)} tps = ${f(want, 0)} bids/s -> at most ${cores} x 1000 / ${f(want, 0)} = ${f(budget, 3)} ms of CPU per bid for everything; measured ${f(hu.total, 3)} ms (app ${f(hu.app, 3)}, PostgreSQL ${f(hu.pg, 3)}, Redis ${f(hu.redis, 3)}, load generator ${f(hu.loadgen, 3)}, meter ${f(hu.meter, 3)})`,
    );
    console.log(
      `  ceiling at these costs: ${cores} x 1000 / ${f(hu.total, 3)} = ${f(ceiling, 0)} bids/s = ${f(ceiling / pu.rate, 2)} x pgbench (measured ${f(hu.rate, 0)}/s = ${f(hu.rate / pu.rate, 2)} x; machine ${(hu.busyShare * 100).toFixed(0)}% busy, ${(hu.ourShare * 100).toFixed(0)}% ours)`,
    );
    console.log(
      `  pgbench: ${f(pu.total, 3)} ms per transaction (PostgreSQL ${f(pu.pg, 3)}, pgbench ${f(pu.loadgen, 3)}) -> its own ceiling ${f((cores * 1000) / pu.total, 0)} tps (measured ${f(pu.rate, 0)}, machine ${(pu.busyShare * 100).toFixed(0)}% busy${pu.busyShare < 0.9 ? ': not CPU-bound, row locks or latency set its rate' : ''})`,
    );
    console.log(
      `  CPU cost ratio: pgbench's ${f(pu.total, 3)} ms per transaction / our ${f(hu.total, 3)} ms per bid = ${f(pu.total / hu.total, 2)}: with both runs saturating the same cores that is the most the ratio can be (target ${target})`,
    );
    const pgOnly = (cores * 1000) / hu.pg / pu.rate;
    console.log(
      `  PostgreSQL alone spends ${f(hu.pg, 3)} ms per bid${h.statementsPerRequest !== undefined ? ` on our ${f(h.statementsPerRequest, 1)} statements per request` : ''} vs ${f(pu.pg, 3)} ms per pgbench transaction (4 statements) = ${f(hu.pg / pu.pg, 1)} x: even with a free app, Redis and load generator the ratio cannot exceed ${f(pgOnly, 2)}${pgOnly < target ? ` (< ${target}: out of reach on PostgreSQL's cost alone)` : ''}`,
    );
    const freeApp = (cores * 1000) / (hu.pg + hu.redis + hu.loadgen + hu.meter) / pu.rate;
    console.log(
      `  with the load generator (${f(hu.loadgen, 3)} ms per bid: this process's HTTP client) and Redis as measured and a free app: ratio <= ${f(freeApp, 2)}; at the target the app would have ${f(budget - hu.pg - hu.redis - hu.loadgen - hu.meter, 3)} ms per bid left (measured ${f(hu.app, 3)})`,
    );
    const k = hu.total / budget;
    console.log(
      `  what it would take: ${f(k, 1)} x less CPU per bid from every party (app <= ${f(hu.app / k, 3)}, PostgreSQL <= ${f(hu.pg / k, 3)}, Redis <= ${f(hu.redis / k, 3)}, load generator <= ${f(hu.loadgen / k, 3)} ms), or ${f((hu.total * want) / 1000, 1)} cores at these costs (${f(((hu.total - hu.loadgen - hu.meter) * want) / 1000, 1)} of them for the site without the load generator)`,
    );
  }
}
