/**
 * Live updates: one WebSocket per tab at `/ws?topics=a,b` (htmx's ws extension connects and
 * swaps what arrives: HTML with hx-swap-oob). A module registers a topic family (e.g.
 * `auction`) with a renderer for the current state, sent on every (re)connect so a dropped
 * socket re-syncs; it pushes changes with `publish(topic, render)`, which renders once per
 * distinct connection context it is given (language, user) and sends to every socket on this
 * instance. Other instances do the same when the domain event reaches them over Redis pub/sub.
 * A push that lands while a socket's snapshot is being rendered is not sent out of order: the
 * snapshot is rendered again instead, so a (re)connecting tab never ends on a stale state.
 * Sockets are pinged so dead peers are dropped and idle proxies keep the connection open.
 * The layout opens the socket on <body> with the page's topics (its own and its slots', see
 * core/views.ts) plus, for a logged-in person, their own topic `user:<id>`: the notifications
 * module renders it (the bell) and sends it only to sockets of that user.
 */
import fp from 'fastify-plugin';
import fastifyWebsocket from '@fastify/websocket';
import * as wsLib from 'ws';
import type { WebSocket } from 'ws';
import type { TFunction } from 'i18next';
import { prom, registry } from './metrics.js';
import type { Lang } from './i18n.js';

export interface ConnContext {
  lang: Lang;
  userId: number | null;
  t: TFunction;
}

export type TopicRenderer = (id: string, ctx: ConnContext) => Promise<string | null>;

export interface Realtime {
  /** `family` is the part before the colon in a topic (`auction:42` -> `auction`). */
  registerTopic(family: string, snapshot: TopicRenderer): void;
  /**
   * Sends `render(ctx)` to every socket subscribed to `topic` on this instance. `key(ctx)`
   * groups sockets that get the same HTML (default: language), so the HTML is rendered once
   * per group, not once per socket. Returns how many sockets were sent to.
   */
  publish(topic: string, render: (ctx: ConnContext) => string | null, key?: (ctx: ConnContext) => string): number;
  connections(): number;
  /** Sockets on this instance subscribed to `topic` (0: a push can skip rendering). */
  watchers(topic: string): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    realtime: Realtime;
  }
}

/** A text message and, framed once, the bytes a server sends for it (unmasked, uncompressed). */
interface Frame {
  payload: Buffer;
  frame: Buffer;
}
const frameOf = (payload: Buffer): Frame => ({
  payload,
  frame: Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false })),
});
/** ws's frame builder: exported by ws (its ESM wrapper too) but not in @types/ws. */
const Sender = (
  wsLib as unknown as {
    Sender: {
      frame(
        data: Buffer,
        o: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
      ): Buffer[];
    };
  }
).Sender;
/** ws's own state of one socket, looked up defensively (not ws's public API; see sendFramed). */
interface WsInternals {
  _socket?: { write(b: Buffer): boolean; writable?: boolean };
  _sender?: { _state?: number; _queue?: unknown[] };
  _extensions?: Record<string, unknown>;
}
/**
 * Sends a frame built once for all of a push's sockets with one socket write, instead of
 * ws.send's header per socket and corked two-part write: with 5,000 watchers the per-socket
 * send was most of a push's time. Only when ws itself would write the frame at once (no
 * compression, nothing queued in its sender: state 0 is ws's DEFAULT); otherwise ws.send.
 */
function sendFramed(ws: WebSocket, f: Frame): void {
  const w = ws as unknown as WsInternals;
  const raw = w._socket;
  const sender = w._sender;
  if (raw?.writable && sender?._state === 0 && sender._queue?.length === 0 && !w._extensions?.['permessage-deflate'])
    raw.write(f.frame);
  else ws.send(f.payload, { binary: false });
}

const wsGauge = new prom.Gauge({
  name: 'dapanda_ws_connections',
  help: 'Open WebSocket connections',
  registers: [registry],
});
const TOPIC_RE = /^[a-z]+:[A-Za-z0-9_-]{1,64}$/;
const MAX_TOPICS = 20;
/** Re-renders of one snapshot while pushes keep landing; then pushes go out as they come. */
const MAX_RESYNC = 5;

