/**
 * Push latency: sequential bids on the watched auction (two bidders taking turns, each bidding
 * the minimum their own panel shows); for each, the time from its HTTP response to the arrival
 * of the fragment carrying its price at every watcher socket (watchers.ts, other processes; all
 * clocks are performance.timeOrigin + now() on one machine).
 * Where the time goes: the server's push trace (push-trace.ts) and the watcher processes' CPU
 * and event-loop time, per bid, on the same clock, from the HTTP response received (0).
 */
import { randomUUID } from 'node:crypto';
import type { Bidder } from './load.js';
import type { PushTrace } from './push-trace.js';
import type { ProfileSummary } from './profile.js';

export interface WatcherStats {
  cpuMs: number;
  eluActiveMs: number;
  wallMs: number;
  pings: number;
  /** When each ping arrived (epoch ms). */
  pingTimes: number[];
}

/** Milliseconds from the bid's HTTP response received (runner) to each step; medians and the worst bid. */
export interface WatchSteps {
  event: number;
  publish: number;
  rendered: number;
  written: number;
  response: number;
  first: number;
  p50: number;
  p99: number;
  last: number;
}

export interface WatchBreakdown {
  median: WatchSteps;
  /** The bid whose own p99 arrival was the latest (a whole bid's 5,000 deliveries move the round's p99). */
  worst: WatchSteps;
  /** Bids with server pings arriving between bid.placed and their last delivery (ws answers each with a pong), and the most pings one such bid saw. */
  bidsDuringPings: number;
  mostPingsInABid: number;
  server: { cpuMsPerBid: number; eluActiveMsPerBid: number; sockets: number; bytes: number };
  /** Per watcher process. */
  watchers: { sockets: number; cpuMsPerBid: number; eluActiveMsPerBid: number; pings: number }[];
}

export interface WatchResult {
  watchers: number;
  bids: number;
  deliveries: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  /** Watcher processes holding the sockets. */
  procs: number;
  breakdown?: WatchBreakdown;
}

const PRICE_RE = /data-testid="current-price">([^<]+)</;
const MIN_RE = /name="amount" value="(\d+)"/;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Whose turn it is, across rounds: the same bidder twice in a row would raise their own maximum (no new price).
let turn = 0;

type Ask = <T>(msg: unknown, pick: (m: any) => boolean, ms?: number) => Promise<T>;

type Collected = { arrivals: Record<string, number[]>; sockets: number; stats: WatcherStats };

export async function measureWatchers(
  watchers: number,
  auctionId: number,
  bidders: Bidder[],
  procs: Ask[],
  bids: number,
  gapMs: number,
  server?: Ask,
): Promise<WatchResult> {
  await Promise.all(procs.map((ask) => ask('collect', (m) => 'arrivals' in m))); // drop anything before this round
  if (server) await server({ traceStart: auctionId }, (m) => m.ack === 'trace-start');
  const acceptedAt = new Map<number, number>();
  for (let i = 0; i < bids; i++) {
    const b = bidders[turn++ % bidders.length];
    // The bidder's own panel: the one a bid answers with is the leader's (a raise-maximum form, no next minimum).
    const own = await b.client.request('GET', `/items/${auctionId}/bid-panel`);
    const min = Number(MIN_RE.exec(own.body)?.[1]);
    if (!min) throw new Error('no minimum bid in the panel');
    const panel = await b.client.request(
      'POST',
      `/items/${auctionId}/bids`,
      { amount: String(min), requestKey: randomUUID() },
      { 'hx-request': 'true' },
    );
    const t = now();
    if (panel.status !== 200) throw new Error(`watched auction bid refused: HTTP ${panel.status}`);
    const price = Number(PRICE_RE.exec(panel.body)?.[1].replace(/[^\d]/g, ''));
    acceptedAt.set(price, t);
    await sleep(gapMs);
  }
  await sleep(1500);
  const trace = server ? (await server<{ trace: PushTrace }>('trace-stop', (m) => 'trace' in m)).trace : null;
  const got = await Promise.all(procs.map((ask) => ask<Collected>('collect', (m) => 'arrivals' in m)));
  const sockets = got.reduce((n, g) => n + g.sockets, 0);
  const arrivalsOf = (price: number) => got.flatMap((g) => g.arrivals[String(price)] ?? []);
  const lat: number[] = [];
  for (const [price, at] of acceptedAt) for (const t of arrivalsOf(price)) lat.push(t - at);
  lat.sort((a, b) => a - b);
  const pct = (q: number) => pctOf(lat, q);
  return {
    watchers: sockets,
    bids: acceptedAt.size,
    deliveries: lat.length,
    expected: sockets * acceptedAt.size,
    p50: pct(0.5),
    p99: pct(0.99),
    max: lat[lat.length - 1] ?? NaN,
    procs: procs.length,
    breakdown: trace ? breakdown(trace, acceptedAt, arrivalsOf, got) : undefined,
  };
}

