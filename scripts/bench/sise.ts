/**
 * 시세 at scale: loads 100,000 listings (with their auctions; most sold, over the last 180 days)
 * into DATABASE_URL's database, then EXPLAIN (ANALYZE, BUFFERS)s the 시세 statement exactly as
 * the app sends it (siseSql) and times siseFor, warm, for a popular, a rare and a one-word title.
 *
 *   DATABASE_URL=... MIGRATE_DATABASE_URL=... npx tsx scripts/bench/sise.ts          (loads once, then measures)
 *   SISE_BENCH_RELOAD=1 ...   deletes this script's rows and loads them again
 *   SISE_BENCH_CLEAN=1 ...    only deletes them
 *
 * The rows belong to one seller (nickname `sisebench`); titles are a product stem per category
 * plus variants, so a similar-title search finds hundreds of sales, as a popular model would.
 * Rows go in through the migrator role (the app role has no bulk rights it needs for this).
 */
import pg from 'pg';
import { createDb, Prisma } from '../../src/core/db/index.js';
import { siseSql, siseFor, siseText } from '../../src/modules/catalog/sise.js';

const TOTAL = Number(process.env.SISE_BENCH_LISTINGS ?? 100_000);
const URL = process.env.MIGRATE_DATABASE_URL ?? process.env.DATABASE_URL;
const APP_URL = process.env.DATABASE_URL ?? URL;
if (!URL || !APP_URL) throw new Error('set DATABASE_URL (and MIGRATE_DATABASE_URL) to your own database');
const NICK = 'sisebench';

