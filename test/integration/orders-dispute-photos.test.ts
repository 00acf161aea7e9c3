/**
 * A dispute's photos on the real app (PostgreSQL, Redis, BullMQ, local disk storage of its own):
 * up to 3 photos with the dispute form, refused whole (nothing stored, no dispute) for a 4th
 * photo, a non-image, an SVG, an oversize file, a cut-off body or a missing token, with a clear
 * message in Korean and in English; the photos are private: the buyer, the seller and an ADMIN
 * see them (order page, admin desk, the photo route with no-store), anyone else gets 404, /media/
 * never serves them; and a dispute with photos still resolves, with the ledger at zero. On S3
 * (s3rver in this process) the objects carry `private, no-store` and the same route serves them;
 * the migration tool's photo copy (scripts/migrate) takes them along with that header.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { startApp, Client, type Res } from '../helpers/app.js';
import { PASSWORD, loggedIn, user } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';
import { filesUnder, jpeg, jpegWithGps, multipart, SVG, type FilePart } from '../helpers/catalog.js';
import { wonOrder, giveAddress, ORDER_PRICE } from '../helpers/orders.js';
import { uniq } from '../helpers/env.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import type { App } from '../../src/app.js';
import { copyPhotos, openPhotos } from '../../scripts/migrate/photos.js';
import { Log } from '../../scripts/migrate/log.js';

const BODY = '상자가 찌그러져서 왔고 액정이 깨져 있어요.';

/** Posts a multipart form as the client (its cookies; its CSRF token first unless `csrf` is false). */
async function postMultipart(
  c: Client,
  url: string,
  fields: [string, string][],
  files: FilePart[],
  o: { csrf?: boolean; cut?: number; lang?: string } = {},
): Promise<Res> {
  const m = multipart(o.csrf === false ? fields : [['_csrf', c.csrf], ...fields], files);
  const payload = o.cut ? m.body.subarray(0, o.cut) : m.body;
  return (await c.app.inject({
    method: 'POST',
    url: o.lang ? `${url}?lang=${o.lang}` : url,
    payload,
    headers: {
      'content-type': m.contentType,
      cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
  })) as unknown as Res;
}

const photo = (data: Buffer, filename = 'p.jpg', type = 'image/jpeg'): FilePart => ({
  name: 'photos',
  filename,
  type,
  data,
});

async function counts(app: App, storageDir: string, orderId: number) {
  const rows = await app.db.orderDisputePhoto.count({ where: { dispute: { orderId } } });
  const disputes = await app.db.orderDispute.count({ where: { orderId } });
  const files = filesUnder(storageDir).filter((f) => path.relative(storageDir, f).startsWith('disputes'));
  return { rows, disputes, files: files.length };
}

const storageDir = mkdtempSync(path.join(tmpdir(), 'dapanda-dispute-'));
t.teardown(() => rmSync(storageDir, { recursive: true, force: true }));

const BUCKET = 'dapanda-dispute-photos';
const MIGRATED = 'dapanda-dispute-migrated';
const s3dir = mkdtempSync(path.join(tmpdir(), 'dapanda-s3rver-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: s3dir,
  configureBuckets: [
    { name: BUCKET, configs: [] },
    { name: MIGRATED, configs: [] },
  ],
});
const endpoint = `http://127.0.0.1:${((await server.run()) as AddressInfo).port}`;
t.teardown(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(s3dir, { recursive: true, force: true });
});
const s3 = new S3Client({
  region: 'ap-northeast-2',
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
t.teardown(() => s3.destroy());

t.test('dispute photos: limits, privacy, resolution', async (t) => {
  const { app, config } = await startApp(t, { STORAGE_DIR: storageDir, ORDER_SWEEP_MS: '3600000' });
  const w = await wonOrder(app, config, '분쟁 사진 테스트');
  t.equal((await giveAddress(w.bc, w.order.id)).statusCode, 303);
  const url = `/orders/${w.order.id}/dispute`;
  const fields: [string, string][] = [
    ['reason', 'DAMAGED'],
    ['body', BODY],
  ];
  const nothing = { rows: 0, disputes: 0, files: 0 };
  const [a, b, c, d] = await Promise.all([
    jpeg(640, 480),
    jpeg(300, 300, { r: 10, g: 200, b: 10 }),
    jpegWithGps(),
    jpeg(200, 200),
  ]);

  await t.test('refusals store nothing and say why', async (t) => {
    await w.bc.get(`/orders/${w.order.id}`);
    const page = await w.bc.get(`/orders/${w.order.id}`);
    t.match(page.body, /enctype="multipart\/form-data"/, 'the form sends files without JavaScript');
    t.match(page.body, /name="photos"[^>]*multiple/);

    const four = await postMultipart(w.bc, url, fields, [photo(a), photo(b), photo(c), photo(d)]);
    t.equal(four.statusCode, 413, 'a 4th photo: 413');
    t.match(four.body, '사진은 최대 3장까지 올릴 수 있어요.');
    t.match(four.body, BODY, 'the text is kept in the form');
    t.same(await counts(app, storageDir, w.order.id), nothing);

    const fourEn = await postMultipart(w.bc, url, fields, [photo(a), photo(b), photo(c), photo(d)], { lang: 'en' });
    t.equal(fourEn.statusCode, 413);
    t.match(fourEn.body, 'You can add at most 3 photos.', 'in English too');
    await w.bc.get(`/orders/${w.order.id}?lang=ko`);

    const text = await postMultipart(w.bc, url, fields, [photo(a), photo(Buffer.from('hello, not a photo'), 'x.jpg')]);
    t.equal(text.statusCode, 422, 'a non-image (named .jpg, typed image/jpeg): 422');
    t.match(text.body, 'x.jpg: 사진 파일(JPEG, PNG, WebP 등)이 아니에요.');
    t.same(await counts(app, storageDir, w.order.id), nothing, 'the good photo beside it is not kept either');

    const svg = await postMultipart(w.bc, url, fields, [photo(SVG, 'a.svg', 'image/svg+xml')]);
    t.equal(svg.statusCode, 422);
    t.match(svg.body, 'a.svg: SVG 파일은 보안상 올릴 수 없어요.');

    const big = await postMultipart(w.bc, url, fields, [photo(randomBytes(10 * 1024 * 1024 + 10), 'big.jpg')]);
    t.equal(big.statusCode, 413, 'over 10 MB: 413');
    t.match(big.body, 'big.jpg: 10MB를 넘는 사진은 올릴 수 없어요.');

    const full = multipart([['_csrf', w.bc.csrf], ...fields], [photo(a)]).body.length;
    const cut = await postMultipart(w.bc, url, fields, [photo(a)], { cut: Math.floor(full * 0.6) });
    t.equal(cut.statusCode, 400, 'a cut-off body: 400');
    t.match(cut.body, '업로드가 중간에 끊겼거나 형식이 올바르지 않아요.');

    const cookie = [...w.bc.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const raw = (contentType: string, payload: string) =>
      app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType, cookie } });
    const part = `--x\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${w.bc.csrf}\r\n`;
    const noBoundary = await raw('multipart/form-data', `${part}--x--\r\n`);
    t.equal(noBoundary.statusCode, 400, 'no boundary: 400');
    t.match(noBoundary.body, '업로드가 중간에 끊겼거나');
    const nul = await raw(
      'multipart/form-data; boundary=x',
      `${part}--x\r\nContent-Disposition: form-data; name="body"\r\n\r\na\u0000b\r\n--x--\r\n`,
    );
    t.equal(nul.statusCode, 400, 'NUL in a field: 400');
    const urlencodedNul = await raw(
      'application/x-www-form-urlencoded',
      `_csrf=${encodeURIComponent(w.bc.csrf)}&body=a%00b`,
    );
    t.equal(urlencodedNul.statusCode, 400, 'NUL in the plain form: 400');

    const noToken = await postMultipart(w.bc, url, fields, [photo(a)], { csrf: false });
    t.equal(noToken.statusCode, 403, 'no CSRF token: 403');

    const shortText = await postMultipart(
      w.bc,
      url,
      [
        ['reason', 'DAMAGED'],
        ['body', '짧아요'],
      ],
      [photo(a)],
    );
    t.equal(shortText.statusCode, 422, 'text too short: 422, photos not stored');

    const other = await loggedIn(app, (await user(app, config, 0, 'o')).email);
    await other.get('/me');
    const foreign = await postMultipart(other, url, fields, [photo(a)]);
    t.equal(foreign.statusCode, 404, "someone else's order: 404");

    t.same(await counts(app, storageDir, w.order.id), nothing, 'after every refusal: no rows, no files, no dispute');
    t.equal((await app.db.order.findUniqueOrThrow({ where: { id: w.order.id } })).state, 'AWAITING_SHIPMENT');
  });

  let ids: number[] = [];
  await t.test('three photos are stored with the dispute, re-encoded, without metadata', async (t) => {
    await w.bc.get(`/orders/${w.order.id}`);
    const ok = await postMultipart(w.bc, url, fields, [photo(a), photo(b, 'b.jpg'), photo(c, 'gps.jpg')]);
    t.equal(ok.statusCode, 303);
    t.same(await counts(app, storageDir, w.order.id), { rows: 3, disputes: 1, files: 6 });
    const again = await postMultipart(w.bc, url, fields, [photo(d)]);
    t.equal(again.statusCode, 409, 'a second dispute: 409 before any photo is read');
    t.match(again.body, '지금은 분쟁을 신청할 수 없어요.');
    t.same(await counts(app, storageDir, w.order.id), { rows: 3, disputes: 1, files: 6 }, 'nothing more stored');
    const order = await app.db.order.findUniqueOrThrow({ where: { id: w.order.id } });
    t.equal(order.state, 'DISPUTED');
    t.equal(order.dueAt, null, 'timers stopped');
    const rows = await app.db.orderDisputePhoto.findMany({
      where: { dispute: { orderId: w.order.id } },
      orderBy: { position: 'asc' },
    });
    ids = rows.map((r) => r.id);
    t.same(
      rows.map((r) => [r.position, r.width, r.height]),
      [
        [0, 640, 480],
        [1, 300, 300],
        [2, 800, 600],
      ],
    );
    const page = await w.bc.get(`/orders/${w.order.id}`);
    for (const id of ids) t.match(page.body, `/orders/${w.order.id}/dispute/photos/${id}/thumb`);
    const full = await w.bc.get(`/orders/${w.order.id}/dispute/photos/${ids[2]}/full`);
    t.equal(full.statusCode, 200);
    t.equal(full.headers['content-type'], 'image/webp');
    t.equal(full.headers['cache-control'], 'private, no-store');
    t.equal(full.headers['x-content-type-options'], 'nosniff');
    const served = await sharp((full as unknown as { rawPayload: Buffer }).rawPayload).metadata();
    t.equal(served.format, 'webp');
    t.equal(served.width, 800);
    t.notOk(served.exif, 'EXIF (GPS, camera) dropped');
    const stored = await app.db.orderDisputePhoto.findUniqueOrThrow({ where: { id: ids[2] } });
    t.ok(stored.thumbKey.startsWith('disputes/') && stored.fullKey.startsWith('disputes/'));
    const media = await w.bc.get(`/media/${stored.fullKey}`);
    t.equal(media.statusCode, 404, '/media/ never serves a private key, even to the buyer');
  });

  await t.test('only the buyer, the seller and an ADMIN see them; others 404', async (t) => {
    const photoUrl = `/orders/${w.order.id}/dispute/photos/${ids[0]}/thumb`;
    const sellerPage = await w.sc.get(`/orders/${w.order.id}`);
    t.match(sellerPage.body, photoUrl, 'the seller sees them on the order page');
    t.equal((await w.sc.get(photoUrl)).statusCode, 200);

    const stranger = await loggedIn(app, (await user(app, config, 0, 'x')).email);
    t.equal((await stranger.get(photoUrl)).statusCode, 404, 'another user: 404');
    const u = uniq();
    const mod = await createUserDirect(app.db, {
      email: `m${u}@example.com`,
      nickname: `m${u}`,
      password: PASSWORD,
      role: 'MODERATOR',
    });
    const mc = await loggedIn(app, mod.email);
    t.equal((await mc.get(photoUrl)).statusCode, 404, 'a MODERATOR: 404');
    const anon = await new Client(app).get(photoUrl);
    t.not(anon.statusCode, 200, 'anonymous: not served');

    const admin = await createUserDirect(app.db, {
      email: `a${u}@example.com`,
      nickname: `a${u}`,
      password: PASSWORD,
      role: 'ADMIN',
    });
    const ac = await loggedIn(app, admin.email);
    const desk = await ac.get('/admin/disputes');
    t.match(desk.body, `data-testid="admin-dispute-photos-${w.order.id}"`, 'the admin desk shows them');
    t.match(desk.body, photoUrl);
    const seen = await ac.get(photoUrl);
    t.equal(seen.statusCode, 200, 'an ADMIN: 200');
    t.equal(seen.headers['cache-control'], 'private, no-store');

    // A photo id of this dispute under another order's id (one the stranger owns): 404.
    const w2 = await wonOrder(app, config, '다른 주문');
    t.equal((await w2.bc.get(`/orders/${w2.order.id}/dispute/photos/${ids[0]}/thumb`)).statusCode, 404);
    t.equal((await ac.get(`/orders/${w.order.id}/dispute/photos/${ids[0]}/huge`)).statusCode, 400, 'no such size');

    // A role taken back counts at once.
    await app.db.user.update({ where: { id: admin.id }, data: { role: 'USER' } });
    t.equal((await ac.get(photoUrl)).statusCode, 404, 'a revoked ADMIN: 404');
    await app.db.user.update({ where: { id: admin.id }, data: { role: 'ADMIN' } });

    await t.test('a dispute with photos still resolves', async (t) => {
      await ac.get('/admin/disputes');
      const r = await ac.post(`/admin/disputes/${w.order.id}/resolve`, {
        resolution: 'SPLIT',
        buyerAmount: '20000',
        sellerAmount: '30000',
        note: '사진 확인 후 반씩',
      });
      t.equal(r.statusCode, 303);
      const o = await app.db.order.findUniqueOrThrow({ where: { id: w.order.id } });
      t.equal(o.state, 'COMPLETED');
      const fee = Math.floor((30_000 * 300) / 10_000);
      t.equal(o.payout, 30_000 - fee);
      t.equal(o.price, ORDER_PRICE);
      t.same(await ledgerViolations(app), []);
      t.equal((await w.bc.get(photoUrl)).statusCode, 200, 'the photos stay as the record of the dispute');
      t.match((await w.bc.get(`/orders/${w.order.id}`)).body, photoUrl);
    });
  });
});

