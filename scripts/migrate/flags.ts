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
