/**
 * SIGTERM drains: /readyz turns 503 at once, a request in flight still completes, then the process exits 0;
 * also while Redis is unreachable (BullMQ's close would wait for it forever: the wait is bounded), and then
 * nothing of the app keeps the process alive (a test file that closes its app exits by itself).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { freePort, startServer } from '../helpers/server.js';
import { ROOT, tsNodeArgs } from '../helpers/env.js';

t.test('graceful shutdown on SIGTERM', async (t) => {
  const { child, port, metricsPort, exited, output } = await startServer(t, { DRAIN_DELAY_MS: '1500' });
  const base = `http://127.0.0.1:${port}`;
  t.match(output(), 'DAPANDA listening', 'server started');
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, 'http_request_duration_seconds', 'metrics on their own port');
  t.match(metrics, 'process_resident_memory_bytes');

  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  const during = await fetch(`${base}/readyz`);
  t.equal(during.status, 503, 'not ready while draining');
  t.match((await during.json()).reason, /draining/);
  t.equal((await fetch(`${base}/`)).status, 200, 'still serving requests while the load balancer notices');
  t.equal(await exited, 0, 'exits cleanly');
  t.match(output(), /shutting down: draining/);
});

t.test('SIGTERM while Redis is down: the process still exits cleanly, in bounded time', async (t) => {
  const redisPort = await freePort();
  // stdio ignored: a child holding this file's stderr would keep the test runner waiting.
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  t.teardown(() => {
    redis.kill('SIGKILL');
  });
  const { child, exited, output } = await startServer(t, {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    DRAIN_DELAY_MS: '0',
    QUEUE_CLOSE_TIMEOUT_MS: '1500',
  });
  t.match(output(), 'DAPANDA listening', 'server started with Redis up');
  await new Promise((r) => setTimeout(r, 1000)); // workers running (the sweeper's first run included)

  redis.kill('SIGKILL');
  await new Promise((r) => redis.once('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
  ]);
  t.equal(code, 0, 'exits 0');
  t.ok(
    Date.now() - t0 < 12_000,
    `within the queue close bound, not close-with-grace's 30 s kill (${Date.now() - t0} ms)`,
  );
  t.match(output(), /did not close within 1500 ms/, 'and says why it took that long');
});

t.test('an app closed while Redis is down leaves nothing running: the process ends by itself', async (t) => {
  // stdin/stderr ignored: a child holding this file's stderr would keep the test runner waiting.
  const child = spawn(process.execPath, tsNodeArgs('test/fixtures/close-without-redis.ts'), {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const code = await Promise.race([
    exited,
    new Promise<string>((r) => setTimeout(() => r('still running 40 s after start'), 40_000)),
  ]);
  t.match(out, 'closed', 'app.close() returned (after the queue close bound)');
  // Before the fix the workers' lock renewal (every 15 s, for ever) kept it alive.
  t.equal(code, 0, 'then the process exits on its own, with nothing left running');
});
