/**
 * npm run migrate:env -- copy, cutover, rollback between two environments on the shared
 * PostgreSQL (two databases: the pg_dump path with its final incremental copy) — source photos on
 * local disk, target on S3 (s3rver), one REDIS_PREFIX (the outbox namespace) on two Redis
 * databases, a small proxy standing in for the load balancer (it sends each request where the
 * upstream file the tool rewrites says). Bids are placed and auctions close DURING copy; then:
 * - maintenance on the source: writes 503 with the message, pages 200 with the banner in both
 *   languages; the window printed is the pause a prober through the load balancer saw, and every
 *   open auction (2000 more than the traffic's) ends on the target later by at least that pause;
 * - a plain verify after cutover names only the rows the target wrote since (the clock move is
 *   accounted for);
 * - after cutover no auction closed twice, no order timer fired twice, no accepted bid missing,
 *   an auction that ended inside the window closes once on the target after it, new ids on the
 *   target never reuse one of the source's;
 * - after traffic on the target (bids, a new listing, a top-up) a rollback without the source's
 *   superuser refuses and names exactly those rows; with it, it copies them back and verify passes.
 */
import t from 'tap';
import http from 'node:http';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import S3rver from 's3rver';
import { startApp } from '../helpers/app.js';
import { PG_BASE, roleUrls, uniq, ROOT, REDIS_URL } from '../helpers/env.js';
import { applyMigrations } from '../../src/core/db/migrate.js';
import { seller, phonesCategory, validFields, postMultipart, photo, jpeg } from '../helpers/catalog.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { fund, walletDeps } from '../helpers/wallet.js';
import { main } from '../../scripts/migrate/cli.js';

const BUCKET = 'dapanda-cut-photos';
const work = mkdtempSync(path.join(tmpdir(), 'dapanda-cut-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: path.join(work, 's3'),
  configureBuckets: [{ name: BUCKET, configs: [] }],
});
const s3port = ((await server.run()) as AddressInfo).port;
t.teardown(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

const id = uniq();
const dbs = { src: `dapanda_migrate_src_${id}`, dst: `dapanda_migrate_dst_${id}` };
const urls = { src: roleUrls(dbs.src), dst: roleUrls(dbs.dst) };
await applyMigrations({ databaseUrl: urls.src.migrator, prismaDir: path.join(ROOT, 'prisma') });
await applyMigrations({ databaseUrl: urls.dst.migrator, prismaDir: path.join(ROOT, 'prisma') });
t.teardown(async () => {
  const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  for (const d of Object.values(dbs)) await c.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
  await c.end();
});

// One prefix (the outbox namespace moves with the data), two Redis databases (queues never shared).
const prefix = `tmig_${id}`;
const s3env = {
  STORAGE: 's3',
  S3_BUCKET: BUCKET,
  S3_ENDPOINT: `http://127.0.0.1:${s3port}`,
  S3_REGION: 'ap-northeast-2',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
};
const timing = {
  SOFT_CLOSE_SECONDS: '0',
  MAINTENANCE_POLL_MS: '200',
  AUCTION_SWEEP_MS: '500',
  ORDER_SWEEP_MS: '500',
  REDIS_PREFIX: prefix,
};
const srcPhotos = path.join(work, 'photos');
const src = await startApp(t, { DATABASE_URL: urls.src.app, STORAGE_DIR: srcPhotos, ...timing });
const dst = await startApp(t, {
  DATABASE_URL: urls.dst.app,
  REDIS_URL: `${REDIS_URL.replace(/\/\d*$/, '')}/1`,
  ...timing,
  ...s3env,
});
await src.app.listen({ port: 0, host: '127.0.0.1' });
await dst.app.listen({ port: 0, host: '127.0.0.1' });
const hostPort = (a: typeof src.app) => `127.0.0.1:${(a.server.address() as AddressInfo).port}`;

// The load balancer: forwards to the `server host:port;` of the upstream file the tool writes.
const upstreamFile = path.join(work, 'upstream.conf');
const reloads = path.join(work, 'reloads.log');
writeFileSync(upstreamFile, `upstream dapanda_app {\n  server ${hostPort(src.app)};\n}\n`);
const proxy = http.createServer((req, res) => {
  const to = /server\s+([^\s;]+)/.exec(readFileSync(upstreamFile, 'utf8'))![1];
  const [host, port] = to.split(':');
  const up = http.request({ host, port, path: req.url, method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, { ...r.headers, 'x-upstream': to });
    r.pipe(res);
  });
  up.on('error', () => res.writeHead(502).end());
  req.pipe(up);
});
await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
t.teardown(() => new Promise<void>((r) => proxy.close(() => r())));
const lbUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