const pctOf = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

function breakdown(
  trace: PushTrace,
  acceptedAt: Map<number, number>,
  arrivalsOf: (price: number) => number[],
  got: Collected[],
): WatchBreakdown {
  const rows: WatchSteps[] = [];
  const pingTimes = got.flatMap((g) => g.stats.pingTimes);
  let bidsDuringPings = 0;
  let mostPingsInABid = 0;
  for (const b of trace.bids) {
    const at = acceptedAt.get(b.price);
    if (at === undefined) continue;
    const arr = arrivalsOf(b.price).sort((x, y) => x - y);
    const from = (t: number | undefined) => (t === undefined ? NaN : t - at);
    rows.push({
      event: from(b.event),
      publish: from(b.publish),
      rendered: from(b.rendered),
      written: from(b.written),
      response: from(b.response),
      first: from(arr[0]),
      p50: from(pctOf(arr, 0.5)),
      p99: from(pctOf(arr, 0.99)),
      last: from(arr[arr.length - 1]),
    });
    const [lo, hi] = [b.event, arr[arr.length - 1] ?? b.event];
    const inside = pingTimes.filter((p) => p >= lo && p <= hi).length;
    if (inside) bidsDuringPings++;
    mostPingsInABid = Math.max(mostPingsInABid, inside);
  }
  const keys = Object.keys(rows[0] ?? {}) as (keyof WatchSteps)[];
  const median = Object.fromEntries(
    keys.map((k) => [
      k,
      pctOf(
        rows.map((r) => r[k]).sort((x, y) => x - y),
        0.5,
      ),
    ]),
  ) as unknown as WatchSteps;
  const worst = rows.reduce((w, r) => (r.p99 > w.p99 ? r : w), rows[0]);
  const n = Math.max(1, trace.bids.length);
  return {
    median,
    worst,
    bidsDuringPings,
    mostPingsInABid,
    server: {
      cpuMsPerBid: trace.cpuMs / n,
      eluActiveMsPerBid: trace.eluActiveMs / n,
      sockets: trace.sockets,
      bytes: trace.bytes,
    },
    watchers: got.map((g) => ({
      sockets: g.sockets,
      cpuMsPerBid: g.stats.cpuMs / n,
      eluActiveMsPerBid: g.stats.eluActiveMs / n,
      pings: g.stats.pings,
    })),
  };
}

/**
 * Watcher processes (BENCH_WATCHER_PROCS, default 1): the sockets are dealt out evenly between
 * them, each from its own loopback block; every socket's every delivery is counted.
 */
export const WATCHER_PROCS = Math.max(1, Math.min(4, Number(process.env.BENCH_WATCHER_PROCS ?? 1)));

/** 1,000 then 5,000 watchers on one auction, 15 bids each 300 ms apart; optionally a profiled round after. */
export async function runWatchers(o: {
  procs: Ask[];
  server: Ask;
  port: number;
  auctionId: number;
  bidders: Bidder[];
  profile: boolean;
  log: (m: string) => void;
}): Promise<WatchResult[]> {
  const k = o.procs.length;
  o.log(
    `WebSocket watchers (${k} child process${k > 1 ? 'es' : ''}): 1,000 then 5,000 on one auction; 15 bids each, 300 ms apart`,
  );
  await Promise.all(o.procs.map((ask) => ask(null, (m) => 'ready' in m, 30_000)));
  const out: WatchResult[] = [];
  for (const [n, add, block] of [
    [1000, 1000, 21],
    [5000, 4000, 22],
  ] as const) {
    const conns = await Promise.all(
      o.procs.map((ask, i) =>
        ask<{ connected: number; failed: number; ms: number }>(
          // Process i's share, from its own loopback block (the app limits /ws connects per address).
          {
            connect: Math.floor(add / k) + (i < add % k ? 1 : 0),
            port: o.port,
            auctionId: o.auctionId,
            block: block + 2 * i,
          },
          (m) => 'connected' in m,
          180_000,
        ),
      ),
    );
    const connected = conns.reduce((s, c) => s + c.connected, 0);
    const failed = conns.reduce((s, c) => s + c.failed, 0);
    const ms = Math.max(...conns.map((c) => c.ms));
    o.log(`  ${n} watchers: +${connected} connected (${failed} failed) in ${(ms / 1000).toFixed(1)}s`);
    out.push(await measureWatchers(n, o.auctionId, o.bidders, o.procs, 15, 300, o.server));
  }
  if (o.profile) {
    o.log('  profiled round: 5 more bids to the 5,000 watchers with the server and every watcher process profiled');
    await o.server('prof-start', (m) => m.ack === 'prof-start');
    await Promise.all(o.procs.map((ask) => ask('prof-start', (m) => m.ack === 'prof-start')));
    const r = await measureWatchers(5000, o.auctionId, o.bidders, o.procs, 5, 300, o.server);
    const { profile } = await o.server<{ profile: ProfileSummary }>('prof-stop', (m) => 'profile' in m);
    const wp = await Promise.all(
      o.procs.map((ask) => ask<{ profile: ProfileSummary }>('prof-stop', (m) => 'profile' in m)),
    );
    console.log(
      `\n== profiled watchers round (not counted above): p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms ==`,
    );
    for (const [name, p] of [
      ['server', profile],
      ...wp.map((w, i) => [`watcher process ${i + 1}`, w.profile] as const),
    ] as const) {
      console.log(`${name}: ${p.samples} samples over ${p.seconds.toFixed(1)} s; by package:`);
      for (const [l, s] of p.byPackage.slice(0, 8)) console.log(`  ${(s * 100).toFixed(1).padStart(5)}%  ${l}`);
      console.log('  top functions by self time:');
      for (const [l, s] of p.topFunctions.slice(0, 12)) console.log(`  ${(s * 100).toFixed(1).padStart(5)}%  ${l}`);
    }
  }
  return out;
}

