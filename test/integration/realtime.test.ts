/** One WebSocket per tab: snapshot on connect, pushes rendered per language, origin check, clean close. */
import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';

function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const next = async (n: number, ms = 3000) => {
    const end = Date.now() + ms;
    while (messages.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return messages.slice(0, n);
  };
  return { ws, messages, ready, closed, next };
}

t.test('snapshot on connect, then pushes, per language', async (t) => {
  const { app } = await startApp(t, {}, (a) => {
    a.after(() => {
      a.realtime.registerTopic(
        'probe',
        async (id, ctx) => `<div id="probe-${id}" hx-swap-oob="true">${ctx.t('site.name')} snapshot ${id}</div>`,
      );
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const base = `ws://127.0.0.1:${port}/ws`;

  const ko = open(`${base}?topics=probe:1,probe:2,bad topic!`);
  const en = open(`${base}?topics=probe:1&lang=en`);
  await Promise.all([ko.ready, en.ready]);
  t.same(await ko.next(2), [
    '<div id="probe-1" hx-swap-oob="true">다판다 snapshot 1</div>',
    '<div id="probe-2" hx-swap-oob="true">다판다 snapshot 2</div>',
  ]);
  t.same(await en.next(1), ['<div id="probe-1" hx-swap-oob="true">DAPANDA snapshot 1</div>']);
  t.equal(app.realtime.connections(), 2);

  let renders = 0;
  const sent = app.realtime.publish('probe:1', (ctx) => {
    renders++;
    return `<span>${ctx.t('site.search')}</span>`;
  });
  t.equal(sent, 2, 'both watchers of probe:1');
  t.equal(renders, 2, 'rendered once per language');
  t.equal((await ko.next(3))[2], '<span>검색</span>');
  t.equal((await en.next(2))[1], '<span>Search</span>');
  t.equal(
    app.realtime.publish('probe:999', () => 'x'),
    0,
    'nobody watches probe:999',
  );

  ko.ws.close();
  await ko.closed;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(app.realtime.connections(), 1);
  t.equal(
    app.realtime.publish('probe:2', () => 'y'),
    0,
    'closed sockets are forgotten',
  );
  en.ws.close();
});

t.test('a push is framed once for all sockets: text frames of every length arrive whole and in order', async (t) => {
  const { app } = await startApp(t, {}, (a) => {
    a.after(() => a.realtime.registerTopic('probe', async () => null));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const tabs = Array.from({ length: 3 }, () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topics=probe:7`);
    const got: { text: string; binary: boolean }[] = [];
    ws.on('message', (d, binary) => got.push({ text: d.toString(), binary }));
    return { ws, got, ready: new Promise((r) => ws.once('open', r)) };
  });
  await Promise.all(tabs.map((x) => x.ready));
  // Wait until every socket's (empty) snapshot round is over: a push during it is held back.
  await new Promise((r) => setTimeout(r, 200));
  // The three WebSocket length encodings (7-bit, 16-bit, 64-bit) with multi-byte UTF-8 at the edges.
  const bodies = ['가', '나'.repeat(125), `${'다'.repeat(30_000)}x`, 'é'.repeat(70_000)];
  for (const body of bodies)
    t.equal(
      app.realtime.publish('probe:7', () => body),
      3,
    );
  const end = Date.now() + 5000;
  while (tabs.some((x) => x.got.length < bodies.length) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 20));
  for (const [i, tab] of tabs.entries()) {
    t.same(
      tab.got.map((m) => m.text),
      bodies,
      `tab ${i} got every push whole, in order`,
    );
    t.ok(
      tab.got.every((m) => !m.binary),
      `tab ${i}: text frames`,
    );
  }
  for (const x of tabs) x.ws.close();
});

t.test('another site cannot open the socket (cross-site WebSocket hijacking)', async (t) => {
  const { app } = await startApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const evil = open(`ws://127.0.0.1:${port}/ws?topics=probe:1`, { origin: 'https://evil.example' });
  await evil.ready;
  t.equal(await evil.closed, 1008, 'closed with policy violation');
  const same = open(`ws://127.0.0.1:${port}/ws?topics=probe:1`, { origin: `http://127.0.0.1:${port}` });
  await same.ready;
  t.equal(app.realtime.connections(), 1, 'same origin accepted');
  same.ws.close();
});
