/**
 * Entry point: config -> buildApp -> listen. ROLE=web serves HTTP, ROLE=worker runs BullMQ
 * workers only, ROLE=all (default) does both. SIGTERM/SIGINT drain: /readyz turns 503 so the
 * load balancer stops sending, in-flight requests finish, workers finish their jobs, then exit.
 */
import Fastify from 'fastify';
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError, type Config } from './config.js';
import { buildApp } from './app.js';
import { metricsText } from './modules/ops/index.js';
import { registry } from './core/metrics.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

// web and worker processes of one node expose metrics on two ports: the label tells them apart.
registry.setDefaultLabels({ role: config.role });
const app = await buildApp(config);
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
  app.log.info({ url: config.publicUrl, role: config.role }, `DAPANDA listening on http://${config.host}:${config.port}`);
} else {
  app.log.info({ role: config.role }, 'DAPANDA worker running');
}

const DRAIN_MS = Number(process.env.DRAIN_DELAY_MS ?? (config.env === 'production' ? 5000 : 0));
closeWithGrace({ delay: 30000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'fatal error, closing');
  app.log.info({ signal }, 'shutting down: draining');
  app.opsState.draining = true;
  // Give the load balancer time to see /readyz fail before we stop accepting connections.
  if (DRAIN_MS > 0) await new Promise((r) => setTimeout(r, DRAIN_MS));
  await app.close();
  await metrics.close();
});
