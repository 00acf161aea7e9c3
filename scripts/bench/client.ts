/**
 * A browser-like HTTP/1.1 client per user on node:http: one keep-alive socket from the user's own
 * loopback address (127.0.x.y, so the app's per-IP rate limits see many users, as in real life),
 * the session cookie, and the CSRF token read from the last page or fragment.
 */
import http from 'node:http';

export interface Res {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export class UserClient {
  readonly agent: http.Agent;
  cookies = new Map<string, string>();
  csrf = '';
  constructor(
    readonly port: number,
    readonly localAddress: string,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  request(
    method: 'GET' | 'POST',
    path: string,
    form?: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Res> {
    const body = form ? new URLSearchParams({ _csrf: this.csrf, ...form }).toString() : undefined;
    const h: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...headers };
    if (body !== undefined) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      h['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          headers: h,
          agent: this.agent,
          localAddress: this.localAddress,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const out = {
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            };
            this.absorb(out);
            resolve(out);
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private absorb(res: Res) {
    for (const c of res.headers['set-cookie'] ?? []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (m) this.csrf = m[1];
  }

  async login(email: string, password: string): Promise<void> {
    await this.request('GET', '/login');
    const r = await this.request('POST', '/login', { email, password });
    if (r.status !== 303) throw new Error(`login ${email}: HTTP ${r.status}`);
  }

  close() {
    this.agent.destroy();
  }
}

/** The n-th address of a loopback block: block 5 -> 127.5.0.1, 127.5.0.2, ... (Linux routes all of 127/8 to lo). */
export const loopback = (block: number, n: number) => `127.${block}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
