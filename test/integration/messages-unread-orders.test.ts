/**
 * Unread chat count on /my/orders: each row loads its chat's badge (`/orders/:id/chat/unread`,
 * through the orders.row.chat slot); the count is the other side's lines after the reader's
 * read position; opening the chat clears it; someone else's order is a 404.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, loggedIn } from '../helpers/auction.js';
import { wonOrder } from '../helpers/orders.js';
import type { Client } from '../helpers/app.js';

async function say(c: Client, orderId: number, body: string) {
  await c.get(`/orders/${orderId}`);
  return c.post(`/orders/${orderId}/chat`, { body });
}
const countIn = (html: string) => /data-testid="chat-unread" data-count="(\d+)"/.exec(html)?.[1];

t.test('/my/orders rows show the unread chat count', async (t) => {
  const { app, config } = await startApp(t, { ORDER_SWEEP_MS: '3600000' });
  const { order, bc, sc } = await wonOrder(app, config, '안읽음 카메라');
  const list = await bc.get('/my/orders?role=buyer');
  t.equal(list.statusCode, 200);
  t.match(list.body, `hx-get="/orders/${order.id}/chat/unread"`, "the buyer's row loads its chat badge");
  t.equal(countIn((await bc.get(`/orders/${order.id}/chat/unread`)).body), '0', 'nothing unread yet');

  for (const line of ['안녕하세요', '내일 보낼게요', '<b>감사</b>'])
    t.equal((await say(sc, order.id, line)).statusCode, 303);
  const badge = await bc.get(`/orders/${order.id}/chat/unread`);
  t.equal(badge.statusCode, 200);
  t.equal(countIn(badge.body), '3', 'the buyer has 3 unread lines');
  t.match(badge.body, '안 읽은 메시지 3개');
  t.equal(countIn((await sc.get(`/orders/${order.id}/chat/unread`)).body), '0', 'the sender has none');
  const sellerList = await sc.get('/my/orders?role=seller');
  t.match(sellerList.body, `hx-get="/orders/${order.id}/chat/unread"`, "the seller's row too");

  // Opening the chat reads it.
  t.equal((await bc.get(`/orders/${order.id}/chat`)).statusCode, 200);
  t.equal(countIn((await bc.get(`/orders/${order.id}/chat/unread`)).body), '0', 'read after opening the chat');

  const stranger = await user(app, config, 0, 'x');
  const xc = await loggedIn(app, stranger.email);
  t.equal((await xc.get(`/orders/${order.id}/chat/unread`)).statusCode, 404, "someone else's order: 404");
  t.equal((await app.inject({ method: 'GET', url: `/orders/${order.id}/chat/unread` })).statusCode === 200, false);
});
