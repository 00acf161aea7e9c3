/**
 * The bidding flows that used to end in the wrong place (issue 11, item 9): a logged-out bid
 * comes back to the item with the bid form open (not to the POST-only bid URL); a bid asks for
 * confirmation (amount and the points it will hold) before it is placed, with htmx and without;
 * the leader gets a raise-maximum form, not a plain bid button; and the end pushed over the
 * WebSocket swaps every control of the page (state badge, bid forms, buy now).
 */
import t from 'tap';
import { cookieOf, socket } from '../helpers/ws.js';
import { startApp, Client } from '../helpers/app.js';
import { user, auction, loggedIn, bid, PASSWORD, waitFor, balances } from '../helpers/auction.js';

const hx = { 'hx-request': 'true' };

t.test('logged out: the bid button leads to the login form and back to the item with the bid form open', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const u = await user(app, config, 100_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const formPath = `/items/${id}?bid=1#bid-panel-${id}`;
  const loginHref = `/login?next=${encodeURIComponent(formPath)}`;

  const anon = new Client(app);
  const page = await anon.get(`/items/${id}`);
  t.equal(page.statusCode, 200);
  t.match(
    page.body,
    `href="${loginHref}" data-testid="quick-bid"`,
    'the "…원에 입찰하기" button is a link to the login form',
  );
  t.notMatch(page.body, 'data-testid="max-amount"', 'no bid form for a visitor');

  // A stale page's form posted without a session: to the login form, coming back to the item.
  const plain = await anon.post(`/items/${id}/bids`, { amount: '10000', quick: '1' });
  t.equal(plain.statusCode, 303);
  t.equal(plain.headers.location, loginHref, 'plain form: login, then the item with the bid form');
  const viaHtmx = await anon.post(`/items/${id}/bids`, { amount: '10000', quick: '1' }, hx);
  t.equal(viaHtmx.statusCode, 401);
  t.equal(viaHtmx.headers['hx-redirect'], loginHref, 'htmx: the same');
  const buy = await anon.post(`/items/${id}/buy-now`, {});
  t.equal(buy.headers.location, loginHref, 'buy now too');
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0, 'nothing was bid');

  // The login form carries `next`; after it the shopper lands on the item, bid form open.
  const c = new Client(app);
  const form = await c.get(loginHref);
  t.match(form.body, 'bid-panel-', 'the login form keeps where to come back to');
  const login = await c.post('/login', { email: u.email, password: PASSWORD, next: formPath });
  t.equal(login.statusCode, 303);
  t.equal(login.headers.location, formPath, 'back to the item page (a GET page), not to /items/:id/bids');
  const item = await c.get(formPath.split('#')[0]);
  t.equal(item.statusCode, 200);
  t.match(item.body, /<details class="max-bid" open>/, 'the maximum-bid form is open');
  t.match(item.body, /data-testid="max-amount" autofocus/, 'and its amount field has the focus');
  t.notMatch((await c.get(`/items/${id}`)).body, /<details class="max-bid" open>/, 'closed on a plain visit');

  // The old link (`next=/items/<id>/bids`) and a reload of the bid URL no longer end on a 404.
  const old = await c.get(`/items/${id}/bids`);
  t.equal(old.statusCode, 303);
  t.equal(old.headers.location, formPath);
  const bad = await c.get('/items/abc/bids');
  t.equal(bad.statusCode, 400, 'a malformed id is a clear 400');
});

