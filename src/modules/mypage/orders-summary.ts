/**
 * The hub's orders section over orders' public API: counts per state as buyer and as seller, the
 * next actions (oldest deadline first) with links to each order, and the purchases / payouts /
 * address-book pages that orders owns.
 */
import type { Db } from '../../core/db/index.js';
import { ordersApi } from '../orders/index.js';
import type { OrdersSummaryFn } from './hub.js';

const STATES = ['AWAITING_ADDRESS', 'AWAITING_SHIPMENT', 'SHIPPED', 'RECEIVED', 'COMPLETED', 'DISPUTED', 'CANCELLED'];

export function ordersHubSummary(db: Db): OrdersSummaryFn {
  const orders = ordersApi(db);
  return async (userId, t) => {
    const s = await orders.summaryFor(userId);
    const counts = (c: Record<string, number>) =>
      STATES.map((state) => ({ state, label: t(`orders.state.${state}`), count: c[state] ?? 0 }));
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    const next = [...s.buyer.actions, ...s.seller.actions]
      .sort((a, b) => (a.dueAt ?? '9').localeCompare(b.dueAt ?? '9') || a.orderId - b.orderId)
      .map((a) => ({ label: t(`orders.next.${a.action}`), href: `/orders/${a.orderId}`, title: `#${a.orderId}` }));
    return {
      buying: counts(s.buyer.counts),
      selling: counts(s.seller.counts),
      next,
      purchases: { count: total(s.buyer.counts), href: '/my/orders?role=buyer' },
      settlements: { count: s.seller.counts.COMPLETED ?? 0, href: '/my/orders?role=seller' },
      addressesHref: '/my/addresses',
    };
  };
}
