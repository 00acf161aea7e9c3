/** The maintenance switch of one side (core/maintenance.ts reads it): its own row, never copied. */
import type { Side } from './env.js';
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
 * Ends maintenance on a side, in one transaction with moving its clocks by the pause: every
 * auction still open (LIVE or SCHEDULED) whose end lies after `pausedAt` ends (and starts)
 * `now - pausedAt` later, and every open order timer due after `pausedAt` is due that much later,
 * so nobody loses the chance to bid or pay that the read-only window took. Only done when the
 * switch is still on (a second call does not move anything twice). Returns the pause in ms and
 * how many auctions and orders moved.
 */
export async function endMaintenance(
  side: Side,
  pausedAt: Date,
  reason: string,
): Promise<{ pauseMs: number; auctions: number; listings: number; orders: number; already: boolean }> {
  return withClient(side.dbUrl, async (c) => {
    await c.query('BEGIN');
    try {
      const flag = await c.query<{ value: { active?: boolean } }>(
        `SELECT value FROM app_flags WHERE name = 'maintenance' FOR UPDATE`,
      );
      if (!flag.rowCount || flag.rows[0].value.active === false) {
        await c.query('ROLLBACK');
        return { pauseMs: 0, auctions: 0, listings: 0, orders: 0, already: true };
      }
      const now = (await c.query<{ now: Date }>(`SELECT clock_timestamp() AS now`)).rows[0].now;
      const pauseMs = Math.max(0, now.getTime() - pausedAt.getTime());
      const iv = `${pauseMs} milliseconds`;
      const a = await c.query(
        `UPDATE auctions SET ends_at = ends_at + $1::interval, original_ends_at = original_ends_at + $1::interval,
           starts_at = CASE WHEN status = 'SCHEDULED' AND starts_at > $2 THEN starts_at + $1::interval ELSE starts_at END,
           updated_at = now()
         WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at > $2 RETURNING id`,
        [iv, pausedAt],
      );
      // The catalog's copy of the auction's clock (cards, search) moves with it.
      const l = await c.query(
        `UPDATE listings SET ends_at = ends_at + $1::interval,
           starts_at = CASE WHEN status = 'SCHEDULED' AND starts_at > $2 THEN starts_at + $1::interval ELSE starts_at END,
           updated_at = now()
         WHERE status IN ('LIVE', 'SCHEDULED') AND ends_at > $2`,
        [iv, pausedAt],
      );
      const o = await c.query(
        `UPDATE orders SET due_at = due_at + $1::interval,
           remind_at = CASE WHEN remind_at > $2 AND reminded_at IS NULL THEN remind_at + $1::interval ELSE remind_at END,
           updated_at = now()
         WHERE due_at IS NOT NULL AND due_at > $2`,
        [iv, pausedAt],
      );
      await c.query(`UPDATE app_flags SET value = $1::jsonb, updated_at = now() WHERE name = 'maintenance'`, [
        JSON.stringify({ active: false, reason, endedAt: now.toISOString(), pauseMs }),
      ]);
      await c.query('COMMIT');
      return { pauseMs, auctions: a.rowCount ?? 0, listings: l.rowCount ?? 0, orders: o.rowCount ?? 0, already: false };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}
