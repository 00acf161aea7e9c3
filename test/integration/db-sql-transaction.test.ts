/**
 * core/db sqlTransaction (plain SQL on a client of Prisma's own pg pool, pipelined), against the
 * real PostgreSQL: a throw or a failed statement rolls everything back, a serialization failure
 * or deadlock runs the transaction again (a bounded number of times, nothing else does), the
 * client goes back to the pool whatever happened, statements sent together each see what
 * committed before they began, and the first failure is the error thrown.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { migratorDatabaseUrl, testDatabaseUrl } from '../helpers/env.js';
import { createDb, sqlQuery, sqlTransaction, transaction } from '../../src/core/db/index.js';

const url = await testDatabaseUrl();
// Two connections: a leaked client shows as a wait for the pool (maxWaitMs below).
const db = createDb(url, 2);
t.teardown(() => db.$disconnect());

/** A namespace of outbox rows of this test only (a table the app role writes). */
const ns = () => `sqltx-${randomBytes(6).toString('hex')}`;
const insert = "INSERT INTO outbox_events (namespace, name, payload) VALUES ($1, 'test.sql', '{}'::jsonb)";
const countOf = async (namespace: string) =>
  Number(
    (
      await db.$queryRaw<
        { n: bigint }[]
      >`SELECT count(*)::bigint AS n FROM outbox_events WHERE namespace = ${namespace}`
    )[0].n,
  );
t.teardown(() => db.$executeRaw`DELETE FROM outbox_events WHERE namespace LIKE 'sqltx-%'`);
const serializationFailure = "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$";

/**
 * A table of the test's own with a row (1, 7) the app role may read, and `migrate()`, which changes
 * its column v to text as a migration would: a statement prepared before it answers 0A000
 * "cached plan must not change result type". `read` selects v and the backend's pid.
 */
