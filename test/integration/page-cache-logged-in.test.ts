/**
 * Logged-in item pages from a shared body (issue 16): the viewer-independent body (photos,
 * description, seller card, 시세, similar auctions), the bid panel's history and chart and the
 * answered questions are rendered once per change and shared; each viewer's own parts (header,
 * standing, maximum, watch button, own questions, CSRF token) are spliced in per request. Two
 * viewers of the same cached body never see each other's parts; a bid and a listing edit show at once.
 */
import t from 'tap';
import { startApp, type Res } from '../helpers/app.js';
import { auction, user, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import { registry } from '../../src/core/metrics.js';
import { i18n } from '../../src/core/i18n.js';
import { listingUpdated } from '../../src/modules/catalog/index.js';

const ko = i18n.getFixedT('ko');
const csrfOf = (r: Res) => /"x-csrf-token": "([^"]+)"/.exec(r.body)?.[1];
const status = (r: Res) => /data-testid="viewer-status">([^<]*)</.exec(r.body)?.[1] ?? '';
const watching = (r: Res) => /data-testid="watch" aria-pressed="(true|false)"/.exec(r.body)?.[1];

async function sharedHits(): Promise<number> {
  const m = await registry.getSingleMetric('page_cache_shared_requests_total')!.get();
  return m.values.find((v) => v.labels.result === 'hit')?.value ?? 0;
}

t.test('two viewers, one shared body, each their own parts; a bid and an edit show at once', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const seller = await user(app, config, 0, 's');
  const alice = await user(app, config, 1_000_000, 'a');
  const bob = await user(app, config, 1_000_000, 'b');
  const word = `공유${uniq()}`;
  const id = await auction(app, { sellerId: seller.id, title: `${word} 카메라`, startPrice: 10_000 });
  const item = `/items/${id}`;
  const a = await loggedIn(app, alice.email);
  const b = await loggedIn(app, bob.email);

  // Alice watches it and asks a question (unanswered: hers and the seller's to see only).
  await a.get(item);
  t.equal((await a.post(`${item}/watch`, { watch: '1' }, { 'hx-request': 'true' })).statusCode, 200);
  const question = `앨리스의 질문 ${uniq()}`;
  t.equal((await a.post(`${item}/questions`, { body: question })).statusCode, 303);

  const hits0 = await sharedHits();
  const pa = await a.get(item);
  const pb = await b.get(item);
  t.equal(pa.statusCode, 200);
  t.equal(pb.statusCode, 200);
  t.ok((await sharedHits()) > hits0, 'the second viewer was served the shared parts');
  for (const [r, me, other] of [
    [pa, alice, bob],
    [pb, bob, alice],
  ] as const) {
    t.equal(r.headers['cache-control'], 'no-store', 'a logged-in page is no-store');
    t.match(r.body, `data-testid="header-nickname">${me.nickname}<`, 'own nickname in the header');
    t.notMatch(r.body, other.nickname, "never the other viewer's nickname");
    t.match(r.body, `${word} 카메라`);
    t.match(r.body, 'data-testid="report-listing"', 'a logged-in buyer may report the listing');
  }
  t.equal(watching(pa), 'true', 'alice watches it');
  t.equal(watching(pb), 'false', 'bob does not');
  t.match(pa.body, question, 'alice sees her unanswered question');
  t.notMatch(pb.body, question, 'bob does not');
  t.not(csrfOf(pa), csrfOf(pb), 'CSRF tokens are per person');
  t.ok(csrfOf(pa) && pa.body.includes(`name="_csrf" value="${csrfOf(pa)}"`), "alice's forms carry her token");

  // Alice bids: her page says she leads, Bob's shows the new price and that he does not.
  t.equal((await bid(a, id, 10_000)).statusCode, 200);
  const leading = ko('bidding.youLead') as string;
  t.ok(await waitFor(async () => status(await a.get(item)) === leading, 3000), 'alice leads at once');
  const after = await b.get(item);
  t.equal(status(after), '', 'bob has no standing');
  t.match(after.body, 'data-testid="bid-count">입찰 1회<', 'bob sees the bid');
  t.notMatch(after.body, /<li class="mine"/, "bob's history marks no row his");
  t.match((await a.get(item)).body, /<li class="mine"/, "alice's history marks her row");

  // Bob outbids: both pages move.
  t.equal((await bid(b, id, 20_000)).statusCode, 200);
  const outbid = ko('bidding.youWereOutbid') as string;
  t.ok(await waitFor(async () => status(await a.get(item)) === outbid, 3000), 'alice sees she was outbid');
  const pb2 = await b.get(item);
  t.equal(status(pb2), leading, 'bob leads');
  // The history's rows are rendered once and shared; each viewer's own row is marked, no other.
  const rows = (body: string) => [...body.matchAll(/<li class="(mine)?" data-bid-id="(\d+)"/g)];
  const ofAlice = rows((await a.get(item)).body);
  const ofBob = rows(pb2.body);
  t.same(
    ofAlice.map((m) => m[2]),
    ofBob.map((m) => m[2]),
    'both see the same rows',
  );
  t.equal(ofAlice.length, 2, 'two bids in the history');
  const mineOf = (r: RegExpMatchArray[]) => r.filter((m) => m[1]).map((m) => m[2]);
  t.equal(mineOf(ofAlice).length, 1, 'one row is alice’s');
  t.equal(mineOf(ofBob).length, 1, 'one row is bob’s');
  t.not(mineOf(ofAlice)[0], mineOf(ofBob)[0], 'and they are different rows');

  // The seller's edit (listing.updated) shows at once in the shared body.
  await app.db.listing.update({ where: { id }, data: { title: `${word} 렌즈` } });
  await app.events.emit(listingUpdated(id, seller.id));
  t.ok(await waitFor(async () => (await b.get(item)).body.includes(`${word} 렌즈`), 3000), 'edited title for bob');
  t.match((await a.get(item)).body, `${word} 렌즈`, 'and for alice');

  // The seller gets their own page (not the buyers' body): their standing, no report link.
  const s = await loggedIn(app, seller.email);
  const ps = await s.get(item);
  t.equal(status(ps), ko('bidding.yourItem'));
  t.notMatch(ps.body, 'data-testid="report-listing"');
  t.match(ps.body, question, 'the seller sees the unanswered question');
  t.notMatch(ps.body, alice.nickname, "the masked asker, not alice's nickname");
});

