/**
 * The relay delivers a claimed batch together (core/outbox.ts): one transaction per consumer for
 * the batch's events. A poison event in a batch of 200 fails alone (retried, then dead) while the
 * others take effect once per consumer, with two relays sharing the rows; callbacks given to
 * `ctx.afterCommit` run after the commit only, never for a rolled-back batch, and one that throws
 * harms nothing; and the bookkeeping costs a few commits per batch, not several per event.
 * The relays are built straight from createOutbox on a database of the test's own, so that
 * nothing else (sweepers, the app's own consumers) runs there and its commit count is theirs.
 */
import t from 'tap';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ownDatabase } from '../helpers/env.js';
import { waitFor } from '../helpers/auction.js';
import { createDb } from '../../src/core/db/index.js';
import { createOutbox, type DurableContext, type OutboxSettings } from '../../src/core/outbox.js';

/** Not a domain event: a name no module consumes, so the probes here are its only consumers. */
const EVENT = 'test.batch';
type Payload = { n: number };
type Handler = (payload: Payload, ctx: DurableContext) => Promise<void>;

const logger = (errors: string[] = []): FastifyBaseLogger => {
  const log = {
    error: (_o: unknown, msg?: string) => void errors.push(msg ?? ''),
    warn: () => {},
    info: () => {},
    debug: () => {},
    trace: () => {},
    fatal: () => {},
    child: () => log,
    level: 'error',
  };
  return log as unknown as FastifyBaseLogger;
};

function relay(
  databaseUrl: string,
  namespace: string,
  consumers: Record<string, Handler>,
  o: { settings?: Partial<OutboxSettings>; errors?: string[]; published?: string[] } = {},
) {
  const db = createDb(databaseUrl, 4);
  const outbox = createOutbox({
    db,
    databaseUrl,
    namespace,
    log: logger(o.errors),
    settings: { pollMs: 100, leaseMs: 60_000, maxAttempts: 3, retentionDays: 14, ...o.settings },
    live: async (_name, _payload, eventId) => {
      o.published?.push(eventId);
      return true;
    },
  });
  for (const [consumer, handler] of Object.entries(consumers))
    outbox.onDurable(EVENT, consumer, handler as (payload: unknown, ctx: DurableContext) => Promise<void>);
  return { db, outbox };
}

/** `count` events in one transaction, before any relay runs (so they are claimed in full batches). */
async function enqueue(databaseUrl: string, namespace: string, count: number): Promise<string[]> {
  const { db, outbox } = relay(databaseUrl, namespace, {});
  try {
    return await db.$transaction((tx) =>
      outbox.enqueueAll(
        tx,
        Array.from({ length: count }, (_, n) => ({ name: EVENT, payload: { n } satisfies Payload })),
      ),
    );
  } finally {
    await db.$disconnect();
  }
}

/** The effects table: one row per effect, no key, so a double effect shows as two rows. */
async function effectsTable(databaseUrl: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query('CREATE TABLE IF NOT EXISTS test_effects (event_id bigint NOT NULL, consumer text NOT NULL)');
  return admin;
}

const effect = (db: DurableContext['tx'], eventId: string, consumer: string) =>
  db.$executeRaw`INSERT INTO test_effects (event_id, consumer) VALUES (${eventId}::bigint, ${consumer})`;

