/**
 * A bench's app process: the real app (buildApp, logger off) configured from the environment the
 * runner passes, in the role it names, as production runs them (deploy/systemd): ROLE=web listens
 * on 127.0.0.1 and starts no queue worker; ROLE=worker listens nowhere and runs the BullMQ workers,
 * the outbox relay and the periodic tasks; ROLE=all does both in one process. IPC with the runner:
 *   -> { ready: port }            once listening (0: ROLE=worker, once its workers run)
 *   <- 'cpu'                      -> { cpu: { ms, wallMs } } this process's CPU time (user + system)
 *                                 and a wall clock reading, both since it started: the runner takes
 *                                 the difference of two around a storm
 *   <- 'prof-start' / 'prof-stop' CPU profile of this process between the two (node:inspector),
 *   -> { profile: Summary }       summarised (self time by function and by package), with the
 *                                 process's CPU time (cpuMs) over the wall time (wallMs) in between
 *   <- 'count-start' / 'count-stop' counts PostgreSQL round trips and statements (pg client queries) in between
 *   <- { traceStart: auctionId } / 'trace-stop'  times that auction's pushes in between (push-trace.ts)
 *   -> { trace: PushTrace }
 *   <- 'stop'                     closes the app and exits
 */
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/app.js';
import { summariseProfile, type CpuProfile } from './profile.js';
import { installPushTrace } from './push-trace.js';

// Round trips to PostgreSQL: every statement goes through Client#query (Prisma's pg adapter and
// core/db sqlTransaction alike). A statement sent while another is still unanswered on a client in
// pipeline mode (sqlTransaction) travels with it: it is counted as a statement, not a round trip.
let queries = 0;
let statements = 0;
let counting = false;
const origQuery = pg.Client.prototype.query;
const inFlight = new WeakMap<pg.Client, number>();
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const pipelined = (this as pg.Client & { pipeline?: boolean }).pipeline === true && (inFlight.get(this) ?? 0) > 0;
  if (counting) {
    statements++;
    if (!pipelined) queries++;
  }
  const out = (origQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (out instanceof Promise) {
    inFlight.set(this, (inFlight.get(this) ?? 0) + 1);
    const done = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
    out.then(done, done);
  }
  return out;
} as typeof origQuery;

const config = loadConfig(process.env);
const app = await buildApp(config, { logger: false });
let port = 0;
if (config.role === 'worker') await app.ready();
else {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
}

const pushTrace = installPushTrace(app);
const session = new Session();
session.connect();
const send = (m: unknown) => process.send?.(m);

// CPU this process used between prof-start and prof-stop (user + system), beside the wall time:
// Node runs the app's JavaScript on one core, so cpu/wall near 1 means the server is the floor.
let cpuAt = process.cpuUsage();
let wallAt = performance.now();

process.on('message', async (msg: string | { traceStart: number }) => {
  try {
    if (msg === 'cpu') {
      const used = process.cpuUsage();
      send({ cpu: { ms: (used.user + used.system) / 1000, wallMs: performance.now() } });
    } else if (typeof msg === 'object' && 'traceStart' in msg) {
      pushTrace.start(msg.traceStart);
      send({ ack: 'trace-start' });
    } else if (msg === 'trace-stop') {
      send({ trace: pushTrace.stop() });
    } else if (msg === 'prof-start') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
      cpuAt = process.cpuUsage();
      wallAt = performance.now();
      send({ ack: msg });
    } else if (msg === 'prof-stop') {
      const used = process.cpuUsage(cpuAt);
      const wallMs = performance.now() - wallAt;
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      send({ profile: { ...summariseProfile(profile), cpuMs: (used.user + used.system) / 1000, wallMs } });
    } else if (msg === 'count-start') {
      queries = 0;
      statements = 0;
      counting = true;
      send({ ack: msg });
    } else if (msg === 'count-stop') {
      counting = false;
      send({ queries, statements });
    } else if (msg === 'stop') {
      session.disconnect();
      await app.close();
      process.exit(0);
    }
  } catch (err) {
    send({ error: String(err) });
  }
});
send({ ready: port });
