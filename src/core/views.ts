/**
 * Server-rendered pages: Handlebars, one layout. The layout and the shared partials (header,
 * footer, flash, field) and the error page live in views/; each module keeps its own pages and
 * partials in src/modules/<name>/views/ (pages at the top, partials/ below) and registers them
 * with `app.views.register('<name>', dir)`, under its own prefix: `bidding/my-bids` (a page),
 * `bidding/bid-panel` (a partial). A module's browser script, src/modules/<name>/public/<name>.js,
 * is served at /static/js/<name>.js and loaded only by the pages that ask for it.
 * `reply.page()` renders inside the layout, or only the page's body for htmx requests;
 * `reply.fragment()` renders one partial alone (htmx swaps and WebSocket pushes).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import Handlebars from 'handlebars';
import type { TFunction } from 'i18next';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface PageOptions {
  title?: string;
  /** Full page even for an htmx request (e.g. boosted navigation). */
  full?: boolean;
  description?: string;
  canonical?: string;
  ogImage?: string;
  /** Module scripts this page needs, by file name (`catalog.js`); slots add theirs. */
  scripts?: string[];
  /** Live topics this page listens to (`auction:42`); slots add theirs (core/realtime.ts). */
  topics?: string[];
}

export interface Views {
  /** A module's templates: `dir/*.hbs` are pages, `dir/partials/**.hbs` partials, all named `<module>/<file>`. */
  register(module: string, dir: string): void;
  /** A module's browser script, served at /static/js/<file name>; the name starts with the module's. */
  script(module: string, file: string): void;
  /** Fills a template slot: `{{slotFor "name" key=value}}` in another module's template renders this partial. */
  fillSlot(slot: string, partial: string): void;
  /**
   * Everything of a module's that pages need, found next to its index.ts (`import.meta.url`):
   * views/ (`register`) and every public/*.js (`script`).
   */
  module(module: string, indexUrl: string): void;
  /**
   * A page template rendered to a string for nobody in particular: no user, no CSRF token, only the
   * language. The viewer-independent part of a logged-in page (core/page-cache.ts `shared`), which
   * `reply.pageHtml` then wraps with the viewer's own parts.
   */
  renderShared(name: string, data: Record<string, unknown>, t: TFunction, lang: string): string;
}

declare module 'fastify' {
  interface FastifyReply {
    page(template: string, data?: Record<string, unknown>, opts?: PageOptions): Promise<FastifyReply>;
    /** As `page`, for a body already rendered (views.renderShared plus the viewer's parts spliced in). */
    pageHtml(body: string, opts?: PageOptions): Promise<FastifyReply>;
    /** A partial rendered as it would be inside this request's page (`@root` is the page's locals). */
    partialHtml(name: string, data: Record<string, unknown>): string;
    fragment(template: string, data?: Record<string, unknown>): Promise<FastifyReply>;
  }
  interface FastifyRequest {
    /** Scripts the page being rendered needs (added by slots). */
    pageScripts: Set<string> | null;
    /** Live topics of the page being rendered (added by slots): one WebSocket per tab carries them all. */
    pageTopics: Set<string> | null;
  }
  interface FastifyInstance {
    views: Views;
    /** Renders a partial to a string (for WebSocket pushes), with a language's messages. */
    renderPartial(name: string, data: Record<string, unknown>, t: TFunction, lang?: string): string;
    /** As renderPartial, kept as HTML that a later render inserts as it is (RenderedHtml). */
    renderHtml(name: string, data: Record<string, unknown>, t: TFunction, lang?: string): RenderedHtml;
  }
}

const RENDERED = Symbol('rendered');
/**
 * HTML rendered from this app's own templates, which `{{name}}` inserts as it is (Handlebars takes
 * any value with toHTML() as safe): a module can keep a rendered fragment and give it to a later
 * render instead of rendering it again (the bid history's rows). Only `app.renderHtml` and
 * `RenderedHtml.join` make one, never from a plain string, so text from a request cannot become one
 * (templates have no {{{triple}}}: test/unit/templates.test.ts).
 */