t.test('a bid asks for confirmation first: amount and points held, then one more tap', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const u = await user(app, config, 50_000);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
  const c = await loggedIn(app, u.email);

  const page = await c.get(`/items/${id}`);
  t.match(
    page.body,
    `action="/items/${id}/bids/confirm" method="get" hx-get="/items/${id}/bids/confirm"`,
    'the bid button opens the confirm step',
  );

  // htmx: the step inside the panel. It only reads: nothing is bid or held yet.
  const step = await c.get(`/items/${id}/bids/confirm?amount=10000&quick=1`, hx);
  t.equal(step.statusCode, 200);
  t.match(step.body, '10,000원에 입찰할까요?', 'names the amount');
  t.match(step.body, '최고 입찰자가 되면 10,000원이 보류돼요', 'and the points that will be held');
  t.match(step.body, '사용 가능 포인트 50,000원', 'and what is available');
  t.notMatch(step.body, '<html', 'a fragment, not a page');
  t.equal(await app.db.bid.count({ where: { auctionId: id } }), 0, 'nothing bid by the confirm step');
  t.same(await balances(app, u.id), { available: 50_000, held: 0 }, 'nothing held');
  const key = /name="requestKey" value="([^"]+)"/.exec(step.body)?.[1];
  t.ok(key, 'the confirm form carries its own request key');

  // The second tap: the confirm form's POST places the bid.
  const placed = await c.post(`/items/${id}/bids`, { amount: '10000', quick: '1', requestKey: key! }, hx);
  t.equal(placed.statusCode, 200);
  t.match(placed.body, '10,000원에 입찰했어요.');
  t.same(await balances(app, u.id), { available: 40_000, held: 10_000 }, 'held as the step said');
  const again = await c.post(`/items/${id}/bids`, { amount: '10000', quick: '1', requestKey: key! }, hx);
  t.match(again.body, '이미 처리된 입찰이에요.', 'a double tap on confirm bids once');

  // Refused before the step: too low, not a number, more than the points; the leader's quick bid.
  const low = await c.get(`/items/${id}/bids/confirm?amount=5000`, hx);
  t.equal(low.statusCode, 422);
  t.match(low.body, '새 최대 입찰가는 지금 최대가보다 높아야 해요', 'the leader must go above their maximum');
  const junk = await c.get(`/items/${id}/bids/confirm?amount=abc`, hx);
  t.equal(junk.statusCode, 422);
  t.match(junk.body, '정수로 입력해 주세요');
  const quickLeader = await c.get(`/items/${id}/bids/confirm?amount=11000&quick=1`, hx);
  t.match(quickLeader.body, '이미 최고 입찰자예요');

  // The leader raising: the step shows the hold growing by the difference only.
  const raise = await c.get(`/items/${id}/bids/confirm?amount=30000`, hx);
  t.equal(raise.statusCode, 200);
  t.match(raise.body, '최대 입찰가를 올릴까요? 새 최대 입찰가: 30,000원');
  t.match(raise.body, '보류 포인트: 10,000원 → 30,000원 (추가 20,000원)');
  const tooMuch = await c.get(`/items/${id}/bids/confirm?amount=90000`, hx);
  // 80,000 more is needed, 40,000 is available (10,000 of the 50,000 is held already).
  t.match(tooMuch.body, '포인트가 40,000원 부족해요.', 'short of points: says by how much');
  t.notMatch(tooMuch.body, 'data-testid="confirm-bid"', 'and offers no bid button');
  t.match(tooMuch.body, 'href="/wallet/topup"', 'but the top-up page');

  // Without JavaScript the step is a page with a plain form.
  const rival = await user(app, config, 100_000);
  const r = await loggedIn(app, rival.email);
  const noJs = await r.get(`/items/${id}/bids/confirm?amount=15000`);
  t.equal(noJs.statusCode, 200);
  t.match(noJs.body, '<html', 'a whole page');
  t.match(noJs.body, '최대 15,000원까지 자동 입찰할까요?');
  t.match(noJs.body, `<form action="/items/${id}/bids" method="post"`, 'its form posts the bid');
  t.match(noJs.body, 'name="_csrf"', 'with the CSRF token');
  const posted = await r.post(`/items/${id}/bids`, {
    amount: '15000',
    requestKey: /name="requestKey" value="([^"]+)"/.exec(noJs.body)![1],
  });
  t.equal(posted.statusCode, 303);
  t.equal(posted.headers.location, `/items/${id}#bid-panel-${id}`);

  // Logged out, the confirm page asks for the login and comes back to it (a GET page).
  const anon = await new Client(app).get(`/items/${id}/bids/confirm?amount=20000`);
  t.equal(anon.statusCode, 303);
  t.match(String(anon.headers.location), /^\/login\?next=/);
  const own = await (await loggedIn(app, seller.email)).get(`/items/${id}/bids/confirm?amount=20000`, hx);
  t.match(own.body, '내 상품에는 입찰할 수 없어요.', 'the seller gets no confirm step');
});

t.test('the leader sees "최고 입찰자예요" and a raise-maximum form instead of a bid button', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const [a, b] = await Promise.all([user(app, config, 100_000), user(app, config, 100_000)]);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: 90_000 });
  const ca = await loggedIn(app, a.email);
  const cb = await loggedIn(app, b.email);
  await bid(ca, id, 20_000);

  const leader = (await ca.get(`/items/${id}`)).body;
  t.match(leader, '현재 최고 입찰자예요!');
  t.match(leader, 'data-testid="raise-max"', 'a raise-maximum form');
  t.match(leader, /<details class="max-bid raise" open/, 'shown open');
  t.match(leader, '최대 입찰가 올리기');
  t.match(leader, 'data-testid="my-max"', 'with their current maximum');
  t.notMatch(leader, 'data-testid="quick-bid"', 'no plain bid button for the leader');
  t.match(leader, 'data-testid="buy-now"', 'buy now stays available');

  const other = (await cb.get(`/items/${id}`)).body;
  t.match(other, 'data-testid="quick-bid"', 'others get the bid button');
  t.notMatch(other, 'data-testid="raise-max"');
  t.match(other, /<details class="max-bid">/, 'and the (closed) maximum form');

  const own = (await (await loggedIn(app, seller.email)).get(`/items/${id}`)).body;
  t.notMatch(own, 'data-testid="quick-bid"', 'the seller gets no bid button');
  t.notMatch(own, 'data-testid="max-amount"');

  // B takes the lead: now B has the raise form, A the bid button.
  await bid(cb, id, 50_000);
  t.match((await cb.get(`/items/${id}`)).body, 'data-testid="raise-max"');
  t.match((await ca.get(`/items/${id}`)).body, 'data-testid="quick-bid"');
});

