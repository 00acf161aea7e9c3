/**
 * Demo data: the two demo accounts, several demo sellers and ~200 listings across the category
 * tree with Korean titles and descriptions and photos drawn locally with sharp (nothing
 * downloaded). Idempotent: sellers are upserted, and listings are only added while a demo
 * seller has none. `npm run db:seed` (DATABASE_URL, STORAGE_DIR as for the app).
 */
import sharp from 'sharp';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/core/db/index.js';
import { LocalDiskStorage } from '../src/core/storage.js';
import { createUserDirect } from '../src/modules/accounts/index.js';
import { processImage, writeFiles, type ProcessedPhoto } from '../src/modules/catalog/photos.js';

const PASSWORD = 'dapanda-demo-1234';
const SELLERS = [
  { email: 'seller@dapanda.kr', nickname: '판다셀러' },
  { email: 'seller2@dapanda.kr', nickname: '망원동고양이' },
  { email: 'seller3@dapanda.kr', nickname: '캠핑러버' },
  { email: 'seller4@dapanda.kr', nickname: '책방지기' },
  { email: 'seller5@dapanda.kr', nickname: '겜돌이' },
  { email: 'seller6@dapanda.kr', nickname: '육아맘' },
];

/** slug -> [title, price] templates. */
const ITEMS: Record<string, [string, number][]> = {
  phones: [
    ['아이폰 13 미니 128GB 팝니다', 420000],
    ['갤럭시 S23 울트라 자급제', 780000],
    ['아이폰 15 프로 256GB 내추럴', 1150000],
    ['갤럭시 Z플립5 라벤더', 520000],
    ['iPhone 12 Pro Max 골드', 480000],
  ],
  tablets: [
    ['아이패드 에어 5세대 64GB', 520000],
    ['갤럭시탭 S9 FE', 380000],
    ['iPad mini 6 퍼플 + 펜슬', 560000],
  ],
  laptops: [
    ['MacBook Air M2 13인치 스페이스그레이', 1050000],
    ['맥북 프로 14 M1 Pro', 1650000],
    ['LG 그램 16 2023', 890000],
    ['게이밍 노트북 RTX 4060', 1200000],
    ['MacBook Pro 16 2019 i9', 900000],
  ],
  cameras: [
    ['소니 A7M3 바디', 1250000],
    ['후지필름 X100V 실버', 1800000],
    ['캐논 EOS R6 렌즈킷', 2100000],
    ['리코 GR3 거의 새것', 950000],
  ],
  audio: [
    ['에어팟 프로 2세대 USB-C', 230000],
    ['소니 WH-1000XM5 블랙', 320000],
    ['마샬 스탠모어 3 스피커', 380000],
    ['젠하이저 모멘텀 4', 290000],
  ],
  wearables: [
    ['애플워치 9 45mm 미드나이트', 420000],
    ['갤럭시 워치6 클래식', 260000],
    ['가민 포러너 265', 380000],
  ],
  'kitchen-appliances': [
    ['발뮤다 토스터 화이트', 210000],
    ['네스프레소 버츄오 커피머신', 120000],
    ['쿠쿠 IH 전기밥솥 6인용', 150000],
  ],
  'cleaning-laundry': [
    ['다이슨 V15 무선청소기', 620000],
    ['로보락 S8 로봇청소기', 780000],
    ['LG 트롬 건조기 9kg', 450000],
  ],
  'seasonal-appliances': [
    ['다이슨 퓨어쿨 공기청정기', 350000],
    ['신일 서큘레이터', 40000],
    ['위닉스 제습기 16L', 150000],
  ],
  'furniture-items': [
    ['이케아 말름 서랍장 화이트', 80000],
    ['원목 4인 식탁 세트', 250000],
    ['시디즈 T50 의자', 180000],
    ['모션데스크 1400', 220000],
  ],
  lighting: [
    ['루이스폴센 PH5 펜던트', 900000],
    ['무드등 스탠드 조명', 30000],
  ],
  decor: [
    ['몬스테라 화분 대형', 50000],
    ['빈티지 거울 원형', 60000],
  ],
  'womens-clothing': [
    ['르메르 크루아상백 (가방 아님, 원피스 세트)', 150000],
    ['울 롱코트 베이지 55', 120000],
    ['트위드 자켓 S', 90000],
  ],
  'mens-clothing': [
    ['노스페이스 눕시 패딩 L', 220000],
    ['폴로 옥스포드 셔츠 M', 50000],
    ['리바이스 501 청바지 32', 60000],
  ],
  shoes: [
    ['나이키 에어포스1 270', 90000],
    ['뉴발란스 993 그레이 265', 210000],
    ['닥터마틴 1461 UK7', 110000],
  ],
  bags: [
    ['프라이탁 하와이파이브오', 230000],
    ['루이비통 네버풀 MM 정품', 1400000],
  ],
  fiction: [
    ['해리포터 전집 1~7권', 60000],
    ['한강 소설 모음 5권', 40000],
    ['무라카미 하루키 세트', 45000],
  ],
  study: [
    ['토익 교재 세트 (거의 새것)', 25000],
    ['수학의 정석 전권', 30000],
    ['정보처리기사 필기 2024', 15000],
  ],
  comics: [
    ['원피스 1~100권 전권', 350000],
    ['슬램덩크 신장재편판 전권', 180000],
    ['진격의 거인 전권', 150000],
  ],
  bicycles: [
    ['브롬톤 C라인 익스플로러', 1900000],
    ['자이언트 로드자전거 TCR', 1100000],
    ['삼천리 하이브리드', 180000],
  ],
  camping: [
    ['스노우피크 랜드락 텐트', 1300000],
    ['헬리녹스 체어원 2개', 150000],
    ['콜맨 아이스박스 28QT', 70000],
  ],
  golf: [
    ['타이틀리스트 T200 아이언 세트', 900000],
    ['테일러메이드 스텔스 드라이버', 350000],
  ],
  fitness: [
    ['요가매트 10mm + 폼롤러', 30000],
    ['덤벨 세트 20kg', 70000],
    ['로잉머신 접이식', 250000],
  ],
  consoles: [
    ['닌텐도 스위치 OLED 화이트', 300000],
    ['PS5 디스크 에디션 + 듀얼센스 2개', 550000],
    ['젤다의 전설 왕국의 눈물', 50000],
    ['Xbox Series X', 450000],
  ],
  figures: [
    ['건담 PG 유니콘 미조립', 280000],
    ['레고 스타워즈 밀레니엄 팔콘 75257', 160000],
    ['원피스 피규어 루피 기어5', 90000],
  ],
  instruments: [
    ['야마하 디지털피아노 P-125', 450000],
    ['펜더 스트랫 멕시코', 850000],
    ['우쿨렐레 콘서트', 80000],
  ],
  'board-games': [
    ['스플렌더 한글판', 25000],
    ['카탄 확장 포함', 45000],
    ['테라포밍 마스', 60000],
  ],
  'baby-gear': [
    ['스토케 트립트랩 의자', 220000],
    ['부가부 폭스 유모차', 750000],
    ['다이치 카시트', 150000],
  ],
  toys: [
    ['레고 듀플로 대형 박스', 60000],
    ['뽀로로 자동차 장난감 세트', 20000],
  ],
  'kids-clothing': [
    ['아기 내복 10벌 세트 90', 30000],
    ['키즈 패딩 120', 50000],
  ],
  skincare: [
    ['설화수 윤조에센스 미개봉', 90000],
    ['라로슈포제 시카플라스트 세트', 30000],
  ],
  makeup: [
    ['맥 립스틱 5종 세트', 60000],
    ['디올 어딕트 립글로우', 30000],
  ],
  perfume: [
    ['바이레도 블랑쉬 50ml', 150000],
    ['조말론 우드세이지 100ml', 140000],
  ],
  tickets: [
    ['롯데월드 자유이용권 2매', 70000],
    ['CGV 영화 관람권 4매', 40000],
  ],
  pets: [
    ['고양이 캣타워 대형', 80000],
    ['강아지 이동장 M', 35000],
  ],
  misc: [
    ['빈티지 타자기 올리베티', 200000],
    ['LP 레코드 20장 일괄', 150000],
  ],
};
const PHRASES = [
  '직거래보다 택배 선호해요.',
  '박스, 구성품 모두 있어요.',
  '생활 기스 조금 있어요. 사진 참고해 주세요.',
  '이사 때문에 정리합니다.',
  '선물 받았는데 안 써서 내놓아요.',
  '반려동물 없는 비흡연 가정이에요.',
  '작동 잘 됩니다. 궁금한 점 물어보세요!',
  '구매 영수증 있어요.',
];
const CONDITIONS = ['NEW', 'LIKE_NEW', 'GOOD', 'GOOD', 'FAIR', 'FOR_PARTS'] as const;
const DURATIONS = [1, 3, 5, 7, 10, 14];

