/** Home sections, my listings, and the bidding-facing API (start/close queries). */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { uniq } from '../helpers/env.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { catalogApi } from '../../src/modules/catalog/index.js';

t.test('home shows ending soon, new and most-bid sections with cards; my listings needs a login', async (t) => {
  const { app } = await startApp(t);
  const u = uniq();
  const pw = 'a good long password';
  const seller = await createUserDirect(app.db, { email: `h${u}@example.com`, nickname: `h${u}`, password: pw });
  const cat = (await app.db.category.findUniqueOrThrow({ where: { slug: 'toys' } })).id;
  const now = Date.now();
  const base = {
    sellerId: seller.id,
    description: '설명',
    categoryId: cat,
    condition: 'GOOD' as const,
    startPrice: 1000,
    durationDays: 1,
    startsAt: new Date(now - 60_000),
  };
  const soon = await app.db.listing.create({
    data: { ...base, title: `곧끝남 ${u}`, currentPrice: 1000, endsAt: new Date(now + 60_000), status: 'LIVE' },
  });
  const hot = await app.db.listing.create({
    data: {
      ...base,
      title: `인기 ${u}`,
      currentPrice: 55000,
      bidCount: 9999,
      endsAt: new Date(now + 86400_000 * 20),
      status: 'LIVE',
    },
  });
  const c = new Client(app);
  const home = await c.get('/');
  t.match(home.body, '원하는 가격, 정해진 마감.', 'the hero stays');
  t.match(home.body, '곧 마감되는 경매');
  t.match(home.body, '입찰이 많은 경매');
  t.match(home.body, '새로 올라온 물건');
  t.match(home.body, `href="/items/${soon.id}"`);
  t.match(home.body, `href="/items/${hot.id}"`);
  t.match(home.body, '55,000원');
  t.match(home.body, '입찰 9999회');
  t.match(home.body, /1분 남음/);
  const anon = await c.get('/my/listings');
  t.equal(anon.statusCode, 303, `login first (got ${anon.statusCode} ${anon.body.slice(0, 200)})`);
  await c.login(`h${u}@example.com`, pw);
  const mine = await c.get('/my/listings');
  t.equal(mine.statusCode, 200);
  t.match(mine.body, '2개의 경매');
  t.match(mine.body, `곧끝남 ${u}`);

  const api = catalogApi(app.db);
  const got = await api.getListingForAuction(hot.id);
  t.equal(got?.currentPrice, 55000);
});
