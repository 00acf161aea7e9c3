/**
 * What a ledger reference is about, without the wallet importing the modules that make the
 * references: each module that moves money registers a resolver for its reference prefix
 * (bidding `auction:`, orders `order:` and `offer:`) while it registers, and the wallet's history
 * page asks the registry once per page with every reference on it (one call per prefix, not one
 * per row). In core, like report-targets and slots, so neither side imports the other.
 */
import fp from 'fastify-plugin';

export interface LedgerLabel {
  /** The item's title (plain text; the template escapes it). */
  title: string;
  /** Same-origin path to the item or the order. */
  href: string;
}

/** Labels for the given references (all with the resolver's prefix); unknown ones are left out. */
export type LedgerLabelResolver = (refs: string[]) => Promise<Map<string, LedgerLabel>>;

export interface LedgerLabels {
  /** `prefix` up to and including its colon, e.g. `auction:`. */
  register(prefix: string, resolve: LedgerLabelResolver): void;
  /** One batch per registered prefix; a reference no module answers has no label. */
  resolve(refs: string[]): Promise<Map<string, LedgerLabel>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    ledgerLabels: LedgerLabels;
  }
}

/** The id after the prefix of `prefix:<id>[:…]`, or null. */
export function refId(ref: string, prefix: string): number | null {
  if (!ref.startsWith(prefix)) return null;
  const m = /^(\d{1,10})(?::|$)/.exec(ref.slice(prefix.length));
  const id = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647 ? id : null;
}

export function createLedgerLabels(): LedgerLabels {
  const resolvers = new Map<string, LedgerLabelResolver>();
  return {
    register(prefix, resolve) {
      if (!prefix.endsWith(':')) throw new Error(`ledger label prefix ${prefix} must end with ':'`);
      if (resolvers.has(prefix)) throw new Error(`ledger label prefix ${prefix} is already registered`);
      resolvers.set(prefix, resolve);
    },
    async resolve(refs) {
      const out = new Map<string, LedgerLabel>();
      const unique = [...new Set(refs)];
      await Promise.all(
        [...resolvers].map(async ([prefix, resolve]) => {
          const mine = unique.filter((r) => r.startsWith(prefix));
          if (!mine.length) return;
          for (const [ref, label] of await resolve(mine)) out.set(ref, label);
        }),
      );
      return out;
    },
  };
}

export const ledgerLabelsPlugin = fp(
  async (app) => {
    app.decorate('ledgerLabels', createLedgerLabels());
  },
  { name: 'core-ledger-labels' },
);
