/**
 * Reports and moderation with the real app (PostgreSQL, Redis, BullMQ workers, the outbox relay):
 * the report form and POST /reports (strict target, 404 for what the reporter cannot see, not
 * yourself, one open report per reporter and target, the text limit, the rate limit); the
 * moderator queue and every action (hide a LIVE auction with real bids: forceCancel releases the
 * leader's hold, the bidders are notified, the listing is 404 to the public and gone from search;
 * restore; warn; suspend: the user's live auctions cancelled and holds released while their open
 * order goes on; ban is ADMIN only; dismiss), each with one audit row and the reports resolved.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { auction, balances, bid, loggedIn, user, waitFor, PASSWORD } from '../helpers/auction.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { biddingApi } from '../../src/modules/bidding/index.js';
import { transaction } from '../../src/core/db/index.js';
import { uniq } from '../helpers/env.js';
import type { App } from '../../src/app.js';

const { app, config } = await startApp(t);

/** Retries a request the loaded machine shed with 503 (it changed nothing). */
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

const notes = (a: App, userId: number, kind: string) =>
  a.db.notification.findMany({ where: { userId, kind }, orderBy: { id: 'asc' } });

async function report(c: Client, kind: string, id: number, reason = 'SCAM', text = '사기 같아요') {
  await c.get(`/reports/new?targetType=${kind}&targetId=${id}`);
  return patient(() => c.post('/reports', { targetType: kind, targetId: String(id), reason, text }));
}

const mod = await staff('MODERATOR');
const admin = await staff('ADMIN');

async function actAs(c: Client, form: Record<string, string>) {
  await c.get('/admin/reports');
  return patient(() => c.post('/admin/reports/act', form));
}

