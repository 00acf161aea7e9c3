/**
 * accounts rules: sign-up validation and e-mail verification, password hashing (argon2id) and
 * strength (password.ts), login throttled per (account, address) and per address (throttle.ts).
 * Sign-up, login and password reset answer alike for known and unknown addresses.
 */
import { hash, verify, Algorithm } from '@node-rs/argon2';
import type { Redis } from 'ioredis';
import type { TFunction } from 'i18next';
import type { Db } from '../../core/db/index.js';
import { Prisma } from '../../core/db/index.js';
import type { Mail } from '../../core/mail.js';
import { passwordProblem } from './password.js';
import { throttle } from './throttle.js';
import { newToken, tokenHashOf } from './tokens.js';
import { AccountRestricted, restrictionOf } from './roles.js';

export interface AccountsDeps {
  db: Db;
  redis: Redis;
  prefix: string;
  mail: Mail;
  /** Links in mails point here. */
  publicUrl: string;
  /** argon2id cost of new hashes (config.passwordHashing). */
  passwordHashing: PasswordHashing;
}

export type FieldErrors = Partial<Record<'email' | 'nickname' | 'password' | 'terms' | 'privacy', string>>;

/** What every deleted account is called wherever its trades are shown. */
export const DELETED_NICKNAME = '탈퇴한 회원';

export interface SignupInput {
  email: string;
  nickname: string;
  password: string;
  /** Required consents (이용약관, 개인정보 수집·이용) and the optional marketing one: checkbox values. */
  terms?: unknown;
  privacy?: unknown;
  marketing?: unknown;
}

/** A ticked checkbox: browsers send "on" (or the input's value); absent when not ticked. */
const ticked = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== 'off' && v !== 'false';

export interface PublicUser {
  id: number;
  email: string;
  nickname: string;
  role: string;
  createdAt: Date;
}

export interface PasswordHashing {
  memoryCost: number;
  timeCost: number;
}
/** OWASP's argon2id minimum (19 MiB, 2 passes): config.ts's default and production's floor. */
export const PASSWORD_HASHING: PasswordHashing = { memoryCost: 19456, timeCost: 2 };

export const hashPassword = (password: string, cost: PasswordHashing): Promise<string> =>
  hash(password, { algorithm: Algorithm.Argon2id, parallelism: 1, ...cost });

// Verified when the email is unknown, so a miss takes as long as a wrong password: one per cost.
const dummyHashes = new Map<string, Promise<string>>();
function dummyHash(cost: PasswordHashing): Promise<string> {
  const key = `${cost.memoryCost}:${cost.timeCost}`;
  let h = dummyHashes.get(key);
  if (!h) dummyHashes.set(key, (h = hashPassword('dapanda-timing-equaliser', cost)));
  return h;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NICK_RE = /^[\p{L}\p{N}_-]+$/u;

export function normaliseSignup(raw: Partial<SignupInput>): SignupInput {
  return {
    email: String(raw.email ?? '')
      .trim()
      .toLowerCase(),
    nickname: String(raw.nickname ?? '')
      .trim()
      .normalize('NFC'),
    password: String(raw.password ?? ''),
    terms: ticked(raw.terms),
    privacy: ticked(raw.privacy),
    marketing: ticked(raw.marketing),
  };
}

export async function validateSignup(input: SignupInput): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  if (!EMAIL_RE.test(input.email) || input.email.length > 254) errors.email = 'accounts.errors.emailInvalid';
  if (!input.nickname) errors.nickname = 'accounts.errors.nicknameRequired';
  else if ([...input.nickname].length < 2) errors.nickname = 'accounts.errors.nicknameTooShort';
  else if ([...input.nickname].length > 20) errors.nickname = 'accounts.errors.nicknameTooLong';
  else if (!NICK_RE.test(input.nickname)) errors.nickname = 'accounts.errors.nicknameInvalid';
  const weak = await passwordProblem(input.password, [input.email, input.nickname]);
  if (weak) errors.password = weak.key;
  if (input.terms !== true) errors.terms = 'accountBasics.errors.termsRequired';
  if (input.privacy !== true) errors.privacy = 'accountBasics.errors.privacyRequired';
  return errors;
}

