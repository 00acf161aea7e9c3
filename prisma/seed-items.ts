/**
 * The demo catalogue: one row per item (every title once), each with its own condition and a
 * description that agrees with it (a "고장/부품용" item says what is broken, a "새 상품" is unopened),
 * and the simple drawing its photos show (seed-photos.ts). Prices are typical Korean used prices.
 */
export type Condition = 'NEW' | 'LIKE_NEW' | 'GOOD' | 'FAIR' | 'FOR_PARTS';
export type Shape =
  | 'phone'
  | 'tablet'
  | 'laptop'
  | 'camera'
  | 'headphones'
  | 'speaker'
  | 'watch'
  | 'appliance'
  | 'vacuum'
  | 'fan'
  | 'chair'
  | 'table'
  | 'drawer'
  | 'lamp'
  | 'plant'
  | 'mirror'
  | 'coat'
  | 'shirt'
  | 'shoe'
  | 'bag'
  | 'books'
  | 'bicycle'
  | 'tent'
  | 'golf'
  | 'dumbbell'
  | 'gamepad'
  | 'blocks'
  | 'guitar'
  | 'piano'
  | 'boardgame'
  | 'stroller'
  | 'bottle'
  | 'lipstick'
  | 'ticket'
  | 'pet'
  | 'record'
  | 'figure';

export interface Item {
  slug: string;
  title: string;
  /** What a fair final price would be, won. */
  price: number;
  condition: Condition;
  /** The item's own sentence (what is included, what is wrong). */
  note: string;
  shape: Shape;
  /** Main colour of the drawing. */
  color: string;
}

const I = (
  slug: string,
  title: string,
  price: number,
  condition: Condition,
  note: string,
  shape: Shape,
  color: string,
): Item => ({ slug, title, price, condition, note, shape, color });

