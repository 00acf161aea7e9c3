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
    phase: 'paused' | 'caught-up' | 'verified' | 'switched' | 'resumed' | 'aborted';
    /** When the source went read-only (maintenance on): the window's start. */
    pausedAt: string;
    caughtUpAt?: string;
    /** Rows the final incremental copy moved (pg_dump path), or the replication lag waited (logical). */
    finalRows?: number;
    verifiedAt?: string;
    switchedAt?: string;
    resumedAt?: string;
    windowSeconds?: number;
    abortedAt?: string;
    abortReason?: string;
  };
  rollback?: {
    phase: 'paused' | 'copied-back' | 'verified' | 'switched' | 'resumed' | 'refused' | 'failed';
    /** When the target went read-only for the way back. */
    pausedAt: string;
    copiedRows?: number;
    delta?: string[];
    resumedAt?: string;
    windowSeconds?: number;
  };
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
