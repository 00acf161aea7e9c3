/**
 * Account basics a member does for themselves: the nickname and profile photo, a new password
 * (the current one required; every other session ends), and deleting the account (refused while
 * money or trades are open, as the other modules say through core's account-closure registry;
 * otherwise personal data erased and trade records kept under "탈퇴한 회원").
 */
import sharp, { type Metadata } from 'sharp';
import { verify } from '@node-rs/argon2';
import type { Redis } from 'ioredis';
import { Prisma, type Db } from '../../core/db/index.js';
import { newKey, type Storage } from '../../core/storage.js';
import type { AccountClosure, ClosureBlocker } from '../../core/account-closure.js';
import { hashPassword, DELETED_NICKNAME, type FieldErrors, type PasswordHashing } from './service.js';
import { passwordProblem } from './password.js';
import { endAllSessions, forgetSession, rememberSession } from './sessions.js';

export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;
const AVATAR_MAX_PIXELS = 40_000_000;
const AVATAR_SIZE = 256;
const AVATAR_TYPES = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif']);

const NICK_RE = /^[\p{L}\p{N}_-]+$/u;

export function nicknameProblem(nickname: string): string | null {
  if (!nickname) return 'accounts.errors.nicknameRequired';
  if ([...nickname].length < 2) return 'accounts.errors.nicknameTooShort';
  if ([...nickname].length > 20) return 'accounts.errors.nicknameTooLong';
  if (!NICK_RE.test(nickname)) return 'accounts.errors.nicknameInvalid';
  return null;
}

export interface ProfileDeps {
  db: Db;
  redis: Redis;
  prefix: string;
  storage: Storage;
  passwordHashing: PasswordHashing;
}

/** A new nickname (the sign-up rules; unique). Returns the field error, or null when saved. */
export async function changeNickname(deps: Pick<ProfileDeps, 'db'>, userId: number, raw: unknown) {
  const nickname = String(raw ?? '')
    .trim()
    .normalize('NFC');
  const problem = nicknameProblem(nickname);
  if (problem) return { error: problem, nickname };
  try {
    await deps.db.user.update({ where: { id: userId }, data: { nickname } });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')
      return { error: 'accounts.errors.nicknameTaken', nickname };
    throw err;
  }
  return { error: null, nickname };
}

/**
 * Checks and re-encodes a profile photo: the type from the bytes (sharp reads the header, SVG and
 * anything not a raster photo refused), the pixel count from the header before decoding, then a
 * 256 px square WebP without any metadata. Returns a message key when refused.
 */
export async function processAvatar(input: Buffer): Promise<{ image: Buffer } | { error: string }> {
  if (input.length === 0) return { error: 'accountBasics.photoErrors.empty' };
  if (input.length > AVATAR_MAX_BYTES) return { error: 'accountBasics.photoErrors.tooLarge' };
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    return { error: 'accountBasics.photoErrors.notImage' };
  }
  if (!meta.format || !AVATAR_TYPES.has(meta.format) || !meta.width || !meta.height)
    return { error: 'accountBasics.photoErrors.notImage' };
  if (meta.width * meta.height > AVATAR_MAX_PIXELS) return { error: 'accountBasics.photoErrors.tooLarge' };
  try {
    const image = await sharp(input, { limitInputPixels: AVATAR_MAX_PIXELS, failOn: 'error', animated: false })
      .rotate()
      .resize({ width: AVATAR_SIZE, height: AVATAR_SIZE, fit: 'cover' })
      .webp({ quality: 80 })
      .toBuffer();
    return { image };
  } catch {
    return { error: 'accountBasics.photoErrors.notImage' };
  }
}

/** Stores a processed photo as the user's profile photo; the previous file goes. */
export async function setAvatar(deps: Pick<ProfileDeps, 'db' | 'storage'>, userId: number, image: Buffer) {
  const key = newKey('avatars', '.webp');
  await deps.storage.put(key, image, 'image/webp');
  const before = await deps.db.user.findUnique({ where: { id: userId }, select: { photoKey: true } });
  await deps.db.user.update({ where: { id: userId }, data: { photoKey: key } });
  if (before?.photoKey) await deps.storage.delete(before.photoKey).catch(() => undefined);
  return key;
}

