/**
 * Moderation of content other than listings, and what a sanctioned user is told, with the real app
 * (PostgreSQL, Redis, BullMQ, the outbox relay, a real SMTP server in the process):
 * - a reported question and a reported chat line are hidden and restored by a moderator through the
 *   hider messages registered (core/report-targets.ts): one audit row per action with before/after,
 *   the reports resolved, the public page shows "운영 정책에 따라 숨겨진 내용이에요" (English too) and
 *   not the text; hiding twice is 409 and writes nothing; hide on a user is 422;
 * - warn, suspend and ban reach the user's inbox and mailbox (the durable user.warned / user.sanctioned
 *   consumed by notifications);
 * - a suspended (then banned) user with a live session is refused at bid, list and chat (403, nothing
 *   stored), and at login.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { auction, bid, loggedIn, user, waitFor, PASSWORD } from '../helpers/auction.js';
import { wonOrder } from '../helpers/orders.js';
import { smtpServer } from '../helpers/smtp.js';
import { phonesCategory, postMultipart, validFields } from '../helpers/catalog.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { uniq } from '../helpers/env.js';

const smtp = await smtpServer(t);
const { app, config } = await startApp(t, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, ORDER_SWEEP_MS: '3600000' });

const HIDDEN_KO = '운영 정책에 따라 숨겨진 내용이에요';
const HIDDEN_EN = 'This content was hidden under our policy';

async function patient<T extends { statusCode: number }>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    const r = await fn();
    if (r.statusCode !== 503 || i >= 8) return r;
    await new Promise((res) => setTimeout(res, 500));
  }
}
async function staff(role: 'MODERATOR' | 'ADMIN') {
  const u = uniq();
  const row = await createUserDirect(app.db, {
    email: `m${u}@example.com`,
    nickname: `m${u}`,
    password: PASSWORD,
    role,
  });
  return { row, c: await loggedIn(app, row.email) };
}
async function report(c: Client, kind: string, id: number, reason = 'ABUSE', text = '불쾌해요') {
  await c.get(`/reports/new?targetType=${kind}&targetId=${id}`);
  return patient(() => c.post('/reports', { targetType: kind, targetId: String(id), reason, text }));
}
async function actAs(c: Client, form: Record<string, string>) {
  await c.get('/admin/reports');
  return patient(() => c.post('/admin/reports/act', form));
}
const audits = (action: string, targetId: number) =>
  app.db.auditLog.findMany({ where: { action, targetId: String(targetId) }, orderBy: { id: 'asc' } });
const mailTo = (email: string) => smtp.received.filter((m) => m.to === email);

const mod = await staff('MODERATOR');
const admin = await staff('ADMIN');

t.test('a reported question: hidden and restored by a moderator, audited, a notice in its place', async (t) => {
  const seller = await user(app, config, 0, 's');
  const asker = await user(app, config, 0, 'q');
  const reporter = await user(app, config, 0, 'r');
  const id = await auction(app, { sellerId: seller.id, title: `문의 숨김 ${uniq()}` });
  const ac = await loggedIn(app, asker.email);
  await ac.get(`/items/${id}`);
  const qText = `욕설이 담긴 질문 ${uniq()}`;
  t.equal((await patient(() => ac.post(`/items/${id}/questions`, { body: qText }))).statusCode, 303, 'asked');
  const q = await app.db.listingQuestion.findFirstOrThrow({ where: { listingId: id } });
  const sc = await loggedIn(app, seller.email);
  await sc.get(`/items/${id}`);
  const aText = `판매자 답변 ${uniq()}`;
  t.equal((await patient(() => sc.post(`/questions/${q.id}/answer`, { answer: aText }))).statusCode, 303, 'answered');
  const anon = new Client(app);
  t.match((await anon.get(`/items/${id}`)).body, qText, 'the answered question is public');

  const rc = await loggedIn(app, reporter.email);
  t.equal((await report(rc, 'QUESTION', q.id)).statusCode, 303, 'reported');
  const queue = await mod.c.get(`/admin/reports?targetType=QUESTION&targetId=${q.id}`);
  t.equal(queue.statusCode, 200);
  t.match(queue.body, 'data-testid="act-hide"', 'the queue offers hide for a question');
  t.notMatch(queue.body, 'data-testid="act-restore"');

  const hide = await actAs(mod.c, { targetType: 'QUESTION', targetId: String(q.id), action: 'hide', note: '욕설' });
  t.equal(hide.statusCode, 303, 'hidden');
  const hiddenRow = await app.db.listingQuestion.findUniqueOrThrow({ where: { id: q.id } });
  t.ok(hiddenRow.hiddenAt, 'hidden_at set');
  t.equal(hiddenRow.body, qText, 'the text is kept (for a restore), only not shown');
  const [row] = await audits('moderation.question.hide', q.id);
  t.match(row, {
    actorId: mod.row.id,
    actorRole: 'MODERATOR',
    targetKind: 'question',
    reason: '욕설',
    before: { hiddenAt: null },
    after: { hiddenAt: hiddenRow.hiddenAt!.toISOString() },
  });
  t.equal(
    await app.db.report.count({ where: { targetKind: 'QUESTION', targetId: q.id, status: 'ACTIONED' } }),
    1,
    'the report is resolved',
  );

  for (const [c, who] of [
    [anon, 'anonymous'],
    [sc, 'the seller'],
    [ac, 'the asker'],
  ] as const) {
    const page = (await c.get(`/items/${id}`)).body;
    t.match(page, HIDDEN_KO, `${who}: the notice`);
    t.notMatch(page, qText, `${who}: not the question`);
    t.notMatch(page, aText, `${who}: not the answer`);
  }
  const en = (await new Client(app).get(`/items/${id}?lang=en`)).body;
  t.match(en, HIDDEN_EN, 'the notice in English');
  t.notMatch(en, qText);
  t.equal(
    (await rc.get(`/reports/new?targetType=QUESTION&targetId=${q.id}`)).statusCode,
    404,
    'a hidden question cannot be reported again',
  );

  const again = await actAs(mod.c, { targetType: 'QUESTION', targetId: String(q.id), action: 'hide', note: '또' });
  t.equal(again.statusCode, 409, 'hiding it twice: 409');
  t.equal((await audits('moderation.question.hide', q.id)).length, 1, 'and no second audit row');

  const restore = await actAs(mod.c, {
    targetType: 'QUESTION',
    targetId: String(q.id),
    action: 'restore',
    note: '오해였어요',
  });
  t.equal(restore.statusCode, 303, 'restored');
  t.equal((await app.db.listingQuestion.findUniqueOrThrow({ where: { id: q.id } })).hiddenAt, null);
  const [back] = await audits('moderation.question.restore', q.id);
  t.match(back, { before: { hiddenAt: hiddenRow.hiddenAt!.toISOString() }, after: { hiddenAt: null } });
  const page = (await anon.get(`/items/${id}`)).body;
  t.match(page, qText, 'shown again');
  t.notMatch(page, HIDDEN_KO);
  t.equal(
    (await actAs(mod.c, { targetType: 'QUESTION', targetId: String(q.id), action: 'restore', note: 'x' })).statusCode,
    409,
    'restoring a shown question: 409',
  );

  // Hide is for content: on a user it is 422 and changes nothing.
  const before = await app.db.auditLog.count();
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(asker.id), action: 'hide', note: 'x' })).statusCode,
    422,
    'hide on a user: 422',
  );
  t.equal(await app.db.auditLog.count(), before, 'no audit row');
});

t.test('a reported chat line: hidden and restored, audited, a notice in its place', async (t) => {
  const { buyer, order, bc, sc } = await wonOrder(app, config, '채팅 숨김 카메라');
  const text = `사기성 메시지 ${uniq()}`;
  await bc.get(`/orders/${order.id}`);
  t.equal((await patient(() => bc.post(`/orders/${order.id}/chat`, { body: text }))).statusCode < 400, true, 'sent');
  const m = await app.db.chatMessage.findFirstOrThrow({ where: { orderId: order.id, kind: 'TEXT' } });
  t.equal((await report(sc, 'MESSAGE', m.id, 'SCAM', '외부 거래 유도')).statusCode, 303, 'the seller reports it');

  const queue = await mod.c.get(`/admin/reports?targetType=MESSAGE&targetId=${m.id}`);
  t.match(queue.body, 'data-testid="act-hide"', 'the queue offers hide for a chat line');
  t.equal(
    (await actAs(mod.c, { targetType: 'MESSAGE', targetId: String(m.id), action: 'hide', note: '외부 거래 유도' }))
      .statusCode,
    303,
    'hidden',
  );
  const hidden = await app.db.chatMessage.findUniqueOrThrow({ where: { id: m.id } });
  t.ok(hidden.hiddenAt);
  const [row] = await audits('moderation.message.hide', m.id);
  t.match(row, {
    actorId: mod.row.id,
    targetKind: 'message',
    before: { hiddenAt: null },
    after: { hiddenAt: hidden.hiddenAt!.toISOString() },
  });
  for (const [c, who] of [
    [bc, 'the sender'],
    [sc, 'the other party'],
  ] as const) {
    const page = (await c.get(`/orders/${order.id}/chat`)).body;
    t.match(page, HIDDEN_KO, `${who}: the notice`);
    t.notMatch(page, text, `${who}: not the text`);
  }
  t.equal(
    (await sc.get(`/reports/new?targetType=MESSAGE&targetId=${m.id}`)).statusCode,
    404,
    'a hidden line cannot be reported again',
  );

  t.equal(
    (
      await actAs(mod.c, {
        targetType: 'MESSAGE',
        targetId: String(m.id),
        action: 'restore',
        note: '확인 결과 문제없음',
      })
    ).statusCode,
    303,
    'restored',
  );
  t.match(await audits('moderation.message.restore', m.id), [{ after: { hiddenAt: null } }]);
  t.match((await sc.get(`/orders/${order.id}/chat`)).body, text, 'shown again');
  t.equal(buyer.id, m.senderId);
});

t.test('warn, suspend and ban reach the inbox and the mailbox; a suspended user is refused everywhere', async (t) => {
  const bad = await user(app, config, 100_000, 'v');
  const reporter = await user(app, config, 0, 'r');
  const rc = await loggedIn(app, reporter.email);
  const inbox = (kind: string) => app.db.notification.findMany({ where: { userId: bad.id, kind } });

  await report(rc, 'USER', bad.id, 'ABUSE', '욕설');
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(bad.id), action: 'warn', note: '욕설 금지' }))
      .statusCode,
    303,
    'warned',
  );
  t.ok(await waitFor(async () => (await inbox('warning')).length === 1, 30_000), 'warning in the inbox');
  t.ok(await waitFor(async () => mailTo(bad.email).length === 1, 30_000), 'and by mail');
  t.match(mailTo(bad.email)[0].text, '욕설 금지', "the mail has the moderator's words");

  await report(rc, 'USER', bad.id, 'ABUSE', '또 욕설');
  t.equal(
    (
      await actAs(mod.c, {
        targetType: 'USER',
        targetId: String(bad.id),
        action: 'suspend',
        note: '반복된 욕설',
        days: '3',
      })
    ).statusCode,
    303,
    'suspended for 3 days',
  );
  const until = (await app.db.user.findUniqueOrThrow({ where: { id: bad.id } })).suspendedUntil!;
  t.ok(await waitFor(async () => (await inbox('suspended')).length === 1, 30_000), 'the suspension is in the inbox');
  t.match((await inbox('suspended'))[0].params, {
    excerpt: '반복된 욕설',
    until: until.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  });
  t.ok(await waitFor(async () => mailTo(bad.email).length === 2, 30_000), 'and by mail');
  const sMail = mailTo(bad.email)[1];
  t.match(sMail.subject, '정지', 'the subject says suspended');
  t.match(sMail.text, '반복된 욕설', 'with the reason');
  t.match(sMail.text, until.toISOString().slice(0, 10), 'and until when');
  const loginRes = await patient(() => new Client(app).login(bad.email, PASSWORD));
  t.equal(loginRes.statusCode, 403, 'cannot log in');

  // A session that outlived the suspension (it started before it, on an instance that did not end it)
  // is refused at every write: the restriction is read from the database each time.
  await app.db.user.update({ where: { id: bad.id }, data: { suspendedUntil: null } });
  const { order, bc } = await wonOrderAsBuyer(bad.email);
  const live = await auction(app, { sellerId: reporter.id, startPrice: 10_000 });
  const bc2 = await loggedIn(app, bad.email);
  await bc2.get(`/items/${live}`);
  await bc2.get('/sell');
  await bc.get(`/orders/${order.id}`);
  await app.db.user.update({ where: { id: bad.id }, data: { suspendedUntil: until } });

  const b = await bid(bc2, live, 20_000);
  t.equal(b.statusCode, 403, 'bid: 403');
  t.equal(await app.db.bid.count({ where: { auctionId: live } }), 0, 'no bid stored');
  const cat = await phonesCategory(app);
  const listingsBefore = await app.db.listing.count({ where: { sellerId: bad.id } });
  const sell = await postMultipart(bc2, '/sell', validFields(cat, { title: `정지 중 등록 ${uniq()}` }));
  t.equal(sell.statusCode, 403, 'list: 403');
  t.equal(await app.db.listing.count({ where: { sellerId: bad.id } }), listingsBefore, 'no listing stored');
  const linesBefore = await app.db.chatMessage.count({ where: { orderId: order.id } });
  const chat = await bc.post(`/orders/${order.id}/chat`, { body: '안녕하세요' });
  t.equal(chat.statusCode, 403, 'chat: 403');
  t.equal(await app.db.chatMessage.count({ where: { orderId: order.id } }), linesBefore, 'no line stored');

  // An admin bans: the user is told, in the inbox and by mail.
  await report(rc, 'USER', bad.id, 'SCAM', '사기');
  t.equal(
    (await actAs(admin.c, { targetType: 'USER', targetId: String(bad.id), action: 'ban', note: '사기 확인' }))
      .statusCode,
    303,
    'banned',
  );
  t.ok(await waitFor(async () => (await inbox('banned')).length === 1, 30_000), 'the ban is in the inbox');
  t.match((await inbox('banned'))[0].params, { excerpt: '사기 확인' });
  t.ok(await waitFor(async () => mailTo(bad.email).some((m) => m.text.includes('사기 확인')), 30_000), 'and by mail');
  t.equal((await patient(() => new Client(app).login(bad.email, PASSWORD))).statusCode, 403, 'cannot log in');
  // The ban also ended their sessions (accounts' user.restricted): refused as logged out, or 403; nothing stored.
  const refused = (r: { statusCode: number; headers: Record<string, unknown> }) =>
    r.statusCode === 401 ||
    r.statusCode === 403 ||
    (r.statusCode === 303 && /^\/login/.test(String(r.headers.location)));
  const b2 = await bid(bc2, live, 21_000);
  t.ok(refused(b2), `banned: bid refused (${b2.statusCode})`);
  t.equal(await app.db.bid.count({ where: { auctionId: live } }), 0, 'no bid stored');
  const s2 = await postMultipart(bc2, '/sell', validFields(cat));
  t.ok(refused(s2), `banned: list refused (${s2.statusCode})`);
  t.equal(await app.db.listing.count({ where: { sellerId: bad.id } }), listingsBefore, 'no listing stored');
  const c2 = await bc.post(`/orders/${order.id}/chat`, { body: '다시' });
  t.ok(refused(c2), `banned: chat refused (${c2.statusCode})`);
  t.equal(await app.db.chatMessage.count({ where: { orderId: order.id } }), linesBefore, 'no line stored');
});

/** An order the given (existing, unrestricted) user bought now, with a logged-in client of theirs. */
async function wonOrderAsBuyer(email: string) {
  const seller = await user(app, config, 0, 's');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: 30_000 });
  const bc = await loggedIn(app, email);
  await bc.get(`/items/${id}/bid-panel`);
  const r = await patient(() => bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' }));
  if (r.statusCode >= 400) throw new Error(`buy-now failed ${r.statusCode}`);
  let order = null as Awaited<ReturnType<typeof app.db.order.findFirst>>;
  await waitFor(async () => !!(order = await app.db.order.findFirst({ where: { auctionId: id } })), 20_000);
  if (!order) throw new Error('no order');
  return { order, bc };
}
