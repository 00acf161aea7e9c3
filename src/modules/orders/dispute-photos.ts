/**
 * A dispute's photos (up to 3): read from the dispute form as it streams, checked and re-encoded
 * by catalog's public photo checks (type from the bytes, 10 MB, 40 MP, metadata dropped), kept
 * as two WebP sizes under the private `disputes/` storage prefix, and streamed only to the
 * order's buyer and seller and to ADMINs (core/storage.ts keeps /media/ and the CDN off them).
 * Files are written only after the whole request is good, and removed again if the dispute's
 * transaction does not commit: a refused request stores nothing.
 *
 * CSRF for the multipart body: the global check runs before the body is read, so the route turns
 * it off and checks here: the header (htmx) or the form's `_csrf` field before any file.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { verifyCsrfToken } from '../../core/security.js';
import { badCharacters } from '../../core/input.js';
import { newKey, type Storage } from '../../core/storage.js';
import type { Db, Tx } from '../../core/db/index.js';
import { PhotoError, processImage, readUpload, type ProcessedPhoto } from '../catalog/index.js';

export const MAX_DISPUTE_PHOTOS = 3;
/** The two sizes kept: the thumbnail on the pages, the full photo behind it. */
export const DISPUTE_PHOTO_SIZES = ['thumb', 'full'] as const;
export type DisputePhotoSize = (typeof DISPUTE_PHOTO_SIZES)[number];
/** Text fields of the dispute form and their longest accepted value (the rest is refused). */
const FIELDS: Record<string, number> = { reason: 40, body: 4000 };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the global CSRF check is skipped because the route checks it itself (multipart bodies). */
    csrf?: boolean;
  }
}

export interface DisputeForm {
  fields: { reason?: string; body?: string };
  photos: ProcessedPhoto[];
  /** The first refusal of a photo (bad file, too many); the fields are still read. */
  error: AppError | null;
}

export const tooManyPhotos = () =>
  new AppError(413, 'orders.disputePhotos.tooMany', { max: MAX_DISPUTE_PHOTOS }, 'TOO_MANY_PHOTOS');

function takeField(fields: DisputeForm['fields'], name: string, value: unknown) {
  if (!(name in FIELDS)) return; // unknown fields are ignored, as the urlencoded schema would not keep them
  if (typeof value !== 'string' || value.length > FIELDS[name])
    throw new AppError(400, 'errors.validation', {}, 'VALIDATION');
  if (value.includes('\u0000')) throw badCharacters();
  if ((fields as Record<string, string>)[name] === undefined) (fields as Record<string, string>)[name] = value;
}

/** Reads the dispute form: urlencoded (no photos) or multipart with up to MAX_DISPUTE_PHOTOS files. */
export async function readDisputeForm(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<DisputeForm> {
  const header = req.headers['x-csrf-token'] as string | undefined;
  const fields: DisputeForm['fields'] = {};
  if (!req.isMultipart()) {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new AppError(400, 'errors.validation', {}, 'VALIDATION');
    await verifyCsrfToken(app, req, reply, header ?? (typeof body._csrf === 'string' ? body._csrf : undefined));
    for (const [k, v] of Object.entries(body)) if (k !== '_csrf') takeField(fields, k, v);
    return { fields, photos: [], error: null };
  }
  let verified = false;
  if (header) {
    await verifyCsrfToken(app, req, reply, header);
    verified = true;
  }
  const csrf = () => new AppError(403, 'errors.csrf', {}, 'CSRF');
  const photos: ProcessedPhoto[] = [];
  let error: AppError | null = null;
  let files = 0;
  // A failure of our own (sharp, memory) is not the client's: kept apart from the parser's errors,
  // which all mean a malformed body (no boundary, cut off) -> 400.
  let ours: unknown = null;
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (!verified) {
          if (part.fieldname !== '_csrf') throw csrf();
          await verifyCsrfToken(app, req, reply, String(part.value));
          verified = true;
          continue;
        }
        if (part.fieldname !== '_csrf') takeField(fields, part.fieldname, part.value);
        continue;
      }
      if (!verified) throw csrf();
      // A file input left empty still sends a part with no name and no bytes: not a photo.
      if (!part.filename) {
        part.file.resume();
        continue;
      }
      files++;
      if (error || part.fieldname !== 'photos') {
        part.file.resume(); // refused anyway (or not ours): drain it, keep reading the fields
        if (!error && part.fieldname !== 'photos') error = new AppError(400, 'errors.validation', {}, 'VALIDATION');
        continue;
      }
      let buf: Buffer;
      try {
        buf = await readUpload(part.file, part.filename);
      } catch (err) {
        if (!(err instanceof PhotoError)) throw err; // the stream broke: the body is malformed
        error = err;
        continue;
      }
      try {
        photos.push(await processImage(buf, part.filename));
      } catch (err) {
        if (!(err instanceof PhotoError)) {
          ours = err;
          break;
        }
        error = err;
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') error = tooManyPhotos();
    else if (code === 'FST_FIELDS_LIMIT') error = new AppError(413, 'errors.validation', {}, 'TOO_MANY_FIELDS');
    else if (err instanceof AppError || code.startsWith('FST_CSRF')) throw err;
    else throw new AppError(400, 'guard.badUpload', {}, 'BAD_MULTIPART');
  }
  if (ours) throw ours;
  if (!verified) throw csrf();
  if (!error && files > MAX_DISPUTE_PHOTOS) error = tooManyPhotos();
  return { fields, photos, error };
}

