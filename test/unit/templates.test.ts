/** House rules for templates: no unescaped output outside the layout's body slot, and every {{t}} key exists in both languages. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/env.js';
import { allMessages, templateFiles } from '../../scripts/boundaries.js';

const lookup = (obj: unknown, key: string) =>
  key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);

// The shared views/ and every module's src/modules/<name>/views/, with every catalog merged.
const templates = templateFiles(ROOT).map((f) => f.file);
const { ko, en } = await allMessages(ROOT);

t.test('no {{{triple}}} outside the layout body slot', async (t) => {
  for (const f of templates) {
    const src = readFileSync(f, 'utf8');
    const triples = src.match(/\{\{\{[^}]*\}\}\}/g) ?? [];
    const allowed = f.endsWith(path.join('layouts', 'main.hbs')) ? ['{{{body}}}'] : [];
    t.same(
      triples.filter((x) => !allowed.includes(x)),
      [],
      path.relative(ROOT, f),
    );
  }
});

t.test('no inline scripts or styles (the CSP forbids them)', async (t) => {
  for (const f of templates) {
    // Handlebars expressions may carry hash arguments like style="datetime": not HTML.
    const src = readFileSync(f, 'utf8').replace(/\{\{[^}]*\}\}/g, '');
    t.notMatch(src, /<script(?![^>]*\bsrc=)[^>]*>/, `${path.relative(ROOT, f)}: inline <script>`);
    t.notMatch(src, /\sstyle="/, `${path.relative(ROOT, f)}: style attribute`);
    t.notMatch(src, /\son[a-z]+="/, `${path.relative(ROOT, f)}: inline event handler`);
  }
});

t.test('every literal {{t "key"}} exists in Korean and English', async (t) => {
  let n = 0;
  for (const f of templates) {
    // `{{t "key"` or a subexpression `(t "key"`; not the end of another word (`(lookup chat "partial")`).
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:\{\{~?|\()t "([a-zA-Z0-9_.]+)"/g)) {
      n++;
      t.type(lookup(ko, m[1]), 'string', `ko ${m[1]} (${path.basename(f)})`);
      t.type(lookup(en, m[1]), 'string', `en ${m[1]} (${path.basename(f)})`);
    }
  }
  t.ok(n > 20, `${n} keys checked`);
});
