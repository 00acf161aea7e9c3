/**
 * The metrics listener (no auth; GMV and every other business figure) binds METRICS_HOST, loopback by
 * default, not the web listener's address: with HOST=0.0.0.0 (production's default) it is still unreachable
 * on any other address. Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 stands in for the node's
 * public interface.
 */
import t from 'tap';
import { startServer } from '../helpers/server.js';

const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(3000) }).then(
    (r) => r.status,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.name,
  );

t.test('web on 0.0.0.0, metrics on loopback only', async (t) => {
  const { port, metricsPort, output } = await startServer(t, { HOST: '0.0.0.0', DRAIN_DELAY_MS: '0' });
  t.match(output(), 'DAPANDA listening', 'server started');
  t.equal(await status(`http://127.0.0.2:${port}/healthz`), 200, 'the web port answers on every address');
  t.equal(await status(`http://127.0.0.1:${metricsPort}/metrics`), 200, 'metrics answer on 127.0.0.1');
  t.equal(await status(`http://127.0.0.2:${metricsPort}/metrics`), 'ECONNREFUSED', 'metrics refuse any other address');
});

t.test('METRICS_HOST moves them to the given (private) address', async (t) => {
  const { metricsPort, output } = await startServer(t, {
    HOST: '127.0.0.1',
    METRICS_HOST: '127.0.0.2',
    DRAIN_DELAY_MS: '0',
  });
  t.match(output(), 'DAPANDA listening', 'server started');
  t.equal(await status(`http://127.0.0.2:${metricsPort}/metrics`), 200, 'metrics on METRICS_HOST');
  t.equal(await status(`http://127.0.0.1:${metricsPort}/metrics`), 'ECONNREFUSED', 'and only there');
});
