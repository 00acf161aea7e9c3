/** The bid panel's view model for one viewer: shared by the page, the htmx fragments and the socket snapshot. */
import { randomUUID } from 'node:crypto';
import type { AccountsApi } from '../accounts/index.js';
import type { BiddingDeps } from './service.js';
import type { AuctionTimers } from './jobs.js';
import * as q from './queries.js';
import { HtmlWithHoles, RenderedHtml, htmlHole } from '../../core/views.js';

export interface PanelDeps extends BiddingDeps {
  accounts: AccountsApi;
  timers: AuctionTimers;
}

/**
 * The part of the panel that is the same for every viewer: the auction, its history (with each
 * row's bidder, for the viewer's own rows) and the chart. Null as panelModel says.
 */
export async function sharedPanel(deps: PanelDeps, id: number) {
  const [a, listing] = await Promise.all([
    q.loadSnapshot(deps.db, id, deps.settings.bands),
    deps.catalog.getListingForAuction(id),
  ]);
  if (!a || a.status === 'CANCELLED' || !listing || listing.status === 'CANCELLED') return null;
  const [rows, series] = await Promise.all([q.history(deps.db, deps.accounts, id, null), q.priceSeries(deps.db, id)]);
  const startPrice = series.length ? Math.min(series[0].price, a.currentPrice) : a.currentPrice;
  return { a, rows, chart: q.chartPoints(series, startPrice), extended: a.extended };
}
export type SharedPanel = NonNullable<Awaited<ReturnType<typeof sharedPanel>>>;

type SharedSource = (deps: PanelDeps, id: number) => Promise<SharedPanel | null>;
type Info = Awaited<ReturnType<typeof q.viewerInfo>>;

/** The model from the shared part and the viewer's own (`rows` as the caller gives them). */
function modelOf(s: SharedPanel, info: Info, viewerId: number | null, rows: q.HistoryRow[]) {
  const { a } = s;
  return {
    a,
    rows,
    chart: s.chart,
    extended: s.extended,
    requestKey: randomUUID(),
    viewer: {
      loggedIn: viewerId !== null,
      status: q.viewerStatus(a, viewerId, info.hasBid),
      myMax: info.myMax,
      watching: info.watching,
    },
  };
}

/**
 * Everything the bid panel partials need for one viewer; null when there is nothing to show:
 * no such auction, or a cancelled one (also while the listing's cancel event is still on its way,
 * so the panel, its htmx fragment and the socket snapshot never show what the item page hides).
 */
export async function panelModel(deps: PanelDeps, id: number, viewerId: number | null) {
  const [s, info] = await Promise.all([sharedPanel(deps, id), q.viewerInfo(deps.db, id, viewerId)]);
  if (!s) return null;
  return modelOf(
    s,
    info,
    viewerId,
    s.rows.map((r) => ({ ...r, mine: viewerId !== null && r.bidderId === viewerId })),
  );
}

/**
 * As panelModel, with the shared part from `shared` (core's page cache: the same object until the
 * auction changes) and its history rows and chart already rendered (sharedPanelHtml): `rowsHtml`
 * (the viewer's own rows marked; absent when there are none, so the history says "no bids yet")
 * and `chartHtml`, which the templates insert instead of rendering them again. The item page's slot
 * and the socket's (re)connect snapshot (`oob`) use it; `rows` are the shared ones, unmarked.
 * On the page, a logged-in viewer's bid panel (price, standing, controls, watch button) also comes
 * rendered, as `panelHtml` (panelFor): `{{fill panelHtml …}}` adds the request's token and key.
 */
export async function renderedPanel(
  deps: PanelDeps,
  id: number,
  viewerId: number | null,
  shared: SharedSource,
  view: { lang: string; oob: boolean; render: Render; openMax?: boolean },
) {
  const [s, info] = await Promise.all([shared(deps, id), q.viewerInfo(deps.db, id, viewerId)]);
  if (!s) return null;
  const html = sharedPanelHtml(s, view.lang, view.oob, view.render);
  const model = { ...modelOf(s, info, viewerId, s.rows), openMax: Boolean(view.openMax && viewerId !== null) };
  return {
    ...model,
    rowsHtml: html.rows.length ? rowsHtmlFor(s, html, viewerId, view.render) : undefined,
    chartHtml: html.chart,
    panelHtml: view.oob || viewerId === null ? undefined : panelFor(html, model, view.render),
  };
}

