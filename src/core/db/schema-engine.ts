/**
 * Prisma's own schema engine (compiled to wasm, from npm) driven through the pg driver adapter,
 * so migrations apply and generate with no native engine download: our CI machines and the
 * air-gapped on-prem sites cannot fetch one.
 *
 * One fix makes the engine's introspection work: PostgreSQL's catalog returns columns of the
 * internal one-byte type `"char"` (oid 18, e.g. pg_class.relkind) and a few other catalog types
 * that @prisma/adapter-pg 7.10 has no mapping for ("Column type 'char' could not be
 * deserialized"). Their text form is exactly what the engine expects, so our pg Client reports
 * them as `text`. With that, diffing against a live database and against a shadow database
 * built from the migrations both work, which is what `prisma migrate dev` does.
 */
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const TEXT_OID = 25;
/** Catalog types the adapter cannot map but whose text form is all the engine reads. */
export const CATALOG_TEXT_OIDS = new Set([
  18, // "char"
  22, // int2vector
  24, // regproc
  30, // oidvector
  194, // pg_node_tree
  1033, // aclitem
  2205, // regclass
  2206, // regtype
]);

interface FieldLike {
  dataTypeID: number;
}
function patchFields(result: unknown): void {
  const list = Array.isArray(result) ? result : [result];
  for (const r of list) {
    const fields = (r as { fields?: FieldLike[] } | undefined)?.fields;
    if (!fields) continue;
    for (const f of fields) if (CATALOG_TEXT_OIDS.has(f.dataTypeID)) f.dataTypeID = TEXT_OID;
  }
}

/** A pg Client whose results report catalog-only types as text (see the file comment). */
export class CatalogTextClient extends pg.Client {
  // pg's query() has many overloads (promise and callback forms); wrap both without changing them.
  override query(...args: unknown[]): any {
    const cbIndex = args.findIndex((a) => typeof a === 'function');
    if (cbIndex >= 0) {
      const cb = args[cbIndex] as (err: Error | null, res?: unknown) => void;
      args[cbIndex] = (err: Error | null, res?: unknown) => {
        if (!err) patchFields(res);
        cb(err, res);
      };
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const ret = (super.query as (...a: unknown[]) => unknown)(...args);
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      return (ret as Promise<unknown>).then((res) => {
        patchFields(res);
        return res;
      });
    }
    return ret; // a Submittable (cursor/stream) is returned as is
  }
}

export function toClientConfig(databaseUrl: string): pg.ClientConfig {
  const c = parse(databaseUrl);
  return {
    host: c.host ?? undefined,
    port: c.port ? Number(c.port) : undefined,
    user: c.user ?? undefined,
    password: c.password ?? undefined,
    database: c.database ?? undefined,
    ssl: c.ssl as pg.ClientConfig['ssl'],
  };
}

/**
 * The adapter's executeScript splits a migration on every `;`, which cuts dollar-quoted
 * function bodies (triggers, plpgsql) in half. Prisma's native engine sends the script as one
 * simple query; this does the same, keeping the adapter's error mapping.
 */
function wholeScripts<T>(conn: T): T {
  const c = conn as unknown as {
    client: { query(sql: string): Promise<unknown> };
    onError(e: unknown): never;
    executeScript(script: string): Promise<void>;
  };
  c.executeScript = async (script: string) => {
    try {
      await c.client.query(script);
    } catch (e) {
      c.onError(e);
    }
  };
  return conn;
}

/**
 * The engine reads pg_constraint.contype (a `"char"`, reported as text above) as a one-character
 * value: as text it panics on any table with a CHECK constraint ("constraint_type ... as char
 * failed"). The adapter's result marks that column as a character column again.
 */
const CHARACTER_COLUMN_TYPE = 6; // ColumnTypeEnum.Character in @prisma/driver-adapter-utils
const CHAR_COLUMNS = new Set(['constraint_type']);
type Queryable = Awaited<ReturnType<PrismaPg['connect']>>;
function withCharColumns<T extends Pick<Queryable, 'queryRaw'>>(adapter: T): T {
  const queryRaw = adapter.queryRaw.bind(adapter);
  adapter.queryRaw = async (...args: Parameters<Queryable['queryRaw']>) => {
    const res = await queryRaw(...args);
    res.columnNames.forEach((name, i) => {
      if (CHAR_COLUMNS.has(name)) (res.columnTypes as number[])[i] = CHARACTER_COLUMN_TYPE;
    });
    return res;
  };
  return adapter;
}

/**
 * The adapter's own connectToShadowDb drops the shadow database while its pool still holds a
 * connection ("is being accessed by other users"), leaving a database behind on every run.
 * This one closes the shadow pool first and drops with FORCE.
 */
