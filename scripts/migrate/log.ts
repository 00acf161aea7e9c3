/**
 * What an operator follows: one line per event on stdout and in the log file (ISO time, step,
 * text; secrets scrubbed), progress as a bar on a terminal and as a line every few seconds in the
 * log (and on stdout when it is not a terminal).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { redact } from './env.js';

export class Log {
  private lastProgress = new Map<string, number>();
  constructor(
    readonly file: string,
    private readonly quiet = false,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  line(step: string, text: string): void {
    const l = redact(`${new Date().toISOString()} [${step}] ${text}`);
    appendFileSync(this.file, l + '\n');
    if (!this.quiet) process.stdout.write((process.stdout.isTTY ? '\r\x1b[K' : '') + l + '\n');
  }

  /** A progress report: drawn as a bar on a terminal, logged at most every 2 s (and at the end). */
  progress(step: string, what: string, done: number, total: number, extra = ''): void {
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
    const finished = done >= total;
    if (process.stdout.isTTY && !this.quiet) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      process.stdout.write(
        `\r\x1b[K[${step}] ${what} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${pct}% ${extra}`,
      );
    }
    const last = this.lastProgress.get(what) ?? 0;
    if (finished || Date.now() - last > 2000) {
      this.lastProgress.set(what, Date.now());
      const l = redact(`${new Date().toISOString()} [${step}] ${what}: ${done}/${total} (${pct}%) ${extra}`.trim());
      appendFileSync(this.file, l + '\n');
      if (!process.stdout.isTTY && !this.quiet) process.stdout.write(l + '\n');
      else if (finished && !this.quiet) process.stdout.write('\n');
    }
  }
}
