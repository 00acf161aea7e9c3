/**
 * The route fuzzer: every route in Fastify's own route table (so a new route is covered without
 * editing this file), on a real server on a port with real PostgreSQL and Redis, gets hostile
 * values in each path parameter, query field and form field its schema declares (new fields are
 * fuzzed automatically), in the headers the app reads and in multipart parts, logged in as a
 * normal user and anonymously. For every case: no 5xx, no Location / HX-Redirect off the site;
 * /healthz answers after each batch; and the database rows of the fuzzing users (accounts,
 * listings, bids, wallet, ledger sum) are unchanged by every route whose cases were all refused.
 * Requests come from rotating loopback addresses and several users, so rate limits do not turn
 * the run into a test of the limiter alone (429 counts as a refusal).
 * Round 1 sends every route its share over the wire (slot by slot, then random combinations);
 * round 2 gives what slow routes (pages that render) could not use to the quick ones, through
 * inject (the same pipeline without the sockets), until FUZZ_TOTAL cases or the time budget.
 */
import t from 'tap';
import http from 'node:http';
import { startApp } from '../helpers/app.js';
import { auction, PASSWORD as TRADE_PASSWORD } from '../helpers/auction.js';
import { wonOrder, giveAddress } from '../helpers/orders.js';
import { fund, walletDeps } from '../helpers/wallet.js';
import { uniq } from '../helpers/env.js';
import { createUserDirect } from '../../src/modules/accounts/index.js';
import { LISTING_FORM_FIELDS } from '../../src/modules/catalog/validation.js';

const TARGET_TOTAL = Number(process.env.FUZZ_TOTAL ?? 20_000);
/** Fuzzing stops this long after the file started (start-up and logins included), so the file stays under 90 s. */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 82_000);
t.setTimeout(240_000);
const CONCURRENCY = 16;
const PASSWORD = 'fuzzing user long password';
const HOSTILE = [
  '\u0000',
  'a\u0000b',
  '\r\nX-Injected: 1',
  '\x7f',
  '\ud800',
  'x\udfffy',
  '%',
  '%ZZ',
  '😀🐼𝕏',
  'x'.repeat(10_000),
  '1e300',
  '-1',
  '9999999999999999999',
  '0x10',
  '',
  ' ',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'NaN',
  '1.5',
  '2026-02-30',
  '0000-00-00',
  '//evil.example/x',
  '/\t/evil.example',
  '/%0D%0AX-A:%201',
  'http://[',
  'null',
  '{"a":1}',
  'true',
  '한국어',
  'ＡＢＣ',
];
const HEADERS = [
  'referer',
  'origin',
  'hx-request',
  'hx-target',
  'hx-boosted',
  'hx-current-url',
  'accept-language',
  'accept',
  'host',
  'x-request-id',
  'x-csrf-token',
  'content-type',
];
/** The sell form's multipart fields (the schema cannot declare them), and the photo list. */
const MULTIPART_FIELDS = [...LISTING_FORM_FIELDS, 'photoIds'];
/** Other multipart forms' fields, by route (their schema cannot declare them either). */
const MULTIPART_FIELDS_OF: Record<string, string[]> = { '/orders/:id/dispute': ['reason', 'body'] };
/** FUZZ_ROUTES=<regex>: only the routes whose path matches (a quick run for one's own route). */
const ONLY = process.env.FUZZ_ROUTES ? new RegExp(process.env.FUZZ_ROUTES) : null;

/** encodeURIComponent, with lone surrogates sent as the invalid UTF-8 bytes a hostile client sends. */
const enc = (s: string) =>
  s
    .split(/([\ud800-\udfff])/)
    .map((p) => (/^[\ud800-\udfff]$/.test(p) ? '%ED%A0%80' : encodeURIComponent(p)))
    .join('');
/** A header value as raw bytes (UTF-8 read as Latin-1); values Node's client refuses to send (CR, LF, NUL, DEL) are dropped. */
const headerValue = (s: string) => {
  const v = Buffer.from(s.replace(/[\ud800-\udfff]/g, '\ufffd'), 'utf8').toString('latin1');
  return /[^\t\x20-\x7e\x80-\xff]/.test(v) ? null : v;
};

interface Schemaish {
  properties?: Record<string, { type?: string; anyOf?: unknown[] }>;
}
const fieldsOf = (s: unknown): string[] => Object.keys((s as Schemaish | undefined)?.properties ?? {});