export interface StoredDisputePhoto {
  thumbKey: string;
  fullKey: string;
  width: number;
  height: number;
  bytes: number;
}

/** Deletes files by key (a missing one is not an error); never throws. */
export async function deleteDisputeFiles(storage: Storage, photos: StoredDisputePhoto[]): Promise<void> {
  await Promise.allSettled(photos.flatMap((p) => [storage.delete(p.thumbKey), storage.delete(p.fullKey)]));
}

/** Writes the photos' files (all or nothing: on a failure what was written is removed). */
export async function writeDisputeFiles(storage: Storage, photos: ProcessedPhoto[]): Promise<StoredDisputePhoto[]> {
  const out: StoredDisputePhoto[] = [];
  try {
    for (const p of photos) {
      const s = {
        thumbKey: newKey('disputes', '-thumb.webp'),
        fullKey: newKey('disputes', '-full.webp'),
        width: p.width,
        height: p.height,
        bytes: p.thumb.length + p.full.length,
      };
      out.push(s);
      await storage.put(s.thumbKey, p.thumb, 'image/webp');
      await storage.put(s.fullKey, p.full, 'image/webp');
    }
  } catch (err) {
    await deleteDisputeFiles(storage, out);
    throw err;
  }
  return out;
}

/** The rows of a new dispute's photos, in the dispute's transaction. */
export async function addDisputePhotos(tx: Tx, disputeId: number, photos: StoredDisputePhoto[]): Promise<void> {
  if (!photos.length) return;
  await tx.orderDisputePhoto.createMany({ data: photos.map((p, position) => ({ disputeId, position, ...p })) });
}

export interface DisputePhotoView {
  id: number;
  /** 1, 2, 3: the photo's number in its alt text. */
  n: number;
  thumb: string;
  full: string;
  width: number;
  height: number;
}

/** Photos of disputes by dispute id, as links to the private route (the order's, by its id). */
export async function disputePhotoViews(
  db: Db,
  disputes: { id: number; orderId: number }[],
): Promise<Map<number, DisputePhotoView[]>> {
  const out = new Map<number, DisputePhotoView[]>(disputes.map((d) => [d.id, []]));
  if (!disputes.length) return out;
  const orderOf = new Map(disputes.map((d) => [d.id, d.orderId]));
  const rows = await db.orderDisputePhoto.findMany({
    where: { disputeId: { in: disputes.map((d) => d.id) } },
    orderBy: [{ disputeId: 'asc' }, { position: 'asc' }],
  });
  for (const r of rows) {
    const base = `/orders/${orderOf.get(r.disputeId)}/dispute/photos/${r.id}`;
    out.get(r.disputeId)!.push({
      id: r.id,
      n: r.position + 1,
      thumb: `${base}/thumb`,
      full: `${base}/full`,
      width: r.width,
      height: r.height,
    });
  }
  return out;
}
