/** accounts pages: sign up, log in, log out, my profile. Work as plain forms and with htmx. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { requireUser, safeNext, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import * as svc from './service.js';

const SignupBody = Type.Object({
  email: Type.String({ maxLength: 1000 }),
  nickname: Type.String({ maxLength: 1000 }),
  password: Type.String({ maxLength: 1000 }),
  _csrf: Type.Optional(Type.String()),
});
const LoginBody = Type.Object({
  email: Type.String({ maxLength: 1000 }),
  password: Type.String({ maxLength: 1000 }),
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  _csrf: Type.Optional(Type.String()),
});
const NextQuery = Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })), lang: Type.Optional(Type.String()) });


async function startSession(req: FastifyRequest, user: svc.PublicUser) {
  // A new session id at login defeats session fixation.
  await req.session.regenerate();
  req.session.userId = user.id;
  req.session.user = { id: user.id, nickname: user.nickname, role: user.role };
}

export async function accountsRoutes(app: FastifyInstance, deps: svc.AccountsDeps) {
  const t = (req: FastifyRequest, errors: svc.FieldErrors | undefined) =>
    Object.fromEntries(Object.entries(errors ?? {}).map(([k, v]) => [k, req.t(v as string)]));

  app.get('/signup', { schema: { querystring: NextQuery } }, async (req, reply) => {
    if (req.user) return goTo(req, reply, '/');
    return reply.page('accounts/signup', { values: {}, errors: {} }, { title: req.t('accounts.signupTitle') });
  });

  app.post<{ Body: Static<typeof SignupBody> }>('/signup', { schema: { body: SignupBody } }, async (req, reply) => {
    const res = await svc.signup(deps, req.body);
    if (res.errors) {
      reply.code(422);
      const data = { values: { email: res.values.email, nickname: res.values.nickname }, errors: t(req, res.errors) };
      if (req.headers['hx-request']) return reply.fragment('accounts/signup-form', data);
      return reply.page('accounts/signup', data, { title: req.t('accounts.signupTitle') });
    }
    await startSession(req, res.user!);
    flash(req, 'info', 'accounts.welcome', { nickname: res.user!.nickname });
    return goTo(req, reply, '/');
  });

  app.get<{ Querystring: Static<typeof NextQuery> }>('/login', { schema: { querystring: NextQuery } }, async (req, reply) => {
    if (req.user) return goTo(req, reply, safeNext(req.query.next));
    return reply.page('accounts/login', { values: {}, next: safeNext(req.query.next) }, { title: req.t('accounts.loginTitle') });
  });

  app.post<{ Body: Static<typeof LoginBody> }>('/login', { schema: { body: LoginBody } }, async (req, reply) => {
    const next = safeNext(req.body.next);
    const res = await svc.login(deps, req.body.email, req.body.password, req.ip);
    if (!res.ok) {
      const locked = res.reason === 'locked';
      reply.code(locked ? 429 : 422);
      if (locked) reply.header('Retry-After', String(res.retryAfterSeconds));
      const formError = locked
        ? req.t('accounts.errors.tooManyAttempts', { minutes: Math.ceil(res.retryAfterSeconds / 60) })
        : req.t('accounts.errors.badCredentials');
      const data = { values: { email: String(req.body.email ?? '').trim() }, next, formError };
      if (req.headers['hx-request']) return reply.fragment('accounts/login-form', data);
      return reply.page('accounts/login', data, { title: req.t('accounts.loginTitle') });
    }
    await startSession(req, res.user);
    return goTo(req, reply, next);
  });

  app.post('/logout', async (req, reply) => {
    await req.session.regenerate();
    flash(req, 'info', 'accounts.loggedOut');
    return goTo(req, reply, '/');
  });

  app.get('/me', { preHandler: requireUser }, async (req, reply) => {
    const user = await svc.findUser(deps, req.user!.id);
    if (!user) {
      await req.session.destroy();
      return goTo(req, reply, '/login');
    }
    return reply.page('accounts/me', { profile: user }, { title: req.t('accounts.profileTitle') });
  });
}
