/** Users report things: the form (GET /reports/new?targetType=&targetId=) and POST /reports. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import type { ReportTargetKind, ReportTargetInfo } from '../../core/report-targets.js';
import { MAX_TEXT, REASONS, fileReport, parseTarget, resolveTarget, type ModerationDeps } from './service.js';

const NewQuery = Type.Object({
  targetType: Type.String({ maxLength: 20 }),
  targetId: Type.String({ maxLength: 20 }),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});
// The text's schema limit is generous: a long paste gets the clear "1,000 at most" answer, not a bare 400.
const ReportBody = Type.Object({
  targetType: Type.String({ maxLength: 20 }),
  targetId: Type.String({ maxLength: 20 }),
  reason: Type.String({ maxLength: 20 }),
  text: Type.Optional(Type.String({ maxLength: 20_000 })),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});

export async function reportRoutes(app: FastifyInstance, deps: ModerationDeps) {
  async function form(
    req: FastifyRequest,
    reply: FastifyReply,
    target: { kind: ReportTargetKind; id: number },
    info: ReportTargetInfo,
    o: { reason?: string; text?: string; error?: string; status?: number } = {},
  ) {
    reply.code(o.status ?? 200);
    return reply.page(
      'moderation/report-new',
      {
        target: { kind: target.kind, id: target.id, summary: info.summary.slice(0, 300), href: info.href },
        kindLabel: req.t(`moderation.kinds.${target.kind}`),
        reasons: REASONS.map((r) => ({ value: r, label: req.t(`moderation.reasons.${r}`), checked: r === o.reason })),
        text: o.text ?? '',
        max: MAX_TEXT,
        error: o.error,
      },
      { title: req.t('moderation.report.title') },
    );
  }

  app.get<{ Querystring: Static<typeof NewQuery> }>(
    '/reports/new',
    { preHandler: requireUser, schema: { querystring: NewQuery } },
    async (req, reply) => {
      const target = parseTarget(req.query.targetType, req.query.targetId);
      const info = await resolveTarget(deps, target, req.user!.id, false);
      if (info.ownerId === req.user!.id) throw new AppError(422, 'moderation.errors.own', {}, 'OWN_TARGET');
      return form(req, reply, target, info);
    },
  );

  app.post<{ Body: Static<typeof ReportBody> }>(
    '/reports',
    {
      preHandler: requireUser,
      schema: { body: ReportBody },
      // Per user (the app's key): a few honest reports a minute; a flood is refused with 429.
      config: { rateLimit: { max: 10, timeWindow: '10 minutes' } },
    },
    async (req, reply) => {
      const target = parseTarget(req.body.targetType, req.body.targetId);
      const userId = req.user!.id;
      const info = await resolveTarget(deps, target, userId, false);
      try {
        await fileReport(deps, userId, {
          kind: target.kind,
          targetId: target.id,
          reason: req.body.reason,
          text: req.body.text ?? '',
        });
      } catch (err) {
        // The form again with the answer (a duplicate, a missing reason, a text too long): nothing was stored.
        if (err instanceof AppError && (err.statusCode === 422 || err.statusCode === 409) && err.code !== 'OWN_TARGET')
          return form(req, reply, target, info, {
            reason: req.body.reason,
            text: (req.body.text ?? '').slice(0, MAX_TEXT * 2),
            error: req.t(err.messageKey, err.params),
            status: err.statusCode,
          });
        throw err;
      }
      flash(req, 'info', 'moderation.report.thanks');
      return goTo(req, reply, info.href);
    },
  );
}
