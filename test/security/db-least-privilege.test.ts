/**
 * The app runs as a DML-only role, as on the VMs: it reads and writes rows but cannot drop,
 * alter or truncate tables, create objects or databases, or touch the migration history; tables
 * a later migration creates are usable by it without anyone remembering a GRANT.
 */
import t from 'tap';
import pg from 'pg';
import { execFileSync } from 'node:child_process';
import { testDatabaseUrl, migratorDatabaseUrl, uniq, ROOT } from '../helpers/env.js';
import { startApp } from '../helpers/app.js';

async function client(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** The error code PostgreSQL answers `sql` with (inside a transaction rolled back), or 'ok'. */
async function attempt(c: pg.Client, sql: string): Promise<string> {
  await c.query('BEGIN');
  try {
    await c.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await c.query('ROLLBACK');
  }
}

t.test('the app role: rows yes, structure and migration history no', async (t) => {
  const app = await client(await testDatabaseUrl());
  t.teardown(() => app.end());
  const who = (
    await app.query(
      `SELECT current_user AS u, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user`,
    )
  ).rows[0];
  t.same(
    who,
    { u: 'dapanda_app', rolsuper: false, rolcreatedb: false, rolcreaterole: false },
    'connected as dapanda_app, no special powers',
  );

  const refused: [string, string][] = [
    ['DROP TABLE listings', 'DROP'],
    ['ALTER TABLE listings ADD COLUMN sneaky int', 'ALTER'],
    ['TRUNCATE ledger_entries', 'TRUNCATE'],
    ['TRUNCATE users CASCADE', 'TRUNCATE CASCADE'],
    [
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('x', 'x', 'x', now(), 1)`,
      'INSERT _prisma_migrations',
    ],
    [`UPDATE "_prisma_migrations" SET checksum = 'x'`, 'UPDATE _prisma_migrations'],
    [`DELETE FROM "_prisma_migrations"`, 'DELETE _prisma_migrations'],
    ['CREATE TABLE sneaky (id int)', 'CREATE TABLE'],
    ['CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'CREATE FUNCTION'],
    ['ALTER TABLE wallet_accounts DISABLE TRIGGER ALL', 'disable the ledger triggers'],
    ['CREATE INDEX sneaky_idx ON listings (title)', 'CREATE INDEX'],
  ];
  for (const [sql, what] of refused) t.equal(await attempt(app, sql), '42501', `${what}: insufficient_privilege`);
  t.not(await attempt(app, 'CREATE DATABASE sneaky'), 'ok', 'CREATE DATABASE refused');
  t.equal(await attempt(app, 'SELECT count(*) FROM listings'), 'ok', 'reads rows');
  t.equal(await attempt(app, `UPDATE categories SET position = position WHERE id = -1`), 'ok', 'writes rows');
});

t.test("the running app and the tests' apps connect as the app role", async (t) => {
  const { app } = await startApp(t);
  const [{ u }] = await app.db.$queryRaw<{ u: string }[]>`SELECT current_user::text AS u`;
  t.equal(u, 'dapanda_app');
});

t.test('a table a later migration creates is usable by the app without a GRANT', async (t) => {
  const name = `future_${uniq()}`;
  const migrator = await client(await migratorDatabaseUrl());
  const app = await client(await testDatabaseUrl());
  t.teardown(async () => {
    await migrator.query(`DROP TABLE IF EXISTS "${name}"`);
    await Promise.all([migrator.end(), app.end()]);
  });
  t.equal(
    (await migrator.query('SELECT current_user AS u')).rows[0].u,
    'dapanda_migrator',
    'migrations run as the migrator',
  );
  await migrator.query(`CREATE TABLE "${name}" (id serial PRIMARY KEY, note text)`);
  await app.query(`INSERT INTO "${name}" (note) VALUES ('hello')`);
  t.equal(
    (await app.query(`SELECT count(*)::int AS n FROM "${name}"`)).rows[0].n,
    1,
    'insert and select, sequence included',
  );
  t.equal(await attempt(app, `DROP TABLE "${name}"`), '42501', 'but not drop it');
});

t.test('re-provisioning a migrated database (roles.sql again) gives the app no migration history', async (t) => {
  const url = new URL(await testDatabaseUrl());
  const admin = `${process.env.TEST_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432'}/postgres`;
  // What deploy/provision/data.sh and every `npm run up` / `npm test` do on a database that exists.
  execFileSync('bash', ['scripts/db-roles.sh', admin, decodeURIComponent(url.pathname.slice(1))], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  const app = await client(url.toString());
  t.teardown(() => app.end());
  for (const [sql, what] of [
    [`UPDATE "_prisma_migrations" SET checksum = 'x'`, 'UPDATE'],
    [`DELETE FROM "_prisma_migrations"`, 'DELETE'],
    [`SELECT count(*) FROM "_prisma_migrations"`, 'SELECT'],
  ])
    t.equal(await attempt(app, sql), '42501', `${what} _prisma_migrations refused after roles.sql ran again`);
  t.equal(await attempt(app, 'SELECT count(*) FROM listings'), 'ok', 'rows are still readable');
});
