/**
 * accounts pages: sign up (confirmed by an e-mail link), log in, log out, my profile, password
 * reset. Work as plain forms and with htmx.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, safeNext, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import * as svc from './service.js';
import { completeSignup, pendingSignup } from './service.js';
import { looksLikeEmail, normaliseEmail, resetPassword, resetTarget } from './reset.js';
import { rememberSession } from './sessions.js';
import { throttle } from './throttle.js';
import type { AccountsJobs } from './jobs.js';

const SignupBody = Type.Object({
  email: Type.String({ maxLength: 1000 }),
  nickname: Type.String({ maxLength: 1000 }),
  password: Type.String({ maxLength: 1000 }),
  terms: Type.Optional(Type.String({ maxLength: 10 })),
  privacy: Type.Optional(Type.String({ maxLength: 10 })),
  marketing: Type.Optional(Type.String({ maxLength: 10 })),
  _csrf: Type.Optional(Type.String()),
});
const LoginBody = Type.Object({
  email: Type.String({ maxLength: 1000 }),
  password: Type.String({ maxLength: 1000 }),
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  _csrf: Type.Optional(Type.String()),
});
const NextQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  lang: Type.Optional(Type.String()),
});
const TokenQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 100 })),
  lang: Type.Optional(Type.String()),
});
const TokenBody = Type.Object({ token: Type.String({ maxLength: 100 }), _csrf: Type.Optional(Type.String()) });
const ForgotBody = Type.Object({ email: Type.String({ maxLength: 1000 }), _csrf: Type.Optional(Type.String()) });
const ResetBody = Type.Object({
  token: Type.String({ maxLength: 100 }),
  password: Type.String({ maxLength: 1000 }),
  _csrf: Type.Optional(Type.String()),
});
/** Forms that send mail or try tokens: a tight budget per address (shared by every instance). */
const mailForm = { rateLimit: { max: 20, timeWindow: '15 minutes' } };
const tokenForm = { rateLimit: { max: 30, timeWindow: '15 minutes' } };

async function startSession(req: FastifyRequest, deps: svc.AccountsDeps, user: svc.PublicUser) {
  // A new session id at login defeats session fixation.
  await req.session.regenerate();
  req.session.userId = user.id;
  req.session.user = { id: user.id, nickname: user.nickname, role: user.role };
  // Known per user, so a password reset can end it.
  await rememberSession(deps.redis, deps.prefix, user.id, req.session.sessionId);
}

