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
      req.t = i18n.getFixedT(lang);
    });
  },
  { name: 'core-i18n', dependencies: ['@fastify/cookie'] },
);
