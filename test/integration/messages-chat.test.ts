/**
 * Order chat: only the two parties (someone else's order is a 404, on every route and on the
 * socket), plain text escaped in pages, fragments and WebSocket frames (URLs stay text), 1,000
 * characters (longer: 422 naming the limit, nothing stored), > 20 lines a minute: 429, suspended:
 * 403, phone/bank warning, live push and read receipts, unread counts, paginated history, the
 * coalesced notification to the other side, the ADMIN reading a disputed order (the parties see
 * it), the report target and the report link; the my-page hub's unread total over all orders.
 */
import t from 'tap';
import { cookieOf, socket } from '../helpers/ws.js';
import { Client } from '../helpers/app.js';
import { startApp } from '../helpers/app.js';
import { auction, user, loggedIn, waitFor } from '../helpers/auction.js';
import { fund, makeUser, walletDeps } from '../helpers/wallet.js';
import { wonOrder, giveAddress, ORDER_PRICE } from '../helpers/orders.js';
import { contactWarning } from '../../src/modules/messages/chat.js';
import type { App } from '../../src/app.js';

const lines = (app: App, orderId: number) =>
  app.db.chatMessage.findMany({ where: { orderId }, orderBy: { id: 'asc' } });
async function say(c: Client, orderId: number, body: string) {
  await c.get(`/orders/${orderId}`);
  return c.post(`/orders/${orderId}/chat`, { body });
}

t.test('contact warning: Korean phone numbers and bank accounts, not ordinary numbers', async (t) => {
  for (const s of ['010-1234-5678로 연락 주세요', '01012345678', '010 1234 5678', '02-123-4567', '+82 10-1234-5678'])
    t.ok(contactWarning(s).phone, `phone: ${s}`);
  for (const s of ['국민 123456-01-234567', '신한은행 110-123-456789', '계좌번호 3333012345678', '1002-123-456789'])
    t.ok(contactWarning(s).bank, `bank: ${s}`);
  for (const s of ['내일 3시에 보낼게요', '50,000원 맞죠?', '송장번호는 앱에 있어요', '2026-12-02 도착'])
    t.same(contactWarning(s), { phone: false, bank: false }, `nothing: ${s}`);
});

