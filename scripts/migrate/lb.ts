/**
 * Switching the load balancer from one side to the other. Read from the side that owns the
 * balancer (the source's env file, else the target's):
 *   DAPANDA_LB_SWITCH          a command (run by sh) that does the switch; it gets DAPANDA_LB_TO
 *                              (the host:port to send traffic to) and DAPANDA_LB_SIDE
 *                              (source|target). An ALB, a DNS update or a test's proxy go here.
 *   DAPANDA_LB_UPSTREAM_FILE   else: the nginx include naming the upstream, rewritten atomically
 *   DAPANDA_LB_UPSTREAM_NAME   its upstream block's name (dapanda_app)
 *   DAPANDA_LB_RELOAD          then this command (default `nginx -s reload`)
 * Each side names where its app is reached with DAPANDA_UPSTREAM.
 */
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import type { Side } from './env.js';
import type { Log } from './log.js';

export interface Balancer {
  describe: string;
  switchTo(upstream: string, which: 'source' | 'target'): Promise<void>;
  /** What the balancer points at now, when it can tell (the upstream file's server). */
  current(): string | null;
}

function sh(cmd: string, env: Record<string, string>, log: Log, step: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (out.trim()) log.line(step, `load balancer: ${out.trim().split('\n').slice(-5).join(' | ')}`);
      if (code === 0) resolve();
      else reject(new Error(`load balancer command exited ${code}`));
    });
  });
}

export function upstreamBlock(name: string, upstream: string): string {
  return `# Written by npm run migrate:env (cutover/rollback): where ${name} sends traffic.\nupstream ${name} {\n  server ${upstream};\n  keepalive 32;\n  keepalive_timeout 60s;\n}\n`;
}

export function balancer(from: Side, to: Side, log: Log, step: string): Balancer | null {
  const owner = [from, to].find((s) => s.raw.DAPANDA_LB_SWITCH || s.lbUpstreamFile);
  if (!owner) return null;
  const cmd = owner.raw.DAPANDA_LB_SWITCH;
  if (cmd)
    return {
      describe: `command from ${owner.name}'s env file (DAPANDA_LB_SWITCH)`,
      switchTo: (upstream, which) => sh(cmd, { DAPANDA_LB_TO: upstream, DAPANDA_LB_SIDE: which }, log, step),
      current: () => null,
    };
  const file = owner.lbUpstreamFile!;
  const name = owner.raw.DAPANDA_LB_UPSTREAM_NAME || 'dapanda_app';
  const reload = owner.lbReload || 'nginx -s reload';
  return {
    describe: `${file} (upstream ${name}), then \`${reload}\``,
    async switchTo(upstream, which) {
      const tmp = `${file}.migrate.tmp`;
      writeFileSync(tmp, upstreamBlock(name, upstream));
      renameSync(tmp, file);
      await sh(reload, { DAPANDA_LB_TO: upstream, DAPANDA_LB_SIDE: which }, log, step);
    },
    current() {
      if (!existsSync(file)) return null;
      return /^\s*server\s+([^\s;]+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? null;
    },
  };
}