t.test(
  'a poison event in a batch of 200 fails alone: the rest take effect once per consumer, with two relays racing',
  async (t) => {
    const url = await ownDatabase(t);
    const admin = await effectsTable(url);
    t.teardown(() => admin.end());
    const namespace = `tbatch${randomBytes(4).toString('hex')}`;
    const ids = await enqueue(url, namespace, 200);
    const poison = ids[137];

    let poisonTries = 0;
    const runs = new Map<string, number>(); // handler runs per consumer:event (a rolled-back batch runs them again)
    const callbacks: { key: string; visible: boolean }[] = [];
    const errors: string[] = [];
    const published: string[] = [];
    const probe =
      (consumer: string): Handler =>
      async (p, ctx) => {
        const key = `${consumer}:${ctx.eventId}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await effect(ctx.tx, ctx.eventId, consumer);
        if (consumer === 'poisoned' && ctx.eventId === poison) {
          poisonTries++;
          throw new Error('poison says no');
        }
        ctx.afterCommit(async () => {
          // Outside the transaction: the effect must be visible by now.
          const r = await admin.query('SELECT 1 FROM test_effects WHERE event_id = $1 AND consumer = $2', [
            ctx.eventId,
            consumer,
          ]);
          callbacks.push({ key, visible: r.rowCount === 1 });
          if (p.n % 10 === 0) throw new Error('a follow-up that fails harms nothing');
        });
      };
    const consumers = { poisoned: probe('poisoned'), steady: probe('steady') };
    const a = relay(url, namespace, consumers, { errors, published });
    const b = relay(url, namespace, consumers, { errors, published });
    for (const r of [a, b]) t.teardown(() => r.db.$disconnect());
    await Promise.all([a.outbox.start(), b.outbox.start()]);

    const settled = async () =>
      Number(
        (
          await admin.query(
            'SELECT count(*) FROM outbox_events WHERE namespace = $1 AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)',
            [namespace],
          )
        ).rows[0].count,
      ) === 200;
    t.ok(await waitFor(settled, 30_000, 100), 'all 200 settled (delivered or dead)');
    await Promise.all([a.outbox.stop(), b.outbox.stop()]);

    const rows = (
      await admin.query<{ id: string; delivered: boolean; dead: boolean; attempts: number; last_error: string | null }>(
        `SELECT id::text, delivered_at IS NOT NULL AS delivered, dead_at IS NOT NULL AS dead, attempts, last_error
           FROM outbox_events WHERE namespace = $1 ORDER BY id`,
        [namespace],
      )
    ).rows;
    const bad = rows.find((r) => r.id === poison)!;
    t.ok(bad.dead && !bad.delivered, 'the poison event is dead, not delivered');
    t.equal(bad.attempts, 3, 'after its 3 attempts');
    t.equal(
      poisonTries,
      4,
      'its failing consumer ran in the batch, then alone once per attempt (the fallback, then retries)',
    );
    t.match(bad.last_error, /poisoned: poison says no/, 'the reason is kept');
    t.ok(
      rows.filter((r) => r.id !== poison).every((r) => r.delivered && r.attempts === 1),
      'the other 199 delivered on their first attempt',
    );

    const effects = (
      await admin.query<{ consumer: string; event_id: string; n: number }>(
        'SELECT consumer, event_id::text, count(*)::int AS n FROM test_effects GROUP BY 1, 2',
      )
    ).rows;
    const of = (consumer: string) => effects.filter((e) => e.consumer === consumer);
    t.equal(of('steady').length, 200, 'the other consumer took effect for all 200, the poison one too');
    t.equal(of('poisoned').length, 199, 'the failing consumer for the 199 others');
    t.notOk(
      of('poisoned').some((e) => e.event_id === poison),
      "the poison event's failed attempts left no effect",
    );
    t.ok(
      effects.every((e) => e.n === 1),
      'each effect once, although handlers of a rolled-back batch ran again',
    );
    const inbox = (
      await admin.query<{ consumer: string }>('SELECT consumer FROM inbox_events WHERE event_id = $1', [poison])
    ).rows.map((r) => r.consumer);
    t.same(inbox, ['steady'], 'the poison event has the inbox row of the consumer that succeeded only');
    const reran = [...runs.values()].filter((n) => n > 1).length;
    t.comment(
      `handlers run again after a rolled-back batch: ${reran}; ` +
        `relay errors logged: ${errors.filter((e) => e === 'durable event consumer failed').length} consumer failures`,
    );
    t.equal(published.length, 200, 'each event handed to the live listeners once');

    t.equal(callbacks.length, 399, 'one after-commit callback per committed effect (199 + 200)');
    t.equal(new Set(callbacks.map((c) => c.key)).size, 399, 'none twice: a rolled-back batch dropped its callbacks');
    t.ok(
      callbacks.every((c) => c.visible),
      'every callback ran after its commit (its effect visible outside)',
    );
    t.notOk(
      callbacks.some((c) => c.key === `poisoned:${poison}`),
      'none for the failed delivery',
    );

    // A replay of everything (an operator re-queues the rows): inbox rows make it a no-op.
    await admin.query(
      'UPDATE outbox_events SET delivered_at = NULL, dead_at = NULL, attempts = 0, available_at = now() WHERE namespace = $1 AND id <> $2',
      [namespace, poison],
    );
    const c = relay(url, namespace, consumers, { errors, published });
    t.teardown(() => c.db.$disconnect());
    await c.outbox.start();
    t.ok(await waitFor(settled, 15_000, 100), 'replayed and delivered again');
    await c.outbox.stop();
    const again = Number((await admin.query('SELECT count(*) FROM test_effects')).rows[0].count);
    t.equal(again, 399, 'no effect twice after the replay');
    t.equal(callbacks.length, 399, 'nor a callback');
  },
);

t.test('commits per delivered event: a few per batch of 50, not several per event', async (t) => {
  const url = await ownDatabase(t);
  const admin = await effectsTable(url);
  t.teardown(() => admin.end());
  const namespace = `tbatch${randomBytes(4).toString('hex')}`;
  const N = 200;
  await enqueue(url, namespace, N);
  const stats = async () => {
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const r = await admin.query<{ c: string }>(
      'SELECT xact_commit::text AS c FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(r.rows[0].c);
  };
  // Stats reach pg_stat_database when a backend flushes them (at latest when it exits).
  await new Promise((r) => setTimeout(r, 1200));
  const before = await stats();
  let done = 0;
  const follow = { calls: 0 };
  // Like the notifications consumer: writes in the transaction, one follow-up for the whole transaction.
  const seen = new WeakSet<object>();
  const { db, outbox } = relay(
    url,
    namespace,
    {
      one: async (_p, ctx) => {
        await effect(ctx.tx, ctx.eventId, 'one');
        done++;
        if (!seen.has(ctx.tx)) {
          seen.add(ctx.tx);
          ctx.afterCommit(() => void follow.calls++);
        }
      },
    },
    { settings: { pollMs: 60_000 } },
  );
  await outbox.start();
  t.ok(await waitFor(async () => done >= N, 20_000, 20), 'all handled');
  await outbox.stop(); // the batch in progress finishes (its delivered mark included)
  await db.$disconnect(); // its backends exit, flushing their statistics
  await new Promise((r) => setTimeout(r, 1500));
  const after = await stats();
  const delivered = Number(
    (
      await admin.query('SELECT count(*) FROM outbox_events WHERE namespace = $1 AND delivered_at IS NOT NULL', [
        namespace,
      ])
    ).rows[0].count,
  );
  t.equal(delivered, N, `all ${N} delivered`);
  // The admin connection's own two reads in between count too.
  const commits = after - before - 2;
  const perEvent = commits / N;
  t.comment(
    `${commits} commits for ${N} events = ${perEvent.toFixed(3)} per event ` +
      `(one event at a time it was >= 3 per event for one consumer: published_at, the consumer's transaction, delivered_at); ` +
      `${follow.calls} follow-ups`,
  );
  t.ok(perEvent < 0.25, `well below one commit per event (${perEvent.toFixed(3)})`);
  t.ok(follow.calls <= Math.ceil(N / 50) + 1, `one follow-up per batch transaction (${follow.calls})`);
});

t.test(
  'beforeCommit: after every handler of its transaction, inside it; its rejection rolls the batch back',
  async (t) => {
    const url = await ownDatabase(t);
    const admin = await effectsTable(url);
    t.teardown(() => admin.end());
    const namespace = `tbatch${randomBytes(4).toString('hex')}`;
    const ids = await enqueue(url, namespace, 120);
    const poison = ids[71];
    // Like notifications' writeAtCommit: handlers queue, one write per transaction just before its commit.
    const queued = new WeakMap<object, string[]>();
    const flushes: { events: number; handledBefore: number; handledAtFlush: number }[] = [];
    let handled = 0;
    const { db, outbox } = relay(url, namespace, {
      gather: async (_p, ctx) => {
        handled++;
        const list = queued.get(ctx.tx);
        if (list) return void list.push(ctx.eventId);
        const mine = [ctx.eventId];
        queued.set(ctx.tx, mine);
        const handledBefore = handled;
        ctx.beforeCommit(async () => {
          flushes.push({ events: mine.length, handledBefore, handledAtFlush: handled });
          await ctx.tx.$executeRaw`
          INSERT INTO test_effects (event_id, consumer) SELECT e, 'gather' FROM unnest(${mine}::bigint[]) AS e`;
          if (mine.includes(poison)) throw new Error('the batched write says no');
        });
      },
    });
    t.teardown(() => db.$disconnect());
    await outbox.start();
    const settled = async () =>
      Number(
        (
          await admin.query(
            'SELECT count(*) FROM outbox_events WHERE namespace = $1 AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)',
            [namespace],
          )
        ).rows[0].count,
      ) === 120;
    t.ok(await waitFor(settled, 30_000, 100), 'all 120 settled');
    await outbox.stop();
    const effects = (
      await admin.query<{ event_id: string; n: number }>(
        "SELECT event_id::text, count(*)::int AS n FROM test_effects WHERE consumer = 'gather' GROUP BY 1",
      )
    ).rows;
    t.equal(effects.length, 119, 'the 119 others written (the poison batch was rolled back, then one by one)');
    t.ok(
      effects.every((e) => e.n === 1),
      'each once',
    );
    t.notOk(
      effects.some((e) => e.event_id === poison),
      'nothing of the poison event',
    );
    const dead = (
      await admin.query<{ id: string }>(
        'SELECT id::text FROM outbox_events WHERE namespace = $1 AND dead_at IS NOT NULL',
        [namespace],
      )
    ).rows.map((r) => r.id);
    t.same(dead, [poison], 'only the poison event is dead');
    t.ok(
      flushes.some((f) => f.events >= 40),
      `batches flushed together (largest: ${Math.max(...flushes.map((f) => f.events))} events)`,
    );
    t.ok(
      flushes.every((f) => f.handledAtFlush - f.handledBefore === f.events - 1),
      'each flush ran after all the handlers of its transaction',
    );
  },
);