const envFile = (name: string, lines: Record<string, string>) => {
  const f = path.join(work, `${name}.env`);
  writeFileSync(
    f,
    Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  return f;
};
const fromLines = {
  DATABASE_URL: urls.src.app,
  MIGRATE_DATABASE_URL: urls.src.migrator,
  DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.src}`,
  REDIS_URL: src.config.redisUrl,
  REDIS_PREFIX: prefix,
  MAINTENANCE_POLL_MS: '200',
  STORAGE: 'local',
  DAPANDA_STORAGE_DIR: srcPhotos,
  DAPANDA_APP_URL: `http://${hostPort(src.app)}`,
  DAPANDA_UPSTREAM: hostPort(src.app),
  DAPANDA_LB_UPSTREAM_FILE: upstreamFile,
  DAPANDA_LB_RELOAD: `echo "reload $DAPANDA_LB_SIDE $DAPANDA_LB_TO" >> ${reloads}`,
};
const from = envFile('onprem', fromLines);
const to = envFile('cloud', {
  DATABASE_URL: urls.dst.app,
  MIGRATE_DATABASE_URL: urls.dst.migrator,
  DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.dst}`,
  REDIS_URL: dst.config.redisUrl,
  REDIS_PREFIX: prefix,
  MAINTENANCE_POLL_MS: '200',
  ...s3env,
  DAPANDA_APP_URL: `http://${hostPort(dst.app)}`,
  DAPANDA_UPSTREAM: hostPort(dst.app),
});
const stateDir = path.join(work, 'state');
const run = (step: string, ...more: string[]) =>
  main([step, '--from', from, '--to', to, '--state', stateDir, '--quiet', '--jobs', '2', ...more]);
const state = () => JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8'));
const logTail = (n = 15) => readFileSync(path.join(stateDir, 'migrate.log'), 'utf8').split('\n').slice(-n).join('\n');
const q = async <T extends pg.QueryResultRow>(db: string, sql: string, params: unknown[] = []) => {
  const c = new pg.Client({ connectionString: `${PG_BASE}/${db}` });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
};
// The load shedder may answer 503 on a busy shared machine: a few tries.
const retry = async <T>(fn: () => Promise<T>): Promise<T> => {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 5) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
};

