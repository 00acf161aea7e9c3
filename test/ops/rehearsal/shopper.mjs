// Real-app checks for the rehearsal, run in the client namespace against nginx over HTTPS. Sign-ups confirm
// their address with the link the app mailed (--mail-dirs: the app nodes' MAIL_DIRs, comma separated):
//   node shopper.mjs journey --url https://10.77.0.10 --ca cert --servername dapanda.local --ips 10.77.0.101,...
//     seller signs up and lists an item with a photo; a shopper signs up, logs out, logs in, tops up with the
//     test card through the wallet form, opens the item, a watcher subscribes over wss://…/ws and the shopper's
//     bid reaches the watcher as an HTML fragment. Prints one JSON line (item id, timings).
//   node shopper.mjs storm --item ID --seconds S --bidders N --watchers W --kill-after K --ips ... [--url ...]
//     N funded bidders bid the minimum on item ID through nginx for S seconds (bounded); W watchers stay subscribed
//     and reconnect when their socket drops. Writes "kill" to stdout at K seconds (run.sh kills app1 then).
//     Prints one JSON line: every "accepted" answer (bidder, amount), statuses, reconnects and pushes per watcher.
import https from 'node:https';
import fs from 'node:fs';
import { randomUUID, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import sharp from 'sharp';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string', default: 'dapanda.local' },
    ips: { type: 'string', default: '' },
    item: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    bidders: { type: 'string', default: '12' },
    watchers: { type: 'string', default: '6' },
    'kill-after': { type: 'string', default: '6' },
    'mail-dirs': { type: 'string', default: '' },
  },
});
const ca = fs.readFileSync(o.ca);
const ips = o.ips.split(',').filter(Boolean);
let ipN = 0;
const nextIp = () => ips[ipN++ % ips.length];
const host = o.servername;
const PASSWORD = 'rehearsal password 1234';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mailDirs = o['mail-dirs'].split(',').filter(Boolean);

/** The body of one .eml file as text (nodemailer writes 7bit, quoted-printable or base64). */
function mailText(raw) {
  const split = raw.indexOf('\n\n');
  const head = raw.slice(0, split).replace(/\n[ \t]+/g, ' ');
  const body = raw.slice(split + 2);
  const enc = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1].toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/**
 * The first link to `path` in a mail to `to` that an app node's worker wrote (the nodes' MAIL_DIRs, as
 * DAPANDA_MAIL_DIR renders them), waiting for it as a person waits for the mail: bounded.
 */
async function linkFromMail(to, path, timeoutMs = 30_000) {
  if (!mailDirs.length) throw new Error('no --mail-dirs: cannot read the sign-up mail');
  const re = new RegExp(`https?://[^\\s/]+(${path.replace(/[?.]/g, '\\$&')}\\?token=[A-Za-z0-9_-]+)`);
  const deadline = Date.now() + timeoutMs;
  const seen = new Set();
  while (Date.now() < deadline) {
    for (const dir of mailDirs) {
      let names;
      try {
        names = fs.readdirSync(dir).filter((n) => n.endsWith('.eml'));
      } catch {
        continue;
      }
      for (const n of names) {
        const file = `${dir}/${n}`;
        if (seen.has(file)) continue;
        const raw = fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n');
        const end = raw.indexOf('\n\n');
        if (end < 0) continue; // still being written: read again next round
        const toRe = new RegExp(`^to:\\s*<?${to.replace(/[.+]/g, '\\$&')}>?\\s*$`, 'im');
        if (!toRe.test(raw.slice(0, end).replace(/\n[ \t]+/g, ' '))) {
          seen.add(file);
          continue;
        }
        const link = re.exec(mailText(raw))?.[1];
        if (link) return link;
      }
    }
    await sleep(200);
  }
  throw new Error(`no mail to ${to} with a ${path} link in ${mailDirs.join(', ')} within ${timeoutMs} ms`);
}

