/**
 * No drift: a database built by replaying prisma/migrations and one built straight from
 * the schema files (prisma/schema/*.prisma) have the same structure; and the migration tool itself behaves like
 * `prisma migrate deploy` (records names + checksums, applies nothing twice).
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { applyMigrations, liveDriftSql, pendingSchemaSql } from '../../src/core/db/migrate.js';
import { openEngine, NO_FILTERS } from '../../src/core/db/schema-engine.js';
import { ROOT, PG_BASE, uniq } from '../helpers/env.js';

const prismaDir = path.join(ROOT, 'prisma');

async function withDb(t: Test, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  return `${PG_BASE}/${name}`;
}

/** A structural fingerprint of the public schema: columns, constraints, indexes, enums. */
async function structure(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = async (sql: string) => (await c.query(sql)).rows.map((r) => JSON.stringify(r));
    return {
      columns:
        await q(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length, numeric_precision, datetime_precision
                        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1, 2`),
      constraints: await q(`SELECT conrelid::regclass::text AS tbl, conname, contype, pg_get_constraintdef(oid) AS def
                            FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations' ORDER BY 1, 2`),
      indexes: await q(
        `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1, 2`,
      ),
      enums:
        await q(`SELECT t.typname, e.enumlabel, e.enumsortorder FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                      JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' ORDER BY 1, 3`),
    };
  } finally {
    await c.end();
  }
}

t.test('migrations and the schema files build the same database', async (t) => {
  const id = uniq();
  const fromMigrations = await withDb(t, `drift_m_${id}`);
  const fromSchema = await withDb(t, `drift_s_${id}`);

  const applied = await applyMigrations({ databaseUrl: fromMigrations, prismaDir });
  t.ok(applied.length >= 1, `applied ${applied.length} migration(s)`);
  t.same(await applyMigrations({ databaseUrl: fromMigrations, prismaDir }), [], 'a second run applies nothing');

  // The other database straight from the schema, with no migration involved.
  const { engine, files, close } = await openEngine({
    databaseUrl: fromSchema,
    schemaDir: path.join(prismaDir, 'schema'),
  });
  const diff = await engine.diff({
    from: { tag: 'empty' },
    to: { tag: 'schemaDatamodel', files },
    script: true,
    exitCode: null,
    filters: NO_FILTERS,
  });
  close();
  const c = new pg.Client({ connectionString: fromSchema });
  await c.connect();
  // The catalog's trigram indexes need pg_trgm, which its migration creates by hand (the schema cannot).
  await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await c.query(diff.stdout!);
  await c.end();

  const a = await structure(fromMigrations);
  const b = await structure(fromSchema);
  t.ok(a.columns.length > 0, 'there is something to compare');
  // Objects Prisma cannot express (CHECKs, triggers, trigram indexes) are added by hand in
  // migrations: compare what the schema describes.
  const describable = (rows: string[]) => rows.filter((r) => !/"contype":"c"|gin_trgm_ops|_trgm_idx/.test(r));
  t.same(describable(a.columns), describable(b.columns), 'same columns');
  t.same(describable(a.constraints), describable(b.constraints), 'same keys and foreign keys');
  t.same(describable(a.indexes), describable(b.indexes), 'same indexes');
  t.same(a.enums, b.enums, 'same enums');

  t.equal(await liveDriftSql({ databaseUrl: fromMigrations, prismaDir }), '', "the engine's own diff sees no drift");
  t.equal(
    await pendingSchemaSql({ databaseUrl: fromMigrations, prismaDir }),
    '',
    'no migration is missing for schema.prisma',
  );
});

t.test('applied migrations are recorded like prisma migrate deploy does', async (t) => {
  const url = await withDb(t, `drift_r_${uniq()}`);
  await applyMigrations({ databaseUrl: url, prismaDir });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const rows = (
    await c.query('SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name')
  ).rows;
  await c.end();
  const first = rows[0];
  const sql = await readFile(path.join(prismaDir, 'migrations', first.migration_name, 'migration.sql'));
  t.equal(first.checksum, createHash('sha256').update(sql).digest('hex'), 'sha256 of migration.sql');
  t.notMatch(first.migration_name, /\//, 'bare folder name, not a path');
  t.ok(
    rows.every((r) => r.finished_at),
    'all finished',
  );
});

t.test('a schema change is noticed and written as the next migration', async (t) => {
  const url = await withDb(t, `drift_n_${uniq()}`);
  await applyMigrations({ databaseUrl: url, prismaDir });
  const { mkdtemp, cp, writeFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'dapanda-prisma-'));
  t.teardown(async () => (await import('node:fs/promises')).rm(tmp, { recursive: true, force: true }));
  await cp(prismaDir, tmp, { recursive: true });
  await writeFile(
    path.join(tmp, 'schema', 'probe.prisma'),
    `model DriftProbe {\n  id Int @id\n  note String\n  @@map("drift_probes")\n}\n`,
  );
  const sql = await pendingSchemaSql({ databaseUrl: url, prismaDir: tmp });
  t.match(sql, /CREATE TABLE "drift_probes"/);
  t.notMatch(sql, /CREATE TABLE "users"/, 'only the change, not the whole schema');
  t.match(await liveDriftSql({ databaseUrl: url, prismaDir: tmp }), /drift_probes/, 'live database is behind');
});
