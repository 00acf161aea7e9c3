/**
 * Offline migration commands on top of the wasm schema engine: the same results as
 * `prisma migrate deploy`, `prisma migrate dev --create-only` and `prisma migrate diff`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { openEngine, loadMigrations, NO_FILTERS } from './schema-engine.js';

export interface MigrateOptions {
  databaseUrl: string;
  /** Holds schema/ (one .prisma file per module) and migrations/. */
  prismaDir: string;
  log?: (line: string) => void;
}

const paths = (o: MigrateOptions) => ({
  schema: path.join(o.prismaDir, 'schema'),
  migrations: path.join(o.prismaDir, 'migrations'),
});

/** Creates the target database when missing, as `prisma migrate deploy` does. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  // A database that exists is used as it is: a migration role may connect to it and nowhere else
  // (production pg_hba.conf), so the `postgres` database is asked only when the target is missing.
  const probe = new pg.Client({ connectionString: databaseUrl });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: invalid_catalog_name (no such database)
  } finally {
    await probe.end().catch(() => {});
  }
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return true;
  } finally {
    await client.end();
  }
}

/** Applies every migration not yet recorded in _prisma_migrations; returns their names. */
export async function applyMigrations(o: MigrateOptions): Promise<string[]> {
  await ensureDatabase(o.databaseUrl);
  const p = paths(o);
  const { engine, close } = await openEngine({ databaseUrl: o.databaseUrl, schemaDir: p.schema, log: o.log });
  try {
    const out = await engine.applyMigrations({
      migrationsList: await loadMigrations(p.migrations),
      filters: NO_FILTERS,
    });
    return out.appliedMigrationNames;
  } finally {
    close();
  }
}

/**
 * The SQL that takes a database built from the migrations to the current schema files.
 * The migrations are replayed on a throw-away shadow database (created and dropped by the
 * adapter), exactly as `prisma migrate dev` does. Empty string: nothing to migrate.
 */
export async function pendingSchemaSql(o: MigrateOptions): Promise<string> {
  await ensureDatabase(o.databaseUrl); // the shadow database is created through this connection
  const p = paths(o);
  const { engine, files, close } = await openEngine({ databaseUrl: o.databaseUrl, schemaDir: p.schema, log: o.log });
  try {
    const list = await loadMigrations(p.migrations);
    const from = list.migrationDirectories.length ? { tag: 'migrations' as const, ...list } : { tag: 'empty' as const };
    const res = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    });
    return isEmptyScript(res.stdout ?? '') ? '' : (res.stdout ?? '');
  } finally {
    close();
  }
}

/** The SQL that takes the live database to the schema files: empty when they match (no drift). */
export async function liveDriftSql(o: MigrateOptions): Promise<string> {
  const p = paths(o);
  const { engine, files, close } = await openEngine({ databaseUrl: o.databaseUrl, schemaDir: p.schema, log: o.log });
  try {
    const res = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: o.prismaDir },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    });
    return isEmptyScript(res.stdout ?? '') ? '' : (res.stdout ?? '');
  } finally {
    close();
  }
}

function isEmptyScript(sql: string): boolean {
  // The engine answers an empty diff with a comment line only.
  return (
    sql
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('--')).length === 0
  );
}

export function migrationFolderName(name: string, now = new Date()): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!slug) throw new Error('migration name must contain letters or digits, e.g. `add_listings`');
  const ts = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${ts}_${slug}`;
}

/** Writes prisma/migrations/<timestamp>_<name>/migration.sql; null when the schema has no change. */
export async function createMigration(o: MigrateOptions, name: string): Promise<string | null> {
  const folder = migrationFolderName(name);
  const sql = await pendingSchemaSql(o);
  if (!sql) return null;
  const dir = path.join(paths(o).migrations, folder);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  return folder;
}
