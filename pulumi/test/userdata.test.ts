/**
 * The instances' user data, rendered offline: valid bash (shellcheck), the settings it was given
 * and nothing it must not carry, and its migration step's SQL run for real on a private
 * PostgreSQL 15 whose "master" is, as on RDS, not a superuser (CREATEROLE, CREATEDB, owner of
 * the database): the same dapanda_migrator and dapanda_app roles as on-prem come out of it.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { renderUserData, USER_DATA_MAX_BYTES } from '../src/userdata';
import { SAMPLE_VALUES } from '../scripts/render-user-data';

const REPO = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'dapanda-cloud-ud-'));
chmodSync(work, 0o755);
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const webSecrets = {
  session: SAMPLE_VALUES.secrets.session,
  dbApp: SAMPLE_VALUES.secrets.dbApp,
  redis: SAMPLE_VALUES.secrets.redis,
};
const rendered = {
  web: renderUserData({ ...SAMPLE_VALUES, secrets: webSecrets, role: 'web' }),
  worker: renderUserData({ ...SAMPLE_VALUES, role: 'worker' }),
};
const files = Object.fromEntries(
  Object.entries(rendered).map(([role, text]) => {
    const f = path.join(work, `${role}.sh`);
    writeFileSync(f, text, { mode: 0o755 });
    return [role, f];
  }),
) as Record<'web' | 'worker', string>;

t.test("both roles (and the deploy script) pass shellcheck; the user data fits in EC2's limit", async (t) => {
  const r = spawnSync(
    'shellcheck',
    ['-s', 'bash', '-S', 'style', files.web, files.worker, path.join(__dirname, '../scripts/deploy-stack.sh')],
    { encoding: 'utf8' },
  );
  t.equal(r.status, 0, r.stdout + r.stderr);
  for (const text of Object.values(rendered))
    t.ok(Buffer.byteLength(text) < USER_DATA_MAX_BYTES, `${Buffer.byteLength(text)} bytes`);
});

t.test('settings are rendered as overridable defaults; secrets are ARNs, never values', async (t) => {
  const w = rendered.worker;
  t.match(w, /^: "\$\{DAPANDA_ROLE_UNITS:=worker\}"$/m);
  t.match(w, new RegExp(`^: "\\$\\{DAPANDA_RELEASE:=${SAMPLE_VALUES.releaseId}\\}"$`, 'm'));
  t.match(w, /^: "\$\{DAPANDA_SECRET_DB_MASTER:=arn:aws:secretsmanager:[^}]+\}"$/m);
  t.match(w, /^: "\$\{DAPANDA_AWS_S3_ENDPOINT:=\}"/m, 'a local S3 endpoint can be given');
  t.match(rendered.web, /^: "\$\{DAPANDA_SECRET_DB_MIGRATOR:=\}"$/m, 'web instances get no migrator secret');
  t.notMatch(w, /PASSWORD=[^"$\s]/, 'no password value anywhere');
  t.throws(() => renderUserData({ ...SAMPLE_VALUES, role: 'worker', domain: "x'; rm -rf /" }), /needs quoting/);
  t.throws(
    () =>
      renderUserData({ ...SAMPLE_VALUES, role: 'worker', secrets: { ...SAMPLE_VALUES.secrets, dbMaster: undefined } }),
    /migrator and master/,
  );
});

t.test(
  'with DAPANDA_BOOT_LIBRARY=1 the script only defines its functions, and rejects an unknown command',
  async (t) => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `DAPANDA_BOOT_LIBRARY=1 . ${files.worker} && declare -F boot migrate db_roles write_provision_env >/dev/null && echo defined`,
      ],
      { encoding: 'utf8' },
    );
    t.equal(r.stdout.trim(), 'defined', r.stderr);
    const bad = spawnSync('bash', [files.worker, 'nonsense'], {
      encoding: 'utf8',
      env: { ...process.env, DAPANDA_IMDS: 'no' },
    });
    t.not(bad.status, 0);
  },
);

t.test('write_provision_env: the env file app.sh reads, root-only, with the cloud switches', async (t) => {
  const etc = path.join(work, 'etc');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `DAPANDA_BOOT_LIBRARY=1 . ${files.worker} && write_provision_env /x/rel.tar.gz /x/node.tar.xz && stat -c %a "$DAPANDA_ETC/provision.env"`,
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        DAPANDA_ETC: etc,
        DAPANDA_SESSION_SECRET: 's'.repeat(64),
        DAPANDA_DB_APP_PASSWORD: 'apppw',
        DAPANDA_DB_MIGRATOR_PASSWORD: 'migpw',
        DAPANDA_REDIS_PASSWORD: 'redispw',
      },
    },
  );
  t.equal(r.stdout.trim(), '600', r.stderr);
  const env = execFileSync('bash', ['-c', `set -a; . ${etc}/provision.env; set +a; env`], { encoding: 'utf8' });
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(env)?.[1];
  t.equal(get('DAPANDA_APP_UNITS'), 'worker');
  t.equal(get('DAPANDA_STORAGE'), 's3');
  t.equal(get('DAPANDA_PHOTOS_NFS'), 'no');
  t.equal(get('DAPANDA_JOURNAL_UPLOAD'), 'no');
  t.equal(get('DAPANDA_DB_PARAMS'), 'sslmode=verify-full');
  t.equal(get('DAPANDA_REDIS_SCHEME'), 'rediss');
  t.equal(get('DAPANDA_RUN_MIGRATIONS'), 'yes');
  t.equal(get('DAPANDA_DB_MIGRATOR_PASSWORD'), 'migpw');
  t.equal(get('DAPANDA_RELEASE_TARBALL'), '/x/rel.tar.gz');
  t.equal(get('DAPANDA_COMPRESS_RESPONSES'), 'on', 'the ALB compresses nothing: the app does');
  // The same file through deploy/lib/render.sh gives the app's environment.
  const app = execFileSync(
    'bash',
    ['-c', `set -a; . ${etc}/provision.env; set +a; . ${REPO}/deploy/lib/render.sh; render_app_env`],
    { encoding: 'utf8' },
  );
  t.match(
    app,
    /^DATABASE_URL=postgresql:\/\/dapanda_app:apppw@dapanda-dev\.example\.ap-northeast-2\.rds\.amazonaws\.com:5432\/dapanda\?sslmode=verify-full$/m,
  );
  t.match(app, /^REDIS_URL=rediss:\/\/:redispw@master\.dapanda-dev\.example\.apn2\.cache\.amazonaws\.com:6379$/m);
  t.match(
    app,
    /^STORAGE=s3\nS3_BUCKET=dapanda-dev-photos-example\nS3_REGION=ap-northeast-2\nPHOTO_BASE_URL=https:\/\/d111111abcdef8\.cloudfront\.net$/m,
  );
  t.match(app, new RegExp(`^NODE_EXTRA_CA_CERTS=${etc}/rds-ca\\.pem$`, 'm'), 'node trusts the RDS CA bundle');
  t.match(app, /^COMPRESS_RESPONSES=on$/m, 'the app compresses its replies in the cloud');
});

const pgBin = '/usr/lib/postgresql/15/bin';
t.test(
  'db_roles as a non-superuser master creates the migrator and app roles (idempotent)',
  { skip: existsSync(`${pgBin}/initdb`) ? false : 'PostgreSQL 15 binaries not installed' },
  async (t) => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const data = path.join(work, 'pg');
    if (process.getuid?.() === 0)
      execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '0700', data]);
    const asPostgres = (cmd: string[]) =>
      process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
    const run = (cmd: string[]) =>
      execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    run(
      asPostgres([`${pgBin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']),
    );
    run(
      asPostgres([
        `${pgBin}/pg_ctl`,
        '-D',
        data,
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${data}`,
        '-l',
        `${data}/server.log`,
        '-w',
        'start',
      ]),
    );
    t.teardown(
      () =>
        void spawnSync(
          asPostgres([`${pgBin}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop'])[0],
          asPostgres([`${pgBin}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop']).slice(1),
        ),
    );
    const psql = (sql: string, user = 'postgres', db = 'postgres') =>
      run([
        'psql',
        '-X',
        '-qAt',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        user,
        '-d',
        db,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        sql,
      ]).trim();
    // What RDS gives: a master user that is no superuser, owning the initial database.
    psql('CREATE ROLE rds_master LOGIN CREATEROLE CREATEDB');
    psql('CREATE DATABASE dapanda OWNER rds_master');
    psql('REVOKE ALL ON SCHEMA public FROM PUBLIC', 'postgres', 'dapanda');
    const env = {
      ...process.env,
      DAPANDA_DB_PORT: String(port),
      DAPANDA_DB_TLS: 'no',
      DAPANDA_DB_HOST: '127.0.0.1',
      DAPANDA_DB_NAME: 'dapanda',
      DAPANDA_DB_MASTER_USER: 'rds_master',
      DAPANDA_DB_MASTER_PASSWORD: 'unused-with-trust',
      DAPANDA_DB_APP_PASSWORD: 'app-pw',
      DAPANDA_DB_MIGRATOR_PASSWORD: 'migrator-pw',
    };
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('bash', ['-c', `DAPANDA_BOOT_LIBRARY=1 . ${files.worker} && db_roles ${REPO}`], {
        encoding: 'utf8',
        env,
      });
      t.equal(r.status, 0, `run ${i + 1}: ${r.stderr}`);
    }
    t.equal(
      psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'dapanda'"),
      'dapanda_migrator',
      'the migrator owns the database',
    );
    t.equal(
      psql("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'", 'postgres', 'dapanda'),
      'dapanda_migrator',
      'and the schema',
    );
    t.equal(
      psql("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'dapanda_app'"),
      'f',
      'the app role has no power over roles or databases',
    );
    psql('CREATE TABLE t (id int)', 'dapanda_migrator', 'dapanda');
    psql('INSERT INTO t VALUES (1)', 'dapanda_app', 'dapanda');
    t.equal(
      psql('SELECT count(*) FROM t', 'dapanda_app', 'dapanda'),
      '1',
      "the app role reads and writes the migrator's tables",
    );
    t.throws(() => psql('CREATE TABLE u (id int)', 'dapanda_app', 'dapanda'), 'the app role cannot change the schema');
    t.throws(() => psql('DROP TABLE t', 'dapanda_app', 'dapanda'), 'nor drop tables');
    // The on-prem path (deploy/provision/data.sh runs the same file as the superuser) still works on top.
    run([
      'psql',
      '-X',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-v',
      'dbname=dapanda',
      '-v',
      'app_password=a',
      '-v',
      'migrator_password=m',
      '-f',
      `${REPO}/deploy/provision/sql/roles.sql`,
    ]);
    t.equal(
      psql(
        "SELECT string_agg(rolname || ':' || rolsuper || rolreplication, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'dapanda_%'",
      ),
      'dapanda_app:falsefalse,dapanda_migrator:falsefalse',
    );
  },
);
