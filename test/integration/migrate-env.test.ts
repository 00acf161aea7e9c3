/**
 * npm run migrate:env between two databases of the shared PostgreSQL (wal_level=replica there,
 * so copy uses pg_dump/pg_restore): source app with photos on local disk, target app with photos
 * on S3 (s3rver), each on its own Redis prefix and listening, as two environments. plan says GO,
 * copy moves rows and photos (and sets sequences past the source's), verify passes; a corrupted
 * row and a deleted photo on the target are then caught by name.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import S3rver from 's3rver';
import { S3Client, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { startApp } from '../helpers/app.js';
import { PG_BASE, REDIS_URL, roleUrls, uniq } from '../helpers/env.js';
import { applyMigrations } from '../../src/core/db/migrate.js';
import { ROOT } from '../helpers/env.js';
import { seller, phonesCategory, validFields, postMultipart, photo, jpeg } from '../helpers/catalog.js';
import { user, auction, loggedIn, bid, waitFor } from '../helpers/auction.js';
import { main } from '../../scripts/migrate/cli.js';

const BUCKET = 'dapanda-mig-photos';
const work = mkdtempSync(path.join(tmpdir(), 'dapanda-mig-'));
const s3dir = path.join(work, 's3');
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: s3dir,
  configureBuckets: [{ name: BUCKET, configs: [] }],
});
const s3port = ((await server.run()) as AddressInfo).port;
const endpoint = `http://127.0.0.1:${s3port}`;
t.teardown(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

const id = uniq();
const dbs = { src: `dapanda_mig_src_${id}`, dst: `dapanda_mig_dst_${id}` };
const urls = { src: roleUrls(dbs.src), dst: roleUrls(dbs.dst) };
await applyMigrations({ databaseUrl: urls.src.migrator, prismaDir: path.join(ROOT, 'prisma') });
await applyMigrations({ databaseUrl: urls.dst.migrator, prismaDir: path.join(ROOT, 'prisma') });
t.teardown(async () => {
  const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  for (const d of Object.values(dbs)) await c.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
  await c.end();
});

const srcPhotos = path.join(work, 'photos');
const s3env = {
  STORAGE: 's3',
  S3_BUCKET: BUCKET,
  S3_ENDPOINT: endpoint,
  S3_REGION: 'ap-northeast-2',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
};
// One REDIS_PREFIX (the outbox namespace moves with the data; plan says NO-GO otherwise), two Redis databases.
const prefix = `tmig_${id}`;
const src = await startApp(t, {
  DATABASE_URL: urls.src.app,
  STORAGE_DIR: srcPhotos,
  MAINTENANCE_POLL_MS: '200',
  REDIS_PREFIX: prefix,
});
const dst = await startApp(t, {
  DATABASE_URL: urls.dst.app,
  MAINTENANCE_POLL_MS: '200',
  REDIS_PREFIX: prefix,
  REDIS_URL: `${REDIS_URL.replace(/\/\d*$/, '')}/1`,
  ...s3env,
});
await src.app.listen({ port: 0, host: '127.0.0.1' });
await dst.app.listen({ port: 0, host: '127.0.0.1' });
const appUrl = (a: typeof src.app) => `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;

// Data on the source: a listing with photos, funded bidders, live auctions with bids.
t.test('plan, copy, verify between two environments', async (t) => {
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
  const s = await retry(() => seller(src.app));
  const cat = await phonesCategory(src.app);
  const res = await postMultipart(s.c, '/sell', validFields(cat), [
    photo(await jpeg(800, 600)),
    photo(await jpeg(640, 480)),
  ]);
  t.equal(res.statusCode, 303, 'listing with two photos created on the source');
  const sellerRow = await retry(() => user(src.app, src.config, 0, 'ms'));
  const bidders = [
    await retry(() => user(src.app, src.config, 500_000, 'mb')),
    await retry(() => user(src.app, src.config, 500_000, 'mb')),
  ];
  const auctions = [
    await retry(() => auction(src.app, { sellerId: sellerRow.id })),
    await retry(() => auction(src.app, { sellerId: sellerRow.id })),
  ];
  for (const [i, b] of bidders.entries()) {
    const c = await retry(() => loggedIn(src.app, b.email));
    for (const a of auctions) t.equal((await bid(c, a, 10_000 + (i + 1) * 1000)).statusCode, 200, 'bid accepted');
  }

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
  const from = envFile('onprem', {
    DATABASE_URL: urls.src.app,
    MIGRATE_DATABASE_URL: urls.src.migrator,
    DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.src}`,
    REDIS_URL: src.config.redisUrl,
    REDIS_PREFIX: src.config.redisPrefix,
    STORAGE: 'local',
    DAPANDA_STORAGE_DIR: srcPhotos,
    DAPANDA_APP_URL: appUrl(src.app),
  });
  const toLines = {
    DATABASE_URL: urls.dst.app,
    MIGRATE_DATABASE_URL: urls.dst.migrator,
    DAPANDA_PG_ADMIN_URL: `${PG_BASE}/${dbs.dst}`,
    REDIS_URL: dst.config.redisUrl,
    REDIS_PREFIX: dst.config.redisPrefix,
    ...s3env,
    DAPANDA_APP_URL: appUrl(dst.app),
  };
  const to = envFile('cloud', toLines);
  const stateDir = path.join(work, 'state');
  const run = (step: string, ...more: string[]) =>
    main([step, '--from', from, '--to', to, '--state', stateDir, '--quiet', '--jobs', '2', ...more]);
  const report = () =>
    JSON.parse(readFileSync(path.join(stateDir, 'verify.json'), 'utf8')) as {
      pass: boolean;
      checks: { name: string; pass: boolean; detail: string }[];
    };

  await t.test('plan: NO-GO when the REDIS_PREFIX differs (outbox namespace)', async (t) => {
    const other = envFile('cloud-other-prefix', { ...toLines, REDIS_PREFIX: `${prefix}x` });
    const code = await main(['plan', '--from', from, '--to', other, '--state', path.join(work, 'state-p'), '--quiet']);
    t.equal(code, 1, 'NO-GO');
    const p = JSON.parse(readFileSync(path.join(work, 'state-p', 'plan.json'), 'utf8'));
    const c = p.checks.find((x: { name: string }) => x.name.startsWith('REDIS_PREFIX'));
    t.equal(c.verdict, 'NO-GO');
    t.match(c.detail, `set REDIS_PREFIX=${prefix} on the target`);
  });

  await t.test('plan: GO, pg_dump method (wal_level=replica), sizes measured', async (t) => {
    t.equal(await run('plan'), 0, 'GO');
    const p = JSON.parse(readFileSync(path.join(stateDir, 'plan.json'), 'utf8'));
    t.equal(p.method, 'dump');
    t.ok(p.sizes.rows > 0 && p.sizes.photoObjects >= 6, `${p.sizes.rows} rows, ${p.sizes.photoObjects} photo objects`);
    t.ok(p.checks.find((c: { name: string }) => c.name.startsWith('migrations applied')).verdict === 'GO');
  });

  await t.test('copy then verify: PASS; sequences past the source; secrets never in the log', async (t) => {
    // A quiet source (every event delivered: the notifications of the bids are written): verify
    // without a cutover compares a live source, so writes still in flight would differ.
    const quiet = await waitFor(async () => {
      const r = await src.app.db.$queryRaw<
        { n: bigint }[]
      >`SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL AND dead_at IS NULL`;
      return Number(r[0].n) === 0;
    }, 30_000);
    t.ok(quiet, 'every outbox event delivered on the source');
    const copied = await run('copy');
    if (copied !== 0)
      t.comment(
        readFileSync(path.join(stateDir, 'migrate.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('[copy]'))
          .slice(-6)
          .join('\n'),
      );
    t.equal(copied, 0, 'copy done');
    t.equal(await run('copy'), 0, 'a second copy resumes (nothing to do twice)');
    await run('verify');
    const r = report();
    const failed = r.checks.filter((c) => !c.pass);
    t.same(failed, [], 'every table, invariant, photo and page check passes');
    t.ok(
      r.checks.some((c) => c.name.startsWith('table ') && c.pass),
      'tables compared',
    );
    t.ok(r.checks.some((c) => c.name === 'photo hashes' && c.pass));
    t.match(r.checks.find((c) => c.name === 'pages rendered on both sides')?.detail, /\d+ pages identical/);
    // No id is reused: the target's next ids are past every id the source handed out.
    const maxSrc = Number((await src.app.db.$queryRaw<{ m: number }[]>`SELECT max(id) AS m FROM users`)[0].m);
    const next = await dst.app.db.$queryRaw<{ n: bigint }[]>`SELECT nextval('users_id_seq') AS n`;
    t.ok(Number(next[0].n) > maxSrc + 1000, `target's next user id ${next[0].n} > source max ${maxSrc} + margin`);
    const log = readFileSync(path.join(stateDir, 'migrate.log'), 'utf8');
    t.notMatch(log, /dapanda-dev-(app|migrator)|S3RVER/, 'no password or key in the log');
  });

  await t.test('verify catches a corrupted row and a deleted photo on the target', async (t) => {
    const admin = new pg.Client({ connectionString: `${PG_BASE}/${dbs.dst}` });
    await admin.connect();
    const victim = bidders[0].id;
    await admin.query(`UPDATE users SET nickname = 'corrupted' WHERE id = $1`, [victim]);
    await admin.end();
    const photoRow = await src.app.db.photo.findFirstOrThrow({ orderBy: { id: 'asc' } });
    const s3 = new S3Client({
      region: 'ap-northeast-2',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: photoRow.fullKey }));
    s3.destroy();
    t.equal(await run('verify'), 1, 'verify fails');
    const r = report();
    const users = r.checks.find((c) => c.name === 'table users')!;
    t.notOk(users.pass);
    t.match(users.detail, new RegExp(`changed 1 \\[\\(${victim}\\)\\]`), 'the corrupted row is named by its key');
    const photos = r.checks.find((c) => c.name === 'photo count')!;
    t.notOk(photos.pass);
    t.match(photos.detail, photoRow.fullKey, 'the deleted photo is named');
    t.ok(readFileSync(path.join(stateDir, 'verify.md'), 'utf8').includes('**FAIL**'), 'Markdown report says FAIL');
  });
});
