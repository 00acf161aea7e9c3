/** The real server entry (src/server.ts) in its own process, for tests of what only a listening process shows. */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ROOT, REDIS_URL, TEST_LOAD_SHED, testDatabaseUrl, tsNodeArgs } from './env.js';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Starts src/server.ts with its output collected; resolves once it is listening (or after 15 s). */
export async function startServer(t: Test, env: Record<string, string>) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, tsNodeArgs('src/server.ts'), {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      ...TEST_LOAD_SHED,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: await testDatabaseUrl(),
      REDIS_URL,
      REDIS_PREFIX: `tserver${port}`,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (let i = 0; i < 150 && !out.includes('DAPANDA listening'); i++) await new Promise((r) => setTimeout(r, 100));
  return { child, port, metricsPort, exited, output: () => out };
}
