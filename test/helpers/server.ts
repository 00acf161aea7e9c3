/** The real server entry (src/server.ts) in its own process, for tests of what only a listening process shows. */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { ROOT, REDIS_URL, TEST_LOAD_SHED, TEST_PASSWORD_HASH_ENV, testDatabaseUrl, tsNodeArgs } from './env.js';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface Spawned {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  base: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  output: () => string;
}

/**
 * src/server.ts in a process of its own on free ports (`env` over the test defaults: NODE_ENV=test,
 * load shedding out of reach, LOG_LEVEL info), its output collected. Not waited for: see `untilListening`.
 */
export async function spawnServer(
  env: Record<string, string> | ((port: number) => Record<string, string>),
): Promise<Spawned> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, tsNodeArgs('src/server.ts'), {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      ...TEST_LOAD_SHED,
      ...TEST_PASSWORD_HASH_ENV,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      ...(typeof env === 'function' ? env(port) : env),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, port, metricsPort, base: `http://127.0.0.1:${port}`, exited, output: () => out };
}

/** Waits (at most `ms`) until the process logged "DAPANDA listening" or exited. */
export async function untilListening(s: Spawned, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!s.output().includes('DAPANDA listening')) {
    if (s.child.exitCode !== null || Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Starts src/server.ts on the test database and Redis (prefix `tserver<port>`), killed at the end of
 * the test; resolves once it is listening (or after 15 s).
 */
export async function startServer(t: Test, env: Record<string, string>) {
  const databaseUrl = await testDatabaseUrl();
  const s = await spawnServer((port) => ({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `tserver${port}`,
    ...env,
  }));
  t.teardown(() => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  await untilListening(s);
  return s;
}