const STEMS = [
  '아이폰 13 프로',
  '아이폰 14',
  '갤럭시 S23 울트라',
  '갤럭시 Z 플립5',
  '픽셀 7',
  '아이패드 에어 5',
  '갤럭시 탭 S9',
  '맥북 에어 M2',
  '맥북 프로 14',
  'LG 그램 16',
  '레노버 씽크패드',
  '소니 A7M3',
  '캐논 EOS R6',
  '후지필름 X100V',
  '에어팟 프로 2',
  '소니 WH-1000XM5',
  '보스 QC45',
  '애플워치 8',
  '갤럭시 워치6',
  '닌텐도 스위치 OLED',
  '플레이스테이션 5',
  '엑스박스 시리즈 X',
  '다이슨 V15 청소기',
  'LG 퓨리케어 공기청정기',
  '발뮤다 토스터',
  '드롱기 커피머신',
  '필립스 에어프라이어',
  '이케아 포엥 의자',
  '시디즈 T50 의자',
  '한샘 책상',
  '무인양품 선반',
  '노스페이스 눕시 패딩',
  '나이키 에어포스1',
  '뉴발란스 993',
  '루이비통 네버풀',
  '몽클레어 패딩',
  '해리포터 전집',
  '수학의 정석',
  '원피스 만화 전권',
  '브롬톤 자전거',
  '스노우피크 텐트',
  '헬리녹스 체어',
  '타이틀리스트 드라이버',
  '캘러웨이 아이언',
  '요가 매트',
  '레고 테크닉 포르쉐',
  '건담 PG 유니콘',
  '야마하 디지털피아노',
  '펜더 스트랫',
  '카탄 보드게임',
  '스토케 유모차',
  '부가부 폭스',
  '뽀로로 자동차',
  '아기 옷 세트',
  '설화수 세트',
  '조말론 향수',
  '샤넬 립스틱',
  '콘서트 티켓',
  '고양이 캣타워',
  '캠핑 랜턴',
];
const VARIANTS = [
  '128GB',
  '256GB',
  '512GB',
  '블랙',
  '화이트',
  '실버',
  '블루',
  '풀박스',
  '미개봉',
  'S급',
  'A급',
  '급처',
  '정품',
  '새상품',
  '중고',
  '박스없음',
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function load(c: pg.Client) {
  const cats = (
    await c.query<{ id: number }>('SELECT id FROM categories WHERE parent_id IS NOT NULL ORDER BY id')
  ).rows.map((r) => r.id);
  let seller = (await c.query<{ id: number }>('SELECT id FROM users WHERE nickname = $1', [NICK])).rows[0]?.id;
  if (!seller) {
    seller = (
      await c.query<{ id: number }>(
        `INSERT INTO users (email, nickname, password_hash, updated_at) VALUES ($1, $2, 'x', now()) RETURNING id`,
        [`${NICK}@example.com`, NICK],
      )
    ).rows[0].id;
  }
  const rand = rng(42);
  const now = Date.now();
  const DAY = 86_400_000;
  const BATCH = 2000;
  for (let done = 0; done < TOTAL; done += BATCH) {
    const vals: unknown[] = [];
    const rows: string[] = [];
    for (let i = 0; i < Math.min(BATCH, TOTAL - done); i++) {
      const stem = Math.floor(rand() * STEMS.length);
      const title = [
        STEMS[stem],
        VARIANTS[Math.floor(rand() * VARIANTS.length)],
        rand() < 0.5 ? VARIANTS[Math.floor(rand() * VARIANTS.length)] : '',
      ]
        .filter(Boolean)
        .join(' ');
      const r = rand();
      const status = r < 0.6 ? 'ENDED_SOLD' : r < 0.75 ? 'ENDED_UNSOLD' : r < 0.95 ? 'LIVE' : 'SCHEDULED';
      const ended = status.startsWith('ENDED');
      const endsAt = ended ? now - rand() * 180 * DAY : now + (0.1 + rand() * 7) * DAY;
      const base = 10_000 * (1 + (stem % 30));
      const price = Math.round((base * (0.5 + rand())) / 100) * 100;
      const p = vals.length;
      rows.push(
        `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, 'GOOD', 1000, $${p + 5}, $${p + 6}::timestamptz, $${p + 7}::timestamptz, 7, $${p + 8}::"ListingStatus", $${p + 9}, now())`,
      );
      vals.push(
        seller,
        title,
        `${title} 팝니다`,
        cats[stem % cats.length],
        price,
        new Date(endsAt - 7 * DAY),
        new Date(endsAt),
        status,
        ended ? 3 : 0,
      );
    }
    const ins = await c.query<{ id: number; status: string; current_price: number; ends_at: Date; starts_at: Date }>(
      `INSERT INTO listings (seller_id, title, description, category_id, condition, start_price, current_price, starts_at, ends_at,
                             duration_days, status, bid_count, updated_at)
       VALUES ${rows.join(',')} RETURNING id, status::text, current_price, ends_at, starts_at`,
      vals,
    );
    // Their auctions, as bidding leaves them (sold ones with a final price and close time).
    const av: unknown[] = [];
    const ar: string[] = [];
    for (const l of ins.rows) {
      const p = av.length;
      const sold = l.status === 'ENDED_SOLD';
      const st = l.status.startsWith('ENDED') ? 'ENDED' : l.status;
      ar.push(
        `($${p + 1}, $${p + 2}, $${p + 3}::"AuctionStatus", $${p + 4}::"AuctionOutcome", 1000, $${p + 5}, $${p + 6}, $${p + 7}::timestamptz, $${p + 8}::timestamptz, $${p + 8}::timestamptz, $${p + 9}::timestamptz, $${p + 10}, now())`,
      );
      av.push(
        l.id,
        seller,
        st,
        st === 'ENDED' ? (sold ? 'SOLD' : 'UNSOLD') : null,
        l.current_price,
        sold ? 3 : 0,
        l.starts_at,
        l.ends_at,
        st === 'ENDED' ? l.ends_at : null,
        sold ? l.current_price : null,
      );
    }
    await c.query(
      `INSERT INTO auctions (id, seller_id, status, outcome, start_price, current_price, bid_count, starts_at, ends_at, original_ends_at,
                             closed_at, final_price, updated_at) VALUES ${ar.join(',')}`,
      av,
    );
    if ((done / BATCH) % 10 === 0) console.log(`loaded ${done + ins.rows.length} / ${TOTAL}`);
  }
  // As autovacuum would: statistics, and the visibility map an index-only scan needs.
  await c.query('VACUUM ANALYZE listings');
  await c.query('VACUUM ANALYZE auctions');
}

async function main() {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  const mine = async () =>
    Number(
      (
        await c.query(`SELECT count(*) FROM listings l JOIN users u ON u.id = l.seller_id WHERE u.nickname = $1`, [
          NICK,
        ])
      ).rows[0].count,
    );
  if (process.env.SISE_BENCH_RELOAD || process.env.SISE_BENCH_CLEAN) {
    await c.query(`DELETE FROM auctions WHERE seller_id = (SELECT id FROM users WHERE nickname = $1)`, [NICK]);
    await c.query(`DELETE FROM listings WHERE seller_id = (SELECT id FROM users WHERE nickname = $1)`, [NICK]);
    console.log('deleted the bench rows');
    if (process.env.SISE_BENCH_CLEAN) return c.end();
  }
  if ((await mine()) < TOTAL) {
    const t0 = performance.now();
    await load(c);
    console.log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const total = Number((await c.query('SELECT count(*) FROM listings')).rows[0].count);
  const sold = Number((await c.query(`SELECT count(*) FROM listings WHERE status = 'ENDED_SOLD'`)).rows[0].count);
  console.log(`listings: ${total}, sold: ${sold}`);
  await c.end();

  const db = createDb(APP_URL!, 2);
  const catOf = async (stem: number) =>
    (await db.category.findMany({ where: { parentId: { not: null } }, orderBy: { id: 'asc' } }))[stem % 36].id;
  const cases = [
    {
      name: 'popular model, full title typed',
      title: '아이폰 13 프로 256GB 블루 팝니다',
      categoryIds: [await catOf(0)],
    },
    { name: 'one word so far', title: '아이폰', categoryIds: [await catOf(0)] },
    {
      name: 'top category (parent + children)',
      title: '맥북 에어 M2',
      categoryIds: (
        await db.category.findMany({
          where: {
            OR: [
              { id: await catOf(7) },
              { parentId: (await db.category.findUniqueOrThrow({ where: { id: await catOf(7) } })).parentId! },
            ],
          },
        })
      ).map((c) => c.id),
    },
    { name: 'nothing similar', title: '전혀 없는 물건 이름', categoryIds: [await catOf(3)] },
  ];
  for (const k of cases) {
    const sql = siseSql({ title: k.title, categoryIds: k.categoryIds }, siseText(k.title));
    const plan = await db.$queryRaw<{ 'QUERY PLAN': string }[]>(Prisma.sql`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
    const times: number[] = [];
    let count = 0;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      count = (await siseFor(db, { title: k.title, categoryIds: k.categoryIds })).count;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
    console.log(`\n## ${k.name}: "${k.title}" in categories [${k.categoryIds.join(', ')}] -> ${count} similar sales`);
    console.log(
      `siseFor (app round trip, 30 warm runs): p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${times[times.length - 1].toFixed(1)} ms`,
    );
    console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
  }
  const first = cases[0];
  const sql = siseSql({ title: first.title, categoryIds: first.categoryIds }, siseText(first.title));
  console.log(`\n## the statement\n${sql.sql}\n-- values: ${JSON.stringify(sql.values)}`);
  await db.$disconnect();
}

await main();
