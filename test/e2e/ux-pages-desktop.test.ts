/**
 * Issue 15 "Done when", desktop size: every main page has no sideways scroll and no axe-core
 * violation; the sell form works after a 422 (test/helpers/ux-pages.ts). One file per size so
 * each stays inside the per-file timeout.
 */
import t from 'tap';
import { auditPages, SIZES } from '../helpers/ux-pages.js';

t.test('main pages at desktop size: no sideways scroll, no axe violations', (t) =>
  auditPages(
    t,
    SIZES.filter((s) => s.name === 'desktop'),
  ),
);
