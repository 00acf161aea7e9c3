/**
 * Server-rendered pages: @fastify/view + Handlebars, one layout, partials from views/partials
 * (registered by file name, folders joined with `/`, e.g. `accounts/login-form`).
 * `reply.page()` renders inside the layout, or only the page's body for htmx requests;
 * `reply.fragment()` renders one partial alone (htmx swaps and WebSocket pushes).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyView from '@fastify/view';
import Handlebars from 'handlebars';
import type { TFunction } from 'i18next';
import type { FastifyReply } from 'fastify';

export interface PageOptions {
  title?: string;
  /** Full page even for an htmx request (e.g. boosted navigation). */
  full?: boolean;
  description?: string;
  canonical?: string;
  ogImage?: string;
}

declare module 'fastify' {
  interface FastifyReply {
    page(template: string, data?: Record<string, unknown>, opts?: PageOptions): Promise<FastifyReply>;
    fragment(template: string, data?: Record<string, unknown>): Promise<FastifyReply>;
  }
  interface FastifyInstance {
    /** Renders a partial to a string (for WebSocket pushes), with a language's messages. */
    renderPartial(name: string, data: Record<string, unknown>, t: TFunction, lang?: string): string;
  }
}

export type LocalsFn = (req: import('fastify').FastifyRequest, reply: FastifyReply) => Record<string, unknown>;

function registerPartials(hbs: typeof Handlebars, dir: string, prefix = ''): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) registerPartials(hbs, full, `${prefix}${name}/`);
    else if (name.endsWith('.hbs')) hbs.registerPartial(`${prefix}${name.slice(0, -4)}`, readFileSync(full, 'utf8'));
  }
}

const wonFormat = new Intl.NumberFormat('ko-KR');

export function registerHelpers(hbs: typeof Handlebars): void {
  hbs.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
    const t = options.data?.root?.__t as TFunction | undefined;
    return t ? t(key, options.hash) : key;
  });
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hbs.registerHelper('not', (a: unknown) => !a);
  hbs.registerHelper('won', (n: unknown, options: Handlebars.HelperOptions) => {
    const v = typeof n === 'bigint' ? Number(n) : Number(n ?? 0);
    const lang = options.data?.root?.lang;
    return lang === 'en' ? `₩${wonFormat.format(v)}` : `${wonFormat.format(v)}원`;
  });
  hbs.registerHelper('date', (d: unknown, options: Handlebars.HelperOptions) => {
    if (!d) return '';
    const date = d instanceof Date ? d : new Date(String(d));
    const lang = options.data?.root?.lang === 'en' ? 'en-US' : 'ko-KR';
    const style = (options.hash?.style as string) ?? 'date';
    // Korea time, 24-hour clock (ICU's Korean short time style prints "PM"; 23:52 reads naturally in both languages).
    const fmt: Intl.DateTimeFormatOptions =
      style === 'datetime'
        ? { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Asia/Seoul' }
        : { dateStyle: 'long', timeZone: 'Asia/Seoul' };
    return new Intl.DateTimeFormat(lang, fmt).format(date);
  });
  hbs.registerHelper('iso', (d: unknown) => (d instanceof Date ? d.toISOString() : d ? new Date(String(d)).toISOString() : ''));
}

export const viewsPlugin = fp<{ root: string; production: boolean; locals: LocalsFn }>(
  async (app, opts) => {
    const hbs = Handlebars.create();
    registerHelpers(hbs);
    const viewsDir = path.join(opts.root, 'views');
    registerPartials(hbs, path.join(viewsDir, 'partials'));
    await app.register(fastifyView, {
      engine: { handlebars: hbs },
      root: viewsDir,
      viewExt: 'hbs',
      production: opts.production,
      defaultContext: {},
    });

    const compiled = new Map<string, Handlebars.TemplateDelegate>();
    const partial = (name: string): Handlebars.TemplateDelegate => {
      let tpl = compiled.get(name);
      if (!tpl) {
        const src = hbs.partials[name];
        if (!src) throw new Error(`no partial named ${name}`);
        tpl = typeof src === 'function' ? (src as Handlebars.TemplateDelegate) : hbs.compile(src);
        compiled.set(name, tpl);
      }
      return tpl;
    };
    app.decorate('renderPartial', (name: string, data: Record<string, unknown>, t: TFunction, lang = 'ko') =>
      partial(name)({ ...data, __t: t, lang }),
    );

    app.decorateReply('page', async function (this: FastifyReply, template: string, data = {}, popts: PageOptions = {}) {
      const req = this.request;
      const locals = { ...opts.locals(req, this), ...data, pageTitle: popts.title, page: popts };
      const htmxPartial = req.headers['hx-request'] && !req.headers['hx-boosted'] && !popts.full;
      this.type('text/html; charset=utf-8');
      if (htmxPartial) return this.view(template, locals);
      return this.view(template, locals, { layout: 'layouts/main' });
    });
    app.decorateReply('fragment', async function (this: FastifyReply, name: string, data = {}) {
      const req = this.request;
      const html = partial(name)({ ...opts.locals(req, this), ...data });
      return this.type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'core-views' },
);
