/**
 * The transactional outbox behind durable events (core/events.ts). `enqueue` inserts the event
 * row in the caller's transaction and NOTIFYs at its commit. The relay in every worker process
 * (LISTEN for the NOTIFY, and a short poll for anything missed or due again) claims rows with
 * `FOR UPDATE SKIP LOCKED` plus a lease, so several instances share the work and a relay that
 * died mid-delivery only delays its rows until the lease runs out. For each row it:
 *  1. hands the event to the live listeners of every instance (browser pushes: low latency);
 *  2. runs each durable consumer in its own transaction that first inserts the (event, consumer)
 *     inbox row: a redelivery, or a second relay racing on an expired lease, finds the row taken
 *     (or waits for it to commit) and does nothing, so each consumer's effect happens once;
 *  3. marks the row delivered, or schedules a retry with exponential backoff. A consumer that
 *     keeps failing does not hold up other events (they are claimed past it) nor other consumers
 *     of the same event (their inbox rows are kept); after `maxAttempts` the row is set aside as
 *     dead, logged as an error and counted (dapanda_outbox_dead_total, dapanda_outbox_dead).
 * Delivery needs PostgreSQL only: with Redis down, durable consumers still run; the live push
 * to other instances is retried until Redis takes it. Consumers must not rely on order.
 */
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { prismaSql, transaction, type Db, type Sql, type Tx } from './db/index.js';
import { prom, registry } from './metrics.js';

export interface OutboxSettings {
  pollMs: number;
  leaseMs: number;
  maxAttempts: number;
  retentionDays: number;
}

export interface DurableContext {
  /** The consumer's transaction: write through it (e.g. `walletApi(db).withTx(ctx.tx)`). */
  tx: Tx;
  eventId: string;
  /** 1 on the first delivery. */
  attempt: number;
}

type Consumer = { consumer: string; handler: (payload: unknown, ctx: DurableContext) => Promise<void> };

const CHANNEL = 'dapanda_outbox';
const BATCH = 50;
const MAINTAIN_EVERY_MS = 30_000;

const delivered = new prom.Counter({
  name: 'dapanda_outbox_delivered_total',
  help: 'Durable events delivered to all their consumers',
  labelNames: ['event'] as const,
  registers: [registry],
});
const failures = new prom.Counter({
  name: 'dapanda_outbox_failures_total',
  help: 'Failed deliveries of a durable event to one consumer (retried)',
  labelNames: ['event', 'consumer'] as const,
  registers: [registry],
});
const deadTotal = new prom.Counter({
  name: 'dapanda_outbox_dead_total',
  help: 'Durable events given up after their last attempt',
  labelNames: ['event'] as const,
  registers: [registry],
});
const latency = new prom.Histogram({
  name: 'dapanda_outbox_delivery_seconds',
  help: 'From the commit that wrote a durable event to its delivery',
  labelNames: ['event'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
  registers: [registry],
});
const pendingGauge = new prom.Gauge({
  name: 'dapanda_outbox_pending',
  help: 'Durable events not yet delivered',
  registers: [registry],
});
const oldestGauge = new prom.Gauge({
  name: 'dapanda_outbox_oldest_pending_seconds',
  help: 'Age of the oldest undelivered durable event',
  registers: [registry],
});
const deadGauge = new prom.Gauge({
  name: 'dapanda_outbox_dead',
  help: 'Durable events set aside as dead (need an operator)',
  registers: [registry],
});

interface Row {
  id: bigint;
  name: string;
  payload: unknown;
  attempts: number;
  published_at: Date | null;
  created_at: Date;
}

/** Retry n (1-based) waits 1, 2, 4 ... seconds, at most 10 minutes, with jitter so relays spread out. */
export const backoffMs = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 600_000) * (0.75 + Math.random() / 2);

