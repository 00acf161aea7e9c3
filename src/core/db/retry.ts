/** Which database errors a transaction helper runs again, shared by `transaction` and `sqlTransaction`. */
import { AppError } from '../errors.js';

/** The error's code, message and metadata, causes included (Prisma and the pg adapter nest them). */
function errorText(err: unknown): string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as { code?: unknown; message?: unknown; meta?: unknown; cause?: unknown };
  return `${String(e.code ?? '')} ${String(e.message ?? '')} ${JSON.stringify(e.meta ?? {})} ${e.cause ? errorText(e.cause) : ''}`;
}

/** PostgreSQL serialization failure or deadlock: the whole transaction can safely run again. */
export function isRetryableTxError(err: unknown): boolean {
  if (err instanceof AppError) return false;
  return /P2034|40001|40P01|deadlock detected|could not serialize/i.test(errorText(err));
}

/** Matches an error from the database against a pattern, causes included (e.g. a trigger's message). */
export const dbErrorMatches = (err: unknown, re: RegExp): boolean =>
  !(err instanceof AppError) && re.test(errorText(err));

/** The pause before try n + 1 (n >= 1): short, growing, jittered so retrying transactions spread out. */
export const retryPause = (n: number) => new Promise((r) => setTimeout(r, 5 * n + Math.random() * 10 * n));
