/**
 * A throwaway PostgreSQL cluster for tests that need settings the machine's shared server does not
 * have (wal_level=logical for publication/subscription) and must not be given. initdb + pg_ctl from
 * the Debian packages (/usr/lib/postgresql/<version>/bin), trust auth, 127.0.0.1 on a free port, in a
 * directory under /var/tmp; stopped (immediate) and removed by stop(), by the test's teardown and,
 * as a last resort, when the process exits. As root, initdb and postgres run as the postgres user
 * (PostgreSQL refuses root), so the directory is handed to it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export interface PgCluster {
  port: number;
  dir: string;
  /** Superuser URL of database `db` (default postgres). */
  url: (db?: string) => string;
  stop: () => void;
}

function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin');
  return path.join(root, versions[0], 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<PgCluster>();
process.on('exit', () => {
  for (const c of live) c.stop();
});

export async function startCluster(name: string, settings: Record<string, string> = {}): Promise<PgCluster> {
  const bin = pgBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join('/var/tmp', `dapanda-pg-${name}-`));
  const asPg = (cmd: string, args: string[]) =>
    root
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
      : execFileSync(cmd, args, { stdio: 'pipe' });
  if (root) {
    const id = (k: string) => Number(execFileSync('id', [k, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  let stopped = false;
  const cluster: PgCluster = {
    port,
    dir,
    url: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    stop: () => {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      if (existsSync(path.join(data, 'postmaster.pid'))) {
        const args = ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '20'];
        if (root)
          spawnSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), ...args], { stdio: 'ignore' });
        else spawnSync(path.join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  try {
    asPg(path.join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    const opts = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: `'${dir}'`,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: '64MB',
      max_connections: '60',
      ...settings,
    };
    const o = Object.entries(opts)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    asPg(path.join(bin, 'pg_ctl'), [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '30',
      '-l',
      path.join(dir, 'server.log'),
      '-o',
      o,
    ]);
  } catch (err) {
    cluster.stop();
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`PostgreSQL cluster ${name} did not start: ${e.stderr?.toString() || e.message}`, { cause: err });
  }
  return cluster;
}
