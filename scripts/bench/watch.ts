/**
 * Push latency: sequential bids on the watched auction (two bidders taking turns, each bidding
 * the minimum their own panel shows); for each, the time from its HTTP response to the arrival
 * of the fragment carrying its price at every watcher socket (watchers.ts, another process; both
 * clocks are performance.timeOrigin + now() on one machine).
 */
import { randomUUID } from 'node:crypto';
import type { Bidder } from './load.js';

export interface WatchResult {
  watchers: number;
  bids: number;
  deliveries: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
}

const PRICE_RE = /data-testid="current-price">([^<]+)</;
const MIN_RE = /name="amount" value="(\d+)"/;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Whose turn it is, across rounds: the same bidder twice in a row would raise their own maximum (no new price).
let turn = 0;

type Ask = <T>(msg: unknown, pick: (m: any) => boolean, ms?: number) => Promise<T>;

export async function measureWatchers(
  watchers: number,
  auctionId: number,
  bidders: Bidder[],
  ask: Ask,
  bids: number,
  gapMs: number,
): Promise<WatchResult> {
  await ask('collect', (m) => 'arrivals' in m); // drop anything before this round
  const acceptedAt = new Map<number, number>();
  for (let i = 0; i < bids; i++) {
    const b = bidders[turn++ % bidders.length];
    // The bidder's own panel: the one a bid answers with is the leader's (a raise-maximum form, no next minimum).
    const own = await b.client.request('GET', `/items/${auctionId}/bid-panel`);
    const min = Number(MIN_RE.exec(own.body)?.[1]);
    if (!min) throw new Error('no minimum bid in the panel');
    const panel = await b.client.request(
      'POST',
      `/items/${auctionId}/bids`,
      { amount: String(min), requestKey: randomUUID() },
      { 'hx-request': 'true' },
    );
    const t = now();
    if (panel.status !== 200) throw new Error(`watched auction bid refused: HTTP ${panel.status}`);
    const price = Number(PRICE_RE.exec(panel.body)?.[1].replace(/[^\d]/g, ''));
    acceptedAt.set(price, t);
    await sleep(gapMs);
  }
  await sleep(1500);
  const { arrivals, sockets } = await ask<{ arrivals: Record<string, number[]>; sockets: number }>(
    'collect',
    (m) => 'arrivals' in m,
  );
  const lat: number[] = [];
  for (const [price, at] of acceptedAt) for (const t of arrivals[String(price)] ?? []) lat.push(t - at);
  lat.sort((a, b) => a - b);
  const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? NaN;
  return {
    watchers: sockets,
    bids: acceptedAt.size,
    deliveries: lat.length,
    expected: sockets * acceptedAt.size,
    p50: pct(0.5),
    p99: pct(0.99),
    max: lat[lat.length - 1] ?? NaN,
  };
}
