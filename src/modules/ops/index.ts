/**
 * ops: the process's own health (`/healthz`), readiness to serve (`/readyz`: PostgreSQL and
 * Redis reachable, not draining; names the node and release for operators) and the metrics text
 * for Prometheus.
 */
import type { FastifyPluginAsync } from 'fastify';
import { registry } from '../../core/metrics.js';

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms).unref()),
  ]);

export interface OpsState {
  draining: boolean;
}

export interface NodeIdentity {
  node: string;
  version: string;
}

export const opsModule: FastifyPluginAsync<{ state: OpsState; identity: NodeIdentity }> = async (app, opts) => {
  const { node, version } = opts.identity;
  // The load balancer asks every node every 2 s: those requests are not worth two log lines each.
  const probe = { config: { rateLimit: false }, logLevel: 'warn' } as const;
  app.get('/healthz', probe, async () => ({ status: 'ok' }));

  app.get('/readyz', probe, async (_req, reply) => {
    if (opts.state.draining)
      return reply.code(503).send({ status: 'unavailable', reason: 'draining: shutting down', node, version });
    const failures: string[] = [];
    await Promise.all([
      withTimeout(app.db.$queryRaw`SELECT 1`, 1500, 'postgresql').catch((e: Error) =>
        failures.push(`postgresql: ${e.message.split('\n')[0]}`),
      ),
      withTimeout(app.redis.ping(), 1500, 'redis').catch((e: Error) => failures.push(`redis: ${e.message}`)),
    ]);
    if (failures.length)
      return reply.code(503).send({ status: 'unavailable', reason: failures.join('; '), node, version });
    return { status: 'ready', node, version };
  });
};

export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
