/**
 * "다시 올리기" on the real app: an unsold listing (no bids, or the reserve not met) becomes a new
 * live listing + auction with copies of the old photos (own files, never shared) and the old terms,
 * starting now for the old or a chosen duration. The old listing stays ended. Only the seller
 * (others: 404), only unsold listings (sold, live: 409), once per ended listing (409, nothing made).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  catalogApp,
  seller,
  phonesCategory,
  validFields,
  postMultipart,
  photo,
  jpeg,
  filesUnder,
} from '../helpers/catalog.js';
import { user, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';
import type { App } from '../../src/app.js';

async function sell(app: App, c: Awaited<ReturnType<typeof seller>>['c'], over: Record<string, string> = {}) {
  const cat = await phonesCategory(app);
  await c.get('/sell');
  const res = await postMultipart(c, '/sell', validFields(cat, over), [
    photo(await jpeg(640, 480, { r: 10, g: 200, b: 10 }), 'a.jpg'),
    photo(await jpeg(480, 640, { r: 200, g: 10, b: 10 }), 'b.jpg'),
  ]);
  if (res.statusCode !== 303) throw new Error(`sell failed ${res.statusCode}: ${res.body.slice(0, 500)}`);
  const id = Number(/\/items\/(\d+)/.exec(String(res.headers.location))![1]);
  const ok = await waitFor(async () => !!(await app.db.auction.findUnique({ where: { id } })), 10_000);
  if (!ok) throw new Error('no auction');
  return id;
}

/** Ends the auctions now (end moved into the past, bidding's own sweeper closes them). */
async function end(app: App, ids: number[]) {
  await app.db.$executeRaw`UPDATE auctions SET ends_at = now() WHERE id = ANY(${ids})`;
  // The first call may only wait for a sweep that began before the UPDATE; the second is a fresh one.
  await app.queues.runNow('auction-sweeper');
  await app.queues.runNow('auction-sweeper');
  const ok = await waitFor(
    async () =>
      (await app.db.listing.count({ where: { id: { in: ids }, status: { in: ['ENDED_SOLD', 'ENDED_UNSOLD'] } } })) ===
      ids.length,
    15_000,
  );
  if (!ok) throw new Error('not ended');
}

