/**
 * A member's own account pages: /me/edit (nickname, profile photo), /me/password (a new password;
 * other sessions end), /me/delete (refused with the reasons while money or trades are open).
 * Plain forms that also work with htmx; each with a CSRF token and a per-user rate limit.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import { AppError } from '../../core/errors.js';
import { streamMultipart, verifyFormCsrf } from '../../core/multipart.js';
import type { Storage } from '../../core/storage.js';
import * as profile from './profile.js';

const NicknameBody = Type.Object({ nickname: Type.String({ maxLength: 1000 }), _csrf: Type.Optional(Type.String()) });
const PasswordBody = Type.Object({
  current: Type.String({ maxLength: 1000 }),
  password: Type.String({ maxLength: 1000 }),
  _csrf: Type.Optional(Type.String()),
});
const DeleteBody = Type.Object({
  password: Type.String({ maxLength: 1000 }),
  confirm: Type.Optional(Type.String({ maxLength: 10 })),
  _csrf: Type.Optional(Type.String()),
});
const EmptyBody = Type.Object({ _csrf: Type.Optional(Type.String()) });

/** Forms that check a password: a tight budget per user (shared by every instance). */
const passwordForm = { rateLimit: { max: 20, timeWindow: '15 minutes' } };
const profileForm = { rateLimit: { max: 30, timeWindow: '15 minutes' } };

export interface ProfileRouteDeps extends profile.ProfileDeps {
  storage: Storage;
}

/**
 * Reads the photo form: the CSRF token (header, or the `_csrf` field before the file; core/multipart.ts),
 * then one file of at most AVATAR_MAX_BYTES (busboy stops reading beyond it). Returns the bytes or a key.
 */
