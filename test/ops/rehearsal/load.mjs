// Bounded HTTPS load for the rehearsal: `concurrency` loops of GETs against the load balancer for
// `duration` seconds (and at most `max` requests). Prints one JSON summary: statuses, transport
// errors, which node and release answered, and a per-second timeline.
//   node load.mjs --url https://10.77.0.10 --ca cert.pem --servername dapanda.local \
//     --duration 30 --concurrency 8 --max 100000 --paths /,/slow?ms=300
import https from "node:https";
import fs from "node:fs";
import { parseArgs } from "node:util";

const { values: o } = parseArgs({
  options: {
    url: { type: "string" }, ca: { type: "string" }, servername: { type: "string", default: "dapanda.local" },
    duration: { type: "string", default: "10" }, concurrency: { type: "string", default: "8" },
    max: { type: "string", default: "200000" }, paths: { type: "string", default: "/" },
  },
});
const duration = Math.min(Number(o.duration), 300) * 1000;
const max = Number(o.max);
const paths = o.paths.split(",");
const agent = new https.Agent({ keepAlive: true, maxSockets: Number(o.concurrency), ca: fs.readFileSync(o.ca), servername: o.servername });
const start = Date.now();
const s = { requests: 0, reusedSocketRetries: 0, status: {}, errors: {}, nodes: {}, versions: {}, timeline: [], latencyMs: [] };

// A keep-alive socket the server closed while our next request was on its way fails before any
// response byte. Browsers retry that case for idempotent requests (RFC 9112 9.3.1) and so does this
// client, once and only for reused sockets (Node's documented reusedSocket pattern); every retry is
// counted and reported, a failure on a fresh socket is an error.
async function once(path) {
  const r = await attempt(path);
  if (r.error && r.reused && ["ECONNRESET", "EPIPE"].includes(r.error)) {
    s.reusedSocketRetries++;
    return attempt(path, true); // on a new connection, as browsers do (another idle socket may be stale too)
  }
  return r;
}

const freshAgent = () => new https.Agent({ keepAlive: false, ca: agent.options.ca, servername: o.servername });

function attempt(path, fresh = false) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = https.get(new URL(path, o.url), { agent: fresh ? freshAgent() : agent, headers: { host: o.servername }, timeout: 20000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, node: res.headers["x-dapanda-node"], version: res.headers["x-dapanda-version"], ms: Date.now() - t0 }));
    });
    req.on("timeout", () => req.destroy(new Error("ETIMEOUT")));
    req.on("error", (e) => resolve({ error: e.code ?? e.message, reused: req.reusedSocket, ms: Date.now() - t0 }));
  });
}

async function loop(i) {
  let n = i;
  while (Date.now() - start < duration && s.requests < max) {
    s.requests++;
    const r = await once(paths[n++ % paths.length]);
    const sec = Math.floor((Date.now() - start) / 1000);
    const b = (s.timeline[sec] ??= { s: sec, ok: 0, e5xx: 0, err: 0, nodes: {} });
    s.latencyMs.push(r.ms);
    if (r.error) { s.errors[r.error] = (s.errors[r.error] ?? 0) + 1; b.err++; continue; }
    s.status[r.status] = (s.status[r.status] ?? 0) + 1;
    if (r.status >= 500) b.e5xx++; else b.ok++;
    if (r.node) { s.nodes[r.node] = (s.nodes[r.node] ?? 0) + 1; b.nodes[r.node] = (b.nodes[r.node] ?? 0) + 1; }
    if (r.version) s.versions[r.version] = (s.versions[r.version] ?? 0) + 1;
  }
}

await Promise.all(Array.from({ length: Number(o.concurrency) }, (_, i) => loop(i)));
agent.destroy();
const lat = s.latencyMs.sort((a, b) => a - b);
const summary = {
  requests: s.requests,
  seconds: (Date.now() - start) / 1000,
  status: s.status,
  errors: s.errors,
  reusedSocketRetries: s.reusedSocketRetries,
  count5xx: Object.entries(s.status).filter(([k]) => Number(k) >= 500).reduce((a, [, v]) => a + v, 0),
  nodes: s.nodes,
  versions: s.versions,
  p99ms: lat[Math.floor(lat.length * 0.99)] ?? null,
  timeline: s.timeline.filter(Boolean).map((b) => `${b.s}s:${Object.entries(b.nodes).map(([k, v]) => `${k}=${v}`).join("/")}${b.e5xx ? ` 5xx=${b.e5xx}` : ""}${b.err ? ` err=${b.err}` : ""}`),
};
console.log(JSON.stringify(summary));
