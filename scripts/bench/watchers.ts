/**
 * The bench's watcher process: WebSocket clients (the `ws` package) subscribed to one auction's
 * topic, as the item page's htmx ws extension is. Runs apart from the runner so that thousands of
 * sockets do not starve the client that measures. IPC:
 *   <- { connect: n, port, auctionId, block }  opens n more sockets (from 127.<block>.x.y, 40 per
 *                                              address: the app limits /ws connects per IP), waits
 *                                              for each one's snapshot; -> { connected, failed, ms }
 *   <- 'collect'  -> { arrivals: { [price]: number[] }, sockets, stats }  first arrival (epoch ms,
 *                                              sub-ms) of each price at each socket, since the last
 *                                              collect; stats: this process's CPU time, event-loop
 *                                              busy time and wall time since then, and the pings
 *                                              the server sent meanwhile (every socket is pinged on
 *                                              the server's interval, WS_PING_MS; ws answers each)
 *   <- 'prof-start' / 'prof-stop' -> { profile }  a CPU profile of this process in between, summarised
 *   <- 'stop'
 */
import { performance as perf } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import WebSocket from 'ws';
import { summariseProfile, type CpuProfile } from './profile.js';

// The price is found in the frame's bytes and only its few characters are decoded: decoding each
// whole fragment into a string (5,000 per bid) was a third of this process's CPU, and its garbage
// most of the rest, on the one thread that also times every other socket's arrival.
const PRICE_MARK = Buffer.from('data-testid="current-price">');
const LT = 0x3c; // '<'
const priceOf = (data: Buffer): number | null => {
  const at = data.indexOf(PRICE_MARK);
  if (at < 0) return null;
  const from = at + PRICE_MARK.length;
  const to = data.indexOf(LT, from);
  if (to < 0) return null;
  let n = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = data[i];
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
    }
  }
  return digits ? n : null;
};
const now = () => performance.timeOrigin + performance.now();
const sockets: WebSocket[] = [];
let arrivals = new Map<number, number[]>();
const send = (m: unknown) => process.send?.(m);
let pings: number[] = [];
let cpuAt = process.cpuUsage();
let eluAt = perf.eventLoopUtilization();
let wallAt = performance.now();
const session = new Session();

function open(port: number, auctionId: number, localAddress: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topics=auction:${auctionId}`, {
      localAddress,
      perMessageDeflate: false,
      handshakeTimeout: 20_000,
    });
    const seen = new Set<number>();
    let first = true;
    ws.on('message', (data: Buffer) => {
      const t = now();
      if (first) {
        first = false;
        resolve(true);
        return; // the snapshot sent on connect
      }
      const price = priceOf(data);
      if (price === null) return;
      if (seen.has(price)) return;
      seen.add(price);
      let list = arrivals.get(price);
      if (!list) arrivals.set(price, (list = []));
      list.push(t);
    });
    ws.on('ping', () => pings.push(now()));
    ws.on('error', () => resolve(false));
    ws.on('close', () => resolve(false));
    sockets.push(ws);
  });
}

process.on('message', async (msg: { connect: number; port: number; auctionId: number; block: number } | string) => {
  if (msg === 'collect') {
    const cpu = process.cpuUsage(cpuAt);
    const elu = perf.eventLoopUtilization(eluAt);
    send({
      arrivals: Object.fromEntries(arrivals),
      sockets: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
      stats: {
        cpuMs: (cpu.user + cpu.system) / 1000,
        eluActiveMs: elu.active,
        wallMs: performance.now() - wallAt,
        pings: pings.length,
        pingTimes: pings,
      },
    });
    arrivals = new Map();
    pings = [];
    cpuAt = process.cpuUsage();
    eluAt = perf.eventLoopUtilization();
    wallAt = performance.now();
  } else if (msg === 'prof-start') {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    send({ ack: msg });
  } else if (msg === 'prof-stop') {
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    session.disconnect();
    send({ profile: summariseProfile(profile) });
  } else if (msg === 'stop') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  } else if (typeof msg === 'object') {
    const t0 = performance.now();
    let connected = 0;
    let failed = 0;
    const base = sockets.length;
    for (let i = 0; i < msg.connect; i += 100) {
      const batch = Array.from({ length: Math.min(100, msg.connect - i) }, (_, j) => {
        const n = base + i + j;
        const addr = `127.${msg.block}.${Math.floor(n / 40 / 250)}.${(Math.floor(n / 40) % 250) + 1}`;
        return open(msg.port, msg.auctionId, addr);
      });
      for (const ok of await Promise.all(batch)) {
        if (ok) connected++;
        else failed++;
      }
    }
    send({ connected, failed, ms: performance.now() - t0 });
  }
});
send({ ready: true });