t.test('the report form and POST /reports', async (t) => {
  const seller = await user(app, config, 0, 's');
  const reporter = await user(app, config, 0, 'r');
  const id = await auction(app, { sellerId: seller.id, title: `신고 대상 ${uniq()}` });
  const rc = await loggedIn(app, reporter.email);
  const sc = await loggedIn(app, seller.email);

  const anon = new Client(app);
  const a = await anon.get(`/reports/new?targetType=LISTING&targetId=${id}`);
  t.equal(a.statusCode, 303, 'anonymous: to the login form');
  t.match(String(a.headers.location), /^\/login/);

  const item = await rc.get(`/items/${id}`);
  t.match(
    item.body,
    new RegExp(`href="/reports/new\\?targetType=LISTING&amp;targetId=${id}"`),
    'the item page has 신고',
  );
  t.match(item.body, /data-testid="report-seller"/, 'and a link to report the seller');
  t.notMatch((await sc.get(`/items/${id}`)).body, /data-testid="report-listing"/, 'not for its own seller');

  for (const [q, code] of [
    ['targetType=THING&targetId=1', 400],
    ['targetType=LISTING&targetId=abc', 400],
    ['targetType=LISTING&targetId=012', 400],
    ['targetType=LISTING&targetId=0', 400],
    ['targetType=LISTING&targetId=99999999999', 400],
    ['targetType=listing&targetId=1', 400],
    ['targetType=LISTING&targetId=2147483000', 404],
    ['targetType=USER&targetId=2147483000', 404],
    ['targetType=QUESTION&targetId=2147483000', 404],
  ] as const)
    t.equal((await rc.get(`/reports/new?${q}`)).statusCode, code, `${q}: ${code}`);
  t.equal((await rc.get('/reports/new')).statusCode, 400, 'no target: 400');

  const form = await rc.get(`/reports/new?targetType=LISTING&targetId=${id}`);
  t.equal(form.statusCode, 200);
  t.match(form.body, /name="reason" value="PROHIBITED"/, 'the reason list');
  t.match(form.body, /data-testid="report-target"/);
  t.equal(
    (await sc.get(`/reports/new?targetType=LISTING&targetId=${id}`)).statusCode,
    422,
    'a seller cannot report their own listing',
  );
  t.equal(
    (await rc.get(`/reports/new?targetType=USER&targetId=${reporter.id}`)).statusCode,
    422,
    'nor anyone themselves',
  );

  const count = () => app.db.report.count({ where: { targetKind: 'LISTING', targetId: id } });
  const long = await report(rc, 'LISTING', id, 'SCAM', '가'.repeat(1001));
  t.equal(long.statusCode, 422, '1,001 characters: 422');
  t.match(long.body, /최대 1000자/, 'with the limit said');
  t.equal((await report(rc, 'LISTING', id, 'NOT_A_REASON')).statusCode, 422, 'a reason off the list: 422');
  t.equal((await report(rc, 'LISTING', id, 'OTHER', '  ')).statusCode, 422, '"other" needs a text');
  t.equal((await report(rc, 'LISTING', id, 'SCAM', 'bad\u0007bell')).statusCode, 400, 'control characters: 400');
  t.equal(await count(), 0, 'nothing stored by the refused ones');

  const ok = await report(rc, 'LISTING', id, 'PROHIBITED', '총기류 같아요');
  t.equal(ok.statusCode, 303, 'reported');
  t.equal(ok.headers.location, `/items/${id}`, 'back to the listing');
  const row = await app.db.report.findFirstOrThrow({ where: { targetKind: 'LISTING', targetId: id } });
  t.match(row, { reporterId: reporter.id, reason: 'PROHIBITED', text: '총기류 같아요', status: 'OPEN' });
  const dup = await report(rc, 'LISTING', id, 'SCAM', '또 신고');
  t.equal(dup.statusCode, 409, 'a second open report on the same target: 409');
  t.match(dup.body, /이미 신고한 대상이에요/, 'with a clear answer');
  t.equal(await count(), 1, 'and no duplicate row');
  t.equal(
    (await patient(() => sc.post('/reports', { targetType: 'LISTING', targetId: String(id), reason: 'SCAM' })))
      .statusCode,
    422,
    'POST: not your own listing either',
  );

  // A user and a question: each resolved by its module.
  t.equal((await report(rc, 'USER', seller.id, 'ABUSE', '욕을 해요')).statusCode, 303, 'a user is reported');
  const asker = await user(app, config, 0, 'q');
  const hidden = await app.db.listingQuestion.create({
    data: { listingId: id, askerId: asker.id, sellerId: seller.id, body: '비공개 질문' },
  });
  const open = await app.db.listingQuestion.create({
    data: {
      listingId: id,
      askerId: asker.id,
      sellerId: seller.id,
      body: '공개 질문',
      answer: '네',
      answeredAt: new Date(),
    },
  });
  // Written straight to the database, not through the ask/answer routes that drop the item's cached
  // pages (its shared logged-in body included): drop them as those routes do.
  app.pageCache.invalidateItem(id);
  t.equal(
    (await rc.get(`/reports/new?targetType=QUESTION&targetId=${hidden.id}`)).statusCode,
    404,
    'an unanswered question the reporter cannot see: 404',
  );
  t.match((await rc.get(`/items/${id}`)).body, /data-testid="report-question"/, 'public Q&A entries have 신고');
  t.equal((await report(rc, 'QUESTION', open.id, 'SPAM', '광고')).statusCode, 303, 'an answered question is reported');

  // The rate limit is per user: 10 reports in 10 minutes, the 11th is 429.
  const flooder = await user(app, config, 0, 'f');
  const fc = await loggedIn(app, flooder.email);
  await fc.get(`/reports/new?targetType=LISTING&targetId=${id}`);
  const codes: number[] = [];
  for (let i = 0; i < 11; i++)
    codes.push(
      (await fc.post('/reports', { targetType: 'LISTING', targetId: String(id), reason: 'SPAM', text: `${i}` }))
        .statusCode,
    );
  t.same(codes.slice(0, 2), [303, 409], 'the first is stored, the second is the duplicate answer');
  t.equal(codes[10], 429, 'the 11th within 10 minutes: 429');
});

