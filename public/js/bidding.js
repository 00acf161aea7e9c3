// DAPANDA bidding: live countdowns. Price and end-time changes arrive over the page's
// WebSocket (htmx ws extension); this only turns data-ends-at into "time left" every second,
// re-reading the attribute each tick so a soft-close extension shows at once.
(function () {
  'use strict';
  var lang = document.documentElement.lang === 'en' ? 'en' : 'ko';
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function left(ms) {
    if (ms <= 0) return lang === 'en' ? 'ending…' : '마감 중…';
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return lang === 'en' ? d + 'd ' + h + 'h left' : d + '일 ' + h + '시간 남음';
    if (h > 0) return lang === 'en' ? h + 'h ' + m + 'm left' : h + '시간 ' + m + '분 남음';
    return (lang === 'en' ? '' : '') + pad(m) + ':' + pad(sec) + (lang === 'en' ? ' left' : ' 남음');
  }
  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll('[data-ends-at]');
    for (var i = 0; i < els.length; i++) {
      var end = Date.parse(els[i].getAttribute('data-ends-at'));
      if (!isNaN(end)) {
        var ms = end - now;
        els[i].textContent = left(ms);
        els[i].classList.toggle('soon', ms < 3 * 60 * 1000);
      }
    }
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener('htmx:oobAfterSwap', tick);
  document.addEventListener('htmx:afterSwap', tick);
})();
