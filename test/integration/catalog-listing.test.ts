/** Listing an item: photos re-encoded and stripped, pending uploads attached in the chosen order, edit rules, events, cleanup. */
import t from 'tap';
import sharp from 'sharp';
import {
  catalogApp,
  seller,
  phonesCategory,
  validFields,
  postMultipart,
  photo,
  jpeg,
  jpegWithGps,
  filesUnder,
} from '../helpers/catalog.js';
import { catalogApi } from '../../src/modules/catalog/index.js';
import { removeExpiredPending } from '../../src/modules/catalog/photos.js';
import { LocalDiskStorage } from '../../src/core/storage.js';

t.test('list with the form alone (no JS): three WebP sizes, GPS EXIF gone, detail page shows it', async (t) => {
  const { app, storageDir } = await catalogApp(t);
  const s = await seller(app);
  const cat = await phonesCategory(app);
  const gps = await jpegWithGps();
  t.match(
    (await sharp(gps).metadata()).exif?.toString('latin1') ?? '',
    'Secret Model 9',
    'the input really carries EXIF',
  );
  const events: unknown[] = [];
  app.events.on('listing.created', (p) => void events.push(p));
  const res = await postMultipart(
    s.c,
    '/sell',
    validFields(cat, { description: '줄1\n줄2 https://evil.example <b>x</b>' }),
    [photo(gps, 'IMG_0001.JPG')],
  );
  t.equal(res.statusCode, 303);
  const id = Number(String(res.headers.location).split('/').pop());
  const l = await app.db.listing.findUniqueOrThrow({ where: { id }, include: { photos: true } });
  t.equal(l.status, 'LIVE');
  t.equal(l.currentPrice, 300000);
  t.equal(l.bidCount, 0);
  t.equal(l.photos.length, 1);
  t.equal(l.coverPhotoId, l.photos[0].id);
  t.equal(Math.round((l.endsAt.getTime() - l.startsAt.getTime()) / 86400_000), 7);
  t.equal(filesUnder(storageDir).length, 3, 'three sizes on disk');
  for (const key of [l.photos[0].thumbKey, l.photos[0].cardKey, l.photos[0].fullKey]) {
    const media = await s.c.get(`/media/${key}`);
    t.equal(media.statusCode, 200);
    t.equal(media.headers['content-type'], 'image/webp');
    t.match(String(media.headers['cache-control']), 'immutable');
    const meta = await sharp(Buffer.from(media.body, 'latin1'))
      .metadata()
      .catch(() => null);
    void meta;
  }
  const full = await new LocalDiskStorage(storageDir).get(l.photos[0].fullKey);
  const chunks: Buffer[] = [];
  for await (const c of full!.stream) chunks.push(c as Buffer);
  const meta = await sharp(Buffer.concat(chunks)).metadata();
  t.equal(meta.format, 'webp');
  t.equal(meta.exif, undefined, 'no EXIF (GPS, camera) in the stored photo');
  t.equal(meta.xmp, undefined, 'no XMP');
  t.equal((await sharp(await readKey(storageDir, l.photos[0].thumbKey)).metadata()).width, 200, 'thumbnail 200px');
  t.same(events, [
    {
      listingId: id,
      sellerId: s.id,
      status: 'LIVE',
      startsAt: l.startsAt.toISOString(),
      endsAt: l.endsAt.toISOString(),
      startPrice: 300000,
    },
  ]);

  const page = await s.c.get(`/items/${id}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, '<title>아이폰 13 미니 팝니다 · 다판다</title>');
  t.match(page.body, `<link rel="canonical" href="http://localhost:3000/items/${id}">`);
  t.match(
    page.body,
    /<meta property="og:image" content="http:\/\/localhost:3000\/media\/photos\/[0-9a-f-]+-card.webp">/,
  );
  t.match(page.body, 'https://evil.example &lt;b&gt;x&lt;/b&gt;', 'description escaped, the link is plain text');
  t.notMatch(page.body, 'href="https://evil.example');
  t.match(page.body, `id="auction-${id}"`, "bidding's live area fills the item page's slot");
  t.match(page.body, 'id="price-history"');
  t.match(page.body, s.nickname);
  t.match((await s.c.get('/media/../../etc/passwd')).statusCode, 404, 'no path traversal');
  t.equal((await s.c.get('/media/photos%2F..%2F..%2Fpackage.json')).statusCode, 404);
});

t.test(
  'JS path: upload first, reorder, submit ids; the first is the cover; a failed submit keeps the uploads',
  async (t) => {
    const { app, storageDir } = await catalogApp(t);
    const s = await seller(app);
    const cat = await phonesCategory(app);
    const up = async (color: { r: number; g: number; b: number }) => {
      const r = await postMultipart(s.c, '/sell/photos', [], [photo(await jpeg(300, 300, color))], {
        accept: 'application/json',
        'x-csrf-token': s.c.csrf,
      });
      t.equal(r.statusCode, 201);
      return r.json().photos[0].id as number;
    };
    const a = await up({ r: 255, g: 0, b: 0 });
    const b = await up({ r: 0, g: 0, b: 255 });
    t.equal(filesUnder(storageDir).length, 6);
    // A validation error: 422, values and both photos kept (as hidden ids, in order).
    const bad = await postMultipart(
      s.c,
      '/sell',
      [...validFields(cat, { startPrice: '10' }), ['photoIds', String(b)], ['photoIds', String(a)]],
      [],
      { 'hx-request': 'true' },
    );
    t.equal(bad.statusCode, 422);
    t.match(bad.body, /^<form class="card form listing-form"/, 'htmx gets the form fragment');
    t.match(
      bad.body,
      new RegExp(`name="photoIds" value="${b}"[\\s\\S]*name="photoIds" value="${a}"`),
      'photos kept in order',
    );
    t.equal(await app.db.listing.count({ where: { sellerId: s.id } }), 0);
    // Fixed: b first (the cover), then a.
    const ok = await postMultipart(
      s.c,
      '/sell',
      [...validFields(cat), ['photoIds', String(b)], ['photoIds', String(a)]],
      [],
      { 'hx-request': 'true' },
    );
    t.equal(ok.statusCode, 204);
    const id = Number(String(ok.headers['hx-redirect']).split('/').pop());
    const l = await app.db.listing.findUniqueOrThrow({
      where: { id },
      include: { photos: { orderBy: { position: 'asc' } } },
    });
    t.same(
      l.photos.map((p) => p.id),
      [b, a],
    );
    t.equal(l.coverPhotoId, b);
    t.ok(
      l.photos.every((p) => p.expiresAt === null),
      'attached photos no longer expire',
    );
    // Someone else cannot use these ids.
    const other = await seller(app);
    const steal = await postMultipart(other.c, '/sell', [...validFields(cat), ['photoIds', String(a)]]);
    t.equal(steal.statusCode, 422);
    t.equal(await app.db.listing.count({ where: { sellerId: other.id } }), 0);
  },
);

t.test('expired pending uploads are removed with their files; attached ones stay', async (t) => {
  const { app, storageDir } = await catalogApp(t);
  const s = await seller(app);
  const r = await postMultipart(s.c, '/sell/photos', [], [photo(await jpeg()), photo(await jpeg(100, 100))], {
    accept: 'application/json',
    'x-csrf-token': s.c.csrf,
  });
  t.equal(r.statusCode, 201);
  t.equal(filesUnder(storageDir).length, 6);
  const storage = new LocalDiskStorage(storageDir);
  t.equal(await removeExpiredPending({ db: app.db, storage }), 0, 'not expired yet');
  // The database is shared with the other test files, whose own pending uploads expire in the same sweep.
  const removed = await removeExpiredPending({ db: app.db, storage }, new Date(Date.now() + 7 * 3600_000));
  t.ok(removed >= 2, `this seller's two uploads among the ${removed} removed`);
  t.same(filesUnder(storageDir), []);
  t.equal(await app.db.photo.count({ where: { ownerId: s.id } }), 0);
});

t.test('edit and cancel until the first bid; after it only appending to the description', async (t) => {
  const { app } = await catalogApp(t);
  const s = await seller(app);
  const cat = await phonesCategory(app);
  const res = await postMultipart(s.c, '/sell', validFields(cat), [photo(await jpeg())]);
  const id = Number(String(res.headers.location).split('/').pop());
  const pid = (await app.db.photo.findFirstOrThrow({ where: { listingId: id } })).id;
  const edit = await postMultipart(s.c, `/items/${id}/edit`, [
    ...validFields(cat, { title: '아이폰 13 미니 (가격 내림)', startPrice: '250000' }),
    ['photoIds', String(pid)],
  ]);
  t.equal(edit.statusCode, 303);
  const l = await app.db.listing.findUniqueOrThrow({ where: { id } });
  t.equal(l.title, '아이폰 13 미니 (가격 내림)');
  t.equal(l.currentPrice, 250000);
  // The edit form gives the description back exactly as stored: a partial called on an indented line
  // must not indent the lines of a multi-line textarea (Handlebars' preventIndent, core/views.ts), or
  // every save would add two spaces to each line after the first.
  const editForm = await s.c.get(`/items/${id}/edit`);
  const area = /<textarea id="f-description"[^>]*>([^<]*)<\/textarea>/.exec(editForm.body);
  t.equal(area?.[1], l.description, 'the textarea holds the description unchanged');
  t.match(l.description, /\n/, 'a multi-line description');

  // Bidding reports the first bid through catalog's API.
  const api = catalogApi(app.db);
  t.equal(await api.recordAuctionState(id, { currentPrice: 260000, bidCount: 1 }), true);
  t.equal((await api.getListingForAuction(id))!.bidCount, 1);
  const form = await s.c.get(`/items/${id}/edit`);
  t.match(form.body, '설명 덧붙이기', 'after a bid the edit page is the append form');
  const again = await postMultipart(s.c, `/items/${id}/edit`, [
    ...validFields(cat, { title: '바꿔치기' }),
    ['photoIds', String(pid)],
  ]);
  t.equal(again.statusCode, 409);
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).title, '아이폰 13 미니 (가격 내림)');
  t.equal((await s.c.post(`/items/${id}/cancel`, {})).statusCode, 409, 'no cancel after a bid');
  await s.c.get(`/items/${id}/edit`);
  const add = await s.c.post(`/items/${id}/append`, { addition: '충전기도 같이 드려요.' });
  t.equal(add.statusCode, 303);
  const d = (await app.db.listing.findUniqueOrThrow({ where: { id } })).description;
  t.match(d, /^배터리 효율 89%\n케이스 끼고 썼어요.\n\n\[.+ 추가\]\n충전기도 같이 드려요.$/);

  // A second listing without bids can be cancelled; the event carries plain ids.
  const res2 = await postMultipart(
    s.c,
    '/sell',
    validFields(cat, {
      startMode: 'scheduled',
      startsAt: new Date(Date.now() + 9 * 3600_000 + 2 * 86400_000).toISOString().slice(0, 16),
    }),
    [photo(await jpeg())],
  );
  const id2 = Number(String(res2.headers.location).split('/').pop());
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id: id2 } })).status, 'SCHEDULED');
  const seen: unknown[] = [];
  app.events.on('listing.cancelled', (p) => void seen.push(p));
  await s.c.get(`/items/${id2}`);
  t.equal((await s.c.post(`/items/${id2}/cancel`, {})).statusCode, 303);
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id: id2 } })).status, 'CANCELLED');
  t.same(seen, [{ listingId: id2, sellerId: s.id }]);
  t.equal(
    (await new (await import('../helpers/app.js')).Client(app).get(`/items/${id2}`)).statusCode,
    404,
    'a cancelled listing is gone for shoppers',
  );
  t.equal(await api.recordAuctionState(id2, { status: 'LIVE' }), false, 'a cancelled listing is never revived');
});

async function readKey(root: string, key: string): Promise<Buffer> {
  const o = await new LocalDiskStorage(root).get(key);
  const chunks: Buffer[] = [];
  for await (const c of o!.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
