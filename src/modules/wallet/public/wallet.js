// Top-up form: the quick-amount buttons add to the amount field (the form works without this).
document.addEventListener('click', (e) => {
  const btn = e.target instanceof Element ? e.target.closest('[data-add]') : null;
  if (!btn) return;
  const input = document.getElementById('f-amount');
  if (!input) return;
  const current = Number(String(input.value).replace(/[^\d]/g, '')) || 0;
  input.value = String(current + Number(btn.getAttribute('data-add')));
});
