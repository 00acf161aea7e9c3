/** A redis-server of the test's own on a free loopback port (fault tests stop and flush it). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Never this file's stderr: a leftover child would keep the runner waiting.
    const p = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready to accept connections') && resolve(p));
    p.on('error', reject);
    setTimeout(() => reject(new Error('redis-server did not start')), 5000).unref();
  });
}

/** Stops it for real (SIGKILL) and waits until it is gone. */
export async function stopRedis(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}
