/**
 * ops: the process's own health (`/healthz`), readiness to serve (`/readyz`: PostgreSQL and
 * Redis reachable, not draining) and the metrics text for Prometheus.
 */
import type { FastifyPluginAsync } from 'fastify';
import { registry } from '../../core/metrics.js';

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms).unref())]);

export interface OpsState {
  draining: boolean;
}

export const opsModule: FastifyPluginAsync<{ state: OpsState }> = async (app, opts) => {
  app.get('/healthz', { config: { rateLimit: false } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { rateLimit: false } }, async (_req, reply) => {
    if (opts.state.draining) return reply.code(503).send({ status: 'unavailable', reason: 'draining: shutting down' });
    const failures: string[] = [];
    await Promise.all([
      withTimeout(app.db.$queryRaw`SELECT 1`, 1500, 'postgresql').catch((e: Error) => failures.push(`postgresql: ${e.message.split('\n')[0]}`)),
      withTimeout(app.redis.ping(), 1500, 'redis').catch((e: Error) => failures.push(`redis: ${e.message}`)),
    ]);
    if (failures.length) return reply.code(503).send({ status: 'unavailable', reason: failures.join('; ') });
    return { status: 'ready' };
  });
};

export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
