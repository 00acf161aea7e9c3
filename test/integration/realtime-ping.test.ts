/** Keep-alive pings: every socket is pinged once per interval (WS_PING_MS), and a peer that does not answer is dropped. */
import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';

const PING_MS = 300;

t.test('each socket is pinged once per interval; a silent peer is dropped', async (t) => {
  const { app } = await startApp(t, { WS_PING_MS: String(PING_MS) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const url = `ws://127.0.0.1:${port}/ws?topics=probe:1`;

  const tabs = Array.from({ length: 20 }, () => {
    const ws = new WebSocket(url);
    const pings: number[] = [];
    ws.on('ping', () => pings.push(performance.now()));
    const tab = { ws, pings, openedAt: 0, ready: new Promise((r) => ws.once('open', r)) };
    ws.once('open', () => (tab.openedAt = performance.now()));
    return tab;
  });
  // A peer that never answers (a half-open TCP connection, a sleeping phone).
  const silent = new WebSocket(url, { autoPong: false });
  const silentClosed = new Promise<number>((r) => silent.once('close', () => r(performance.now())));
  await Promise.all([...tabs.map((x) => x.ready), new Promise((r) => silent.once('open', r))]);
  const openedAt = performance.now();

  const dropped = await Promise.race([silentClosed, new Promise<null>((r) => setTimeout(() => r(null), 8 * PING_MS))]);
  t.ok(dropped !== null, 'the peer that does not answer pings is closed by the server');
  t.ok(dropped !== null && dropped - openedAt <= 3 * PING_MS, 'within its second ping (two intervals and a tick)');

  await new Promise((r) => setTimeout(r, 4 * PING_MS));
  const end = performance.now();
  for (const [i, tab] of tabs.entries()) {
    t.equal(tab.ws.readyState, WebSocket.OPEN, `tab ${i}, which answers, stays open`);
    // Once per interval: as many pings as whole intervals since this socket opened, give or take one
    // (where the first tick falls, and a tick a busy event loop ran late).
    const elapsed = end - tab.openedAt;
    const expected = Math.floor(elapsed / PING_MS);
    t.ok(
      tab.pings.length >= expected - 1 && tab.pings.length <= expected + 1,
      `tab ${i}: ${tab.pings.length} pings in ${Math.round(elapsed)} ms (${expected} intervals)`,
    );
  }
  for (const x of tabs) x.ws.close();
});
