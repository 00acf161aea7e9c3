/**
 * What one accepted htmx bid costs in PostgreSQL round trips (issue 16, item 3): every statement
 * the request runs, from the account check to the panel it answers with, is counted, so a change
 * that adds reads or writes to the hot path shows here. Before the change this counted 30 (22 of
 * them inside the auction's row lock); the answer is still the right part of the panel. The account
 * check, a query of its own before the transaction until then, now travels with the lock's reads.
 * (The outbox relay is off: its deliveries are asynchronous, not the request's.)
 */
import t from 'tap';
import pg from 'pg';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, balances } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

const seen: string[] = [];
let on = false;
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const a = args[0] as string | { text?: string };
  const text = (typeof a === 'string' ? a : (a?.text ?? '?')).replace(/\s+/g, ' ').trim().slice(0, 120);
  // The maintenance flag's poll runs on a timer, not for the request.
  if (on && !text.includes('FROM app_flags')) seen.push(text);
  return (orig as (...x: unknown[]) => unknown).apply(this, args);
} as typeof orig;

t.test(
  'an accepted bid that outbids the leader: 10 statements, all in its transaction (8 under the row lock)',
  async (t) => {
    const { app, config } = await startApp(t, { OUTBOX_RELAY: 'off' });
    const seller = await user(app, config);
    const a = await user(app, config, 1_000_000);
    const b = await user(app, config, 1_000_000);
    const id = await auction(app, { sellerId: seller.id, startPrice: 10_000 });
    const ca = await loggedIn(app, a.email);
    const cb = await loggedIn(app, b.email);
    await ca.get(`/items/${id}/bid-panel`);
    await cb.get(`/items/${id}/bid-panel`);
    await cb.post(`/items/${id}/watch`, { watch: '1' }, { 'hx-request': 'true' });
    const hx = { 'hx-request': 'true' };
    t.equal((await ca.post(`/items/${id}/bids`, { amount: '30000', requestKey: 'k1' }, hx)).statusCode, 200);

    on = true;
    const r = await cb.post(`/items/${id}/bids`, { amount: '50000', requestKey: 'k2' }, hx);
    on = false;
    if (process.env.ROUND_TRIPS_OUT)
      (await import('node:fs')).writeFileSync(
        process.env.ROUND_TRIPS_OUT,
        seen.map((s, i) => `${i + 1}. ${s}`).join('\n') + '\n',
      );
    t.equal(r.statusCode, 200);
    t.ok(seen.length <= 10, `${seen.length} statements (<= 10):\n${seen.join('\n')}`);
    const [begin, commit] = [seen.indexOf('BEGIN'), seen.indexOf('COMMIT')];
    // The account check (suspended or banned) is read inside the transaction, in the lock's round
    // trip (PlaceBid.checkRestriction), not in a query of its own before it.
    t.equal(begin, 0, 'nothing before the transaction: the account check travels inside it');
    t.ok(
      seen.some((s) => s.startsWith('SELECT id, suspended_until')),
      "the account check is one of the transaction's reads",
    );
    t.ok(begin >= 0 && commit - begin - 1 <= 8, `${commit - begin - 1} statements between BEGIN and COMMIT (<= 8)`);

    // The answer is the panel after the bid, from the batch's own state.
    t.match(r.body, 'data-testid="current-price">31,000원', 'the price: one increment over the outbid maximum');
    t.match(r.body, 'data-testid="viewer-status">', 'the status line');
    t.match(r.body, /status-leading/, 'this bidder leads');
    t.match(r.body, /data-testid="raise-max"/, 'and gets the raise form');
    t.match(r.body, /data-testid="my-max">[^<]*50,000원/, 'showing their maximum as stored');
    t.match(r.body, /^<div class="bid-main" id="bid-main-\d+">/, 'only the part a bid changes (bid-main)');
    t.notMatch(r.body, 'data-testid="watch"', 'not the watch button, which a bid does not change');
    t.match(r.body, /data-testid="bid-count">[^<]*2/, 'two bids');

    t.match((await cb.get(`/items/${id}/bid-panel`)).body, /aria-pressed="true"/, 'the panel still says watching');
    t.same(await balances(app, a.id), { available: 1_000_000, held: 0 }, "the outbid leader's hold went back");
    t.same(await balances(app, b.id), { available: 950_000, held: 50_000 }, "the new leader's maximum is held");
    t.same(await ledgerViolations(app), [], 'the ledger balances');
  },
);
