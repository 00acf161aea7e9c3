/**
 * Keyword alerts: a search saved from /search or a category page; a new matching listing tells
 * its owner once (however many of their searches match, however often the event comes); a
 * listing that does not match tells nobody; at most 20 per user; bad input refused. The match
 * rides the durable `listing.published` (written with the listing), not the live event.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, waitFor } from '../helpers/auction.js';
import { uniq } from '../helpers/env.js';
import { listingCreated, listingPublished } from '../../src/modules/catalog/index.js';
import { notificationsOf } from '../../src/modules/notifications/index.js';

t.test('a saved search fires once for a matching new listing and not for others', async (t) => {
  const { app, config } = await startApp(t);
  const [owner, other, seller] = await Promise.all([user(app, config), user(app, config), user(app, config)]);
  const co = await loggedIn(app, owner.email);
  const word = `맥북${uniq()}`;
  const page = await co.get(`/search?q=${encodeURIComponent(word)}`);
  t.match(page.body, 'data-testid="save-search"', 'the button on the search page');
  t.match(page.body, '이 검색 알림 받기');
  const saved = await co.post('/alerts', { path: '/search', query: `q=${encodeURIComponent(word)}&max=2000000` });
  t.equal(saved.statusCode, 303);
  t.equal(saved.headers.location, `/search?q=${encodeURIComponent(word)}&max=2000000`);
  t.equal(
    (await co.post('/alerts', { path: '/search', query: `q=${encodeURIComponent(word)}&max=2000000` })).statusCode,
    303,
  );
  t.equal(await app.db.savedSearch.count({ where: { userId: owner.id } }), 1, 'the same search is saved once');
  // Searches of the owner's on the category page: one that also matches the first listing (still one
  // notification), one that matches only the second, one that matches neither. Their prices are this
  // test's own: other test files list GOOD items in the same category at the same time, and a
  // category search at any price would tell the owner about those too.
  const n = (parseInt(uniq(), 16) % 99_991) + 1;
  const [hitPrice, missPrice] = [900_000 + n, 3_000_000 + n];
  const cat = await app.db.category.findFirstOrThrow({ where: { parentId: { not: null } }, orderBy: { id: 'asc' } });
  const parent = await app.db.category.findUniqueOrThrow({ where: { id: cat.parentId! } });
  await co.get(`/c/${parent.slug}`);
  t.equal((await co.post('/alerts', { path: `/c/${parent.slug}`, query: 'max=1000' })).statusCode, 303);
  for (const price of [hitPrice, missPrice])
    t.equal(
      (await co.post('/alerts', { path: `/c/${parent.slug}`, query: `condition=GOOD&min=${price}&max=${price}` }))
        .statusCode,
      303,
    );
  // Someone else's search for another word.
  const cx = await loggedIn(app, other.email);
  await cx.get('/search');
  t.equal((await cx.post('/alerts', { path: '/search', query: `q=아이패드${uniq()}` })).statusCode, 303);

  const hit = await auction(app, { sellerId: seller.id, title: `${word} 프로 14인치`, startPrice: hitPrice });
  const miss = await auction(app, { sellerId: seller.id, title: `전혀 다른 물건 ${uniq()}`, startPrice: missPrice });
  t.ok(
    await waitFor(async () => (await app.db.notification.count({ where: { userId: owner.id, kind: 'alert' } })) >= 1),
    'the owner is told',
  );
  // The category page searches (condition GOOD at each listing's price) match both listings of the helper's category.
  await waitFor(async () => (await app.db.notification.count({ where: { userId: owner.id, kind: 'alert' } })) >= 2);
  const mine = await app.db.notification.findMany({
    where: { userId: owner.id, kind: 'alert' },
    orderBy: { id: 'asc' },
  });
  t.same(
    mine.map((n) => (n.params as { listingId: number }).listingId).sort(),
    [hit, miss].sort(),
    'one per listing (the first by the query, the second by the category search)',
  );
  // The event again (a second durable copy, the live one, a direct match): nothing new.
  const l = await app.db.listing.findUniqueOrThrow({ where: { id: hit } });
  await app.db.$transaction((tx) => app.events.enqueue(tx, listingPublished(hit, seller.id)));
  await app.events.emit(listingCreated(l));
  await notificationsOf(app).alerts.matchNew(hit, seller.id);
  const drained = () =>
    waitFor(
      async () =>
        (await app.db.outboxEvent.count({
          where: { namespace: config.redisPrefix, name: 'listing.published', deliveredAt: null, deadAt: null },
        })) === 0,
      10_000,
    );
  t.ok(await drained(), 'every listing.published delivered');
  t.equal(
    await app.db.notification.count({ where: { userId: owner.id, kind: 'alert' } }),
    2,
    'at most once per listing',
  );
  // Only the durable event, no live one (as when the creating process died right after its commit):
  // the relay still delivers it, and the owner is told.
  const lone = await app.db.$transaction(async (tx) => {
    const row = await tx.listing.create({
      data: {
        sellerId: seller.id,
        title: `${word} 에어 13인치`,
        description: '테스트 상품',
        categoryId: l.categoryId,
        condition: 'GOOD',
        startPrice: 500_000,
        startsAt: new Date(),
        endsAt: new Date(Date.now() + 3_600_000),
        durationDays: 1,
        status: 'LIVE',
        currentPrice: 500_000,
      },
    });
    await app.events.enqueue(tx, listingPublished(row.id, seller.id));
    return row.id;
  });
  t.ok(
    await waitFor(
      async () =>
        (await app.db.notification.count({
          where: { userId: owner.id, kind: 'alert', sourceKey: `alert:${lone}:${owner.id}` },
        })) === 1,
      10_000,
    ),
    'a listing whose only event is the durable one still tells the owner',
  );
  t.equal(await app.db.notification.count({ where: { userId: other.id, kind: 'alert' } }), 0, 'no match: nobody told');
  const inbox = await co.get('/notifications');
  t.match(inbox.body, `검색 알림: 새 상품 &quot;${word} 프로 14인치&quot;`);

  // The seller's own saved search does not tell them about their own listing.
  const cs = await loggedIn(app, seller.email);
  await cs.get('/search');
  await cs.post('/alerts', { path: '/search', query: `q=${encodeURIComponent(word)}` });
  await notificationsOf(app).alerts.matchNew(hit, seller.id);
  t.equal(await app.db.notification.count({ where: { userId: seller.id, kind: 'alert' } }), 0);
});

t.test('limits and bad input', async (t) => {
  const { app, config } = await startApp(t);
  const [u, v] = await Promise.all([user(app, config), user(app, config)]);
  const c = await loggedIn(app, u.email);
  await c.get('/search');
  for (let i = 0; i < 20; i++)
    t.equal((await c.post('/alerts', { path: '/search', query: `q=w${i}` })).statusCode, 303);
  const over = await c.post('/alerts', { path: '/search', query: 'q=one-more' });
  t.equal(over.statusCode, 422, 'the 21st is refused');
  t.match(over.body, '검색 알림은 20개까지 저장할 수 있어요.');
  t.equal(await app.db.savedSearch.count({ where: { userId: u.id } }), 20);
  t.equal((await c.post('/alerts', { path: 'https://evil.example/', query: 'q=x' })).statusCode, 400);
  t.equal((await c.post('/alerts', { path: '/search', query: `q=${'가'.repeat(101)}` })).statusCode, 400);
  t.equal((await c.post('/alerts', { path: '/search', query: 'x'.repeat(601) })).statusCode, 400);
  const list = await c.get('/alerts');
  t.equal(list.statusCode, 200);
  t.equal((list.body.match(/data-testid="alert"/g) ?? []).length, 20);
  const mine = await app.db.savedSearch.findFirstOrThrow({ where: { userId: u.id } });
  const cv = await loggedIn(app, v.email);
  await cv.get('/alerts');
  t.equal((await cv.post(`/alerts/${mine.id}/delete`, {})).statusCode, 404, "someone else's alert: 404");
  t.equal((await c.post(`/alerts/${mine.id}/delete`, {})).statusCode, 303);
  t.equal(await app.db.savedSearch.count({ where: { userId: u.id } }), 19);
  const anon = await app.inject({ method: 'GET', url: '/search?q=x' });
  t.notMatch(anon.body, 'data-testid="save-search"', 'no button when logged out');
});