t.test('forceCancel with real bids releases the hold and names every bidder', async (t) => {
  const seller = await user(app, config, 0, 's');
  const [b1, b2] = [await user(app, config, 100_000, 'x'), await user(app, config, 100_000, 'y')];
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  t.equal((await bid(await loggedIn(app, b1.email), id, 20_000)).statusCode, 200, 'b1 bids');
  t.equal((await bid(await loggedIn(app, b2.email), id, 30_000)).statusCode, 200, 'b2 outbids');
  t.equal((await balances(app, b2.id)).held, 30_000, 'the leader holds their maximum');
  const c = await transaction(app.db, (tx) => biddingApi(app.db, app.events).withTx(tx).forceCancel(id));
  t.ok(c, 'cancelled');
  t.same(
    c!.bidderIds,
    [b1.id, b2.id].sort((x, y) => x - y),
    'every bidder named',
  );
  t.equal(c!.releasedHoldRef !== null, true, "the leader's hold ref");
  t.same(await balances(app, b2.id), { available: 100_000, held: 0 }, "the leader's points are free");
  t.same(await balances(app, b1.id), { available: 100_000, held: 0 }, 'and the outbid bidder holds nothing');
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id } })).status, 'CANCELLED');
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).status, 'CANCELLED', "catalog's copy follows");
  t.equal(
    await transaction(app.db, (tx) => biddingApi(app.db, app.events).withTx(tx).forceCancel(id)),
    null,
    'a second time: nothing open',
  );
  t.equal((await bid(await loggedIn(app, b1.email), id, 40_000)).statusCode >= 400, true, 'no bid after it');
});

