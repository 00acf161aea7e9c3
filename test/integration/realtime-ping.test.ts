/**
 * Keep-alive pings: every socket is pinged once per interval (WS_PING_MS), a slice of the sockets
 * at a time rather than all in one burst, and a peer that does not answer is dropped.
 */
import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';

const PING_MS = 300;

t.test('each socket is pinged once per interval, not all at once; a silent peer is dropped', async (t) => {
  const { app } = await startApp(t, { WS_PING_MS: String(PING_MS) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const url = `ws://127.0.0.1:${port}/ws?topics=probe:1`;

  const tabs = Array.from({ length: 20 }, () => {
    const ws = new WebSocket(url);
    const pings: number[] = [];
    ws.on('ping', () => pings.push(performance.now()));
    return { ws, pings, ready: new Promise((r) => ws.once('open', r)) };
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
  const elapsed = performance.now() - openedAt;
  for (const [i, tab] of tabs.entries()) {
    t.equal(tab.ws.readyState, WebSocket.OPEN, `tab ${i}, which answers, stays open`);
    // Once per interval: as many pings as whole intervals elapsed, give or take the first one.
    const expected = Math.floor(elapsed / PING_MS);
    t.ok(
      tab.pings.length >= expected - 1 && tab.pings.length <= expected + 1,
      `tab ${i}: ${tab.pings.length} pings in ${Math.round(elapsed)} ms (${expected} intervals)`,
    );
  }
  // All 20 at once would arrive within a millisecond or two of each other; sliced, a tick pings a
  // few (2 here; 8 leaves room for ticks a busy event loop ran back to back).
  const all = tabs.flatMap((x) => x.pings).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < all.length; i++) {
    while (all[i] - all[j] > 5) j++;
    most = Math.max(most, i - j + 1);
  }
  t.ok(most <= 8, `at most 8 of the 20 sockets pinged within any 5 ms (saw ${most})`);
  for (const x of tabs) x.ws.close();
});