t.test(
  'the bid panel, rendered once per standing: each viewer gets their own token, key, maximum and form state',
  async (t) => {
    const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
    const seller = await user(app, config, 0, 's');
    const [carol, dave, erin] = await Promise.all(['c', 'd', 'e'].map((n) => user(app, config, 1_000_000, n)));
    const id = await auction(app, {
      sellerId: seller.id,
      title: `입장${uniq()}`,
      startPrice: 10_000,
      buyNowPrice: 90_000,
    });
    const item = `/items/${id}`;
    const [c, d, e] = await Promise.all([carol, dave, erin].map((u) => loggedIn(app, u.email)));
    t.equal((await e.post(`${item}/watch`, { watch: '1' }, { 'hx-request': 'true' })).statusCode, 200);

    // Every token in a page is its viewer's (the panel's watch and buy-now forms included), and each
    // render has a buy-now request key of its own, though carol and dave share one rendered panel.
    const tokens = (r: Res) => [...r.body.matchAll(/name="_csrf" value="([^"]*)"/g)].map((m) => m[1]);
    const keyOf = (r: Res) => /name="requestKey" value="([^"]*)"/.exec(r.body)?.[1];
    const pages = [await c.get(item), await d.get(item), await c.get(item), await e.get(item)];
    for (const [i, r] of pages.entries()) {
      t.equal(r.statusCode, 200);
      t.ok(tokens(r).length >= 3, `page ${i}: the logout, watch and buy-now forms carry a token`);
      t.same(new Set(tokens(r)), new Set([csrfOf(r)]), `page ${i}: every form carries this page's own token`);
      t.match(keyOf(r), /^[0-9a-f-]{36}$/, `page ${i}: the buy-now form has a request key`);
      t.notMatch(r.body, '<!--hole:', `page ${i}: no hole left unfilled`);
    }
    t.equal(new Set(pages.map(keyOf)).size, 4, 'a request key per render, never shared');
    t.not(csrfOf(pages[0]), csrfOf(pages[1]), "carol's and dave's tokens differ");
    t.same([watching(pages[0]), watching(pages[1]), watching(pages[3])], ['false', 'false', 'true'], 'erin watches');

    // `?bid=1` (back from the login) opens the maximum form; the plain page after it does not.
    const maxOpen = (r: Res) => /<details class="max-bid" open>/.test(r.body);
    t.ok(maxOpen(await c.get(`${item}?bid=1`)), '?bid=1 opens the form');
    t.notOk(maxOpen(await c.get(item)), 'the plain page keeps it closed');
    t.notOk(maxOpen(await d.get(item)), "and so does dave's");

    // Carol bids with a maximum: her panel shows it and that she leads; dave's shows neither.
    t.equal((await bid(c, id, 30_000)).statusCode, 200);
    const leading = ko('bidding.youLead') as string;
    t.ok(await waitFor(async () => status(await c.get(item)) === leading, 3000), 'carol leads');
    const pc = await c.get(item);
    const myMax = (r: Res) => /data-testid="my-max">[^<0-9]*([0-9,]+원)/.exec(r.body)?.[1];
    t.equal(myMax(pc), '30,000원', 'carol sees her maximum');
    const pd = await d.get(item);
    t.equal(status(pd), '', 'dave has no standing');
    t.equal(myMax(pd), undefined, "dave does not see carol's maximum");
    t.notMatch(pd.body, '30,000원', 'nowhere on his page');
    // Dave bids above her maximum: the standings swap, each with their own maximum.
    t.equal((await bid(d, id, 50_000)).statusCode, 200);
    const outbid = ko('bidding.youWereOutbid') as string;
    t.ok(await waitFor(async () => status(await c.get(item)) === outbid, 3000), 'carol sees she was outbid');
    const pd2 = await d.get(item);
    t.equal(status(pd2), leading, 'dave leads');
    t.equal(myMax(pd2), '50,000원', 'with his maximum');
    t.equal(myMax(await c.get(item)), '30,000원', 'carol still sees her own');
    t.notMatch((await e.get(item)).body, /data-testid="my-max"/, 'erin, who never bid, sees no maximum');
    // Erin outbids both: carol and dave now share a standing, not a maximum.
    t.equal((await bid(e, id, 70_000)).statusCode, 200);
    t.ok(await waitFor(async () => status(await d.get(item)) === outbid, 3000), 'dave sees he was outbid');
    const [pc3, pd3] = [await c.get(item), await d.get(item)];
    t.same([status(pc3), status(pd3)], [outbid, outbid], 'both outbid');
    t.same([myMax(pc3), myMax(pd3)], ['30,000원', '50,000원'], 'each with their own maximum');
  },
);

