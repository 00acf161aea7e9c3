/**
 * Banned title words: an admin keeps a list (/admin/banned-words, each change audited) and the sell
 * form warns when a title contains one (as 당근 does for prohibited items) — on the page the server
 * renders, in the htmx check while typing, and in the flash after the listing is saved. It never
 * refuses the listing: the words are a hint, moderators decide.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { flash } from '../../core/auth.js';
import { actorOf, audit } from '../../core/audit.js';
import { AppError } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import { transaction, type Db } from '../../core/db/index.js';
import { requireRole } from '../accounts/index.js';

export const MAX_WORD = 40;

/** Trimmed, lower-case, inner spaces collapsed; null when empty, too long or with control characters. */
export function normaliseWord(raw: string): string | null {
  const w = raw.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
  // eslint-disable-next-line no-control-regex
  if (!w || [...w].length > MAX_WORD || /[\u0000-\u001f\u007f]/.test(w)) return null;
  return w;
}

/** The banned words a title contains (case-insensitive substrings), in list order. */
export async function bannedWordsIn(db: Db, title: string): Promise<string[]> {
  const t = title.normalize('NFC').toLowerCase();
  if (!t.trim()) return [];
  const rows = await db.$queryRaw<{ word: string }[]>`
    SELECT word FROM banned_words WHERE strpos(${t}, word) > 0 ORDER BY word LIMIT 20`;
  return rows.map((r) => r.word);
}

const WordBody = Type.Object({
  word: Type.String({ maxLength: 200 }),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
});
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const CsrfBody = Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 200 })) });
const TitleQuery = Type.Object({
  title: Type.Optional(Type.String({ maxLength: 200 })),
  lang: Type.Optional(Type.String({ maxLength: 5 })),
});

export async function bannedWordRoutes(app: FastifyInstance, db: Db) {
  const admin = requireRole('ADMIN');
  app.adminNav.add({ href: '/admin/banned-words', labelKey: 'catalog.bannedWords.nav', minRole: 'ADMIN', order: 60 });

  app.get('/admin/banned-words', { onRequest: admin }, async (req, reply) => {
    const words = await db.bannedWord.findMany({ orderBy: { word: 'asc' }, take: 1000 });
    return reply.page(
      'catalog/admin-banned-words',
      { words, max: MAX_WORD },
      { title: req.t('catalog.bannedWords.title') },
    );
  });

  app.post<{ Body: Static<typeof WordBody> }>(
    '/admin/banned-words',
    { onRequest: admin, schema: { body: WordBody } },
    async (req, reply) => {
      const word = normaliseWord(req.body.word);
      if (!word) throw new AppError(422, 'catalog.bannedWords.invalid', {}, 'WORD_INVALID');
      await transaction(db, async (tx) => {
        const exists = await tx.bannedWord.findUnique({ where: { word } });
        if (exists) throw new AppError(409, 'catalog.bannedWords.exists', { word }, 'WORD_EXISTS');
        const row = await tx.bannedWord.create({ data: { word, createdById: req.user!.id } });
        await audit.record(tx, actorOf(req), {
          action: 'catalog.bannedWord.add',
          target: { kind: 'banned_word', id: row.id },
          before: null,
          after: { word },
        });
      });
      flash(req, 'info', 'catalog.bannedWords.added', { word });
      return goTo(req, reply, '/admin/banned-words');
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CsrfBody> }>(
    '/admin/banned-words/:id/delete',
    { onRequest: admin, schema: { params: IdParams, body: CsrfBody } },
    async (req, reply) => {
      const word = await transaction(db, async (tx) => {
        const row = await tx.bannedWord.findUnique({ where: { id: req.params.id } });
        if (!row) throw new AppError(404, 'errors.notFoundBody', {}, 'NOT_FOUND');
        await tx.bannedWord.delete({ where: { id: row.id } });
        await audit.record(tx, actorOf(req), {
          action: 'catalog.bannedWord.remove',
          target: { kind: 'banned_word', id: row.id },
          before: { word: row.word },
          after: null,
        });
        return row.word;
      });
      flash(req, 'info', 'catalog.bannedWords.removed', { word });
      return goTo(req, reply, '/admin/banned-words');
    },
  );

  // The sell form's title field asks while the seller types (htmx): the warning, or nothing.
  app.get<{ Querystring: Static<typeof TitleQuery> }>(
    '/sell/title-check',
    { schema: { querystring: TitleQuery }, config: { rateLimit: { max: 120, timeWindow: '1 minute' } } },
    async (req, reply) => {
      const words = await bannedWordsIn(db, req.query.title ?? '');
      return reply.fragment('catalog/title-warning', { titleWarning: warningText(req.t, words) });
    },
  );
}

export function warningText(t: (k: string, p?: Record<string, unknown>) => string, words: string[]): string | null {
  return words.length ? t('catalog.bannedWords.warning', { words: words.join(', ') }) : null;
}
