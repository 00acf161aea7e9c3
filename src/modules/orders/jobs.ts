/**
 * Order timers. Each deadline and reminder is a BullMQ job with a deterministic id
 * (`order-<id>-due-<deadline ms>`, `order-<id>-remind-<ms>`): planning twice adds one job, and a
 * job carries the deadline it was planned for, so a job of an earlier state (or one a dispute
 * stopped) finds nothing to do. Safety nets as for auction closes: a sweeper in every worker
 * process (ORDER_SWEEP_MS) acts on every overdue deadline and reminder in PostgreSQL, and after
 * Redis lost its data every open order's jobs are planned again. Second-chance offers expire the
 * same way (`offer-<id>-expire-<ms>`, the sweeper expires every OPEN offer past its time).
 */
import type { FastifyInstance } from 'fastify';
import * as svc from './service.js';
import * as offers from './offers.js';

export const QUEUE = 'orders';
const PLAN_TIMEOUT_MS = 2000;

type JobData = { id: number; at: number };
type Kind = 'due' | 'remind' | 'offer';

export interface OrderTimers {
  /** Plans the order's current deadline and reminder (no-op for states without timers). */
  plan(o: Pick<svc.Order, 'id' | 'dueAt' | 'remindAt' | 'remindedAt' | 'state'>): Promise<void>;
  /** Runs a due timer now (jobs, the sweeper, tests). */
  fire(kind: Kind, id: number, at: Date): Promise<unknown>;
  /** Plans a second-chance offer's expiry (`offer-<offer id>-expire-<expiresAt ms>`). */
  planOffer(f: Pick<offers.Offer, 'id' | 'expiresAt' | 'state'>): Promise<void>;
  sweep(): Promise<{ expired: number; confirmed: number; reminded: number; offersExpired: number; failed: number }>;
  replanAll(): Promise<number>;
}

export const jobId = (kind: Kind, id: number, at: Date) =>
  kind === 'offer' ? `offer-${id}-expire-${at.getTime()}` : `order-${id}-${kind}-${at.getTime()}`;

export function orderTimers(app: FastifyInstance, deps: svc.OrdersDeps, opts: { sweepMs: number }): OrderTimers {
  const queue = app.queues.queue<JobData>(QUEUE);
  const add = async (kind: Kind, id: number, at: Date) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('plan order timer: Redis did not answer')), PLAN_TIMEOUT_MS);
    });
    await Promise.race([
      queue.add(
        kind,
        { id, at: at.getTime() },
        { jobId: jobId(kind, id, at), delay: Math.max(0, at.getTime() - Date.now()) },
      ),
      late,
    ]).finally(() => clearTimeout(timer));
  };

  const timers: OrderTimers = {
    async plan(o) {
      if (o.dueAt) await add('due', o.id, o.dueAt);
      if (o.remindAt && !o.remindedAt) await add('remind', o.id, o.remindAt);
    },
    async planOffer(f) {
      if (f.state === 'OPEN') await add('offer', f.id, f.expiresAt);
    },
    async fire(kind, id, at) {
      if (kind === 'remind') return svc.remind(deps, id, at);
      if (kind === 'offer') return offers.expireOffer(deps, id, at);
      const o = await app.db.order.findUnique({ where: { id }, select: { state: true, dueAt: true } });
      if (!o || o.dueAt?.getTime() !== at.getTime()) return null;
      if (o.state === 'SHIPPED') return svc.confirm(deps, id, { auto: at });
      return svc.expire(deps, id, at);
    },
    async sweep() {
      let [expired, confirmed, reminded, offersExpired, failed] = [0, 0, 0, 0, 0];
      const due = await app.db.order.findMany({
        where: { dueAt: { lte: new Date() }, state: { in: ['AWAITING_ADDRESS', 'AWAITING_SHIPMENT', 'SHIPPED'] } },
        select: { id: true, dueAt: true, state: true },
        orderBy: { dueAt: 'asc' },
        take: 500,
      });
      for (const o of due) {
        try {
          const r = await timers.fire('due', o.id, o.dueAt!);
          if (r && o.state === 'SHIPPED') confirmed++;
          else if (r) expired++;
        } catch (err) {
          failed++;
          app.log.error({ err, orderId: o.id }, 'order sweeper: deadline failed');
        }
      }
      const reminders = await app.db.order.findMany({
        where: { remindAt: { lte: new Date() }, remindedAt: null, state: { in: ['AWAITING_ADDRESS', 'SHIPPED'] } },
        select: { id: true, remindAt: true },
        take: 500,
      });
      for (const o of reminders) {
        try {
          if (await svc.remind(deps, o.id, o.remindAt!)) reminded++;
        } catch (err) {
          failed++;
          app.log.error({ err, orderId: o.id }, 'order sweeper: reminder failed');
        }
      }
      const lapsed = await app.db.orderOffer.findMany({
        where: { state: 'OPEN', expiresAt: { lte: new Date() } },
        select: { id: true, expiresAt: true },
        take: 500,
      });
      for (const f of lapsed) {
        try {
          if (await offers.expireOffer(deps, f.id, f.expiresAt)) offersExpired++;
        } catch (err) {
          failed++;
          app.log.error({ err, offerId: f.id }, 'order sweeper: offer expiry failed');
        }
      }
      return { expired, confirmed, reminded, offersExpired, failed };
    },
    async replanAll() {
      let planned = 0;
      for (let after = 0; ;) {
        const batch = await app.db.order.findMany({
          where: { id: { gt: after }, dueAt: { not: null } },
          orderBy: { id: 'asc' },
          take: 500,
        });
        if (!batch.length) break;
        for (const o of batch) {
          await timers.plan(o);
          planned++;
        }
        after = batch[batch.length - 1].id;
      }
      for (let after = 0; ;) {
        const batch = await app.db.orderOffer.findMany({
          where: { id: { gt: after }, state: 'OPEN' },
          orderBy: { id: 'asc' },
          take: 500,
        });
        if (!batch.length) return planned;
        for (const f of batch) {
          await timers.planOffer(f);
          planned++;
        }
        after = batch[batch.length - 1].id;
      }
    },
  };

  app.queues.worker<JobData>(
    QUEUE,
    async (job) => {
      const kind: Kind = job.name === 'remind' ? 'remind' : job.name === 'offer' ? 'offer' : 'due';
      const r = await timers.fire(kind, Number(job.data.id), new Date(Number(job.data.at)));
      return { acted: !!r };
    },
    { concurrency: 4 },
  );
  app.queues.every('orders-sweeper', opts.sweepMs, () => timers.sweep());
  app.queues.onRedisReset('order-timers', async () => {
    const n = await timers.replanAll();
    app.log.warn({ orders: n }, 'order timers re-planned from PostgreSQL');
  });
  return timers;
}
