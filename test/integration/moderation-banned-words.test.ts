/**
 * Banned title words: an admin keeps the list at /admin/banned-words (each change audited; bad and
 * duplicate words refused clearly), and the sell form warns — never refuses — when a title
 * contains one: in the htmx check while typing, on a form shown again, and after the listing is saved.
 */
import t from 'tap';
import { Client } from '../helpers/app.js';
import { catalogApp, seller, phonesCategory, validFields, postMultipart, photo, jpeg } from '../helpers/catalog.js';
import { loggedIn } from '../helpers/auction.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { uniq } from '../helpers/env.js';

t.test('banned title words', async (t) => {
  const { app } = await catalogApp(t);
  const u = uniq();
  const admin = await createUserDirect(app.db, {
    email: `bw${u}@example.com`,
    nickname: `bw${u}`,
    password: 'bidding test password',
    role: 'ADMIN',
  });
  const ac = await loggedIn(app, admin.email);
  const word = `총포${u}`.toLowerCase();

  await ac.get('/admin/banned-words');
  t.equal((await ac.post('/admin/banned-words', { word: `  ${word.toUpperCase()} ` })).statusCode, 303, 'added');
  const row = await app.db.bannedWord.findUniqueOrThrow({ where: { word } });
  t.equal(row.createdById, admin.id, 'stored lower-case and trimmed, with who added it');
  const added = await app.db.auditLog.findFirstOrThrow({
    where: { action: 'catalog.bannedWord.add', targetId: String(row.id) },
  });
  t.match(added, { actorId: admin.id, actorRole: 'ADMIN', after: { word } });
  await ac.get('/admin/banned-words');
  t.equal((await ac.post('/admin/banned-words', { word })).statusCode, 409, 'a duplicate: 409');
  await ac.get('/admin/banned-words');
  t.equal((await ac.post('/admin/banned-words', { word: '   ' })).statusCode, 422, 'empty: 422');
  await ac.get('/admin/banned-words');
  t.equal((await ac.post('/admin/banned-words', { word: 'x'.repeat(41) })).statusCode, 422, '41 characters: 422');
  t.equal(await app.db.bannedWord.count({ where: { word: { startsWith: '총포' } } }), 1, 'one row');
  const page = await ac.get('/admin/banned-words');
  t.match(page.body, new RegExp(`data-testid="banned-word"><span>${word}</span>`), 'the list shows it');

  // The htmx check while typing.
  const check = await new Client(app).get(`/sell/title-check?title=${encodeURIComponent(`새 ${word} 팝니다`)}`);
  t.equal(check.statusCode, 200);
  t.match(check.body, /data-testid="title-warning"/, 'a title with the word: the warning');
  t.match(check.body, new RegExp(word));
  const clean = await new Client(app).get('/sell/title-check?title=' + encodeURIComponent('아이폰 팝니다'));
  t.notMatch(clean.body, /title-warning/, 'a clean title: nothing');

  // The form: shown again with an error, it warns; saved, it is NOT refused and the flash warns.
  const s = await seller(app);
  const cat = await phonesCategory(app);
  const form = await s.c.get('/sell');
  t.match(form.body, /hx-get="\/sell\/title-check"/, 'the title field asks while typing');
  const bad = await postMultipart(s.c, '/sell', validFields(cat, { title: `${word} 새것`, startPrice: 'abc' }), [
    photo(await jpeg()),
  ]);
  t.equal(bad.statusCode, 422, 'a form with an error comes back');
  t.match(bad.body, /data-testid="title-warning"/, 'with the warning');
  await s.c.get('/sell');
  const ok = await postMultipart(s.c, '/sell', validFields(cat, { title: `${word.toUpperCase()} 새것` }), [
    photo(await jpeg()),
  ]);
  t.equal(ok.statusCode, 303, 'the listing is saved (a warning, not a block)');
  const item = await s.c.get(String(ok.headers.location));
  t.equal(item.statusCode, 200);
  t.match(item.body, /금지 물품으로 보이는 단어/, 'the flash warns');

  // Removed: audited, and no more warnings.
  await ac.get('/admin/banned-words');
  t.equal((await ac.post(`/admin/banned-words/${row.id}/delete`, {})).statusCode, 303, 'removed');
  t.ok(
    await app.db.auditLog.findFirst({
      where: { action: 'catalog.bannedWord.remove', targetId: String(row.id), before: { equals: { word } } },
    }),
    'audited with the word before',
  );
  await ac.get('/admin/banned-words');
  t.equal((await ac.post(`/admin/banned-words/${row.id}/delete`, {})).statusCode, 404, 'twice: 404');
  const after = await new Client(app).get(`/sell/title-check?title=${encodeURIComponent(word)}`);
  t.notMatch(after.body, /title-warning/, 'no warning once removed');
});
