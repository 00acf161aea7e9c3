/** PostgreSQL helpers of the migration tool: short-lived clients, the app's tables and their keys. */
import pg from 'pg';

/** Tables that belong to one side and are never copied: the migration history (each side runs its
 * own migrations), the side's own switches (maintenance mode) and the epoch of the side's own Redis
 * (queue_epochs: each side's workers record their Redis there the first time they start; a copy of the
 * source's row would clash with the target's own, and the timers move by cutover's re-plan, not by it). */
export const SIDE_LOCAL_TABLES = ['_prisma_migrations', 'app_flags', 'queue_epochs'];

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>, timeoutMs = 5000): Promise<T> {
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'dapanda-migrate',
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export interface TableInfo {
  name: string;
  pk: string[];
  columns: string[];
}

/** The app's tables in the public schema (sorted), with primary key and column names. */
export async function appTables(c: pg.Client): Promise<TableInfo[]> {
  const r = await c.query<{ name: string; pk: string[] | null; columns: string[] }>(
    `
    SELECT t.relname AS name,
      (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE i.indrelid = t.oid AND i.indisprimary) AS pk,
      (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
    FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relkind = 'r' AND NOT (t.relname = ANY($1))
    ORDER BY t.relname`,
    [SIDE_LOCAL_TABLES],
  );
  return r.rows.map((x) => ({ name: x.name, pk: x.pk ?? [], columns: x.columns }));
}

export const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** The sequences owned by the app's tables, with the table and column each feeds. */
export async function ownedSequences(c: pg.Client): Promise<{ seq: string; table: string; column: string }[]> {
  const r = await c.query<{ seq: string; table: string; column: string }>(`
    SELECT s.relname AS seq, t.relname AS table, a.attname AS column
    FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    JOIN pg_namespace n ON n.oid = s.relnamespace
    WHERE s.relkind = 'S' AND n.nspname = 'public' ORDER BY s.relname`);
  return r.rows;
}

/** Applied migrations (finished, not rolled back), by name. */
export async function appliedMigrations(c: pg.Client): Promise<string[]> {
  const r = await c
    .query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1`,
    )
    .catch(() => ({ rows: [] as { migration_name: string }[] }));
  return r.rows.map((x) => x.migration_name);
}

/** A libpq-style connection string without the password, and the password for PGPASSWORD (child tools). */
export function pgToolEnv(url: string): { url: string; env: Record<string, string> } {
  const u = new URL(url);
  const pw = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), env: pw ? { PGPASSWORD: pw } : {} };
}