const toPublic = (u: {
  id: number;
  email: string;
  nickname: string;
  role: string;
  createdAt: Date;
  deletedAt?: Date | null;
}): PublicUser => ({
  id: u.id,
  email: u.email,
  nickname: u.deletedAt ? DELETED_NICKNAME : u.nickname,
  role: u.role,
  createdAt: u.createdAt,
});

export const VERIFY_TTL_MS = 24 * 3600 * 1000;
/** Mails to one address per hour (sign-up and reset together): a form cannot be used to flood a mailbox. */
const MAIL_BUDGET_PER_HOUR = 5;

/** False when this address has had its share of mail this hour (the form answers the same anyway). */
export async function mailBudget(deps: Pick<AccountsDeps, 'redis' | 'prefix'>, email: string): Promise<boolean> {
  const key = `${deps.prefix}:mail-budget:${email}`;
  const res = await deps.redis.multi().incr(key).expire(key, 3600, 'NX').exec();
  return Number(res?.[0]?.[1] ?? 0) <= MAIL_BUDGET_PER_HOUR;
}

export interface SignupJob {
  email: string;
  nickname: string;
  passwordHash: string;
  lang: string;
  /** The terms version agreed to on the form, when (ISO), and whether marketing mail was allowed. */
  termsVersion: string;
  consentAt: string;
  marketing: boolean;
}

/**
 * A sign-up form. Field errors (format, a nickname in use, a weak password) come back at once and
 * say nothing about the address. Otherwise the form always answers "check your e-mail", and what
 * happens next depends on the address, off the request (`deliverSignup` in a job), so the answer
 * takes as long for a registered address as for a new one.
 */
export async function requestSignup(
  deps: AccountsDeps,
  raw: Partial<SignupInput>,
  lang: string,
  enqueue: (job: SignupJob) => Promise<void>,
  termsVersion: string,
): Promise<{ errors?: FieldErrors; values: SignupInput }> {
  const input = normaliseSignup(raw);
  const errors = await validateSignup(input);
  if (
    !errors.nickname &&
    (await deps.db.user.findUnique({ where: { nickname: input.nickname }, select: { id: true } }))
  )
    errors.nickname = 'accounts.errors.nicknameTaken';
  if (Object.keys(errors).length) return { errors, values: input };
  await enqueue({
    email: input.email,
    nickname: input.nickname,
    passwordHash: await hashPassword(input.password, deps.passwordHashing),
    lang,
    termsVersion,
    consentAt: new Date().toISOString(),
    marketing: input.marketing === true,
  });
  return { values: input };
}

/**
 * A new address gets a link that creates the account; a registered one gets a note that it
 * already has an account, with the way to reset its password.
 */
export async function deliverSignup(deps: AccountsDeps, job: SignupJob, t: TFunction): Promise<void> {
  const known = await deps.db.user.findUnique({ where: { email: job.email }, select: { id: true } });
  if (!(await mailBudget(deps, job.email))) return;
  if (known) {
    await deps.mail.send({
      kind: 'accounts.exists',
      to: job.email,
      subject: t('accountSecurity.mail.existsSubject'),
      text: t('accountSecurity.mail.existsBody', {
        loginUrl: `${deps.publicUrl}/login`,
        resetUrl: `${deps.publicUrl}/password/forgot`,
      }),
    });
    return;
  }
  const { token, hash: tokenHash } = newToken();
  await deps.db.signupRequest.create({
    data: {
      email: job.email,
      nickname: job.nickname,
      passwordHash: job.passwordHash,
      locale: job.lang,
      // Jobs queued before consent was asked have none: the account is then created without a record.
      termsVersion: job.termsVersion ?? null,
      consentAt: job.consentAt ? new Date(job.consentAt) : null,
      marketing: job.marketing === true,
      tokenHash,
      expiresAt: new Date(Date.now() + VERIFY_TTL_MS),
    },
  });
  // Old requests nobody finished go as new ones come.
  await deps.db.signupRequest.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - VERIFY_TTL_MS) } } });
  const link = `${deps.publicUrl}/signup/verify?token=${token}`;
  await deps.mail.send({
    kind: 'accounts.verify',
    to: job.email,
    subject: t('accountSecurity.mail.verifySubject'),
    text: t('accountSecurity.mail.verifyBody', { link, nickname: job.nickname, hours: VERIFY_TTL_MS / 3600000 }),
  });
}

