// Comptoir admin: small progressive enhancements on top of htmx.
// Plain ES2020, no build step, loaded with `defer` after htmx.min.js.
// Every feature is optional: pages work without this file and without htmx.
(() => {
  'use strict';
  const body = document.body;
  // Runs once, even if a boosted swap re-inserts this <script> (keep it in <head> anyway).
  if (!body || window.comptoirAdmin) return;
  window.comptoirAdmin = true;
  const TOAST_MS = 6500;
  const KINDS = ['success', 'error', 'info'];
  const en = (document.documentElement.lang || 'fr').startsWith('en');
  const errorMessage = () => body.dataset.errorMessage || (en ? 'Something went wrong.' : 'Une erreur est survenue.');

  // ---------------------------------------------------------------- toasts
  function toastBox() {
    let box = document.getElementById('toasts');
    if (box) return box;
    box = Object.assign(document.createElement('div'), { id: 'toasts', className: 'toasts' });
    box.setAttribute('aria-live', 'polite');
    return body.appendChild(box);
  }

  // Removes a toast once it is neither hovered nor focused (CSS pauses its fade meanwhile).
  function scheduleRemoval(toast, ms) {
    setTimeout(() => {
      if (!toast.isConnected) return;
      if (toast.matches(':hover, :focus-within')) scheduleRemoval(toast, 1000);
      else toast.remove();
    }, ms);
  }

  // Response headers reach JS as Latin-1: repair UTF-8 that was sent unescaped ("Ã©" -> "é").
  function fixUtf8(s) {
    if (!/[\u0080-\u00ff]/.test(s) || /[^\u0000-\u00ff]/.test(s)) return s;
    try { return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(s, (c) => c.charCodeAt(0))); } catch { return s; }
  }

  function showToast(message, kind) {
    if (message == null || message === '') return;
    const toast = document.createElement('div');
    toast.className = 'toast toast-' + (KINDS.includes(kind) ? kind : 'info');
    toast.setAttribute('role', 'status');
    const text = Object.assign(document.createElement('span'), { className: 'toast-message', textContent: fixUtf8(String(message)) });
    const close = Object.assign(document.createElement('button'), { type: 'button', className: 'toast-close', textContent: '\u00d7' });
    close.setAttribute('aria-label', body.dataset.closeLabel || (en ? 'Close' : 'Fermer'));
    toast.append(text, close);
    toastBox().appendChild(toast);
    scheduleRemoval(toast, TOAST_MS);
  }

  // HX-Trigger {"showToast":{"message":"…","kind":"success"}} -> evt.detail.message / .kind (htmx 2).
  // HX-Trigger {"showToast":"…"} -> evt.detail.value (a string, shown as info).
  // Deferred: plain HX-Trigger fires before the swap, which may replace #toasts (boosted pages).
  body.addEventListener('showToast', (evt) => {
    let d = evt.detail || {};
    if (d.message == null && d.value != null) d = d.value;
    if (typeof d === 'string') setTimeout(showToast, 0, d, 'info');
    else if (d && typeof d === 'object') setTimeout(showToast, 0, d.message, d.kind);
  });

  // Server-rendered toasts fade out with CSS alone; drop them from the DOM when done.
  document.addEventListener('animationend', (evt) => {
    if (evt.animationName === 'toast-out' && evt.target instanceof Element) evt.target.remove();
  });
  document.querySelectorAll('.toast').forEach((t) => scheduleRemoval(t, TOAST_MS));

  // ------------------------------------------------------ clicks (delegated)
  document.addEventListener('click', (evt) => {
    const target = evt.target instanceof Element ? evt.target : null;
    const toast = target && target.closest('.toast-close') && target.closest('.toast');
    if (toast) { evt.preventDefault(); toast.remove(); return; }
    const closer = target && target.closest('[data-close-dialog]');
    const dialog = closer && closer.closest('dialog');
    if (dialog) {
      evt.preventDefault();
      if (dialog.open) dialog.close();
    }
  });

  // -------------------------------------------------------------- progress
  body.addEventListener('htmx:beforeRequest', () => body.classList.add('busy'));
  // On document: htmx may fire these on an element already swapped out of the page.
  for (const name of ['htmx:afterRequest', 'htmx:responseError', 'htmx:sendError', 'htmx:sendAbort', 'htmx:timeout']) {
    document.addEventListener(name, () => body.classList.remove('busy'));
  }

  body.addEventListener('htmx:responseError', (evt) => {
    // No generic toast when the error response carries its own showToast.
    const xhr = evt.detail && evt.detail.xhr;
    const trigger = (xhr && xhr.getResponseHeader && xhr.getResponseHeader('HX-Trigger')) || '';
    if (!trigger.includes('showToast')) showToast(errorMessage(), 'error');
  });
  body.addEventListener('htmx:sendError', () => showToast(errorMessage(), 'error'));

  // ----------------------------------------------------------------- modal
  body.addEventListener('htmx:afterSwap', (evt) => {
    const target = evt.detail && evt.detail.target;
    if (!target || target.id !== 'modal' || typeof target.showModal !== 'function') return;
    if (target.childElementCount === 0) {
      if (target.open) target.close();
    } else if (!target.open) {
      target.showModal(); // focuses [autofocus] natively
    } else {
      const f = target.querySelector('[aria-invalid="true"], [autofocus]');
      if (f) f.focus();
    }
  });
  // HX-Trigger {"closeModal":true} closes the modal (e.g. after a successful form inside it).
  body.addEventListener('closeModal', () => {
    const modal = document.getElementById('modal');
    if (modal && modal.open) modal.close();
  });
  // `close` does not bubble: capture it. Emptying avoids a stale form on the next open.
  document.addEventListener('close', (evt) => {
    if (evt.target instanceof Element && evt.target.id === 'modal') evt.target.replaceChildren();
  }, true);

  // -------------------------------------------------------------- counters
  const COUNTED = 'textarea[data-counter], input[data-counter]';
  function updateCounter(el) {
    const max = parseInt(el.dataset.counter, 10);
    const out = el.id && document.getElementById(el.id + '-counter');
    if (!out || !(max > 0)) return;
    const n = Array.from(el.value).length; // code points, like Rust's chars().count()
    out.textContent = n + ' / ' + max;
    out.classList.toggle('over', n > max);
  }
  function initCounters(root) {
    if (!(root instanceof Element)) return;
    if (root.matches(COUNTED)) updateCounter(root);
    root.querySelectorAll(COUNTED).forEach(updateCounter);
  }
  document.addEventListener('input', (evt) => {
    if (evt.target instanceof Element && evt.target.matches(COUNTED)) updateCounter(evt.target);
  });
  // New content (each htmx swap) and pages whose form values the browser restored.
  document.addEventListener('htmx:load', (evt) => initCounters(evt.target));
  window.addEventListener('pageshow', () => initCounters(body));
  initCounters(body);

  // -------------------------------------------------------------- keyboard
  // Escape: the open <dialog> closes natively (`cancel`); also close the phone menu.
  document.addEventListener('keydown', (evt) => {
    if (evt.key !== 'Escape') return;
    const toggle = document.getElementById('nav-toggle');
    if (toggle && toggle.checked) toggle.checked = false;
  });
})();
