// Site-wide behaviour, loaded on every page (no inline code: CSP).
// 1. After a failed form (a 422 swapped in by htmx, or a full page with errors) focus moves to the
//    first field in error, so keyboard and screen-reader users land where the problem is.
// 2. The search/category filter sheet on phones: a button opens the filters over the page.
(function () {
  'use strict';
  var FIELD = 'input:not([type=hidden]), select, textarea';

  function firstError(root) {
    var bad = root.querySelector('[aria-invalid="true"]');
    if (bad) return bad;
    var box = root.querySelector('.has-error');
    if (box) return box.querySelector(FIELD) || box;
    var alert = root.querySelector('form [role="alert"]');
    if (alert && !alert.hasAttribute('tabindex')) alert.setAttribute('tabindex', '-1');
    return alert;
  }
  function focusError(root) {
    var el = firstError(root);
    if (el && typeof el.focus === 'function') el.focus();
  }
  document.addEventListener('htmx:afterSettle', function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (!xhr || xhr.status !== 422) return;
    var elt = e.detail.elt;
    focusError(elt && elt.isConnected ? elt.closest('form') || elt : document.getElementById('main') || document);
  });

  function initSheet() {
    var btn = document.querySelector('[data-filter-open]');
    var sheet = document.querySelector('[data-filter-sheet]');
    if (!btn || !sheet) return;
    function set(open) {
      sheet.classList.toggle('open', open);
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      document.body.classList.toggle('sheet-open', open);
      if (open) {
        var f = sheet.querySelector(FIELD);
        if (f) f.focus();
      } else btn.focus();
    }
    btn.addEventListener('click', function () {
      set(!sheet.classList.contains('open'));
    });
    sheet.addEventListener('click', function (e) {
      if (e.target.closest('[data-filter-close]')) set(false);
    });
    sheet.addEventListener('submit', function () {
      if (sheet.classList.contains('open')) set(false);
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && sheet.classList.contains('open')) set(false);
    });
  }

  function ready() {
    initSheet();
    var main = document.getElementById('main');
    if (main && main.querySelector('form .has-error, form [aria-invalid="true"]')) focusError(main);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