t.test(
  'the header, rendered once per language and role: each viewer their own nickname, token, path and links',
  async (t) => {
    const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
    const seller = await user(app, config, 0, 's');
    const [amy, ben, mod] = await Promise.all(['ha', 'hb', 'hm'].map((n) => user(app, config, 0, n)));
    await app.db.user.update({ where: { id: mod.id }, data: { role: 'MODERATOR' } });
    const id = await auction(app, { sellerId: seller.id, title: `머리${uniq()}`, startPrice: 10_000 });
    const [a, b, m] = await Promise.all([amy, ben, mod].map((u) => loggedIn(app, u.email)));
    const nick = (r: Res) => /data-testid="header-nickname">([^<]*)</.exec(r.body)?.[1];
    const logoutToken = (r: Res) =>
      /action="\/logout" method="post"[^>]*>\s*<input type="hidden" name="_csrf" value="([^"]*)"/.exec(r.body)?.[1];
    const langLink = (r: Res) => /<a href="([^"]*)" hreflang="(en|ko)"/.exec(r.body)?.slice(1, 3);
    for (const [c, who] of [
      [a, amy],
      [b, ben],
      [m, mod],
      [a, amy],
    ] as const) {
      for (const path of [`/items/${id}`, '/my', '/search']) {
        const r = await c.get(path);
        t.equal(r.statusCode, 200, `${who.nickname} ${path}`);
        t.equal(nick(r), who.nickname, `${path}: ${who.nickname}'s own nickname`);
        t.equal(logoutToken(r), csrfOf(r), `${path}: the logout form carries this page's token`);
        t.same(langLink(r), [`${path}?lang=en`, 'en'], `${path}: the language link is to this page`);
        t.equal(r.body.includes('data-testid="header-admin"'), who === mod, `${path}: the admin link for staff only`);
        t.notMatch(r.body, '<!--hole:', `${path}: no hole left unfilled`);
      }
    }
    const en = await a.get(`/items/${id}?lang=en`);
    t.equal(nick(en), amy.nickname);
    t.same(langLink(en), [`/items/${id}?lang=ko`, 'ko'], 'in English the link goes back to Korean');
    t.match(en.body, '>Log out<', 'the English header');
    const anon = await app.inject({ method: 'GET', url: `/items/${id}` });
    t.notMatch(anon.body, 'data-testid="header-nickname"', 'nobody in the anonymous header');
    t.notMatch(anon.body, 'action="/logout"');
    t.match(anon.body, 'href="/login"');
  },
);