/** A shared panel's history rows and chart, rendered (sharedPanelHtml). */
export interface PanelHtml {
  /** Each row as every viewer sees it, and (rendered on first need) as its bidder sees it. */
  rows: { bidderId: number; plain: RenderedHtml; mine?: RenderedHtml }[];
  chart: RenderedHtml;
  /** The bid panel (bidding/bid-panel) by viewer standing (panelFor), at most PANELS_PER_STATE. */
  panels: Map<string, HtmlWithHoles>;
  /** The rows joined (rowsHtmlFor): for every viewer without a row of theirs (0), and per bidder. */
  joined: Map<number, RenderedHtml>;
}

/**
 * Standings kept per shared panel and language. Every viewer who has not bid shares one of four
 * (watching or not, the max form opened by `?bid=1` or not); each bidder's maximum makes theirs
 * their own, so on an auction with more bidders than this the later ones' panels render per view.
 */
export const PANELS_PER_STATE = 64;

/**
 * The logged-in viewer's bid panel: everything in it follows from the shared auction state (the
 * PanelHtml it is kept with) and the viewer's standing (the key below), except the CSRF token and
 * the buy-now form's request key, which stay holes for `{{fill}}`. Measured on the logged-in item
 * page (page-profile.ts): rendering it was ~75 µs of the ~450 µs of CPU per request.
 */
function panelFor(
  html: PanelHtml,
  model: ReturnType<typeof modelOf> & { openMax: boolean },
  render: Render,
): HtmlWithHoles {
  const { viewer } = model;
  const key = `${viewer.status}|${viewer.myMax ?? ''}|${viewer.watching ? 1 : 0}|${model.openMax ? 1 : 0}`;
  let panel = html.panels.get(key);
  if (!panel) {
    panel = new HtmlWithHoles(
      render('bidding/bid-panel', { ...model, requestKey: htmlHole('requestKey'), csrfToken: htmlHole('csrfToken') }),
    );
    if (html.panels.size < PANELS_PER_STATE) html.panels.set(key, panel);
  }
  return panel;
}
type Render = (partial: string, data: Record<string, unknown>) => RenderedHtml;
const renderedOf = new WeakMap<SharedPanel, Map<string, PanelHtml>>();

/**
 * The history rows and the chart of a shared panel rendered once per language and variant (`oob`:
 * the socket snapshot's, which swaps them in place) instead of once per viewer. Measured on the
 * logged-in item page with 30 rows (page-profile.ts): rendering them was ~40 % of the request's
 * CPU. Kept with the shared object it was rendered from (a WeakMap), so it can never show another
 * state of the auction than that object, and goes with it.
 */
function sharedPanelHtml(s: SharedPanel, lang: string, oob: boolean, render: Render): PanelHtml {
  let byVariant = renderedOf.get(s);
  if (!byVariant) renderedOf.set(s, (byVariant = new Map()));
  const variant = `${lang}:${oob ? 'oob' : 'page'}`;
  let html = byVariant.get(variant);
  if (!html) {
    html = {
      rows: s.rows.map((r) => ({ bidderId: r.bidderId, plain: render('bidding/history-row', { ...r, mine: false }) })),
      chart: render('bidding/chart', { a: s.a, chart: s.chart, oob }),
      panels: new Map(),
      joined: new Map(),
    };
    byVariant.set(variant, html);
  }
  return html;
}

/** The history's rows for one viewer (their own bids marked, rendered once per row), joined once per viewer. */
function rowsHtmlFor(s: SharedPanel, html: PanelHtml, viewerId: number | null, render: Render): RenderedHtml {
  const key = viewerId !== null && html.rows.some((r) => r.bidderId === viewerId) ? viewerId : 0;
  let joined = html.joined.get(key);
  if (!joined) {
    joined = RenderedHtml.join(
      html.rows.map((r, i) =>
        r.bidderId === key ? (r.mine ??= render('bidding/history-row', { ...s.rows[i], mine: true })) : r.plain,
      ),
    );
    if (html.joined.size < PANELS_PER_STATE) html.joined.set(key, joined);
  }
  return joined;
}