async function staleTable(t: Test) {
  const pg = (await import('pg')).default;
  const table = `sql_stale_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: await migratorDatabaseUrl() });
  await admin.connect();
  t.teardown(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });
  await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
  await admin.query(`INSERT INTO ${table} VALUES (1, 7)`);
  await admin.query(`GRANT SELECT ON ${table} TO "${decodeURIComponent(new URL(url).username)}"`);
  return {
    read: `SELECT v, pg_backend_pid() AS pid FROM ${table} WHERE id = $1`,
    migrate: async () => {
      await admin.query(`ALTER TABLE ${table} ALTER COLUMN v TYPE text USING 'seven'`);
    },
  };
}

t.test('commits when fn returns, and rolls back when it throws', async (t) => {
  const a = ns();
  t.equal(
    await sqlTransaction(db, async (sql) => {
      await sql.query(insert, [a]);
      return 'done';
    }),
    'done',
  );
  t.equal(await countOf(a), 1, 'committed');

  const b = ns();
  await t.rejects(
    sqlTransaction(db, async (sql) => {
      await sql.query(insert, [b]);
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  t.equal(await countOf(b), 0, 'rolled back');
});

t.test('a failed statement whose error fn swallowed still rolls back, and the caller hears it', async (t) => {
  const a = ns();
  await t.rejects(
    sqlTransaction(db, async (sql) => {
      await sql.query(insert, [a]);
      await sql.query('SELECT 1 / 0').catch(() => null);
    }),
    { code: '22012' },
    'COMMIT of the aborted transaction answered ROLLBACK: the division error is thrown',
  );
  t.equal(await countOf(a), 0);
});

t.test('statements sent together: one failure fails those after it, and it is the error thrown', async (t) => {
  const a = ns();
  await t.rejects(
    sqlTransaction(db, async (sql) => {
      await Promise.all([sql.query(insert, [a]), sql.query('SELECT 1 / 0'), sql.query(insert, [a])]);
    }),
    { code: '22012' },
  );
  t.equal(await countOf(a), 0);
  const b = ns();
  const rows = await sqlTransaction(db, async (sql) => {
    const all = await Promise.all([sql.query(insert, [b]), sql.query(insert, [b]), sql.query('SELECT 2 AS two')]);
    return all[2];
  });
  t.same(rows, [{ two: 2 }]);
  t.equal(await countOf(b), 2);
});

t.test('commit() sends COMMIT with the last statements; nothing may follow it', async (t) => {
  const a = ns();
  await sqlTransaction(db, async (sql) => {
    await Promise.all([sql.query(insert, [a]), sql.commit()]);
    await t.rejects(sql.query(insert, [a]), /after COMMIT/);
  });
  t.equal(await countOf(a), 1);
});

t.test('statements sent together leave in one write to the socket (BEGIN with the first ones)', async (t) => {
  const a = ns();
  await sqlTransaction(db, (sql) => sql.query('SELECT 1')); // a connection in the pool: no start-up writes below
  // Every write a socket hands the system: one _write or one _writev (corked chunks) each.
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
  const orig = { _write: proto._write, _writev: proto._writev };
  let writes = 0;
  for (const k of ['_write', '_writev'] as const)
    proto[k] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return orig[k].apply(this, args);
    };
  const counts: number[] = [];
  try {
    const out = await sqlTransaction(db, async (sql) => {
      const reads = await Promise.all([
        sql.query<{ n: number }>('SELECT 1 AS n'),
        sql.query<{ n: number }>('SELECT 2 AS n'),
        sql.query<{ n: number }>('SELECT $1::int AS n', [3]),
      ]);
      counts.push(writes);
      await Promise.all([sql.query(insert, [a]), sql.query(insert, [a]), sql.commit()]);
      counts.push(writes);
      return reads.map((r) => r[0].n);
    });
    t.same(out, [1, 2, 3], 'each statement still gets its own answer');
  } finally {
    Object.assign(proto, orig);
  }
  t.same(counts, [1, 2], 'BEGIN and three reads: one write; two inserts and COMMIT: one more');
  t.equal(await countOf(a), 2, 'and they committed');
});

t.test('each statement of a pipeline sees what committed before it began (after the lock before it)', async (t) => {
  const a = ns();
  const key = 916_000_000 + Math.floor(Math.random() * 1_000_000);
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const first = sqlTransaction(db, async (sql) => {
    await sql.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
    locked();
    await new Promise((r) => setTimeout(r, 300));
    await sql.query(insert, [a]);
  });
  await holding;
  const [, seen] = await sqlTransaction(db, (sql) =>
    Promise.all([
      sql.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]),
      sql.query<{ n: string }>('SELECT count(*) AS n FROM outbox_events WHERE namespace = $1', [a]),
    ]),
  );
  await first;
  t.equal(Number(seen[0].n), 1, "the row the lock's holder committed while we waited is seen");
});

t.test('a serialization failure or deadlock runs the transaction again; other errors do not', async (t) => {
  const a = ns();
  let tries = 0;
  await sqlTransaction(db, async (sql) => {
    tries++;
    await sql.query(insert, [a]);
    if (tries === 1) await sql.query(serializationFailure);
  });
  t.equal(tries, 2, 'ran twice');
  t.equal(await countOf(a), 1, "the first try's write was rolled back");

  tries = 0;
  await t.rejects(
    sqlTransaction(
      db,
      async (sql) => {
        tries++;
        await sql.query(serializationFailure);
      },
      { attempts: 3 },
    ),
    { code: '40001' },
  );
  t.equal(tries, 3, 'at most `attempts` tries');

  tries = 0;
  await t.rejects(
    sqlTransaction(db, async (sql) => {
      tries++;
      await sql.query('SELECT 1 / 0');
    }),
    { code: '22012' },
  );
  t.equal(tries, 1, 'not retried');

  // A real deadlock between two of these transactions: PostgreSQL aborts one (40P01), which runs again.
  const [k1, k2] = [917_000_001, 917_000_002];
  let runs = 0;
  const cross = (x: number, y: number) =>
    sqlTransaction(db, async (sql) => {
      runs++;
      await sql.query('SELECT pg_advisory_xact_lock($1::bigint)', [x]);
      await new Promise((r) => setTimeout(r, 200));
      await sql.query('SELECT pg_advisory_xact_lock($1::bigint)', [y]);
    });
  await Promise.all([cross(k1, k2), cross(k2, k1)]);
  t.equal(runs, 3, 'both committed, one after running again');
});

t.test('the client goes back to the pool after every kind of end', async (t) => {
  // Two connections, eight ends of each kind: a leaked client would leave the next one waiting.
  const o = { maxWaitMs: 2_000, attempts: 1 };
  for (let i = 0; i < 8; i++) {
    await t.rejects(
      sqlTransaction(
        db,
        async () => {
          throw new Error('boom');
        },
        o,
      ),
    );
    await t.rejects(sqlTransaction(db, (sql) => sql.query('SELECT 1 / 0'), o));
    await t.rejects(sqlTransaction(db, (sql) => sql.query(serializationFailure), o));
    await sqlTransaction(db, (sql) => sql.query('SELECT 1'), o);
  }
  t.same(await sqlTransaction(db, (sql) => sql.query('SELECT 1 AS one'), o), [{ one: 1 }]);
  // Prisma shares the pool and still gets its connections.
  t.equal(await transaction(db, async (tx) => (await tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`)[0].one), 1);
});

