/**
 * `npm run db:migrate`                 apply pending migrations (like `prisma migrate deploy`)
 * `npm run db:migration:new -- <name>` write the next migration from prisma/schema/*.prisma
 * `npm run db:drift`                   exit 2 when the live database differs from the schema
 * No native Prisma engine is needed (the wasm one, core/db/schema-engine.ts). A command-line
 * entry: it reads only DATABASE_URL (through src/config.ts's cliDatabaseUrl), so a migration needs none of the
 * app's settings.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { applyMigrations, createMigration, liveDriftSql } from '../core/db/migrate.js';
import { ConfigError, cliDatabaseUrl } from '../config.js';

function findPrismaDir(): string {
  // Works from src/cli (tsx) and from dist/src/cli (release build): walk up to the folder holding prisma/.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'prisma', 'schema'))) return path.join(dir, 'prisma');
    dir = path.dirname(dir);
  }
  throw new Error('cannot find prisma/schema/ above ' + fileURLToPath(import.meta.url));
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  // Migrations run as the role that owns the schema (scripts/db-roles.sh locally, deploy/ on the VMs);
  // `new` and `drift` create a shadow database, which needs a role that may create databases.
  let databaseUrl: string;
  try {
    databaseUrl = cliDatabaseUrl(cmd);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return 1;
  }
  const opts = { databaseUrl, prismaDir: findPrismaDir() };
  const where = new URL(databaseUrl);
  where.password = where.password ? '***' : '';
  switch (cmd) {
    case 'migrate': {
      const applied = await applyMigrations(opts);
      console.log(
        applied.length
          ? `applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}`
          : `${where} is up to date`,
      );
      return 0;
    }
    case 'new': {
      const name = rest.join('_');
      if (!name) {
        console.error('usage: npm run db:migration:new -- <name>');
        return 1;
      }
      const folder = await createMigration(opts, name);
      console.log(
        folder
          ? `wrote prisma/migrations/${folder}/migration.sql`
          : 'the schema matches the migrations: nothing to write',
      );
      return 0;
    }
    case 'drift': {
      const sql = await liveDriftSql(opts);
      if (!sql) {
        console.log(`${where} matches the schema`);
        return 0;
      }
      console.log(`${where} differs from the schema; SQL to reconcile:\n${sql}`);
      return 2;
    }
    default:
      console.error('usage: db.ts migrate | new <name> | drift');
      return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`db: ${err.message}`);
    process.exit(1);
  },
);
