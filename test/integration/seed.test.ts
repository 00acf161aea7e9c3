/**
 * The demo seed (issue 15 item 5), run as `npm run db:seed` runs it, on a database of its own:
 * consistent (members joined before they list or bid, conditions agree with descriptions, no
 * duplicate titles, bids rise and match the listing, the ledger balances), an order in every
 * state with reviews, the demo login and something in every my-page tab; idempotent; timed.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { verify } from '@node-rs/argon2';
import pg from 'pg';
import { ROOT, REDIS_URL, ownDatabase, tsNodeArgs } from '../helpers/env.js';
import { WORKS_WORDS } from '../../prisma/seed-items.js';

const run = promisify(execFile);

t.test('the seed: consistent, every order state, demo user in every tab, idempotent', async (t) => {
  const url = await ownDatabase(t);
  const storage = mkdtempSync(path.join(tmpdir(), 'dapanda-seed-'));
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: url,
    REDIS_URL,
    STORAGE_DIR: storage,
    SESSION_SECRET: 'seed-test-secret-'.padEnd(40, 'x'),
    LOG_LEVEL: 'silent',
  };
  const started = Date.now();
  const first = await run(process.execPath, tsNodeArgs('prisma/seed.ts'), { env, cwd: ROOT, timeout: 300_000 });
  const seconds = (Date.now() - started) / 1000;
  t.match(first.stdout, /seed: 11 accounts, \d+ listings/, first.stdout.trim());
  t.comment(`seed took ${seconds.toFixed(1)} s`);
  t.ok(seconds < 180, `the seed runs in under 3 minutes even on a loaded machine (${seconds.toFixed(1)} s)`);

  const db = new pg.Client({ connectionString: url });
  await db.connect();
  t.teardown(() => db.end());
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await db.query(sql, params)).rows as T[];

  const [{ n: listings }] = await q<{ n: number }>('SELECT count(*)::int AS n FROM listings');
  t.ok(listings >= 100, `${listings} listings`);
  t.same(await q('SELECT title FROM listings GROUP BY title HAVING count(*) > 1'), [], 'no duplicate titles');
  t.same(
    await q(`SELECT l.id, l.title FROM listings l JOIN users u ON u.id = l.seller_id
              WHERE u.created_at >= l.starts_at OR u.created_at >= l.created_at`),
    [],
    "every seller joined before their auction's start",
  );
  t.same(
    await q(`SELECT b.id FROM bids b JOIN users u ON u.id = b.bidder_id WHERE u.created_at >= b.created_at`),
    [],
    'every bidder joined before bidding',
  );
  t.same(
    await q(`SELECT b.id FROM bids b JOIN auctions a ON a.id = b.auction_id
              WHERE b.bidder_id = a.seller_id OR b.created_at < a.starts_at OR b.created_at > a.ends_at`),
    [],
    'no seller bids on their own item; bids fall inside the auction',
  );

  // Condition vs description.
  const rows = await q<{ title: string; description: string; condition: string }>(
    'SELECT title, description, condition::text AS condition FROM listings',
  );
  const parts = rows.filter((r) => r.condition === 'FOR_PARTS');
  t.ok(parts.length >= 3, `${parts.length} 고장/부품용 items`);
  t.same(
    parts.filter((r) => WORKS_WORDS.some((w) => r.description.includes(w))).map((r) => r.title),
    [],
    'no 고장/부품용 description says it works',
  );
  t.same(
    parts.filter((r) => !/고장|파손|안 |부품|녹슬|않아요/.test(r.description)).map((r) => r.title),
    [],
    'every 고장/부품용 description says what is wrong',
  );
  t.same(
    rows.filter((r) => /고장|파손|안 됨|안 남/.test(r.title) && r.condition !== 'FOR_PARTS').map((r) => r.title),
    [],
    'a title that says broken is listed as 고장/부품용',
  );
  t.same(
    rows
      .filter((r) => r.condition === 'NEW' && /사용감|기스|썼어요|입었어요|고장/.test(r.description))
      .map((r) => r.title),
    [],
    'a 새 상품 is not described as used',
  );
  t.same(
    rows.filter((r) => /미개봉|새 ?상품/.test(r.title) && r.condition !== 'NEW').map((r) => r.title),
    [],
    'a title that says unopened is listed as 새 상품',
  );
  const conditions = new Set(rows.map((r) => r.condition));
  t.same([...conditions].sort(), ['FAIR', 'FOR_PARTS', 'GOOD', 'LIKE_NEW', 'NEW'], 'every condition is used');

  // Prices and bids agree with bidding's view.
  t.same(
    await q(`SELECT l.id FROM listings l JOIN auctions a ON a.id = l.id
              LEFT JOIN LATERAL (SELECT max(amount) AS top, count(*)::int AS n FROM bids WHERE auction_id = l.id) b ON true
              WHERE l.current_price <> a.current_price OR l.bid_count <> a.bid_count OR b.n <> a.bid_count
                 OR (b.n > 0 AND b.top <> a.current_price) OR (b.n = 0 AND a.current_price <> a.start_price)`),
    [],
    'listing, auction and bid rows agree on price and count',
  );
  t.same(
    await q(`SELECT a.id FROM auctions a WHERE a.status = 'LIVE' AND a.leader_id IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM wallet_holds h WHERE h.reference = a.leader_hold_ref AND h.user_id = a.leader_id
                  AND h.status = 'HELD' AND h.amount = a.current_price)`),
    [],
    "every live leader's points are held",
  );
  t.same(await q('SELECT id FROM listings WHERE cover_photo_id IS NULL'), [], 'every listing has a photo');
  const keys = await q<{ card_key: string }>('SELECT card_key FROM photos LIMIT 20');
  t.ok(
    keys.every((k) => existsSync(path.join(storage, k.card_key))),
    'photo files are in storage',
  );

  // Orders: every state, the money where the state says, reviews of completed trades.
  const states = (await q<{ state: string }>('SELECT DISTINCT state::text AS state FROM orders')).map((r) => r.state);
  t.same(
    states.sort(),
    ['AWAITING_ADDRESS', 'AWAITING_SHIPMENT', 'CANCELLED', 'COMPLETED', 'DISPUTED', 'RECEIVED', 'SHIPPED'],
    'an order in each state',
  );
  t.same(
    await q(`SELECT o.id, o.state, e.status FROM orders o JOIN wallet_escrows e ON e.order_id = o.id
              WHERE (o.state = 'COMPLETED' AND e.status <> 'RELEASED') OR (o.state = 'CANCELLED' AND e.status <> 'REFUNDED')
                 OR (o.state NOT IN ('COMPLETED', 'CANCELLED') AND e.status <> 'HELD')`),
    [],
    'escrow released for completed, refunded for cancelled, held otherwise',
  );
  t.same(
    await q(`SELECT o.id FROM orders o JOIN auctions a ON a.id = o.auction_id JOIN listings l ON l.id = o.listing_id
              WHERE a.outcome <> 'SOLD' OR a.winner_id <> o.buyer_id OR a.final_price <> o.price
                 OR l.status <> 'ENDED_SOLD' OR o.created_at < l.ends_at`),
    [],
    'each order belongs to a sold auction, its winner and its price',
  );
  t.same(
    await q(`SELECT o.id FROM orders o WHERE o.state = 'COMPLETED'
              AND (SELECT count(*) FROM order_reviews r WHERE r.order_id = o.id) <> 2`),
    [],
    'completed trades are reviewed by both sides',
  );
  t.same(
    await q(
      `SELECT id FROM orders WHERE state = 'DISPUTED' AND NOT EXISTS (SELECT 1 FROM order_disputes d WHERE d.order_id = orders.id)`,
    ),
    [],
    'disputed orders have their dispute',
  );
  const [{ total }] = await q<{ total: string }>('SELECT COALESCE(sum(amount), 0)::text AS total FROM ledger_entries');
  t.equal(total, '0', 'the ledger balances');
  t.same(
    await q('SELECT id FROM wallet_accounts WHERE balance < 0 AND user_id IS NOT NULL'),
    [],
    'no negative user balance',
  );

  // The demo login, and something in every my-page tab.
  const [demo] = await q<{ id: number; password_hash: string }>(
    `SELECT id, password_hash FROM users WHERE email = 'demo@dapanda.kr'`,
  );
  t.ok(await verify(demo.password_hash, 'dapanda-demo-1234'), 'demo@dapanda.kr / dapanda-demo-1234 works');
  const count = async (sql: string) => (await q<{ n: number }>(sql, [demo.id]))[0].n;
  t.ok(
    await count(`SELECT count(*)::int AS n FROM auctions WHERE status = 'LIVE' AND leader_id = $1`),
    'demo leads live auctions',
  );
  t.ok(
    await count(`SELECT count(DISTINCT a.id)::int AS n FROM auctions a JOIN bids b ON b.auction_id = a.id
                  WHERE a.status = 'LIVE' AND b.bidder_id = $1 AND a.leader_id <> $1`),
    'demo has been outbid somewhere',
  );
  t.ok((await count(`SELECT count(*)::int AS n FROM orders WHERE buyer_id = $1`)) >= 3, 'demo has purchases (won)');
  t.ok(await count(`SELECT count(*)::int AS n FROM orders WHERE seller_id = $1`), 'demo has sales');
  t.ok(
    await count(`SELECT count(*)::int AS n FROM orders WHERE seller_id = $1 AND state = 'COMPLETED'`),
    'demo has a settlement',
  );
  t.ok(await count(`SELECT count(*)::int AS n FROM listings WHERE seller_id = $1 AND status = 'LIVE'`), 'demo sells');
  t.ok(await count(`SELECT count(*)::int AS n FROM watches WHERE user_id = $1`), 'demo watches auctions');
  t.ok(await count(`SELECT count(*)::int AS n FROM order_addresses WHERE user_id = $1`), 'demo has an address');
  t.ok(
    await count(
      `SELECT COALESCE(sum(balance), 0)::int AS n FROM wallet_accounts WHERE user_id = $1 AND kind = 'USER_AVAILABLE'`,
    ),
    'demo has points',
  );

  // Idempotent: a second run adds nothing.
  const before = await q(
    'SELECT (SELECT count(*) FROM listings) l, (SELECT count(*) FROM bids) b, (SELECT count(*) FROM orders) o, (SELECT count(*) FROM users) u',
  );
  const second = await run(process.execPath, tsNodeArgs('prisma/seed.ts'), { env, cwd: ROOT, timeout: 120_000 });
  t.match(second.stdout, 'nothing to do');
  t.same(
    await q(
      'SELECT (SELECT count(*) FROM listings) l, (SELECT count(*) FROM bids) b, (SELECT count(*) FROM orders) o, (SELECT count(*) FROM users) u',
    ),
    before,
    'the second run changed nothing',
  );
});
