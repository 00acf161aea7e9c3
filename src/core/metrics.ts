/**
 * Prometheus metrics (prom-client): default process metrics, HTTP latency by route, and a
 * registry modules add their own metrics to. Served on METRICS_PORT by a separate listener so
 * the public port (and nginx) never exposes it.
 */
import fp from 'fastify-plugin';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const httpDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency by route',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export { client as prom };

export const metricsPlugin = fp(
  async (app) => {
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      httpDuration.observe(
        { method: req.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  },
  { name: 'core-metrics' },
);
