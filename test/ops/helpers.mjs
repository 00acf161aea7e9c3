// Shared by test/ops/*.test.mjs: run a command, find the repo, ensure a Debian tool is installed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', timeout: 120_000, ...opts });
  return { code: r.status, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
// The ops checks need Debian tools; install the package when missing (root + Debian apt only).
export function need(tool, pkg) {
  if (run('sh', ['-c', `command -v ${tool}`]).code === 0) return true;
  if (process.getuid?.() !== 0) return false;
  run('apt-get', ['install', '-y', '-qq', pkg], { timeout: 300_000 });
  return run('sh', ['-c', `command -v ${tool}`]).code === 0;
}