export async function removeAvatar(deps: Pick<ProfileDeps, 'db' | 'storage'>, userId: number) {
  const before = await deps.db.user.findUnique({ where: { id: userId }, select: { photoKey: true } });
  if (!before?.photoKey) return;
  await deps.db.user.update({ where: { id: userId }, data: { photoKey: null } });
  await deps.storage.delete(before.photoKey).catch(() => undefined);
}

export type PasswordChange =
  { ok: true; sessionsEnded: number } | { ok: false; errors: FieldErrors & { current?: string } };

/**
 * A new password from a logged-in member: the current one must be right, the new one passes the
 * sign-up rule (zxcvbn, with the e-mail and nickname as known words). Every other session of the
 * user ends; `sid` (this browser) stays and is the only one remembered.
 */
export async function changePassword(
  deps: Pick<ProfileDeps, 'db' | 'redis' | 'prefix' | 'passwordHashing'>,
  userId: number,
  sid: string,
  current: string,
  next: string,
): Promise<PasswordChange> {
  const user = await deps.db.user.findUnique({ where: { id: userId } });
  if (!user) return { ok: false, errors: { current: 'accountBasics.errors.currentWrong' } };
  const good = await verify(user.passwordHash, String(current ?? '')).catch(() => false);
  if (!good) return { ok: false, errors: { current: 'accountBasics.errors.currentWrong' } };
  if (String(next) === String(current)) return { ok: false, errors: { password: 'accountBasics.errors.samePassword' } };
  const weak = await passwordProblem(String(next ?? ''), [user.email, user.nickname]);
  if (weak) return { ok: false, errors: { password: weak.key } };
  const passwordHash = await hashPassword(String(next), deps.passwordHashing);
  await deps.db.user.update({ where: { id: userId }, data: { passwordHash } });
  // Every session ends, then this one is put back: the set holds only it afterwards.
  await forgetSession(deps.redis, deps.prefix, userId, sid);
  const sessionsEnded = await endAllSessions(deps.redis, deps.prefix, userId);
  await rememberSession(deps.redis, deps.prefix, userId, sid);
  return { ok: true, sessionsEnded };
}

export type DeleteResult =
  { ok: true } | { ok: false; problem: 'password' } | { ok: false; problem: 'blocked'; blockers: ClosureBlocker[] };

/**
 * Deletes the account: refused while any module names a blocker (held bid points, escrow, open
 * orders, auctions on sale). Otherwise, in one transaction, the e-mail, nickname, password and
 * consent are replaced (the address may sign up again), the other modules erase their personal data
 * (addresses), and the ids in trade records stay, shown as "탈퇴한 회원". Then the photo file and
 * every session go.
 */
export async function deleteAccount(
  deps: Pick<ProfileDeps, 'db' | 'redis' | 'prefix' | 'storage'>,
  closure: AccountClosure,
  userId: number,
  password: string,
): Promise<DeleteResult> {
  const user = await deps.db.user.findUnique({ where: { id: userId } });
  if (!user || user.deletedAt) return { ok: false, problem: 'password' };
  const good = await verify(user.passwordHash, String(password ?? '')).catch(() => false);
  if (!good) return { ok: false, problem: 'password' };
  const blockers = await closure.blockers(userId);
  if (blockers.length) return { ok: false, problem: 'blocked', blockers };
  await deps.db.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: userId },
      data: {
        email: `deleted-${userId}@deleted.invalid`,
        // Unique like every nickname, with a space no sign-up accepts; pages show DELETED_NICKNAME.
        nickname: `${DELETED_NICKNAME} ${userId}`,
        passwordHash: '!deleted',
        photoKey: null,
        marketingAgreedAt: null,
        deletedAt: new Date(),
      },
    });
    await tx.passwordReset.deleteMany({ where: { userId } });
    await tx.signupRequest.deleteMany({ where: { email: user.email } });
    await closure.erase(tx, userId);
  });
  if (user.photoKey) await deps.storage.delete(user.photoKey).catch(() => undefined);
  await endAllSessions(deps.redis, deps.prefix, userId);
  return { ok: true };
}

/** The nickname pages show: DELETED_NICKNAME for a deleted account. */
export const shownNickname = (u: { nickname: string; deletedAt: Date | null }) =>
  u.deletedAt ? DELETED_NICKNAME : u.nickname;