t.test('relist: unsold listings once, with copied photos and the old terms; refusals', async (t) => {
  const { app, config, storageDir } = await catalogApp(t);
  const s = await seller(app);
  const other = await seller(app);
  const bidder = await user(app, config, 1_000_000, 'rb');
  const bc = await loggedIn(app, bidder.email);

  const noBids = await sell(app, s.c, { buyNowPrice: '500000', durationDays: '3' });
  const reserve = await sell(app, s.c, { reservePrice: '400000' });
  const sold = await sell(app, s.c);
  const live = await sell(app, s.c);
  t.equal((await bid(bc, reserve, 300_000)).statusCode, 200, 'a bid below the reserve');
  t.equal((await bid(bc, sold, 300_000)).statusCode, 200, 'a bid that sells');
  await end(app, [noBids, reserve, sold]);
  const st = async (id: number) => (await app.db.listing.findUniqueOrThrow({ where: { id } })).status;
  t.equal(await st(noBids), 'ENDED_UNSOLD');
  t.equal(await st(reserve), 'ENDED_UNSOLD', 'reserve not met');
  t.equal(await st(sold), 'ENDED_SOLD');

  // The seller sees "다시 올리기" on the unsold item page and in my listings; nobody else does.
  const page = await s.c.get(`/items/${noBids}`);
  t.match(page.body, 'data-testid="relist"');
  t.match(page.body, '<option value="3" selected>', 'the old duration preselected');
  t.notMatch((await other.c.get(`/items/${noBids}`)).body, 'data-testid="relist"');
  t.notMatch((await s.c.get(`/items/${sold}`)).body, 'data-testid="relist"');
  const mine = await s.c.get('/my/listings');
  t.match(mine.body, `data-testid="relist-${noBids}"`);
  t.match(mine.body, `data-testid="relist-${reserve}"`);
  t.notMatch(mine.body, `data-testid="relist-${sold}"`);
  t.notMatch(mine.body, `data-testid="relist-${live}"`);

  // Refusals: someone else's (404), sold or live (409), a bad duration (422); nothing made.
  const before = await app.db.listing.count({ where: { sellerId: s.id } });
  const filesBefore = filesUnder(storageDir).length;
  await other.c.get('/my/listings');
  t.equal((await other.c.post(`/items/${noBids}/relist`, {})).statusCode, 404, "someone else's listing");
  await s.c.get(`/items/${sold}`);
  const soldR = await s.c.post(`/items/${sold}/relist`, {});
  t.equal(soldR.statusCode, 409, 'a sold listing');
  t.match(soldR.body, '낙찰 없이 끝난 상품만 다시 올릴 수 있어요.');
  t.equal((await s.c.post(`/items/${live}/relist`, {})).statusCode, 409, 'a live listing');
  t.equal((await s.c.post(`/items/${noBids}/relist`, { durationDays: '2' })).statusCode, 422, 'not a sell-form choice');
  t.equal(await app.db.listing.count({ where: { sellerId: s.id } }), before, 'no listing made');
  t.equal(filesUnder(storageDir).length, filesBefore, 'no file written');

  // Relist with the old duration (3 days) from the item page.
  await s.c.get(`/items/${noBids}`);
  const t0 = Date.now();
  const r1 = await s.c.post(`/items/${noBids}/relist`, {});
  t.equal(r1.statusCode, 303);
  const newId = Number(/\/items\/(\d+)/.exec(String(r1.headers.location))![1]);
  t.not(newId, noBids);
  const [oldL, newL] = await Promise.all(
    [noBids, newId].map((id) =>
      app.db.listing.findUniqueOrThrow({ where: { id }, include: { photos: { orderBy: { position: 'asc' } } } }),
    ),
  );
  t.equal(oldL.status, 'ENDED_UNSOLD', 'the old listing stays ended');
  t.match(newL, {
    sellerId: s.id,
    title: oldL.title,
    description: oldL.description,
    categoryId: oldL.categoryId,
    condition: oldL.condition,
    startPrice: oldL.startPrice,
    buyNowPrice: 500_000,
    reservePrice: oldL.reservePrice,
    durationDays: 3,
    status: 'LIVE',
    currentPrice: oldL.startPrice,
    bidCount: 0,
    relistedFromId: noBids,
  });
  t.ok(newL.startsAt.getTime() >= t0 - 1000 && newL.startsAt.getTime() <= Date.now(), 'starts now');
  t.equal(newL.endsAt.getTime() - newL.startsAt.getTime(), 3 * 86_400_000, 'the same duration');
  // Photos: same count, order, sizes; new rows and new files (copies), the old ones untouched.
  t.equal(newL.photos.length, 2);
  t.same(
    newL.photos.map((p) => [p.position, p.width, p.height, p.bytes]),
    oldL.photos.map((p) => [p.position, p.width, p.height, p.bytes]),
  );
  const keys = (ps: typeof oldL.photos) => ps.flatMap((p) => [p.thumbKey, p.cardKey, p.fullKey]);
  t.same(
    keys(newL.photos).filter((k) => keys(oldL.photos).includes(k)),
    [],
    'no file shared between the listings',
  );
  for (const k of [...keys(newL.photos), ...keys(oldL.photos)])
    t.ok(existsSync(path.join(storageDir, k)), `${k} on disk`);
  t.equal(filesUnder(storageDir).length, filesBefore + 6, 'six files copied');
  t.equal(newL.coverPhotoId, newL.photos[0].id, 'the cover is the copy of the old cover');
  // Bidding opened the new auction with the old terms (listing.created, as for any listing).
  t.ok(await waitFor(async () => !!(await app.db.auction.findUnique({ where: { id: newId } })), 10_000));
  const a = await app.db.auction.findUniqueOrThrow({ where: { id: newId } });
  t.match(a, {
    status: 'LIVE',
    startPrice: oldL.startPrice,
    buyNowPrice: 500_000,
    reservePrice: oldL.reservePrice,
    bidCount: 0,
  });
  t.equal(a.endsAt.getTime(), newL.endsAt.getTime());
  const shown = await bc.get(`/items/${newId}`);
  t.equal(shown.statusCode, 200);
  t.match(shown.body, `/media/${newL.photos[0].cardKey}`);

  // Once: a second relist of the same ended listing is refused; the page links to the copy.
  await s.c.get(`/items/${noBids}`);
  const again = await s.c.post(`/items/${noBids}/relist`, {});
  t.equal(again.statusCode, 409);
  t.match(again.body, '이미 다시 올렸어요');
  t.equal(await app.db.listing.count({ where: { relistedFromId: noBids } }), 1);
  t.match((await s.c.get(`/items/${noBids}`)).body, `href="/items/${newId}"`);
  t.notMatch((await s.c.get('/my/listings')).body, `data-testid="relist-${noBids}"`);

  // Reserve not met: relisted from my listings with another duration; the relist is itself a normal
  // listing (unsold again, it could be relisted once more).
  await s.c.get('/my/listings');
  const r2 = await s.c.post(`/items/${reserve}/relist`, { durationDays: '7' });
  t.equal(r2.statusCode, 303);
  const id2 = Number(/\/items\/(\d+)/.exec(String(r2.headers.location))![1]);
  const l2 = await app.db.listing.findUniqueOrThrow({ where: { id: id2 } });
  t.match(l2, { reservePrice: 400_000, durationDays: 7, status: 'LIVE', relistedFromId: reserve });
  t.equal(l2.endsAt.getTime() - l2.startsAt.getTime(), 7 * 86_400_000);

  // The old listing's files are still in place after everything above.
  const oldFiles = keys(oldL.photos).every((k) => existsSync(path.join(storageDir, k)));
  t.ok(oldFiles, 'old files intact');
  t.same(await ledgerViolations(app), []);
});

