/**
 * Page scenarios of `npm run bench`: autocannon (keep-alive connections from 127.0.0.1, the same
 * count for every scenario) against Fastify's hello-world and the app's pages, each for
 * BENCH_PAGE_SECONDS after a one-second warm-up. A scenario's ratio is its req/s over
 * hello-world's in this run: the mean of the hello-world measures just before and just after that
 * scenario (run.ts measures hello-world after every page), so a change in the machine's speed
 * during the run moves both sides of each ratio, and shows as the spread of the hello-world measures.
 */
import autocannon from 'autocannon';

export interface PageResult {
  name: string;
  path: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Bytes the load generator read per response (headers and body, as sent: compressed or not). */
  bytesPerResponse: number;
  /** Responses by status class other than 2xx (and 304), and socket errors/timeouts. */
  non2xx: number;
  statuses: Record<string, number>;
  errors: number;
}

export async function measure(
  name: string,
  port: number,
  path: string,
  o: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<PageResult> {
  const run = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}${path}`,
      connections: o.connections,
      duration,
      headers: o.headers ?? {},
      timeout: 10,
    });
  await run(1); // warm-up: JIT, template caches, the connections' first requests
  const r = await run(o.seconds);
  const statuses: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = (v as { count: number }).count;
  const ok = Object.entries(statuses)
    .filter(([c]) => c.startsWith('2') || c === '304')
    .reduce((s, [, n]) => s + n, 0);
  const total = Object.values(statuses).reduce((s, n) => s + n, 0);
  return {
    name,
    path,
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: total,
    bytesPerResponse: total ? r.throughput.total / total : 0,
    non2xx: total - ok,
    statuses,
    errors: r.errors + r.timeouts,
  };
}

export interface PageTarget {
  result: PageResult;
  /** Hello-world's req/s this row's ratio is to (the mean of the measures just before and after it). */
  base?: number;
  /** The worker's CPU over the row's measure, in cores (background work sharing the machine with it). */
  workerCores?: number | null;
  /** No target: a row for information (its ratio printed, no met/short). */
  minRatio?: number;
  maxP99?: number;
}

export function printPages(hello: PageResult[], rows: PageTarget[], connections: number, seconds: number): void {
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const mean = hello.reduce((s, h) => s + h.rps, 0) / hello.length;
  console.log('\n== pages vs Fastify hello-world (same machine, same run, same load generator) ==');
  console.log(
    `autocannon -c ${connections} -d ${seconds} (after a 1 s warm-up) from 127.0.0.1, keep-alive, Accept-Encoding of a browser unless "no compression"; hello-world before the first page and after each: ${hello.map((h) => f(h.rps)).join(' / ')} req/s (p99 ${f(Math.max(...hello.map((h) => h.p99)))} ms at most); a page's ratio is to the mean of the two measures around it (the "hello" column)`,
  );
  const row = (p: PageTarget, base: number, ratio: string, target: string, result: string) => {
    const r = p.result;
    const worker = p.workerCores === undefined || p.workerCores === null ? '-' : p.workerCores.toFixed(2);
    console.log(
      `| ${r.name.padEnd(43)} | ${f(r.rps).padStart(8)} | ${`${f(r.p50)} / ${f(r.p99)}`.padStart(13)} | ${f(r.bytesPerResponse / 1024, 1).padStart(7)} | ${String(r.non2xx).padStart(7)} | ${String(r.errors).padStart(6)} | ${worker.padStart(6)} | ${f(base).padStart(7)} | ${ratio.padStart(6)} | ${target.padEnd(21)} | ${result.padEnd(6)} |`,
    );
  };
  console.log(
    `| ${'scenario'.padEnd(43)} | req/s    | p50 / p99 ms  | KB/resp | non-2xx | errors | worker | hello   | ratio  | target                | result |`,
  );
  console.log(
    `|${'-'.repeat(45)}|----------|---------------|---------|---------|--------|--------|---------|--------|-----------------------|--------|`,
  );
  for (const p of rows) {
    const { result: r, base = mean, minRatio, maxP99 } = p;
    const ratio = r.rps / base;
    if (minRatio === undefined) {
      row(p, base, ratio.toFixed(3), '(information)', '');
      continue;
    }
    const met = ratio >= minRatio && (maxP99 === undefined || r.p99 < maxP99) && r.non2xx === 0 && r.errors === 0;
    const target = `>= ${minRatio}${maxP99 !== undefined ? `, p99 < ${maxP99} ms` : ''}`;
    row(p, base, ratio.toFixed(3), target, met ? 'met' : 'short');
    if (r.non2xx) console.log(`  ${r.name}: statuses ${JSON.stringify(r.statuses)}`);
  }
}