export const ITEMS: Item[] = [
  I(
    'phones',
    '아이폰 13 미니 128GB 미드나이트',
    420000,
    'GOOD',
    '배터리 효율 86%, 화면에 잔기스 조금 있어요.',
    'phone',
    '#2b2d42',
  ),
  I(
    'phones',
    '갤럭시 S23 울트라 256GB 자급제',
    780000,
    'LIKE_NEW',
    '케이스와 필름 끼고 3개월 썼어요. 박스 있어요.',
    'phone',
    '#3d5a80',
  ),
  I(
    'phones',
    '아이폰 15 프로 256GB 내추럴 티타늄',
    1150000,
    'LIKE_NEW',
    '애플케어 남아 있어요. 배터리 효율 99%.',
    'phone',
    '#a8a29e',
  ),
  I(
    'phones',
    '갤럭시 Z플립5 라벤더 (액정 파손)',
    120000,
    'FOR_PARTS',
    '안쪽 액정이 깨져서 화면이 안 나와요. 전원은 들어와요. 부품용으로 가져가세요.',
    'phone',
    '#b8a9d9',
  ),
  I(
    'phones',
    '아이폰 XR 64GB 화이트',
    150000,
    'FAIR',
    '모서리 찍힘 있고 배터리 효율 78%예요. 기능은 다 정상이에요.',
    'phone',
    '#f1f1f1',
  ),
  I(
    'tablets',
    '아이패드 에어 5세대 64GB 블루',
    520000,
    'GOOD',
    '생활 기스 약간, 충전기 포함이에요.',
    'tablet',
    '#5b8fb9',
  ),
  I('tablets', '갤럭시탭 S9 FE 128GB', 380000, 'LIKE_NEW', 'S펜과 북커버 같이 드려요.', 'tablet', '#6b7280'),
  I(
    'tablets',
    'iPad mini 6 퍼플 + 애플펜슬 2',
    560000,
    'GOOD',
    '펜슬 포함, 화면 필름 붙어 있어요.',
    'tablet',
    '#9b8ec4',
  ),
  I(
    'laptops',
    'MacBook Air M2 13인치 스페이스그레이',
    1050000,
    'LIKE_NEW',
    '사이클 수 42회, 박스와 충전기 다 있어요.',
    'laptop',
    '#4b5563',
  ),
  I(
    'laptops',
    '맥북 프로 14 M1 Pro 16GB',
    1650000,
    'GOOD',
    '상판에 작은 찍힘 하나 있어요. 성능은 그대로예요.',
    'laptop',
    '#9ca3af',
  ),
  I('laptops', 'LG 그램 16 2023 i7', 890000, 'GOOD', '키보드 번들거림 조금 있어요.', 'laptop', '#e5e7eb'),
  I(
    'laptops',
    '레노버 리전 5 RTX 4060 게이밍 노트북',
    1200000,
    'LIKE_NEW',
    '게임 몇 번 하고 보관만 했어요.',
    'laptop',
    '#1f2937',
  ),
  I(
    'laptops',
    'MacBook Pro 16 2019 i9 (메인보드 고장)',
    200000,
    'FOR_PARTS',
    '전원이 켜지지 않아요. 수리점에서 메인보드 고장 판정받았어요. 액정과 키보드는 멀쩡해요.',
    'laptop',
    '#6b7280',
  ),
  I(
    'cameras',
    '소니 A7M3 바디 (셔터 3만 컷)',
    1250000,
    'GOOD',
    '배터리 2개, 정품 충전기 포함이에요.',
    'camera',
    '#1f2937',
  ),
  I('cameras', '후지필름 X100V 실버', 1800000, 'LIKE_NEW', '보호필름 붙여서 써서 외관 깨끗해요.', 'camera', '#d1d5db'),
  I(
    'cameras',
    '캐논 EOS R6 + RF 24-105 렌즈킷',
    2100000,
    'GOOD',
    '렌즈에 먼지 약간, 촬영에 영향 없어요.',
    'camera',
    '#111827',
  ),
  I(
    'cameras',
    '리코 GR3 미개봉',
    1050000,
    'NEW',
    '선물로 받았는데 뜯지 않았어요. 미개봉 새 상품이에요.',
    'camera',
    '#374151',
  ),
  I('audio', '에어팟 프로 2세대 USB-C', 230000, 'LIKE_NEW', '이어팁 새것으로 바꿔 드려요.', 'headphones', '#f9fafb'),
  I('audio', '소니 WH-1000XM5 블랙', 320000, 'GOOD', '이어패드 상태 좋아요. 케이스 포함.', 'headphones', '#1f2937'),
  I(
    'audio',
    '마샬 스탠모어 3 블루투스 스피커',
    380000,
    'LIKE_NEW',
    '거실에 두고 몇 번 틀었어요.',
    'speaker',
    '#292524',
  ),
  I(
    'audio',
    '젠하이저 모멘텀 4 (한쪽 소리 안 남)',
    60000,
    'FOR_PARTS',
    '왼쪽 유닛에서 소리가 나지 않아요. 수리하실 분이나 부품용으로 가져가세요.',
    'headphones',
    '#78716c',
  ),
  I('wearables', '애플워치 9 45mm 미드나이트', 420000, 'GOOD', '스포츠 밴드 2개 같이 드려요.', 'watch', '#1e293b'),
  I(
    'wearables',
    '갤럭시 워치6 클래식 47mm',
    260000,
    'LIKE_NEW',
    '한 달 착용, 보호필름 붙어 있어요.',
    'watch',
    '#334155',
  ),
  I('wearables', '가민 포러너 265 화이트', 380000, 'GOOD', '러닝할 때만 썼어요. 충전 케이블 포함.', 'watch', '#e2e8f0'),
  I(
    'kitchen-appliances',
    '발뮤다 더 토스터 화이트',
    210000,
    'GOOD',
    '안쪽 트레이 세척해 두었어요.',
    'appliance',
    '#fafaf9',
  ),
  I(
    'kitchen-appliances',
    '네스프레소 버츄오 넥스트 커피머신',
    120000,
    'LIKE_NEW',
    '캡슐 10개 덤으로 드려요.',
    'appliance',
    '#7f1d1d',
  ),
  I(
    'kitchen-appliances',
    '쿠쿠 IH 전기밥솥 6인용',
    150000,
    'FAIR',
    '겉면 긁힘 있어요. 밥은 잘 돼요.',
    'appliance',
    '#e7e5e4',
  ),
  I(
    'cleaning-laundry',
    '다이슨 V15 디텍트 무선청소기',
    620000,
    'GOOD',
    '헤드 3종, 거치대 포함. 배터리 잘 가요.',
    'vacuum',
    '#a855f7',
  ),
  I('cleaning-laundry', '로보락 S8 로봇청소기', 780000, 'LIKE_NEW', '물걸레 패드 여분 있어요.', 'vacuum', '#f5f5f4'),
  I(
    'cleaning-laundry',
    'LG 트롬 건조기 9kg',
    450000,
    'FAIR',
    '외관 변색이 조금 있어요. 건조는 문제없어요. 직접 가져가셔야 해요.',
    'appliance',
    '#d6d3d1',
  ),
  I(
    'seasonal-appliances',
    '다이슨 퓨어쿨 공기청정기 TP04',
    350000,
    'GOOD',
    '필터 지난달에 새로 갈았어요.',
    'fan',
    '#e5e7eb',
  ),
  I('seasonal-appliances', '신일 에어 서큘레이터', 40000, 'GOOD', '여름에만 썼어요. 리모컨 포함.', 'fan', '#f8fafc'),
  I(
    'seasonal-appliances',
    '위닉스 뽀송 제습기 16L',
    150000,
    'LIKE_NEW',
    '한 철 썼어요. 물통 깨끗해요.',
    'appliance',
    '#f1f5f9',
  ),
  I(
    'furniture-items',
    '이케아 말름 5단 서랍장 화이트',
    80000,
    'GOOD',
    '분해해 드려요. 직거래만 돼요.',
    'drawer',
    '#fafafa',
  ),
  I('furniture-items', '원목 4인 식탁 세트', 250000, 'FAIR', '상판에 컵 자국 있어요. 튼튼해요.', 'table', '#b45309'),
  I('furniture-items', '시디즈 T50 의자 블랙', 180000, 'GOOD', '팔걸이 높이 조절 잘 돼요.', 'chair', '#27272a'),
  I('furniture-items', '데스커 모션데스크 1400', 220000, 'GOOD', '높이 조절 모터 정상이에요.', 'table', '#d6d3d1'),
  I('lighting', '루이스폴센 PH5 펜던트 조명', 900000, 'LIKE_NEW', '정품 인증서 있어요.', 'lamp', '#f5f5f4'),
  I('lighting', '원목 무드등 스탠드', 30000, 'GOOD', '전구 포함이에요.', 'lamp', '#d97706'),
  I(
    'decor',
    '몬스테라 화분 (대형, 화분 포함)',
    50000,
    'GOOD',
    '잎 12장, 잘 자라고 있어요. 직거래만 돼요.',
    'plant',
    '#15803d',
  ),
  I('decor', '빈티지 원형 거울 60cm', 60000, 'FAIR', '테두리 도금이 조금 벗겨졌어요.', 'mirror', '#ca8a04'),
  I('womens-clothing', '울 롱코트 베이지 55', 120000, 'LIKE_NEW', '두 번 입고 드라이했어요.', 'coat', '#d6b98c'),
  I('womens-clothing', '트위드 자켓 S 아이보리', 90000, 'GOOD', '단추 하나 여분 있어요.', 'coat', '#f5f0e6'),
  I(
    'womens-clothing',
    '린넨 원피스 M 새상품',
    45000,
    'NEW',
    '택 달린 새 상품이에요. 사이즈가 안 맞아서 내놓아요.',
    'shirt',
    '#93c5fd',
  ),
  I(
    'mens-clothing',
    '노스페이스 눕시 패딩 L 블랙',
    220000,
    'GOOD',
    '한 시즌 입었어요. 충전재 빵빵해요.',
    'coat',
    '#111827',
  ),
  I('mens-clothing', '폴로 옥스포드 셔츠 M 화이트', 50000, 'GOOD', '목 부분 깨끗해요.', 'shirt', '#f8fafc'),
  I(
    'mens-clothing',
    '리바이스 501 청바지 32',
    60000,
    'FAIR',
    '밑단 해짐이 있어요. 빈티지 느낌이에요.',
    'shirt',
    '#1e3a8a',
  ),
  I('shoes', '나이키 에어포스1 270 화이트', 90000, 'GOOD', '세탁해서 보내 드려요.', 'shoe', '#ffffff'),
  I('shoes', '뉴발란스 993 그레이 265', 210000, 'LIKE_NEW', '실내에서 두 번 신었어요.', 'shoe', '#9ca3af'),
  I('shoes', '닥터마틴 1461 UK7 체리레드', 110000, 'GOOD', '길들여져서 편해요.', 'shoe', '#7f1d1d'),
  I('bags', '프라이탁 하와이파이브오', 230000, 'GOOD', '방수 기능 그대로예요.', 'bag', '#0ea5e9'),
  I(
    'bags',
    '루이비통 네버풀 MM (정품 영수증)',
    1400000,
    'GOOD',
    '구매 영수증과 더스트백 있어요. 손잡이 태닝 조금.',
    'bag',
    '#92400e',
  ),
  I('fiction', '해리포터 전집 1~7권 (문학수첩)', 60000, 'GOOD', '책등 바램 약간, 낙서 없어요.', 'books', '#7c2d12'),
  I('fiction', '한강 소설 5권 모음', 40000, 'LIKE_NEW', '한 번씩 읽었어요. 밑줄 없어요.', 'books', '#1e3a8a'),
  I(
    'fiction',
    '무라카미 하루키 장편 세트 6권',
    45000,
    'FAIR',
    '오래된 책이라 종이가 누렇게 변했어요.',
    'books',
    '#065f46',
  ),
  I('study', '해커스 토익 교재 세트 2025', 25000, 'LIKE_NEW', '필기 거의 없어요.', 'books', '#b91c1c'),
  I('study', '수학의 정석 전권 (실력편)', 30000, 'FAIR', '연필 필기 있어요.', 'books', '#1d4ed8'),
  I('study', '정보처리기사 필기 2024 수제비', 15000, 'GOOD', '합격해서 넘겨요.', 'books', '#15803d'),
  I('comics', '원피스 1~100권 전권', 350000, 'GOOD', '박스 보관, 몇 권은 책등 바램 있어요.', 'books', '#dc2626'),
  I('comics', '슬램덩크 신장재편판 전권 20권', 180000, 'LIKE_NEW', '비닐 커버 씌워 읽었어요.', 'books', '#ea580c'),
  I('comics', '진격의 거인 1~34권 완결', 150000, 'GOOD', '변색 없이 깨끗해요.', 'books', '#57534e'),
  I(
    'bicycles',
    '브롬톤 C라인 익스플로러 6단',
    1900000,
    'GOOD',
    '정기 점검 받았어요. 전용 가방 포함.',
    'bicycle',
    '#b91c1c',
  ),
  I(
    'bicycles',
    '자이언트 TCR 어드밴스드 로드자전거',
    1100000,
    'GOOD',
    '카본 프레임, 낙차 이력 없어요.',
    'bicycle',
    '#1d4ed8',
  ),
  I(
    'bicycles',
    '삼천리 하이브리드 자전거 (체인 녹)',
    60000,
    'FOR_PARTS',
    '오래 밖에 세워 둬서 체인과 기어가 녹슬어 움직이지 않아요. 프레임만 쓰실 분께.',
    'bicycle',
    '#65a30d',
  ),
  I('camping', '스노우피크 랜드락 텐트', 1300000, 'GOOD', '세 번 피칭했어요. 그라운드시트 포함.', 'tent', '#d6d3d1'),
  I('camping', '헬리녹스 체어원 2개 세트', 150000, 'LIKE_NEW', '파우치까지 다 있어요.', 'chair', '#1f2937'),
  I('camping', '콜맨 아이스박스 28QT', 70000, 'FAIR', '겉에 스크래치 많아요. 보냉은 잘 돼요.', 'appliance', '#dc2626'),
  I('golf', '타이틀리스트 T200 아이언 세트 5~P', 900000, 'GOOD', '그립 교체한 지 얼마 안 됐어요.', 'golf', '#9ca3af'),
  I('golf', '테일러메이드 스텔스 드라이버 10.5', 350000, 'GOOD', '헤드 커버 포함.', 'golf', '#b91c1c'),
  I('fitness', '요가매트 10mm + 폼롤러', 30000, 'GOOD', '세척해서 드려요.', 'dumbbell', '#a78bfa'),
  I('fitness', '조립식 덤벨 세트 20kg', 70000, 'GOOD', '원판 다 있어요. 직거래 선호해요.', 'dumbbell', '#374151'),
  I('fitness', '접이식 로잉머신', 250000, 'LIKE_NEW', '몇 번 안 탔어요. 소음 적어요.', 'dumbbell', '#0f172a'),
  I('consoles', '닌텐도 스위치 OLED 화이트', 300000, 'GOOD', '조이콘 쏠림 없어요. 독 포함.', 'gamepad', '#f8fafc'),
  I(
    'consoles',
    'PS5 디스크 에디션 + 듀얼센스 2개',
    550000,
    'GOOD',
    '패드 두 개 다 정상, 박스 있어요.',
    'gamepad',
    '#e5e7eb',
  ),
  I('consoles', '젤다의 전설 왕국의 눈물 (스위치)', 50000, 'LIKE_NEW', '케이스와 지도 포함.', 'gamepad', '#166534'),
  I('consoles', 'Xbox Series X 1TB', 450000, 'GOOD', '컨트롤러 1개 포함. 세로 거치만 했어요.', 'gamepad', '#111827'),
  I(
    'consoles',
    '닌텐도 3DS XL (충전 안 됨)',
    30000,
    'FOR_PARTS',
    '충전 단자가 고장 나서 켜지지 않아요. 상판 힌지는 멀쩡해요.',
    'gamepad',
    '#1e40af',
  ),
  I('figures', '건담 PG 유니콘 미조립', 280000, 'NEW', '박스 미개봉, 런너 그대로예요.', 'figure', '#f8fafc'),
  I(
    'figures',
    '레고 스타워즈 밀레니엄 팔콘 75257',
    160000,
    'GOOD',
    '조립해서 전시만 했어요. 부품 다 있고 설명서 포함이에요.',
    'blocks',
    '#9ca3af',
  ),
  I('figures', '원피스 피규어 루피 기어5', 90000, 'LIKE_NEW', '장식장에만 두었어요.', 'figure', '#fef3c7'),
  I(
    'figures',
    '레고 테크닉 부품 벌크 2kg (구성 불명)',
    40000,
    'FOR_PARTS',
    '여러 세트가 섞여 있어서 완성 세트는 없어요. 부품용 벌크예요.',
    'blocks',
    '#ef4444',
  ),
  I('instruments', '야마하 디지털피아노 P-125', 450000, 'GOOD', '서스테인 페달, 거치대 포함.', 'piano', '#111827'),
  I(
    'instruments',
    '펜더 멕시코 스트랫 선버스트',
    850000,
    'GOOD',
    '넥 상태 좋아요. 하드케이스 포함.',
    'guitar',
    '#c2410c',
  ),
  I('instruments', '콘서트 우쿨렐레 마호가니', 80000, 'LIKE_NEW', '줄 새로 갈았어요.', 'guitar', '#92400e'),
  I('board-games', '스플렌더 한글판', 25000, 'LIKE_NEW', '카드 슬리브 씌웠어요.', 'boardgame', '#0369a1'),
  I('board-games', '카탄 기본판 + 항해사 확장', 45000, 'GOOD', '구성품 다 있어요.', 'boardgame', '#c2410c'),
  I('board-games', '테라포밍 마스 한글판', 60000, 'GOOD', '토큰 정리함 포함.', 'boardgame', '#b91c1c'),
  I('baby-gear', '스토케 트립트랩 의자 내추럴', 220000, 'GOOD', '베이비세트 포함, 흔들림 없어요.', 'chair', '#d6b98c'),
  I('baby-gear', '부가부 폭스 유모차', 750000, 'GOOD', '바퀴 세척했어요. 레인커버 포함.', 'stroller', '#1f2937'),
  I(
    'baby-gear',
    '다이치 회전형 카시트',
    150000,
    'FAIR',
    '커버에 얼룩 조금 있어요. 사고 이력 없어요.',
    'stroller',
    '#475569',
  ),
  I('toys', '레고 듀플로 대형 박스', 60000, 'GOOD', '깨끗하게 세척했어요.', 'blocks', '#facc15'),
  I('toys', '뽀로로 자동차 장난감 5종', 20000, 'FAIR', '바퀴에 사용감 있어요.', 'blocks', '#38bdf8'),
  I('kids-clothing', '아기 내복 10벌 세트 90', 30000, 'GOOD', '세탁 후 보관했어요.', 'shirt', '#fbcfe8'),
  I('kids-clothing', '키즈 경량 패딩 120 네이비', 50000, 'LIKE_NEW', '한 철 입었어요.', 'coat', '#1e3a8a'),
  I(
    'skincare',
    '설화수 윤조에센스 90ml 미개봉',
    90000,
    'NEW',
    '선물 받은 미개봉 새 상품이에요. 유통기한 2027년.',
    'bottle',
    '#ca8a04',
  ),
  I('skincare', '라로슈포제 시카플라스트 밤 세트', 30000, 'NEW', '미개봉 2개 세트예요.', 'bottle', '#e0f2fe'),
  I('makeup', '맥 립스틱 5종 세트 (1~2회 사용)', 60000, 'LIKE_NEW', '발색만 해 봤어요.', 'lipstick', '#be123c'),
  I('makeup', '디올 어딕트 립글로우 001', 30000, 'NEW', '미개봉 새 상품이에요.', 'lipstick', '#f9a8d4'),
  I('perfume', '바이레도 블랑쉬 EDP 50ml', 150000, 'GOOD', '70% 정도 남았어요.', 'bottle', '#f5f5f4'),
  I('perfume', '조말론 우드세이지 앤 씨솔트 100ml', 140000, 'LIKE_NEW', '시향만 몇 번 했어요.', 'bottle', '#d6d3d1'),
  I(
    'tickets',
    '롯데월드 자유이용권 2매',
    70000,
    'NEW',
    '유효기간 내년 3월까지예요. 모바일로 보내 드려요.',
    'ticket',
    '#f472b6',
  ),
  I('tickets', 'CGV 영화 관람권 4매', 40000, 'NEW', '2D 일반관, 주말 사용 가능해요.', 'ticket', '#dc2626'),
  I(
    'pets',
    '고양이 캣타워 대형 160cm',
    80000,
    'FAIR',
    '스크래처 부분 털 빠짐 있어요. 직거래만 돼요.',
    'pet',
    '#a16207',
  ),
  I('pets', '강아지 이동장 M 사이즈', 35000, 'GOOD', '문 잠금 잘 돼요.', 'pet', '#60a5fa'),
  I(
    'misc',
    '올리베티 빈티지 타자기',
    200000,
    'FAIR',
    '리본 새로 갈았고 글자 잘 찍혀요. 케이스에 녹 약간.',
    'record',
    '#0f766e',
  ),
  I(
    'misc',
    'LP 레코드 20장 일괄 (재즈)',
    150000,
    'GOOD',
    '튀는 곳 거의 없어요. 목록 사진 참고해 주세요.',
    'record',
    '#111827',
  ),
];

/** Sentences a description may add, by condition: never "works" for a broken item, never "used" for a new one. */
export const PHRASES: Record<Condition, string[]> = {
  NEW: ['포장 그대로 보내 드려요.', '구매 영수증 있어요.', '선물용으로도 좋아요.'],
  LIKE_NEW: ['거의 새것이에요.', '박스, 구성품 모두 있어요.', '반려동물 없는 비흡연 가정이에요.', '작동 잘 돼요.'],
  GOOD: [
    '생활 기스 조금 있어요. 사진 참고해 주세요.',
    '작동 잘 돼요. 궁금한 점 물어보세요!',
    '이사 때문에 정리해요.',
    '반려동물 없는 비흡연 가정이에요.',
  ],
  FAIR: ['사용감이 있어요. 사진으로 상태 확인해 주세요.', '기능에는 문제없어요.', '싸게 드려요.'],
  FOR_PARTS: ['환불, 교환은 어려워요. 상태를 꼭 확인하고 입찰해 주세요.', '고장 난 부분 말고는 사진 그대로예요.'],
};

/** Words that may not appear in a FOR_PARTS description (the seed test checks this too). */
export const WORKS_WORDS = ['작동 잘', '정상 작동', '잘 돼요', '이상 없어요', '문제없어요'];
