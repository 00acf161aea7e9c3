/** HtmlWithHoles (core/views.ts): HTML rendered once with holes, filled per request with escaped values. */
import t from 'tap';
import Handlebars from 'handlebars';
import { HtmlWithHoles, htmlHole, registerHelpers, RenderedHtml } from '../../src/core/views.js';

const hbs = Handlebars.create();
registerHelpers(hbs);
const render = (src: string, data: Record<string, unknown>) => hbs.compile(src)(data);

t.test('holes are filled with this request’s values, escaped', async (t) => {
  const tpl = '<form><input name="_csrf" value="{{csrfToken}}"><input name="k" value="{{key}}"><b>{{title}}</b></form>';
  const once = render(tpl, { csrfToken: htmlHole('csrfToken'), key: htmlHole('requestKey'), title: '시계 & 줄' });
  const panel = new HtmlWithHoles({ toHTML: () => once } as unknown as RenderedHtml);
  t.equal(
    panel.fill({ csrfToken: 'abc-1', requestKey: 'k1' }).toHTML(),
    '<form><input name="_csrf" value="abc-1"><input name="k" value="k1"><b>시계 &amp; 줄</b></form>',
  );
  t.equal(
    panel.fill({ csrfToken: '"><script>x</script>', requestKey: 'k2' }).toHTML(),
    '<form><input name="_csrf" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"><input name="k" value="k2"><b>시계 &amp; 줄</b></form>',
    'a value cannot leave its attribute',
  );
  t.throws(() => panel.fill({ csrfToken: 'abc' }), /no value for hole requestKey/, 'a hole without a value is a bug');
  // Through the template helper, as auction.hbs uses it.
  t.equal(
    render('<div>{{fill panel csrfToken=token requestKey="r"}}</div>', { panel, token: 't<1>' }),
    '<div><form><input name="_csrf" value="t&lt;1&gt;"><input name="k" value="r"><b>시계 &amp; 줄</b></form></div>',
  );
  t.throws(() => render('{{fill panel}}', { panel: '<!--hole:csrfToken-->' }), /fill takes an HtmlWithHoles/);
});

t.test('text from a request can never become a hole', async (t) => {
  const typed = '<!--hole:csrfToken-->';
  const html = render('<p>{{title}}</p>', { title: typed });
  t.equal(html, '<p>&lt;!--hole:csrfToken--&gt;</p>', 'Handlebars escapes it');
  const panel = new HtmlWithHoles({ toHTML: () => html } as unknown as RenderedHtml);
  t.equal(panel.fill({}).toHTML(), html, 'no hole in it: nothing to fill, nothing replaced');
  t.throws(() => htmlHole('csrf-token"><x'), /hole name/, 'hole names are letters only');
});
