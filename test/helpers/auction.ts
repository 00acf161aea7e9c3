/**
 * Bidding test helpers: short auctions (seconds, not days) created as the catalog stores
 * listings, opened by the real `listing.created` listener; funded bidders through the wallet's
 * real top-up path; and a form client for bids.
 */
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { listingCreated, listingPublished } from '../../src/modules/catalog/index.js';
import { TEST_PASSWORD_HASHING, uniq } from './env.js';
import { fund, walletDeps } from './wallet.js';
import { Client } from './app.js';

export const PASSWORD = 'bidding test password';

export async function user(app: App, config: Config, points = 0, prefix = 'b') {
  const u = uniq();
  const row = await createUserDirect(
    app.db,
    { email: `${prefix}${u}@example.com`, nickname: `${prefix}${u}`, password: PASSWORD },
    TEST_PASSWORD_HASHING,
  );
  if (points > 0) await fund(walletDeps(app, config), row.id, points);
  return row;
}

export interface AuctionOpts {
  sellerId: number;
  startPrice?: number;
  reservePrice?: number | null;
  buyNowPrice?: number | null;
  /** When it ends, from now (ms). */
  endsInMs?: number;
  /** When it starts, from now (ms); 0 = live at once. */
  startsInMs?: number;
  title?: string;
}

/** A listing as the catalog stores it, opened as an auction by bidding's own listener. Returns the id once the auction exists. */
export async function auction(app: App, o: AuctionOpts): Promise<number> {
  const category = await app.db.category.findFirstOrThrow({
    where: { parentId: { not: null } },
    orderBy: { id: 'asc' },
  });
  const now = Date.now();
  const startsAt = new Date(now + (o.startsInMs ?? 0));
  const endsAt = new Date(now + (o.endsInMs ?? 10 * 60_000));
  const startPrice = o.startPrice ?? 10_000;
  // As catalog's createListing: the durable `listing.published` commits with the row (keyword alerts).
  const l = await app.db.$transaction(async (tx) => {
    const row = await tx.listing.create({
      data: {
        sellerId: o.sellerId,
        title: o.title ?? `경매 테스트 ${uniq()}`,
        description: '테스트 상품',
        categoryId: category.id,
        condition: 'GOOD',
        startPrice,
        buyNowPrice: o.buyNowPrice ?? null,
        reservePrice: o.reservePrice ?? null,
        startsAt,
        endsAt,
        durationDays: 1,
        status: o.startsInMs ? 'SCHEDULED' : 'LIVE',
        currentPrice: startPrice,
      },
    });
    await app.events.enqueue(tx, listingPublished(row.id, row.sellerId));
    return row;
  });
  await app.events.emit(listingCreated(l));
  for (let i = 0; i < 100; i++) {
    if (await app.db.auction.findUnique({ where: { id: l.id }, select: { id: true } })) return l.id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`auction ${l.id} was not opened by the listing.created listener`);
}

/** A logged-in browser-like client for a user created with PASSWORD. */
export async function loggedIn(app: App, email: string): Promise<Client> {
  const c = new Client(app);
  const res = await c.login(email, PASSWORD);
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode}`);
  // Follow the redirect as a browser does: the landing page carries the token bound to this user
  // (the login form's token was the anonymous visitor's).
  await c.get(String(res.headers.location ?? '/'));
  return c;
}

/** Places a bid through the HTTP form (htmx flavour: the panel fragment comes back). */
export async function bid(c: Client, auctionId: number, amount: number | string, requestKey?: string) {
  await c.get(`/items/${auctionId}/bid-panel`);
  return c.post(
    `/items/${auctionId}/bids`,
    { amount: String(amount), ...(requestKey ? { requestKey } : {}) },
    { 'hx-request': 'true' },
  );
}

export async function balances(app: App, userId: number) {
  const rows = await app.db.$queryRaw<
    { key: string; balance: bigint }[]
  >`SELECT key, balance FROM wallet_accounts WHERE user_id = ${userId}`;
  const get = (suffix: string) => Number(rows.find((r) => r.key.endsWith(suffix))?.balance ?? 0n);
  return { available: get(':available'), held: get(':held') };
}

/**
 * Available points, and held + escrow points, of a user in one statement: after a SOLD close the
 * orders module (a durable consumer of auction.closed) moves the winner's hold into the order's
 * escrow moments later, so "the winner holds the final price" is held or escrow, never both.
 */
export async function committed(app: App, userId: number) {
  const [r] = await app.db.$queryRaw<{ available: bigint; committed: bigint }[]>`
    SELECT COALESCE(SUM(balance) FILTER (WHERE kind = 'USER_AVAILABLE'), 0)::bigint AS available,
           COALESCE(SUM(balance) FILTER (WHERE kind IN ('USER_HELD', 'ESCROW')), 0)::bigint AS committed
      FROM wallet_accounts WHERE user_id = ${userId}`;
  return { available: Number(r.available), heldOrEscrow: Number(r.committed) };
}

export async function waitFor(fn: () => Promise<boolean>, ms = 10_000, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, every));
  }
  return false;
}