t.test('the queue: hide a LIVE auction, restore, dismiss', async (t) => {
  const seller = await user(app, config, 0, 's');
  const [b1, b2] = [await user(app, config, 100_000, 'x'), await user(app, config, 100_000, 'y')];
  const title = `숨김 경매 ${uniq()}`;
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, title });
  await bid(await loggedIn(app, b1.email), id, 20_000);
  await bid(await loggedIn(app, b2.email), id, 30_000);
  const r1 = await user(app, config, 0, 'r');
  const r2 = await user(app, config, 0, 'r');
  await report(await loggedIn(app, r1.email), 'LISTING', id, 'PROHIBITED', '금지 물품');
  await report(await loggedIn(app, r2.email), 'LISTING', id, 'SCAM', '');

  const q = await mod.c.get('/admin/reports');
  t.equal(q.statusCode, 200);
  t.match(q.body, new RegExp(`data-target="LISTING:${id}"`), 'the target is in the queue');
  t.match(q.body, new RegExp(title), 'with its summary');
  t.match(q.body, /열린 신고 2건/, 'grouped: two reports, one entry');
  t.match(q.body, /data-testid="act-hide"/);
  t.notMatch(q.body, /data-testid="act-ban"/, 'a moderator is not offered the ban');

  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(id), action: 'hide' })).statusCode,
    422,
    'a reason is required',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(id), action: 'explode', note: 'x' })).statusCode,
    422,
    'an unknown action: 422',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: '2147483000', action: 'hide', note: 'x' })).statusCode,
    404,
    'an unknown target: 404',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(seller.id), action: 'hide', note: 'x' })).statusCode,
    422,
    'hide is for listings',
  );
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).hiddenAt, null, 'nothing changed so far');

  const hide = await actAs(mod.c, {
    targetType: 'LISTING',
    targetId: String(id),
    action: 'hide',
    note: '총포 판매 금지',
  });
  t.equal(hide.statusCode, 303, 'hidden');
  const l = await app.db.listing.findUniqueOrThrow({ where: { id } });
  t.ok(l.hiddenAt, 'hidden_at set');
  t.equal(
    (await app.db.auction.findUniqueOrThrow({ where: { id } })).status,
    'CANCELLED',
    'the LIVE auction is cancelled',
  );
  t.same(await balances(app, b2.id), { available: 100_000, held: 0 }, "the leader's hold is released");
  t.same(await balances(app, b1.id), { available: 100_000, held: 0 }, 'the other bidder holds nothing');
  const reps = await app.db.report.findMany({ where: { targetKind: 'LISTING', targetId: id } });
  t.same(
    reps.map((r) => [r.status, r.resolution, r.resolvedById, r.resolutionNote, r.openKey, Boolean(r.resolvedAt)]),
    reps.map(() => ['ACTIONED', 'hide', mod.row.id, '총포 판매 금지', null, true]),
    'both reports resolved with who, when, what and why',
  );
  const rows = await app.db.auditLog.findMany({ where: { targetKind: 'listing', targetId: String(id) } });
  t.equal(rows.length, 1, 'one audit row');
  t.match(rows[0], {
    action: 'moderation.listing.hide',
    actorId: mod.row.id,
    actorRole: 'MODERATOR',
    reason: '총포 판매 금지',
    before: { hiddenAt: null, status: 'LIVE' },
    after: { status: 'CANCELLED', cancelledAuction: { bidderIds: [b1.id, b2.id].sort((x, y) => x - y) } },
  });
  t.ok(rows[0].requestId && rows[0].ip, 'with request id and address');
  t.ok(
    await waitFor(
      async () =>
        (await notes(app, b1.id, 'cancelled')).length === 1 && (await notes(app, b2.id, 'cancelled')).length === 1,
      20_000,
    ),
    'both bidders are notified (durable auction.cancelled)',
  );
  t.match((await notes(app, b1.id, 'cancelled'))[0].params, { title });

  // Gone for the public, there for staff and the seller.
  t.equal((await new Client(app).get(`/items/${id}`)).statusCode, 404, 'anonymous: 404');
  t.equal((await (await loggedIn(app, r1.email)).get(`/items/${id}`)).statusCode, 404, 'another user: 404');
  t.equal((await mod.c.get(`/items/${id}`)).statusCode, 200, 'a moderator still sees it');
  const own = await (await loggedIn(app, seller.email)).get(`/items/${id}`);
  t.equal(own.statusCode, 200, 'its seller too');
  t.match(own.body, /data-testid="detail-hidden"/, 'with the notice');
  const search = await new Client(app).get(`/search?q=${encodeURIComponent(title)}`);
  t.notMatch(search.body, new RegExp(`/items/${id}"`), 'search does not find it');
  t.notMatch(
    (await new Client(app).get(`/sellers/${seller.id}`)).body,
    new RegExp(`/items/${id}"`),
    'nor the seller page',
  );
  t.equal(
    (await (await loggedIn(app, r1.email)).get(`/reports/new?targetType=LISTING&targetId=${id}`)).statusCode,
    404,
    'nor can it be reported',
  );
  t.notMatch(
    (await mod.c.get('/admin/reports')).body,
    new RegExp(`data-target="LISTING:${id}"`),
    'the queue is empty of it',
  );

  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(id), action: 'hide', note: 'again' })).statusCode,
    409,
    'hiding twice: 409',
  );
  const focus = await mod.c.get(`/admin/reports?targetType=LISTING&targetId=${id}`);
  t.match(focus.body, /data-testid="act-restore"/, 'a target opens without open reports, to restore it');
  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(id), action: 'restore', note: '오해였어요' }))
      .statusCode,
    303,
    'restored',
  );
  t.equal((await app.db.listing.findUniqueOrThrow({ where: { id } })).hiddenAt, null);
  const restore = await app.db.auditLog.findFirstOrThrow({
    where: { action: 'moderation.listing.restore', targetId: String(id) },
  });
  t.match(restore, { before: { status: 'CANCELLED' }, after: { hiddenAt: null }, reason: '오해였어요' });

  // Dismiss: the reports close, the listing stays.
  const other = await auction(app, { sellerId: seller.id });
  await report(await loggedIn(app, r1.email), 'LISTING', other, 'SPAM', '도배');
  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(other), action: 'dismiss', note: '문제 없음' }))
      .statusCode,
    303,
  );
  t.match(await app.db.report.findFirstOrThrow({ where: { targetKind: 'LISTING', targetId: other } }), {
    status: 'DISMISSED',
    resolution: 'dismiss',
    resolvedById: mod.row.id,
  });
  t.equal(
    (await app.db.listing.findUniqueOrThrow({ where: { id: other } })).hiddenAt,
    null,
    'the listing is untouched',
  );
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id: other } })).status, 'LIVE', 'its auction too');
  t.ok(
    await app.db.auditLog.findFirst({ where: { action: 'moderation.report.dismiss', targetId: String(other) } }),
    'audited',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'LISTING', targetId: String(other), action: 'dismiss', note: 'x' })).statusCode,
    409,
    'nothing left to dismiss: 409',
  );
});