t.test('anonymous and logged-in renders of one item do not mix', async (t) => {
  const { app, config } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const seller = await user(app, config, 0, 's');
  const viewer = await user(app, config, 0, 'v');
  const id = await auction(app, { sellerId: seller.id, title: `혼합${uniq()}`, startPrice: 10_000 });
  const v = await loggedIn(app, viewer.email);
  const mine = await v.get(`/items/${id}`);
  const anon = await app.inject({ method: 'GET', url: `/items/${id}` });
  t.notMatch(anon.body, viewer.nickname, 'the anonymous page has no viewer');
  t.notMatch(anon.body, 'data-testid="report-listing"');
  t.match(mine.body, 'data-testid="report-listing"');
  t.match(mine.body, 'data-testid="quick-bid"');
});

t.test('shared parts: kept across other items’ changes, dropped by their own, never kept across one', async (t) => {
  const { app } = await startApp(t, { PAGE_CACHE_ENABLED: 'on', PAGE_CACHE_TTL_MS: '60000' });
  const c = app.pageCache;
  const k = `t:${uniq()}`;
  // Another item changing while this one is computed (a bid storm elsewhere) does not stop it being kept.
  t.equal(
    await c.shared(k, { item: 1 }, async () => {
      c.invalidateItem(2);
      c.invalidateLists();
      return 'first';
    }),
    'first',
  );
  t.equal(await c.shared(k, { item: 1 }, async () => 'second'), 'first', 'kept');
  c.invalidateItem(1);
  t.equal(await c.shared(k, { item: 1 }, async () => 'third'), 'third', 'its own change drops it');
  // Its own change while it is computed: that result may be stale, it is not kept.
  const k2 = `t:${uniq()}`;
  await c.shared(k2, { item: 3 }, async () => {
    c.invalidateItem(3);
    return 'stale';
  });
  t.equal(await c.shared(k2, { item: 3 }, async () => 'fresh'), 'fresh', 'not kept across its own change');
  // A tag it depends on.
  const k3 = `t:${uniq()}`;
  await c.shared(k3, { item: 4 }, async (dep) => {
    dep('category:9');
    return 'v1';
  });
  c.invalidateTag('category:9');
  t.equal(await c.shared(k3, { item: 4 }, async () => 'v2'), 'v2', 'dropped by its tag');
  // Concurrent misses share one computation.
  let runs = 0;
  const k4 = `t:${uniq()}`;
  const slow = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
    return runs;
  };
  const all = await Promise.all([1, 2, 3].map(() => c.shared(k4, { item: 5 }, slow)));
  t.same(all, [1, 1, 1]);
  t.equal(runs, 1, 'one computation for three viewers');
});
