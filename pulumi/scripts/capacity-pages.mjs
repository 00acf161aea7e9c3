// Page views per second of one running DAPANDA instance at rising concurrency, with latency
// percentiles, for pulumi/CAPACITY.md (run by pulumi/scripts/capacity.sh, which starts the server).
//   node pulumi/scripts/capacity-pages.mjs URL [seconds]
// Each request carries its own X-Forwarded-For (the server runs with TRUST_PROXY=true, as behind the
// ALB), so the per-client rate limit sees many shoppers instead of answering 429 to one address.
import autocannon from 'autocannon';

const [url, secondsArg] = process.argv.slice(2);
if (!url) {
  console.error('usage: capacity-pages.mjs URL [seconds]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 8);
const paths = ['/', '/search?q=%EC%95%84%EC%9D%B4%ED%8F%B0', '/items/5'];
const levels = [2, 4, 8, 16, 32];
let n = 0;
const ip = () => {
  n++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

const rows = [];
for (const path of paths) {
  for (const connections of levels) {
    const r = await autocannon({
      url: url + path,
      connections,
      duration: seconds,
      headers: { accept: 'text/html' },
      requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-forwarded-for': ip() } }) }],
    });
    const row = {
      path: decodeURIComponent(path),
      connections,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      ok: r['2xx'],
      other: r.non2xx + r.errors + r.timeouts,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
// The capacity per path: the highest throughput whose p99 stays under 300 ms with no failures.
for (const path of paths.map(decodeURIComponent)) {
  const ok = rows.filter((r) => r.path === path && r.p99 < 300 && r.other === 0);
  const best = ok.sort((a, b) => b.rps - a.rps)[0];
  console.log(
    `capacity ${path}: ${best ? `${best.rps.toFixed(0)} req/s at ${best.connections} connections (p99 ${best.p99} ms)` : 'p99 >= 300 ms at every level'}`,
  );
}
