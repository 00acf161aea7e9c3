// catalog page behaviour: photo uploads with progress, reorder and cover choice on the listing
// form; the detail page's gallery (arrow keys, swipe); confirm before cancelling. No inline code (CSP).
(function () {
  'use strict';

  function csrfToken(form) {
    var input = form.querySelector('input[name="_csrf"]');
    return input ? input.value : '';
  }

  // ── listing form ──
  function initForm(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = '1';
    var box = form.querySelector('[data-photos]');
    var list = form.querySelector('[data-photo-list]');
    var input = form.querySelector('[data-photo-input]');
    var progress = form.querySelector('[data-progress]');
    var status = form.querySelector('[data-upload-status]');
    var tpl = form.querySelector('[data-photo-template]');
    var max = Number(box.dataset.max || 10);
    var dragged = null;

    function count() {
      return list.querySelectorAll('.photo-item').length;
    }

    function addItem(photo) {
      var li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.id = photo.id;
      li.querySelector('img').src = photo.thumb;
      li.querySelector('input').value = photo.id;
      list.appendChild(li);
    }

    // Uploads one file; resolves with the stored photos or rejects with the server's message.
    function upload(file, onProgress) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        var data = new FormData();
        data.append('photos', file, file.name);
        xhr.open('POST', '/sell/photos');
        xhr.setRequestHeader('x-csrf-token', csrfToken(form));
        xhr.setRequestHeader('accept', 'application/json');
        xhr.upload.addEventListener('progress', function (e) {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        });
        xhr.addEventListener('load', function () {
          var body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            /* not JSON */
          }
          if (xhr.status === 201 && body && body.photos) resolve(body.photos);
          else reject(new Error((body && body.error && body.error.message) || xhr.statusText || 'upload failed'));
        });
        xhr.addEventListener('error', function () {
          reject(new Error('network error'));
        });
        xhr.send(data);
      });
    }

    input.addEventListener('change', function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = ''; // the form itself must not send them again
      if (!files.length) return;
      var room = max - count();
      var errors = [];
      if (files.length > room) {
        errors.push(box.dataset.tooMany || 'max ' + max);
        files = files.slice(0, Math.max(room, 0));
      }
      var total = files.length;
      var done = 0;
      progress.hidden = false;
      progress.value = 0;
      var submit = form.querySelector('[type=submit]');
      if (submit) submit.disabled = true;
      (function next() {
        if (done >= total) {
          progress.value = 100;
          status.textContent = errors.join(' ');
          status.classList.toggle('error', errors.length > 0);
          if (submit) submit.disabled = false;
          setTimeout(function () {
            progress.hidden = true;
          }, 600);
          return;
        }
        var file = files[done];
        status.textContent = (box.dataset.uploading || '').replace('{done}', done + 1).replace('{total}', total);
        upload(file, function (f) {
          progress.value = Math.round(((done + f) / total) * 100);
        })
          .then(function (photos) {
            photos.forEach(addItem);
          })
          .catch(function (err) {
            errors.push(err.message);
          })
          .then(function () {
            done++;
            next();
          });
      })();
    });

    list.addEventListener('click', function (e) {
      var btn = e.target.closest('button');
      if (!btn) return;
      var li = btn.closest('.photo-item');
      if (btn.hasAttribute('data-remove')) li.remove();
      if (btn.hasAttribute('data-make-cover')) list.insertBefore(li, list.firstElementChild);
    });
    // Drag to reorder (mouse); on touch screens "make cover" moves a photo first.
    list.addEventListener('dragstart', function (e) {
      dragged = e.target.closest('.photo-item');
      if (dragged) {
        dragged.classList.add('dragging');
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', dragged.dataset.id || '');
      }
    });
    list.addEventListener('dragover', function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest('.photo-item');
      if (!over || over === dragged) return;
      var r = over.getBoundingClientRect();
      var after = e.clientX - r.left > r.width / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener('drop', function (e) {
      e.preventDefault();
    });
    list.addEventListener('dragend', function () {
      if (dragged) dragged.classList.remove('dragging');
      dragged = null;
    });
  }

  // ── gallery ──
  function initGallery(g) {
    if (g.dataset.ready) return;
    g.dataset.ready = '1';
    var slides = g.querySelectorAll('.gallery-slide');
    if (slides.length < 2) return;
    var i = 0;
    function show(n) {
      i = (n + slides.length) % slides.length;
      slides.forEach(function (s, k) {
        s.classList.toggle('is-active', k === i);
      });
      g.querySelectorAll('[data-goto]').forEach(function (b, k) {
        b.setAttribute('aria-current', k === i ? 'true' : 'false');
      });
    }
    g.addEventListener('click', function (e) {
      var b = e.target.closest('button');
      if (!b) return;
      if (b.hasAttribute('data-prev')) show(i - 1);
      if (b.hasAttribute('data-next')) show(i + 1);
      if (b.hasAttribute('data-goto')) show(Number(b.dataset.goto));
    });
    g.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowLeft') {
        show(i - 1);
        e.preventDefault();
      }
      if (e.key === 'ArrowRight') {
        show(i + 1);
        e.preventDefault();
      }
    });
    var x0 = null;
    g.addEventListener(
      'touchstart',
      function (e) {
        x0 = e.touches[0].clientX;
      },
      { passive: true },
    );
    g.addEventListener('touchend', function (e) {
      if (x0 === null) return;
      var dx = e.changedTouches[0].clientX - x0;
      if (Math.abs(dx) > 40) show(dx < 0 ? i + 1 : i - 1);
      x0 = null;
    });
  }

  // ── "최근 본 물건": this browser's last viewed ids (localStorage, no server session), rendered by /items/recent ──
  var RECENT_KEY = 'dapanda:recent';
  var RECENT_MAX = 12;
  function readRecent() {
    try {
      var v = JSON.parse(window.localStorage.getItem(RECENT_KEY) || '[]');
      return Array.isArray(v)
        ? v.filter(function (n) {
            return typeof n === 'number' && n > 0 && n < 2147483648 && Math.floor(n) === n;
          })
        : [];
    } catch {
      return [];
    }
  }
  function initRecent(section) {
    if (section.dataset.ready) return;
    section.dataset.ready = '1';
    var current = Number(section.dataset.recent);
    var ids = readRecent().filter(function (n) {
      return n !== current;
    });
    try {
      window.localStorage.setItem(RECENT_KEY, JSON.stringify([current].concat(ids).slice(0, RECENT_MAX)));
    } catch {
      /* storage full or disabled: nothing to remember */
    }
    if (!ids.length) return;
    fetch('/items/recent?ids=' + ids.slice(0, RECENT_MAX).join(','), { headers: { accept: 'text/html' } })
      .then(function (res) {
        return res.ok ? res.text() : '';
      })
      .then(function (html) {
        if (!html.trim()) return;
        section.querySelector('[data-recent-list]').innerHTML = html;
        section.hidden = false;
      })
      .catch(function () {
        /* offline: the row stays hidden */
      });
  }

  // htmx:load fires on the swapped-in element itself: after a 422 that is the new form, so
  // look at the root as well as inside it.
  function each(root, sel, fn) {
    if (root.matches && root.matches(sel)) fn(root);
    root.querySelectorAll(sel).forEach(fn);
  }
  function init(root) {
    if (!root || !root.querySelectorAll) return;
    each(root, '[data-listing-form]', initForm);
    each(root, '[data-gallery]', initGallery);
    each(root, '[data-recent]', initRecent);
  }

  document.addEventListener(
    'submit',
    function (e) {
      var msg = e.target.getAttribute && e.target.getAttribute('data-confirm');
      if (msg && !window.confirm(msg)) e.preventDefault();
    },
    true,
  );
  document.addEventListener('DOMContentLoaded', function () {
    init(document);
  });
  // htmx swaps the form back in after a 422: wire up the new one.
  document.addEventListener('htmx:load', function (e) {
    init(e.target);
  });
  if (document.readyState !== 'loading') init(document);
})();