t.test('warn, suspend (live auctions cancelled, the open order goes on), ban for admins only', async (t) => {
  const bad = await user(app, config, 0, 'v');
  const buyer = await user(app, config, 100_000, 'k');
  const bidder = await user(app, config, 100_000, 'w');
  const reporter = await user(app, config, 0, 'r');
  const rc = await loggedIn(app, reporter.email);
  const badClient = await loggedIn(app, bad.email);

  // An order of the seller's that is under way: a buy-now win.
  const sold = await auction(app, { sellerId: bad.id, startPrice: 10_000, buyNowPrice: 20_000 });
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${sold}/bid-panel`);
  t.ok((await bc.post(`/items/${sold}/buy-now`, {}, { 'hx-request': 'true' })).statusCode < 400, 'bought now');
  let order = null as Awaited<ReturnType<typeof app.db.order.findFirst>>;
  t.ok(
    await waitFor(async () => !!(order = await app.db.order.findFirst({ where: { auctionId: sold } })), 20_000),
    'the order exists',
  );
  // And a LIVE auction with a bid.
  const live = await auction(app, { sellerId: bad.id, startPrice: 10_000 });
  await bid(await loggedIn(app, bidder.email), live, 25_000);
  t.equal((await balances(app, bidder.id)).held, 25_000);

  await report(rc, 'USER', bad.id, 'ABUSE', '욕설');
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(bad.id), action: 'warn', note: '욕설은 안 돼요.' }))
      .statusCode,
    303,
    'warned',
  );
  t.ok(
    await waitFor(async () => (await notes(app, bad.id, 'warning')).length === 1, 20_000),
    'the warning is in their inbox',
  );
  t.match((await notes(app, bad.id, 'warning'))[0].params, { excerpt: '욕설은 안 돼요.' });
  t.ok(
    await app.db.auditLog.findFirst({ where: { action: 'moderation.user.warn', targetId: String(bad.id) } }),
    'audited',
  );

  await report(rc, 'USER', bad.id, 'ABUSE', '또 욕설');
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(bad.id), action: 'suspend', note: '반복', days: '0' }))
      .statusCode,
    422,
    '0 days: 422',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(bad.id), action: 'suspend', note: '반복', days: '366' }))
      .statusCode,
    422,
    '366 days: 422',
  );
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(bad.id), action: 'ban', note: '반복' })).statusCode,
    403,
    'a moderator may not ban (ADMIN only)',
  );
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: bad.id } })).bannedAt, null, 'nothing changed');
  t.equal(
    (await actAs(mod.c, { targetType: 'USER', targetId: String(mod.row.id), action: 'suspend', note: 'x', days: '1' }))
      .statusCode,
    422,
    'not yourself',
  );

  const sus = await actAs(mod.c, {
    targetType: 'USER',
    targetId: String(bad.id),
    action: 'suspend',
    note: '반복된 욕설',
    days: '7',
  });
  t.equal(sus.statusCode, 303, 'suspended for 7 days');
  const u = await app.db.user.findUniqueOrThrow({ where: { id: bad.id } });
  t.ok(u.suspendedUntil && u.suspendedUntil.getTime() > Date.now() + 6.9 * 86_400_000, 'until 7 days from now');
  t.equal(
    (await app.db.auction.findUniqueOrThrow({ where: { id: live } })).status,
    'CANCELLED',
    'their LIVE auction is cancelled',
  );
  t.same(await balances(app, bidder.id), { available: 100_000, held: 0 }, "its bidder's hold is released");
  const o = await app.db.order.findUniqueOrThrow({ where: { id: order!.id } });
  t.equal(o.state, order!.state, 'their open order goes on, in the same state');
  t.equal(o.sellerId, bad.id);
  const row = await app.db.auditLog.findFirstOrThrow({
    where: { action: 'accounts.user.suspend', targetId: String(bad.id) },
  });
  t.match(row, {
    actorId: mod.row.id,
    reason: '반복된 욕설',
    before: { suspendedUntil: null },
    after: { cancelledAuctions: [{ auctionId: live }] },
  });
  t.equal(
    await app.db.report.count({ where: { targetKind: 'USER', targetId: bad.id, status: 'OPEN' } }),
    0,
    'the reports are resolved',
  );
  t.ok(
    await waitFor(async () => (await notes(app, bidder.id, 'cancelled')).length === 1, 20_000),
    'the bidder is notified',
  );

  // Refused everywhere: login, the session they had, bid, list.
  t.equal((await patient(() => new Client(app).login(bad.email, PASSWORD))).statusCode, 403, 'cannot log in');
  const other = await auction(app, { sellerId: buyer.id });
  t.ok((await bid(badClient, other, 30_000)).statusCode >= 400, 'cannot bid (the old session ended or is refused)');
  t.equal(await app.db.bid.count({ where: { auctionId: other } }), 0, 'no bid stored');

  // An admin bans.
  await report(rc, 'USER', bad.id, 'SCAM', '사기');
  t.equal(
    (await actAs(admin.c, { targetType: 'USER', targetId: String(bad.id), action: 'ban', note: '사기 확인' }))
      .statusCode,
    303,
    'an admin bans',
  );
  t.ok((await app.db.user.findUniqueOrThrow({ where: { id: bad.id } })).bannedAt, 'banned');
  t.ok(
    await app.db.auditLog.findFirst({
      where: { action: 'accounts.user.ban', targetId: String(bad.id), actorId: admin.row.id },
    }),
    'audited',
  );
});

t.test('the dashboard counts open reports and orders by state', async (t) => {
  const r = await user(app, config, 0, 'r');
  const target = await user(app, config, 0, 't');
  await report(await loggedIn(app, r.email), 'USER', target.id, 'SPAM', '광고');
  const open = await app.db.report.count({ where: { status: 'OPEN' } });
  const dash = await mod.c.get('/admin/dashboard/stats');
  t.equal(dash.statusCode, 200);
  t.match(
    dash.body,
    new RegExp(`data-testid="stat-reports"><a href="/admin/reports">${open}</a>`),
    `open reports: ${open}`,
  );
  const waiting = await app.db.order.count({ where: { state: 'AWAITING_ADDRESS' } });
  t.match(
    dash.body,
    new RegExp(`data-testid="orders-AWAITING_ADDRESS">${waiting}<`),
    `orders awaiting an address: ${waiting}`,
  );
  t.match(dash.body, /data-testid="orders-DISPUTED">\d+</, 'every state is listed');
  t.match((await mod.c.get('/admin')).body, /href="\/admin\/reports"/, 'the queue is in the admin menu');
});
