/** catalog test helpers: multipart bodies, generated images, a logged-in seller, disk and row counts. */
import { mkdtempSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Test } from 'tap';
import { startApp, Client, type Res } from './app.js';
import { uniq } from './env.js';
import type { App } from '../../src/app.js';

export interface FilePart {
  name: string;
  filename: string;
  type: string;
  data: Buffer;
}

export function multipart(fields: [string, string][], files: FilePart[] = []): { body: Buffer; contentType: string } {
  const boundary = `----dapanda${uniq()}${uniq()}`;
  const chunks: Buffer[] = [];
  for (const [k, v] of fields)
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.filename}"\r\nContent-Type: ${f.type}\r\n\r\n`,
      ),
    );
    chunks.push(f.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function jpeg(w = 640, h = 480, color = { r: 200, g: 80, b: 40 }): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: color } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/** A JPEG carrying EXIF with a camera model and GPS position (what phones write). */
export async function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 30, g: 120, b: 200 } } })
    .withExif({
      IFD0: { Make: 'PandaCam', Model: 'Secret Model 9', Copyright: 'owner-name' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '37/1 33/1 59/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '126/1 58/1 40/1',
      },
    })
    .jpeg()
    .toBuffer();
}

/** A valid PNG header declaring width x height, with a tiny (truncated) image body: costs nothing to make. */
export function pngHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1000))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const SVG = Buffer.from(
  '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script><rect width="100" height="100" fill="red"/></svg>',
);

/** Every file under a folder (recursively). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** An app with its own empty storage folder, so a test can count files on disk exactly. */
export async function catalogApp(t: Test) {
  const storageDir = mkdtempSync(path.join(tmpdir(), 'dapanda-storage-'));
  const { app, config } = await startApp(t, { STORAGE_DIR: storageDir });
  return { app, config, storageDir };
}

export async function seller(app: App): Promise<{ c: Client; id: number; nickname: string }> {
  const u = uniq();
  const c = new Client(app);
  const nickname = `셀러${u}`;
  const r = await c.signup({ email: `s${u}@example.com`, nickname, password: 'a good long password' });
  if (r.statusCode !== 303) throw new Error(`signup failed: ${r.statusCode} ${r.body.slice(0, 2000)}`);
  const user = await app.db.user.findUniqueOrThrow({ where: { nickname } });
  await c.get('/sell');
  return { c, id: user.id, nickname };
}

/** A leaf category id (휴대폰). */
export async function phonesCategory(app: App): Promise<number> {
  return (await app.db.category.findUniqueOrThrow({ where: { slug: 'phones' } })).id;
}

export function validFields(categoryId: number, over: Record<string, string> = {}): [string, string][] {
  const base: Record<string, string> = {
    title: '아이폰 13 미니 팝니다',
    description: '배터리 효율 89%\n케이스 끼고 썼어요.',
    categoryId: String(categoryId),
    condition: 'GOOD',
    startPrice: '300000',
    buyNowPrice: '',
    reservePrice: '',
    startMode: 'now',
    startsAt: '',
    durationDays: '7',
    ...over,
  };
  return Object.entries(base);
}

/** Posts a multipart form with the client's cookies; `_csrf` goes first, as the real form sends it. */
export async function postMultipart(
  c: Client,
  url: string,
  fields: [string, string][],
  files: FilePart[] = [],
  headers: Record<string, string> = {},
): Promise<Res> {
  const { body, contentType } = multipart([['_csrf', c.csrf], ...fields], files);
  const res = (await c.app.inject({
    method: 'POST',
    url,
    payload: body,
    headers: {
      'content-type': contentType,
      cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      ...headers,
    },
  })) as unknown as Res;
  const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
  if (m) c.csrf = m[1];
  return res;
}

export const photo = (data: Buffer, filename = 'photo.jpg', type = 'image/jpeg'): FilePart => ({
  name: 'photos',
  filename,
  type,
  data,
});
