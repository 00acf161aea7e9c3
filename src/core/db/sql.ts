/**
 * Plain SQL on a client of the pg pool Prisma's adapter uses, for the one path where Prisma's
 * per-statement cost dominates: a bid batch's transaction, which runs under the auction's row
 * lock (issue 16). Through Prisma every statement of an interactive transaction, BEGIN and
 * COMMIT included, goes through its query engine and the adapter's result mapping, and each is a
 * round trip of its own. Here a statement is one pg query, and statements that do not depend on
 * each other's results travel together: the client runs in pg's pipeline mode for the
 * transaction, so `Promise.all([sql.query(a), sql.query(b)])` is one round trip, answered in
 * order, each statement still with its own READ COMMITTED snapshot (b sees what committed
 * before b began, after a took its lock). Statements after a failed one fail too ("current
 * transaction is aborted"); the first error is the one thrown.
 * Everything else uses Prisma (`transaction` in index.ts).
 */
import type pg from 'pg';
import { isRetryableTxError, retryPause } from './retry.js';

/**
 * Runs SQL: one statement, positional parameters ($1, $2, ...), the rows as objects. The text
 * is a constant: every value, user input or not, goes in `values`. Column
 * types as the driver gives them: write code that accepts both Prisma's and pg's (int8 and
 * numeric may be bigint or string: read them with Number(); timestamptz is a Date).
 */
export interface Sql {
  query<T extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<T[]>;
}

/** The Sql of an open transaction (sqlTransaction). */
export interface SqlTx extends Sql {
  /**
   * Statements sent so far. A caller that sends COMMIT behind other calls checks it first: a call
   * that failed before sending its statement (bad input) leaves the database nothing to abort on,
   * and COMMIT would keep the statements around it.
   */
  readonly sent: number;
  /**
   * Sends COMMIT now, behind the statements still on their way (they and the commit travel as one
   * round trip), and resolves once committed. The transaction takes no statement after it; without
   * it, sqlTransaction commits when `fn` returns.
   */
  commit(): Promise<void>;
}

/**
 * A Prisma transaction client (or the client) as an Sql, so a query is written once for both.
 * Sql's contract is constant statement text with every value a positional parameter (as pg's own
 * client.query), which is what the lint rule against $queryRawUnsafe protects.
 */
export function prismaSql(tx: { $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> }): Sql {
  return {
    query: <T extends object>(text: string, values: readonly unknown[] = []) =>
      // eslint-disable-next-line no-restricted-syntax -- parameters travel as parameters, never in the text (see above)
      tx.$queryRawUnsafe<T[]>(text, ...values),
  };
}

const pools = new WeakMap<object, pg.Pool>();

/** Records the pool under a database client (createDb). */
export function registerPool(db: object, pool: pg.Pool): void {
  pools.set(db, pool);
}

export interface SqlTransactionOptions {
  /** Tries in all, counting the first (default 4). */
  attempts?: number;
  /** The transaction takes no statement after this long (default 10 s, as `transaction`). */
  timeoutMs?: number;
  /** Waiting for a pool client longer than this fails (default 5 s, as `transaction`). */
  maxWaitMs?: number;
}

/** pg's Client runs queued queries back to back (pipeline mode) while this is true: a public field, read per query. */
type PipelinedClient = pg.PoolClient & { pipeline: boolean; connection?: { stream?: Partial<Corkable> } };
interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * One write for the statements sent together: pg writes each query's messages as one write of
 * its own (it corks the socket per query), so statements sent side by side (`Promise.all`) were
 * one system call each, and on loopback each write also runs the receiving side's work (issue 16:
 * `writev` was a quarter of the server's CPU samples on the 1,000-auction storm). The socket is
 * corked at a tick's first statement and uncorked once this tick's synchronous work is done
 * (process.nextTick, before any I/O): everything sent until then leaves in one write. Nothing
 * waits: the statements go out before the event loop turns.
 */
function corker(client: PipelinedClient): () => void {
  const stream = client.connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return () => {};
  const socket = stream as Corkable;
  let corked = false;
  const release = () => {
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(release);
  };
}

async function connect(pool: pg.Pool, maxWaitMs: number): Promise<PipelinedClient> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const pending = pool.connect();
  try {
    return (await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new Error(`no database connection within ${maxWaitMs} ms (pool exhausted)`));
        }, maxWaitMs);
      }),
    ])) as PipelinedClient;
  } finally {
    clearTimeout(timer);
    // A client that arrives after we gave up goes straight back.
    if (late) pending.then((c) => c.release()).catch(() => {});
  }
}

const isAborted = (err: unknown) => (err as { code?: unknown } | null)?.code === '25P02';

/**
 * Named (prepared) statements, as pgbench's `-M prepared` that the bench compares bids with: a
 * statement's text is parsed and analysed once per connection, and after a few executions
 * PostgreSQL keeps a generic plan instead of planning each run; each run then sends only Bind and
 * Execute. Texts are constants (Sql's contract), so the names are few; past `MAX_NAMES` distinct
 * texts (a caller building text at run time would be a bug) statements go unnamed, as before.
 * A prepared statement whose result columns a migration changed answers 0A000 "cached plan must
 * not change result type": that transaction runs again on a fresh connection (the old one is
 * destroyed with its statements). Only sqlTransaction's statements are named (bidding's batches);
 * BEGIN, COMMIT and ROLLBACK have no parameters and go as simple queries.
 */