export function printWatchers(watch: WatchResult[]): void {
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const k = watch[0]?.procs ?? 1;
  console.log(
    `\n== bid accepted (HTTP response received) -> price fragment received by every watcher (${k} watcher process${k > 1 ? 'es' : ''}) ==`,
  );
  console.log('| watchers | bids | deliveries (expected) | p50 ms | p99 ms | max ms | target p99 | result |');
  console.log('|----------|------|-----------------------|--------|--------|--------|------------|--------|');
  for (const w of watch) {
    console.log(
      `| ${f(w.watchers).padStart(8)} | ${String(w.bids).padStart(4)} | ${`${f(w.deliveries)} (${f(w.expected)})`.padStart(21)} | ${f(w.p50, 1).padStart(6)} | ${f(w.p99, 1).padStart(6)} | ${f(w.max, 1).padStart(6)} | ${(w.watchers === 5000 ? '< 100' : '').padEnd(10)} | ${(w.watchers === 5000 ? (w.p99 < 100 && w.deliveries === w.expected ? 'met' : 'short') : '').padEnd(6)} |`,
    );
  }
  if (!watch.some((w) => w.breakdown)) return;
  console.log(
    "\nwhere the time goes, ms from the bid's HTTP response received (0; negative: before it), per bid: median of the 15 bids, and the bid with the latest p99",
  );
  console.log(
    "(server: bid.placed heard -> push reads done (publish) -> first render -> last socket written; the bid's response finished; watchers: first / p50 / p99 / last arrival)",
  );
  console.log(
    '| watchers | bid    | event | publish | rendered | written | response | first | p50   | p99   | last  |',
  );
  console.log(
    '|----------|--------|-------|---------|----------|---------|----------|-------|-------|-------|-------|',
  );
  const c = (x: number, w: number) => (Number.isFinite(x) ? f(x, 1) : '-').padStart(w);
  for (const w of watch) {
    if (!w.breakdown) continue;
    for (const [label, s] of [
      ['median', w.breakdown.median],
      ['worst', w.breakdown.worst],
    ] as const)
      console.log(
        `| ${f(w.watchers).padStart(8)} | ${label.padEnd(6)} | ${c(s.event, 5)} | ${c(s.publish, 7)} | ${c(s.rendered, 8)} | ${c(s.written, 7)} | ${c(s.response, 8)} | ${c(s.first, 5)} | ${c(s.p50, 5)} | ${c(s.p99, 5)} | ${c(s.last, 5)} |`,
      );
  }
  for (const w of watch) {
    const b = w.breakdown;
    if (!b) continue;
    console.log(
      `${f(w.watchers)} watchers: server ${f(b.server.cpuMsPerBid, 1)} ms CPU per bid (event loop busy ${f(b.server.eluActiveMsPerBid, 1)} ms), push of ${f(b.server.bytes)} bytes to ${f(b.server.sockets)} sockets; ` +
        b.watchers
          .map(
            (x, i) =>
              `watcher process ${i + 1} (${f(x.sockets)} sockets): ${f(x.cpuMsPerBid, 1)} ms CPU per bid (busy ${f(x.eluActiveMsPerBid, 1)} ms), ${f(x.pings)} pings`,
          )
          .join('; ') +
        `; bids with pings arriving during their deliveries: ${b.bidsDuringPings} (most in one bid: ${f(b.mostPingsInABid)})`,
    );
  }
}