/** A small deterministic PRNG, so a failure can be replayed with the same seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => (x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  as: number; // index into identities; -1 anonymous
}

t.test(
  'route fuzzer: no 5xx, no redirect off the site, no change from refused requests',
  { timeout: 300_000 },
  async (t) => {
    const started = Date.now();
    const { app, config } = await startApp(t, { LOG_LEVEL: 'silent' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const origin = `http://127.0.0.1:${port}`;

    // Fuzzing users, one of them with points; one of them sells the auction the id params point at.
    const users = await Promise.all(
      Array.from({ length: 6 }, async (_, i) =>
        createUserDirect(app.db, {
          email: `fuzz${i}${uniq()}@example.com`,
          nickname: `fuzz${i}${uniq()}`,
          password: PASSWORD,
        }),
      ),
    );
    await fund(walletDeps(app, config), users[0].id, 100_000);
    const itemId = await auction(app, { sellerId: users[5].id, endsInMs: 30 * 60_000 });
    // An order between two more users (bought, address given: it may be disputed), so the /orders/:id
    // routes run past the lookup to their forms (a dispute's photos, shipping) for its two parties.
    const trade = await wonOrder(app, config, '퍼즈 주문');
    if ((await giveAddress(trade.bc, trade.order.id)).statusCode !== 303) throw new Error('fuzz order: no address');
    const orderId = trade.order.id;
    const logins = [
      ...users.map((u) => ({ ...u, password: PASSWORD })),
      { ...trade.buyer, password: TRADE_PASSWORD },
      { ...trade.seller, password: TRADE_PASSWORD },
    ];
    const ids = logins.map((u) => u.id);

    // 64 source addresses, each with its own keep-alive connections (a new TCP connection per case
    // cost more than the case).
    let ipCounter = 0;
    const nextIp = () => `127.0.${1 + ((ipCounter >> 6) % 4)}.${1 + (ipCounter++ % 64)}`;
    const agents = new Map<string, http.Agent>();
    const agentFor = (ip: string) => {
      let a = agents.get(ip);
      if (!a) agents.set(ip, (a = new http.Agent({ keepAlive: true, maxSockets: 4, localAddress: ip })));
      return a;
    };
    t.teardown(() => agents.forEach((a) => a.destroy()));
    const send = (
      c: { method: string; path: string; headers: Record<string, string>; body?: Buffer },
      localAddress = nextIp(),
    ) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: c.method,
            path: c.path,
            headers: c.headers,
            agent: agentFor(localAddress),
          },
          (res) => {
            let body = '';
            res.setEncoding('latin1');
            res.on('data', (d) => (body.length < 20_000 ? (body += d) : null));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.setTimeout(30_000, () => req.destroy(new Error(`timeout ${c.method} ${c.path.slice(0, 80)}`)));
        req.on('error', reject);
        req.end(c.body);
      });
    /**
     * The same request through Fastify's inject (the whole pipeline: hooks, handlers, reply headers with
     * Node's own header validation, error handler) without the socket and HTTP parser on both ends,
     * about twice as many cases per second on the cheap routes round 2 favours. Round 1, which sweeps
     * every slot of every route with every value, goes over the wire.
     */
    const inject = async (
      c: { method: string; path: string; headers: Record<string, string>; body?: Buffer },
      remoteAddress = nextIp(),
    ) => {
      const res = await app.inject({
        method: c.method as 'GET',
        url: c.path,
        headers: c.headers,
        payload: c.body,
        remoteAddress,
      });
      return {
        status: res.statusCode,
        headers: res.headers as http.IncomingHttpHeaders,
        body: res.body.slice(0, 20_000),
      };
    };

    // Log each user in through the real form; keep its cookie and CSRF token.
    const identities: { cookie: string; csrf: string; ip: string }[] = [];
    for (const u of logins) {
      const ip = nextIp();
      const page = await send({ method: 'GET', path: '/login', headers: {} }, ip);
      const cookie = String(page.headers['set-cookie']?.[0] ?? '').split(';')[0];
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1];
      const res = await send(
        {
          method: 'POST',
          path: '/login',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(new URLSearchParams({ _csrf: csrf, email: u.email, password: u.password }).toString()),
        },
        ip,
      );
      t.equal(res.status, 303, `fuzz user ${u.id} logged in`);
      const sid = String(res.headers['set-cookie']?.find((c) => c.startsWith('sid=')) ?? '').split(';')[0];
      const me = await send({ method: 'GET', path: '/me', headers: { cookie: sid } }, ip);
      identities.push({ cookie: sid, csrf: /"x-csrf-token": "([^"]+)"/.exec(me.body)?.[1] ?? '', ip });
    }

    const snapshot = async () => {
      const [r] = await app.db.$queryRaw<Record<string, bigint | null>[]>`
      SELECT (SELECT count(*) FROM users WHERE id = ANY(${ids}::int[])) AS users,
             (SELECT count(*) FROM listings WHERE seller_id = ANY(${ids}::int[])) AS listings,
             (SELECT count(*) FROM photos WHERE owner_id = ANY(${ids}::int[])) AS photos,
             (SELECT count(*) FROM bids WHERE bidder_id = ANY(${ids}::int[])) AS bids,
             (SELECT count(*) FROM watches WHERE user_id = ANY(${ids}::int[])) AS watches,
             (SELECT count(*) FROM wallet_payouts WHERE user_id = ANY(${ids}::int[])) AS payouts,
             (SELECT count(*) FROM topup_attempts WHERE user_id = ANY(${ids}::int[])) AS topups,
             (SELECT count(*) FROM ledger_transactions WHERE user_id = ANY(${ids}::int[])) AS ledger_txs,
             (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN wallet_accounts a ON a.id = e.account_id WHERE a.user_id = ANY(${ids}::int[])) AS ledger_sum,
             (SELECT count(*) FROM password_resets WHERE user_id = ANY(${ids}::int[])) AS resets,
             (SELECT count(*) FROM order_disputes d JOIN orders o ON o.id = d.order_id WHERE o.buyer_id = ANY(${ids}::int[])) AS disputes,
             (SELECT count(*) FROM order_dispute_photos p JOIN order_disputes d ON d.id = p.dispute_id JOIN orders o ON o.id = d.order_id WHERE o.buyer_id = ANY(${ids}::int[])) AS dispute_photos`;
      return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    };

    const routes = app.routeTable.filter((r) => {
      const methods = ([] as string[]).concat(r.method as string | string[]);
      return (
        !methods.includes('HEAD') && !(r as { websocket?: boolean }).websocket && (!ONLY || ONLY.test(r.url as string))
      );
    });
    t.ok(routes.length >= (ONLY ? 1 : 30), `${routes.length} routes from the route table`);
    const random = rng(20261202);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    const plausible = (name: string, url = '') =>
      name === 'id'
        ? String(url.startsWith('/orders/') ? orderId : itemId)
        : name === 'slug'
          ? 'phones'
          : name === '*'
            ? 'x/00000000-0000-0000-0000-000000000000.webp'
            : name === 'email'
              ? `nobody${Math.floor(random() * 1e9)}@example.com`
              : 'ok';

    interface RouteCtx {
      method: string;
      url: string;
      params: string[];
      query: string[];
      form: string[];
      multipart: boolean;
      slots: { kind: 'param' | 'query' | 'form' | 'header' | 'array' | 'missing'; name: string }[];
      /** Index of the next case to generate for this route. */
      next: number;
      tried: number;
      /** Of `tried`, the cases sent over the wire. */
      wire: number;
      ms: number;
    }
    const contexts: RouteCtx[] = routes.map((r) => {
      const method = ([] as string[]).concat(r.method as string | string[])[0];
      const url = r.url as string;
      const schema = (r.schema ?? {}) as { params?: unknown; querystring?: unknown; body?: unknown };
      const params = [...url.matchAll(/:([A-Za-z0-9_]+)|\*/g)].map((m) => m[1] ?? '*');
      const query = fieldsOf(schema.querystring);
      const body = fieldsOf(schema.body).filter((f) => f !== '_csrf');
      const multipart = method === 'POST' && (r.config as { csrf?: boolean } | undefined)?.csrf === false;
      const form = multipart ? (MULTIPART_FIELDS_OF[url] ?? MULTIPART_FIELDS) : body;
      const slots: RouteCtx['slots'] = [
        ...params.map((name) => ({ kind: 'param' as const, name })),
        ...query.map((name) => ({ kind: 'query' as const, name })),
        ...form.map((name) => ({ kind: 'form' as const, name })),
        ...HEADERS.map((name) => ({ kind: 'header' as const, name })),
        ...[...query, ...form].map((name) => ({ kind: 'array' as const, name })),
        ...form.map((name) => ({ kind: 'missing' as const, name })),
      ];
      return { method, url, params, query, form, multipart, slots, next: 0, tried: 0, wire: 0, ms: 0 };
    });

    /** Case `i` of a route: first every slot with every value in turn, then random combinations of several slots. */
    const caseAt = (ctx: RouteCtx, i: number): Case => {
      const { method, url, params, query, form, multipart, slots } = ctx;
      const targets =
        i < slots.length * HOSTILE.length
          ? [{ slot: slots[i % slots.length], value: HOSTILE[Math.floor(i / slots.length) % HOSTILE.length] }]
          : Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ slot: pick(slots), value: pick(HOSTILE) }));
      const as = random() < 0.75 ? Math.floor(random() * identities.length) : -1;
      const who = as >= 0 ? identities[as] : null;
      let path = url;
      for (const p of params) {
        const hit = targets.find((x) => x.slot.kind === 'param' && x.slot.name === p);
        const v = hit ? enc(hit.value) : plausible(p, url);
        path = path.replace(p === '*' ? '*' : `:${p}`, v);
      }
      const qs: string[] = [];
      for (const q of query) {
        const hit = targets.find((x) => x.slot.name === q && (x.slot.kind === 'query' || x.slot.kind === 'array'));
        if (!hit) continue;
        qs.push(`${q}=${enc(hit.value)}`);
        if (hit.slot.kind === 'array') qs.push(`${q}=${enc(pick(HOSTILE))}`);
      }
      const fields: [string, string][] = [];
      for (const f of form) {
        const hit = targets.find((x) => x.slot.name === f && x.slot.kind !== 'query' && x.slot.kind !== 'param');
        if (hit?.slot.kind === 'missing') continue;
        fields.push([f, hit ? hit.value : plausible(f)]);
        if (hit?.slot.kind === 'array') fields.push([f, pick(HOSTILE)]);
      }
      const headers: Record<string, string> = {};
      if (who) headers.cookie = who.cookie;
      if (who && random() < 0.9) headers['x-csrf-token'] = who.csrf;
      for (const x of targets.filter((x) => x.slot.kind === 'header')) {
        const v = headerValue(x.value);
        if (v !== null) headers[x.slot.name] = v;
      }
      let payload: Buffer | undefined;
      if (method !== 'GET') {
        if (multipart) {
          const boundary = random() < 0.1 ? pick(HOSTILE).replace(/[^\x21-\x7e]/g, '') || 'b' : 'fuzzb';
          const parts = [...(who ? [['_csrf', who.csrf] as [string, string]] : []), ...fields].map(
            ([k, v]) => `--fuzzb\r\nContent-Disposition: form-data; name="${k.replace(/"/g, '')}"\r\n\r\n${v}\r\n`,
          );
          if (random() < 0.3)
            parts.push(
              `--fuzzb\r\nContent-Disposition: form-data; name="photos"; filename="${enc(pick(HOSTILE)).slice(0, 50)}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff${pick(HOSTILE)}\r\n`,
            );
          const tail = random() < 0.2 ? '' : '--fuzzb--\r\n';
          payload = Buffer.from(parts.join('') + tail, 'utf8');
          if (!headers['content-type']) headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
        } else {
          const all =
            who && !targets.some((x) => x.slot.kind === 'form' && x.slot.name === '_csrf')
              ? [['_csrf', who.csrf] as [string, string], ...fields]
              : fields;
          payload = Buffer.from(all.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));
          if (!headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded';
        }
      }
      if (!headers.host) headers.host = `127.0.0.1:${port}`;
      return { method, path: qs.length ? `${path}?${qs.join('&')}` : path, headers, body: payload, as };
    };

    let total = 0;
    const failures: string[] = [];
    /**
     * Runs up to `n` more cases of one route until `deadline`, with the invariants: no 5xx, no redirect
     * off the site, healthy afterwards, and no row changed by a GET or by a batch whose every case was refused.
     */
    const runRoute = async (ctx: RouteCtx, n: number, deadline: number, via: 'http' | 'inject') => {
      const { method, url } = ctx;
      const before = await snapshot();
      const t0 = Date.now();
      const end = ctx.next + n;
      let accepted = 0;
      let tried = 0;
      const worker = async () => {
        while (ctx.next < end && Date.now() < deadline) {
          const c = caseAt(ctx, ctx.next++);
          tried++;
          const res = await (via === 'http' ? send : inject)(
            c,
            c.as >= 0 && random() < 0.5 ? identities[c.as].ip : nextIp(),
          ).catch((err: Error) => ({ status: 599, headers: {} as http.IncomingHttpHeaders, body: err.message }));
          if (res.status < 400) accepted++;
          const what = `${c.method} ${c.path.slice(0, 120)} [${Object.keys(c.headers).join(',')}] body=${String(c.body ?? '').slice(0, 120)}`;
          if (res.status >= 500) failures.push(`${res.status} ${what} :: ${res.body.slice(0, 200)}`);
          for (const h of ['location', 'hx-redirect'] as const) {
            const v = res.headers[h];
            if (v === undefined) continue;
            const s = String(v);
            if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(s) || new URL(s, origin).origin !== origin)
              failures.push(`${h} off the site (${JSON.stringify(s)}) ${what}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const health = await send({ method: 'GET', path: '/healthz', headers: {} });
      if (health.status !== 200) failures.push(`/healthz ${health.status} after ${method} ${url}`);
      const after = await snapshot();
      if ((method === 'GET' || accepted === 0) && after !== before)
        failures.push(
          `${method} ${url}: rows changed although ${method === 'GET' ? 'it is a GET' : 'every case was refused'}: ${before} -> ${after}`,
        );
      ctx.tried += tried;
      if (via === 'http') ctx.wire += tried;
      ctx.ms += Date.now() - t0;
      total += tried;
      if (process.env.FUZZ_VERBOSE)
        console.error(`${method} ${url} ${tried} cases ${Date.now() - t0} ms, accepted ${accepted}`);
    };

    // Round 1, over the wire: every route its share of the target, within its share of 55 % of the
    // budget (time a quick route does not use goes to the routes after it).
    const fuzzStart = Date.now();
    const budgetEnd = started + BUDGET_MS;
    const round1End = fuzzStart + (budgetEnd - fuzzStart) * 0.55;
    const perRoute = Math.ceil(TARGET_TOTAL / routes.length);
    for (let k = 0; k < contexts.length; k++) {
      const share = Math.max(300, (round1End - Date.now()) / (contexts.length - k));
      await runRoute(contexts[k], perRoute, Date.now() + share, 'http');
    }
    // Round 2: what a slow route (a page that renders) could not fit goes to the routes that answer
    // quickly (most are refusals: CSRF, validation), fastest first, until the target or the budget.
    for (let round = 0; round < 4 && total < TARGET_TOTAL && Date.now() < budgetEnd; round++) {
      const fast = [...contexts].sort((a, b) => b.tried / (b.ms || 1) - a.tried / (a.ms || 1)).slice(0, 40);
      for (let k = 0; k < fast.length && total < TARGET_TOTAL && Date.now() < budgetEnd; k++) {
        const want = Math.ceil((TARGET_TOTAL - total) / (fast.length - k));
        await runRoute(
          fast[k],
          want,
          Math.min(budgetEnd, Date.now() + (budgetEnd - Date.now()) / (fast.length - k)),
          'inject',
        );
      }
    }
    const counts = Object.fromEntries(
      contexts.map((c) => [`${c.method} ${c.url}`, `${c.tried} (${c.wire} over the wire)`]),
    );

    const seconds = (Date.now() - started) / 1000;
    const wire = contexts.reduce((n, c) => n + c.wire, 0);
    t.comment(
      `route fuzzer: ${total} cases over ${routes.length} routes in ${seconds.toFixed(1)} s (${wire} over the wire, ${total - wire} by inject)`,
    );
    for (const [route, n] of Object.entries(counts)) t.comment(`  ${n.padStart(24)}  ${route}`);
    t.same(failures.slice(0, 30), [], `no failures (${failures.length} in all)`);
    // The count is what the time budget allowed on this machine at this moment; it is printed above.
    t.ok(total >= TARGET_TOTAL, `${total} cases, at least ${TARGET_TOTAL}`);
    const few = contexts.filter((c) => c.tried < CONCURRENCY).map((c) => `${c.method} ${c.url}`);
    t.same(few, [], `every route got at least ${CONCURRENCY} cases`);
    t.equal((await send({ method: 'GET', path: '/healthz', headers: {} })).status, 200, 'healthy at the end');
    t.ok(seconds < 90, `the whole file well under 90 s (${seconds.toFixed(1)} s)`);
  },
);