/** A deterministic pseudo-random stream, so every seeded database looks the same. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
async function drawPhoto(i: number, label: string): Promise<ProcessedPhoto> {
  const hue = (i * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},70%,62%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},70%,38%)"/></linearGradient></defs>
    <rect width="800" height="800" fill="url(#g)"/>
    <circle cx="${200 + ((i * 37) % 400)}" cy="${220 + ((i * 53) % 300)}" r="${90 + (i % 5) * 25}" fill="rgba(255,255,255,.22)"/>
    <rect x="${120 + ((i * 29) % 300)}" y="${380 + ((i * 17) % 200)}" width="260" height="180" rx="28" fill="rgba(0,0,0,.18)"/>
    <text x="400" y="430" font-family="Noto Sans CJK KR, Noto Serif CJK KR, sans-serif" font-size="64" font-weight="700" text-anchor="middle" fill="#fff">${esc(label)}</text>
  </svg>`;
  return processImage(await sharp(Buffer.from(svg)).png().toBuffer(), `seed-${i}.png`);
}

async function main() {
  const started = Date.now();
  const config = loadConfig();
  const db = createDb(config.databaseUrl, 4);
  const storage = new LocalDiskStorage(config.storageDir);
  try {
    await createUserDirect(db, { email: 'demo@dapanda.kr', nickname: '다판다데모', password: PASSWORD });
    const sellers = [];
    for (const s of SELLERS) sellers.push(await createUserDirect(db, { ...s, password: PASSWORD }));
    const existing = await db.listing.count({ where: { sellerId: { in: sellers.map((s) => s.id) } } });
    if (existing > 0) {
      console.log(`seed: demo data already present (${existing} listings); nothing to do`);
      return;
    }
    const cats = await db.category.findMany({ where: { parentId: { not: null } } });
    const bySlug = new Map(cats.map((c) => [c.slug, c]));
    const rand = rng(20261125);
    const pool: ProcessedPhoto[] = [];
    for (let i = 0; i < 24; i++)
      pool.push(await drawPhoto(i, ['DAPANDA', '다판다', '중고', 'USED', '경매', 'SALE'][i % 6]));
    const templates = Object.entries(ITEMS).flatMap(([slug, items]) =>
      items.map(([title, price]) => ({ slug, title, price })),
    );
    const now = Date.now();
    let made = 0;
    for (let n = 0; n < 200; n++) {
      const tpl = templates[n % templates.length];
      const cat = bySlug.get(tpl.slug);
      if (!cat) continue;
      const seller = sellers[Math.floor(rand() * sellers.length)];
      const durationDays = DURATIONS[Math.floor(rand() * DURATIONS.length)];
      const kind = rand();
      // Mostly live auctions at various stages; some upcoming and some ended, so every filter has results.
      const startsAt =
        kind < 0.08
          ? new Date(now + (1 + rand() * 100) * 3600_000)
          : new Date(now - rand() * durationDays * 86400_000 * 0.95);
      const endsAt = new Date(startsAt.getTime() + durationDays * 86400_000);
      const ended = kind > 0.92;
      const startPrice = Math.max(1000, Math.round((tpl.price * (0.5 + rand() * 0.4)) / 1000) * 1000);
      const bidCount = kind < 0.08 ? 0 : Math.floor(rand() ** 2 * 30);
      const currentPrice = startPrice + bidCount * Math.max(1000, Math.round((startPrice * 0.03) / 1000) * 1000);
      const photoCount = 1 + Math.floor(rand() * 3);
      const desc = [
        `${tpl.title} 입니다.`,
        ...Array.from({ length: 3 }, () => PHRASES[Math.floor(rand() * PHRASES.length)]),
      ].join('\n');
      const written: { p: ProcessedPhoto; keys: Awaited<ReturnType<typeof writeFiles>> }[] = [];
      for (let k = 0; k < photoCount; k++)
        written.push({
          p: pool[(n * 3 + k) % pool.length],
          keys: await writeFiles(storage, pool[(n * 3 + k) % pool.length]),
        });
      await db.$transaction(async (tx) => {
        const l = await tx.listing.create({
          data: {
            sellerId: seller.id,
            title: tpl.title,
            description: desc,
            categoryId: cat.id,
            condition: CONDITIONS[Math.floor(rand() * CONDITIONS.length)],
            startPrice,
            buyNowPrice: rand() < 0.3 ? startPrice * 2 : null,
            reservePrice: null,
            startsAt: ended ? new Date(now - (durationDays + 2) * 86400_000) : startsAt,
            endsAt: ended ? new Date(now - 2 * 86400_000) : endsAt,
            durationDays,
            status: ended ? (bidCount ? 'ENDED_SOLD' : 'ENDED_UNSOLD') : kind < 0.08 ? 'SCHEDULED' : 'LIVE',
            currentPrice,
            bidCount,
            createdAt: new Date(Math.min(startsAt.getTime(), now) - rand() * 3600_000),
          },
        });
        let cover = 0;
        for (const [k, w] of written.entries()) {
          const ph = await tx.photo.create({
            data: {
              ownerId: seller.id,
              listingId: l.id,
              position: k,
              ...w.keys,
              width: w.p.width,
              height: w.p.height,
              bytes: w.p.bytes,
            },
          });
          if (k === 0) cover = ph.id;
        }
        await tx.listing.update({ where: { id: l.id }, data: { coverPhotoId: cover } });
      });
      made++;
    }
    console.log(
      `seed: ${SELLERS.length + 1} accounts, ${made} listings in ${((Date.now() - started) / 1000).toFixed(1)} s (password ${PASSWORD})`,
    );
  } finally {
    await db.$disconnect();
  }
}

await main();
