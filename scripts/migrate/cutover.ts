/**
 * cutover: the read-only window. In order, each phase recorded in state.json so a second run
 * resumes where the first stopped:
 *   paused    maintenance on the source (browsing works; bids, listings, payments answer 503 with
 *             the banner; its workers finish the job in hand and take no more), then a drain wait;
 *   caught-up logical: the subscription has applied everything up to the source's LSN; pg_dump: the
 *             final incremental copy (every row that changed since copy, by primary key); sequences
 *             on the target set past the source's again;
 *   verified  verify must PASS, else the source is resumed (its auctions extended by the pause) and
 *             cutover stops; logical: the subscription, slot and publication are dropped;
 *   switched  the load balancer sends traffic to the target;
 *   resumed   maintenance off on the target, in one transaction with moving its auctions' and order
 *             timers' clocks by at least the pause (flags.ts; its listings follow in batches right
 *             after); its workers re-plan every timer from PostgreSQL. The source stays read-only
 *             (its timers paused) for a rollback. The window printed is pausedAt → that commit.
 * rollback: the way back while the source is kept. The target goes read-only; every row the target
 * wrote since cutover (new, changed, deleted, by primary key) is named and copied back to the
 * source, or — when it cannot be (no superuser for the source, a table without a key) — the
 * rollback refuses, listing exactly what would be lost, and the target resumes.
 */
import type pg from 'pg';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Side } from './env.js';
import type { Log } from './log.js';
import type { StateFile, MigrationState } from './state.js';
import { withClient } from './db.js';
import { setMaintenance, endMaintenance, type ResumeResult } from './flags.js';
import { waitCaughtUp, dropReplication, syncSequences } from './copy.js';
import { verify } from './verify.js';
import { balancer } from './lb.js';
import { applyDelta, computeDelta, deltaRows, describeDelta, tablesWithoutKey } from './delta.js';

export interface CutoverOptions {
  margin: number;
  pages: number;
  jobs: number;
  maxWindowSeconds: number;
}

type CutPhase = NonNullable<MigrationState['cutover']>['phase'];
const ORDER: CutPhase[] = ['paused', 'caught-up', 'verified', 'switched', 'resumed'];
const past = (phase: CutPhase | undefined, p: CutPhase) =>
  !!phase && phase !== 'aborted' && ORDER.indexOf(phase) >= ORDER.indexOf(p);

const session = async (c: pg.Client) =>
  c.query(`SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET statement_timeout = '10min'`);

/**
 * After the switch went on: every process of the side reads it within MAINTENANCE_POLL_MS, a
 * request already past the check finishes. Waits twice the poll plus a margin
 * (DAPANDA_MAINTENANCE_GRACE_MS overrides), and checks the side's app answers a write with 503.
 */
