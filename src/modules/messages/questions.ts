/**
 * Listing Q&A: a logged-in user (not the seller) asks under the item; the seller answers.
 * Answered questions are public with the asker's nickname masked (as in the bid history);
 * unanswered ones only the asker and the seller see. Plain text up to MAX_LEN characters,
 * escaped wherever shown; asking and answering are rate limited per user. Each question and
 * answer commits with its durable event (the notifications module tells the other side).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { AppError, notFound } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import { transaction, type Db } from '../../core/db/index.js';
import type { AccountsApi } from '../accounts/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { ContentHider } from '../../core/report-targets.js';
import { questionAnswered, questionAsked } from './events.js';

export const MAX_LEN = 500;

/** "dapanda" -> "d***a" (the bid history's rule). */
export function mask(nick: string): string {
  const chars = [...nick];
  if (chars.length <= 1) return `${chars[0] ?? '?'}***`;
  return `${chars[0]}***${chars[chars.length - 1]}`;
}

/** Plain text: trimmed, line ends normalised, control characters other than newlines refused. */
function cleanText(raw: string): string {
  const s = raw.replace(/\r\n?/g, '\n').trim();
  const length = [...s].length;
  if (!length) throw new AppError(422, 'messages.qa.errors.empty', {}, 'EMPTY');
  if (length > MAX_LEN) throw new AppError(422, 'messages.qa.errors.tooLong', { max: MAX_LEN, length }, 'TOO_LONG');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s))
    throw new AppError(400, 'guard.badCharacters', {}, 'BAD_CHARACTERS');
  return s;
}

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
// The schema's limit is generous (a 10,000-character paste gets the clear "500 at most" answer, not a bare 400).
const AskBody = Type.Object({
  body: Type.String({ maxLength: 20_000 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});
const AnswerBody = Type.Object({
  answer: Type.String({ maxLength: 20_000 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});

export interface QaDeps {
  db: Db;
  accounts: AccountsApi;
  catalog: CatalogApi;
}

type QuestionRow = Awaited<ReturnType<Db['listingQuestion']['findMany']>>[number] & { asker: string };

/** Rows with the askers' masked nicknames. */
async function named(deps: QaDeps, rows: Awaited<ReturnType<Db['listingQuestion']['findMany']>>) {
  const names = await deps.accounts.publicProfiles(rows.map((r) => r.askerId));
  return rows.map((r): QuestionRow => ({ ...r, asker: mask(names.get(r.askerId)?.nickname ?? '?') }));
}

/**
 * What every viewer of the item sees of its Q&A: the seller and the answered questions (newest
 * 100). Null when there is no such listing. The item page's slot caches it (issue 16).
 */
export async function publicQuestions(deps: QaDeps, listingId: number) {
  const l = await deps.catalog.getListingForAuction(listingId);
  if (!l) return null;
  const [rows, waiting] = await Promise.all([
    deps.db.listingQuestion.findMany({
      where: { listingId, answeredAt: { not: null } },
      orderBy: { id: 'desc' },
      take: 100,
    }),
    deps.db.listingQuestion.findMany({
      where: { listingId, answeredAt: null },
      distinct: ['askerId'],
      select: { askerId: true },
    }),
  ]);
  return {
    sellerId: l.sellerId,
    answered: await named(deps, rows),
    // Who has a question waiting (never shown): only they and the seller need a read of their own.
    waitingAskers: new Set(waiting.map((w) => w.askerId)),
  };
}
export type PublicQuestions = NonNullable<Awaited<ReturnType<typeof publicQuestions>>>;

/**
 * The Q&A block of an item page for this viewer: the answered questions and, for the asker and
 * the seller, the unanswered ones that are theirs to see. `shared` may answer the public part
 * from a cache.
 */
export async function questionsModel(
  deps: QaDeps,
  listingId: number,
  req: FastifyRequest,
  shared: (deps: QaDeps, listingId: number) => Promise<PublicQuestions | null> = publicQuestions,
) {
  const viewer = req.user?.id ?? null;
  const pub = await shared(deps, listingId);
  if (!pub) return null;
  // Unanswered questions: the seller's to see, and each asker their own (most viewers have none).
  const waiting =
    viewer !== null && (viewer === pub.sellerId || pub.waitingAskers.has(viewer))
      ? await deps.db.listingQuestion.findMany({
          where: { listingId, answeredAt: null, OR: [{ askerId: viewer }, { sellerId: viewer }] },
          orderBy: { id: 'desc' },
          take: 100,
        })
      : [];
  const isSeller = viewer === pub.sellerId;
  const rows = waiting.length
    ? [...pub.answered, ...(await named(deps, waiting))].sort((a, b) => b.id - a.id).slice(0, 100)
    : pub.answered;
  return {
    listingId,
    isSeller,
    canAsk: viewer !== null && !isSeller,
    max: MAX_LEN,
    // A question a moderator hid shows a notice only: neither its text nor its answer leaves the server.
    items: rows.map((r) => ({
      id: r.id,
      hidden: Boolean(r.hiddenAt),
      body: r.hiddenAt ? '' : r.body,
      answer: r.hiddenAt ? null : r.answer,
      createdAt: r.createdAt,
      mine: r.askerId === viewer,
      reportable: !r.hiddenAt && viewer !== null && r.askerId !== viewer,
      asker: r.asker,
    })),
  };
}

export async function questionRoutes(app: FastifyInstance, deps: QaDeps) {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AskBody> }>(
    '/items/:id/questions',
    {
      schema: { params: IdParams, body: AskBody },
      preHandler: requireUser,
      config: { rateLimit: { max: 5, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const l = await deps.catalog.getListingForAuction(req.params.id);
      if (!l || l.status === 'CANCELLED') throw notFound();
      // A listing hidden by a moderator takes no questions (it is 404 to the public).
      if ((await deps.catalog.moderationState(l.id))?.hiddenAt) throw notFound();
      const userId = req.user!.id;
      if (userId === l.sellerId) throw new AppError(422, 'messages.qa.errors.ownListing', {}, 'OWN_LISTING');
      const body = cleanText(req.body.body);
      await transaction(deps.db, async (tx) => {
        const q = await tx.listingQuestion.create({
          data: { listingId: l.id, askerId: userId, sellerId: l.sellerId, body },
        });
        await app.events.enqueue(tx, questionAsked(q));
      });
      // The asker's next page shows it now (the durable event reaches other instances' caches a moment later).
      app.pageCache.invalidateItem(l.id);
      flash(req, 'info', 'messages.qa.asked');
      return goTo(req, reply, `/items/${l.id}#questions`);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AnswerBody> }>(
    '/questions/:id/answer',
    {
      schema: { params: IdParams, body: AnswerBody },
      preHandler: requireUser,
      config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const userId = req.user!.id;
      const q = await deps.db.listingQuestion.findUnique({ where: { id: req.params.id } });
      // Someone else's question (not the seller's to answer) is not found, like one that does not exist.
      if (!q || q.sellerId !== userId || q.hiddenAt) throw notFound();
      const answer = cleanText(req.body.answer);
      const done = await transaction(deps.db, async (tx) => {
        const r = await tx.listingQuestion.updateMany({
          where: { id: q.id, answeredAt: null },
          data: { answer, answeredAt: new Date() },
        });
        if (!r.count) return false;
        await app.events.enqueue(tx, questionAnswered({ ...q, answer }));
        return true;
      });
      if (!done) throw new AppError(422, 'messages.qa.errors.alreadyAnswered', {}, 'ALREADY_ANSWERED');
      app.pageCache.invalidateItem(q.listingId);
      flash(req, 'info', 'messages.qa.answered');
      return goTo(req, reply, `/items/${q.listingId}#q-${q.id}`);
    },
  );
}

/** Moderation's hide/restore of a question (core/report-targets.ts), in the moderator's transaction. */
export const hideQuestion: ContentHider = async (tx, id, hidden) => {
  const q = await tx.listingQuestion.findUnique({ where: { id }, select: { hiddenAt: true, listingId: true } });
  if (!q) return null;
  const before = { hiddenAt: q.hiddenAt?.toISOString() ?? null };
  const listingId = q.listingId;
  if (Boolean(q.hiddenAt) === hidden) return { changed: false, listingId, before, after: before };
  // Only if nobody changed it meanwhile (two moderators at once: one of them changes it).
  const at = hidden ? new Date() : null;
  const r = await tx.listingQuestion.updateMany({ where: { id, hiddenAt: q.hiddenAt }, data: { hiddenAt: at } });
  if (!r.count) return { changed: false, listingId, before, after: before };
  return { changed: true, listingId, before, after: { hiddenAt: at?.toISOString() ?? null } };
};
