/**
 * What a migration has done so far, in one JSON file in the state directory (written beside and
 * renamed, so a crash never leaves half a file): each step reads it to skip what is done and to
 * resume what was cut off.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MigrationState {
  copy?: {
    method: 'logical' | 'dump';
    startedAt: string;
    /** logical: the subscription was created. */
    subscription?: string;
    /** dump: the data was restored into the target. */
    restoredAt?: string;
    photosAt?: string;
    sequencesAt?: string;
    sequences?: Record<string, number>;
  };
  cutover?: {
    phase: 'paused' | 'caught-up' | 'verified' | 'switched' | 'resumed';
    pausedAt: string;
    /** The target's LSN / counts when the source was paused. */
    switchedAt?: string;
    resumedAt?: string;
    windowSeconds?: number;
  };
  rollback?: { at: string; phase: 'paused' | 'copied-back' | 'switched' | 'resumed' };
}

export class StateFile {
  readonly file: string;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'state.json');
  }
  read(): MigrationState {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as MigrationState) : {};
  }
  update(fn: (s: MigrationState) => void): MigrationState {
    const s = this.read();
    fn(s);
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(s, null, 2));
    renameSync(tmp, this.file);
    return s;
  }
}
