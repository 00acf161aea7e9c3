/** cutover and rollback: filled in below (step 4 and 5). */
import type { Side } from './env.js';
import type { Log } from './log.js';
import type { StateFile } from './state.js';

export async function cutover(
  _from: Side,
  _to: Side,
  log: Log,
  _state: StateFile,
  _o: { margin: number; pages: number; jobs: number; maxWindowSeconds: number },
): Promise<{ ok: boolean }> {
  log.line('cutover', 'not built yet');
  return { ok: false };
}

export async function rollback(
  _from: Side,
  _to: Side,
  log: Log,
  _state: StateFile,
  _o: { jobs: number },
): Promise<{ ok: boolean }> {
  log.line('rollback', 'not built yet');
  return { ok: false };
}