t.test('chat: parties only, escaped, limits, live push, receipts, notifications, admin, reports', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const { seller, buyer, order, bc, sc } = await wonOrder(app, config, '채팅 카메라');
  const stranger = await user(app, config, 0, 'x');
  const xc = await loggedIn(app, stranger.email);

  // The block on the order page, with the page socket carrying the chat topic.
  const op = await bc.get(`/orders/${order.id}`);
  t.match(op.body, 'data-testid="chat"');
  t.match(op.body, `chat:${order.id}`, 'the page socket listens to the chat');
  t.match(op.body, 'data-testid="chat-empty"');

  // Someone else's order: 404 everywhere, nothing written; the socket gets nothing.
  await xc.get('/');
  t.equal((await xc.get(`/orders/${order.id}/chat`)).statusCode, 404);
  t.equal((await xc.post(`/orders/${order.id}/chat`, { body: '안녕하세요' })).statusCode, 404);
  t.equal((await xc.get(`/orders/${order.id}/chat/seen?upTo=1`)).statusCode, 404);
  t.equal((await bc.get(`/orders/99999999/chat`)).statusCode, 404);
  t.equal((await lines(app, order.id)).length, 0);

  const sellerWs = socket(`ws://127.0.0.1:${port}/ws?topics=chat:${order.id},user:${seller.id}`, cookieOf(sc));
  const spyWs = socket(`ws://127.0.0.1:${port}/ws?topics=chat:${order.id}`, cookieOf(xc));
  await Promise.all([sellerWs.ready, spyWs.ready]);
  await sellerWs.waitMsg((m) => m.includes(`id="chat-log-${order.id}"`));

  // HTML and script come back as text; a URL is not a link.
  const evil = '<script>alert(1)</script> <b>굵게</b> https://evil.example/pay?x=1';
  t.equal((await say(bc, order.id, evil)).statusCode, 303);
  const pushed = await sellerWs.waitMsg((m) => m.includes('data-testid="chat-line"'));
  t.ok(pushed, "the buyer's line is pushed to the seller's socket");
  t.notMatch(pushed!, '<script>alert', 'escaped in the frame');
  t.match(pushed!, '&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;굵게&lt;/b&gt;');
  t.notMatch(pushed!, 'href="https://evil', 'a URL stays text');
  t.match(pushed!, `hx-swap-oob="beforeend:#chat-log-${order.id}"`);
  t.match(pushed!, `/reports/new?targetType=MESSAGE&amp;targetId=`, 'the other side may report it');
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(
    spyWs.messages.some((m) => m.includes('chat-line')),
    "a stranger's socket on the topic gets nothing",
  );

  // The seller is told once (coalesced while unread), with the latest excerpt.
  t.ok(
    await waitFor(
      async () => (await app.db.notification.count({ where: { userId: seller.id, kind: 'chatMessage' } })) === 1,
      20_000,
    ),
    'one chat notification',
  );
  t.equal((await say(bc, order.id, '두 번째 메시지예요')).statusCode, 303);
  t.ok(
    await waitFor(async () => {
      const n = await app.db.notification.findMany({ where: { userId: seller.id, kind: 'chatMessage' } });
      return n.length === 1 && (n[0].params as { excerpt: string }).excerpt === '두 번째 메시지예요';
    }, 20_000),
    'still one, showing the latest line',
  );
  t.ok(await sellerWs.waitMsg((m) => m.includes('id="bell-count"') && m.includes('data-count="1"')), 'bell: 1');
  t.equal(await app.db.notification.count({ where: { userId: buyer.id, kind: 'chatMessage' } }), 0);
  const inbox = await sc.get('/notifications?lang=ko');
  t.match(inbox.body, '&quot;채팅 카메라&quot; 주문 채팅에 새 메시지가 있어요: 두 번째 메시지예요');

  // Unread for the seller until they look; the buyer sees the receipt after.
  const buyerWs = socket(`ws://127.0.0.1:${port}/ws?topics=chat:${order.id}`, cookieOf(bc));
  await buyerWs.ready;
  const sp = await sc.get(`/orders/${order.id}`);
  t.match(sp.body, /data-testid="chat-unread" data-count="2"/, 'the seller had 2 unread');
  t.match(sp.body, '&lt;script&gt;alert(1)&lt;/script&gt;', 'escaped on the page');
  t.notMatch(sp.body, '<script>alert(1)');
  const receipt = await buyerWs.waitMsg(
    (m) => m.includes('data-testid="chat-receipt"') && !m.includes('data-up-to="0"'),
  );
  t.ok(receipt, "the buyer's tab gets the read receipt live");
  t.match(receipt!, '상대방이 읽음');
  t.ok(
    await waitFor(
      async () =>
        (await app.db.notification.count({ where: { userId: seller.id, kind: 'chatMessage', readAt: null } })) === 0,
    ),
    'reading the chat reads its notification',
  );
  t.match((await sc.get(`/orders/${order.id}`)).body, /data-testid="chat-unread" data-count="0"/);

  // Limits: 1,000 characters; a 10,000-character paste is refused naming the limit; nothing stored.
  const before = (await lines(app, order.id)).length;
  const long = await say(bc, order.id, '가'.repeat(10_000));
  t.equal(long.statusCode, 422);
  t.match(long.body, '메시지는 1000자까지 쓸 수 있어요. (지금 10000자)');
  t.equal((await say(bc, order.id, '   ')).statusCode, 422, 'empty refused');
  t.equal((await lines(app, order.id)).length, before, 'nothing stored');
  t.equal((await say(bc, order.id, '나'.repeat(1000))).statusCode, 303, 'exactly 1,000 is fine');

  // Phone numbers and bank accounts: a warning banner on the line.
  t.equal((await say(sc, order.id, '010-9876-5432로 문자 주세요. 국민 123456-01-234567')).statusCode, 303);
  const flagged = (await lines(app, order.id)).at(-1)!;
  t.ok(flagged.flagged);
  const bp = await bc.get(`/orders/${order.id}/chat`);
  t.match(bp.body, 'data-testid="chat-warning"');
  t.match(bp.body, '다판다 밖에서 돈을 보내면');
  t.equal((bp.body.match(/data-testid="chat-warning"/g) ?? []).length, 1, 'only on that line');

  // > 20 lines a minute: 429 with a clear message (the seller has sent 1 so far).
  await sc.get(`/orders/${order.id}`);
  for (let i = 0; i < 19; i++) {
    const r = await sc.post(`/orders/${order.id}/chat`, { body: `빠른 메시지 ${i}` });
    if (r.statusCode !== 303) t.fail(`line ${i} refused ${r.statusCode}`);
  }
  const fast = await sc.post(`/orders/${order.id}/chat`, { body: '스물한 번째' });
  t.equal(fast.statusCode, 429, 'the 21st line within a minute is refused');
  t.match(fast.body, '1분에 20개까지 보낼 수 있어요');
  t.notOk(
    (await lines(app, order.id)).some((l) => l.body === '스물한 번째'),
    'not stored',
  );

  // Paginated history: 30 a page, older lines on request (htmx fragment or plain page).
  await app.db.chatMessage.createMany({
    data: Array.from({ length: 12 }, (_, i) => ({ orderId: order.id, senderId: buyer.id, body: `지난 이야기 ${i}` })),
  });
  const all = await lines(app, order.id);
  t.ok(all.length > 30, `${all.length} lines`);
  const page1 = await bc.get(`/orders/${order.id}/chat`);
  t.equal((page1.body.match(/data-testid="chat-line"/g) ?? []).length, 30);
  const older = /href="\/orders\/\d+\/chat\?before=(\d+)"/.exec(page1.body);
  t.ok(older, 'a link to older lines');
  const frag = await bc.get(`/orders/${order.id}/chat?before=${older![1]}`, { 'hx-request': 'true' });
  t.equal(frag.statusCode, 200);
  t.notMatch(frag.body, '<html');
  t.equal((frag.body.match(/data-testid="chat-line"/g) ?? []).length, all.length - 30);

  // Suspended: cannot send (403), nothing stored.
  await app.db.user.update({ where: { id: buyer.id }, data: { suspendedUntil: new Date(Date.now() + 86_400_000) } });
  const n0 = (await lines(app, order.id)).length;
  const susp = await bc.post(`/orders/${order.id}/chat`, { body: '정지된 사람' });
  t.equal(susp.statusCode, 403, 'a suspended user cannot send');
  t.equal((await lines(app, order.id)).length, n0, 'a suspended user stores nothing');
  await app.db.user.update({ where: { id: buyer.id }, data: { suspendedUntil: null } });

  // Reports: the resolver answers for the parties and staff only; the link is on the other side's lines.
  const resolve = app.reportTargets.resolver('MESSAGE')!;
  const first = all[0];
  t.match(await resolve(first.id, seller.id, { staff: false }), {
    ownerId: buyer.id,
    href: `/orders/${order.id}/chat#chat-m-${first.id}`,
  });
  t.equal(await resolve(first.id, stranger.id, { staff: false }), null, 'a stranger may not see it');
  t.match(await resolve(first.id, stranger.id, { staff: true }), { ownerId: buyer.id });
  t.equal(await resolve(99999999, seller.id, { staff: false }), null);
  const newest = all.at(-1)!; // the buyer's: on the first page
  t.match((await sc.get(`/orders/${order.id}/chat`)).body, `/reports/new?targetType=MESSAGE&amp;targetId=${newest.id}`);
  t.notMatch((await bc.get(`/orders/${order.id}/chat`)).body, `targetId=${newest.id}"`, 'not on your own lines');

  // An ADMIN reads only a disputed order's chat; both parties then see that an admin read it.
  const admin = await makeUser(app, 'ADMIN');
  const ac = new Client(app);
  await ac.login(admin.email, 'wallet test password');
  t.equal((await ac.get(`/admin/orders/${order.id}/chat`)).statusCode, 404, 'not disputed: 404');
  t.equal((await bc.get(`/admin/orders/${order.id}/chat`)).statusCode, 403, 'a party is not an admin');
  await giveAddress(bc, order.id);
  await bc.get(`/orders/${order.id}`);
  t.equal(
    (
      await bc.post(`/orders/${order.id}/dispute`, {
        reason: 'NOT_RECEIVED',
        body: '물건이 오지 않았어요. 확인 부탁드려요.',
      })
    ).statusCode,
    303,
  );
  const ap = await ac.get(`/admin/orders/${order.id}/chat`);
  t.equal(ap.statusCode, 200);
  t.match(ap.body, '지난 이야기 11');
  t.notMatch(ap.body, 'data-testid="chat-form"', 'the admin reads, does not write');
  t.ok(await buyerWs.waitMsg((m) => m.includes('data-testid="chat-admin-read"')), "pushed live to the buyer's tab");
  t.match((await sc.get(`/orders/${order.id}`)).body, '관리자가 분쟁 처리를 위해 이 대화를 읽었어요');
  await ac.get(`/admin/orders/${order.id}/chat`);
  t.equal(
    await app.db.chatMessage.count({ where: { orderId: order.id, kind: 'ADMIN_READ' } }),
    1,
    'one line per admin, not one per view',
  );
  t.equal((await ac.post(`/orders/${order.id}/chat`, { body: '관리자' })).statusCode, 404, 'an admin is not a party');
  for (const s of [sellerWs, spyWs, buyerWs]) s.ws.close();
});

