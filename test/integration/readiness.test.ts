import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { startApp } from '../helpers/app.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      } /* never this file's stderr: a leftover child would keep the runner waiting */,
    );
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready to accept connections') && resolve(p));
    p.on('error', reject);
    setTimeout(() => reject(new Error('redis-server did not start')), 5000).unref();
  });
}

const waitFor = async (fn: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

t.test('/readyz follows Redis going away and coming back, without a restart', async (t) => {
  const port = await freePort();
  let redis = await startRedis(port);
  t.teardown(() => {
    redis.kill('SIGKILL');
  });
  const { app } = await startApp(t, { REDIS_URL: `redis://127.0.0.1:${port}` });

  const ready = async () => (await app.inject('/readyz')).statusCode === 200;
  t.equal((await app.inject('/healthz')).json().status, 'ok');
  t.ok(await waitFor(ready, 3000), 'ready with Redis up');

  redis.kill('SIGKILL');
  await new Promise((r) => redis.once('exit', r));
  const down = await app.inject('/readyz');
  t.equal(down.statusCode, 503, '503 with Redis stopped');
  t.equal(down.json().status, 'unavailable');
  t.match(down.json().reason, /redis/);
  t.equal((await app.inject('/healthz')).statusCode, 200, 'the process itself is still healthy');
  const page = await app.inject('/');
  t.ok(page.statusCode < 500 || page.statusCode === 503, 'pages degrade, they do not hang');

  redis = await startRedis(port);
  t.ok(await waitFor(ready, 8000), 'ready again once Redis is back');
});

t.test('/readyz names PostgreSQL when the database is unreachable', async (t) => {
  const { app } = await startApp(t, { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' });
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.match(res.json().reason, /postgresql/);
});

t.test('/readyz is 503 while draining for shutdown', async (t) => {
  const { app } = await startApp(t);
  t.equal((await app.inject('/readyz')).statusCode, 200);
  app.opsState.draining = true;
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.match(res.json().reason, /draining/);
});
