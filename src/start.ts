/** Starts a configured process (server.ts, worker.ts): the app, its metrics listener, graceful shutdown. */
import Fastify from 'fastify';
import closeWithGrace from 'close-with-grace';
import type { Config } from './config.js';
import { buildApp, type App } from './app.js';
import { metricsText } from './modules/ops/index.js';
import { registry } from './core/metrics.js';

/** `beforeReady` adds to the app before it starts (a test's extra consumer, say). */
export async function startServer(config: Config, beforeReady?: (app: App) => void): Promise<App> {
  // web and worker processes of one node expose metrics on two ports: the label tells them apart.
  registry.setDefaultLabels({ role: config.role });
  const app = await buildApp(config);
  beforeReady?.(app);
  await app.ready();

  // Metrics on their own port and address (METRICS_HOST), never behind the public load balancer.
  const metrics = Fastify({ logger: false });
  metrics.get('/metrics', async (_req, reply) => {
    const m = await metricsText();
    return reply.type(m.contentType).send(m.body);
  });
  await metrics.listen({ port: config.metricsPort, host: config.metricsHost });

  if (config.role !== 'worker') {
    await app.listen({ port: config.port, host: config.host });
    app.log.info(
      { url: config.publicUrl, role: config.role },
      `DAPANDA listening on http://${config.host}:${config.port}`,
    );
  } else {
    app.log.info({ role: config.role }, 'DAPANDA worker running');
  }

  closeWithGrace({ delay: 30000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, closing');
    app.log.info({ signal }, 'shutting down: draining');
    app.opsState.draining = true;
    // Give the load balancer time to see /readyz fail before we stop accepting connections.
    if (config.drainDelayMs > 0) await new Promise((r) => setTimeout(r, config.drainDelayMs));
    await app.close();
    await metrics.close();
  });
  return app;
}