function withShadowDb(config: pg.PoolConfig) {
  const base = new PrismaPg(config);
  return {
    provider: base.provider as 'postgres',
    adapterName: base.adapterName,
    connect: async () => withCharColumns(wholeScripts(await base.connect())),
    async connectToShadowDb() {
      const main = await base.connect();
      const database = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
      await main.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = withCharColumns(wholeScripts(await new PrismaPg({ ...config, database }).connect()));
      const disposeShadow = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await disposeShadow();
        await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await main.dispose();
      };
      return shadow;
    },
  };
}

export type Engine = Awaited<ReturnType<typeof import('@prisma/schema-engine-wasm').SchemaEngine.new>>;
export type MigrationList = Parameters<Engine['applyMigrations']>[0]['migrationsList'];

let lastPanic = '';
/** The message of the engine's last panic, for error reports. */
export const lastEnginePanic = () => lastPanic;

export const NO_FILTERS = { externalTables: [] as string[], externalEnums: [] as string[] };

/**
 * The engine module without `--experimental-wasm-modules`: its entry imports the .wasm file as
 * an ES module, which Node 20 only allows behind that flag. The glue it wraps is exported on its
 * own, so the .wasm is compiled here and handed to it the same way, and every `node` and `tsx`
 * command runs without extra flags.
 */
let engineModule: Promise<typeof import('@prisma/schema-engine-wasm')> | null = null;
function loadEngineModule(): Promise<typeof import('@prisma/schema-engine-wasm')> {
  engineModule ??= (async () => {
    const bg =
      (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as typeof import('@prisma/schema-engine-wasm') & {
        __wbg_set_wasm(exports: WebAssembly.Exports): void;
      };
    const wasmFile = path.join(
      path.dirname(createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
      'schema_engine_bg.wasm',
    );
    const module = await WebAssembly.compile(await readFile(wasmFile));
    const instance = await WebAssembly.instantiate(module, {
      './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports,
    });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return engineModule;
}

/** The schema's files (prisma/schema/*.prisma), as the engine and Prisma's CLI read them. */
export async function readSchemaFiles(schemaDir: string): Promise<{ path: string; content: string }[]> {
  const names = (await readdir(schemaDir)).filter((n) => n.endsWith('.prisma')).sort();
  if (!names.length) throw new Error(`no .prisma files in ${schemaDir}`);
  return Promise.all(names.map(async (n) => ({ path: n, content: await readFile(path.join(schemaDir, n), 'utf8') })));
}

export async function openEngine(opts: {
  databaseUrl: string;
  schemaDir: string;
  log?: (line: string) => void;
}): Promise<{ engine: Engine; files: { path: string; content: string }[]; close: () => void }> {
  const { SchemaEngine } = await loadEngineModule();
  // The engine reports a Rust panic's message through this global before it throws; without
  // it the panic surfaces as an unrelated TypeError (Prisma's CLI installs the same registry).
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
  g.PRISMA_WASM_PANIC_REGISTRY ??= {
    set_message: (m: string) => {
      lastPanic = m;
    },
  };
  const files = await readSchemaFiles(opts.schemaDir);
  // Explicit fields, not `connectionString`: the adapter makes its shadow database by copying
  // this config with another `database`, and a connection string would silently win over it,
  // replaying migrations on the real database instead.
  const pool = { ...toClientConfig(opts.databaseUrl), Client: CatalogTextClient } as pg.PoolConfig;
  const factory = bindMigrationAwareSqlAdapterFactory(withShadowDb(pool));
  const log = opts.log ?? (() => {});
  const engine = await SchemaEngine.new(
    { datamodels: files.map((f) => [f.path, f.content] as [string, string]) },
    (line: string) => log(line),
    factory,
  );
  return { engine, files, close: () => engine.free() };
}

/** Reads prisma/migrations the way `prisma migrate` does: one folder each, holding migration.sql. */
export async function loadMigrations(migrationsDir: string): Promise<MigrationList> {
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  const names = existsSync(migrationsDir)
    ? (await readdir(migrationsDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  const migrationDirectories = [];
  for (const name of names) {
    const file = path.join(migrationsDir, name, 'migration.sql');
    const content = existsSync(file)
      ? { tag: 'ok' as const, value: await readFile(file, 'utf8') }
      : { tag: 'error' as const, value: `missing ${file}` };
    // `path` must be the bare folder name: the engine records it as the migration's name.
    migrationDirectories.push({ path: name, migrationFile: { path: 'migration.sql', content } });
  }
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}
