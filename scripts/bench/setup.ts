/**
 * The bench's data: a scratch database created and migrated here, funded users (the wallet's
 * real top-up path), listings opened as auctions by bidding's own openAuction (what the
 * `listing.created` listener calls), all created directly in the database before the server runs.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { applyMigrations } from '../../src/core/db/migrate.js';
import { createDb, type Db } from '../../src/core/db/index.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { createTestCardGateway } from '../../src/modules/wallet/index.js';
import { topUp } from '../../src/modules/wallet/service.js';
import { openAuction } from '../../src/modules/bidding/index.js';
import { catalogApi } from '../../src/modules/catalog/index.js';

export const PASSWORD = 'bench password 1234';

export async function scratchDatabase(base: string, root: string): Promise<string> {
  const url = `${base}/dapanda_bench_${randomUUID().slice(0, 8)}`;
  await applyMigrations({ databaseUrl: url, prismaDir: path.join(root, 'prisma') });
  return url;
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

async function inBatches<T, R>(items: T[], size: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map((x, j) => fn(x, i + j)))));
  return out;
}

export interface BenchUser {
  id: number;
  email: string;
}

/** Users with `points` each, credited by a test-card top-up. */
export async function makeUsers(
  db: Db,
  redis: Redis,
  prefix: string,
  n: number,
  points: number,
  tag: string,
): Promise<BenchUser[]> {
  const gateway = createTestCardGateway({ redis, prefix });
  const deps = { db, gateway, withdrawalFee: 500 };
  return inBatches(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const email = `bench-${tag}-${i}-${prefix}@example.com`;
      const u = await createUserDirect(db, {
        email,
        nickname: `${tag}${i}_${prefix.slice(-6)}`.slice(0, 20),
        password: PASSWORD,
      });
      if (points > 0) {
        const r = await topUp(deps, {
          userId: u.id,
          amount: points,
          key: randomUUID(),
          cardNumber: '4242 4242 4242 4242',
        });
        if (r.status !== 'credited') throw new Error(`top-up failed: ${r.status}`);
      }
      return { id: u.id, email };
    },
  );
}

/**
 * `n` users with no points who share one password hash (hashed once: argon2 per user would cost
 * the bench a minute for 1,000 watchers); each still logs in over HTTP, verifying it.
 */
export async function makeWatchers(db: Db, prefix: string, n: number): Promise<BenchUser[]> {
  const email = (i: number) => `bench-w-${i}-${prefix}@example.com`;
  const first = await createUserDirect(db, { email: email(0), nickname: `w0_${prefix.slice(-6)}`, password: PASSWORD });
  await db.user.createMany({
    data: Array.from({ length: n - 1 }, (_, k) => ({
      email: email(k + 1),
      nickname: `w${k + 1}_${prefix.slice(-6)}`.slice(0, 20),
      passwordHash: first.passwordHash,
    })),
  });
  const rows = await db.user.findMany({
    where: { email: { in: Array.from({ length: n }, (_, i) => email(i)) } },
    select: { id: true, email: true },
    orderBy: { id: 'asc' },
  });
  return rows;
}

/** `n` live listings of `sellerId` ending in an hour (or `endsInMs`), each opened as an auction. Returns their ids. */
export async function makeAuctions(
  db: Db,
  sellerId: number,
  n: number,
  startPrice: number,
  endsInMs = 3600_000,
): Promise<number[]> {
  const category = await db.category.findFirstOrThrow({ where: { parentId: { not: null } }, orderBy: { id: 'asc' } });
  const now = Date.now();
  const rows = await db.listing.createManyAndReturn({
    data: Array.from({ length: n }, (_, i) => ({
      sellerId,
      title: `벤치 경매 ${i + 1}`,
      description: '벤치마크 상품',
      categoryId: category.id,
      condition: 'GOOD' as const,
      startPrice,
      startsAt: new Date(now - 1000),
      endsAt: new Date(now + endsInMs),
      durationDays: 1,
      status: 'LIVE' as const,
      currentPrice: startPrice,
    })),
    select: { id: true },
  });
  const catalog = catalogApi(db);
  await inBatches(rows, 20, async (r) => {
    const l = await catalog.getListingForAuction(r.id);
    // The running server's sweeper may open it first (it opens any listing an event missed).
    if (!l) throw new Error(`listing ${r.id} not found`);
    if (!(await openAuction({ db }, l)) && !(await db.auction.findUnique({ where: { id: r.id } })))
      throw new Error(`auction ${r.id} not opened`);
  });
  return rows.map((r) => r.id);
}

export { createDb };
