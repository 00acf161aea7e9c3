/**
 * Prisma 7 client over @prisma/adapter-pg, exposed as `app.db`, and the transaction helpers:
 * `transaction` (a Prisma interactive transaction) and `sqlTransaction` (plain SQL on a client of
 * the same pg pool, for the hottest path, see sql.ts).
 */
import fp from 'fastify-plugin';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../../generated/prisma/client.js';
import { isRetryableTxError, retryPause } from './retry.js';
import { registerPool } from './sql.js';

export type Db = PrismaClient;
export { Prisma };
export * as Enums from '../../generated/prisma/enums.js';
/** Row types of every model (`Models.AuctionModel`, ...): a module uses only its own tables' types. */
export type * as Models from '../../generated/prisma/models.js';

/** A Prisma interactive-transaction client: modules pass it to each other's APIs to act in one transaction. */
export type Tx = Prisma.TransactionClient;

export function createDb(databaseUrl: string, poolMax = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax });
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  // One pool for Prisma's adapter and sqlTransaction: one DB_POOL_MAX for the process.
  registerPool(db, pool);
  return db;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export const dbPlugin = fp<{ databaseUrl: string; poolMax?: number }>(
  async (app, opts) => {
    const db = createDb(opts.databaseUrl, opts.poolMax);
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.$disconnect();
    });
  },
  { name: 'core-db' },
);

export { isRetryableTxError, dbErrorMatches } from './retry.js';

export interface TransactionOptions {
  /** Tries in all, counting the first (default 4). */
  attempts?: number;
  timeoutMs?: number;
  maxWaitMs?: number;
  /** Unset: PostgreSQL's default, READ COMMITTED (row locks, not snapshots, decide who waits); set, it costs a statement. */
  isolationLevel?: Prisma.TransactionIsolationLevel;
}

/** Runs `fn` in one transaction, running it again (a bounded number of times) after a serialization failure or deadlock. */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const options = {
    timeout: opts.timeoutMs ?? 10_000,
    maxWait: opts.maxWaitMs ?? 5_000,
    ...(opts.isolationLevel ? { isolationLevel: opts.isolationLevel } : {}),
  };
  for (let i = 1; ; i++) {
    try {
      return await db.$transaction(fn, options);
    } catch (err) {
      if (i >= attempts || !isRetryableTxError(err)) throw err;
      await retryPause(i);
    }
  }
}

export { sqlTransaction, sqlQuery, prismaSql, type Sql, type SqlTx, type SqlTransactionOptions } from './sql.js';
