/** The bid panel's view model for one viewer: shared by the page, the htmx fragments and the socket snapshot. */
import { randomUUID } from 'node:crypto';
import type { AccountsApi } from '../accounts/index.js';
import type { BiddingDeps } from './service.js';
import type { AuctionTimers } from './jobs.js';
import * as q from './queries.js';

export interface PanelDeps extends BiddingDeps {
  accounts: AccountsApi;
  timers: AuctionTimers;
}

/**
 * Everything the bid panel partials need for one viewer; null when there is nothing to show:
 * no such auction, or a cancelled one (also while the listing's cancel event is still on its way,
 * so the panel, its htmx fragment and the socket snapshot never show what the item page hides).
 */
export async function panelModel(deps: PanelDeps, id: number, viewerId: number | null) {
  const [a, listing] = await Promise.all([
    q.loadSnapshot(deps.db, id, deps.settings.bands),
    deps.catalog.getListingForAuction(id),
  ]);
  if (!a || a.status === 'CANCELLED' || !listing || listing.status === 'CANCELLED') return null;
  const [info, rows, series] = await Promise.all([
    q.viewerInfo(deps.db, id, viewerId),
    q.history(deps.db, deps.accounts, id, viewerId),
    q.priceSeries(deps.db, id),
  ]);
  const startPrice = series.length ? Math.min(series[0].price, a.currentPrice) : a.currentPrice;
  return {
    a,
    rows,
    chart: q.chartPoints(series, startPrice),
    extended: a.extended,
    requestKey: randomUUID(),
    viewer: {
      loggedIn: viewerId !== null,
      status: q.viewerStatus(a, viewerId, info.hasBid),
      myMax: info.myMax,
      watching: info.watching,
    },
  };
}