export function createOutbox(o: {
  db: Db;
  databaseUrl: string;
  namespace: string;
  log: FastifyBaseLogger;
  settings: OutboxSettings;
  /** True while deliveries must wait (maintenance mode). */
  paused?: () => boolean;
  /** Hands an event to the live listeners of every instance; false when other instances could not be reached. */
  live: (name: string, payload: unknown, eventId: string) => Promise<boolean>;
}) {
  const consumers = new Map<string, Consumer[]>();
  const live = o.live;
  let started = false;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let listener: pg.Client | null = null;
  const timers: NodeJS.Timeout[] = [];
  let lastCleanup = 0;

  async function claim(): Promise<Row[]> {
    const rows = await o.db.$queryRaw<Row[]>`
      UPDATE outbox_events SET attempts = attempts + 1, locked_until = now() + ${o.settings.leaseMs}::int * interval '1 millisecond', updated_at = now()
       WHERE id IN (SELECT id FROM outbox_events
                     WHERE namespace = ${o.namespace} AND delivered_at IS NULL AND dead_at IS NULL AND available_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY id LIMIT ${BATCH}::int FOR UPDATE SKIP LOCKED)
      RETURNING id, name, payload, attempts, published_at, created_at`;
    return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async function deliver(row: Row): Promise<void> {
    const eventId = row.id.toString();
    const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
    const problems: string[] = [];
    let durableFailed = false;
    if (!row.published_at) {
      if (await live(row.name, payload, eventId))
        await o.db.$executeRaw`UPDATE outbox_events SET published_at = now() WHERE id = ${eventId}::bigint`;
      else problems.push('live: not published to other instances');
    }
    for (const c of consumers.get(row.name) ?? []) {
      try {
        await transaction(o.db, async (tx) => {
          // The inbox row first: a concurrent delivery of the same event waits here for this one's outcome.
          const fresh = await tx.$queryRaw<{ event_id: bigint }[]>`
            INSERT INTO inbox_events (event_id, consumer) VALUES (${eventId}::bigint, ${c.consumer}) ON CONFLICT DO NOTHING RETURNING event_id`;
          if (fresh.length) await c.handler(payload, { tx, eventId, attempt: row.attempts });
        });
      } catch (err) {
        durableFailed = true;
        problems.push(`${c.consumer}: ${(err as Error)?.message ?? String(err)}`);
        failures.inc({ event: row.name, consumer: c.consumer });
        o.log.error(
          { err, event: row.name, eventId, consumer: c.consumer, attempt: row.attempts },
          'durable event consumer failed',
        );
      }
    }
    const lastError = problems.join('; ').slice(0, 2000);
    if (!problems.length || (!durableFailed && row.attempts >= o.settings.maxAttempts)) {
      // A live push that never got out is given up with the event: pages re-sync when they reconnect.
      await o.db.$executeRaw`
        UPDATE outbox_events SET delivered_at = now(), locked_until = NULL, last_error = ${problems.length ? lastError : null}, updated_at = now() WHERE id = ${eventId}::bigint`;
      delivered.inc({ event: row.name });
      latency.observe({ event: row.name }, Math.max(0, Date.now() - row.created_at.getTime()) / 1000);
    } else if (row.attempts >= o.settings.maxAttempts) {
      await o.db
        .$executeRaw`UPDATE outbox_events SET dead_at = now(), locked_until = NULL, last_error = ${lastError}, updated_at = now() WHERE id = ${eventId}::bigint`;
      deadTotal.inc({ event: row.name });
      o.log.error(
        { event: row.name, eventId, attempts: row.attempts, lastError },
        'durable event given up after its last attempt: needs an operator',
      );
    } else {
      const wait = Math.round(backoffMs(row.attempts));
      await o.db.$executeRaw`
        UPDATE outbox_events SET available_at = now() + ${wait}::int * interval '1 millisecond', locked_until = NULL, last_error = ${lastError}, updated_at = now()
         WHERE id = ${eventId}::bigint`;
      o.log.warn(
        { event: row.name, eventId, attempt: row.attempts, retryInMs: wait, lastError },
        'durable event will be retried',
      );
    }
  }

  async function drain(): Promise<void> {
    for (;;) {
      // Maintenance mode: events wait in PostgreSQL (and move with it); the poll wakes the relay after.
      if (o.paused?.()) return;
      let rows: Row[];
      try {
        rows = await claim();
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, 'outbox: could not claim events (the poll retries)');
        return;
      }
      for (const [i, row] of rows.entries()) {
        if (stopped) {
          // Shutting down: let another relay take the rest now rather than after the lease.
          const rest = rows.slice(i).map((r) => r.id.toString());
          await o.db
            .$executeRaw`UPDATE outbox_events SET locked_until = NULL, attempts = attempts - 1 WHERE id = ANY(${rest}::bigint[])`.catch(
            () => {},
          );
          return;
        }
        await deliver(row).catch((err) =>
          o.log.error(
            { err, eventId: row.id.toString() },
            'outbox: delivery bookkeeping failed (retried after the lease)',
          ),
        );
      }
      if (rows.length < BATCH) return;
    }
  }

  function wake(): void {
    if (stopped || !started) return;
    if (running) {
      again = true;
      return;
    }
    running = drain().finally(() => {
      running = null;
      if (again) {
        again = false;
        wake();
      }
    });
  }

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: o.databaseUrl });
    client.on('error', (err) => o.log.debug({ err: err.message }, 'outbox listener error'));
    client.on('end', () => {
      if (listener === client) listener = null;
      if (!stopped) setTimeout(() => void listen(), 1000).unref();
    });
    client.on('notification', (msg) => {
      if (msg.payload === o.namespace) wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      listener = client;
      wake(); // anything committed while we were not listening
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'outbox: LISTEN failed; polling only until it reconnects');
      await client.end().catch(() => {});
    }
  }

  /** Gauges for alerts, and the retention of delivered events (their inbox rows go with them). */
  async function maintain(): Promise<void> {
    const [s] = await o.db.$queryRaw<{ pending: bigint; oldest: number | null; dead: bigint }[]>`
      SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL) AS pending,
             EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL))::float8 AS oldest,
             count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
        FROM outbox_events WHERE namespace = ${o.namespace} AND delivered_at IS NULL`;
    pendingGauge.set(Number(s?.pending ?? 0));
    oldestGauge.set(s?.oldest ?? 0);
    deadGauge.set(Number(s?.dead ?? 0));
    if (Date.now() - lastCleanup > 3600_000) {
      lastCleanup = Date.now();
      await o.db.$executeRaw`
        DELETE FROM outbox_events WHERE id IN (
          SELECT id FROM outbox_events WHERE namespace = ${o.namespace} AND delivered_at < now() - ${o.settings.retentionDays}::int * interval '1 day' LIMIT 10000)`;
    }
  }

  /**
   * Several events in one statement (a bid batch tells everyone it outbid), in order. The
   * notify is delivered by PostgreSQL at commit, and only then: the relays wake as the change
   * becomes visible (and one notify per transaction is all they need).
   */
  async function enqueueAllSql(sql: Sql, events: { name: string; payload: unknown }[]): Promise<string[]> {
    if (!events.length) return [];
    const rows = await sql.query<{ id: bigint | string }>(
      `WITH e AS (
        INSERT INTO outbox_events (namespace, name, payload)
        SELECT $1::text, t.name, t.payload::jsonb
          FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(name, payload, ord)
         ORDER BY t.ord
        RETURNING id)
      SELECT e.id FROM e CROSS JOIN (SELECT pg_notify($4::text, $1::text)) AS n ORDER BY e.id`,
      [o.namespace, events.map((e) => e.name), events.map((e) => JSON.stringify(e.payload)), CHANNEL],
    );
    return rows.map((r) => String(r.id));
  }
  const enqueueAll = (tx: Tx, events: { name: string; payload: unknown }[]) => enqueueAllSql(prismaSql(tx), events);

  return {
    async enqueue(tx: Tx, name: string, payload: unknown): Promise<string> {
      const [id] = await enqueueAll(tx, [{ name, payload }]);
      return id;
    },
    enqueueAll,
    enqueueAllSql,
    onDurable(name: string, consumer: string, handler: Consumer['handler']): void {
      if (started) throw new Error(`durable consumer ${consumer} of ${name} registered after start`);
      if (!/^[a-z][a-z0-9.-]{0,79}$/.test(consumer))
        throw new Error(`consumer name "${consumer}": lowercase letters, digits, . and -`);
      const list = consumers.get(name) ?? [];
      if (list.some((c) => c.consumer === consumer))
        throw new Error(`${name} already has a durable consumer named ${consumer}`);
      consumers.set(name, [...list, { consumer, handler }]);
    },
    /** Starts the relay in this process. */
    async start(): Promise<void> {
      started = true;
      timers.push(setInterval(wake, o.settings.pollMs));
      timers.push(
        setInterval(
          () =>
            void maintain().catch((err) => o.log.debug({ err: (err as Error).message }, 'outbox maintenance failed')),
          MAINTAIN_EVERY_MS,
        ),
      );
      for (const t of timers) t.unref();
      await listen();
      wake();
    },
    /** Stops claiming; the delivery in progress finishes first. */
    async stop(): Promise<void> {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
}