export type LinkProblem = 'invalid' | 'exists' | 'nicknameTaken';

/** The pending sign-up a link names, if it can still be used (nothing is changed). */
export async function pendingSignup(deps: Pick<AccountsDeps, 'db'>, token: unknown) {
  const tokenHash = tokenHashOf(token);
  if (!tokenHash) return null;
  return deps.db.signupRequest.findFirst({
    where: { tokenHash, usedAt: null, expiresAt: { gt: new Date() } },
    select: { email: true, nickname: true },
  });
}

/** Uses a sign-up link once: creates the account. */
export async function completeSignup(
  deps: Pick<AccountsDeps, 'db'>,
  token: unknown,
): Promise<{ user: PublicUser } | { problem: LinkProblem }> {
  const tokenHash = tokenHashOf(token);
  if (!tokenHash) return { problem: 'invalid' };
  try {
    return await deps.db.$transaction(async (tx) => {
      const now = new Date();
      const req = await tx.signupRequest.findUnique({ where: { tokenHash } });
      const used = await tx.signupRequest.updateMany({
        where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      if (!req || used.count !== 1) return { problem: 'invalid' as const };
      const user = await tx.user.create({
        data: {
          email: req.email,
          nickname: req.nickname,
          passwordHash: req.passwordHash,
          locale: req.locale,
          termsVersion: req.termsVersion,
          termsAgreedAt: req.consentAt,
          privacyAgreedAt: req.consentAt,
          marketingAgreedAt: req.marketing ? req.consentAt : null,
        },
      });
      return { user: toPublic(user) };
    });
  } catch (err) {
    // The address or the nickname was taken between the form and the link (the unique index decides).
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      return { problem: JSON.stringify(err.meta ?? {}).includes('nickname') ? 'nicknameTaken' : 'exists' };
    }
    throw err;
  }
}

export type LoginResult =
  | { ok: true; user: PublicUser }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'restricted'; error: AccountRestricted };

/**
 * Checks a login. Failures slow down the (account, address) pair and the address with growing
 * delays (throttle.ts), never the account as such, so nobody can lock the owner out from
 * elsewhere. An unknown address is checked against a dummy hash: a miss takes as long as a
 * wrong password, and is counted the same way.
 */
export async function login(deps: AccountsDeps, emailRaw: string, password: string, ip: string): Promise<LoginResult> {
  const email = String(emailRaw ?? '')
    .trim()
    .toLowerCase();
  const th = throttle(deps.redis, deps.prefix);
  const wait = await th.waitSeconds(email, ip);
  if (wait > 0) return { ok: false, reason: 'locked', retryAfterSeconds: wait };
  const user = email ? await deps.db.user.findUnique({ where: { email } }) : null;
  const stored = user?.passwordHash ?? (await dummyHash(deps.passwordHashing));
  const good = await verify(stored, String(password ?? '')).catch(() => false);
  if (!user || !good) {
    const next = await th.failed(email, ip);
    return next > 0
      ? { ok: false, reason: 'locked', retryAfterSeconds: next }
      : { ok: false, reason: 'bad_credentials' };
  }
  await th.succeeded(email, ip);
  // A suspended or banned user is told so (the password was right), and gets no session.
  const restriction = restrictionOf(user);
  if (restriction) return { ok: false, reason: 'restricted', error: new AccountRestricted(restriction) };
  return { ok: true, user: toPublic(user) };
}

export async function findUser(deps: Pick<AccountsDeps, 'db'>, id: number): Promise<PublicUser | null> {
  const u = await deps.db.user.findUnique({ where: { id } });
  return u ? toPublic(u) : null;
}

/** Nickname and join date of several users at once, for other modules' pages. */
export async function publicProfiles(
  deps: Pick<AccountsDeps, 'db'>,
  ids: number[],
): Promise<Map<number, { id: number; nickname: string; createdAt: Date }>> {
  const rows = await deps.db.user.findMany({
    where: { id: { in: [...new Set(ids)] } },
    select: { id: true, nickname: true, createdAt: true, deletedAt: true },
  });
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, nickname: r.deletedAt ? DELETED_NICKNAME : r.nickname, createdAt: r.createdAt },
    ]),
  );
}
