/**
 * Several real app processes (src/server.ts, ROLE=all) sharing PostgreSQL and Redis, and what a
 * test drives them with: a cookie-keeping HTTP client (login, htmx bid) and WebSocket tabs on
 * topics. Used by the multi-instance tests of bidding and notifications.
 */
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { spawnServer } from './server.js';
import { PASSWORD } from './auction.js';

export interface Instance {
  name: string;
  base: string;
  child: ChildProcess;
  out: () => string;
}

/** Spawns one instance (ROLE=all unless `env` says otherwise) on free ports; it is up once it logs "DAPANDA listening". */
export async function spawnInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const s = await spawnServer({ ROLE: 'all', ...env });
  return { name, base: s.base, child: s.child, out: s.output };
}

/** A cookie-keeping HTTP client against a real listening instance. */
export class HttpClient {
  cookies = new Map<string, string>();
  constructor(public base: string) {}
  private absorb(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }
  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async get(url: string) {
    const res = await fetch(this.base + url, { headers: { cookie: this.cookieHeader() }, redirect: 'manual' });
    this.absorb(res);
    return { status: res.status, body: await res.text() };
  }
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(this.base + url, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader(), ...headers },
      redirect: 'manual',
    });
    this.absorb(res);
    return { status: res.status, body: await res.text() };
  }
  async login(email: string) {
    const page = await this.get('/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const res = await this.post('/login', { email, password: PASSWORD, _csrf: csrf });
    if (res.status !== 303) throw new Error(`login failed on ${this.base}: ${res.status}`);
  }
  /** Bids the way htmx does: the token in the header, the panel fragment back. */
  async bid(id: number, amount: number) {
    const panel = await this.get(`/items/${id}/bid-panel`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(panel.body)?.[1] ?? '';
    return this.post(`/items/${id}/bids`, { amount: String(amount) }, { 'hx-request': 'true', 'x-csrf-token': csrf });
  }
}

/** One tab's socket on `topic` (`auction:<id>`, `user:<id>`), every frame kept in `messages`. */
export interface Tab {
  label: string;
  messages: string[];
  ws: WebSocket;
  ready: Promise<void>;
}

export function openTab(label: string, base: string, topic: string, cookie?: string): Tab {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?topics=${topic}`, { headers: cookie ? { cookie } : {} });
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  ws.on('error', () => {});
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { label, messages, ws, ready };
}
