/**
 * Micro benchmark: hold/release postings per second under 16 concurrent clients, against the
 * real database (DATABASE_URL, migrated; default the local dev database) and Redis.
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/dapanda npx tsx scripts/bench-wallet.ts [seconds]
 * Two runs: each client on its own user (no shared rows), then all clients on one user (every
 * operation queues on the same account rows: the worst case for a bidding war).
 * Each hold and each release writes 2 postings.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDb } from '../src/core/db/index.js';
import { walletApi, createTestCardGateway } from '../src/modules/wallet/index.js';
import { topUp } from '../src/modules/wallet/service.js';

const CLIENTS = 16;
const seconds = Number(process.argv[2] ?? 10);
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/dapanda';
const db = createDb(databaseUrl, CLIENTS + 4);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `bench_${randomUUID().slice(0, 8)}`;
const deps = { db, gateway: createTestCardGateway({ redis, prefix }), withdrawalFee: 500 };
const wallet = walletApi(db);
const run = randomUUID().slice(0, 8);
// Synthetic user ids far above real ones: the ledger keys accounts by id and has no FK to users.
const userBase = 2_000_000_000 - Math.floor(Math.random() * 1_000_000) * 100;

async function bench(label: string, userOf: (client: number) => number): Promise<void> {
  const users = [...new Set(Array.from({ length: CLIENTS }, (_, i) => userOf(i)))];
  for (const u of users)
    await topUp(deps, { userId: u, amount: 10_000_000, key: randomUUID(), cardNumber: '4242424242424242' });
  let ops = 0;
  let refused = 0;
  const latencies: number[] = [];
  const stopAt = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; Date.now() < stopAt; i++) {
        const ref = `bench:${run}:${label.replace(/\s+/g, '-')}:${c}:${i}`;
        const t0 = performance.now();
        try {
          await wallet.hold(userOf(c), 1_000, ref);
          await wallet.releaseHold(ref);
          ops += 2;
        } catch (err) {
          if (refused++ === 0) console.error('first refusal:', err);
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  console.log(
    `${label}: ${CLIENTS} clients, ${seconds}s: ${ops} operations = ${((ops * 2) / seconds).toFixed(0)} postings/s (${(ops / seconds).toFixed(0)} ops/s); ` +
      `hold+release round trip p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; refused ${refused}`,
  );
  const b = await Promise.all(users.map((u) => wallet.balances(u)));
  if (b.some((x) => x.held !== 0 || x.available !== 10_000_000))
    throw new Error('balances drifted during the benchmark');
}

try {
  await bench('separate users', (c) => userBase + c);
  await bench('one shared user', () => userBase + 50);
} finally {
  await db.$disconnect();
  await redis.quit();
}
