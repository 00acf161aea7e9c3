/** Every bad input of the listing form gets a clear error, and nothing is stored: no listing row, no photo row, no file. */
import t from 'tap';
import {
  catalogApp,
  seller,
  phonesCategory,
  validFields,
  postMultipart,
  photo,
  jpeg,
  pngHeader,
  SVG,
  filesUnder,
} from '../helpers/catalog.js';
import { toKstInput } from '../../src/modules/catalog/validation.js';

t.test('bad listing input is refused with a clear message and leaves nothing behind', async (t) => {
  const { app, storageDir } = await catalogApp(t);
  const s = await seller(app);
  const cat = await phonesCategory(app);
  const img = await jpeg();
  const nothingStored = async (what: string) => {
    t.equal(await app.db.listing.count({ where: { sellerId: s.id } }), 0, `${what}: no listing row`);
    t.equal(await app.db.photo.count({ where: { ownerId: s.id } }), 0, `${what}: no photo row`);
    t.same(filesUnder(storageDir), [], `${what}: no file on disk`);
  };
  const cases: {
    what: string;
    fields?: Record<string, string>;
    files?: ReturnType<typeof photo>[];
    status: number;
    message: string;
  }[] = [
    { what: 'missing title', fields: { title: '' }, status: 422, message: '제목을 입력해 주세요.' },
    { what: 'title of only spaces', fields: { title: '     ' }, status: 422, message: '제목을 입력해 주세요.' },
    {
      what: 'title too long',
      fields: { title: '가'.repeat(61) },
      status: 422,
      message: '제목은 2~60자로 입력해 주세요.',
    },
    {
      what: 'description too long',
      fields: { description: 'ㄱ'.repeat(5001) },
      status: 422,
      message: '설명은 5,000자까지 쓸 수 있어요.',
    },
    { what: 'missing category', fields: { categoryId: '' }, status: 422, message: '카테고리를 골라 주세요.' },
    { what: 'missing condition', fields: { condition: '' }, status: 422, message: '상품 상태를 골라 주세요.' },
    {
      what: 'start price below 1,000',
      fields: { startPrice: '999' },
      status: 422,
      message: '시작가는 1,000원 이상 1억 원 이하여야 해요.',
    },
    {
      what: 'start price above 100,000,000',
      fields: { startPrice: '100000001' },
      status: 422,
      message: '시작가는 1,000원 이상 1억 원 이하여야 해요.',
    },
    {
      what: 'start price with decimals',
      fields: { startPrice: '1500.5' },
      status: 422,
      message: '가격은 원 단위 숫자로 입력해 주세요.',
    },
    {
      what: 'buy-now not above start',
      fields: { buyNowPrice: '300000' },
      status: 422,
      message: '즉시 구매가는 시작가보다 높아야 해요.',
    },
    {
      what: 'reserve above buy-now',
      fields: { buyNowPrice: '400000', reservePrice: '450000' },
      status: 422,
      message: '최저 낙찰가는 즉시 구매가보다 높을 수 없어요.',
    },
    {
      what: 'reserve below start',
      fields: { reservePrice: '1000' },
      status: 422,
      message: '최저 낙찰가는 시작가 이상이어야 해요.',
    },
    { what: 'duration not offered', fields: { durationDays: '2' }, status: 422, message: '경매 기간을 골라 주세요.' },
    {
      what: 'scheduled start in the past',
      fields: { startMode: 'scheduled', startsAt: toKstInput(new Date(Date.now() - 3600_000)) },
      status: 422,
      message: '예약 시작 시각이 이미 지났어요.',
    },
    {
      what: 'scheduled start beyond 7 days',
      fields: { startMode: 'scheduled', startsAt: toKstInput(new Date(Date.now() + 8 * 86400_000)) },
      status: 422,
      message: '예약은 7일 이내로만 할 수 있어요.',
    },
    { what: 'no photo', files: [], status: 422, message: '사진을 1장 이상 올려 주세요.' },
    {
      what: 'a text file renamed .jpg',
      files: [photo(Buffer.from('hello, I am not a photo at all\n'.repeat(20)), 'cat.jpg')],
      status: 422,
      message: 'cat.jpg: 사진 파일(JPEG, PNG, WebP 등)이 아니에요.',
    },
    {
      what: 'a 0-byte file',
      files: [photo(Buffer.alloc(0), 'empty.jpg')],
      status: 422,
      message: 'empty.jpg: 빈 파일이에요.',
    },
    {
      what: 'a 12 MB photo',
      files: [photo(img, 'ok.jpg'), photo(Buffer.concat([img, Buffer.alloc(12 * 1024 * 1024)]), 'huge.jpg')],
      status: 413,
      message: 'huge.jpg: 10MB를 넘는 사진은 올릴 수 없어요.',
    },
    {
      what: 'a 100-megapixel PNG',
      files: [photo(pngHeader(10000, 10000), 'big.png', 'image/png')],
      status: 422,
      message: 'big.png: 사진이 너무 커요. 4천만 화소 이하로 줄여 주세요.',
    },
    {
      what: 'an SVG',
      files: [photo(SVG, 'logo.svg', 'image/svg+xml')],
      status: 422,
      message: 'logo.svg: SVG 파일은 보안상 올릴 수 없어요.',
    },
    {
      what: 'an SVG renamed .png',
      files: [photo(SVG, 'innocent.png', 'image/png')],
      status: 422,
      message: 'innocent.png: SVG 파일은 보안상 올릴 수 없어요.',
    },
    {
      what: 'an 11th photo',
      files: Array.from({ length: 11 }, (_, i) => photo(img, `p${i}.jpg`)),
      status: 413,
      message: '사진은 최대 10장까지 올릴 수 있어요.',
    },
  ];
  for (const c of cases) {
    const files = c.files ?? [photo(img)];
    const res = await postMultipart(s.c, '/sell', validFields(cat, c.fields), files);
    t.equal(res.statusCode, c.status, `${c.what}: status`);
    t.match(res.body, c.message, `${c.what}: message shown`);
    // What the user typed is kept (the title, unless the title was the problem).
    if (c.fields?.title === undefined) t.match(res.body, 'value="아이폰 13 미니 팝니다"', `${c.what}: title kept`);
    await nothingStored(c.what);
  }
});