t.test('the end pushed over the socket swaps every control: badge, bid forms, buy now', async (t) => {
  const { app, config } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`;
  const seller = await user(app, config);
  const [a, b, w] = await Promise.all([
    user(app, config, 200_000),
    user(app, config, 200_000),
    user(app, config, 200_000),
  ]);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: 80_000 });
  const [ca, cb, cw] = await Promise.all([loggedIn(app, a.email), loggedIn(app, b.email), loggedIn(app, w.email)]);
  await bid(ca, id, 20_000);

  // The item page before the end: the state badge comes from bidding (a template slot of catalog's page).
  const before = (await cw.get(`/items/${id}`)).body;
  t.match(before, `<p id="item-state-${id}" class="badge status-LIVE" data-testid="item-state">진행 중</p>`);
  t.match(before, 'data-testid="buy-now"');

  // Three open tabs: the leader, a logged-in watcher, a visitor.
  const tabs = {
    leader: socket(`${base}?topics=auction:${id}`, cookieOf(ca)),
    watcher: socket(`${base}?topics=auction:${id}`, cookieOf(cw)),
    visitor: socket(`${base}?topics=auction:${id}`),
  };
  await Promise.all(Object.values(tabs).map((s) => s.ready));
  t.ok(
    await waitFor(async () => Object.values(tabs).every((s) => s.messages.length > 0), 5000),
    'each tab got its snapshot',
  );
  t.notMatch(
    tabs.watcher.all(),
    `id="controls-${id}"`,
    'a live snapshot leaves the page its own controls (a form ?bid=1 opened stays open)',
  );
  for (const s of Object.values(tabs)) s.messages.length = 0;

  // A live bid by B: the price moves for everyone; only those whose standing moved get new controls.
  await bid(cb, id, 30_000);
  t.ok(await waitFor(async () => tabs.watcher.messages.length > 0 && tabs.leader.messages.length > 0, 5000));
  t.notMatch(tabs.watcher.all(), `id="controls-${id}"`, "a bystander's form is not replaced while live");
  t.match(tabs.leader.all(), `id="controls-${id}"`, 'A, outbid, gets new controls');
  t.notMatch(tabs.leader.all(), 'data-testid="raise-max"', '(no raise form any more)');
  t.match(tabs.leader.all(), 'data-testid="quick-bid"', 'and the bid button back');
  for (const s of Object.values(tabs)) s.messages.length = 0;

  // B buys now: the auction ends; every tab gets the end with every control swapped.
  const r = await cb.post(`/items/${id}/buy-now`, {}, hx);
  t.equal(r.statusCode, 200);
  const endOf = (s: ReturnType<typeof socket>) => s.all().includes('data-testid="auction-ended"');
  t.ok(await waitFor(async () => Object.values(tabs).every(endOf), 8000), 'every tab heard the end');
  for (const [who, s] of Object.entries(tabs)) {
    const html = s.all();
    t.match(
      html,
      `id="item-state-${id}" class="badge status-ENDED_SOLD" data-testid="item-state" hx-swap-oob="true">낙찰 완료`,
      `${who}: badge says 낙찰 완료`,
    );
    t.notMatch(html, '진행 중', `${who}: no "진행 중" left`);
    const controls =
      new RegExp(`<div id="controls-${id}" class="bid-controls" hx-swap-oob="true">([\\s\\S]*?)\\n</div>`).exec(
        html,
      )?.[1] ?? null;
    t.ok(controls !== null, `${who}: the controls are swapped`);
    t.notMatch(
      controls ?? '',
      /<form|<details|<a /,
      `${who}: and nothing is left in them (no max form, no buy now, no login link)`,
    );
    t.notMatch(html, 'data-testid="quick-bid"', `${who}: no bid button`);
    t.match(html, '80,000원', `${who}: the final price`);
  }
  t.match(tabs.leader.all(), '아쉽게도 낙찰되지 않았어요.', 'the former leader learns they lost');
  for (const s of Object.values(tabs)) s.ws.close();

  // And a reload shows the same.
  const after = (await cw.get(`/items/${id}`)).body;
  t.match(after, 'status-ENDED_SOLD');
  t.notMatch(after, 'data-testid="buy-now"');
  t.notMatch(after, 'data-testid="max-amount"');
});
