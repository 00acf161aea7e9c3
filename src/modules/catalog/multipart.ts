/**
 * Reads a form with photos as it streams (the sell form and its photo upload here, a dispute's
 * photos in orders): text fields through the caller's `take`, each file checked and re-encoded in
 * turn (photos.ts), limits enforced by busboy while the bytes arrive. The CSRF rule and the
 * error classes are core/multipart.ts's. Nothing is stored here: the caller stores only when the
 * whole request is good.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { badCharacters } from '../../core/input.js';
import { OwnFailure, streamMultipart, verifyFormCsrf } from '../../core/multipart.js';
import { MAX_PHOTOS, processImage, readUpload, PhotoError, type ProcessedPhoto } from './photos.js';

export interface PhotoFormSpec<F> {
  /** More files than this refuse the request (413, `tooMany`); busboy's own `files` limit stops the bytes. */
  maxPhotos: number;
  tooMany: () => AppError;
  /** Only files of this input are photos; a file under another name is refused (400). Any input when absent. */
  photoField?: string;
  /** Takes one text field (never `_csrf`) into `fields`; urlencoded values may be arrays. Throws an AppError to refuse. */
  take: (fields: F, name: string, value: unknown) => void;
}

export interface PhotoForm<F> {
  fields: F;
  photos: ProcessedPhoto[];
  /** The first refusal (a bad file, too many files); fields read before it are kept. */
  error: AppError | null;
}

/** A urlencoded body (no photos, same CSRF rule) or a multipart one with up to `spec.maxPhotos` photos. */
export async function readPhotoForm<F>(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  fields: F,
  spec: PhotoFormSpec<F>,
): Promise<PhotoForm<F>> {
  if (!req.isMultipart()) {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AppError(400, 'errors.validation', {}, 'VALIDATION');
    await verifyFormCsrf(app, req, reply, body as Record<string, unknown>);
    for (const [k, v] of Object.entries(body)) if (k !== '_csrf') spec.take(fields, k, v);
    return { fields, photos: [], error: null };
  }
  const photos: ProcessedPhoto[] = [];
  let error: AppError | null = null;
  let files = 0;
  const end = await streamMultipart(app, req, reply, {
    field: (name, value) => spec.take(fields, name, value),
    async file(part) {
      files++;
      const other = spec.photoField !== undefined && part.fieldname !== spec.photoField;
      if (error || other) {
        part.file.resume(); // refused anyway (or not a photo input): drain it, keep reading the fields
        error ??= new AppError(400, 'errors.validation', {}, 'VALIDATION');
        return;
      }
      let buf: Buffer;
      try {
        buf = await readUpload(part.file, part.filename);
      } catch (err) {
        if (!(err instanceof PhotoError)) throw err; // the stream broke: the body is malformed (400)
        error = err;
        return;
      }
      try {
        photos.push(await processImage(buf, part.filename));
      } catch (err) {
        if (!(err instanceof PhotoError)) throw new OwnFailure(err); // sharp, memory: not the client's fault
        error = err;
      }
    },
  });
  if (end === 'tooManyFiles') error = spec.tooMany();
  else if (end === 'tooManyFields') error = new AppError(413, 'errors.validation', {}, 'TOO_MANY_FIELDS');
  if (!error && files > spec.maxPhotos) error = spec.tooMany();
  return { fields, photos, error };
}

export type Fields = Record<string, string | string[]>;
export type ReadForm = PhotoForm<Fields>;

function addField(fields: Fields, name: string, value: string) {
  if (name.includes('\u0000') || value.includes('\u0000')) throw badCharacters();
  const prev = fields[name];
  if (prev === undefined) fields[name] = value;
  else fields[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

/** The sell form and the photo upload: every field kept as text (repeated ones as a list), up to MAX_PHOTOS photos. */
export const readForm = (app: FastifyInstance, req: FastifyRequest, reply: FastifyReply): Promise<ReadForm> =>
  readPhotoForm<Fields>(
    app,
    req,
    reply,
    {},
    {
      maxPhotos: MAX_PHOTOS,
      tooMany: () => new AppError(413, 'catalog.photoErrors.tooMany', { max: MAX_PHOTOS }, 'TOO_MANY_PHOTOS'),
      take: (fields, name, value) => {
        for (const v of Array.isArray(value) ? value : [value]) addField(fields, name, String(v ?? ''));
      },
    },
  );

export const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
export const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const ids = (v: string | string[] | undefined): number[] =>
  many(v)
    .flatMap((s) => s.split(','))
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0)
    .slice(0, 50);
