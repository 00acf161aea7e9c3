/** `req.htmx`: the request was made by htmx (it sends `HX-Request`), so it wants a fragment, not a page. */
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    readonly htmx: boolean;
  }
}

export const htmxPlugin = fp(
  async (app) => {
    // A getter, not an onRequest hook: an error answered before the hooks ran knows it too.
    app.decorateRequest('htmx', {
      getter(this: import('fastify').FastifyRequest) {
        return Boolean(this.headers['hx-request']);
      },
    });
  },
  { name: 'core-htmx' },
);
