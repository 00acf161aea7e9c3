/**
 * What a migration has done so far, in one JSON file in the state directory (written beside and
 * renamed, so a crash never leaves half a file): each step reads it to skip what is done and to
 * resume what was cut off.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClockShift } from './flags.js';

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
    /** resumedAt − pausedAt: writes were refused that long. */
    windowSeconds?: number;
    /** What the target's open auctions' ends and order timers moved by (>= the window + the apps' poll). */
    shiftMs?: number;
    /** The target's listings (the catalog's copy of the clocks) moved too, after the switch. */
    listingsMovedAt?: string;
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
    shiftMs?: number;
  };
  /**
   * The clock moves of one side since the two sides were last made equal (the final incremental
   * copy or catch-up of cutover, the copy back of rollback): a plain verify compares the other side
   * as if it had moved the same way.
   */
  clock?: { moved: 'source' | 'target'; shifts: ClockShift[] };
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
