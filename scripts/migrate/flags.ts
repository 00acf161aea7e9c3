/** The maintenance switch of one side (core/maintenance.ts reads it): its own row, never copied. */
import type pg from 'pg';
import type { Side } from './env.js';
import type { Log } from './log.js';
import { withClient } from './db.js';

export async function setMaintenance(side: Side, on: boolean, reason: string, since = new Date()): Promise<void> {
  await withClient(side.dbUrl, (c) =>
    c.query(
      `INSERT INTO app_flags (name, value) VALUES ('maintenance', $1::jsonb)
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [JSON.stringify(on ? { active: true, since: since.toISOString(), reason } : { active: false, reason })],
    ),
  );
}

export async function getMaintenance(side: Side): Promise<{ active: boolean; since: Date | null; reason: string }> {
  return withClient(side.dbUrl, async (c) => {
    const r = await c.query<{ value: { active?: boolean; since?: string; reason?: string } }>(
      `SELECT value FROM app_flags WHERE name = 'maintenance'`,
    );
    const v = r.rows[0]?.value;
    return {
      active: !!v && v.active !== false,
      since: v?.since ? new Date(v.since) : null,
      reason: v?.reason ?? '',
    };
  });
}

/**
 * The last clock move of a side (app_flags row `clock_shift`, the side's own like the switch):
 * which rows moved (open when the window began at `pausedAt`), by how much, and `at`, the
 * updated_at every moved row got (the resume transaction's start, whole ms). verify uses it to
 * compare the other side as if moved the same way; the catalog's copy of the clocks (listings)
 * moves after the switch went off while `listings` is 'pending'.
 */
export interface ClockShift {
  pausedAt: string;
  shiftMs: number;
  at: string;
  /** When maintenance went off (the commit of the resume transaction). */
  resumedAt?: string;
  listings: 'pending' | 'done';
}

const SHIFT_ROW = 'clock_shift';

async function readShift(c: pg.Client): Promise<ClockShift | null> {
  const r = await c.query<{ value: ClockShift }>(`SELECT value FROM app_flags WHERE name = $1`, [SHIFT_ROW]);
  return r.rows[0]?.value ?? null;
}

export async function getClockShift(side: Side): Promise<ClockShift | null> {
  return withClient(side.dbUrl, readShift);
}

/**
 * Moves by `byMs` the clocks that were open at `pausedAt` and of which `doneMs` have already been
 * added in this transaction: a row moved by `doneMs` has its time past `pausedAt + doneMs`, one
 * that did not move is at or before `pausedAt`, so the same predicate picks exactly the moved rows
 * again. Set-based, one statement per table, the predicates on (status, ends_at) and
 * (state, due_at) indexes' columns.
 */
async function moveClocks(c: pg.Client, pausedAt: Date, doneMs: number, byMs: number, at: Date) {
  const iv = `${byMs} milliseconds`;
  const since = new Date(pausedAt.getTime() + doneMs);
  const a = await c.query(
    `UPDATE auctions SET ends_at = ends_at + $1::interval, original_ends_at = original_ends_at + $1::interval,
       starts_at = CASE WHEN status = 'SCHEDULED' AND starts_at > $2 THEN starts_at + $1::interval ELSE starts_at END,
       updated_at = $3
     WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at > $2`,
    [iv, since, at],
  );
  const o = await c.query(
    `UPDATE orders SET due_at = due_at + $1::interval,
       remind_at = CASE WHEN remind_at > $2 AND reminded_at IS NULL THEN remind_at + $1::interval ELSE remind_at END,
       updated_at = $3
     WHERE due_at IS NOT NULL AND due_at > $2`,
    [iv, since, at],
  );
  return { auctions: a.rowCount ?? 0, orders: o.rowCount ?? 0 };
}

export interface ResumeResult {
  /** Writes refused: from `pausedAt` until maintenance went off (the commit). */
  pauseMs: number;
  /** What every open auction's end and every open order timer moved by: at least pauseMs + the apps' poll. */
  shiftMs: number;
  auctions: number;
  orders: number;
  listings: number;
  already: boolean;
  resumedAt: Date;
  /** The move as recorded on the side (null: nothing was moved for this pause). */
  shift: ClockShift | null;
}

/**
 * Ends maintenance on a side, in one transaction with moving its clocks so nobody loses the
 * chance to bid or pay that the read-only window took: every auction still open (LIVE or
 * SCHEDULED) whose end lies after `pausedAt` ends (and starts) later, and every open order timer
 * due after `pausedAt` is due later, by `shiftMs`. The pause only ends when this transaction
 * commits, so `shiftMs` is chosen ahead: the time since `pausedAt`, plus the apps' poll of the
 * switch (MAINTENANCE_POLL_MS: they see it that much later), plus a margin for the moves and the
 * commit (DAPANDA_RESUME_MARGIN_MS, default 1000, plus 0.05 ms per row); if the moves took longer
 * than that, the rows are moved again by the rest before the switch goes off. So the extension is
 * never shorter than the real pause (it is longer by at most the margin) and the pause reported is
 * the real one, `resumedAt − pausedAt`. The catalog's copy of the clocks (listings: many indexes,
 * two trigram ones) moves right after, in batches (moveListings), so the window does not wait for it.
 * Only done when the switch is still on (a second call does not move anything twice: it returns
 * what the first did).
 */
export async function endMaintenance(
  side: Side,
  pausedAt: Date,
  reason: string,
  log?: Log,
  step = 'resume',
): Promise<ResumeResult> {
  // A previous move on this side whose listings are not done yet is finished first.
  await moveListings(side, log, step);
  const ms = (raw: string | undefined, def: number) => {
    const n = Number(raw || def);
    return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : def;
  };
  const poll = ms(side.raw.MAINTENANCE_POLL_MS, 1000);
  const base = ms(side.raw.DAPANDA_RESUME_MARGIN_MS, 1000);
  const r = await withClient(side.dbUrl, async (c) => {
    await c.query('BEGIN');
    try {
      const flag = await c.query<{ value: { active?: boolean } }>(
        `SELECT value FROM app_flags WHERE name = 'maintenance' FOR UPDATE`,
      );
      if (!flag.rowCount || flag.rows[0].value.active === false) {
        await c.query('ROLLBACK');
        const prev = await readShift(c);
        const same = prev && new Date(prev.pausedAt).getTime() === pausedAt.getTime();
        const resumedAt = same && prev.resumedAt ? new Date(prev.resumedAt) : new Date();
        return {
          pauseMs: same ? resumedAt.getTime() - pausedAt.getTime() : 0,
          shiftMs: same ? prev.shiftMs : 0,
          auctions: 0,
          orders: 0,
          listings: 0,
          already: true,
          resumedAt,
          shift: same ? prev : null,
        };
      }
      const at = (await c.query<{ at: Date }>(`SELECT date_trunc('milliseconds', now()) AS at`)).rows[0].at;
      const n = await c.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM auctions WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at > $1)
              + (SELECT count(*) FROM orders WHERE due_at IS NOT NULL AND due_at > $1) AS n`,
        [pausedAt],
      );
      // Measured at 70,000 open auctions on 2 shared cores: 1 s (load 8) to 4 s (load 17) per pass.
      const margin = base + Math.ceil(Number(n.rows[0].n) * 0.05);
      const elapsed = () => Date.now() - pausedAt.getTime();
      let shiftMs = Math.max(0, elapsed() + poll + margin);
      let t = Date.now();
      const moved = await moveClocks(c, pausedAt, 0, shiftMs, at);
      let took = Date.now() - t;
      // Moves slower than the margin: once more by the rest, with room for twice the last pass (a
      // busy machine's passes vary) and the commit, so it rarely takes a third.
      const COMMIT_MS = 200;
      for (let i = 0; i < 5 && elapsed() + poll + COMMIT_MS > shiftMs; i++) {
        const more = Math.ceil(elapsed() + poll + 2 * took + COMMIT_MS - shiftMs);
        t = Date.now();
        await moveClocks(c, pausedAt, shiftMs, more, at);
        took = Date.now() - t;
        shiftMs += more;
        log?.line(step, `the clock moves took ${took} ms: moved ${more} ms more (${shiftMs} ms in all)`);
      }
      const shift: ClockShift = {
        pausedAt: pausedAt.toISOString(),
        shiftMs,
        at: at.toISOString(),
        listings: 'pending',
      };
      await c.query(
        `INSERT INTO app_flags (name, value) VALUES ($1, $2::jsonb)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [SHIFT_ROW, JSON.stringify(shift)],
      );
      await c.query(`UPDATE app_flags SET value = $1::jsonb, updated_at = now() WHERE name = 'maintenance'`, [
        JSON.stringify({ active: false, reason, shiftMs }),
      ]);
      await c.query('COMMIT');
      const resumedAt = new Date();
      shift.resumedAt = resumedAt.toISOString();
      await c.query(`UPDATE app_flags SET value = value || $2::jsonb WHERE name = $1`, [
        SHIFT_ROW,
        JSON.stringify({ resumedAt: shift.resumedAt }),
      ]);
      return {
        shift,
        pauseMs: resumedAt.getTime() - pausedAt.getTime(),
        shiftMs,
        ...moved,
        listings: 0,
        already: false,
        resumedAt,
      };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
  if (!r.already && r.pauseMs + poll > r.shiftMs)
    log?.line(
      step,
      `warning: the commit took long: the pause (${r.pauseMs} ms + ${poll} ms poll) is longer than the ${r.shiftMs} ms the clocks moved`,
    );
  r.listings = await moveListings(side, log, step);
  return r;
}

/**
 * The catalog's copy of the clocks (listings.ends_at/starts_at) follows the last clock move of
 * the side, after the switch went off: in batches of 1000, soonest end first, each its own short statement.
 * A listing moves when it was open at the pause and nobody wrote it since the move began
 * (updated_at before `at`: a bid that copies its auction's new end, or a close, wrote it already),
 * and gets updated_at = `at`; so a batch run twice (a crash, a second run) moves nothing twice.
 * Returns how many moved.
 */
export async function moveListings(side: Side, log?: Log, step = 'resume'): Promise<number> {
  return withClient(side.dbUrl, async (c) => {
    const s = await readShift(c);
    if (!s || s.listings === 'done') return 0;
    const iv = `${s.shiftMs} milliseconds`;
    const pausedAt = new Date(s.pausedAt);
    const at = new Date(s.at);
    const total = Number(
      (
        await c.query<{ n: string }>(
          `SELECT count(*) AS n FROM listings WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at > $1 AND updated_at < $2`,
          [pausedAt, at],
        )
      ).rows[0].n,
    );
    const started = Date.now();
    let moved = 0;
    // Soonest end first (the cards and the ending-soon list that matter most are right at once), by
    // a cursor over the original (ends_at, id); a moved row lands `shiftMs` later, skipped by updated_at.
    // One status at a time: an ordered scan of the (status, ends_at, id) index, no sort.
    for (const status of ['LIVE', 'SCHEDULED']) {
      let after = { endsAt: pausedAt, id: 0 };
      for (;;) {
        const r = await c.query<{ n: string; e: Date | null; id: number | null }>(
          `WITH c AS (
             SELECT id, ends_at FROM listings
              WHERE status = $6::"ListingStatus" AND ends_at > $2 AND (ends_at, id) > ($4::timestamptz, $5::int)
                AND updated_at < $3
              ORDER BY ends_at, id LIMIT 1000),
           u AS (
             UPDATE listings l SET ends_at = l.ends_at + $1::interval,
               starts_at = CASE WHEN l.status = 'SCHEDULED' AND l.starts_at > $2 THEN l.starts_at + $1::interval ELSE l.starts_at END,
               updated_at = $3
             FROM c WHERE l.id = c.id AND l.status IN ('LIVE', 'SCHEDULED') AND l.ends_at > $2 AND l.updated_at < $3
             RETURNING l.id)
           SELECT (SELECT count(*) FROM u) AS n, last.ends_at AS e, last.id
             FROM (SELECT 1) one LEFT JOIN (SELECT ends_at, id FROM c ORDER BY ends_at DESC, id DESC LIMIT 1) last ON true`,
          [iv, pausedAt, at, after.endsAt, after.id, status],
        );
        const row = r.rows[0];
        if (!row.e || row.id === null) break;
        moved += Number(row.n);
        after = { endsAt: row.e, id: row.id };
        log?.progress(step, 'listing end times moved', Math.min(moved, total), total);
      }
    }
    await c.query(`UPDATE app_flags SET value = value || '{"listings":"done"}'::jsonb WHERE name = $1`, [SHIFT_ROW]);
    log?.line(
      step,
      `listings' end times moved by ${s.shiftMs} ms after the switch: ${moved} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return moved;
  });
}
