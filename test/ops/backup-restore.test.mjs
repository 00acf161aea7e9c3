// Backup/restore drill against the scratch PostgreSQL on 127.0.0.1:5432 (trust, user postgres):
// a small schema with FKs, jsonb, bytea, two schemas; deploy/backup.sh, then deploy/restore.sh into a
// new empty database and photo store; row counts and per-table checksums computed here, independently
// of the scripts; tampering, non-empty targets and retention (7 daily + 4 weekly) are checked too.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './helpers.mjs';

const pgEnv = { ...process.env, PGHOST: '127.0.0.1', PGPORT: '5432', PGUSER: 'postgres' };
const psql = (db, sql) =>
  run('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { env: pgEnv });
if (psql('postgres', 'select 1').code !== 0) {
  t.fail('PostgreSQL on 127.0.0.1:5432 (trust, user postgres) is required for the drill');
  process.exit();
}
const id = `${process.pid}_${Date.now() % 100000}`;
const src = `drill_src_${id}`,
  dst = `drill_dst_${id}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-drill-'));
const env = {
  ...pgEnv,
  BACKUP_PGHOST: '127.0.0.1',
  BACKUP_RUN_AS: '',
  BACKUP_DB: src,
  BACKUP_STORAGE_DIR: `${dir}/photos`,
  BACKUP_DIR: `${dir}/backups`,
  BACKUP_TARGET: `${dir}/offsite`,
  BACKUP_TEXTFILE_DIR: `${dir}/textfile`,
};
t.teardown(() => {
  for (const db of [src, dst, `${dst}_2`]) psql('postgres', `drop database if exists ${db}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

// Independent of deploy/lib/backup.sh: count and md5 over rows ordered by primary key.
const checksums = (db) =>
  psql(
    db,
    `
  select 'users', count(*), md5(string_agg(u::text, '|' order by id)) from users u
  union all select 'shop.listings', count(*), md5(string_agg(l::text, '|' order by id)) from shop.listings l
  union all select 'shop.bids', count(*), md5(string_agg(b::text, '|' order by id)) from shop.bids b order by 1`,
  ).out.trim();

t.test('backup then restore into an empty database gives identical tables and photos', (t) => {
  t.equal(psql('postgres', `create database ${src}`).code, 0);
  const seed = psql(
    src,
    `
    create table users(id bigserial primary key, name text not null, profile jsonb, created_at timestamptz default now());
    create schema shop;
    create table shop.listings(id bigserial primary key, seller_id bigint references users, title text, price_won int, photo bytea);
    create table shop.bids(id bigserial primary key, listing_id bigint references shop.listings, bidder_id bigint references users, amount_won bigint, at timestamptz default now());
    insert into users(name, profile) select '사용자 ' || g, jsonb_build_object('n', g, 'tags', array['a', 'b']) from generate_series(1, 300) g;
    insert into shop.listings(seller_id, title, price_won, photo) select 1 + g % 300, 'item ' || g, g * 1000, decode(md5(g::text), 'hex') from generate_series(1, 500) g;
    insert into shop.bids(listing_id, bidder_id, amount_won) select 1 + g % 500, 1 + g % 300, g * 500 from generate_series(1, 4000) g;`,
  );
  t.equal(seed.code, 0, seed.out);
  fs.mkdirSync(`${dir}/photos/l/1`, { recursive: true });
  fs.writeFileSync(`${dir}/photos/l/1/a.jpg`, Buffer.alloc(300_000, 7));
  fs.writeFileSync(`${dir}/photos/l/1/b.jpg`, 'b');
  fs.mkdirSync(`${dir}/textfile`);

  const b = run('bash', ['deploy/backup.sh', '/nonexistent'], { env });
  t.equal(b.code, 0, b.out);
  const backup = b.stdout.trim();
  const files = fs.readdirSync(backup).sort();
  t.same(files, ['SHA256SUMS', 'db.dump', 'manifest.tsv', 'photos.sha256', 'photos.tar']);
  t.match(
    fs.readFileSync(`${backup}/manifest.tsv`, 'utf8'),
    /shop\.bids\t4000\t[0-9a-f]{32}/,
    'manifest has row counts',
  );
  t.ok(fs.existsSync(`${dir}/offsite/daily/${path.basename(backup)}/db.dump`), 'copied to the target');
  t.match(
    fs.readFileSync(`${dir}/textfile/dapanda_backup.prom`, 'utf8'),
    /^dapanda_backup_last_success_timestamp_seconds \d+$/m,
  );

  const r = run(
    'bash',
    ['deploy/restore.sh', '--db', dst, '--photos', `${dir}/restored`, `${dir}/offsite/daily/${path.basename(backup)}`],
    { env },
  );
  t.equal(r.code, 0, r.out);
  const before = checksums(src),
    after = checksums(dst);
  t.equal(after, before, 'row counts and checksums per table are equal');
  t.match(after, /shop\.bids\|4000\|/);
  t.comment(after.replaceAll('\n', '; '));
  t.same(
    fs.readFileSync(`${dir}/restored/l/1/a.jpg`),
    fs.readFileSync(`${dir}/photos/l/1/a.jpg`),
    'photos restored byte for byte',
  );

  const again = run('bash', ['deploy/restore.sh', '--db', dst, '--photos', `${dir}/other`, backup], { env });
  t.not(again.code, 0, 'refuses a non-empty database');
  t.match(again.out, /refusing/);
  const photosBusy = run('bash', ['deploy/restore.sh', '--db', `${dst}_2`, '--photos', `${dir}/restored`, backup], {
    env,
  });
  t.not(photosBusy.code, 0, 'refuses a non-empty photo store');

  const tampered = `${dir}/tampered`;
  fs.cpSync(backup, tampered, { recursive: true });
  fs.appendFileSync(`${tampered}/db.dump`, 'x');
  const bad = run('bash', ['deploy/restore.sh', '--db', `${dst}_2`, '--photos', `${dir}/p2`, tampered], { env });
  t.not(bad.code, 0, 'refuses a backup whose checksum does not match');
  t.match(bad.out, /checksum mismatch/);
  t.end();
});

t.test('retention keeps 7 daily and 4 weekly backups', (t) => {
  const renv = { ...env, BACKUP_DIR: `${dir}/retention`, BACKUP_TARGET: '' };
  for (let day = 0; day < 40; day++) {
    const when = new Date(Date.UTC(2026, 0, 1, 3, 15) + day * 86400_000).toISOString();
    const r = run('bash', ['deploy/backup.sh', '/nonexistent'], { env: { ...renv, BACKUP_NOW: when } });
    if (r.code !== 0) return (t.fail(r.out), t.end());
  }
  const daily = fs.readdirSync(`${dir}/retention/daily`).sort();
  const weekly = fs.readdirSync(`${dir}/retention/weekly`).sort();
  t.same(daily, [
    '20260203T031500Z',
    '20260204T031500Z',
    '20260205T031500Z',
    '20260206T031500Z',
    '20260207T031500Z',
    '20260208T031500Z',
    '20260209T031500Z',
  ]);
  t.same(weekly, ['20260115T031500Z', '20260122T031500Z', '20260129T031500Z', '20260205T031500Z']);
  t.end();
});
