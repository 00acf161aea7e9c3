/** Orders for tests: a buy-now win (the order appears through the durable auction.closed) and the address step. */
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { Client } from './app.js';
import { user, auction, loggedIn, waitFor } from './auction.js';

export const ORDER_PRICE = 50_000;

export async function wonOrder(app: App, config: Config, title = '주문 테스트 상품') {
  const seller = await user(app, config, 0, 's');
  const buyer = await user(app, config, 100_000, 'k');
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, buyNowPrice: ORDER_PRICE, title });
  const bc = await loggedIn(app, buyer.email);
  await bc.get(`/items/${id}/bid-panel`);
  let r = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  // A loaded machine sheds load (503, nothing done): try again a few times.
  for (let i = 0; i < 5 && r.statusCode === 503; i++) {
    await new Promise((res) => setTimeout(res, 1000));
    r = await bc.post(`/items/${id}/buy-now`, {}, { 'hx-request': 'true' });
  }
  if (r.statusCode >= 400) throw new Error(`buy-now failed ${r.statusCode}`);
  let order = null as Awaited<ReturnType<typeof app.db.order.findFirst>>;
  await waitFor(async () => !!(order = await app.db.order.findFirst({ where: { auctionId: id } })), 15_000);
  if (!order) throw new Error('no order');
  const sc = await loggedIn(app, seller.email);
  return { seller, buyer, id, order, bc, sc };
}

export const ADDRESS = {
  mode: 'COURIER',
  recipient: '김다판',
  phone: '010-1234-5678',
  postalCode: '04524',
  roadAddress: '서울 중구 세종대로 110',
  detailAddress: '3층 301호',
};

export async function giveAddress(c: Client, orderId: number) {
  await c.get(`/orders/${orderId}`);
  return c.post(`/orders/${orderId}/address`, ADDRESS);
}

export async function ship(c: Client, orderId: number) {
  await c.get(`/orders/${orderId}`);
  return c.post(`/orders/${orderId}/ship`, { mode: 'COURIER', courier: 'CJ', trackingNumber: '123456789012' });
}