const MAX_NAMES = 200;
const names = new Map<string, string>();
function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMES) {
    name = `dapanda_sql_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}
const isStalePlan = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && /cached plan must not change result type/i.test(String(e.message ?? ''));
};

/**
 * Runs `fn` in one READ COMMITTED transaction on a client of `db`'s pool (made by createDb),
 * running it again (a bounded number of times) after a serialization failure or deadlock, like
 * `transaction`. A throw from `fn` or a failed statement rolls back; the client always goes back
 * to the pool (destroyed if the rollback itself failed).
 */
export async function sqlTransaction<T>(
  db: object,
  fn: (sql: SqlTx) => Promise<T>,
  opts: SqlTransactionOptions = {},
): Promise<T> {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlTransaction: this database client was not made by createDb');
  const attempts = opts.attempts ?? 4;
  for (let i = 1; ; i++) {
    try {
      return await once(pool, fn, opts);
    } catch (err) {
      if (i >= attempts || !(isRetryableTxError(err) || isStalePlan(err))) throw err;
      await retryPause(i);
    }
  }
}

async function once<T>(pool: pg.Pool, fn: (sql: SqlTx) => Promise<T>, opts: SqlTransactionOptions): Promise<T> {
  const client = await connect(pool, opts.maxWaitMs ?? 5_000);
  client.pipeline = true;
  let firstError: unknown = null;
  let commitSent: Promise<void> | null = null;
  let expired = false;
  let sent = -1; // BEGIN is the helper's
  const timer = setTimeout(() => (expired = true), opts.timeoutMs ?? 10_000);
  const cork = corker(client);
  const send = <R>(
    text: string,
    values?: readonly unknown[],
    name?: string,
  ): Promise<pg.QueryResult<R & pg.QueryResultRow>> => {
    if (expired) return Promise.reject(new Error(`transaction timed out after ${opts.timeoutMs ?? 10_000} ms`));
    if (commitSent) return Promise.reject(new Error('statement after COMMIT'));
    cork();
    const p = name
      ? client.query<R & pg.QueryResultRow>({ name, text, values: values as unknown[] | undefined })
      : client.query<R & pg.QueryResultRow>(text, values as unknown[] | undefined);
    sent++;
    // The first failure is the cause; a statement left unawaited must not be an unhandled rejection.
    p.catch((err: unknown) => (firstError ??= err));
    return p;
  };
  const sql: SqlTx = {
    get sent() {
      return sent;
    },
    query: async <R extends object>(text: string, values?: readonly unknown[]) =>
      (await send<R>(text, values, statementName(text))).rows,
    commit: () =>
      (commitSent ??= send('COMMIT').then((r) => {
        // COMMIT of a transaction a failed statement aborted answers ROLLBACK, not an error.
        if (r.command !== 'COMMIT') throw firstError ?? new Error('transaction rolled back at COMMIT');
      })),
  };
  let releaseErr: Error | undefined;
  // The connection dying between statements (no query to hear it): the client emits it, and an
  // error without a listener would take the process down. The client is destroyed at release.
  const onError = (err: Error) => {
    firstError ??= err;
    releaseErr = err;
  };
  client.on('error', onError);
  try {
    void send('BEGIN'); // travels with fn's first statements; a failure shows in theirs
    const out = await fn(sql);
    await sql.commit();
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (releaseErr = e));
    const cause = isAborted(err) && firstError ? firstError : err;
    // This connection's prepared statements predate a schema change: it goes, with them.
    if (isStalePlan(cause) || isStalePlan(firstError)) releaseErr ??= cause as Error;
    throw cause;
  } finally {
    clearTimeout(timer);
    client.pipeline = false;
    client.off('error', onError);
    client.release(releaseErr);
  }
}

/**
 * One statement on its own (no transaction), as a named (prepared) statement on the next free client
 * of `db`'s pool: for a read on a page's every view, where Prisma's cost per statement dominates
 * (issue 16: the logged-in item page's viewer lookup, one statement for the views of a tick, was
 * 12 % of that page's CPU through $queryRaw: the query engine, the adapter's mapping, its pool
 * wrapper). As sqlTransaction: constant text, every value in `values`; a statement a migration
 * made stale runs again on a fresh connection, the old one destroyed with its statements.
 */
export async function sqlQuery<T extends object = Record<string, unknown>>(
  db: object,
  text: string,
  values: readonly unknown[] = [],
  opts: { maxWaitMs?: number } = {},
): Promise<T[]> {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlQuery: this database client was not made by createDb');
  for (let attempt = 1; ; attempt++) {
    const client = await connect(pool, opts.maxWaitMs ?? 5_000);
    let releaseErr: Error | undefined;
    try {
      const name = statementName(text);
      const r = await client.query<T & pg.QueryResultRow>(
        name ? { name, text, values: values as unknown[] } : { text, values: values as unknown[] },
      );
      return r.rows;
    } catch (err) {
      // A stale statement or a broken connection (no error reply from the server): this client
      // goes (pg-pool destroys it). After PostgreSQL's own error reply the connection is fine.
      const reply = typeof (err as { severity?: unknown } | null)?.severity === 'string';
      if (isStalePlan(err) || !reply) releaseErr = err as Error;
      if (attempt < 2 && isStalePlan(err)) continue;
      throw err;
    } finally {
      client.release(releaseErr);
    }
  }
}
