/**
 * The server's side of a live push, timed for the watchers section (server.ts installs it; the
 * runner asks 'trace-start' / 'trace-stop' around a round). Nothing in the app changes: the
 * trace listens to `bid.placed` like the pusher does, wraps `app.realtime.publish` (the push's
 * render and its socket writes happen inside it) and hears the end of every bid's HTTP response
 * on node:http's diagnostics channel. Times are epoch ms (performance.timeOrigin + now()), as
 * the runner's and the watcher processes' are.
 *   event      bid.placed heard on this instance (the bid committed; the pusher starts reading)
 *   publish    publish() called (the push's reads are done)
 *   rendered   its first render returned (the frame is built just after, then the first write)
 *   written    publish() returned: the frame written to every socket
 *   response   the bid's HTTP response handed to the kernel ('finish')
 * Besides: the process's CPU time and event-loop utilisation over the round.
 */
import { performance as perf } from 'node:perf_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface PushTrace {
  /** Per bid, in order (bids are sequential; pushes per auction run in order). */
  bids: { price: number; event: number; publish?: number; rendered?: number; written?: number; response?: number }[];
  sockets: number;
  bytes: number;
  cpuMs: number;
  eluActiveMs: number;
  wallMs: number;
}

const now = () => performance.timeOrigin + performance.now();

export function installPushTrace(app: FastifyInstance) {
  let topic: string | null = null;
  let bids: PushTrace['bids'] = [];
  let pubs: { publish: number; rendered?: number; written?: number }[] = [];
  let responses: number[] = [];
  let sockets = 0;
  let bytes = 0;
  let cpuAt = process.cpuUsage();
  let eluAt = perf.eventLoopUtilization();
  let wallAt = performance.now();

  app.events.on('bid.placed', (p) => {
    if (topic === `auction:${p.auctionId}`) bids.push({ price: p.price, event: now() });
  });
  const rt = app.realtime;
  const publish = rt.publish.bind(rt);
  rt.publish = (t, render, key) => {
    if (t !== topic) return publish(t, render, key);
    const rec: (typeof pubs)[number] = { publish: now() };
    pubs.push(rec);
    const sent = publish(
      t,
      (ctx) => {
        const html = render(ctx);
        if (rec.rendered === undefined) {
          rec.rendered = now();
          bytes = Math.max(bytes, html ? Buffer.byteLength(html) : 0);
        }
        return html;
      },
      key,
    );
    rec.written = now();
    sockets = Math.max(sockets, sent);
    return sent;
  };
  diagnostics_channel.subscribe('http.server.response.finish', (m) => {
    const req = (m as { request: IncomingMessage }).request;
    if (topic && req.method === 'POST' && /^\/items\/\d+\/bids$/.test(req.url ?? '')) responses.push(now());
  });

  return {
    start(auctionId: number) {
      topic = `auction:${auctionId}`;
      bids = [];
      pubs = [];
      responses = [];
      sockets = 0;
      bytes = 0;
      cpuAt = process.cpuUsage();
      eluAt = perf.eventLoopUtilization();
      wallAt = performance.now();
    },
    stop(): PushTrace {
      const cpu = process.cpuUsage(cpuAt);
      const elu = perf.eventLoopUtilization(eluAt);
      topic = null;
      return {
        bids: bids.map((b, i) => ({ ...b, ...pubs[i], response: responses[i] })),
        sockets,
        bytes,
        cpuMs: (cpu.user + cpu.system) / 1000,
        eluActiveMs: elu.active,
        wallMs: performance.now() - wallAt,
      };
    },
  };
}
