/**
 * Account basics (issue 15 item 6): edit the nickname and profile photo, change the password
 * (current one required; other sessions end, this one stays), delete the account (refused with
 * the reason while holds, escrow, open orders or running auctions exist; otherwise personal data
 * erased and trade records kept anonymised; the e-mail may sign up again), and sign-up consent
 * recorded with the terms version and time.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { TERMS_VERSION } from '../../src/modules/site/index.js';
import { accountsApi } from '../../src/modules/accounts/index.js';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import { user, auction, loggedIn, bid, waitFor, PASSWORD } from '../helpers/auction.js';
import { catalogApp, jpeg, SVG, postMultipart } from '../helpers/catalog.js';

const NEW_PASSWORD = 'violet harbour lantern 58';

const avatar = (data: Buffer, filename = 'me.jpg', type = 'image/jpeg') => ({
  name: 'photo',
  filename,
  type,
  data,
});

/** The page answers with the way to the login form: the session is gone. */
async function loggedOut(c: Client, url = '/me') {
  const r = await c.get(url);
  return r.statusCode === 303 && String(r.headers.location).startsWith('/login');
}

t.test('edit profile: nickname by the sign-up rules, photo through validation and resizing', async (t) => {
  const { app, config, storageDir } = await catalogApp(t);
  const me = await user(app, config, 0, 'pf');
  const other = await user(app, config, 0, 'po');
  const c = await loggedIn(app, me.email);

  const page = await c.get('/me');
  t.match(page.body, 'href="/me/edit"', '/me links to the edit page');
  t.match(page.body, 'href="/me/password"');
  t.match(page.body, 'href="/me/delete"');
  const hub = await c.get('/my');
  t.match(hub.body, 'data-testid="hub-profile-edit"', 'the my-page hub links to it too');
  t.match(hub.body, 'href="/me/delete"');

  t.equal((await c.get('/me/edit')).statusCode, 200);
  const one = await c.post('/me/nickname', { nickname: '가' });
  t.equal(one.statusCode, 422, 'a 1-letter nickname is refused');
  t.match(one.body, '닉네임은 2자 이상이어야 해요');
  const taken = await c.post('/me/nickname', { nickname: other.nickname });
  t.equal(taken.statusCode, 422, "another member's nickname is refused");
  t.match(taken.body, '이미 사용 중인 닉네임이에요');
  const bad = await c.post('/me/nickname', { nickname: 'a b!' });
  t.equal(bad.statusCode, 422);
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).nickname, me.nickname, 'unchanged');
  const noCsrf = await c.post('/me/nickname', { nickname: `새이름${uniq()}`, _csrf: null });
  t.equal(noCsrf.statusCode, 403, 'no CSRF token: refused');

  const nick = `새닉${uniq()}`;
  const ok = await c.post('/me/nickname', { nickname: nick });
  t.equal(ok.statusCode, 303);
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).nickname, nick);
  const after = await c.get('/me');
  t.match(after.body, '닉네임을 바꿨어요', 'flash');
  t.match(after.body, nick, 'the header and profile show the new nickname');

  // Photos: validated by their bytes, re-encoded to a 256 px WebP square.
  await c.get('/me/edit');
  const svg = await postMultipart(c, '/me/photo', [], [avatar(SVG, 'x.svg', 'image/svg+xml')]);
  t.equal(svg.statusCode, 422, 'SVG refused');
  t.match(svg.body, '사진 파일이 아니에요');
  const text = await postMultipart(c, '/me/photo', [], [avatar(Buffer.from('not an image'), 'a.jpg')]);
  t.equal(text.statusCode, 422, 'bytes that are no image: refused whatever the name says');
  const big = await postMultipart(c, '/me/photo', [], [avatar(Buffer.alloc(6 * 1024 * 1024, 1), 'big.jpg')]);
  t.equal(big.statusCode, 413, 'over 5 MB refused');
  const empty = await postMultipart(c, '/me/photo', [], []);
  t.equal(empty.statusCode, 422, 'no file: refused');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey, null, 'nothing stored');
  const forged = await postMultipart(c, '/me/photo', [], [avatar(await jpeg(800, 600))], {});
  t.equal(forged.statusCode, 303, 'a real photo is taken');
  const key1 = (await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey!;
  t.match(key1, /^avatars\/[0-9a-f-]{36}\.webp$/);
  t.ok(existsSync(path.join(storageDir, key1)), 'the file is in storage');
  const media = await c.app.inject({ method: 'GET', url: `/media/${key1}` });
  t.equal(media.statusCode, 200, 'served by /media/');
  const meta = await sharp(media.rawPayload).metadata();
  t.same([meta.format, meta.width, meta.height], ['webp', 256, 256], 'resized to a 256 px WebP square');
  t.match((await c.get('/me')).body, `src="/media/${key1}"`, '/me shows it');

  await c.get('/me/edit');
  const second = await postMultipart(c, '/me/photo', [], [avatar(await jpeg(300, 900, { r: 1, g: 2, b: 200 }))]);
  t.equal(second.statusCode, 303);
  const key2 = (await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey!;
  t.not(key2, key1);
  t.notOk(existsSync(path.join(storageDir, key1)), 'the previous file is removed');

  // Without a CSRF token a multipart post is refused before any file is read.
  const anonLike = new Client(app);
  anonLike.cookies = new Map(c.cookies);
  anonLike.csrf = 'forged';
  const noToken = await postMultipart(anonLike, '/me/photo', [], [avatar(await jpeg())]);
  t.equal(noToken.statusCode, 403, 'multipart without a valid token: 403');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey, key2, 'unchanged');

  await c.get('/me/edit');
  t.equal((await c.post('/me/photo/delete', {})).statusCode, 303);
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey, null);
  t.notOk(existsSync(path.join(storageDir, key2)), 'removed photo: file gone');

  const anon = new Client(app);
  t.ok(await loggedOut(anon, '/me/edit'), 'logged out: to the login form');
});

