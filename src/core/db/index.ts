/** Prisma 7 client over @prisma/adapter-pg, exposed as `app.db`. */
import fp from 'fastify-plugin';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client.js';

export type Db = PrismaClient;
export { Prisma } from '../../generated/prisma/client.js';
export * as Enums from '../../generated/prisma/enums.js';

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

/** A Prisma interactive-transaction client: modules pass it to each other's APIs to act in one transaction. */
export type Tx = import('../../generated/prisma/client.js').Prisma.TransactionClient;

/** PostgreSQL serialization failure / deadlock, as surfaced through Prisma and the pg adapter. */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; meta?: { code?: string }; cause?: { code?: string; originalCode?: string } };
  const codes = [e?.code, e?.meta?.code, e?.cause?.code, e?.cause?.originalCode];
  return codes.includes('P2034') || codes.includes('40001') || codes.includes('40P01') || /deadlock detected|could not serialize/i.test(e?.message ?? '');
}

/** Runs `fn` in a transaction, retrying a bounded number of times on serialization failures and deadlocks. */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: { attempts?: number; timeoutMs?: number } = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  for (let i = 1; ; i++) {
    try {
      return await db.$transaction(fn, { timeout: opts.timeoutMs ?? 10_000, maxWait: 5_000 });
    } catch (err) {
      if (i >= attempts || !isRetryableTxError(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 10));
    }
  }
}
