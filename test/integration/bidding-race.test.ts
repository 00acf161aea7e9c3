/**
 * The storm: 200 bidders with random maxima hit one auction over real HTTP while its close job
 * fires. Exactly one winner at the price the proxy rule gives; every accepted bid is in the
 * history and none after the close; the only hold left is the winner's final price; the ledger
 * sums to zero.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startServer } from '../helpers/browser.js';
import { user, auction, committed, waitFor, PASSWORD } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';
import { priceFromMaxima } from '../../src/modules/bidding/engine.js';

const BIDDERS = 200;
const STORM_CONCURRENCY = 40;

/** A cookie-keeping HTTP client over the real socket (fetch), as a browser tab would be. */
class Tab {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly base: string) {}
  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }
  private header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async get(path: string) {
    const res = await fetch(this.base + path, { headers: { cookie: this.header() }, redirect: 'manual' });
    this.keep(res);
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1];
    return { status: res.status, body };
  }
  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.header(), ...headers },
      body: new URLSearchParams({ _csrf: this.csrf, ...form }).toString(),
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, body: await res.text() };
  }
}

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (queue.length) await fn(queue.shift()!);
    }),
  );
}

t.test('200 concurrent bidders while the close job fires', async (t) => {
  const { app, baseUrl } = await startServer(t, { SOFT_CLOSE_SECONDS: '0', LOG_LEVEL: 'silent' });
  const config = { walletWithdrawalFee: 500, redisPrefix: '' } as never;
  const seller = await user(app, config);
  // Random maxima (a fixed seed would hide nothing: the rule is checked against what was accepted).
  const maxima = Array.from({ length: BIDDERS }, () => 10_000 + Math.floor(Math.random() * 400) * 1_000);
  const bidders: { id: number; email: string; max: number; tab: Tab; funded: number }[] = [];
  await pool(
    maxima.map((max, i) => ({ max, i })),
    8,
    async ({ max }) => {
      const funded = max + 50_000;
      const u = await user(app, { walletWithdrawalFee: 500, redisPrefix: 'x' } as never, funded, 'r');
      const tab = new Tab(baseUrl);
      await tab.get('/login');
      const res = await tab.post('/login', { email: u.email, password: PASSWORD });
      if (res.status !== 303) throw new Error(`login ${res.status}`);
      bidders.push({ id: u.id, email: u.email, max, tab, funded });
    },
  );
  void config;
  t.equal(bidders.length, BIDDERS, `${BIDDERS} bidders logged in`);

  await pool(bidders, 20, async (b) => void (await b.tab.get('/'))); // a page, and with it the session's CSRF token
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 5_000 });

  const accepted = new Set<string>();
  const refusals = new Map<string, number>();
  const statuses = new Map<number, number>();
  // STORM_CONCURRENCY workers send bids from random bidders, each climbing towards their maximum,
  // from the start until every worker has seen the auction end (bounded: at most MAX_ATTEMPTS).
  const MAX_ATTEMPTS = 3_000;
  const step = new Map<number, number>();
  let sent = 0;
  const stormStart = Date.now();
  await Promise.all(
    Array.from({ length: STORM_CONCURRENCY }, async () => {
      let sawEnd = 0;
      while (sawEnd < 2 && sent < MAX_ATTEMPTS) {
        sent++;
        const b = bidders[Math.floor(Math.random() * bidders.length)];
        const k = Math.min(3, (step.get(b.id) ?? 0) + 1);
        step.set(b.id, k);
        const amount = k === 3 ? b.max : Math.max(10_000, Math.round((b.max * k) / 3 / 1000) * 1000);
        const key = randomUUID();
        const res = await b.tab.post(
          `/items/${id}/bids`,
          { amount: String(amount), requestKey: key },
          { 'hx-request': 'true' },
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) accepted.add(key);
        else {
          const m = /data-testid="bid-error">([^<]+)</.exec(res.body);
          const why = m ? m[1].replace(/[\d,]+원/, 'N원') : `HTTP ${res.status}`;
          refusals.set(why, (refusals.get(why) ?? 0) + 1);
          if (why === '경매가 종료되었어요.') sawEnd++;
        }
        await new Promise((r) => setTimeout(r, Math.random() * 20));
      }
    }),
  );
  const attempts = { length: sent };
  const stormMs = Date.now() - stormStart;
  t.notOk(statuses.has(500), 'no 500s');
  t.ok(
    await waitFor(async () => (await app.db.auction.findUniqueOrThrow({ where: { id } })).status === 'ENDED', 15_000),
    'closed',
  );
  const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
  process.stderr.write(
    `# race: storm ${stormMs} ms, ${attempts.length} bids sent, ${accepted.size} accepted, refused ${JSON.stringify(Object.fromEntries(refusals))}\n`,
  );
  const ended = refusals.get('경매가 종료되었어요.') ?? 0;
  const decidedLive = attempts.length - ended;
  t.ok(
    accepted.size >= 2 && decidedLive >= 20,
    `a real contest before the end: ${decidedLive} bids decided while live, ${accepted.size} accepted, in a ${stormMs} ms storm`,
  );
  t.ok(ended > 0, `and bids arrived after the end (refusals: ${JSON.stringify(Object.fromEntries(refusals))})`);

  const rows = await app.db.bid.findMany({ where: { auctionId: id }, orderBy: { id: 'asc' } });
  const manual = rows.filter((r) => r.kind === 'MANUAL');
  // Stored keys are scoped to the bidder ("<userId>-<form key>").
  t.same(
    new Set(rows.filter((r) => r.requestKey).map((r) => r.requestKey!.replace(/^\d+-/, ''))),
    accepted,
    'every accepted bid is in the history, and nothing else',
  );
  const [{ late }] = await app.db.$queryRaw<
    { late: bigint }[]
  >`SELECT count(*) AS late FROM bids WHERE auction_id = ${id} AND created_at > ${a.closedAt}`;
  t.equal(Number(late), 0, 'no bid after the close');

  // Replaying every accepted maximum (new bids and raises) in acceptance order gives the proxy rule's result.
  const expected = priceFromMaxima(
    10_000,
    null,
    rows.filter((r) => r.maxAmount !== null).map((r) => ({ bidderId: r.bidderId, max: r.maxAmount! })),
  );
  void manual;
  t.equal(a.outcome, 'SOLD');
  t.equal(a.winnerId, expected.leaderId, 'the winner is the highest maximum (earliest on ties)');
  t.equal(a.finalPrice, expected.price, 'at the second maximum + one increment');
  t.equal(a.currentPrice, rows[rows.length - 1].amount, 'the last history row shows the final price');

  const holds = await app.db.$queryRaw<{ reference: string; user_id: number; amount: number }[]>`
    SELECT reference, user_id, amount FROM wallet_holds WHERE reference LIKE ${`auction:${id}:%`} AND status IN ('HELD', 'ESCROWED')`;
  // (orders, a durable consumer of auction.closed, moves the winner's hold into the order's escrow moments later)
  t.same(
    holds,
    [{ reference: `auction:${id}:won`, user_id: a.winnerId, amount: a.finalPrice }],
    "the only hold left is the winner's final price (held, or in escrow)",
  );
  for (const b of bidders) {
    const c = await committed(app, b.id);
    const bal = { available: c.available, held: c.heldOrEscrow };
    const want =
      b.id === a.winnerId
        ? { available: b.funded - a.finalPrice!, held: a.finalPrice }
        : { available: b.funded, held: 0 };
    if (bal.available !== want.available || bal.held !== want.held)
      t.fail(`bidder ${b.id}: ${JSON.stringify(bal)} != ${JSON.stringify(want)}`);
  }
  t.same(await ledgerViolations(app), [], 'ledger sums to zero, no negative account');
});
