/** Prisma 7 client over @prisma/adapter-pg, exposed as `app.db`, and the one transaction helper. */
import fp from 'fastify-plugin';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../../generated/prisma/client.js';
import { AppError } from '../errors.js';

export type Db = PrismaClient;
export { Prisma };
export * as Enums from '../../generated/prisma/enums.js';
/** Row types of every model (`Models.AuctionModel`, ...): a module uses only its own tables' types. */
export type * as Models from '../../generated/prisma/models.js';

/** A Prisma interactive-transaction client: modules pass it to each other's APIs to act in one transaction. */
export type Tx = Prisma.TransactionClient;

export function createDb(databaseUrl: string, poolMax = 10): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolMax }) });
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

/** The error's code, message and metadata, causes included (Prisma and the pg adapter nest them). */
function errorText(err: unknown): string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as { code?: unknown; message?: unknown; meta?: unknown; cause?: unknown };
  return `${String(e.code ?? '')} ${String(e.message ?? '')} ${JSON.stringify(e.meta ?? {})} ${e.cause ? errorText(e.cause) : ''}`;
}

/** PostgreSQL serialization failure or deadlock: the whole transaction can safely run again. */
export function isRetryableTxError(err: unknown): boolean {
  if (err instanceof AppError) return false;
  return /P2034|40001|40P01|deadlock detected|could not serialize/i.test(errorText(err));
}

/** Matches an error from the database against a pattern, causes included (e.g. a trigger's message). */
export const dbErrorMatches = (err: unknown, re: RegExp): boolean =>
  !(err instanceof AppError) && re.test(errorText(err));

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
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 10 * i));
    }
  }
}
