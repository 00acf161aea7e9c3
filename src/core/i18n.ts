/**
 * i18n with i18next: Korean by default, English second. The language comes from `?lang=`
 * (then remembered in the `lang` cookie), else the cookie, else Korean. The shared messages
 * (layout, errors) are in src/locales; each module adds its own catalogs from
 * src/modules/<name>/locales with `addMessages` when its plugin registers.
 */
import fp from 'fastify-plugin';
import i18next, { type TFunction } from 'i18next';
import type { FastifyRequest } from 'fastify';
import { ko } from '../locales/ko.js';
import { en } from '../locales/en.js';

export const LANGS = ['ko', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'ko';

export const i18n = i18next.createInstance();
type Tree = { [key: string]: string | Tree };
/** Which module owns each top-level message group. */
const owners = new Map<string, string>(Object.keys(ko).map((group) => [group, 'shared']));
await i18n.init({
  resources: { ko: { translation: ko }, en: { translation: en } },
  lng: DEFAULT_LANG,
  fallbackLng: DEFAULT_LANG,
  supportedLngs: [...LANGS],
  interpolation: { escapeValue: false }, // Handlebars escapes on output
  initAsync: false,
  showSupportNotice: false,
} as Parameters<typeof i18n.init>[0]);

/** A catalog's shape with every message widened to string: the English catalog is typed against the Korean one. */
export type Catalog<T> = { [K in keyof T]: T[K] extends string ? string : Catalog<T[K]> };

/**
 * Adds a module's messages (one object per language, its top-level keys are the groups it owns,
 * e.g. `bidding`). A group has one owner: a second module claiming it is a startup error.
 * Adding the same module's messages again (a second app in one process) changes nothing.
 */
export function addMessages(owner: string, catalogs: Record<Lang, object>): void {
  for (const group of Object.keys(catalogs.ko)) {
    const known = owners.get(group);
    if (known && known !== owner) throw new Error(`message group "${group}" belongs to ${known}, not ${owner}`);
  }
  for (const group of Object.keys(catalogs.ko)) owners.set(group, owner);
  for (const lang of LANGS) i18n.addResourceBundle(lang, 'translation', catalogs[lang] as Tree, true, true);
  for (const lang of LANGS) compiled[lang].clear();
}

/**
 * Precompiled lookups (issue 16): i18next's `t` walks its whole resolution chain (language, fallback,
 * plural and context suffixes, the interpolator's regular expressions) on every call, and a page
 * makes hundreds. Our catalogs use plain strings with `{{name}}` placeholders only, so each
 * (language, key) is resolved once, with i18next's rule (the language, else Korean), into a
 * constant or a list of pieces; a call then costs a Map lookup and a join. Anything else (a key
 * with plural forms asked with a count, i18next's own options, a placeholder whose value is not a
 * string or number, a missing key, an object) goes to i18next itself, so the answers stay i18next's.
 */
type Compiled = { text: string } | { pieces: string[]; names: string[] } | null;
const compiled: Record<Lang, Map<string, Compiled>> = { ko: new Map(), en: new Map() };
/** Options i18next reads itself: with any of them the call is i18next's. */
const I18NEXT_OPTIONS = new Set([
  'defaultValue',
  'context',
  'lng',
  'lngs',
  'ns',
  'returnObjects',
  'returnDetails',
  'joinArrays',
  'postProcess',
  'interpolation',
  'replace',
  'keyPrefix',
  'ordinal',
  'fallbackLng',
  'keySeparator',
  'nsSeparator',
]);
const PLURAL_SUFFIXES = ['_zero', '_one', '_two', '_few', '_many', '_other', '_plural'];
const PLACEHOLDER = /\{\{(.+?)\}\}/g;

function compile(lang: Lang, key: string): Compiled {
  const get = (l: Lang, k: string) => i18n.getResource(l, 'translation', k) as unknown;
  let value = get(lang, key);
  if (value === undefined && lang !== DEFAULT_LANG) value = get(DEFAULT_LANG, key);
  if (typeof value !== 'string') return null;
  // Plural forms or nesting: i18next's.
  if (PLURAL_SUFFIXES.some((s) => get(lang, key + s) !== undefined || get(DEFAULT_LANG, key + s) !== undefined))
    return null;
  if (value.includes('$t(')) return null;
  if (!value.includes('{{')) return { text: value };
  const pieces: string[] = [];
  const names: string[] = [];
  let at = 0;
  for (const m of value.matchAll(PLACEHOLDER)) {
    const name = m[1].trim();
    // Unescaped ({{- x}}), formatted ({{x, number}}) or nested ({{a.b}}) values: i18next's.
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) return null;
    pieces.push(value.slice(at, m.index));
    names.push(name);
    at = m.index + m[0].length;
  }
  pieces.push(value.slice(at));
  return { pieces, names };
}

const fast = new Map<Lang, TFunction>();
/** The `t` of a language: precompiled lookups, i18next's own `t` for what they do not cover. */
export function tFor(lang: Lang): TFunction {
  let t = fast.get(lang);
  if (t) return t;
  const slow = i18n.getFixedT(lang) as unknown as (...a: unknown[]) => string;
  const table = compiled[lang];
  const fn = (...args: unknown[]): string => {
    const [key, options] = args;
    if (
      args.length > 2 ||
      typeof key !== 'string' ||
      (options !== undefined && (options === null || typeof options !== 'object'))
    )
      return slow(...args);
    let c = table.get(key);
    if (c === undefined) table.set(key, (c = compile(lang, key)));
    if (c === null) return slow(...args);
    const o = options as Record<string, unknown> | undefined;
    if (o) for (const k in o) if (I18NEXT_OPTIONS.has(k)) return slow(...args);
    if ('text' in c) return c.text;
    let out = c.pieces[0];
    for (let i = 0; i < c.names.length; i++) {
      const v = o?.[c.names[i]];
      if (typeof v === 'string') out += v;
      else if (typeof v === 'number') out += String(v);
      else return slow(...args);
      out += c.pieces[i + 1];
    }
    return out;
  };
  t = fn as unknown as TFunction;
  fast.set(lang, t);
  return t;
}

export const isLang = (v: unknown): v is Lang => typeof v === 'string' && (LANGS as readonly string[]).includes(v);

declare module 'fastify' {
  interface FastifyRequest {
    lang: Lang;
    t: TFunction;
  }
}

/** The language a request asks for: `?lang=`, else the `lang` cookie, else Korean. */
export function requestLang(req: FastifyRequest): Lang {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (isLang(q)) return q;
  const cookie = req.cookies?.lang;
  return isLang(cookie) ? cookie : DEFAULT_LANG;
}

export const i18nPlugin = fp(
  async (app) => {
    app.decorateRequest('lang', DEFAULT_LANG);
    app.decorateRequest('t', null as unknown as TFunction);
    app.addHook('onRequest', async (req, reply) => {
      const q = (req.query as Record<string, unknown> | undefined)?.lang;
      const cookie = req.cookies?.lang;
      let lang: Lang = DEFAULT_LANG;
      if (isLang(q)) {
        lang = q;
        if (q !== cookie)
          reply.setCookie('lang', q, { path: '/', maxAge: 365 * 24 * 3600, sameSite: 'lax', httpOnly: false });
      } else if (isLang(cookie)) {
        lang = cookie;
      }
      req.lang = lang;
      req.t = tFor(lang);
    });
  },
  { name: 'core-i18n', dependencies: ['@fastify/cookie'] },
);
