// DAPANDA bidding: live countdowns and the page's WebSocket housekeeping. Price and end-time
// changes arrive over the page's WebSocket (htmx ws extension) as out-of-band fragments; this
// turns data-ends-at into "time left" every second (re-reading the attribute each tick, so a
// soft-close extension shows at once), drops a history row that arrived twice (a push racing
// a reconnect snapshot), and keeps reconnect waits short.
(function () {
  'use strict';
  var lang = document.documentElement.lang === 'en' ? 'en' : 'ko';
  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }
  function left(ms) {
    if (ms <= 0) return lang === 'en' ? 'ending…' : '마감 중…';
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400),
      h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60),
      sec = s % 60;
    if (d > 0) return lang === 'en' ? d + 'd ' + h + 'h left' : d + '일 ' + h + '시간 남음';
    if (h > 0) return lang === 'en' ? h + 'h ' + m + 'm left' : h + '시간 ' + m + '분 남음';
    return pad(m) + ':' + pad(sec) + (lang === 'en' ? ' left' : ' 남음');
  }
  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll('[data-ends-at]');
    for (var i = 0; i < els.length; i++) {
      var end = Date.parse(els[i].getAttribute('data-ends-at'));
      if (!isNaN(end)) {
        var ms = end - now;
        var text = left(ms);
        if (els[i].textContent !== text) els[i].textContent = text;
        els[i].classList.toggle('soon', ms < 3 * 60 * 1000);
      }
    }
  }
  function dedupeHistory() {
    var lists = document.querySelectorAll('ol.history');
    for (var i = 0; i < lists.length; i++) {
      var seen = {};
      var rows = lists[i].querySelectorAll('li[data-bid-id]');
      for (var j = 0; j < rows.length; j++) {
        var id = rows[j].getAttribute('data-bid-id');
        if (seen[id]) rows[j].remove();
        else seen[id] = true;
      }
    }
  }
  function afterSwap() {
    dedupeHistory();
    tick();
  }
  // The bid confirm step's "cancel": with JavaScript it only closes the step (without, it is a
  // link back to the item page).
  document.addEventListener('click', function (e) {
    var el = e.target && e.target.closest ? e.target.closest('[data-bid-cancel]') : null;
    var box = el && el.closest('.bid-confirm');
    if (!box) return;
    e.preventDefault();
    box.textContent = '';
  });
  tick();
  setInterval(tick, 1000);
  document.addEventListener('htmx:oobAfterSwap', tick);
  document.addEventListener('htmx:afterSwap', tick);
  document.addEventListener('htmx:wsAfterMessage', afterSwap);

  // The ws extension retries a dropped socket with "full jitter" up to 64 s apart; a live
  // auction should not sit that long on old figures once the network is back, so cap it at a
  // few seconds (still jittered, so a restarted server is not hit by every tab at once). The
  // snapshot sent on connect catches the tab up. While down, the price is shown dimmed.
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (retries) {
      return Math.min(500 * Math.pow(2, retries), 4000) * (0.5 + Math.random() / 2);
    };
  }
  // The page's socket is on <body>: its state shows on the auction areas.
  function mark(e, down) {
    document.querySelectorAll('.auction').forEach(function (el) {
      el.classList.toggle('ws-down', down);
    });
  }
  document.addEventListener('htmx:wsOpen', function (e) {
    mark(e, false);
  });
  document.addEventListener('htmx:wsClose', function (e) {
    mark(e, true);
  });
})();
