/**
 * Streams a multipart form with the CSRF rule every upload form here follows (the sell form's
 * photos, the profile photo, a dispute's photos): the global CSRF check runs before the body is
 * read, so these routes turn it off (`config: { csrf: false }`) and the token is checked here,
 * from the `X-CSRF-Token` header (htmx, the upload script) or the form's `_csrf` field, which must
 * come before any other part (it is the form's first input). No field or file is handed on before
 * the token is good.
 *
 * Errors, so that a bad body is the client's fault and a failure of ours is not:
 * - an AppError (refusals of the handlers, CSRF) and @fastify/csrf-protection's errors pass through;
 * - busboy's limits end the form early: 'tooManyFiles' (files or parts) / 'tooManyFields';
 * - a handler's own failure (sharp, storage, memory) wrapped in {@link OwnFailure} is rethrown as it is;
 * - anything else the parser or a file stream throws means a malformed body (no or wrong boundary,
 *   cut off): 400 `guard.badUpload`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import { AppError } from './errors.js';
import { verifyCsrfToken } from './security.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the global CSRF check is skipped because the route checks it itself (multipart bodies). */
    csrf?: boolean;
  }
}

export interface MultipartHandlers {
  /** A text field (never `_csrf`), after the token was checked; may throw an AppError to refuse. */
  field(name: string, value: unknown): void;
  /** A file part with a file name (an input left empty is skipped); must read or `resume()` `part.file`. */
  file(part: MultipartFile): Promise<void>;
}

/** How the form ended: read to its end, or cut short by one of busboy's limits. */
export type MultipartEnd = 'complete' | 'tooManyFiles' | 'tooManyFields';

/** A handler's failure that is ours, not the client's (e.g. sharp failing on a valid image): not a 400. */
export class OwnFailure extends Error {
  constructor(readonly inner: unknown) {
    super('upload handler failed', { cause: inner });
  }
}

export const csrfRefused = () => new AppError(403, 'errors.csrf', {}, 'CSRF');

/** The token of a urlencoded body (header first, as for multipart), checked: for the same routes' plain forms. */
export async function verifyFormCsrf(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  body: Record<string, unknown>,
): Promise<void> {
  const header = req.headers['x-csrf-token'];
  const token = typeof header === 'string' ? header : typeof body._csrf === 'string' ? body._csrf : undefined;
  await verifyCsrfToken(app, req, reply, token);
}

export async function streamMultipart(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  handlers: MultipartHandlers,
): Promise<MultipartEnd> {
  const header = req.headers['x-csrf-token'];
  let verified = false;
  if (typeof header === 'string' && header) {
    await verifyCsrfToken(app, req, reply, header);
    verified = true;
  }
  let end: MultipartEnd = 'complete';
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (!verified) {
          if (part.fieldname !== '_csrf') throw csrfRefused();
          await verifyCsrfToken(app, req, reply, String(part.value));
          verified = true;
        } else if (part.fieldname !== '_csrf') handlers.field(part.fieldname, part.value);
        continue;
      }
      if (!verified) throw csrfRefused();
      if (!part.filename) {
        part.file.resume();
        continue;
      }
      await handlers.file(part);
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof OwnFailure) throw err.inner;
    if (err instanceof AppError || code.startsWith('FST_CSRF')) throw err;
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') end = 'tooManyFiles';
    else if (code === 'FST_FIELDS_LIMIT') end = 'tooManyFields';
    else throw new AppError(400, 'guard.badUpload', {}, 'BAD_MULTIPART');
  }
  if (!verified) throw csrfRefused();
  return end;
}
