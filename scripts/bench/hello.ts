/**
 * The bench's baseline: Fastify's own hello-world (logger off) in its own process on 127.0.0.1,
 * measured by the same load generator and connection count as the page scenarios, in the same run:
 * the page ratios are "this page's req/s / hello-world's req/s" on this machine right now.
 *   -> { ready: port }   once listening;   <- 'stop'   closes and exits
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.on('message', async (msg: string) => {
  if (msg === 'stop') {
    await app.close();
    process.exit(0);
  }
});
process.send?.({ ready: typeof address === 'object' && address ? address.port : 0 });