export class RenderedHtml {
  readonly #html: string;
  constructor(token: symbol, html: string) {
    if (token !== RENDERED) throw new Error('RenderedHtml comes from app.renderHtml');
    this.#html = html;
  }
  toHTML(): string {
    return this.#html;
  }
  toString(): string {
    return this.#html;
  }
  static join(parts: RenderedHtml[]): RenderedHtml {
    return new RenderedHtml(RENDERED, parts.map((p) => p.#html).join(''));
  }
}

const HOLE_NAME = /^[a-zA-Z]+$/;
const HOLE = /<!--hole:([a-zA-Z]+)-->/g;

/**
 * A place in a rendering for a value that differs per request (a CSRF token, a form's request
 * key): render with `htmlHole('csrfToken')` as the value, keep the result as HtmlWithHoles, and
 * `{{fill it csrfToken=…}}` puts this request's values in. The marker is an HTML comment:
 * Handlebars escapes `<` in every value it inserts, so no text from a request can make one.
 */
export function htmlHole(name: string): RenderedHtml {
  if (!HOLE_NAME.test(name)) throw new Error(`hole name ${name}`);
  return new RenderedHtml(RENDERED, `<!--hole:${name}-->`);
}

/**
 * HTML rendered once with holes (htmlHole), to be filled per request: the part of a page that is the
 * same for many viewers except a token or two (the bid panel of every viewer with one standing).
 */
export class HtmlWithHoles {
  readonly #parts: string[];
  readonly #holes: string[];
  constructor(html: RenderedHtml) {
    const text = html.toHTML();
    this.#parts = [];
    this.#holes = [];
    let at = 0;
    for (const m of text.matchAll(HOLE)) {
      this.#parts.push(text.slice(at, m.index));
      this.#holes.push(m[1]);
      at = m.index + m[0].length;
    }
    this.#parts.push(text.slice(at));
  }
  /** The HTML with each hole's value, escaped as `{{value}}` would be. A hole without a value is a bug. */
  fill(values: Record<string, unknown>): RenderedHtml {
    let out = this.#parts[0];
    for (let i = 0; i < this.#holes.length; i++) {
      const v = values[this.#holes[i]];
      if (v === undefined || v === null) throw new Error(`no value for hole ${this.#holes[i]}`);
      out += Handlebars.escapeExpression(String(v)) + this.#parts[i + 1];
    }
    return new RenderedHtml(RENDERED, out);
  }
}

export type LocalsFn = (req: FastifyRequest, reply: FastifyReply) => Record<string, unknown>;

/** Every .hbs file under dir, by its path without the extension (`partials/x` -> `x` when `strip`). */
function hbsFiles(dir: string, prefix = ''): [string, string][] {
  return readdirSync(dir).flatMap((name): [string, string][] => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return hbsFiles(full, `${prefix}${name}/`);
    return name.endsWith('.hbs') ? [[`${prefix}${name.slice(0, -4)}`, full]] : [];
  });
}

const wonFormat = new Intl.NumberFormat('ko-KR');

/**
 * Korea time, 24-hour clock (ICU's Korean short time style prints "PM"; 23:52 reads naturally in both
 * languages). One formatter per language and style: building an Intl.DateTimeFormat costs far more
 * than formatting with one, and a page formats dozens of dates.
 */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(lang: 'en-US' | 'ko-KR', style: 'date' | 'datetime'): Intl.DateTimeFormat {
  const key = `${lang}|${style}`;
  let f = dateFormats.get(key);
  if (!f) {
    const fmt: Intl.DateTimeFormatOptions =
      style === 'datetime'
        ? {
            year: 'numeric',
            month: 'long',
            day: 'numeric',
            weekday: 'short',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
            timeZone: 'Asia/Seoul',
          }
        : { dateStyle: 'long', timeZone: 'Asia/Seoul' };
    dateFormats.set(key, (f = new Intl.DateTimeFormat(lang, fmt)));
  }
  return f;
}

export function registerHelpers(hbs: typeof Handlebars): void {
  hbs.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
    const t = options.data?.root?.__t as TFunction | undefined;
    return t ? t(key, options.hash) : key;
  });
  // {{fill html name=value …}}: an HtmlWithHoles with this render's values in its holes.
  hbs.registerHelper('fill', (html: unknown, options: Handlebars.HelperOptions) => {
    if (!(html instanceof HtmlWithHoles)) throw new Error('fill takes an HtmlWithHoles');
    return html.fill(options.hash as Record<string, unknown>);
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
  // One formatter per language and style (dateFormat above): building an Intl.DateTimeFormat costs
  // ~0.1 ms (ICU), formatting with a built one ~1 µs, and a bid history renders 30 dates per push.
  hbs.registerHelper('date', (d: unknown, options: Handlebars.HelperOptions) => {
    if (!d) return '';
    const date = d instanceof Date ? d : new Date(String(d));
    const lang = options.data?.root?.lang === 'en' ? 'en-US' : 'ko-KR';
    const style = (options.hash?.style as string) === 'datetime' ? 'datetime' : 'date';
    return dateFormat(lang, style).format(date);
  });
  hbs.registerHelper('iso', (d: unknown) =>
    d instanceof Date ? d.toISOString() : d ? new Date(String(d)).toISOString() : '',
  );
}

export const viewsPlugin = fp<{ root: string; production: boolean; locals: LocalsFn }>(
  async (app, opts) => {
    const hbs = Handlebars.create();
    registerHelpers(hbs);
    // Every helper registered so far is "known" to the compiler, which then calls it directly instead
    // of asking at run time, for each {{name}}, whether a helper of that name exists (measured on the
    // logged-in item page, scripts/bench/page-profile.ts: 0.29-0.33 -> 0.23 ms of CPU per request).
    // Only speed changes: a known helper is what the run-time lookup would have found (none is removed).
    // preventIndent: a partial called on an indented line (`  {{> catalog/listing-form}}`) is output as
    // it is, not with each of its lines indented to match. The indenting changed what a <textarea> or a
    // <pre> holds: an edited listing's description gained two spaces a line on every save
    // (catalog-listing.test.ts). Only whitespace between tags changes elsewhere.
    const compile = (src: string) =>
      hbs.compile(src, {
        knownHelpers: Object.fromEntries(Object.keys(hbs.helpers).map((k) => [k, true])),
        preventIndent: true,
      });
    const viewsDir = path.join(opts.root, 'views');
    // Pages by name -> file, compiled on first use.
    const pages = new Map<string, string>();
    const compiledPages = new Map<string, { tpl: Handlebars.TemplateDelegate; mtime: number }>();
    const scripts = new Map<string, string>();
    const slots = new Map<string, string>();

    const addPartials = (dir: string, prefix: string) => {
      for (const [name, file] of hbsFiles(dir)) {
        const full = `${prefix}${name}`;
        if (hbs.partials[full]) throw new Error(`partial ${full} is registered twice`);
        // Compiled once here: a partial given as a string is compiled again on every use.
        hbs.registerPartial(full, compile(readFileSync(file, 'utf8')));
      }
    };
    addPartials(path.join(viewsDir, 'partials'), '');
    for (const [name, file] of hbsFiles(path.join(viewsDir, 'errors'))) pages.set(`errors/${name}`, file);
    const layoutFile = path.join(viewsDir, 'layouts', 'main.hbs');

    const compiledPartials = new Map<string, Handlebars.TemplateDelegate>();
    const partial = (name: string): Handlebars.TemplateDelegate => {
      let tpl = compiledPartials.get(name);
      if (!tpl) {
        const src = hbs.partials[name];
        if (!src) throw new Error(`no partial named ${name}`);
        tpl = typeof src === 'function' ? (src as Handlebars.TemplateDelegate) : compile(src);
        compiledPartials.set(name, tpl);
      }
      return tpl;
    };
    // In development a page is compiled again when its file changed (edit a template, reload the page).
    const template = (file: string): Handlebars.TemplateDelegate => {
      const known = compiledPages.get(file);
      const mtime = opts.production && known ? 0 : statSync(file).mtimeMs;
      if (known && (opts.production || known.mtime === mtime)) return known.tpl;
      const tpl = compile(readFileSync(file, 'utf8'));
      compiledPages.set(file, { tpl, mtime });
      return tpl;
    };
    const page = (name: string) => {
      const file = pages.get(name);
      if (!file) throw new Error(`no page named ${name}`);
      return template(file);
    };

    // A template slot: another module's partial fills it, or nothing does (the slot renders empty).
    hbs.registerHelper('slotFor', function (this: unknown, name: string, options: Handlebars.HelperOptions) {
      const filler = slots.get(name);
      return filler ? new hbs.SafeString(partial(filler)({ ...options.hash }, { data: options.data })) : '';
    });

    const views: Views = {
      register(module, dir) {
        if (!/^[a-z][a-z0-9-]*$/.test(module)) throw new Error(`module name ${module}`);
        for (const f of readdirSync(dir)) {
          if (!f.endsWith('.hbs')) continue;
          const name = `${module}/${f.slice(0, -4)}`;
          const known = pages.get(name);
          if (known && known !== path.join(dir, f)) throw new Error(`page ${name} is registered twice`);
          pages.set(name, path.join(dir, f));
        }
        const partialsDir = path.join(dir, 'partials');
        if (existsSync(partialsDir)) addPartials(partialsDir, `${module}/`);
      },
      script(module, file) {
        const name = path.basename(file);
        if (name !== `${module}.js` && !name.startsWith(`${module}-`))
          throw new Error(`script ${name} must be named ${module}.js or ${module}-*.js`);
        scripts.set(name, path.dirname(file));
      },
      fillSlot(slot, name) {
        if (slots.has(slot)) throw new Error(`template slot ${slot} is already filled`);
        slots.set(slot, name);
      },
      renderShared(name, data, t, lang) {
        return page(name)({ ...data, __t: t, lang, user: null, csrfToken: '' });
      },
      module(module, indexUrl) {
        const dir = path.dirname(fileURLToPath(indexUrl));
        if (existsSync(path.join(dir, 'views'))) views.register(module, path.join(dir, 'views'));
        const pub = path.join(dir, 'public');
        if (existsSync(pub))
          for (const f of readdirSync(pub)) if (f.endsWith('.js')) views.script(module, path.join(pub, f));
      },
    };
    app.decorate('views', views);
    app.decorateRequest('pageScripts', null);
    app.decorateRequest('pageTopics', null);

    app.get<{ Params: { file: string } }>(
      '/static/js/:file',
      {
        config: { rateLimit: false },
        schema: { params: { type: 'object', properties: { file: { type: 'string', maxLength: 80 } } } },
      },
      async (req, reply) => {
        const dir = scripts.get(req.params.file);
        if (!dir) return reply.callNotFound();
        return reply.sendFile(req.params.file, dir, { maxAge: opts.production ? '7d' : 0, immutable: opts.production });
      },
    );

    app.decorate('renderPartial', (name: string, data: Record<string, unknown>, t: TFunction, lang = 'ko') =>
      partial(name)({ ...data, __t: t, lang }),
    );
    app.decorate(
      'renderHtml',
      (name: string, data: Record<string, unknown>, t: TFunction, lang = 'ko') =>
        new RenderedHtml(RENDERED, partial(name)({ ...data, __t: t, lang })),
    );

    // One set of locals per request: a page with spliced parts (partialHtml, then pageHtml) mints
    // one CSRF token and takes the flash message once.
    const localsMemo = new WeakMap<FastifyRequest, Record<string, unknown>>();
    const localsOf = (reply: FastifyReply) => {
      let l = localsMemo.get(reply.request);
      if (!l) localsMemo.set(reply.request, (l = opts.locals(reply.request, reply)));
      return l;
    };
    // The header, rendered once per language, role and whether the page carries a CSRF token,
    // with holes for the viewer's nickname, id and token and the page's path (its only parts that
    // differ between viewers): it was ~20 us of every logged-in page's render (~12 helpers).
    const headers = new Map<string, HtmlWithHoles>();
    const headerFor = (locals: Record<string, unknown>): RenderedHtml => {
      const user = locals.user as { id: number; nickname: string; role: string } | null | undefined;
      const csrfToken = locals.csrfToken ? String(locals.csrfToken) : '';
      const key = `${String(locals.lang)}|${user ? user.role : '-'}|${csrfToken ? 'csrf' : ''}`;
      let header = headers.get(key);
      if (!header) {
        const html = partial('header')({
          __t: locals.__t,
          lang: locals.lang,
          currentPath: htmlHole('currentPath'),
          csrfToken: csrfToken ? htmlHole('csrfToken') : '',
          user: user ? { role: user.role, id: htmlHole('userId'), nickname: htmlHole('nickname') } : null,
        });
        header = new HtmlWithHoles(new RenderedHtml(RENDERED, html));
        // Languages x roles x token or not: a dozen; the bound only guards against a role per request.
        if (headers.size < 64) headers.set(key, header);
      }
      return header.fill({ currentPath: locals.currentPath, csrfToken, userId: user?.id, nickname: user?.nickname });
    };
    const send = (
      reply: FastifyReply,
      name: string | null,
      body: string | null,
      data: Record<string, unknown>,
      popts: PageOptions,
    ) => {
      const req = reply.request;
      const pageScripts = [...new Set([...(popts.scripts ?? []), ...(req.pageScripts ?? [])])];
      // The page's one WebSocket (on <body>, htmx's ws extension): its own topics and its slots',
      // and a logged-in person's own topic (user:<id>, core/realtime.ts) on every page.
      const topics = [...new Set([...(popts.topics ?? []), ...(req.pageTopics ?? [])])];
      if (req.user) topics.push(`user:${req.user.id}`);
      const locals = {
        ...localsOf(reply),
        ...data,
        pageTitle: popts.title,
        page: popts,
        pageScripts,
        wsTopics: topics.join(','),
      };
      const html = body ?? page(name!)(locals);
      reply.type('text/html; charset=utf-8');
      if (req.htmx && !req.headers['hx-boosted'] && !popts.full) return reply.send(html);
      return reply.send(template(layoutFile)({ ...locals, headerHtml: headerFor(locals), body: html }));
    };
    app.decorateReply('page', async function (this: FastifyReply, name: string, data = {}, popts: PageOptions = {}) {
      return send(this, name, null, data, popts);
    });
    app.decorateReply('pageHtml', async function (this: FastifyReply, body: string, popts: PageOptions = {}) {
      return send(this, null, body, {}, popts);
    });
    app.decorateReply('partialHtml', function (this: FastifyReply, name: string, data: Record<string, unknown>) {
      return partial(name)(data, { data: { root: localsOf(this) } });
    });
    app.decorateReply('fragment', async function (this: FastifyReply, name: string, data = {}) {
      const req = this.request;
      const html = partial(name)({ ...opts.locals(req, this), ...data });
      return this.type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'core-views', dependencies: ['core-htmx'] },
);
