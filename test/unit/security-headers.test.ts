/**
 * The security headers are worked out once (core/security.ts helmetHeaders) instead of by a
 * helmet middleware per request: they are exactly the headers helmet itself sets on a real
 * response, for a production and a development app, with and without a photo CDN.
 */
import t from 'tap';
import http from 'node:http';
import helmet from 'helmet';
import { helmetHeaders, helmetOptions } from '../../src/core/security.js';

async function fromRealResponse(options: ReturnType<typeof helmetOptions>): Promise<Record<string, string>> {
  const server = http.createServer((req, res) => {
    helmet(options)(req, res, () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const res = await fetch(`http://127.0.0.1:${port}/`);
  await res.text();
  server.close();
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) out[k] = v;
  });
  return out;
}

for (const [production, origins] of [
  [true, []],
  [false, []],
  [true, ['https://photos.example.net']],
] as const) {
  t.test(`production=${production} origins=${origins.length}`, async (t) => {
    const options = helmetOptions(production, [...origins]);
    const once = helmetHeaders(options);
    t.same(once, await fromRealResponse(options), 'the same headers helmet sets');
    t.match(once['content-security-policy'], /default-src 'self'/);
    t.match(once['content-security-policy'], /frame-ancestors 'none'/);
    if (production) t.match(once['strict-transport-security'], /max-age=15552000; includeSubDomains/);
    else t.notOk(once['strict-transport-security'], 'no HSTS in development');
    for (const o of origins) t.match(once['content-security-policy'], o);
  });
}
