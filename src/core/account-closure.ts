/**
 * Deleting an account without accounts importing the modules that hold a user's money and trades:
 * each module that may have to refuse a deletion, or keeps personal data of its own (addresses),
 * registers a step while it registers:
 *
 *   app.accountClosure.register('orders', {
 *     blockers: async (userId) => openOrders ? [{ key: 'orders.closure.openOrders', params: { count } }] : [],
 *     erase: async (tx, userId) => { await tx.orderAddress.deleteMany({ where: { userId } }); },
 *   });
 *
 * accounts asks every step for its blockers first (any blocker refuses the deletion, each with its
 * message key) and then runs every erase inside the transaction that anonymises the user, so a
 * failure leaves nothing half erased. In core, like report-targets, so neither side imports the other.
 */
import fp from 'fastify-plugin';
import type { Tx } from './db/index.js';

/** Why the account cannot be deleted now: a message key (of the registering module) and its values. */
export interface ClosureBlocker {
  key: string;
  params?: Record<string, unknown>;
}

export interface ClosureStep {
  /** What stops the deletion now (empty: nothing). */
  blockers(userId: number): Promise<ClosureBlocker[]>;
  /** Erases or anonymises this module's personal data of the user, inside accounts' transaction. */
  erase?(tx: Tx, userId: number): Promise<void>;
}

export interface AccountClosure {
  register(name: string, step: ClosureStep): void;
  /** Every registered step's blockers, in registration order. */
  blockers(userId: number): Promise<ClosureBlocker[]>;
  /** Runs every registered erase in `tx`. */
  erase(tx: Tx, userId: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    accountClosure: AccountClosure;
  }
}

export const accountClosurePlugin = fp(
  async (app) => {
    const steps = new Map<string, ClosureStep>();
    app.decorate('accountClosure', {
      register(name, step) {
        if (steps.has(name)) throw new Error(`account closure step ${name} is already registered`);
        steps.set(name, step);
      },
      async blockers(userId) {
        const all = await Promise.all([...steps.values()].map((s) => s.blockers(userId)));
        return all.flat();
      },
      async erase(tx, userId) {
        for (const s of steps.values()) await s.erase?.(tx, userId);
      },
    } satisfies AccountClosure);
  },
  { name: 'core-account-closure' },
);