class Client {
  constructor(localAddress) {
    this.localAddress = localAddress;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: host, localAddress });
    this.cookies = new Map();
    this.csrf = '';
  }
  request(method, path, { form, multipart, headers = {} } = {}) {
    let body;
    const h = { host, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...headers };
    if (form) {
      body = Buffer.from(new URLSearchParams({ _csrf: this.csrf, ...form }).toString());
      h['content-type'] = 'application/x-www-form-urlencoded';
    } else if (multipart) {
      const b = `----rehearsal${randomBytes(8).toString('hex')}`;
      const parts = [];
      for (const [k, v] of [['_csrf', this.csrf], ...multipart.fields])
        parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
      for (const f of multipart.files)
        parts.push(
          Buffer.from(
            `--${b}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.filename}"\r\nContent-Type: ${f.type}\r\n\r\n`,
          ),
          f.data,
          Buffer.from('\r\n'),
        );
      parts.push(Buffer.from(`--${b}--\r\n`));
      body = Buffer.concat(parts);
      h['content-type'] = `multipart/form-data; boundary=${b}`;
    }
    if (body) h['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(path, o.url),
        { method, agent: this.agent, headers: h, timeout: 20000 },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const r = { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers };
            for (const c of res.headers['set-cookie'] ?? []) {
              const [pair] = c.split(';');
              const i = pair.indexOf('=');
              this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
            }
            const m = /name="_csrf" value="([^"]+)"/.exec(r.body);
            if (m) this.csrf = m[1];
            resolve(r);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('ETIMEOUT')));
      req.on('error', reject);
      req.end(body);
    });
  }
  async expect(status, method, path, opts) {
    const r = await this.request(method, path, opts);
    if (r.status !== status)
      throw new Error(`${method} ${path}: HTTP ${r.status} (want ${status}) ${r.body.slice(0, 300)}`);
    return r;
  }
  async signup(tag) {
    const u = `${tag}${randomBytes(4).toString('hex')}`;
    this.email = `${u}@example.com`;
    await this.expect(200, 'GET', '/signup');
    // Sign-up asks for the address first ("check your e-mail"); the account exists once the mailed link is used.
    await this.expect(200, 'POST', '/signup', {
      form: { email: this.email, nickname: u, password: PASSWORD, terms: 'on', privacy: 'on' },
    });
    const link = await linkFromMail(this.email, '/signup/verify');
    await this.expect(200, 'GET', link); // the page with the confirm button (and this session's CSRF token)
    const done = await this.expect(303, 'POST', '/signup/verify', {
      form: { token: new URL(link, o.url).searchParams.get('token') },
    });
    if (done.headers.location !== '/') throw new Error(`verified sign-up went to ${done.headers.location}`);
    return this;
  }
  async login() {
    await this.expect(200, 'GET', '/login');
    await this.expect(303, 'POST', '/login', { form: { email: this.email, password: PASSWORD } });
  }
  async topUp(amount) {
    const page = await this.expect(200, 'GET', '/wallet/topup');
    const key = /name="key" value="([^"]+)"/.exec(page.body)?.[1];
    if (!key) throw new Error('no idempotency key in the top-up form');
    await this.expect(303, 'POST', '/wallet/topup', {
      form: { amount: String(amount), cardNumber: '4242 4242 4242 4242', key },
    });
  }
  bid(item, amount) {
    return this.request('POST', `/items/${item}/bids`, {
      form: { amount: String(amount), requestKey: randomUUID() },
      headers: { 'hx-request': 'true' },
    });
  }
}

const MIN_RE = /name="amount" value="(\d+)"/;
const PRICE_RE = /data-testid="current-price">([^<]+)</;
const priceOf = (html) => Number(PRICE_RE.exec(html)?.[1].replace(/[^\d]/g, '') ?? NaN);

/** A watcher like the item page's: one socket, reconnects when it drops; remembers every price pushed. */
function watcher(item, localAddress) {
  const w = { prices: [], connects: 0, closed: false, ws: null };
  const open = () => {
    if (w.closed) return;
    const ws = new WebSocket(`${o.url.replace(/^https/, 'wss')}/ws?topics=auction:${item}`, {
      ca,
      servername: host,
      localAddress,
      headers: { host, origin: `https://${host}` },
      handshakeTimeout: 5000,
    });
    w.ws = ws;
    ws.on('upgrade', () => {
      w.connects++;
    });
    ws.on('message', (d) => {
      const p = priceOf(d.toString());
      if (p) w.prices.push(p);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!w.closed) setTimeout(open, 500);
    });
  };
  open();
  w.stop = () => {
    w.closed = true;
    w.ws?.terminate();
  };
  return w;
}

