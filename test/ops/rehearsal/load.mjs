// Bounded HTTPS load for the rehearsal: `concurrency` loops of GETs against the load balancer for
// `duration` seconds (and at most `max` requests). Prints one JSON summary: statuses, transport
// errors, responses that named a node (shoppers' responses must not), and a per-second timeline.
// With --probe-url (the load balancer's admin listener), one more loop asks /readyz there every
// --probe-ms: which node answered (X-Dapanda-Node) and its release (the JSON) go into the timeline.
//   node load.mjs --url https://10.77.0.10 --ca cert.pem --servername dapanda.local \
//     --duration 30 --concurrency 8 --max 100000 --paths /,/slow?ms=300 --probe-url https://10.77.0.10:8443
import https from 'node:https';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string', default: 'dapanda.local' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    max: { type: 'string', default: '200000' },
    paths: { type: 'string', default: '/' },
    'probe-url': { type: 'string' },
    'probe-ms': { type: 'string', default: '100' },
    ips: { type: 'string', default: '' },
  },
});
const duration = Math.min(Number(o.duration), 300) * 1000;
const max = Number(o.max);
const paths = o.paths.split(',');
const ca = fs.readFileSync(o.ca);
// Shoppers come from many addresses (--ips, each loop its own): the app's per-IP rate limit (600/min)
// would otherwise answer most of the load with 429 before it reaches anything worth testing.
const ips = o.ips.split(',').filter(Boolean);
const agents = (ips.length ? ips : [undefined]).map(
  (localAddress) => new https.Agent({ keepAlive: true, ca, servername: o.servername, localAddress }),
);
const start = Date.now();
const s = {
  requests: 0,
  reusedSocketRetries: 0,
  status: {},
  errors: {},
  identified: 0,
  nodes: {},
  versions: {},
  timeline: [],
  latencyMs: [],
};
const probe = { requests: 0, status: {}, errors: {} };
// When each transport error happened (wall clock, ms): the rehearsal tells a response cut by its own
// SIGKILL of a node from any other failure.
const errorLog = [];
const logError = (code, path) => {
  if (errorLog.length < 100) errorLog.push({ code, path, at: Date.now() });
};

// A keep-alive socket the server closed while our next request was on its way fails before any
// response byte. Browsers retry that case for idempotent requests (RFC 9112 9.3.1) and so does this
// client, once and only for reused sockets (Node's documented reusedSocket pattern); every retry is
// counted and reported, a failure on a fresh socket is an error.
async function once(path, via) {
  const r = await attempt(path, via);
  if (r.error && r.reused && ['ECONNRESET', 'EPIPE'].includes(r.error)) {
    s.reusedSocketRetries++;
    // On a new connection, as browsers do (another idle socket may be stale too).
    return attempt(
      path,
      new https.Agent({ keepAlive: false, ca, servername: o.servername, localAddress: via.options.localAddress }),
    );
  }
  return r;
}

function attempt(path, via, base = o.url) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = https.get(
      new URL(path, base),
      { agent: via, headers: { host: o.servername }, timeout: 20000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          let version;
          try {
            version = base === o.url ? undefined : JSON.parse(Buffer.concat(chunks).toString()).version;
          } catch {
            /* not JSON */
          }
          const identified = Object.keys(res.headers).some((h) => h.startsWith('x-dapanda-'));
          resolve({
            status: res.statusCode,
            node: res.headers['x-dapanda-node'],
            version,
            identified,
            ms: Date.now() - t0,
          });
        });
      },
    );
    // A response cut after its headers (a node killed mid-body) is a transport error too.
    req.on('response', (res) =>
      res
        .on('aborted', () => resolve({ error: 'EABORTED', reused: req.reusedSocket, ms: Date.now() - t0 }))
        .on('error', () => {}),
    );
    req.on('timeout', () => req.destroy(new Error('ETIMEOUT')));
    req.on('error', (e) => resolve({ error: e.code ?? e.message, reused: req.reusedSocket, ms: Date.now() - t0 }));
  });
}

async function loop(i) {
  let n = i;
  const via = agents[i % agents.length];
  while (Date.now() - start < duration && s.requests < max) {
    s.requests++;
    const r = await once(paths[n++ % paths.length], via);
    const sec = Math.floor((Date.now() - start) / 1000);
    const b = (s.timeline[sec] ??= { s: sec, ok: 0, e5xx: 0, err: 0, nodes: {} });
    s.latencyMs.push(r.ms);
    if (r.error) {
      s.errors[r.error] = (s.errors[r.error] ?? 0) + 1;
      b.err++;
      logError(r.error, paths[(n - 1) % paths.length]);
      continue;
    }
    s.status[r.status] = (s.status[r.status] ?? 0) + 1;
    if (r.status >= 500) b.e5xx++;
    else b.ok++;
    if (r.identified) s.identified++;
  }
}

// The operator's view, beside the shoppers' load: which node and release /readyz reports right now.
async function probeLoop() {
  const probeAgent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: o.servername });
  while (Date.now() - start < duration) {
    probe.requests++;
    const r = await attempt('/readyz', probeAgent, o['probe-url']);
    const sec = Math.floor((Date.now() - start) / 1000);
    const b = (s.timeline[sec] ??= { s: sec, ok: 0, e5xx: 0, err: 0, nodes: {} });
    if (r.error) {
      probe.errors[r.error] = (probe.errors[r.error] ?? 0) + 1;
      b.err++;
      logError(r.error, 'probe /readyz');
    } else probe.status[r.status] = (probe.status[r.status] ?? 0) + 1;
    if (r.node) {
      s.nodes[r.node] = (s.nodes[r.node] ?? 0) + 1;
      b.nodes[r.node] = (b.nodes[r.node] ?? 0) + 1;
    }
    if (r.version) s.versions[r.version] = (s.versions[r.version] ?? 0) + 1;
    await new Promise((res) => setTimeout(res, Number(o['probe-ms'])));
  }
  probeAgent.destroy();
}

// Every request has its own 20 s timeout; this bounds the whole run even if one never settles.
const hung = await Promise.race([
  Promise.all([
    ...Array.from({ length: Number(o.concurrency) }, (_, i) => loop(i)),
    ...(o['probe-url'] ? [probeLoop()] : []),
  ]).then(() => false),
  new Promise((r) => setTimeout(() => r(true), duration + 25_000)),
]);
for (const a of agents) a.destroy();
const lat = s.latencyMs.sort((a, b) => a - b);
const summary = {
  requests: s.requests,
  seconds: (Date.now() - start) / 1000,
  status: s.status,
  errors: s.errors,
  reusedSocketRetries: s.reusedSocketRetries,
  count5xx: Object.entries(s.status)
    .filter(([k]) => Number(k) >= 500)
    .reduce((a, [, v]) => a + v, 0),
  identified: s.identified,
  hung,
  errorLog,
  probe,
  nodes: s.nodes,
  versions: s.versions,
  p99ms: lat[Math.floor(lat.length * 0.99)] ?? null,
  timeline: s.timeline.filter(Boolean).map(
    (b) =>
      `${b.s}s:${Object.entries(b.nodes)
        .map(([k, v]) => `${k}=${v}`)
        .join('/')}${b.e5xx ? ` 5xx=${b.e5xx}` : ''}${b.err ? ` err=${b.err}` : ''}`,
  ),
};
console.log(JSON.stringify(summary));
process.exit(0);