t.test("the my-page hub counts unread chat lines over all of the viewer's orders", async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const { seller, buyer, order, bc, sc } = await wonOrder(app, config, '허브 채팅 카메라');
  // A second order between the same two people.
  await fund(walletDeps(app, config), buyer.id, ORDER_PRICE);
  const id2 = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: ORDER_PRICE });
  await bc.get(`/items/${id2}/bid-panel`);
  t.equal((await bc.post(`/items/${id2}/buy-now`, {}, { 'hx-request': 'true' })).statusCode < 400, true, 'bought');
  let order2 = null as Awaited<ReturnType<typeof app.db.order.findFirst>>;
  await waitFor(async () => !!(order2 = await app.db.order.findFirst({ where: { auctionId: id2 } })), 15_000);
  t.ok(order2, 'second order');
  const stranger = await user(app, config, 0, 'x');
  const xc = await loggedIn(app, stranger.email);
  const hubCount = async (c: Client, lang = '') => {
    const r = await c.get(`/my${lang}`);
    t.equal(r.statusCode, 200);
    const m = /data-testid="hub-chat-unread"[^>]*data-count="(\d+)"/.exec(r.body);
    return { count: m ? Number(m[1]) : null, body: r.body };
  };
  t.equal((await hubCount(bc)).count, 0, 'nothing unread yet');

  for (const [o, body] of [
    [order.id, '내일 보내드릴게요'],
    [order.id, '포장은 뽁뽁이로 할게요'],
    [order2!.id, '두 번째 것도 같이 보낼게요'],
  ] as const)
    t.equal((await say(sc, o, body)).statusCode < 400, true, `seller said "${body}"`);
  const three = await hubCount(bc);
  t.equal(three.count, 3, 'three lines from the seller, over two orders');
  t.match(three.body, '안 읽은 메시지 3개 · 거래 2건');
  t.match(three.body, 'href="/my/orders" class="hub-line"', 'links to the orders, where each has its badge');
  t.equal((await hubCount(sc)).count, 0, "the seller's own lines are not unread for the seller");
  t.equal((await hubCount(xc)).count, 0, 'someone else: nothing');

  // Reading one chat (its page) leaves the other's line.
  t.equal((await bc.get(`/orders/${order.id}/chat`)).statusCode, 200);
  const one = await hubCount(bc, '?lang=en');
  t.equal(one.count, 1);
  t.match(one.body, 'Unread messages: 1 (orders: 1)');
  t.equal((await say(bc, order2!.id, '감사합니다')).statusCode < 400, true, 'the buyer answers');
  t.equal((await hubCount(bc)).count, 0, "opening the order page to answer read the seller's line");
  t.equal((await hubCount(sc)).count, 1, 'the seller has one unread line now');
});