t.test('the upload endpoint refuses the same files and stores nothing', async (t) => {
  const { app, storageDir } = await catalogApp(t);
  const s = await seller(app);
  const img = await jpeg();
  const json = { accept: 'application/json', 'x-csrf-token': s.c.csrf };
  const bad = [
    { files: [photo(Buffer.from('plain text'), 'a.jpg')], status: 422, code: 'PHOTO_REFUSED' },
    { files: [photo(Buffer.alloc(0), 'zero.jpg')], status: 422, code: 'PHOTO_REFUSED' },
    { files: [photo(SVG, 's.svg', 'image/svg+xml')], status: 422, code: 'PHOTO_REFUSED' },
    { files: [photo(pngHeader(10000, 10000), 'b.png', 'image/png')], status: 422, code: 'PHOTO_REFUSED' },
    {
      files: [photo(Buffer.concat([img, Buffer.alloc(12 * 1024 * 1024)]), 'h.jpg')],
      status: 413,
      code: 'PHOTO_REFUSED',
    },
    { files: Array.from({ length: 11 }, (_, i) => photo(img, `p${i}.jpg`)), status: 413, code: 'TOO_MANY_PHOTOS' },
  ];
  for (const b of bad) {
    const res = await postMultipart(s.c, '/sell/photos', [], b.files, json);
    t.equal(res.statusCode, b.status);
    t.equal(res.json().error.code, b.code);
    t.ok(res.json().error.message.length > 5, 'a message for the user');
  }
  t.equal(await app.db.photo.count({ where: { ownerId: s.id } }), 0, 'no photo rows');
  t.same(filesUnder(storageDir), [], 'no files');
  // Without the CSRF token nothing is read or stored.
  const noToken = await postMultipart(s.c, '/sell/photos', [], [photo(img)], {
    accept: 'application/json',
    'x-csrf-token': 'forged',
  });
  t.equal(noToken.statusCode, 403);
  t.same(filesUnder(storageDir), [], 'no files after a forged token');
});

t.test("someone else's listing id in an edit URL is a 404, the same as a missing id", async (t) => {
  const { app, storageDir } = await catalogApp(t);
  const owner = await seller(app);
  const cat = await phonesCategory(app);
  const created = await postMultipart(owner.c, '/sell', validFields(cat), [photo(await jpeg())]);
  t.equal(created.statusCode, 303);
  const id = Number(String(created.headers.location).split('/').pop());
  const filesBefore = filesUnder(storageDir).length;
  const other = await seller(app);
  const get = await other.c.get(`/items/${id}/edit`);
  t.equal(get.statusCode, 404);
  t.equal((await other.c.get('/items/999999999/edit')).statusCode, 404, 'same answer for a missing id');
  const post = await postMultipart(other.c, `/items/${id}/edit`, validFields(cat, { title: '내 것으로 바꿈' }), [
    photo(await jpeg()),
  ]);
  t.equal(post.statusCode, 404);
  const cancel = await other.c.post(`/items/${id}/cancel`, {});
  t.equal(cancel.statusCode, 404);
  const l = await app.db.listing.findUniqueOrThrow({ where: { id } });
  t.equal(l.title, '아이폰 13 미니 팝니다', 'untouched');
  t.equal(l.status, 'LIVE');
  t.equal(await app.db.photo.count({ where: { ownerId: other.id } }), 0, 'no photo stored for the prober');
  t.equal(filesUnder(storageDir).length, filesBefore, 'no new files');
});
