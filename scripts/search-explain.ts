/**
 * Inserts 100,000 generated listings into a scratch database (created, migrated, seeded with
 * the demo data first) and prints EXPLAIN (ANALYZE, BUFFERS) of a filtered trigram search.
 * Usage: npx tsx scripts/search-explain.ts [postgresql://.../dapanda_explain]
 * (the wasm flag is for the migration engine, as in every npm script that migrates).
 */
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { applyMigrations } from '../src/core/db/migrate.js';

const url = process.argv[2] ?? 'postgresql://postgres@127.0.0.1:5432/dapanda_explain';
const root = path.resolve(import.meta.dirname, '..');
await applyMigrations({ databaseUrl: url, prismaDir: path.join(root, 'prisma') });
execFileSync('npx', ['tsx', 'prisma/seed.ts'], {
  cwd: root,
  env: { ...process.env, DATABASE_URL: url, STORAGE_DIR: path.join(root, '.data', 'explain-storage') },
  stdio: 'inherit',
});
const db = new pg.Client({ connectionString: url });
await db.connect();
const {
  rows: [{ n }],
} = await db.query('SELECT count(*)::int AS n FROM listings');
if (n < 100_000) {
  const t0 = Date.now();
  // Titles from Korean and English words, so trigram statistics look like real data.
  await db.query(`
    INSERT INTO listings (seller_id, title, description, category_id, condition, start_price, starts_at, ends_at, duration_days, status, current_price, bid_count, updated_at)
    SELECT (SELECT min(id) FROM users),
           (ARRAY['아이폰','갤럭시','맥북','아이패드','에어팟','캠핑','의자','자전거','레고','닌텐도','MacBook','iPhone','Galaxy','Sony','Canon'])[1 + (g % 15)]
             || ' ' || (ARRAY['13','프로','미니','에어','울트라','팝니다','급처','새것','Pro','Max'])[1 + ((g / 15) % 10)] || ' ' || g,
           '상품 설명 ' || md5(g::text) || ' 택배 가능, 직거래 환영',
           (SELECT id FROM categories WHERE parent_id IS NOT NULL ORDER BY id OFFSET (g % 35) LIMIT 1),
           (ARRAY['NEW','LIKE_NEW','GOOD','FAIR','FOR_PARTS'])[1 + (g % 5)]::"ListingCondition",
           1000 + (g % 500) * 1000, now() - interval '1 day', now() + ((g % 336) || ' hours')::interval, 14,
           (CASE WHEN g % 10 = 0 THEN 'ENDED_UNSOLD' ELSE 'LIVE' END)::"ListingStatus",
           1000 + (g % 500) * 1000, g % 40, now()
    FROM generate_series(1, 100000) g`);
  await db.query('ANALYZE listings');
  console.log(`inserted 100,000 listings in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
// The query searchListings sends for: q=아이폰, category 디지털기기 (+children), 100,000-1,000,000 won, live, best match.
const q = '아이폰';
const sql = `EXPLAIN (ANALYZE, BUFFERS)
  SELECT * FROM (
    SELECT l.id, l.title, l.current_price, l.bid_count, l.status::text AS status, l.starts_at, l.ends_at, l.created_at, l.cover_photo_id,
      ((CASE WHEN l.title ILIKE $2 THEN 1000 ELSE 0 END) + round(word_similarity($1, l.title) * 500) + round(word_similarity($1, l.description) * 100))::int AS score
    FROM listings l
    WHERE l.status = 'LIVE' AND l.category_id = ANY($3::int[]) AND l.current_price >= 100000 AND l.current_price <= 1000000
      AND (((l.title ILIKE $2 OR l.description ILIKE $2)) OR $1 <% l.title)
  ) s ORDER BY score DESC, id DESC LIMIT 25`;
const cats = (
  await db.query(
    `SELECT id FROM categories WHERE slug = 'digital' OR parent_id = (SELECT id FROM categories WHERE slug = 'digital')`,
  )
).rows.map((r) => r.id);
const t1 = Date.now();
const plan = await db.query(sql, [q, `%${q}%`, cats]);
console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
console.log(
  `wall time ${Date.now() - t1} ms over ${(await db.query('SELECT count(*)::int AS n FROM listings')).rows[0].n} listings`,
);
await db.end();
