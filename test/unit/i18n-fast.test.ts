/** core/i18n.ts's precompiled lookups answer exactly what i18next answers, for every message of every catalog. */
import t from 'tap';
import { ROOT } from '../helpers/env.js';
import { allMessages } from '../../scripts/boundaries.js';
import { addMessages, i18n, tFor, LANGS } from '../../src/core/i18n.js';

type Tree = { [k: string]: string | Tree };
const { ko, en } = await allMessages(ROOT);
// The shared groups are in already; the modules' as their plugins would add them.
const shared = new Set(Object.keys(i18n.getResourceBundle('ko', 'translation') as Tree));
const pick = (tree: Tree) => Object.fromEntries(Object.entries(tree).filter(([g]) => !shared.has(g)));
addMessages('i18n-fast-test', { ko: pick(ko as Tree), en: pick(en as Tree) });

const keys: string[] = [];
const walk = (tree: Tree, prefix: string) => {
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') keys.push(prefix + k);
    else walk(v, `${prefix}${k}.`);
  }
};
walk(ko as Tree, '');

t.test('every key, with and without values, in both languages', async (t) => {
  const values = { n: 3, count: 2, title: '아이폰 <15>', price: '10,000원', amount: 5000, name: 'x', max: 100 };
  let checked = 0;
  for (const lang of LANGS) {
    const slow = i18n.getFixedT(lang);
    const fast = tFor(lang);
    for (const key of keys) {
      for (const opts of [undefined, values, {}]) {
        const a = opts === undefined ? slow(key) : slow(key, opts);
        const b = opts === undefined ? fast(key) : fast(key, opts);
        if (a !== b) t.equal(b, a, `${lang} ${key} ${JSON.stringify(opts)}`);
        checked++;
      }
    }
  }
  t.ok(checked > 1000, `${checked} lookups compared`);
});

t.test("what the fast path leaves to i18next: missing keys, groups, i18next's own options", async (t) => {
  for (const lang of LANGS) {
    const slow = i18n.getFixedT(lang);
    const fast = tFor(lang);
    t.equal(fast('no.such.key'), slow('no.such.key'));
    t.same(fast('catalog.condition' as never), slow('catalog.condition' as never));
    t.equal(fast('no.such.key', { defaultValue: 'd' }), 'd');
    t.equal(fast('catalog.bids', { n: undefined }), slow('catalog.bids', { n: undefined }));
  }
});