export const realtimePlugin = fp<{
  publicUrl: string;
  /** A peer that has not answered a ping within one interval is gone (half-open TCP, sleeping phone). */
  pingMs: number;
}>(
  async (app, opts) => {
    await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });
    const families = new Map<string, TopicRenderer>();
    const byTopic = new Map<string, Set<WebSocket>>();
    const ctxOf = new WeakMap<WebSocket, ConnContext>();
    // Sockets whose snapshot is being rendered, and whether a push arrived meanwhile.
    const syncing = new Map<WebSocket, { dirty: boolean }>();
    const alive = new Map<WebSocket, boolean>();
    let open = 0;
    const allowedOrigins = new Set([new URL(opts.publicUrl).origin]);

    const realtime: Realtime = {
      registerTopic(family, snapshot) {
        families.set(family, snapshot);
      },
      publish(topic, render, key = (c) => c.lang) {
        const sockets = byTopic.get(topic);
        if (!sockets?.size) return 0;
        // UTF-8 encoded once per group, not once per socket: with thousands of watchers the
        // per-socket string encoding was most of a push's cost. Sent as a text frame.
        const cache = new Map<string, Frame | null>();
        let sent = 0;
        for (const ws of sockets) {
          const ctx = ctxOf.get(ws);
          if (!ctx || ws.readyState !== ws.OPEN) continue;
          const sync = syncing.get(ws);
          if (sync) {
            sync.dirty = true; // the snapshot being rendered is re-rendered after this change
            continue;
          }
          const k = key(ctx);
          let payload = cache.get(k);
          if (payload === undefined) {
            const html = render(ctx);
            payload = html ? frameOf(Buffer.from(html, 'utf8')) : null;
            cache.set(k, payload);
          }
          if (payload) {
            sendFramed(ws, payload);
            sent++;
          }
        }
        return sent;
      },
      connections: () => open,
      watchers: (topic) => byTopic.get(topic)?.size ?? 0,
    };
    app.decorate('realtime', realtime);

    app.get<{ Querystring: { topics?: string } }>(
      '/ws',
      {
        websocket: true,
        // Every page view opens one socket (the layout's, for all of the page's topics) and a dropped
        // one reconnects with jitter: 60 a minute per address was reached by one shopper browsing
        // quickly (and by everyone behind one NAT); 600 (the global per-address budget) still stops a flood.
        config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
        schema: { querystring: { type: 'object', properties: { topics: { type: 'string', maxLength: 1000 } } } },
      },
      async (socket, req) => {
        // Cross-site WebSocket hijacking: browsers always send Origin; refuse other sites.
        const origin = req.headers.origin;
        const host = req.headers.host;
        const sameHost = origin && host && new URL(origin).host === host;
        if (origin && !sameHost && !allowedOrigins.has(origin)) {
          socket.close(1008, 'origin not allowed');
          return;
        }
        const topics = [...new Set((req.query.topics ?? '').split(',').filter((x) => TOPIC_RE.test(x)))].slice(
          0,
          MAX_TOPICS,
        );
        const ctx: ConnContext = { lang: req.lang, userId: req.user?.id ?? null, t: req.t };
        ctxOf.set(socket, ctx);
        wsGauge.inc();
        open++;
        alive.set(socket, true);
        socket.on('pong', () => alive.set(socket, true));
        const sync = { dirty: false };
        syncing.set(socket, sync);
        for (const topic of topics) {
          let set = byTopic.get(topic);
          if (!set) byTopic.set(topic, (set = new Set()));
          set.add(socket);
        }
        socket.on('close', () => {
          wsGauge.dec();
          open--;
          alive.delete(socket);
          syncing.delete(socket);
          for (const topic of topics) {
            const set = byTopic.get(topic);
            set?.delete(socket);
            if (set && !set.size) byTopic.delete(topic);
          }
        });
        socket.on('message', () => {
          /* the client only listens; htmx's ws extension may send form data, which we ignore */
        });
        // (Re)connect: send the current state of every topic so a dropped socket re-syncs. A push
        // landing meanwhile may be newer than what the snapshot read: render the snapshot again.
        const snapshotAll = async () => {
          const out: string[] = [];
          for (const topic of topics) {
            const [family, id] = topic.split(':');
            const snapshot = families.get(family);
            if (!snapshot) continue;
            try {
              const html = await snapshot(id, ctx);
              if (html) out.push(html);
            } catch (err) {
              req.log.warn({ err, topic }, 'realtime snapshot failed');
            }
          }
          return out;
        };
        for (let round = 0; round < MAX_RESYNC; round++) {
          // Last round: let pushes through as they come rather than hold the tab back any longer.
          if (round === MAX_RESYNC - 1) syncing.delete(socket);
          sync.dirty = false;
          const parts = await snapshotAll();
          if (socket.readyState !== socket.OPEN) break;
          if (sync.dirty) continue;
          for (const html of parts) socket.send(html);
          break;
        }
        syncing.delete(socket);
      },
    );

    const pinger = setInterval(() => {
      for (const [ws, ok] of alive) {
        if (!ok) {
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
    }, opts.pingMs);
    pinger.unref();

    app.addHook('preClose', async () => {
      clearInterval(pinger);
      // Tell clients to reconnect elsewhere (the load balancer sends them to another instance).
      for (const set of byTopic.values()) for (const ws of set) ws.close(1012, 'server restarting');
    });
  },
  { name: 'core-realtime', dependencies: ['core-i18n', 'core-auth'] },
);
