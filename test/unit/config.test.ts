import t from 'tap';
import { cliDatabaseUrl, loadConfig, ConfigError } from '../../src/config.js';

const prodBase = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://app@db:5432/dapanda',
  REDIS_URL: 'redis://cache:6379',
  SESSION_SECRET: 'x'.repeat(40),
  PUBLIC_URL: 'https://dapanda.example',
  STORAGE_DIR: '/srv/photos',
};

t.test('development gets defaults for everything', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 3000);
  t.equal(c.role, 'all');
  t.equal(c.host, '127.0.0.1');
  t.match(c.databaseUrl, /^postgresql:\/\//);
  t.ok(c.sessionSecret.length >= 32);
});

t.test('production requires each secret and URL, naming the variable', async (t) => {
  t.equal(loadConfig(prodBase).host, '0.0.0.0');
  t.equal(loadConfig(prodBase).metricsHost, '127.0.0.1', 'metrics stay on loopback unless told otherwise');
  t.equal(loadConfig({ ...prodBase, METRICS_HOST: '10.0.1.11' }).metricsHost, '10.0.1.11');
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'SESSION_SECRET', 'PUBLIC_URL', 'STORAGE_DIR']) {
    const env = { ...prodBase, [name]: undefined };
    t.throws(() => loadConfig(env), new ConfigError(name, 'is required in production'), `${name} missing`);
  }
});

t.test('malformed values fail with one clear line', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /^config: PORT must be a port number/],
    [{ PORT: '70000' }, /^config: PORT must be a port number/],
    [{ ROLE: 'boss' }, /^config: ROLE must be one of all, web, worker/],
    [{ DATABASE_URL: 'mysql://x/y' }, /^config: DATABASE_URL must start with postgresql:/],
    [{ DATABASE_URL: 'not a url' }, /^config: DATABASE_URL is not a valid URL/],
    [{ REDIS_URL: 'http://x' }, /^config: REDIS_URL must start with redis:/],
    [{ SESSION_SECRET: 'short' }, /^config: SESSION_SECRET must be at least 32/],
    [{ LOG_LEVEL: 'loud' }, /^config: LOG_LEVEL must be one of/],
    [{ METRICS_HOST: 'app1.internal' }, /^config: METRICS_HOST must be an IP address/],
    [{ NODE_ENV: 'staging' }, /^config: NODE_ENV must be/],
  ];
  for (const [env, re] of cases) {
    t.throws(() => loadConfig(env), re, JSON.stringify(env));
    try {
      loadConfig(env);
    } catch (e) {
      t.notMatch((e as Error).message, /\n/, 'one line');
    }
  }
});

t.test('the database CLI reads DATABASE_URL through config, with local defaults per command', async (t) => {
  t.equal(cliDatabaseUrl('migrate', {}), 'postgresql://dapanda_migrator@127.0.0.1:5432/dapanda');
  t.equal(cliDatabaseUrl('drift', {}), 'postgresql://postgres@127.0.0.1:5432/dapanda');
  t.equal(cliDatabaseUrl('migrate', { DATABASE_URL: 'postgres://m@db/x' }), 'postgres://m@db/x');
  t.throws(() => cliDatabaseUrl('migrate', { DATABASE_URL: 'mysql://db/x' }), /^config: DATABASE_URL must start with/);
  t.throws(() => cliDatabaseUrl('migrate', { DATABASE_URL: 'not a url' }), /^config: DATABASE_URL is not a valid URL/);
});

t.test('password hashing: OWASP argon2id minimum by default, production refuses less', async (t) => {
  t.same(loadConfig(prodBase).passwordHashing, { memoryCost: 19_456, timeCost: 2 }, 'production default');
  t.same(loadConfig({}).passwordHashing, { memoryCost: 19_456, timeCost: 2 }, 'development default');
  t.same(
    loadConfig({ ...prodBase, PASSWORD_HASH_MEMORY_KIB: '65536', PASSWORD_HASH_TIME_COST: '3' }).passwordHashing,
    { memoryCost: 65_536, timeCost: 3 },
    'production may raise it',
  );
  t.throws(
    () => loadConfig({ ...prodBase, PASSWORD_HASH_MEMORY_KIB: '8' }),
    /^config: PASSWORD_HASH_MEMORY_KIB must be a whole number from 19456/,
    'weaker memory refused in production',
  );
  t.throws(
    () => loadConfig({ ...prodBase, PASSWORD_HASH_TIME_COST: '1' }),
    /^config: PASSWORD_HASH_TIME_COST must be a whole number from 2/,
    'fewer passes refused in production',
  );
  t.same(
    loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_MEMORY_KIB: '8', PASSWORD_HASH_TIME_COST: '1' }).passwordHashing,
    { memoryCost: 8, timeCost: 1 },
    'tests may use the least argon2 allows',
  );
});
