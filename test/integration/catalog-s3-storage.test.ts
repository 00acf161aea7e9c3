/**
 * Photos on S3 (STORAGE=s3) against a real S3-compatible server (s3rver, in this process, on
 * 127.0.0.1): the catalog's own flows upload, re-encode, serve (from PHOTO_BASE_URL, or proxied
 * by /media/ without it), delete replaced photos and clean up expired pending uploads.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import S3rver from 's3rver';
import { S3Client, ListObjectsV2Command, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startApp } from '../helpers/app.js';
import { seller, phonesCategory, validFields, postMultipart, photo, jpeg, jpegWithGps } from '../helpers/catalog.js';

const BUCKET = 'dapanda-test-photos';
const dir = mkdtempSync(path.join(tmpdir(), 'dapanda-s3rver-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: [{ name: BUCKET, configs: [] }],
});
const address = (await server.run()) as AddressInfo;
const endpoint = `http://127.0.0.1:${address.port}`;
t.teardown(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const keys = { S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' };
const s3 = new S3Client({
  region: 'ap-northeast-2',
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
t.teardown(() => s3.destroy());
const objects = async () =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
const s3App = (t: Test, extra: Record<string, string> = {}) =>
  startApp(t, {
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: endpoint,
    S3_REGION: 'ap-northeast-2',
    ...keys,
    ...extra,
  });

t.test(
  'a listing with photos: re-encoded WebP objects in the bucket, linked from PHOTO_BASE_URL, allowed by the CSP',
  async (t) => {
    // s3rver serves objects at <endpoint>/<bucket>/<key>: the stand-in for CloudFront.
    const base = `${endpoint}/${BUCKET}`;
    const { app } = await s3App(t, { PHOTO_BASE_URL: base });
    const before = await objects();
    const s = await seller(app);
    const cat = await phonesCategory(app);
    const res = await postMultipart(s.c, '/sell', validFields(cat), [
      photo(await jpegWithGps(), 'IMG_0001.JPG'),
      photo(await jpeg(1200, 900)),
    ]);
    t.equal(res.statusCode, 303);
    const id = Number(String(res.headers.location).split('/').pop());
    const l = await app.db.listing.findUniqueOrThrow({
      where: { id },
      include: { photos: { orderBy: { position: 'asc' } } },
    });
    const mine = l.photos.flatMap((p) => [p.thumbKey, p.cardKey, p.fullKey]);
    t.same(
      (await objects()).filter((k) => !before.includes(k)).sort(),
      [...mine].sort(),
      'three objects per photo, under photos/',
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: l.photos[0].fullKey }));
    t.equal(head.ContentType, 'image/webp');
    t.equal(head.CacheControl, 'public, max-age=31536000, immutable');

    const page = await s.c.get(`/items/${id}`);
    t.equal(page.statusCode, 200);
    const src = new RegExp(`${base.replace(/[./]/g, '\\$&')}/photos/[0-9a-f-]+-full\\.webp`).exec(page.body)?.[0];
    t.ok(src, 'the page links the photo on the photo origin');
    t.match(
      page.body,
      new RegExp(`<meta property="og:image" content="${base.replace(/[./]/g, '\\$&')}/photos/[0-9a-f-]+-card\\.webp">`),
      'og:image is the absolute CDN URL',
    );
    t.match(
      String(page.headers['content-security-policy']),
      new RegExp(`img-src 'self' data: blob: ${endpoint.replace(/[./]/g, '\\$&')}(;|$)`),
      'CSP img-src allows the photo origin',
    );
    // What a browser does with that URL: the bytes are a WebP without the phone's EXIF/GPS.
    const img = await fetch(src!);
    t.equal(img.status, 200);
    const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    t.equal(meta.format, 'webp');
    t.equal(meta.exif, undefined, 'metadata stripped');
    t.equal(meta.width, 800);
  },
);

t.test('without PHOTO_BASE_URL the app proxies /media/ from the bucket; unknown keys are 404', async (t) => {
  const { app } = await s3App(t);
  const s = await seller(app);
  const up = await postMultipart(s.c, '/sell/photos', [], [photo(await jpeg(300, 200))], {
    accept: 'application/json',
    'x-csrf-token': s.c.csrf,
  });
  t.equal(up.statusCode, 201);
  const thumb = up.json().photos[0].thumb as string;
  t.match(thumb, /^\/media\/photos\/[0-9a-f-]+-thumb\.webp$/);
  const r = await app.inject({ method: 'GET', url: thumb });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'image/webp');
  t.equal((await sharp(r.rawPayload).metadata()).width, 200);
  t.equal(
    (await app.inject({ method: 'GET', url: '/media/photos/00000000-0000-4000-8000-000000000000-thumb.webp' }))
      .statusCode,
    404,
  );
  t.equal((await app.inject({ method: 'GET', url: '/media/photos%2F..%2F..%2Fpackage.json' })).statusCode, 404);
});

t.test(
  'a photo removed in an edit is deleted from the bucket; expired pending uploads are cleaned by the job',
  async (t) => {
    const { app } = await s3App(t);
    const s = await seller(app);
    const cat = await phonesCategory(app);
    const res = await postMultipart(s.c, '/sell', validFields(cat), [photo(await jpeg()), photo(await jpeg(500, 500))]);
    const id = Number(String(res.headers.location).split('/').pop());
    const [keep, drop] = await app.db.photo.findMany({ where: { listingId: id }, orderBy: { position: 'asc' } });
    const edit = await postMultipart(s.c, `/items/${id}/edit`, [...validFields(cat), ['photoIds', String(keep.id)]]);
    t.equal(edit.statusCode, 303);
    const now = await objects();
    t.ok(
      [keep.thumbKey, keep.cardKey, keep.fullKey].every((k) => now.includes(k)),
      'the kept photo stays',
    );
    t.notOk(
      [drop.thumbKey, drop.cardKey, drop.fullKey].some((k) => now.includes(k)),
      'the removed photo is gone from S3',
    );

    await s.c.get('/sell');
    const up = await postMultipart(s.c, '/sell/photos', [], [photo(await jpeg(320, 240))], {
      accept: 'application/json',
      'x-csrf-token': s.c.csrf,
    });
    const pending = await app.db.photo.findUniqueOrThrow({ where: { id: up.json().photos[0].id as number } });
    const pendingKeys = [pending.thumbKey, pending.cardKey, pending.fullKey];
    t.ok((await objects()).includes(pending.fullKey), 'the pending upload is in the bucket');
    await app.db.photo.update({ where: { id: pending.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    // The real periodic cleanup, run now instead of waiting its 15 minutes.
    await app.queues.runNow('cleanup-pending-photos');
    t.equal(await app.db.photo.count({ where: { id: pending.id } }), 0, 'the cleanup removed the row');
    const after = await objects();
    t.notOk(
      pendingKeys.some((k) => after.includes(k)),
      'and its three objects',
    );
    t.ok(
      [keep.thumbKey, keep.cardKey, keep.fullKey].every((k) => after.includes(k)),
      'attached photos are untouched',
    );
  },
);

t.test('config: STORAGE=s3 needs a bucket, paired keys and an https photo origin in production', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js');
  const base = { NODE_ENV: 'test', STORAGE: 's3' };
  t.throws(() => loadConfig({ ...base }), ConfigError, 'no bucket');
  t.throws(() => loadConfig({ ...base, S3_BUCKET: 'Bad_Bucket' }), ConfigError);
  t.throws(() => loadConfig({ ...base, S3_BUCKET: BUCKET, S3_ACCESS_KEY_ID: 'only-one' }), ConfigError);
  t.throws(() => loadConfig({ ...base, S3_BUCKET: BUCKET, S3_ENDPOINT: 'ftp://x' }), ConfigError);
  const prod = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgresql://a@b/c',
    REDIS_URL: 'redis://r',
    SESSION_SECRET: 'x'.repeat(40),
    PUBLIC_URL: 'https://d.example',
    STORAGE_DIR: '/srv',
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
  };
  t.throws(
    () => loadConfig({ ...prod, PHOTO_BASE_URL: 'http://cdn.example' }),
    ConfigError,
    'plain http CDN refused in production',
  );
  const ok = loadConfig({ ...prod, PHOTO_BASE_URL: 'https://d1.cloudfront.net/' });
  t.same(ok.storage, {
    kind: 's3',
    bucket: BUCKET,
    region: 'ap-northeast-2',
    endpoint: undefined,
    photoBaseUrl: 'https://d1.cloudfront.net',
    credentials: undefined,
  });
  t.same(loadConfig({ NODE_ENV: 'test' }).storage, { kind: 'local' });
});
