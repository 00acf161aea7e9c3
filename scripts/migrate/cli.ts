/**
 * `npm run migrate:env -- <step> --from <env file> --to <env file> [options]`
 * Steps: plan | copy | verify | cutover | rollback (see deploy/README.md, "Move to another environment").
 * Options: --state DIR (default .data/migrate/<from>-<to>), --jobs N (4), --reset (copy: start over),
 *   --method logical|dump (default: what plan finds), --margin N (sequence margin, 10000),
 *   --pages N (verify: pages compared, 10), --max-window S (cutover: abort above, 300),
 *   --dry-run (rollback: list the target's writes since cutover that would be copied back; change nothing).
 * Exit status: 0 GO/PASS/done, 1 NO-GO/FAIL/refused, 2 usage.
 * Secrets come from the env files and are never printed (log lines are scrubbed).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadSide } from './env.js';
import { Log } from './log.js';
import { StateFile } from './state.js';
import { plan } from './plan.js';
import { copy } from './copy.js';
import { verify } from './verify.js';
import { cutover, rollback } from './cutover.js';

const USAGE =
  'usage: npm run migrate:env -- plan|copy|verify|cutover|rollback --from <env file> --to <env file> [--state DIR] [--jobs N] [--reset] [--method logical|dump] [--margin N] [--pages N] [--max-window S] [--dry-run]';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        state: { type: 'string' },
        jobs: { type: 'string', default: '4' },
        reset: { type: 'boolean', default: false },
        method: { type: 'string' },
        margin: { type: 'string', default: '10000' },
        pages: { type: 'string', default: '10' },
        'max-window': { type: 'string', default: '300' },
        quiet: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const step = positionals[0];
  if (!step || !['plan', 'copy', 'verify', 'cutover', 'rollback'].includes(step) || !v.from || !v.to) {
    console.error(USAGE);
    return 2;
  }
  const num = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  let jobs: number, margin: number, pages: number, maxWindow: number;
  try {
    jobs = num('jobs', v.jobs!, 1, 64);
    margin = num('margin', v.margin!, 0, 1e9);
    pages = num('pages', v.pages!, 0, 1000);
    maxWindow = num('max-window', v['max-window']!, 5, 86400);
    if (v.method && !['logical', 'dump'].includes(v.method)) throw new Error('--method must be logical or dump');
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const from = loadSide('source', v.from);
  const to = loadSide('target', v.to);
  const base = (f: string) =>
    path
      .basename(f)
      .replace(/\.env$/, '')
      .replace(/[^A-Za-z0-9_.-]/g, '_');
  const stateDir = path.resolve(v.state ?? path.join('.data', 'migrate', `${base(v.from)}-to-${base(v.to)}`));
  const state = new StateFile(stateDir);
  const log = new Log(path.join(stateDir, 'migrate.log'), v.quiet);
  log.line(step, `state and log in ${stateDir}`);
  try {
    switch (step) {
      case 'plan': {
        const r = await plan(from, to, log);
        const { writeFileSync } = await import('node:fs');
        writeFileSync(path.join(stateDir, 'plan.json'), JSON.stringify(r, null, 2));
        return r.go ? 0 : 1;
      }
      case 'copy': {
        const method =
          (v.method as 'logical' | 'dump' | undefined) ??
          (await plan(from, to, new Log(path.join(stateDir, 'migrate.log'), true))).method;
        const r = await copy(
          from,
          to,
          { method, jobs, reset: v.reset!, sequenceMargin: margin, syncTimeoutMs: 30 * 60_000 },
          log,
          state,
        );
        log.line(
          'copy',
          `done: ${r.method}, database ${r.dbSeconds.toFixed(1)} s (${r.rows} rows), photos ${r.photos.seconds.toFixed(1)} s (${r.photos.objects} objects)`,
        );
        return 0;
      }
      case 'verify': {
        // After a cutover (or an abort, a rollback) one side's clocks moved by the pause: compare
        // the other as if it had moved the same way.
        const c = state.read().clock;
        const clock = c?.shifts.length
          ? { side: c.moved === 'target' ? ('source' as const) : ('target' as const), shifts: c.shifts }
          : undefined;
        const r = await verify(from, to, log, { reportDir: stateDir, pages, jobs: jobs * 2, clock });
        return r.pass ? 0 : 1;
      }
      case 'cutover': {
        const r = await cutover(from, to, log, state, { margin, pages, jobs, maxWindowSeconds: maxWindow });
        return r.ok ? 0 : 1;
      }
      case 'rollback': {
        const r = await rollback(from, to, log, state, { jobs, margin, pages, dryRun: v['dry-run']! });
        return r.ok ? 0 : 1;
      }
    }
  } catch (err) {
    log.line(step, `error: ${(err as Error).message}`);
    return 1;
  }
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('scripts/migrate/cli.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
