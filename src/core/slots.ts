/**
 * Page slots: a page owned by one module shows a part rendered by another without importing
 * it (the item page's bid area is the bidding module's). The provider returns a partial name
 * and its data; the page renders it with `{{> (lookup slot "partial") slot.data}}`-style
 * dynamic partials, so everything stays escaped by Handlebars.
 */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';

export interface SlotContent {
  partial: string;
  data: Record<string, unknown>;
}
export type SlotProvider = (id: number, req: FastifyRequest) => Promise<SlotContent | null>;

export interface Slots {
  provide(name: string, provider: SlotProvider): void;
  render(name: string, id: number, req: FastifyRequest): Promise<SlotContent | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    slots: Slots;
  }
}

export const slotsPlugin = fp(
  async (app) => {
    const providers = new Map<string, SlotProvider>();
    app.decorate('slots', {
      provide(name, provider) {
        if (providers.has(name)) throw new Error(`slot ${name} already has a provider`);
        providers.set(name, provider);
      },
      async render(name, id, req) {
        const p = providers.get(name);
        return p ? p(id, req) : null;
      },
    } satisfies Slots);
  },
  { name: 'core-slots' },
);