async function journey() {
  const t0 = Date.now();
  const seller = await new Client(nextIp()).signup('seller');
  await seller.expect(200, 'GET', '/sell');
  const jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 220, g: 90, b: 40 } } })
    .jpeg()
    .toBuffer();
  const categoryId = /<option value="(\d+)"[^>]*>[^<]*<\/option>/.exec(
    (await seller.request('GET', '/sell')).body,
  )?.[1];
  const fields = [
    ['title', '리허설 아이폰 13 미니'],
    ['description', '리허설용 상품입니다.'],
    ['categoryId', categoryId],
    ['condition', 'GOOD'],
    ['startPrice', '10000'],
    ['buyNowPrice', ''],
    ['reservePrice', ''],
    ['startMode', 'now'],
    ['startsAt', ''],
    ['durationDays', '1'],
  ];
  const listed = await seller.expect(303, 'POST', '/sell', {
    multipart: { fields, files: [{ name: 'photos', filename: 'phone.jpg', type: 'image/jpeg', data: jpeg }] },
  });
  const item = Number(/\/items\/(\d+)/.exec(listed.headers.location ?? '')?.[1]);
  if (!item) throw new Error(`no item id after listing: ${listed.headers.location}`);

  const shopper = await new Client(nextIp()).signup('shopper');
  await shopper.expect(200, 'GET', '/'); // signing up renewed the session: the page carries its CSRF token
  await shopper.expect(303, 'POST', '/logout', { form: {} });
  await shopper.login();
  await shopper.topUp(200000);
  const wallet = await shopper.expect(200, 'GET', '/wallet');
  if (!/200,000/.test(wallet.body)) throw new Error('wallet does not show the 200,000 top-up');
  await shopper.expect(200, 'GET', '/');
  const page = await shopper.expect(200, 'GET', `/items/${item}`);
  const photo = /src="(\/media\/[^"]+)"/.exec(page.body)?.[1];
  if (photo) await shopper.expect(200, 'GET', photo);
  const min = Number(MIN_RE.exec(page.body)?.[1]);
  if (!min) throw new Error('item page has no bid form (auction not open?)');

  const w = watcher(item, nextIp());
  for (let i = 0; i < 100 && !w.prices.length; i++) await sleep(50); // the snapshot on connect
  if (!w.prices.length) throw new Error('watcher got no snapshot over /ws');
  const tBid = Date.now();
  const r = await shopper.bid(item, min);
  if (r.status !== 200) throw new Error(`bid: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  for (let i = 0; i < 100 && !w.prices.slice(1).includes(min); i++) await sleep(50);
  const pushed = w.prices.slice(1).includes(min);
  w.stop();
  seller.agent.destroy();
  shopper.agent.destroy();
  console.log(
    JSON.stringify({
      item,
      photo: !!photo,
      bid: min,
      pushed,
      pushMs: pushed ? Date.now() - tBid : null,
      seconds: (Date.now() - t0) / 1000,
    }),
  );
  if (!pushed) process.exit(1);
}

async function storm() {
  const item = Number(o.item);
  const seconds = Math.min(Number(o.seconds), 60);
  const bidders = [];
  for (let i = 0; i < Number(o.bidders); i++) {
    const c = await new Client(nextIp()).signup('storm');
    await c.topUp(5000000);
    bidders.push(c);
  }
  const watchers = Array.from({ length: Number(o.watchers) }, () => watcher(item, nextIp()));
  await sleep(1000);
  const accepted = [];
  const status = {};
  const errors = {};
  let floor = 0;
  let issued = 0;
  const t0 = Date.now();
  let killed = false;
  await Promise.all(
    bidders.map(async (b, i) => {
      await sleep(i * 50);
      while (Date.now() - t0 < seconds * 1000) {
        if (!killed && Date.now() - t0 >= Number(o['kill-after']) * 1000) {
          killed = true;
          console.log('kill');
        }
        const amount = Math.max(issued + 500, floor);
        issued = amount;
        let r;
        try {
          r = await b.bid(item, amount);
        } catch (e) {
          errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1;
          await sleep(200);
          continue;
        }
        status[r.status] = (status[r.status] ?? 0) + 1;
        const min = Number(MIN_RE.exec(r.body)?.[1]);
        if (min) floor = Math.max(floor, min);
        if (r.status === 200) accepted.push({ bidder: b.email, amount });
        if (/data-testid="auction-ended"/.test(r.body)) break;
        await sleep(150);
      }
    }),
  );
  await sleep(3000); // the last pushes
  const pushes = watchers.map((w) => ({
    connects: w.connects,
    prices: w.prices.length,
    last: w.prices.at(-1) ?? null,
  }));
  const maxAccepted = Math.max(0, ...accepted.map((a) => a.amount));
  for (const w of watchers) w.stop();
  for (const b of bidders) b.agent.destroy();
  console.log(
    JSON.stringify({
      item,
      seconds: (Date.now() - t0) / 1000,
      requests: Object.values(status).reduce((a, b) => a + b, 0),
      status,
      errors,
      accepted,
      maxAccepted,
      watchers: pushes,
    }),
  );
}

if (positionals[0] === 'journey') await journey();
else if (positionals[0] === 'storm') await storm();
else {
  console.error('usage: shopper.mjs journey|storm ...');
  process.exit(2);
}
process.exit(0);
