/**
 * Reads a listing form or a photo upload as it streams: fields as strings, each file checked and
 * re-encoded in turn, limits enforced by busboy while the bytes arrive (10 files, 10 MB each).
 * Nothing is stored here: the caller stores only when the whole request is good.
 *
 * CSRF for multipart bodies: the global check runs before the body is read, so these routes
 * turn it off and check here instead: the header (htmx and the upload script send it) or the
 * form's `_csrf` field, which must come before any file (it is the form's first input).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { verifyCsrfToken } from '../../core/security.js';
import { badCharacters } from '../../core/input.js';
import { MAX_PHOTOS, processImage, readUpload, PhotoError, type ProcessedPhoto } from './photos.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the global CSRF check is skipped because the route checks it itself (see above). */
    csrf?: boolean;
  }
}

export type Fields = Record<string, string | string[]>;

export interface ReadForm {
  fields: Fields;
  photos: ProcessedPhoto[];
  /** The first refusal (a bad file, too many files); fields read before it are kept. */
  error: AppError | null;
}

function addField(fields: Fields, name: string, value: string) {
  if (name.includes('\u0000') || value.includes('\u0000')) throw badCharacters();
  const prev = fields[name];
  if (prev === undefined) fields[name] = value;
  else fields[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

export async function readForm(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply): Promise<ReadForm> {
  const header = req.headers['x-csrf-token'] as string | undefined;
  if (!req.isMultipart()) {
    const body = (req.body ?? {}) as Record<string, unknown>;
    await verifyCsrfToken(app, req, reply, header ?? (body._csrf as string | undefined));
    const fields: Fields = {};
    for (const [k, v] of Object.entries(body)) fields[k] = Array.isArray(v) ? v.map(String) : String(v ?? '');
    return { fields, photos: [], error: null };
  }
  let verified = false;
  if (header) {
    await verifyCsrfToken(app, req, reply, header);
    verified = true;
  }
  const fields: Fields = {};
  const photos: ProcessedPhoto[] = [];
  let error: AppError | null = null;
  let files = 0;
  // An error of our own (processing a photo, storage) is not the client's fault: it is kept apart
  // from the parser's, which all mean a malformed body (no or wrong boundary, cut off) -> 400.
  let ours: unknown = null;
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (!verified) {
          if (part.fieldname !== '_csrf') throw new AppError(403, 'errors.csrf', {}, 'CSRF');
          await verifyCsrfToken(app, req, reply, String(part.value));
          verified = true;
          continue;
        }
        if (part.fieldname !== '_csrf') addField(fields, part.fieldname, String(part.value ?? ''));
        continue;
      }
      if (!verified) throw new AppError(403, 'errors.csrf', {}, 'CSRF');
      // A file input left empty still sends a part with no name and no bytes: not an upload.
      if (!part.filename) {
        part.file.resume();
        continue;
      }
      files++;
      if (error) {
        part.file.resume(); // drain: the request is refused anyway, keep reading its fields
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
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT')
      error = new AppError(413, 'catalog.photoErrors.tooMany', { max: MAX_PHOTOS }, 'TOO_MANY_PHOTOS');
    else if (code === 'FST_FIELDS_LIMIT') error = new AppError(413, 'errors.validation', {}, 'TOO_MANY_FIELDS');
    else if (err instanceof AppError || code.startsWith('FST_CSRF')) throw err;
    else throw new AppError(400, 'guard.badUpload', {}, 'BAD_MULTIPART');
  }
  if (ours) throw ours;
  if (!error && files > MAX_PHOTOS)
    error = new AppError(413, 'catalog.photoErrors.tooMany', { max: MAX_PHOTOS }, 'TOO_MANY_PHOTOS');
  if (!verified) throw new AppError(403, 'errors.csrf', {}, 'CSRF');
  return { fields, photos, error };
}

export const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
export const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const ids = (v: string | string[] | undefined): number[] =>
  many(v)
    .flatMap((s) => s.split(','))
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0)
    .slice(0, 50);
