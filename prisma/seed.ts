/**
 * `npm run db:seed`: demo data. Idempotent: running it again adds nothing twice.
 * Demo accounts (documented in the README): demo@dapanda.kr and seller@dapanda.kr,
 * password dapanda-demo-1234.
 */
import { createDb } from '../src/core/db/index.js';
import { createUserDirect } from '../src/modules/accounts/index.js';

export const DEMO_PASSWORD = 'dapanda-demo-1234';
export const DEMO_USERS = [
  { email: 'demo@dapanda.kr', nickname: '다판다데모' },
  { email: 'seller@dapanda.kr', nickname: '판다셀러' },
];

async function main() {
  const db = createDb(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/dapanda');
  try {
    for (const u of DEMO_USERS) await createUserDirect(db, { ...u, password: DEMO_PASSWORD });
    console.log(`[seed] demo accounts: ${DEMO_USERS.map((u) => u.email).join(', ')} (password ${DEMO_PASSWORD})`);
  } finally {
    await db.$disconnect();
  }
}

await main();
