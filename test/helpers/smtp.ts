/**
 * A real SMTP server in the test process (smtp-server, from nodemailer's authors) and a small
 * reader of what it received: headers (RFC 2047 subjects decoded), the plain-text and HTML parts
 * (base64 / quoted-printable decoded) and the links in them.
 */
import { SMTPServer } from 'smtp-server';

export interface Received {
  to: string;
  raw: string;
  headers: Map<string, string>;
  subject: string;
  text: string;
  html: string;
  links: string[];
}

function decodeWords(v: string): string {
  return v.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*/g, (_m, _cs, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : Buffer.from(
          data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

function splitHead(block: string): [Map<string, string>, string] {
  const i = block.search(/\r?\n\r?\n/);
  const head = i < 0 ? block : block.slice(0, i);
  const body = i < 0 ? '' : block.slice(i).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return [headers, body];
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const enc = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

export function parseMail(to: string, raw: string): Received {
  const [headers, body] = splitHead(raw);
  let text = '';
  let html = '';
  const parts = (h: Map<string, string>, b: string) => {
    const type = h.get('content-type') ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (type.toLowerCase().startsWith('multipart/') && boundary) {
      for (const chunk of b.split(`--${boundary}`).slice(1)) {
        if (chunk.startsWith('--')) break;
        const [ph, pb] = splitHead(chunk.replace(/^\r?\n/, ''));
        parts(ph, pb);
      }
    } else if (type.toLowerCase().startsWith('text/html')) html += decodeBody(h, b);
    else if (type.toLowerCase().startsWith('text/plain')) text += decodeBody(h, b);
  };
  parts(headers, body);
  const links = [...new Set([...`${text}\n${html}`.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]))];
  return { to, raw, headers, subject: decodeWords(headers.get('subject') ?? ''), text, html, links };
}

export interface Smtp {
  port: number;
  received: Received[];
  /** Stops accepting connections (an outage); `start()` listens on the same port again. */
  stop(): Promise<void>;
  start(): Promise<void>;
  waitFor(n: number, ms?: number): Promise<boolean>;
}

export async function smtpServer(t: { teardown(fn: () => Promise<void>): void }): Promise<Smtp> {
  const received: Received[] = [];
  let server: SMTPServer | null = null;
  let port = 0;
  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, cb) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (raw += d));
        stream.on('end', () => {
          received.push(parseMail(session.envelope.rcptTo.map((r) => r.address).join(','), raw));
          cb();
        });
      },
    });
  const start = async () => {
    const s = make();
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
    port = (s.server.address() as { port: number }).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await start();
  t.teardown(stop);
  return {
    get port() {
      return port;
    },
    received,
    stop,
    start,
    async waitFor(n, ms = 15_000) {
      const end = Date.now() + ms;
      while (received.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      return received.length >= n;
    },
  };
}
