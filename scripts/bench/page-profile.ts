/**
 * One page under load, in-process, with what it costs: `npx tsx scripts/bench/page-profile.ts [seconds] [connections]`.
 * Makes a scratch database (bench setup), builds the app (production, logger off), logs one user in,
 * places PAGE_PROFILE_BIDS (40) bids on the item from that user and a rival (the page then shows a
 * full history and a chart, as the bench's item does after its storms), then runs autocannon on the logged-in /items/:id (and PAGE_PROFILE_ANON=1: the anonymous one) while
 * counting PostgreSQL statements and Redis commands per request and taking a CPU profile
 * (summarised as the bench does; the raw profiles in .data/page-<run>.cpuprofile for a viewer).
 * autocannon runs in a child process, so the profile and the CPU time per request are the app's
 * alone (in-process, the load generator took 15-20 % of the samples and half the CPU time).
 */
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { scratchDatabase, dropDatabase, makeUsers, makeAuctions, createDb, PASSWORD } from './setup.js';
import { UserClient } from './client.js';
import { summariseProfile, type CpuProfile } from './profile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.argv[2] ?? 5);
const CONNECTIONS = Number(process.argv[3] ?? 50);
let queries = 0;
const origQuery = pg.Client.prototype.query;
const logged: string[] = [];
let logging = false;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  if (logging) {
    const a = args[0] as string | { text?: string };
    logged.push(
      `${(performance.now() % 100000).toFixed(1)} ${(typeof a === 'string' ? a : (a?.text ?? '')).replace(/\s+/g, ' ').slice(0, 160)}`,
    );
  }
  return (origQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof origQuery;

const redisPrefix = `pprof_${randomUUID().slice(0, 8)}`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const databaseUrl = await scratchDatabase(process.env.BENCH_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432', ROOT);
const db = createDb(databaseUrl, 5);
Object.assign(process.env, {
  NODE_ENV: 'production',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  ROLE: 'all',
  DATABASE_URL: databaseUrl,
  REDIS_PREFIX: redisPrefix,
  SESSION_SECRET: randomUUID() + randomUUID(),
  LOG_LEVEL: 'silent',
  PUBLIC_URL: 'http://127.0.0.1',
  STORAGE_DIR: path.join(ROOT, '.data', 'bench-storage'),
  METRICS_PORT: '0',
  RATE_LIMIT_MAX: '10000000',
});
const { loadConfig } = await import('../../src/config.js');
const { buildApp } = await import('../../src/app.js');
const app = await buildApp(loadConfig(process.env), { logger: false });
let redisCmds = 0;
const origSend = (app.redis as unknown as { sendCommand: (...a: unknown[]) => unknown }).sendCommand;
(app.redis as unknown as { sendCommand: (...a: unknown[]) => unknown }).sendCommand = function (...a: unknown[]) {
  redisCmds++;
  return origSend.apply(this, a);
};
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
try {
  const [seller] = await makeUsers(db, redis, redisPrefix, 1, 0, 's');
  const [viewer] = await makeUsers(db, redis, redisPrefix, 1, 1_000_000, 'v');
  const [item] = await makeAuctions(db, seller.id, Number(process.env.PAGE_PROFILE_AUCTIONS ?? 3), 10_000);
  const c = new UserClient(port, '127.0.0.1');
  await c.login(viewer.email, PASSWORD);
  // Bids on the item from the viewer and a rival in turn (PAGE_PROFILE_BIDS, default 40), so its page
  // shows what the bench's item shows after the storms: a full history (30 rows, some the viewer's) and a chart.
  const BIDS = Number(process.env.PAGE_PROFILE_BIDS ?? 40);
  if (BIDS > 0) {
    const [rival] = await makeUsers(db, redis, redisPrefix, 1, 1_000_000, 'r');
    const r = new UserClient(port, '127.0.0.1');
    await r.login(rival.email, PASSWORD);
    for (const who of [c, r]) await who.request('GET', `/items/${item}`); // each one's CSRF token
    for (let i = 0; i < BIDS; i++) {
      const res = await (i % 2 ? r : c).request(
        'POST',
        `/items/${item}/bids`,
        { amount: String(10_000 + (i + 1) * 1_000), requestKey: randomUUID() },
        { 'hx-request': 'true' },
      );
      if (res.status !== 200) throw new Error(`bid ${i + 1}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    }
    r.close();
  }
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const one = await c.request('GET', `/items/${item}`);
  if (one.status !== 200 || !one.body.includes('/logout')) throw new Error(`logged-in page: ${one.status}`);
  if (process.env.PAGE_PROFILE_DUMP) writeFileSync(process.env.PAGE_PROFILE_DUMP, one.body);
  logging = true;
  await c.request('GET', `/items/${item}`);
  logging = false;
  if (process.env.PAGE_PROFILE_SQL) console.log(logged.join('\n'));
  // One at a time: the latency of a lone request (no queueing behind the others), and what it costs.
  queries = 0;
  redisCmds = 0;
  const seq = new Session();
  seq.connect();
  await seq.post('Profiler.enable');
  await seq.post('Profiler.setSamplingInterval', { interval: 100 });
  await seq.post('Profiler.start');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 200; i++) await c.request('GET', `/items/${item}`);
  const cpu = process.cpuUsage(cpu0);
  const { profile: seqProfile } = (await seq.post('Profiler.stop')) as { profile: CpuProfile };
  seq.disconnect();
  mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  writeFileSync(path.join(ROOT, '.data', 'page-sequential.cpuprofile'), JSON.stringify(seqProfile));
  console.log(
    `sequential logged-in: ${((performance.now() - t0) / 200).toFixed(1)} ms/request, CPU ${((cpu.user + cpu.system) / 200000).toFixed(1)} ms/request (this process: app + client), ${one.body.length} chars, ${(queries / 200).toFixed(1)} statements, ${(redisCmds / 200).toFixed(1)} Redis commands per request`,
  );
  /** autocannon in its own process (its JSON result): nothing of the load generator in this process's profile. */
  const run = (headers: Record<string, string>, seconds: number) =>
    new Promise<{
      requests: { average: number; total: number };
      latency: { p50: number; p99: number };
      non2xx: number;
    }>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          path.join(ROOT, 'node_modules/autocannon/autocannon.js'),
          '-j',
          '-c',
          String(CONNECTIONS),
          '-d',
          String(seconds),
          ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
          `http://127.0.0.1:${port}${process.env.PAGE_PROFILE_PATH ?? `/items/${item}`}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
        (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))),
      ),
    );
  // PAGE_PROFILE_ACCEPT_ENCODING: the Accept-Encoding every request sends (a browser's: 'gzip, deflate, br, zstd').
  const accept: Record<string, string> = process.env.PAGE_PROFILE_ACCEPT_ENCODING
    ? { 'accept-encoding': process.env.PAGE_PROFILE_ACCEPT_ENCODING }
    : {};
  for (const [name, headers] of [
    ...(process.env.PAGE_PROFILE_ANON ? [['anonymous', { ...accept }] as const] : []),
    ['logged-in', { ...accept, cookie }] as const,
  ]) {
    await run(headers, 2); // warm-up: JIT, caches
    // Unprofiled first: the app's CPU per request without the profiler's overhead.
    const plainAt = process.cpuUsage();
    const plain = await run(headers, SECONDS);
    const plainCpu = process.cpuUsage(plainAt);
    console.log(
      `\n== ${name}, no profiler: ${plain.requests.average} req/s, p50 ${plain.latency.p50} p99 ${plain.latency.p99} ms; ${((plainCpu.user + plainCpu.system) / 1000 / (plain.requests.total || 1)).toFixed(3)} ms of the app's CPU per request`,
    );
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    queries = 0;
    redisCmds = 0;
    const cpuAt = process.cpuUsage();
    const r = await run(headers, SECONDS);
    const used = process.cpuUsage(cpuAt);
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    session.disconnect();
    mkdirSync(path.join(ROOT, '.data'), { recursive: true });
    writeFileSync(path.join(ROOT, '.data', `page-${name}.cpuprofile`), JSON.stringify(profile));
    const n = r.requests.total || 1;
    const s = summariseProfile(profile);
    console.log(
      `\n== ${name} ${process.env.PAGE_PROFILE_PATH ?? `/items/${item}`}: ${r.requests.average} req/s, p50 ${r.latency.p50} p99 ${r.latency.p99} ms, non2xx ${r.non2xx}; per request: ${((used.user + used.system) / 1000 / n).toFixed(3)} ms of the app's CPU (profiler on), ${(queries / n).toFixed(2)} PostgreSQL statements, ${(redisCmds / n).toFixed(2)} Redis commands`,
    );
    for (const [l, v] of s.byPackage.slice(0, 15)) console.log(`  ${(v * 100).toFixed(1).padStart(5)}%  ${l}`);
    console.log('  top functions:');
    for (const [l, v] of s.topFunctions.slice(0, 25)) console.log(`  ${(v * 100).toFixed(1).padStart(5)}%  ${l}`);
  }
  c.close();
} finally {
  await app.close();
  await db.$disconnect();
  await dropDatabase(databaseUrl).catch(() => {});
  const keys = await redis.keys(`${redisPrefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}