t.test('change password: current one required, the sign-up rule, other sessions end', async (t) => {
  const { app, config } = await startApp(t);
  const me = await user(app, config, 0, 'pw');
  const here = await loggedIn(app, me.email);
  const phone = await loggedIn(app, me.email);
  const laptop = await loggedIn(app, me.email);
  const hash0 = (await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).passwordHash;

  await here.get('/me/password');
  const wrong = await here.post('/me/password', { current: 'not my password at all', password: NEW_PASSWORD });
  t.equal(wrong.statusCode, 422, 'wrong current password: 422');
  t.match(wrong.body, '현재 비밀번호가 맞지 않아요');
  const weak = await here.post('/me/password', { current: PASSWORD, password: 'password12' });
  t.equal(weak.statusCode, 422, 'a weak new password: 422');
  t.match(weak.body, /비밀번호/);
  const same = await here.post('/me/password', { current: PASSWORD, password: PASSWORD });
  t.equal(same.statusCode, 422, 'the same password again: 422');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).passwordHash, hash0, 'nothing changed');
  t.equal((await phone.get('/me')).statusCode, 200, 'the other sessions still live after refusals');

  const hx = await here.post(
    '/me/password',
    { current: 'still wrong pw!!', password: NEW_PASSWORD },
    {
      'hx-request': 'true',
    },
  );
  t.equal(hx.statusCode, 422);
  t.match(hx.body, /^<form/, 'htmx gets the form only');

  const ok = await here.post('/me/password', { current: PASSWORD, password: NEW_PASSWORD });
  t.equal(ok.statusCode, 303, 'changed');
  const mine = await here.get('/me');
  t.equal(mine.statusCode, 200, 'this session stays');
  t.match(mine.body, '다른 기기에서는 모두 로그아웃되었어요');
  t.ok(await loggedOut(phone), 'another session ended');
  t.ok(await loggedOut(laptop), 'and another');
  t.equal((await new Client(app).login(me.email, PASSWORD)).statusCode, 422, 'the old password no longer works');
  t.equal((await new Client(app).login(me.email, NEW_PASSWORD)).statusCode, 303, 'the new one does');
  // This session is still known: a later password reset would end it too.
  t.equal(await app.redis.scard(`${config.redisPrefix}:user-sessions:${me.id}`), 2, 'this one and the new login');
});

