/**
 * copy by logical replication (publication/subscription) between two throwaway PostgreSQL clusters
 * (the shared server has wal_level=replica and must not be reconfigured): the source with
 * wal_level=logical. The source app takes bids during the copy and after it; they reach the
 * target; cutover waits for the subscription, sets the target's sequences past the source's with
 * the margin (no id reused), verify passes; a corrupted row on the target is caught by its key.
 * Both clusters are stopped and removed at the end, also when a check fails.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { startApp } from '../helpers/app.js';
import { ROOT, uniq } from '../helpers/env.js';
import { startCluster, type PgCluster } from '../../scripts/migrate/pg-cluster.js';
import { applyMigrations } from '../../src/core/db/migrate.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { main } from '../../scripts/migrate/cli.js';

const clusters: PgCluster[] = [];
t.teardown(() => {
  for (const c of clusters) c.stop();
});
const srcPg = await startCluster('src', {
  wal_level: 'logical',
  max_wal_senders: '10',
  max_replication_slots: '10',
});
clusters.push(srcPg);
const dstPg = await startCluster('dst');
clusters.push(dstPg);
const work = path.join(srcPg.dir, 'work');
mkdirSync(path.join(work, 'photos-src'), { recursive: true });
mkdirSync(path.join(work, 'photos-dst'), { recursive: true });

const DB = 'dapanda';
const roles = (c: PgCluster) => {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/db-roles.sh'), c.url(), DB], { encoding: 'utf8' });
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)?.[1] ?? '';
  return { app: get('DATABASE_URL'), migrator: get('MIGRATE_DATABASE_URL') };
};
const urls = { src: roles(srcPg), dst: roles(dstPg) };
await applyMigrations({ databaseUrl: urls.src.migrator, prismaDir: path.join(ROOT, 'prisma') });
await applyMigrations({ databaseUrl: urls.dst.migrator, prismaDir: path.join(ROOT, 'prisma') });

const prefix = `tmigl_${uniq()}`;
const src = await startApp(t, { DATABASE_URL: urls.src.app, MAINTENANCE_POLL_MS: '200', REDIS_PREFIX: prefix });
await src.app.listen({ port: 0, host: '127.0.0.1' });
const srcUrl = `http://127.0.0.1:${(src.app.server.address() as AddressInfo).port}`;

const q = async <T = Record<string, unknown>>(url: string, sql: string, args: unknown[] = []) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows as T[];
  } finally {
    await c.end();
  }
};
const count = async (c: PgCluster, table: string) =>
  Number((await q<{ n: string }>(c.url(DB), `SELECT count(*) AS n FROM ${table}`))[0].n);

t.test('logical copy, writes during and after it, cutover, verify', async (t) => {
  const sellerRow = await user(src.app, src.config, 0, 'ls');
  const bidders = [await user(src.app, src.config, 900_000, 'lb'), await user(src.app, src.config, 900_000, 'lb')];
  const auctions = [
    await auction(src.app, { sellerId: sellerRow.id }),
    await auction(src.app, { sellerId: sellerRow.id }),
  ];
  const clients = [await loggedIn(src.app, bidders[0].email), await loggedIn(src.app, bidders[1].email)];
  let amount = 10_000;
  const placeBid = async () => {
    amount += 1000;
    const who = (amount / 1000) % 2;
    const r = await bid(clients[who], auctions[0], amount);
    return r.statusCode === 200;
  };
  t.ok(await placeBid(), 'a first bid on the source');

  const envFile = (name: string, lines: Record<string, string>) => {
    const f = path.join(work, `${name}.env`);
    writeFileSync(
      f,
      Object.entries(lines)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );
    return f;
  };
  const upstreamFile = path.join(work, 'upstream.conf');
  const from = envFile('src', {
    DATABASE_URL: urls.src.app,
    MIGRATE_DATABASE_URL: urls.src.migrator,
    DAPANDA_PG_ADMIN_URL: srcPg.url(DB),
    REDIS_URL: src.config.redisUrl,
    REDIS_PREFIX: src.config.redisPrefix,
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: path.join(work, 'photos-src'),
    DAPANDA_APP_URL: srcUrl,
    DAPANDA_UPSTREAM: '127.0.0.1:18081',
    DAPANDA_LB_UPSTREAM_FILE: upstreamFile,
    DAPANDA_LB_RELOAD: 'true',
    MAINTENANCE_POLL_MS: '200',
  });
  // No app on the target and no DAPANDA_APP_URL: verify --pages 0 must not need one.
  const to = envFile('dst', {
    DATABASE_URL: urls.dst.app,
    MIGRATE_DATABASE_URL: urls.dst.migrator,
    DAPANDA_PG_ADMIN_URL: dstPg.url(DB),
    REDIS_URL: src.config.redisUrl,
    REDIS_PREFIX: src.config.redisPrefix,
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: path.join(work, 'photos-dst'),
    DAPANDA_UPSTREAM: '127.0.0.1:18082',
    // No margin for the clock moves at resume: they always take longer than none, so the top-up
    // pass (moving the same rows again by the rest) runs here.
    DAPANDA_RESUME_MARGIN_MS: '0',
  });
  const stateDir = path.join(work, 'state');
  const run = (step: string, ...more: string[]) =>
    main([step, '--from', from, '--to', to, '--state', stateDir, '--quiet', '--jobs', '2', ...more]);
  const logTail = (n = 12) => readFileSync(path.join(stateDir, 'migrate.log'), 'utf8').split('\n').slice(-n).join('\n');

  // copy while bids keep coming on the source.
  let copying = true;
  const copyDone = run('copy', '--method', 'logical', '--margin', '1000').finally(() => (copying = false));
  let during = 0;
  while (copying) {
    if (await placeBid()) during++;
    await new Promise((r) => setTimeout(r, 100));
  }
  const copied = await copyDone;
  if (copied !== 0) t.comment(logTail());
  t.equal(copied, 0, 'copy (logical) done');
  t.ok(during >= 1, `${during} bids accepted on the source during the copy`);
  const st = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8'));
  t.equal(st.copy.method, 'logical', 'the state says logical');
  t.equal(st.copy.subscription, 'dapanda_migrate');
  const subs = await q<{ n: string }>(dstPg.url(DB), `SELECT count(*) AS n FROM pg_subscription`);
  t.equal(Number(subs[0].n), 1, 'a subscription on the target');

  let after = 0;
  for (let i = 0; i < 5; i++) if (await placeBid()) after++;
  t.equal(after, 5, 'five more bids on the source after the copy');
  const srcBids = await count(srcPg, 'bids');
  t.ok(
    await waitFor(async () => (await count(dstPg, 'bids')) === srcBids, 20_000, 200),
    `every source bid (${srcBids}) streamed to the target`,
  );
  const last = await q<{ id: number; amount: string }>(
    srcPg.url(DB),
    `SELECT id, amount FROM bids ORDER BY id DESC LIMIT 1`,
  );
  const there = await q<{ amount: string }>(dstPg.url(DB), `SELECT amount FROM bids WHERE id = $1`, [last[0].id]);
  t.same(there, [{ amount: last[0].amount }], 'the last bid is on the target, same amount');

  // verify on the live source once it is quiet (every outbox event delivered) and the subscription caught up.
  t.ok(
    await waitFor(
      async () =>
        Number(
          (
            await q<{ n: string }>(
              srcPg.url(DB),
              `SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL AND dead_at IS NULL`,
            )
          )[0].n,
        ) === 0,
      30_000,
      200,
    ),
    'source quiet: every outbox event delivered',
  );
  const caughtUp = async () => {
    const r = await q<{ behind: string }>(
      srcPg.url(DB),
      `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) AS behind FROM pg_replication_slots WHERE slot_name = 'dapanda_migrate'`,
    );
    return Number(r[0]?.behind ?? 1) <= 0;
  };
  t.ok(await waitFor(caughtUp, 20_000, 200), 'subscription caught up with the source');
  type Report = { pass: boolean; checks: { name: string; pass: boolean; detail: string }[] };
  const report = () => JSON.parse(readFileSync(path.join(stateDir, 'verify.json'), 'utf8')) as Report;
  const verified = await run('verify', '--pages', '0');
  t.same(
    report().checks.filter((c) => !c.pass),
    [],
    'every check passes (tables, invariants, photos; pages not asked)',
  );
  t.equal(verified, 0, 'verify PASS while replicating');

  await q(dstPg.url(DB), `UPDATE bids SET amount = amount + 1 WHERE id = $1`, [last[0].id]);
  t.equal(await run('verify', '--pages', '0'), 1, 'verify FAILS on a corrupted row on the target');
  const bidsCheck = report().checks.find((c) => c.name === 'table bids')!;
  t.notOk(bidsCheck.pass, 'table bids fails');
  t.match(bidsCheck.detail, `(${last[0].id})`, 'the corrupted bid is named by its key');
  await q(dstPg.url(DB), `UPDATE bids SET amount = amount - 1 WHERE id = $1`, [last[0].id]);

  // cutover: source read-only, caught up, sequences, verify, switch.
  const cut = await run('cutover', '--pages', '0', '--max-window', '60', '--margin', '1000');
  if (cut !== 0) t.comment(logTail(20));
  t.equal(cut, 0, 'cutover done');
  const log = readFileSync(path.join(stateDir, 'migrate.log'), 'utf8');
  const window = /read-only window ([\d.]+) s/.exec(log);
  t.ok(window, `read-only window printed: ${window?.[1]} s`);
  t.match(readFileSync(upstreamFile, 'utf8'), '127.0.0.1:18082', 'load balancer points at the target');
  t.equal(
    Number((await q<{ n: string }>(dstPg.url(DB), `SELECT count(*) AS n FROM pg_subscription`))[0].n),
    0,
    'subscription dropped',
  );
  t.equal(
    Number((await q<{ n: string }>(srcPg.url(DB), `SELECT count(*) AS n FROM pg_replication_slots`))[0].n),
    0,
    'slot dropped on the source',
  );
  t.equal(await count(dstPg, 'bids'), await count(srcPg, 'bids'), 'same bids on both sides');
  const final = JSON.parse(readFileSync(path.join(stateDir, 'cutover-verify.json'), 'utf8')) as Report;
  t.ok(final.pass, 'the final verify inside the window passed');
  t.same(
    final.checks.filter((c) => !c.pass),
    [],
    'no failed check in the final verify',
  );

  // A plain verify after cutover: the target's open auctions ended later by the pause, the
  // source's did not; verify compares the frozen source as if moved the same way (state.json
  // says by how much) and, nothing else having changed on either side, passes.
  const shift = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')).cutover.shiftMs as number;
  const ends = async (c: PgCluster) =>
    (
      await q<{ ends_at: Date }>(c.url(DB), `SELECT ends_at FROM auctions WHERE id = ANY($1) ORDER BY id`, [auctions])
    ).map((r) => r.ends_at.getTime());
  const [srcEnds, dstEnds] = [await ends(srcPg), await ends(dstPg)];
  t.same(
    dstEnds.map((e, i) => e - srcEnds[i]),
    auctions.map(() => shift),
    `the target's live auctions end ${shift} ms later than the source's`,
  );
  t.match(log, /the clock moves took \d+ ms: moved \d+ ms more/, 'the top-up pass ran (no margin)');
  const cutState = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')).cutover;
  t.ok(shift >= cutState.windowSeconds * 1000 + 1000, `shift ${shift} ms >= window + the 1000 ms poll`);
  const plain = await run('verify', '--pages', '0');
  t.equal(plain, 0, 'a plain verify after cutover passes');
  t.same(
    report().checks.filter((c) => !c.pass),
    [],
    'no failed check in the verify after cutover',
  );
  t.match(logTail(60), /compared as if moved the same way/, 'the verify log says it accounted for the clock move');

  // No id reused: every sequence's next value on the target is past the source's max + margin.
  for (const table of ['bids', 'users', 'listings', 'outbox_events']) {
    const maxSrc = Number(
      (await q<{ m: number }>(srcPg.url(DB), `SELECT coalesce(max(id), 0) AS m FROM ${table}`))[0].m,
    );
    const next = Number(
      (await q<{ n: string }>(dstPg.url(DB), `SELECT nextval(pg_get_serial_sequence($1, 'id')) AS n`, [table]))[0].n,
    );
    t.ok(next > maxSrc + 1000, `${table}: target's next id ${next} > source max ${maxSrc} + margin 1000`);
  }
});

t.teardown(() => rmSync(work, { recursive: true, force: true }));
