/**
 * Photos: bytes in, three WebP sizes out. The type is decided from the bytes (sharp reads the
 * header), never from the file name or the browser's content type; SVG is refused (script
 * risk); over 40 megapixels is refused before decoding; sharp drops every metadata block
 * (EXIF, GPS, XMP) because we never call withMetadata(). Rows and files of photos are written
 * only here.
 */
import sharp, { type Metadata } from 'sharp';
import type { Readable } from 'node:stream';
import type { Db } from '../../core/db/index.js';
import { newKey, type Storage } from '../../core/storage.js';
import { AppError } from '../../core/errors.js';

export const MAX_PHOTOS = 10;
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
export const MAX_PIXELS = 40_000_000;
/** A user's unattached uploads live this long before the cleanup job removes them. */
export const PENDING_TTL_MS = 6 * 3600 * 1000;
/** Pending uploads one user may hold at once (abandoned forms must not fill the disk). */
export const MAX_PENDING_PER_USER = 40;

export const SIZES = { thumb: 200, card: 480, full: 1600 } as const;
const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff']);

export interface PhotoDeps {
  db: Db;
  storage: Storage;
}

export interface ProcessedPhoto {
  thumb: Buffer;
  card: Buffer;
  full: Buffer;
  width: number;
  height: number;
  bytes: number;
}

/** A refusal tied to one uploaded file: the message key and the file's name for the user. */
export class PhotoError extends AppError {
  constructor(key: string, filename: string, status = 422) {
    super(status, key, { name: filename }, 'PHOTO_REFUSED');
  }
}

/** Reads an upload stream into memory, stopping at the limit (busboy truncates the rest). */
export async function readUpload(file: Readable & { truncated?: boolean }, filename: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file) {
    size += (chunk as Buffer).length;
    if (size <= MAX_PHOTO_BYTES) chunks.push(chunk as Buffer);
  }
  if (file.truncated || size > MAX_PHOTO_BYTES) throw new PhotoError('catalog.photoErrors.tooLarge', filename, 413);
  if (size === 0) throw new PhotoError('catalog.photoErrors.empty', filename);
  return Buffer.concat(chunks);
}

/** Validates and re-encodes one image. Throws PhotoError with a user-facing reason. */
export async function processImage(input: Buffer, filename: string): Promise<ProcessedPhoto> {
  if (input.length === 0) throw new PhotoError('catalog.photoErrors.empty', filename);
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    throw new PhotoError('catalog.photoErrors.notImage', filename);
  }
  if (meta.format === 'svg') throw new PhotoError('catalog.photoErrors.svg', filename);
  if (!meta.format || !ACCEPTED.has(meta.format)) throw new PhotoError('catalog.photoErrors.notImage', filename);
  if (!meta.width || !meta.height) throw new PhotoError('catalog.photoErrors.notImage', filename);
  // Checked from the header before any pixel is decoded: a decompression bomb costs nothing.
  if (meta.width * meta.height > MAX_PIXELS) throw new PhotoError('catalog.photoErrors.tooManyPixels', filename);
  try {
    // rotate() applies the EXIF orientation first, so stripping EXIF does not turn photos sideways.
    const base = sharp(input, { limitInputPixels: MAX_PIXELS, failOn: 'error', animated: false }).rotate();
    const render = (max: number, quality: number) =>
      base
        .clone()
        .resize({ width: max, height: max, fit: 'inside', withoutEnlargement: true })
        .webp({ quality })
        .toBuffer({ resolveWithObject: true });
    const [thumb, card, full] = await Promise.all([
      render(SIZES.thumb, 70),
      render(SIZES.card, 78),
      render(SIZES.full, 82),
    ]);
    return {
      thumb: thumb.data,
      card: card.data,
      full: full.data,
      width: full.info.width,
      height: full.info.height,
      bytes: thumb.data.length + card.data.length + full.data.length,
    };
  } catch {
    throw new PhotoError('catalog.photoErrors.corrupt', filename);
  }
}

export interface PhotoRow {
  id: number;
  listingId: number | null;
  position: number;
  thumbKey: string;
  cardKey: string;
  fullKey: string;
  width: number;
  height: number;
}

const keysOf = (p: Pick<PhotoRow, 'thumbKey' | 'cardKey' | 'fullKey'>) => [p.thumbKey, p.cardKey, p.fullKey];

