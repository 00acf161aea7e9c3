/** Builds the real app (real PostgreSQL, Redis, BullMQ) for a test, and a cookie-keeping client over inject(). */
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { testConfig } from './env.js';
import type { Config } from '../../src/config.js';
import { waitForMail, linkIn } from './mail.js';

export async function startApp(
  t: Test,
  overrides: Record<string, string> = {},
  beforeReady?: (app: App) => void,
): Promise<{ app: App; config: Config }> {
  const config = await testConfig(overrides);
  const app = await buildApp(config, { logger: false });
  beforeReady?.(app);
  await app.ready();
  t.teardown(async () => {
    const keys = await app.redis.keys(`${config.redisPrefix}:*`).catch(() => [] as string[]);
    if (keys.length) await app.redis.del(...keys).catch(() => {});
    await app.close();
  });
  return { app, config };
}

export interface Res {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
  json<T = any>(): T;
}

/** A browser-like client: keeps cookies, reads the CSRF token from the last page. */
export class Client {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(
    readonly app: App,
    readonly ip = '127.0.0.1',
  ) {}

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private absorb(res: Res) {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [String(set)] : []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (/Expires=Thu, 01 Jan 1970/.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body) ?? /"x-csrf-token": "([^"]+)"/.exec(res.body);
    if (m) this.csrf = m[1];
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Res> {
    const res = (await this.app.inject({
      method: 'GET',
      url,
      headers: { cookie: this.cookieHeader(), ...headers },
      remoteAddress: this.ip,
    })) as unknown as Res;
    this.absorb(res);
    return res;
  }

  /** Posts a form; includes the CSRF token unless `_csrf: null` is given. */
  async post(url: string, form: Record<string, string | null>, headers: Record<string, string> = {}): Promise<Res> {
    const fields = { _csrf: this.csrf, ...form };
    const body = new URLSearchParams(
      Object.entries(fields).filter(([, v]) => v !== null) as [string, string][],
    ).toString();
    const res = (await this.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader(), ...headers },
      remoteAddress: this.ip,
    })) as unknown as Res;
    this.absorb(res);
    return res;
  }

  /**
   * Signs up as a person does: the form, then the link from the mail it sends, then the button
   * on that page. Returns the last answer: the verification's redirect (303, logged in) when it
   * worked, else the form's (422 with field errors; 200 "check your e-mail" for an address that
   * already has an account).
   */
  /** Signs up through the form and the mailed link; the required consents are given unless `u` says otherwise. */
  async signup(
    u: { email: string; nickname: string; password: string; terms?: string; privacy?: string; marketing?: string },
    headers: Record<string, string> = {},
  ): Promise<Res> {
    await this.get('/signup');
    const mail = waitForMail(this.app, u.email.trim().toLowerCase());
    const res = await this.post('/signup', { terms: 'on', privacy: 'on', ...u }, headers);
    if (res.statusCode !== 200) {
      mail.cancel();
      return res;
    }
    const link = linkIn(await mail, '/signup/verify');
    if (!link) return res;
    await this.get(link);
    return this.post('/signup/verify', { token: new URL(link, 'http://x').searchParams.get('token')! }, headers);
  }

  async login(email: string, password: string): Promise<Res> {
    await this.get('/login');
    return this.post('/login', { email, password });
  }
}
