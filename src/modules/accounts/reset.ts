/**
 * Password reset by e-mail: a one-time link (random token, stored hashed) valid for 30 minutes;
 * asking again replaces the previous link. The form answers the same whether or not the address
 * has an account. Using the link sets the new password (the same strength rule as sign-up) and
 * ends every session of the user, wherever it was.
 */
import type { TFunction } from 'i18next';
import type { AccountsDeps, PublicUser } from './service.js';
import { hashPassword, mailBudget } from './service.js';
import { passwordProblem } from './password.js';
import { newToken, tokenHashOf } from './tokens.js';
import { endAllSessions } from './sessions.js';

export const RESET_TTL_MS = 30 * 60 * 1000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const normaliseEmail = (raw: unknown) =>
  String(raw ?? '')
    .trim()
    .toLowerCase();
export const looksLikeEmail = (email: string) => EMAIL_RE.test(email) && email.length <= 254;

/**
 * Mails a reset link when the address has an account, and nothing otherwise. Runs in a job: the
 * form's answer (queue the address, say "check your e-mail") is the same work for every address.
 */
export async function deliverReset(deps: AccountsDeps, email: string, t: TFunction): Promise<void> {
  const user = await deps.db.user.findUnique({ where: { email }, select: { id: true } });
  if (!user || !(await mailBudget(deps, email))) return;
  const { token, hash } = newToken();
  const now = new Date();
  await deps.db.$transaction([
    deps.db.passwordReset.updateMany({ where: { userId: user.id, usedAt: null }, data: { usedAt: now } }),
    deps.db.passwordReset.create({
      data: { userId: user.id, tokenHash: hash, expiresAt: new Date(now.getTime() + RESET_TTL_MS) },
    }),
  ]);
  await deps.db.passwordReset.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - 24 * 3600 * 1000) } } });
  const link = `${deps.publicUrl}/password/reset?token=${token}`;
  await deps.mail.send({
    kind: 'accounts.reset',
    to: email,
    subject: t('accountSecurity.mail.resetSubject'),
    text: t('accountSecurity.mail.resetBody', { link, minutes: RESET_TTL_MS / 60000 }),
  });
}

/** The user a reset link is for, if it can still be used (nothing is changed). */
export async function resetTarget(
  deps: Pick<AccountsDeps, 'db'>,
  token: unknown,
): Promise<{ id: number; email: string; nickname: string } | null> {
  const tokenHash = tokenHashOf(token);
  if (!tokenHash) return null;
  const row = await deps.db.passwordReset.findFirst({
    where: { tokenHash, usedAt: null, expiresAt: { gt: new Date() } },
    select: { userId: true },
  });
  return row
    ? deps.db.user.findUnique({ where: { id: row.userId }, select: { id: true, email: true, nickname: true } })
    : null;
}

export type ResetResult =
  | { ok: true; user: Pick<PublicUser, 'id' | 'email'>; sessionsEnded: number }
  | { ok: false; problem: 'invalid' }
  | { ok: false; problem: 'weak'; key: string };

/** Uses a reset link once: the new password, and every session of the user ended. */
export async function resetPassword(deps: AccountsDeps, token: unknown, password: string): Promise<ResetResult> {
  const target = await resetTarget(deps, token);
  if (!target) return { ok: false, problem: 'invalid' };
  const weak = await passwordProblem(password, [target.email, target.nickname]);
  if (weak) return { ok: false, problem: 'weak', key: weak.key };
  const passwordHash = await hashPassword(password, deps.passwordHashing);
  const tokenHash = tokenHashOf(token)!;
  const done = await deps.db.$transaction(async (tx) => {
    const now = new Date();
    const used = await tx.passwordReset.updateMany({
      where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    if (used.count !== 1) return false; // the same link used twice at once: only one wins
    await tx.user.update({ where: { id: target.id }, data: { passwordHash } });
    return true;
  });
  if (!done) return { ok: false, problem: 'invalid' };
  const sessionsEnded = await endAllSessions(deps.redis, deps.prefix, target.id);
  return { ok: true, user: { id: target.id, email: target.email }, sessionsEnded };
}