/** Writes the three files; on any failure removes what was written. Returns the keys. */
export async function writeFiles(storage: Storage, p: ProcessedPhoto) {
  const keys = {
    thumbKey: newKey('photos', '-thumb.webp'),
    cardKey: newKey('photos', '-card.webp'),
    fullKey: newKey('photos', '-full.webp'),
  };
  try {
    await storage.put(keys.thumbKey, p.thumb, 'image/webp');
    await storage.put(keys.cardKey, p.card, 'image/webp');
    await storage.put(keys.fullKey, p.full, 'image/webp');
  } catch (err) {
    await deleteFiles(storage, keys);
    throw err;
  }
  return keys;
}

/** Copies a stored photo's three files to new keys (a relisted listing's own copies). Returns the new keys. */
export async function copyFiles(storage: Storage, p: Pick<PhotoRow, 'thumbKey' | 'cardKey' | 'fullKey'>) {
  const keys = {
    thumbKey: newKey('photos', '-thumb.webp'),
    cardKey: newKey('photos', '-card.webp'),
    fullKey: newKey('photos', '-full.webp'),
  };
  try {
    for (const k of ['thumbKey', 'cardKey', 'fullKey'] as const) {
      const o = await storage.get(p[k]);
      if (!o) throw new AppError(409, 'catalog.relist.photoGone', {}, 'PHOTO_GONE');
      const chunks: Buffer[] = [];
      for await (const c of o.stream) chunks.push(c as Buffer);
      await storage.put(keys[k], Buffer.concat(chunks), o.contentType);
    }
  } catch (err) {
    await deleteFiles(storage, keys);
    throw err;
  }
  return keys;
}

export async function deleteFiles(
  storage: Storage,
  p: Pick<PhotoRow, 'thumbKey' | 'cardKey' | 'fullKey'>,
): Promise<void> {
  await Promise.allSettled(keysOf(p).map((k) => storage.delete(k)));
}

/** Stores processed photos as the owner's pending uploads (no listing yet). All or nothing. */
export async function storePending(deps: PhotoDeps, ownerId: number, photos: ProcessedPhoto[]): Promise<PhotoRow[]> {
  const pending = await deps.db.photo.count({ where: { ownerId, listingId: null, expiresAt: { gt: new Date() } } });
  if (pending + photos.length > MAX_PENDING_PER_USER)
    throw new AppError(422, 'catalog.photoErrors.tooManyPending', { max: MAX_PENDING_PER_USER }, 'TOO_MANY_PENDING');
  const written: Awaited<ReturnType<typeof writeFiles>>[] = [];
  try {
    for (const p of photos) written.push(await writeFiles(deps.storage, p));
    const expiresAt = new Date(Date.now() + PENDING_TTL_MS);
    return await deps.db.$transaction(
      photos.map((p, i) =>
        deps.db.photo.create({
          data: {
            ownerId,
            listingId: null,
            position: i,
            ...written[i],
            width: p.width,
            height: p.height,
            bytes: p.bytes,
            expiresAt,
          },
        }),
      ),
    );
  } catch (err) {
    await Promise.all(written.map((k) => deleteFiles(deps.storage, k)));
    throw err;
  }
}

/** Deletes photo rows and their files (rows first: a file without a row is harmless, the reverse is a broken image). */
export async function deletePhotos(deps: PhotoDeps, photos: PhotoRow[]): Promise<void> {
  if (!photos.length) return;
  await deps.db.photo.deleteMany({ where: { id: { in: photos.map((p) => p.id) } } });
  await Promise.all(photos.map((p) => deleteFiles(deps.storage, p)));
}

/** The cleanup job: expired pending uploads. Returns how many were removed. */
export async function removeExpiredPending(deps: PhotoDeps, now = new Date(), batch = 500): Promise<number> {
  let removed = 0;
  for (let round = 0; round < 100; round++) {
    const rows = await deps.db.photo.findMany({
      where: { listingId: null, expiresAt: { lt: now } },
      take: batch,
      orderBy: { id: 'asc' },
    });
    if (!rows.length) break;
    await deletePhotos(deps, rows);
    removed += rows.length;
    if (rows.length < batch) break;
  }
  return removed;
}

/** A user's own pending uploads among `ids` (others' or expired ids are silently not found). */
export async function ownPending(deps: PhotoDeps, ownerId: number, ids: number[]): Promise<PhotoRow[]> {
  if (!ids.length) return [];
  return deps.db.photo.findMany({
    where: { id: { in: ids }, ownerId, listingId: null, expiresAt: { gt: new Date() } },
  });
}

export function photoUrls(
  storage: Storage,
  p: Pick<PhotoRow, 'id' | 'thumbKey' | 'cardKey' | 'fullKey' | 'width' | 'height'>,
) {
  return {
    id: p.id,
    thumb: storage.url(p.thumbKey),
    card: storage.url(p.cardKey),
    full: storage.url(p.fullKey),
    width: p.width,
    height: p.height,
  };
}
