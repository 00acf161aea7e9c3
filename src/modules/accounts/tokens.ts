/** One-time link tokens: 256 random bits for the mail, only their SHA-256 in the database. */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** The stored hash for a token from a link, or null when it cannot be one of ours. */
export const tokenHashOf = (raw: unknown): string | null =>
  typeof raw === 'string' && TOKEN_RE.test(raw) ? hashToken(raw) : null;