async function readPhoto(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<{ bytes: Buffer } | { error: string }> {
  if (!req.isMultipart()) {
    await verifyFormCsrf(app, req, reply, {});
    return { error: 'accountBasics.photoErrors.empty' };
  }
  let bytes: Buffer | null = null;
  let tooLarge = false;
  const end = await streamMultipart(app, req, reply, {
    field: () => {}, // the form has no other field
    async file(part) {
      const chunks: Buffer[] = [];
      for await (const chunk of part.file) chunks.push(chunk as Buffer);
      if (part.file.truncated) tooLarge = true;
      else if (!bytes) bytes = Buffer.concat(chunks);
    },
  });
  if (end === 'tooManyFiles') return { error: 'accountBasics.photoErrors.one' };
  if (end === 'tooManyFields') throw new AppError(400, 'guard.badUpload', {}, 'BAD_MULTIPART');
  if (tooLarge) return { error: 'accountBasics.photoErrors.tooLarge' };
  const got = bytes as Buffer | null;
  if (!got || !got.length) return { error: 'accountBasics.photoErrors.empty' };
  return { bytes: got };
}

export async function profileRoutes(app: FastifyInstance, deps: ProfileRouteDeps) {
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: profile.AVATAR_MAX_BYTES, files: 1, fields: 5, fieldSize: 1024, parts: 8, headerPairs: 100 },
  });

  const editData = async (userId: number, extra: Record<string, unknown> = {}) => {
    const u = await deps.db.user.findUniqueOrThrow({ where: { id: userId } });
    return {
      profile: { nickname: u.nickname, photoUrl: u.photoKey ? deps.storage.url(u.photoKey) : null },
      values: { nickname: u.nickname },
      errors: {},
      ...extra,
    };
  };
  const editPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    reply.page('accounts/me-edit', await editData(req.user!.id, extra), {
      title: req.t('accountBasics.editTitle'),
    });

  app.get('/me/edit', { preHandler: requireUser }, async (req, reply) => editPage(req, reply));

  app.post<{ Body: Static<typeof NicknameBody> }>(
    '/me/nickname',
    { preHandler: requireUser, schema: { body: NicknameBody }, config: profileForm },
    async (req, reply) => {
      const res = await profile.changeNickname(deps, req.user!.id, req.body.nickname);
      if (res.error) {
        reply.code(422);
        const extra = { values: { nickname: res.nickname }, errors: { nickname: req.t(res.error) } };
        if (req.htmx) return reply.fragment('accounts/nickname-form', await editData(req.user!.id, extra));
        return editPage(req, reply, extra);
      }
      // The header shows the nickname from the session.
      if (req.session.user) req.session.user = { ...req.session.user, nickname: res.nickname };
      flash(req, 'info', 'accountBasics.nicknameSaved');
      return goTo(req, reply, '/me');
    },
  );

  app.post('/me/photo', { preHandler: requireUser, config: { ...profileForm, csrf: false } }, async (req, reply) => {
    const read = await readPhoto(app, req, reply);
    const processed = 'bytes' in read ? await profile.processAvatar(read.bytes) : read;
    if ('error' in processed) {
      reply.code(processed.error === 'accountBasics.photoErrors.tooLarge' ? 413 : 422);
      return editPage(req, reply, { photoError: req.t(processed.error) });
    }
    await profile.setAvatar(deps, req.user!.id, processed.image);
    flash(req, 'info', 'accountBasics.photoSaved');
    return goTo(req, reply, '/me');
  });

  app.post<{ Body: Static<typeof EmptyBody> }>(
    '/me/photo/delete',
    { preHandler: requireUser, schema: { body: EmptyBody }, config: profileForm },
    async (req, reply) => {
      await profile.removeAvatar(deps, req.user!.id);
      flash(req, 'info', 'accountBasics.photoRemoved');
      return goTo(req, reply, '/me');
    },
  );

  const passwordPage = (req: FastifyRequest, reply: FastifyReply, errors: Record<string, string> = {}) => {
    const data = { errors };
    if (req.htmx) return reply.fragment('accounts/password-form', data);
    return reply.page('accounts/me-password', data, { title: req.t('accountBasics.passwordTitle') });
  };

  app.get('/me/password', { preHandler: requireUser }, async (req, reply) => passwordPage(req, reply));

  app.post<{ Body: Static<typeof PasswordBody> }>(
    '/me/password',
    { preHandler: requireUser, schema: { body: PasswordBody }, config: passwordForm },
    async (req, reply) => {
      const res = await profile.changePassword(
        deps,
        req.user!.id,
        req.session.sessionId,
        req.body.current,
        req.body.password,
      );
      if (!res.ok) {
        reply.code(422);
        const errors = Object.fromEntries(Object.entries(res.errors).map(([k, v]) => [k, req.t(v as string)]));
        return passwordPage(req, reply, errors);
      }
      flash(req, 'info', 'accountBasics.passwordChanged');
      return goTo(req, reply, '/me');
    },
  );

  const deletePage = async (
    req: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: Record<string, string>; blockers?: string[] } = {},
  ) => {
    // The reasons are shown before the member types anything, and again after a refused attempt.
    const blockers =
      extra.blockers ?? (await app.accountClosure.blockers(req.user!.id)).map((b) => req.t(b.key, b.params));
    const data = { errors: extra.errors ?? {}, blockers };
    if (req.htmx) return reply.fragment('accounts/delete-form', data);
    return reply.page('accounts/me-delete', data, { title: req.t('accountBasics.deleteTitle') });
  };

  app.get('/me/delete', { preHandler: requireUser }, async (req, reply) => deletePage(req, reply));

  app.post<{ Body: Static<typeof DeleteBody> }>(
    '/me/delete',
    { preHandler: requireUser, schema: { body: DeleteBody }, config: passwordForm },
    async (req, reply) => {
      if (!req.body.confirm) {
        reply.code(422);
        return deletePage(req, reply, { errors: { confirm: req.t('accountBasics.errors.confirmRequired') } });
      }
      const res = await profile.deleteAccount(deps, app.accountClosure, req.user!.id, req.body.password);
      if (!res.ok && res.problem === 'password') {
        reply.code(422);
        return deletePage(req, reply, { errors: { password: req.t('accountBasics.errors.currentWrong') } });
      }
      if (!res.ok) {
        reply.code(409);
        return deletePage(req, reply, { blockers: res.blockers.map((b) => req.t(b.key, b.params)) });
      }
      await req.session.regenerate();
      flash(req, 'info', 'accountBasics.deleted');
      return goTo(req, reply, '/');
    },
  );
}
