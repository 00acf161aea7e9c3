/** accounts rules: sign-up validation, password hashing (argon2id), login with lockout. */
import { hash, verify, Algorithm } from '@node-rs/argon2';
import type { Redis } from 'ioredis';
import type { Db } from '../../core/db/index.js';
import { Prisma } from '../../core/db/index.js';

export interface AccountsDeps {
  db: Db;
  redis: Redis;
  prefix: string;
}

export type FieldErrors = Partial<Record<'email' | 'nickname' | 'password', string>>;

export interface SignupInput {
  email: string;
  nickname: string;
  password: string;
}

export interface PublicUser {
  id: number;
  email: string;
  nickname: string;
  role: string;
  createdAt: Date;
}

const ARGON = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
// Verified when the email is unknown, so a miss takes as long as a wrong password.
const DUMMY_HASH = await hash('dapanda-timing-equaliser', ARGON);

export const LOGIN_WINDOW_SECONDS = 15 * 60;
export const LOGIN_MAX_FAILURES = 10;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NICK_RE = /^[\p{L}\p{N}_-]+$/u;

export function normaliseSignup(raw: Partial<SignupInput>): SignupInput {
  return {
    email: String(raw.email ?? '').trim().toLowerCase(),
    nickname: String(raw.nickname ?? '').trim().normalize('NFC'),
    password: String(raw.password ?? ''),
  };
}

export function validateSignup(input: SignupInput): FieldErrors {
  const errors: FieldErrors = {};
  if (!EMAIL_RE.test(input.email) || input.email.length > 254) errors.email = 'accounts.errors.emailInvalid';
  if (!input.nickname) errors.nickname = 'accounts.errors.nicknameRequired';
  else if ([...input.nickname].length > 20) errors.nickname = 'accounts.errors.nicknameTooLong';
  else if (!NICK_RE.test(input.nickname)) errors.nickname = 'accounts.errors.nicknameInvalid';
  if (input.password.length < 10) errors.password = 'accounts.errors.passwordWeak';
  else if (input.password.length > 200) errors.password = 'accounts.errors.passwordTooLong';
  return errors;
}

const toPublic = (u: { id: number; email: string; nickname: string; role: string; createdAt: Date }): PublicUser => ({
  id: u.id,
  email: u.email,
  nickname: u.nickname,
  role: u.role,
  createdAt: u.createdAt,
});

export async function signup(deps: AccountsDeps, raw: Partial<SignupInput>): Promise<{ user?: PublicUser; errors?: FieldErrors; values: SignupInput }> {
  const input = normaliseSignup(raw);
  const errors = validateSignup(input);
  if (!errors.email || !errors.nickname) {
    // Report "taken" along with the other field errors, in one round trip.
    const taken = await deps.db.user.findMany({
      where: { OR: [{ email: input.email }, { nickname: input.nickname }] },
      select: { email: true, nickname: true },
    });
    if (!errors.email && taken.some((t) => t.email === input.email)) errors.email = 'accounts.errors.emailTaken';
    if (!errors.nickname && taken.some((t) => t.nickname === input.nickname)) errors.nickname = 'accounts.errors.nicknameTaken';
  }
  if (Object.keys(errors).length) return { errors, values: input };
  try {
    const user = await deps.db.user.create({
      data: { email: input.email, nickname: input.nickname, passwordHash: await hash(input.password, ARGON) },
    });
    return { user: toPublic(user), values: input };
  } catch (err) {
    // Two sign-ups racing for the same email or nickname: the unique index decides.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const target = JSON.stringify(err.meta ?? {});
      return { errors: target.includes('nickname') ? { nickname: 'accounts.errors.nicknameTaken' } : { email: 'accounts.errors.emailTaken' }, values: input };
    }
    throw err;
  }
}

export type LoginResult =
  | { ok: true; user: PublicUser }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

/**
 * Checks a login. Ten failures for one account or from one IP within 15 minutes lock that
 * account/IP until the window passes; counters live in Redis so every instance agrees.
 */
export async function login(deps: AccountsDeps, emailRaw: string, password: string, ip: string): Promise<LoginResult> {
  const email = String(emailRaw ?? '').trim().toLowerCase();
  const keys = [`${deps.prefix}:login-fail:acct:${email}`, `${deps.prefix}:login-fail:ip:${ip}`];
  const counts = await deps.redis.mget(...keys);
  const lockedIdx = counts.findIndex((c) => Number(c ?? 0) >= LOGIN_MAX_FAILURES);
  if (lockedIdx >= 0) {
    const ttl = await deps.redis.ttl(keys[lockedIdx]);
    return { ok: false, reason: 'locked', retryAfterSeconds: ttl > 0 ? ttl : LOGIN_WINDOW_SECONDS };
  }
  const user = email ? await deps.db.user.findUnique({ where: { email } }) : null;
  const good = await verify(user?.passwordHash ?? DUMMY_HASH, String(password ?? '')).catch(() => false);
  if (!user || !good) {
    const multi = deps.redis.multi();
    for (const k of keys) multi.incr(k).expire(k, LOGIN_WINDOW_SECONDS, 'NX');
    await multi.exec();
    return { ok: false, reason: 'bad_credentials' };
  }
  await deps.redis.del(keys[0]);
  return { ok: true, user: toPublic(user) };
}

export async function findUser(deps: Pick<AccountsDeps, 'db'>, id: number): Promise<PublicUser | null> {
  const u = await deps.db.user.findUnique({ where: { id } });
  return u ? toPublic(u) : null;
}

/** Nickname and join date of several users at once, for other modules' pages. */
export async function publicProfiles(deps: Pick<AccountsDeps, 'db'>, ids: number[]): Promise<Map<number, { id: number; nickname: string; createdAt: Date }>> {
  const rows = await deps.db.user.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true, nickname: true, createdAt: true } });
  return new Map(rows.map((r) => [r.id, r]));
}

export { hash as hashPassword };
export const ARGON_OPTIONS = ARGON;