t.test('copy under traffic, cutover, rollback', async (t) => {
  const s = await retry(() => seller(src.app));
  const cat = await phonesCategory(src.app);
  const res = await postMultipart(s.c, '/sell', validFields(cat), [photo(await jpeg(640, 480))]);
  t.equal(res.statusCode, 303, 'a listing with a photo on the source');
  const sellerRow = await retry(() => user(src.app, src.config, 0, 'cs'));
  const bidders = [
    await retry(() => user(src.app, src.config, 2_000_000, 'cb')),
    await retry(() => user(src.app, src.config, 2_000_000, 'cb')),
  ];
  const clients = [
    await retry(() => loggedIn(src.app, bidders[0].email)),
    await retry(() => loggedIn(src.app, bidders[1].email)),
  ];
  // Two close during copy, two stay live through cutover.
  const closing = [
    await retry(() => auction(src.app, { sellerId: sellerRow.id, endsInMs: 2500 })),
    await retry(() => auction(src.app, { sellerId: sellerRow.id, endsInMs: 4500 })),
  ];
  const live = [
    await retry(() => auction(src.app, { sellerId: sellerRow.id, endsInMs: 20 * 60_000 })),
    await retry(() => auction(src.app, { sellerId: sellerRow.id, endsInMs: 20 * 60_000 })),
  ];
  // Many open auctions (no bids): the clock move at resume must stay quick and move every one.
  const BULK = 2000;
  await q(
    dbs.src,
    `WITH c AS (SELECT min(id) AS id FROM categories WHERE parent_id IS NOT NULL),
          l AS (
            INSERT INTO listings (seller_id, title, description, category_id, condition, start_price, starts_at, ends_at,
                                  duration_days, status, current_price, bid_count, created_at, updated_at)
            SELECT $1, '대량 경매 ' || i, repeat('상태 좋은 중고 물품 good used item ', 1 + i % 5) || i, c.id, 'GOOD', 10000,
                   now() - interval '1 hour', now() + make_interval(hours => 3 + i % 300), 14, 'LIVE', 10000, 0,
                   now() - interval '2 hours', now() - interval '1 hour'
              FROM generate_series(1, $2::int) AS i, c
            RETURNING id, seller_id, starts_at, ends_at)
     INSERT INTO auctions (id, seller_id, status, start_price, current_price, bid_count, starts_at, ends_at,
                           original_ends_at, created_at, updated_at)
     SELECT id, seller_id, 'LIVE', 10000, 10000, 0, starts_at, ends_at, ends_at, starts_at, now() - interval '1 hour' FROM l`,
    [sellerRow.id, BULK],
  );
  const accepted: { auction: number; bidder: number; amount: number }[] = [];
  let price = 10_000;
  const bidOnce = async (i: number, a: number) => {
    price += 1000;
    const r = await bid(clients[i], a, price).catch(() => null);
    if (r?.statusCode === 200) accepted.push({ auction: a, bidder: bidders[i].id, amount: price });
  };
  // Each short auction gets a bid (so it closes SOLD and makes an order); a busy machine may shed one.
  for (const a of closing) for (let i = 0; i < 5 && !accepted.some((x) => x.auction === a); i++) await bidOnce(0, a);

  // copy while bids go on and the two short auctions close.
  let copying = true;
  const traffic = (async () => {
    let n = 0;
    while (copying || n < 6) {
      await bidOnce(n % 2, live[n % 2]);
      if (n < 2) await bidOnce((n + 1) % 2, closing[n]);
      n++;
    }
  })();
  t.equal(await run('plan'), 0, `plan GO\n${logTail(4)}`);
  const copied = await run('copy');
  copying = false;
  await traffic;
  t.equal(copied, 0, `copy done\n${logTail()}`);
  t.ok(
    await waitFor(async () => {
      const r = await q<{ n: string }>(
        dbs.src,
        `SELECT count(*) AS n FROM auctions WHERE id = ANY($1) AND status = 'ENDED'`,
        [closing],
      );
      return Number(r[0].n) === 2;
    }, 30_000),
    'the short auctions closed on the source (during or just after copy)',
  );
  t.ok(accepted.length >= 6, `${accepted.length} bids accepted while copying`);

  // An order timer due inside the window (moved by the pause, fired on the target after it).
  const order = await waitFor(
    async () => (await q(dbs.src, `SELECT 1 FROM orders WHERE auction_id = ANY($1)`, [closing])).length > 0,
    60_000,
  );
  t.ok(order, 'an order was made from a sold auction');
  const [ord] = await q<{ id: number }>(
    dbs.src,
    `SELECT id FROM orders WHERE auction_id = ANY($1) ORDER BY id LIMIT 1`,
    [closing],
  );
  // An auction that ends inside the read-only window.
  const inWindow = await retry(() => auction(src.app, { sellerId: sellerRow.id, endsInMs: 1500 }));
  await q(dbs.src, `UPDATE orders SET remind_at = now() + interval '1 second', reminded_at = NULL WHERE id = $1`, [
    ord.id,
  ]);
  const maxSrc = async (table: string) =>
    Number((await q<{ m: string }>(dbs.src, `SELECT coalesce(max(id), 0) AS m FROM ${table}`))[0].m);

  await t.test('cutover: window measured, timers and clocks moved, LB switched', async (t) => {
    const srcEnds = new Map(
      (
        await q<{ id: number; ends_at: Date }>(
          dbs.src,
          `SELECT id, ends_at FROM auctions WHERE status IN ('LIVE','SCHEDULED')`,
        )
      ).map((r) => [r.id, r.ends_at.getTime()]),
    );
    // What shoppers see through the load balancer while cutover runs: a write answered 503 with
    // the maintenance Retry-After (paused) or anything else (open), with when it was sent and answered.
    const probes: { sent: number; got: number; paused: boolean }[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const sent = Date.now();
        const r = await fetch(`${lbUrl}/sell`, { method: 'POST', redirect: 'manual' }).catch(() => null);
        if (r) {
          await r.arrayBuffer();
          // Another 503 (the load shedder on a busy machine) says nothing either way.
          if (r.status !== 503 || r.headers.get('retry-after') === '60')
            probes.push({ sent, got: Date.now(), paused: r.status === 503 });
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const seen = async (ok: () => boolean) => {
      for (let i = 0; i < 300 && !ok(); i++) await new Promise((res) => setTimeout(res, 50));
    };
    await seen(() => probes.some((p) => !p.paused)); // open before the window
    const code = await run('cutover', '--pages', '6');
    // The target's apps read the switch every 200 ms: probe until an open answer after the pause.
    await seen(() => probes.length > 0 && !probes[probes.length - 1].paused && probes.some((p) => p.paused));
    probing = false;
    await probe;
    t.equal(code, 0, `cutover done\n${logTail(25)}`);
    const cut = state().cutover;
    t.equal(cut.phase, 'resumed');
    t.ok(cut.windowSeconds > 0 && cut.windowSeconds < 120, `read-only window ${cut.windowSeconds} s`);
    const cutLog = readFileSync(path.join(stateDir, 'migrate.log'), 'utf8');
    t.match(cutLog, /DONE: read-only window [\d.]+ s/);
    const printed = Number(/DONE: read-only window ([\d.]+) s/.exec(cutLog)![1]);
    t.equal(
      printed,
      Number(((new Date(cut.resumedAt).getTime() - new Date(cut.pausedAt).getTime()) / 1000).toFixed(1)),
      'the window printed is pausedAt → the commit that turned maintenance off on the target',
    );
    // The real pause as the probes saw it: between the last open answer before the first paused one
    // and the first open one after the last paused one. lo/hi bound it (a request's time in flight).
    const first = probes.findIndex((p) => p.paused);
    const last = probes.findLastIndex((p) => p.paused);
    const seq = probes.map((p) => (p.paused ? 'P' : 'o')).join('');
    t.ok(first > 0 && last < probes.length - 1, `the probes saw open, paused, open (${seq})`);
    const before = probes[first - 1];
    const after = probes[last + 1];
    const lo = after.sent - before.got;
    const hi = after.got - before.sent;
    // The apps see the switch up to MAINTENANCE_POLL_MS (200) late on both ends; a busy machine adds a little.
    const tol = 200 + 500;
    t.ok(
      printed * 1000 >= lo - tol && printed * 1000 <= hi + tol,
      `the printed window ${printed} s is the pause the probes saw (${lo}..${hi} ms, ±${tol} ms)`,
    );
    t.equal(
      JSON.parse(readFileSync(path.join(stateDir, 'cutover-verify.json'), 'utf8')).pass,
      true,
      'final verify PASS',
    );
    t.equal(await run('cutover'), 0, 'a second cutover says it is done');

    // Clocks: every open auction (and its listing) ends the same shift later on the target, at
    // least the real pause (and the apps' poll), at most a few seconds more.
    const dstEnds = await q<{ id: number; ends_at: Date; l_ends_at: Date }>(
      dbs.dst,
      `SELECT a.id, a.ends_at, l.ends_at AS l_ends_at FROM auctions a JOIN listings l ON l.id = a.id WHERE a.id = ANY($1)`,
      [[...srcEnds.keys()]],
    );
    t.ok(dstEnds.length >= BULK + 2, `${dstEnds.length} open auctions on the target`);
    const shift = cut.shiftMs as number;
    t.ok(
      shift >= cut.windowSeconds * 1000 + 200 && shift >= hi,
      `the shift ${shift} ms covers the window (${cut.windowSeconds} s) + the 200 ms poll and the pause seen (<= ${hi} ms)`,
    );
    t.ok(shift <= cut.windowSeconds * 1000 + 200 + 5000, `and exceeds it by a margin only (${shift} ms)`);
    const off = dstEnds.filter(
      (r) =>
        r.id !== inWindow &&
        (r.ends_at.getTime() - srcEnds.get(r.id)! !== shift || r.l_ends_at.getTime() !== r.ends_at.getTime()),
    );
    t.same(off.slice(0, 5), [], `every open auction and its listing ends ${shift} ms later (${dstEnds.length - 1})`);
    const moved = /target live: (\d+) auctions, (\d+) listings/.exec(cutLog)!.slice(1).map(Number);
    t.ok(moved[0] >= BULK + 2, `${moved[0]} auctions moved in the resume transaction`);
    // The in-window auction may close on the target before the batch reaches its listing (the close wrote it).
    t.ok(moved[1] >= moved[0] - 1 && moved[1] <= moved[0], `${moved[1]} listings moved after the switch`);

    // Load balancer.
    t.match(readFileSync(upstreamFile, 'utf8'), `server ${hostPort(dst.app)};`, 'upstream file names the target');
    t.match(readFileSync(reloads, 'utf8'), `reload target ${hostPort(dst.app)}`, 'reload command ran');
    const viaLb = await fetch(`${lbUrl}/`);
    t.equal(viaLb.headers.get('x-upstream'), hostPort(dst.app), 'traffic goes to the target');
    t.equal(viaLb.status, 200);

    // The auction that ended inside the window closes once, on the target, after it.
    t.ok(
      await waitFor(
        async () =>
          (await q(dbs.dst, `SELECT 1 FROM auctions WHERE id = $1 AND status = 'ENDED'`, [inWindow])).length > 0,
        30_000,
      ),
      'the in-window auction closed on the target',
    );
    const [iw] = await q<{ closed_at: Date }>(dbs.dst, `SELECT closed_at FROM auctions WHERE id = $1`, [inWindow]);
    t.ok(iw.closed_at.getTime() >= new Date(cut.resumedAt).getTime() - 50, 'closed after the window, not in it');
    const srcIw = await q<{ status: string }>(dbs.src, `SELECT status FROM auctions WHERE id = $1`, [inWindow]);
    t.equal(srcIw[0].status, 'LIVE', 'the paused source did not close it');

    // The order reminder due inside the window fires on the target, once.
    t.ok(
      await waitFor(
        async () =>
          (await q(dbs.dst, `SELECT 1 FROM orders WHERE id = $1 AND reminded_at IS NOT NULL`, [ord.id])).length > 0,
        30_000,
      ),
      'the order reminder fired on the target',
    );

    // A plain verify now: the clock move is accounted for (the source compared as if moved), so the
    // only rows named are what the target itself wrote since: the in-window close and the reminder.
    t.equal(await run('verify', '--pages', '0'), 1, 'verify after cutover: the target wrote since');
    const checks = JSON.parse(readFileSync(path.join(stateDir, 'verify.json'), 'utf8')).checks as {
      name: string;
      pass: boolean;
      detail: string;
    }[];
    const changed = (table: string) => {
      const c = checks.find((x) => x.name === `table ${table}`)!;
      return c.pass ? [] : /changed \d+ \[([^\]]*)\]/.exec(c.detail)![1].split(' ').filter(Boolean);
    };
    t.same(changed('auctions'), [`(${inWindow})`], 'auctions: only the one that closed on the target');
    t.same(changed('listings'), [`(${inWindow})`], 'listings: only that one');
    t.same(changed('orders'), [`(${ord.id})`], 'orders: only the reminded one');
    t.match(logTail(80), /compared as if moved the same way/);
  });

  await t.test('maintenance mode on the (read-only) source', async (t) => {
    const page = await fetch(`http://${hostPort(src.app)}/`);
    const html = await page.text();
    t.equal(page.status, 200, 'browsing works');
    t.match(html, '서비스 이전 작업 중이에요', 'banner in Korean');
    t.match(html, 'We are moving DAPANDA to new servers', 'banner in English');
    const item = await fetch(`http://${hostPort(src.app)}/items/${live[0]}`);
    t.equal(item.status, 200, 'item pages work');
    await clients[0].get(`/items/${live[0]}/bid-panel`);
    const r = await clients[0].post(
      `/items/${live[0]}/bids`,
      { amount: String(price + 50_000) },
      { 'hx-request': 'true' },
    );
    t.equal(r.statusCode, 503, 'a signed-in bid is refused');
    t.match(r.body, '입찰·등록·결제를 잠시 멈췄어요', 'with the message');
    for (const [lang, text] of [
      ['ko', '입찰·등록·결제를 잠시 멈췄어요'],
      ['en', 'Bidding, listing and payments are paused'],
    ]) {
      const w = await fetch(`http://${hostPort(src.app)}/items/${live[0]}/bids`, {
        method: 'POST',
        headers: { cookie: `lang=${lang}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=99000',
      });
      t.equal(w.status, 503, `a write is refused (${lang})`);
      t.equal(w.headers.get('retry-after'), '60');
      t.match(await w.text(), text, `with the message (${lang})`);
    }
    const sell = await postMultipart(s.c, '/sell', validFields(cat), [photo(await jpeg(320, 240))]);
    t.equal(sell.statusCode, 503, 'listing is refused');
  });

  await t.test('after cutover: nothing twice, nothing missing, no id reused', async (t) => {
    const closes = await q<{ a: string; n: string }>(
      dbs.dst,
      `SELECT payload->>'auctionId' AS a, count(*) AS n FROM outbox_events WHERE name = 'auction.closed' GROUP BY 1`,
    );
    t.ok(closes.length >= 3, `${closes.length} auctions closed`);
    t.same(
      closes.filter((c) => Number(c.n) !== 1),
      [],
      'no auction closed twice',
    );
    const ended = await q<{ id: number }>(dbs.dst, `SELECT id FROM auctions WHERE status = 'ENDED'`);
    t.same(
      ended.map((e) => e.id).sort(),
      closes.map((c) => Number(c.a)).sort(),
      'every ended auction has exactly its one close event',
    );
    const orders = await q<{ a: number; n: string }>(
      dbs.dst,
      `SELECT auction_id AS a, count(*) AS n FROM orders GROUP BY 1 HAVING count(*) > 1`,
    );
    t.same(orders, [], 'no auction has two orders');
    const reminders = await q<{ o: string; n: string }>(
      dbs.dst,
      `SELECT payload->>'orderId' AS o, count(*) AS n FROM outbox_events WHERE name = 'order.reminder' GROUP BY 1`,
    );
    t.same(
      reminders.filter((r) => Number(r.n) !== 1),
      [],
      'no order timer fired twice',
    );
    t.ok(
      reminders.some((r) => Number(r.o) === ord.id),
      'the reminder fired (once)',
    );
    const srcReminders = await q(dbs.src, `SELECT 1 FROM outbox_events WHERE name = 'order.reminder'`);
    t.equal(srcReminders.length, 0, 'not on the source');
    // A bid's form amount is the bidder's maximum (the proxy bids up to it): kept as max_amount.
    const bids = await q<{ auction_id: number; bidder_id: number; max_amount: number }>(
      dbs.dst,
      `SELECT auction_id, bidder_id, max_amount FROM bids WHERE max_amount IS NOT NULL`,
    );
    const have = new Set(bids.map((b) => `${b.auction_id}:${b.bidder_id}:${b.max_amount}`));
    t.same(
      accepted.filter((a) => !have.has(`${a.auction}:${a.bidder}:${a.amount}`)),
      [],
      `every one of the ${accepted.length} accepted bids is on the target`,
    );
    // New rows on the target take ids past every one the source handed out.
    const before = { listings: await maxSrc('listings'), bids: await maxSrc('bids'), users: await maxSrc('users') };
    const buyer = await retry(() => user(dst.app, dst.config, 300_000, 'cn'));
    const nl = await retry(() => auction(dst.app, { sellerId: sellerRow.id, endsInMs: 20 * 60_000 }));
    const c = await retry(() => loggedIn(dst.app, buyer.email));
    t.equal((await bid(c, live[0], price + 100_000)).statusCode, 200, 'a bid on the target');
    const [nb] = await q<{ id: string }>(dbs.dst, `SELECT max(id) AS id FROM bids`);
    t.ok(buyer.id > before.users, `new user id ${buyer.id} > source max ${before.users}`);
    t.ok(nl > before.listings, `new listing id ${nl} > source max ${before.listings}`);
    t.ok(Number(nb.id) > before.bids, `new bid id ${nb.id} > source max ${before.bids}`);
  });

  await t.test('rollback: refuses naming exactly what would be lost, then copies it back', async (t) => {
    // Traffic on the target: a bid, a new listing, a top-up.
    const newListing = await retry(() => auction(dst.app, { sellerId: sellerRow.id, endsInMs: 20 * 60_000 }));
    const c = await retry(() => loggedIn(dst.app, bidders[1].email));
    t.equal((await bid(c, live[1], price + 200_000)).statusCode, 200, 'a bid on the target');
    await fund(walletDeps(dst.app, dst.config), bidders[0].id, 77_000);
    const newBids = (
      await q<{ id: string }>(dbs.dst, `SELECT id FROM bids WHERE id > $1 ORDER BY id`, [await maxSrc('bids')])
    ).map((r) => r.id);
    const newLedger = (
      await q<{ id: string }>(dbs.dst, `SELECT id FROM ledger_entries WHERE id > $1 ORDER BY id`, [
        await maxSrc('ledger_entries'),
      ])
    ).map((r) => r.id);
    t.ok(newBids.length >= 2 && newLedger.length >= 2, `${newBids.length} bids, ${newLedger.length} ledger entries`);

    // Without the source's superuser the rows cannot be written back: refused, with the list.
    const noAdmin = envFile('onprem-noadmin', { ...fromLines, DAPANDA_PG_ADMIN_URL: '' });
    const refused = await main(['rollback', '--from', noAdmin, '--to', to, '--state', stateDir, '--quiet']);
    t.equal(refused, 1, 'rollback refused');
    const lost = JSON.parse(readFileSync(path.join(stateDir, 'rollback-delta.json'), 'utf8')) as {
      title: string;
      tables: string[];
    };
    t.match(lost.title, /REFUSED .*would lose/);
    const line = (table: string) => lost.tables.find((l) => l.startsWith(`${table}: `)) ?? '';
    t.match(line('bids'), new RegExp(`${newBids.length} new \\[${newBids.join(' ')}\\]`), 'the new bids, by id');
    t.match(line('listings'), new RegExp(`new \\[[^\\]]*\\b${newListing}\\b`), 'the new listing, by id');
    t.match(line('ledger_entries'), new RegExp(`${newLedger.length} new \\[${newLedger.join(' ')}\\]`), 'the top-up');
    t.equal(state().rollback.phase, 'refused');
    t.equal(state().cutover.phase, 'resumed', 'the target is still the live side');
    t.ok(
      await waitFor(async () => (await bid(c, live[1], price + 300_000)).statusCode === 200, 10_000),
      'the target takes bids again after the refusal',
    );
    t.match(readFileSync(upstreamFile, 'utf8'), hostPort(dst.app), 'load balancer unchanged');

    // With it: copied back, verify PASS, traffic to the source again.
    t.equal(await run('rollback'), 0, `rollback done\n${logTail(20)}`);
    const rb = state().rollback;
    t.equal(rb.phase, 'resumed');
    t.ok(rb.copiedRows >= newBids.length + newLedger.length, `${rb.copiedRows} rows copied back`);
    t.equal(
      JSON.parse(readFileSync(path.join(stateDir, 'rollback-verify.json'), 'utf8')).pass,
      true,
      'verify source vs target after the copy back: PASS',
    );
    const back = await q<{ id: string }>(dbs.src, `SELECT id FROM bids WHERE id = ANY($1)`, [newBids]);
    t.equal(back.length, newBids.length, 'the target bids are on the source');
    t.equal((await q(dbs.src, `SELECT 1 FROM listings WHERE id = $1`, [newListing])).length, 1, 'and the listing');
    t.match(readFileSync(upstreamFile, 'utf8'), `server ${hostPort(src.app)};`, 'load balancer back on the source');
    t.ok(existsSync(reloads) && readFileSync(reloads, 'utf8').includes(`reload source ${hostPort(src.app)}`));
    // The source is live again: bids accepted, ids past the target's.
    const c2 = await retry(() => loggedIn(src.app, bidders[0].email));
    t.ok(
      await waitFor(async () => (await bid(c2, live[0], price + 400_000)).statusCode === 200, 10_000),
      'the source takes bids again',
    );
    const [mx] = await q<{ m: string }>(dbs.dst, `SELECT max(id) AS m FROM bids`);
    const [ms] = await q<{ m: string }>(dbs.src, `SELECT max(id) AS m FROM bids`);
    t.ok(Number(ms.m) > Number(mx.m), `the source's new bid id ${ms.m} is past the target's ${mx.m}`);
    appendFileSync(path.join(work, 'done'), 'ok');
  });
});