t.test("a close whose sale time lies before the listing's start still ends the listing", async (t) => {
  // The listing's start a minute ahead of the auction's end (clock skew between nodes, an auction
  // ended at once): the close copies its time onto the listing, which listings_ends_after_start
  // refused, rolling back the close itself (the auction stayed LIVE and the sweeper retried forever).
  const { app, config } = await catalogApp(t);
  const s = await seller(app);
  const bidder = await user(app, config, 1_000_000, 'sk');
  const bc = await loggedIn(app, bidder.email);
  const id = await sell(app, s.c);
  t.equal((await bid(bc, id, 300_000)).statusCode, 200, 'a bid that sells');
  await app.db
    .$executeRaw`UPDATE listings SET ends_at = now() + interval '2 minutes', starts_at = now() + interval '1 minute' WHERE id = ${id}`;
  await end(app, [id]);
  const l = await app.db.listing.findUniqueOrThrow({ where: { id } });
  const a = await app.db.auction.findUniqueOrThrow({ where: { id } });
  t.equal(a.status, 'ENDED', 'the auction closed');
  t.equal(a.outcome, 'SOLD');
  t.equal(l.status, 'ENDED_SOLD', 'the listing shows the sale');
  t.ok(l.endsAt.getTime() > l.startsAt.getTime(), 'its end kept after its start');
  t.ok(l.endsAt.getTime() - l.startsAt.getTime() < 1000, 'as close to the start as the rule allows');
  t.equal(l.currentPrice, a.finalPrice, 'at the final price');
  t.same(await ledgerViolations(app), [], 'the ledger still balances');
});