export async function accountsRoutes(
  app: FastifyInstance,
  deps: svc.AccountsDeps,
  jobs: AccountsJobs,
  opts: { termsVersion: string; photoUrl: (key: string) => string },
) {
  const t = (req: FastifyRequest, errors: svc.FieldErrors | undefined) =>
    Object.fromEntries(Object.entries(errors ?? {}).map(([k, v]) => [k, req.t(v as string)]));
  /** "Check your e-mail": the one answer of the sign-up and reset forms, whatever the address. */
  const checkEmail = (req: FastifyRequest, reply: FastifyReply, email: string, what: 'signup' | 'reset') => {
    const data = {
      email,
      message: req.t(what === 'signup' ? 'accountSecurity.checkEmailSignup' : 'accountSecurity.checkEmailReset', {
        email,
      }),
    };
    if (req.htmx) return reply.fragment('accounts/check-email', data);
    return reply.page('accounts/check-email', data, { title: req.t('accountSecurity.checkEmailTitle') });
  };
  // The pages of forms a logged-out visitor posts: they carry a CSRF token (its secret is a cookie, not a session).
  const formPage = { csrfForm: true };
  const linkProblem = (req: FastifyRequest, reply: FastifyReply, key: string, status = 400) => {
    reply.code(status);
    return reply.page('accounts/link-problem', { message: req.t(key) }, { title: req.t('accountSecurity.linkTitle') });
  };

  app.get('/signup', { schema: { querystring: NextQuery }, config: formPage }, async (req, reply) => {
    if (req.user) return goTo(req, reply, '/');
    return reply.page('accounts/signup', { values: {}, errors: {} }, { title: req.t('accounts.signupTitle') });
  });

  app.post<{ Body: Static<typeof SignupBody> }>(
    '/signup',
    { schema: { body: SignupBody }, config: mailForm },
    async (req, reply) => {
      const res = await svc.requestSignup(deps, req.body, req.lang, jobs.signup, opts.termsVersion);
      if (res.errors) {
        reply.code(422);
        const v = res.values;
        const values = {
          email: v.email,
          nickname: v.nickname,
          terms: v.terms,
          privacy: v.privacy,
          marketing: v.marketing,
        };
        const data = { values, errors: t(req, res.errors) };
        if (req.htmx) return reply.fragment('accounts/signup-form', data);
        return reply.page('accounts/signup', data, { title: req.t('accounts.signupTitle') });
      }
      return checkEmail(req, reply, res.values.email, 'signup');
    },
  );

  // The link from the mail shows a button; only the POST uses it (mail scanners open links too).
  app.get<{ Querystring: Static<typeof TokenQuery> }>(
    '/signup/verify',
    { schema: { querystring: TokenQuery }, config: formPage },
    async (req, reply) => {
      const pending = await pendingSignup(deps, req.query.token);
      if (!pending) return linkProblem(req, reply, 'accountSecurity.linkInvalid');
      return reply.page(
        'accounts/verify',
        { token: req.query.token, nickname: pending.nickname },
        { title: req.t('accountSecurity.verifyTitle') },
      );
    },
  );

  app.post<{ Body: Static<typeof TokenBody> }>(
    '/signup/verify',
    { schema: { body: TokenBody }, config: tokenForm },
    async (req, reply) => {
      const res = await completeSignup(deps, req.body.token);
      if ('problem' in res) {
        if (res.problem === 'exists') return linkProblem(req, reply, 'accountSecurity.alreadyMember', 409);
        if (res.problem === 'nicknameTaken') return linkProblem(req, reply, 'accountSecurity.nicknameGone', 409);
        return linkProblem(req, reply, 'accountSecurity.linkInvalid');
      }
      await startSession(req, deps, res.user);
      flash(req, 'info', 'accounts.welcome', { nickname: res.user.nickname });
      return goTo(req, reply, '/');
    },
  );

  app.get('/password/forgot', { schema: { querystring: NextQuery }, config: formPage }, async (req, reply) =>
    reply.page('accounts/forgot', { values: {}, errors: {} }, { title: req.t('accountSecurity.forgotTitle') }),
  );

  app.post<{ Body: Static<typeof ForgotBody> }>(
    '/password/forgot',
    { schema: { body: ForgotBody }, config: mailForm },
    async (req, reply) => {
      const email = normaliseEmail(req.body.email);
      if (!looksLikeEmail(email)) {
        reply.code(422);
        const data = { values: { email }, errors: { email: req.t('accounts.errors.emailInvalid') } };
        if (req.htmx) return reply.fragment('accounts/forgot-form', data);
        return reply.page('accounts/forgot', data, { title: req.t('accountSecurity.forgotTitle') });
      }
      await jobs.reset(email, req.lang);
      return checkEmail(req, reply, email, 'reset');
    },
  );

  app.get<{ Querystring: Static<typeof TokenQuery> }>(
    '/password/reset',
    { schema: { querystring: TokenQuery }, config: formPage },
    async (req, reply) => {
      if (!(await resetTarget(deps, req.query.token))) return linkProblem(req, reply, 'accountSecurity.linkInvalid');
      return reply.page(
        'accounts/reset',
        { token: req.query.token, errors: {} },
        { title: req.t('accountSecurity.resetTitle') },
      );
    },
  );

  app.post<{ Body: Static<typeof ResetBody> }>(
    '/password/reset',
    { schema: { body: ResetBody }, config: tokenForm },
    async (req, reply) => {
      const res = await resetPassword(deps, req.body.token, req.body.password);
      if (!res.ok && res.problem === 'invalid') return linkProblem(req, reply, 'accountSecurity.linkInvalid');
      if (!res.ok) {
        reply.code(422);
        const data = { token: req.body.token, errors: { password: req.t(res.key) } };
        if (req.htmx) return reply.fragment('accounts/reset-form', data);
        return reply.page('accounts/reset', data, { title: req.t('accountSecurity.resetTitle') });
      }
      // This browser's session ends too; the owner's own address may try again at once.
      await req.session.regenerate();
      await throttle(deps.redis, deps.prefix).succeeded(res.user.email, req.ip);
      flash(req, 'info', 'accountSecurity.passwordChanged');
      return goTo(req, reply, '/login');
    },
  );

  app.get<{ Querystring: Static<typeof NextQuery> }>(
    '/login',
    { schema: { querystring: NextQuery }, config: formPage },
    async (req, reply) => {
      if (req.user) return goTo(req, reply, safeNext(req.query.next));
      return reply.page(
        'accounts/login',
        { values: {}, next: safeNext(req.query.next) },
        { title: req.t('accounts.loginTitle') },
      );
    },
  );

  app.post<{ Body: Static<typeof LoginBody> }>('/login', { schema: { body: LoginBody } }, async (req, reply) => {
    const next = safeNext(req.body.next);
    const res = await svc.login(deps, req.body.email, req.body.password, req.ip);
    if (!res.ok && res.reason === 'restricted') {
      reply.code(403);
      const data = {
        values: { email: String(req.body.email ?? '').trim() },
        next,
        formError: req.t(res.error.messageKey, res.error.params),
      };
      if (req.htmx) return reply.fragment('accounts/login-form', data);
      return reply.page('accounts/login', data, { title: req.t('accounts.loginTitle') });
    }
    if (!res.ok) {
      const locked = res.reason === 'locked';
      reply.code(locked ? 429 : 422);
      if (locked) reply.header('Retry-After', String(res.retryAfterSeconds));
      const formError = locked
        ? req.t('accounts.errors.tooManyAttempts', { minutes: Math.ceil(res.retryAfterSeconds / 60) })
        : req.t('accounts.errors.badCredentials');
      const data = { values: { email: String(req.body.email ?? '').trim() }, next, formError };
      if (req.htmx) return reply.fragment('accounts/login-form', data);
      return reply.page('accounts/login', data, { title: req.t('accounts.loginTitle') });
    }
    await startSession(req, deps, res.user);
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
    const row = await deps.db.user.findUnique({
      where: { id: user.id },
      select: { photoKey: true, termsVersion: true, termsAgreedAt: true, marketingAgreedAt: true },
    });
    const photoUrl = row?.photoKey ? opts.photoUrl(row.photoKey) : null;
    return reply.page(
      'accounts/me',
      { profile: { ...user, ...row, photoUrl } },
      { title: req.t('accounts.profileTitle') },
    );
  });
}
