/**
 * Bid storms through HTTP: `concurrency` requests in flight, each a real htmx form post of the
 * bid panel (session cookie, CSRF token, a fresh requestKey) by a logged-in bidder who is not
 * the auction's leader, for the auction's current minimum: the minimum it will require once the
 * bids already in flight have landed (one increment above the last amount sent, or the minimum
 * the last response showed if that is higher). A bid that lands out of order can still be below
 * the minimum: it is refused (422) and counted apart, never as throughput.
 */
import { randomUUID } from 'node:crypto';
import type { UserClient } from './client.js';

export interface Bidder {
  id: number;
  client: UserClient;
}

export interface StormResult {
  seconds: number;
  accepted: number;
  refused: number;
  rateLimited: number;
  errors: number;
  firstError?: string;
  p50: number;
  p99: number;
  acceptedPerSecond: number;
}

interface AuctionState {
  issued: number | null;
  floor: number;
  leader: number | null;
  inflight: number;
}

const MIN_RE = /name="amount" value="(\d+)"/;

export async function bidStorm(o: {
  bidders: Bidder[];
  auctions: number[];
  concurrency: number;
  seconds: number;
  startPrice: number;
  increment: number;
}): Promise<StormResult> {
  const state = new Map<number, AuctionState>(
    o.auctions.map((id) => [id, { issued: null, floor: o.startPrice, leader: null, inflight: 0 }]),
  );
  const idle = [...o.bidders]; // least recently used first
  const latencies: number[] = [];
  const r = { accepted: 0, refused: 0, rateLimited: 0, errors: 0, firstError: undefined as string | undefined };

  const pickAuction = (): number => {
    if (o.auctions.length === 1) return o.auctions[0];
    for (let i = 0; i < 50; i++) {
      const id = o.auctions[Math.floor(Math.random() * o.auctions.length)];
      if (state.get(id)!.inflight === 0) return id;
    }
    return o.auctions[Math.floor(Math.random() * o.auctions.length)];
  };

  const t0 = performance.now();
  const stopAt = t0 + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < stopAt) {
        const id = pickAuction();
        const s = state.get(id)!;
        const k = idle.findIndex((b) => b.id !== s.leader);
        if (k < 0) {
          await new Promise((res) => setTimeout(res, 1));
          continue;
        }
        const [b] = idle.splice(k, 1);
        const amount = s.issued === null ? s.floor : Math.max(s.issued + o.increment, s.floor);
        s.issued = amount;
        s.inflight++;
        const started = performance.now();
        try {
          const res = await b.client.request(
            'POST',
            `/items/${id}/bids`,
            { amount: String(amount), requestKey: randomUUID() },
            { 'hx-request': 'true' },
          );
          latencies.push(performance.now() - started);
          const min = MIN_RE.exec(res.body);
          if (min) s.floor = Math.max(s.floor, Number(min[1]));
          if (res.status === 200) {
            r.accepted++;
            if (amount >= (s.issued ?? 0)) s.leader = b.id; // the highest amount sent so far leads once it lands
          } else if (res.status === 422) r.refused++;
          else if (res.status === 429) r.rateLimited++;
          else {
            r.errors++;
            r.firstError ??= `HTTP ${res.status} ${res.body.slice(0, 200)}`;
          }
        } catch (err) {
          r.errors++;
          r.firstError ??= String(err);
        } finally {
          s.inflight--;
          idle.push(b);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { seconds, ...r, p50: pct(0.5), p99: pct(0.99), acceptedPerSecond: r.accepted / seconds };
}