/** A buy-now win: buyer with escrow and an open order, seller with an open order. */
async function wonOrder(app: App, config: Config) {
  const seller = await user(app, config, 0, 'ds');
  const buyer = await user(app, config, 100_000, 'db');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: 50_000 });
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${id}/bid-panel`);
  const r = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  if (r.statusCode >= 400) throw new Error(`buy-now failed ${r.statusCode}`);
  if (!(await waitFor(async () => !!(await app.db.order.findFirst({ where: { auctionId: id } })), 15_000)))
    throw new Error('no order');
  return { seller, buyer, bc };
}

async function tryDelete(c: Client, password = PASSWORD) {
  await c.get('/me/delete');
  return c.post('/me/delete', { password, confirm: '1' });
}

t.test('delete account: refused with the reason while holds, escrow, open orders or auctions exist', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });

  // A bid holds points.
  const seller = await user(app, config, 0, 'hs');
  const bidder = await user(app, config, 100_000, 'hb');
  const auctionId = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const bc = await loggedIn(app, bidder.email);
  t.ok((await bid(bc, auctionId, 20_000)).statusCode < 400, 'bid placed');
  const page = await bc.get('/me/delete');
  t.match(page.body, '입찰에 묶인 포인트 20,000원이 있어요', 'the page says why before anything is typed');
  const held = await tryDelete(bc);
  t.equal(held.statusCode, 409, 'holds: refused');
  t.match(held.body, '입찰에 묶인 포인트 20,000원이 있어요');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: bidder.id } })).email, bidder.email, 'nothing erased');
  t.equal((await bc.get('/me')).statusCode, 200, 'still logged in');

  // The seller has an auction running.
  const sc = await loggedIn(app, seller.email);
  const selling = await tryDelete(sc);
  t.equal(selling.statusCode, 409, 'running auction: refused');
  t.match(selling.body, '판매 중이거나 예정된 경매가 1건 있어요');

  // A buy-now win: escrow and an open order for the buyer, an open order for the seller.
  const w = await wonOrder(app, config);
  const buyer = await tryDelete(w.bc);
  t.equal(buyer.statusCode, 409, 'escrow and open order: refused');
  t.match(buyer.body, '에스크로에 보관 중인 포인트 50,000원이 있어요');
  t.match(buyer.body, '진행 중인 거래가 1건 있어요');
  const ws = await loggedIn(app, w.seller.email);
  const sold = await tryDelete(ws);
  t.equal(sold.statusCode, 409, "the seller's open order: refused");
  t.match(sold.body, '진행 중인 거래가 1건 있어요');
  t.equal(await app.db.user.count({ where: { id: { in: [w.buyer.id, w.seller.id] }, deletedAt: { not: null } } }), 0);

  // In English too.
  await w.bc.get('/me/delete?lang=en');
  const en = await w.bc.post('/me/delete', { password: PASSWORD, confirm: '1' });
  t.match(en.body, '₩50,000 is in escrow');

  // Wrong password, or the box not ticked: 422, nothing changed.
  const free = await user(app, config, 0, 'fr');
  const fc = await loggedIn(app, free.email);
  t.equal((await tryDelete(fc, 'not the password 1')).statusCode, 422, 'wrong password: 422');
  await fc.get('/me/delete');
  const unticked = await fc.post('/me/delete', { password: PASSWORD });
  t.equal(unticked.statusCode, 422, 'confirmation not ticked: 422');
  t.match(unticked.body, '탈퇴 안내를 확인하고 체크해 주세요');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: free.id } })).deletedAt, null);
});

t.test(
  'delete account: personal data erased, trade records kept anonymised, the e-mail may sign up again',
  async (t) => {
    const { app, config, storageDir } = await catalogApp(t);
    const me = await user(app, config, 0, 'del');
    const partner = await user(app, config, 0, 'par');
    const c = await loggedIn(app, me.email);
    const elsewhere = await loggedIn(app, me.email);
    await c.get('/me/edit');
    t.equal((await postMultipart(c, '/me/photo', [], [avatar(await jpeg())])).statusCode, 303);
    const photoKey = (await app.db.user.findUniqueOrThrow({ where: { id: me.id } })).photoKey!;
    // A finished purchase with its shipping details, a saved address, and a review of the partner.
    const order = await app.db.order.create({
      data: {
        sourceKey: `test:${uniq()}`,
        auctionId: 900_000_000 + Math.floor(Math.random() * 1e6),
        listingId: 1,
        buyerId: me.id,
        sellerId: partner.id,
        price: 30_000,
        feeBps: 500,
        holdRef: `test:${uniq()}`,
        state: 'COMPLETED',
        delivery: 'COURIER',
        recipient: '김다판',
        phone: '010-1234-5678',
        postalCode: '04524',
        roadAddress: '서울 중구 세종대로 110',
        detailAddress: '3층',
        completedAt: new Date(),
      },
    });
    await app.db.orderAddress.create({
      data: {
        userId: me.id,
        recipient: '김다판',
        phone: '010-1234-5678',
        postalCode: '04524',
        roadAddress: '서울 중구 세종대로 110',
        detailAddress: '3층',
      },
    });
    await app.db.orderReview.create({
      data: { orderId: order.id, authorId: me.id, subjectId: partner.id, role: 'buyer', stars: 5, body: '좋아요' },
    });

    const res = await tryDelete(c);
    t.equal(res.statusCode, 303, 'deleted');
    t.equal(res.headers.location, '/');
    const home = await c.get('/');
    t.match(home.body, '탈퇴가 끝났어요', 'told so');
    t.notMatch(home.body, me.nickname, 'logged out');
    t.ok(await loggedOut(elsewhere), 'every other session ended too');

    const row = await app.db.user.findUniqueOrThrow({ where: { id: me.id } });
    t.ok(row.deletedAt, 'marked deleted');
    t.not(row.email, me.email, 'e-mail erased');
    t.notMatch(row.email, me.email.split('@')[0], 'no trace of the old address');
    t.notMatch(row.nickname, me.nickname, 'nickname erased');
    t.equal(row.photoKey, null);
    t.notOk(existsSync(path.join(storageDir, photoKey)), 'the photo file is gone');
    t.equal(await app.db.orderAddress.count({ where: { userId: me.id } }), 0, 'saved addresses erased');
    const kept = await app.db.order.findUniqueOrThrow({ where: { id: order.id } });
    t.same(
      [kept.buyerId, kept.price, kept.state, kept.recipient, kept.phone, kept.roadAddress, kept.detailAddress],
      [me.id, 30_000, 'COMPLETED', null, null, null, null],
      'the order stays, its shipping details erased',
    );
    t.equal(await app.db.orderReview.count({ where: { authorId: me.id } }), 1, 'the review stays');
    const profiles = await accountsApi(app.db).publicProfiles([me.id]);
    t.equal(profiles.get(me.id)?.nickname, '탈퇴한 회원', 'shown as 탈퇴한 회원 wherever trades are listed');
    t.equal((await accountsApi(app.db).contacts([me.id])).size, 0, 'nobody mails a deleted account');

    t.equal((await new Client(app).login(me.email, PASSWORD)).statusCode, 422, 'the old login is gone');
    const again = new Client(app);
    const su = await again.signup({
      email: me.email,
      nickname: `다시${uniq()}`,
      password: 'a brand new long passphrase',
    });
    t.equal(su.statusCode, 303, 'the same e-mail signs up again');
    const fresh = await app.db.user.findUniqueOrThrow({ where: { email: me.email } });
    t.not(fresh.id, me.id, 'as a new account');
  },
);

t.test('sign-up consent: required boxes (422 without), recorded with the terms version and time', async (t) => {
  const { app } = await startApp(t);
  const u = uniq();
  const form = await new Client(app).get('/signup');
  t.match(form.body, 'name="terms"', 'the form asks for 이용약관');
  t.match(form.body, 'name="privacy"', '개인정보 수집·이용');
  t.match(form.body, 'name="marketing"', 'and the optional marketing consent');

  for (const [name, fields, missing] of [
    ['no consent', {}, ['이용약관에 동의해 주세요', '개인정보 수집·이용에 동의해 주세요']],
    ['terms only', { terms: 'on' }, ['개인정보 수집·이용에 동의해 주세요']],
    ['privacy and marketing only', { privacy: 'on', marketing: 'on' }, ['이용약관에 동의해 주세요']],
  ] as const) {
    const c = new Client(app);
    await c.get('/signup');
    const email = `cs${u}${name.length}@example.com`;
    const res = await c.post('/signup', {
      email,
      nickname: `cs${u}${name.length}`,
      password: 'long enough pw',
      ...fields,
    });
    t.equal(res.statusCode, 422, `${name}: 422`);
    for (const m of missing) t.match(res.body, m, `${name}: says ${m}`);
    t.equal(await app.db.signupRequest.count({ where: { email } }), 0, `${name}: nothing pending`);
    if ('marketing' in fields) t.match(res.body, /name="marketing" value="on" checked/, 'ticked boxes stay ticked');
  }

  const before = Date.now();
  const withMarketing = new Client(app);
  t.equal(
    (
      await withMarketing.signup({
        email: `mk${u}@example.com`,
        nickname: `mk${u}`,
        password: 'long enough pw',
        marketing: 'on',
      })
    ).statusCode,
    303,
  );
  const a = await app.db.user.findUniqueOrThrow({ where: { email: `mk${u}@example.com` } });
  t.equal(a.termsVersion, TERMS_VERSION, 'the terms version is recorded');
  t.ok(a.termsAgreedAt && a.termsAgreedAt.getTime() >= before - 1000, 'with the time');
  t.same(a.privacyAgreedAt, a.termsAgreedAt, 'privacy consent at the same moment');
  t.same(a.marketingAgreedAt, a.termsAgreedAt, 'marketing consent recorded');
  t.match((await withMarketing.get('/me')).body, `약관 ${TERMS_VERSION} 동의`, '/me shows the record');

  const without = new Client(app);
  t.equal(
    (await without.signup({ email: `nm${u}@example.com`, nickname: `nm${u}`, password: 'long enough pw' })).statusCode,
    303,
  );
  const b = await app.db.user.findUniqueOrThrow({ where: { email: `nm${u}@example.com` } });
  t.equal(b.termsVersion, TERMS_VERSION);
  t.ok(b.termsAgreedAt);
  t.equal(b.marketingAgreedAt, null, 'marketing not given: null');
});
