/**
 * A dispute's photos (up to 3): read from the dispute form as it streams, checked and re-encoded
 * by catalog's public photo checks (type from the bytes, 10 MB, 40 MP, metadata dropped), kept
 * as two WebP sizes under the private `disputes/` storage prefix, and streamed only to the
 * order's buyer and seller and to ADMINs (core/storage.ts keeps /media/ and the CDN off them).
 * Files are written only after the whole request is good, and removed again if the dispute's
 * transaction does not commit: a refused request stores nothing.
 *
 * The form is read by catalog's readPhotoForm (the CSRF rule, the streaming limits, the photo checks).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { badCharacters } from '../../core/input.js';
import { newKey, type Storage } from '../../core/storage.js';
import type { Db, Tx } from '../../core/db/index.js';
import { readPhotoForm, type ProcessedPhoto } from '../catalog/index.js';

export const MAX_DISPUTE_PHOTOS = 3;
/** The two sizes kept: the thumbnail on the pages, the full photo behind it. */
export const DISPUTE_PHOTO_SIZES = ['thumb', 'full'] as const;
export type DisputePhotoSize = (typeof DISPUTE_PHOTO_SIZES)[number];
/** Text fields of the dispute form and their longest accepted value (the rest is refused). */
const FIELDS: Record<string, number> = { reason: 40, body: 4000 };

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

/** Reads the dispute form: urlencoded (no photos) or multipart with up to MAX_DISPUTE_PHOTOS files under `photos`. */
export const readDisputeForm = (app: FastifyInstance, req: FastifyRequest, reply: FastifyReply): Promise<DisputeForm> =>
  readPhotoForm<DisputeForm['fields']>(
    app,
    req,
    reply,
    {},
    {
      maxPhotos: MAX_DISPUTE_PHOTOS,
      tooMany: tooManyPhotos,
      photoField: 'photos',
      take: takeField,
    },
  );

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
