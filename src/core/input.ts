/**
 * Text PostgreSQL cannot store never reaches it: a NUL character (U+0000) in any query field,
 * form field or path parameter is refused with a 400 before validation and before any handler
 * runs (PostgreSQL answers such text with error 22021, which used to surface as a 500).
 * Multipart fields are read as a stream and checked with `hasNul` where they are read.
 */
import fp from 'fastify-plugin';
import { AppError } from './errors.js';

const NUL = '\u0000';

/** True when a string anywhere in a parsed query/body/params value contains NUL. */
export function hasNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes(NUL);
  if (depth > 8 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasNul(x, depth + 1));
  return Object.entries(v).some(([k, x]) => k.includes(NUL) || hasNul(x, depth + 1));
}

export const badCharacters = () => new AppError(400, 'guard.badCharacters', {}, 'BAD_CHARACTERS');

export const inputPlugin = fp(
  async (app) => {
    app.addHook('preValidation', async (req) => {
      if (hasNul(req.query) || hasNul(req.params) || hasNul(req.body)) throw badCharacters();
    });
  },
  { name: 'core-input' },
);