t.test(
  'statements are prepared once per connection; a schema change under one runs the transaction again',
  async (t) => {
    // One connection, so each transaction below runs on the same one until it is replaced.
    const one = createDb(url, 1);
    t.teardown(() => one.$disconnect());
    const text = 'SELECT $1::int + 1 AS n, pg_backend_pid() AS pid';
    const [first] = await sqlTransaction(one, (sql) => sql.query<{ n: number; pid: number }>(text, [1]));
    t.equal(first.n, 2);
    const prepared = await sqlTransaction(one, (sql) =>
      sql.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE statement = $1', [text]),
    );
    t.equal(prepared.length, 1, 'the first run left the statement prepared on its connection');
    t.match(prepared[0]?.name, /^dapanda_sql_\d+$/, 'under a name of its own');
    const [again] = await sqlTransaction(one, (sql) => sql.query<{ n: number; pid: number }>(text, [41]));
    t.same([again.n, again.pid], [42, first.pid], 'run again by name on the same connection');

    // A migration changes a column a prepared statement returns: PostgreSQL refuses the old plan
    // (0A000 "cached plan must not change result type"); the transaction runs again on a new connection.
    const { read, migrate } = await staleTable(t);
    const [before] = await sqlTransaction(one, (sql) => sql.query<{ v: unknown; pid: number }>(read, [1]));
    t.equal(before.v, 7);
    await migrate();
    const [after] = await sqlTransaction(one, (sql) => sql.query<{ v: unknown; pid: number }>(read, [1]));
    t.equal(after.v, 'seven', 'the new column type, after running again');
    t.not(after.pid, before.pid, 'on a fresh connection (the stale one was destroyed with its statements)');
    t.same(await sqlTransaction(one, (sql) => sql.query(read, [1])), [{ v: 'seven', pid: after.pid }], 'and it stays');
  },
);

t.test(
  'sqlQuery: one prepared statement on a pool client, the client back after every end, a stale plan run again',
  async (t) => {
    const one = createDb(url, 1);
    t.teardown(() => one.$disconnect());
    const text = 'SELECT $1::int * 2 AS n, pg_backend_pid() AS pid';
    const [a] = await sqlQuery<{ n: number; pid: number }>(one, text, [21]);
    t.equal(a.n, 42);
    const prepared = await sqlQuery<{ name: string }>(
      one,
      'SELECT name FROM pg_prepared_statements WHERE statement = $1',
      [text],
    );
    t.match(prepared[0]?.name, /^dapanda_sql_\d+$/, 'prepared under a name of its own');
    // PostgreSQL's own error reply: the caller hears it, the connection stays (same backend after it).
    for (let i = 0; i < 4; i++)
      await t.rejects(sqlQuery(one, 'SELECT 1 / $1::int', [0], { maxWaitMs: 2_000 }), /division by zero/);
    const [b] = await sqlQuery<{ n: number; pid: number }>(one, text, [1], { maxWaitMs: 2_000 });
    t.same([b.n, b.pid], [2, a.pid], 'the one connection came back each time and was kept');
    t.same(
      await sqlQuery(one, 'SELECT $1::text AS s', ["'; DROP TABLE users; --"]),
      [{ s: "'; DROP TABLE users; --" }],
      'values are parameters',
    );

    const { read, migrate } = await staleTable(t);
    const [before] = await sqlQuery<{ v: unknown; pid: number }>(one, read, [1]);
    t.equal(before.v, 7);
    await migrate();
    const [after] = await sqlQuery<{ v: unknown; pid: number }>(one, read, [1]);
    t.equal(after.v, 'seven', 'the new column type, after running again');
    t.not(after.pid, before.pid, 'on a fresh connection (the stale one was destroyed with its statements)');
  },
);
