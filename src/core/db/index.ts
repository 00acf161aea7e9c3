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

export const dbPlugin = fp<{ databaseUrl: string }>(
  async (app, opts) => {
    const db = createDb(opts.databaseUrl);
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.$disconnect();
    });
  },
  { name: 'core-db' },
);
