/**
 * Slots: how a page owned by one module shows a part owned by another without importing it or
 * including its templates. Two kinds:
 * - data slots (`provide` / `render`): the provider loads its own data for one id and names the
 *   partial to draw it with; the page renders it with `{{> (lookup bidArea "partial") bidArea.data}}`.
 *   The item page's bid area is bidding's. The provider's scripts join the page's.
 * - template slots (`app.views.fillSlot` in core/views.ts): `{{slotFor "listing.card.actions" listingId=id}}`
 *   renders the filling module's partial with those values, for parts that need no data of their
 *   own (the watch button on every listing card).
 * Either way everything stays escaped by Handlebars, and an unfilled slot renders nothing.
 */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';

export interface SlotContent {
  partial: string;
  data: Record<string, unknown>;
  /** Module scripts the part needs on the page (`bidding.js`). */
  scripts?: string[];
  /** Live topics the part listens to (`auction:42`): they join the page's one WebSocket. */
  topics?: string[];
}
export type SlotProvider = (id: number, req: FastifyRequest) => Promise<SlotContent | null>;
/** A data slot for many ids at once (one read for a whole page of cards, not one per card). */
export type SlotBatchProvider = (ids: number[], req: FastifyRequest) => Promise<Map<number, SlotContent>>;

export interface Slots {
  provide(name: string, provider: SlotProvider): void;
  render(name: string, id: number, req: FastifyRequest): Promise<SlotContent | null>;
  /** Fills a batch slot: `renderMany` asks it once per page with every id on it. */
  provideMany(name: string, provider: SlotBatchProvider): void;
  /** Content per id (ids without content are absent); an unfilled slot answers an empty map. */
  renderMany(name: string, ids: number[], req: FastifyRequest): Promise<Map<number, SlotContent>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    slots: Slots;
  }
}

export const slotsPlugin = fp(
  async (app) => {
    const providers = new Map<string, SlotProvider>();
    const batchProviders = new Map<string, SlotBatchProvider>();
    app.decorate('slots', {
      provide(name, provider) {
        if (providers.has(name)) throw new Error(`slot ${name} already has a provider`);
        providers.set(name, provider);
      },
      async render(name, id, req) {
        const p = providers.get(name);
        const content = p ? await p(id, req) : null;
        if (content?.scripts?.length) {
          req.pageScripts ??= new Set();
          for (const s of content.scripts) req.pageScripts.add(s);
        }
        if (content?.topics?.length) {
          req.pageTopics ??= new Set();
          for (const s of content.topics) req.pageTopics.add(s);
        }
        return content;
      },
      provideMany(name, provider) {
        if (batchProviders.has(name)) throw new Error(`slot ${name} already has a provider`);
        batchProviders.set(name, provider);
      },
      async renderMany(name, ids, req) {
        const p = batchProviders.get(name);
        const unique = [...new Set(ids)];
        if (!p || !unique.length) return new Map();
        return p(unique, req);
      },
    } satisfies Slots);
  },
  { name: 'core-slots', dependencies: ['core-views'] },
);