async function drain(side: Side, log: Log, step: string): Promise<void> {
  const poll = Number(side.raw.MAINTENANCE_POLL_MS || 1000);
  const grace = Number(side.raw.DAPANDA_MAINTENANCE_GRACE_MS || 2 * poll + 1000);
  await new Promise((r) => setTimeout(r, grace));
  if (side.appUrl) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(new URL('/sell', side.appUrl), {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(5000),
      }).catch(() => null);
      if (res?.status === 503) break;
      if (Date.now() > deadline) {
        log.line(step, `warning: ${side.name} app did not answer a write with 503 (maintenance) within 30 s`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  log.line(step, `${side.name} drained: writes refused (503), workers paused (waited ${grace} ms)`);
}

const secs = (from: string | Date, to = new Date()) => (to.getTime() - new Date(from).getTime()) / 1000;

/**
 * Maintenance off on one side with its clocks moved (flags.ts), and the move written down in the
 * state: until the sides are made equal again, a plain verify compares the other side as if it had
 * moved the same way.
 */
async function resumeSide(
  side: Side,
  which: 'source' | 'target',
  pausedAt: Date,
  reason: string,
  log: Log,
  state: StateFile,
  step: string,
): Promise<ResumeResult> {
  const r = await endMaintenance(side, pausedAt, reason, log, step);
  const shift = r.shift;
  if (shift)
    state.update((s) => {
      if (s.clock?.moved !== which) s.clock = { moved: which, shifts: [] };
      if (!s.clock.shifts.some((x) => x.pausedAt === shift.pausedAt && x.at === shift.at))
        s.clock.shifts.push({ ...shift, listings: 'done' });
    });
  return r;
}

/** The sides were made equal (final copy, catch-up, copy back): no clock move to account for. */
const synced = (state: StateFile) => state.update((s) => delete s.clock);

export async function cutover(
  from: Side,
  to: Side,
  log: Log,
  state: StateFile,
  o: CutoverOptions,
): Promise<{ ok: boolean; windowSeconds?: number }> {
  const st0 = state.read();
  if (!st0.copy?.sequencesAt) {
    log.line('cutover', 'refused: no finished copy in this state directory (run copy first)');
    return { ok: false };
  }
  if (st0.rollback && !['refused'].includes(st0.rollback.phase)) {
    log.line('cutover', `refused: a rollback was done (${st0.rollback.phase}); start over with copy --reset`);
    return { ok: false };
  }
  if (st0.cutover?.phase === 'resumed') {
    log.line(
      'cutover',
      `already done: the target is live since ${st0.cutover.resumedAt}, read-only window ${st0.cutover.windowSeconds?.toFixed(1)} s`,
    );
    return { ok: true, windowSeconds: st0.cutover.windowSeconds };
  }
  const lb = balancer(from, to, log, 'cutover');
  if (!lb || !from.upstream || !to.upstream) {
    log.line(
      'cutover',
      'refused: no load balancer switch (DAPANDA_LB_SWITCH or DAPANDA_LB_UPSTREAM_FILE) or no DAPANDA_UPSTREAM on a side',
    );
    return { ok: false };
  }
  const method = st0.copy.method;
  if (method === 'dump' && !to.adminUrl) {
    log.line('cutover', 'refused: the final incremental copy needs the target superuser (DAPANDA_PG_ADMIN_URL)');
    return { ok: false };
  }
  if (method === 'logical' && (!from.adminUrl || !to.adminUrl)) {
    log.line('cutover', 'refused: logical replication needs DAPANDA_PG_ADMIN_URL on both sides');
    return { ok: false };
  }
  log.line('cutover', `load balancer: ${lb.describe}; ${from.upstream} → ${to.upstream}`);

  // 1. Read-only on the source.
  let st = state.read();
  if (!st.cutover || st.cutover.phase === 'aborted') {
    const pausedAt = new Date();
    await setMaintenance(from, true, `cutover to ${to.name}`, pausedAt);
    st = state.update((s) => (s.cutover = { phase: 'paused', pausedAt: pausedAt.toISOString() }));
    log.line('cutover', `source in maintenance mode (read-only) since ${pausedAt.toISOString()}: the window starts`);
  } else log.line('cutover', `resuming: phase ${st.cutover.phase} reached, window started ${st.cutover.pausedAt}`);
  const pausedAt = new Date(st.cutover!.pausedAt);
  if (!past(st.cutover!.phase, 'caught-up')) await drain(from, log, 'cutover');

  const abort = async (why: string) => {
    const r = await resumeSide(from, 'source', pausedAt, `cutover aborted: ${why}`, log, state, 'cutover');
    state.update((s) => {
      s.cutover!.phase = 'aborted';
      s.cutover!.abortedAt = new Date().toISOString();
      s.cutover!.abortReason = why;
    });
    log.line(
      'cutover',
      `ABORTED (${why}): source live again after ${(r.pauseMs / 1000).toFixed(1)} s read-only; ${r.auctions} auctions, ${r.listings} listings and ${r.orders} order timers moved by ${(r.shiftMs / 1000).toFixed(1)} s`,
    );
    return { ok: false };
  };
  const overBudget = () => secs(pausedAt) > o.maxWindowSeconds;

  // 2. The target has everything the source wrote.
  if (!past(st.cutover!.phase, 'caught-up')) {
    let finalRows = 0;
    if (method === 'logical') {
      finalRows = await waitCaughtUp(from, log, Math.max(10_000, (o.maxWindowSeconds - secs(pausedAt)) * 1000));
    } else {
      finalRows = await withClient(from.dbUrl, (a) =>
        withClient(to.adminUrl!, async (b) => {
          await session(a);
          await session(b);
          const deltas = await computeDelta(a, b, log, 'cutover');
          for (const l of describeDelta(deltas, 20)) log.line('cutover', `final copy: ${l}`);
          return applyDelta(a, b, deltas, log, 'cutover');
        }),
      );
      log.line('cutover', `final incremental copy: ${finalRows} rows changed since copy applied to the target`);
    }
    await syncSequences(from, to, o.margin, log, 'cutover');
    synced(state);
    state.update((s) => {
      s.cutover!.phase = 'caught-up';
      s.cutover!.caughtUpAt = new Date().toISOString();
      s.cutover!.finalRows = finalRows;
    });
  }
  if (overBudget() && !past(state.read().cutover!.phase, 'switched'))
    return abort(`read-only window over --max-window ${o.maxWindowSeconds} s before the switch`);

  // 3. Verify: must pass.
  if (!past(state.read().cutover!.phase, 'verified')) {
    const r = await verify(from, to, log, {
      reportDir: state.dir,
      pages: o.pages,
      jobs: o.jobs * 2,
      step: 'cutover-verify',
    });
    if (!r.pass) return abort(`final verify FAILED (${state.dir}/cutover-verify.md)`);
    if (overBudget()) return abort(`read-only window over --max-window ${o.maxWindowSeconds} s after verify`);
    if (method === 'logical') await dropReplication(from, to, log);
    state.update((s) => {
      s.cutover!.phase = 'verified';
      s.cutover!.verifiedAt = new Date().toISOString();
    });
  }

  // 4. Traffic to the target.
  if (!past(state.read().cutover!.phase, 'switched')) {
    await lb.switchTo(to.upstream, 'target');
    state.update((s) => {
      s.cutover!.phase = 'switched';
      s.cutover!.switchedAt = new Date().toISOString();
    });
    log.line('cutover', `load balancer switched to the target (${to.upstream})`);
  }

  // 5. The target goes live; the source stays read-only with its timers paused.
  if (!past(state.read().cutover!.phase, 'resumed')) {
    await setMaintenance(from, true, `moved to ${to.name}: read-only (rollback keeps it)`, pausedAt);
    const r = await resumeSide(to, 'target', pausedAt, `cutover from ${from.name}: live`, log, state, 'cutover');
    // Writes were refused from pausedAt until the switch went off on the target (its commit).
    const resumedAt = r.pauseMs > 0 ? r.resumedAt : new Date();
    state.update((s) => {
      s.cutover!.phase = 'resumed';
      s.cutover!.resumedAt = resumedAt.toISOString();
      s.cutover!.windowSeconds = secs(pausedAt, resumedAt);
      s.cutover!.shiftMs = r.shiftMs;
      s.cutover!.listingsMovedAt = new Date().toISOString();
    });
    log.line(
      'cutover',
      `target live: ${r.auctions} auctions, ${r.listings} listings and ${r.orders} order timers moved by ${(r.shiftMs / 1000).toFixed(1)} s; its workers re-plan timers from PostgreSQL`,
    );
  }
  const done = state.read().cutover!;
  log.line(
    'cutover',
    `DONE: read-only window ${done.windowSeconds!.toFixed(1)} s (${done.pausedAt} → ${done.resumedAt}); open auctions' ends and order timers moved by ${((done.shiftMs ?? 0) / 1000).toFixed(1)} s`,
  );
  return { ok: true, windowSeconds: done.windowSeconds };
}

export async function rollback(
  from: Side,
  to: Side,
  log: Log,
  state: StateFile,
  o: { jobs: number; margin: number; pages: number; dryRun: boolean },
): Promise<{ ok: boolean; lost?: string[]; windowSeconds?: number }> {
  const st0 = state.read();
  const cut = st0.cutover;
  if (!cut || cut.phase === 'aborted') {
    log.line('rollback', 'nothing to roll back: no cutover in this state directory');
    return { ok: false };
  }
  if (st0.rollback?.phase === 'resumed') {
    log.line('rollback', `already done: the source is live again since ${st0.rollback.resumedAt}`);
    return { ok: true, windowSeconds: st0.rollback.windowSeconds };
  }
  // Before the switch nothing was written on the target: the way back is resuming the source.
  if (!past(cut.phase, 'switched')) {
    if (o.dryRun) {
      log.line('rollback', `dry run: cutover stopped at ${cut.phase}; a rollback resumes the source, nothing is lost`);
      return { ok: true, lost: [] };
    }
    const r = await resumeSide(
      from,
      'source',
      new Date(cut.pausedAt),
      'cutover rolled back before the switch',
      log,
      state,
      'rollback',
    );
    state.update((s) => {
      s.cutover!.phase = 'aborted';
      s.cutover!.abortedAt = new Date().toISOString();
      s.cutover!.abortReason = 'rolled back before the switch';
    });
    log.line(
      'rollback',
      `DONE: the cutover had not switched; source live again (${(r.pauseMs / 1000).toFixed(1)} s read-only)`,
    );
    return { ok: true, lost: [], windowSeconds: r.pauseMs / 1000 };
  }
  const lb = balancer(from, to, log, 'rollback');
  if (!lb || !from.upstream) {
    log.line('rollback', 'refused: no load balancer switch or no DAPANDA_UPSTREAM for the source');
    return { ok: false };
  }

  // What the target wrote since cutover, against the source as it was frozen.
  const delta = async () =>
    withClient(to.dbUrl, (a) =>
      withClient(from.dbUrl, async (b) => {
        await session(a);
        await session(b);
        const d = await computeDelta(a, b, log, 'rollback');
        return { d, keyless: await tablesWithoutKey(a) };
      }),
    );
  const report = (lines: string[], title: string) => {
    writeFileSync(path.join(state.dir, 'rollback-delta.json'), JSON.stringify({ title, tables: lines }, null, 2));
    log.line('rollback', title);
    for (const l of lines) log.line('rollback', `  ${l}`);
  };

  if (o.dryRun) {
    const { d } = await delta();
    report(
      describeDelta(d),
      `dry run: the target's writes since cutover (${deltaRows(d)} rows) that a rollback copies back:`,
    );
    return { ok: true, lost: describeDelta(d) };
  }

  // 1. The target read-only.
  let st = state.read();
  if (!st.rollback || st.rollback.phase === 'refused' || st.rollback.phase === 'failed') {
    const pausedAt = new Date();
    await setMaintenance(to, true, `rollback to ${from.name}`, pausedAt);
    st = state.update((s) => (s.rollback = { phase: 'paused', pausedAt: pausedAt.toISOString() }));
    log.line('rollback', `target in maintenance mode (read-only) since ${pausedAt.toISOString()}`);
    await drain(to, log, 'rollback');
  } else log.line('rollback', `resuming: phase ${st.rollback.phase} reached`);
  const rbPausedAt = new Date(st.rollback!.pausedAt);
  const resumeTarget = async (phase: 'refused' | 'failed', why: string) => {
    const r = await resumeSide(to, 'target', rbPausedAt, `rollback ${phase}: ${why}`, log, state, 'rollback');
    state.update((s) => (s.rollback!.phase = phase));
    log.line(
      'rollback',
      `target live again after ${(r.pauseMs / 1000).toFixed(1)} s read-only; nothing changed on the source`,
    );
  };

  // 2. Copy back every write of the target since cutover, or refuse naming them.
  if (st.rollback!.phase === 'paused') {
    const { d, keyless } = await delta();
    const lines = describeDelta(d);
    const why = !from.adminUrl
      ? 'the source has no superuser URL (DAPANDA_PG_ADMIN_URL) to copy rows back with triggers off'
      : d.some((x) => !x.pk.length)
        ? `tables without a primary key differ (${d
            .filter((x) => !x.pk.length)
            .map((x) => x.table)
            .join(', ')})`
        : null;
    if (why) {
      report(lines, `REFUSED (${why}): a rollback would lose these writes made on the target since cutover:`);
      await resumeTarget('refused', why);
      state.update((s) => (s.rollback!.delta = lines));
      return { ok: false, lost: lines };
    }
    if (keyless.length)
      log.line('rollback', `note: tables without a primary key (equal on both sides): ${keyless.join(', ')}`);
    report(lines, `copying back the target's writes since cutover (${deltaRows(d)} rows):`);
    const n = await withClient(to.dbUrl, (a) =>
      withClient(from.adminUrl!, async (b) => {
        await session(a);
        await session(b);
        return applyDelta(a, b, d, log, 'rollback');
      }),
    );
    // The source hands out ids after every one the target used.
    await syncSequences(to, from, o.margin, log, 'rollback');
    synced(state);
    state.update((s) => {
      s.rollback!.phase = 'copied-back';
      s.rollback!.copiedRows = n;
      s.rollback!.delta = lines;
    });
  }

  // 3. Verify: the source now equals the target.
  if (state.read().rollback!.phase === 'copied-back') {
    const r = await verify(from, to, log, {
      reportDir: state.dir,
      pages: o.pages,
      jobs: o.jobs * 2,
      step: 'rollback-verify',
    });
    if (!r.pass) {
      await resumeTarget('failed', `verify after copying back FAILED (${state.dir}/rollback-verify.md)`);
      return { ok: false };
    }
    state.update((s) => (s.rollback!.phase = 'verified'));
  }

  // 4. Traffic back to the source, which goes live with its clocks moved by this pause.
  if (state.read().rollback!.phase === 'verified') {
    await lb.switchTo(from.upstream, 'source');
    state.update((s) => (s.rollback!.phase = 'switched'));
    log.line('rollback', `load balancer switched back to the source (${from.upstream})`);
  }
  if (state.read().rollback!.phase === 'switched') {
    await setMaintenance(to, true, `rolled back to ${from.name}: read-only`, rbPausedAt);
    const r = await resumeSide(from, 'source', rbPausedAt, `rollback from ${to.name}: live`, log, state, 'rollback');
    const resumedAt = r.pauseMs > 0 ? r.resumedAt : new Date();
    state.update((s) => {
      s.rollback!.phase = 'resumed';
      s.rollback!.resumedAt = resumedAt.toISOString();
      s.rollback!.windowSeconds = secs(rbPausedAt, resumedAt);
      s.rollback!.shiftMs = r.shiftMs;
    });
    log.line(
      'rollback',
      `source live: ${r.auctions} auctions, ${r.listings} listings and ${r.orders} order timers moved by ${(r.shiftMs / 1000).toFixed(1)} s; its workers re-plan timers from PostgreSQL`,
    );
  }
  const done = state.read().rollback!;
  log.line(
    'rollback',
    `DONE: ${done.copiedRows ?? 0} rows copied back, read-only window ${done.windowSeconds!.toFixed(1)} s`,
  );
  return { ok: true, lost: [], windowSeconds: done.windowSeconds };
}
