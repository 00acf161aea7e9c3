/**
 * Shoppers' responses do not say which node or release answered (a version tells an attacker which
 * advisories apply); operators read both from /readyz, and the load balancer's admin listener adds the
 * node for them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';
import { ROOT } from '../helpers/env.js';

const identityHeaders = (h: Record<string, unknown>) =>
  Object.keys(h).filter((k) => k.toLowerCase().startsWith('x-dapanda'));

t.test('public responses carry no x-dapanda-* header; /readyz names node and release', async (t) => {
  const { app, config } = await startApp(t);
  for (const url of ['/', '/search?q=panda', '/login', '/static/css/app.css', '/healthz', '/no-such-page']) {
    const res = await app.inject(url);
    t.ok(res.statusCode < 500, `${url} answered ${res.statusCode}`);
    t.same(identityHeaders(res.headers), [], `${url}: no node or release in the headers`);
  }

  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.same(
    ready.json(),
    { status: 'ready', node: process.env.NODE_NAME || hostname(), version },
    '/readyz JSON names node and version',
  );

  // The WebSocket's 101 answer skips Fastify's reply hooks: checked on a real socket.
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topics=probe:1`, {
    headers: { origin: new URL(config.publicUrl).origin },
  });
  const upgrade = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('upgrade', (res) => resolve(res.headers));
    ws.once('error', reject);
  });
  t.same(identityHeaders(upgrade), [], 'the WebSocket upgrade names neither');
  ws.close();
});

t.test('a draining node still says who it is on /readyz', async (t) => {
  const { app } = await startApp(t);
  app.opsState.draining = true;
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.match(res.json(), { status: 'unavailable', reason: /draining/, node: String, version: String });
});