t.test('on S3: private objects (no-store), served by the orders route, /media/ 404', async (t) => {
  const { app, config } = await startApp(t, {
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: endpoint,
    S3_REGION: 'ap-northeast-2',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    PHOTO_BASE_URL: `${endpoint}/${BUCKET}`,
    ORDER_SWEEP_MS: '3600000',
  });
  const w = await wonOrder(app, config, 'S3 분쟁');
  t.equal((await giveAddress(w.bc, w.order.id)).statusCode, 303);
  await w.bc.get(`/orders/${w.order.id}`);
  const ok = await postMultipart(
    w.bc,
    `/orders/${w.order.id}/dispute`,
    [
      ['reason', 'NOT_AS_DESCRIBED'],
      ['body', BODY],
    ],
    [photo(await jpeg(1000, 800))],
  );
  t.equal(ok.statusCode, 303);
  const p = await app.db.orderDisputePhoto.findFirstOrThrow({ where: { dispute: { orderId: w.order.id } } });
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: p.fullKey }));
  t.equal(head.CacheControl, 'private, no-store', 'a private object is never kept by a shared cache');
  t.equal(head.ContentType, 'image/webp');
  const page = await w.bc.get(`/orders/${w.order.id}`);
  t.notMatch(page.body, `${endpoint}/${BUCKET}/disputes/`, 'the page never links the bucket (CDN) for them');
  const r = await w.bc.get(`/orders/${w.order.id}/dispute/photos/${p.id}/full`);
  t.equal(r.statusCode, 200);
  t.equal(r.headers['cache-control'], 'private, no-store');
  t.equal((await sharp((r as unknown as { rawPayload: Buffer }).rawPayload).metadata()).width, 1000);
  t.equal((await w.bc.get(`/media/${p.fullKey}`)).statusCode, 404);
});

t.test("the migration tool's photo copy takes dispute photos along (private header kept)", async (t) => {
  const local = filesUnder(storageDir)
    .map((f) => path.relative(storageDir, f))
    .filter((k) => k.startsWith('disputes/'));
  t.equal(local.length, 6, 'the first test left 3 photos (6 files) under disputes/');
  const from = openPhotos({ kind: 'local', dir: storageDir });
  const to = openPhotos({
    kind: 's3',
    bucket: MIGRATED,
    region: 'ap-northeast-2',
    endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  t.teardown(() => (from.close(), to.close()));
  const log = new Log(path.join(storageDir, 'migrate.log'), true);
  const r = await copyPhotos(from, to, log, 'copy', 4);
  const there = new Set((await to.list()).map((o) => o.key));
  t.ok(
    local.every((k) => there.has(k)),
    `every dispute file copied (${r.copied} objects copied)`,
  );
  const head = await s3.send(new HeadObjectCommand({ Bucket: MIGRATED, Key: local[0] }));
  t.equal(head.CacheControl, 'private, no-store');
});
