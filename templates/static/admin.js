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

  // -------------------------------------------------------- product images
  // The images tab (src/admin/products.rs): files dropped or picked are uploaded one after
  // the other, each with its progress bar; the list is fetched again after each change;
  // images are reordered by dragging their picture; the move and alt text forms are
  // answered in place (focus stays on the button pressed). Without this, the same forms
  // post and come back to the tab. Words come from the page's templates, in its language.
  body.classList.add('js');
  const csrfToken = () => {
    try { return JSON.parse(body.getAttribute('hx-headers') || '{}')['x-csrf-token'] || ''; } catch { return ''; }
  };
  const fill = (text, values) => String(text || '').replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
  const messages = () => document.getElementById('image-messages');
  function imageMessage(code, fallback) {
    const box = messages();
    const found = box && code ? box.content.querySelector(`[data-code="${CSS.escape(code)}"]`) : null;
    return (found && found.textContent) || fallback || errorMessage();
  }
  const imageWords = (name) => (messages() ? messages().dataset[name] || '' : '');
  function announce(text) {
    const status = document.getElementById('images-status');
    if (!status || !text) return;
    status.textContent = '';
    setTimeout(() => { status.textContent = text; }, 50);
  }

  /** Goes to the sign-in page when a call was redirected there (the session ended). */
  function toSignIn(url) {
    if (!url || new URL(url, window.location.href).pathname !== '/login') return false;
    window.location.assign(url);
    return true;
  }

  /** POSTs JSON with the session's token: {ok, data} or {ok: false, code, message}. */
  async function postJson(url, payload) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrfToken() },
        body: JSON.stringify(payload),
      });
      // Signed out meanwhile: the admin sent the request to the sign-in page.
      if (toSignIn(response.url)) return { ok: false, code: '' };
      let data = null;
      try { data = await response.json(); } catch { data = null; }
      if (response.ok && data) return { ok: true, data };
      return { ok: false, code: (data && data.error && data.error.code) || '', message: data && data.error && data.error.message };
    } catch {
      return { ok: false, code: 'network' };
    }
  }

  /** Replaces the list of images with the server's (links inside get htmx's handlers). */
  async function refreshImages() {
    const section = document.getElementById('product-images');
    if (!section || !section.dataset.refresh) return null;
    const response = await fetch(section.dataset.refresh, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (toSignIn(response.url)) return null;
    if (!response.ok) throw new Error(`the list of images answered ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = doc.getElementById('product-images');
    const current = document.getElementById('product-images');
    if (!fresh || !current) return null;
    current.replaceWith(fresh);
    if (window.htmx && typeof window.htmx.process === 'function') window.htmx.process(fresh);
    return fresh;
  }
  const refreshQuietly = () => refreshImages().catch(() => showToast(errorMessage(), 'error'));

  // Uploads, one at a time: the server's two cores process photos, and the images keep
  // the order they were dropped in.
  const uploadQueue = [];
  let uploading = false;

  function setUploadState(item, text, state) {
    const status = item.querySelector('.upload-status');
    if (status) status.textContent = text || '';
    if (state) item.dataset.state = state;
  }

  function queueFiles(files) {
    const form = document.getElementById('image-upload');
    const list = document.getElementById('image-uploads');
    const template = document.getElementById('upload-template');
    if (!form || !list || !template || files.length === 0) return;
    const altField = form.querySelector('input[name="alt"]');
    const alt = altField ? altField.value.trim() : '';
    // How the store takes files: straight into the bucket (presigned PUT, then the app
    // processes it) or through the app (multipart, as the plain form does).
    const zone = dropzone();
    const direct = zone && zone.dataset.upload === 'presign' && zone.dataset.presign && zone.dataset.process
      ? { presign: zone.dataset.presign, process: zone.dataset.process }
      : null;
    for (const file of files) {
      const item = template.content.firstElementChild.cloneNode(true);
      item.querySelector('.upload-name').textContent = file.name;
      item.querySelector('progress').setAttribute('aria-label', fill(template.dataset.label, { name: file.name }));
      setUploadState(item, template.dataset.waiting, 'waiting');
      list.appendChild(item);
      uploadQueue.push({ file, alt, item, url: form.action, direct, maxBytes: Number(form.dataset.maxBytes) || 0, words: { ...template.dataset } });
    }
    pump();
  }

  async function pump() {
    if (uploading) return;
    uploading = true;
    try {
      while (uploadQueue.length > 0) {
        const job = uploadQueue.shift();
        if (await send(job)) await refreshQuietly();
      }
    } finally {
      uploading = false;
    }
  }

  function failed(item, name, message) {
    const bar = item.querySelector('progress');
    if (bar) bar.value = 0;
    setUploadState(item, message, 'failed');
    announce(`${name} — ${message}`);
    return false;
  }

  function added(item, name, words) {
    item.querySelector('progress').value = 100;
    setUploadState(item, words.done, 'done');
    announce(`${name} — ${words.done}`);
    return true;
  }

  /** Sends `body` with `xhr` (opened by the caller), the bar following the bytes sent; then
   * the server works on it (no measurable progress: indeterminate). Resolves with true
   * once answered, false when the connection failed or was blocked. */
  function transfer(xhr, body, item, words) {
    const bar = item.querySelector('progress');
    return new Promise((resolve) => {
      xhr.upload.addEventListener('progress', (evt) => {
        if (evt.lengthComputable && evt.total > 0) bar.value = Math.min(100, Math.round((evt.loaded / evt.total) * 100));
      });
      xhr.upload.addEventListener('load', () => {
        bar.removeAttribute('value');
        setUploadState(item, words.processing, 'processing');
      });
      xhr.addEventListener('load', () => resolve(true));
      for (const name of ['error', 'abort', 'timeout']) xhr.addEventListener(name, () => resolve(false));
      setUploadState(item, words.uploading, 'uploading');
      xhr.send(body);
    });
  }

  function send(job) {
    // Refused here what the server would refuse after the whole upload.
    if (job.maxBytes > 0 && job.file.size > job.maxBytes) return Promise.resolve(failed(job.item, job.file.name, imageMessage('file_too_large')));
    return job.direct ? sendToBucket(job) : sendThroughApp(job);
  }

  /** Multipart to the app, which checks, processes and stores the file in one answer. */
  async function sendThroughApp({ file, alt, item, url, words }) {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.setRequestHeader('accept', 'application/json');
    const data = new FormData();
    data.append('file', file, file.name);
    if (alt) data.append('alt', alt);
    if (!(await transfer(xhr, data, item, words))) return failed(item, file.name, imageMessage('network'));
    if (toSignIn(xhr.responseURL)) return false;
    let answer = null;
    try { answer = JSON.parse(xhr.responseText); } catch { answer = null; }
    if (xhr.status === 201 && answer && answer.id) return added(item, file.name, words);
    const error = (answer && answer.error) || {};
    return failed(item, file.name, imageMessage(error.code, error.message));
  }

  // The types the server presigns, recognised by the first bytes as the server does: a
  // phone's HEIC often comes with no type, and a name can lie. The app checks the content
  // again once the file is in the bucket, whatever was declared.
  const HEIC_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs'];
  async function declaredType(file) {
    try {
      const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
      const ascii = (from, to) => String.fromCharCode(...head.slice(from, to));
      if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
      if (head[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
      if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
      if (ascii(4, 8) === 'ftyp' && HEIC_BRANDS.includes(ascii(8, 12))) return 'image/heic';
      if (ascii(4, 8) === 'ftyp' && ['mif1', 'msf1'].includes(ascii(8, 12))) return 'image/heif';
    } catch {
      // Unreadable here: the server decides on what the browser says.
    }
    return file.type || 'application/octet-stream';
  }

  /** Straight into the bucket: a presigned PUT from the app (type and size signed), the
   * file sent there with its progress, then the app fetches, checks and processes it. */
  async function sendToBucket({ file, alt, item, direct, words }) {
    setUploadState(item, words.uploading, 'uploading');
    const ticket = await postJson(direct.presign, { contentType: await declaredType(file), size: file.size });
    if (!ticket.ok) return failed(item, file.name, imageMessage(ticket.code, ticket.message));
    const put = ticket.data;
    const xhr = new XMLHttpRequest();
    xhr.open(put.method || 'PUT', put.url);
    for (const [name, value] of put.headers || []) {
      // The browser sets these itself (from the body and the URL), and refuses them here.
      if (!/^(content-length|host)$/i.test(name)) xhr.setRequestHeader(name, value);
    }
    // Not an ordinary network fault: the bucket is another origin, which the CSP or its
    // CORS rule may block; said as such rather than retried through the app.
    if (!(await transfer(xhr, file, item, words))) return failed(item, file.name, imageMessage('bucket_unreachable'));
    if (xhr.status < 200 || xhr.status > 299) return failed(item, file.name, imageMessage('bucket_refused'));
    const processed = await postJson(direct.process, alt ? { key: put.key, alt } : { key: put.key });
    if (processed.ok && processed.data && processed.data.id) return added(item, file.name, words);
    return failed(item, file.name, imageMessage(processed.code, processed.message));
  }

  document.addEventListener('change', (evt) => {
    const input = evt.target;
    if (!(input instanceof HTMLInputElement) || input.id !== 'image-files' || !input.files) return;
    queueFiles(Array.from(input.files));
    input.value = '';
  });

  // The move and alt text forms, and the upload form's own button.
  document.addEventListener('submit', (evt) => {
    const form = evt.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.id === 'image-upload') {
      evt.preventDefault();
      const input = form.querySelector('input[type="file"]');
      if (input && input.files && input.files.length > 0) {
        queueFiles(Array.from(input.files));
        input.value = '';
      }
    } else if (form.matches('#product-images form.image-move')) {
      evt.preventDefault();
      moveImage(form, evt.submitter);
    } else if (form.matches('#product-images form.image-alt')) {
      evt.preventDefault();
      saveAlt(form);
    }
  });

  function focusMoved(id, direction) {
    const item = document.querySelector(`#product-images [data-image-id="${CSS.escape(id)}"]`);
    if (!item) return;
    const wanted = item.querySelector(`.image-move button[value="${direction}"]`);
    const target = wanted && !wanted.disabled ? wanted : item.querySelector('.image-move button:not(:disabled)');
    if (target) target.focus();
  }

  async function moveImage(form, submitter) {
    const direction = submitter && submitter.value;
    const item = form.closest('[data-image-id]');
    if (!item || (direction !== 'up' && direction !== 'down')) return;
    const id = item.dataset.imageId;
    const answer = await postJson(form.action, { direction });
    if (!answer.ok) {
      showToast(imageMessage(answer.code, answer.message), 'error');
      return;
    }
    const images = (answer.data && answer.data.images) || [];
    await refreshQuietly();
    focusMoved(id, direction);
    announce(fill(imageWords('moved'), { position: images.findIndex((image) => image.id === id) + 1, count: images.length }));
  }

  async function saveAlt(form) {
    const input = form.querySelector('input[name="alt"]');
    if (!input) return;
    const answer = await postJson(form.action, { alt: input.value });
    if (!answer.ok) {
      input.setAttribute('aria-invalid', 'true');
      showToast(imageMessage(answer.code, answer.message), 'error');
      return;
    }
    input.removeAttribute('aria-invalid');
    input.value = answer.data.alt;
    const img = form.closest('.image-item') && form.closest('.image-item').querySelector('img');
    if (img) img.alt = answer.data.alt;
    showToast(imageWords('altSaved'), 'success');
  }

  // Dragging: an image by its picture within the list, or files from the desktop onto
  // the upload card (anywhere else on the tab, a dropped file is not opened by the browser).
  let dragged = null;
  let dragStart = [];
  let dropped = false;
  const orderOf = (list) => Array.from(list.children).filter((li) => li.dataset.imageId).map((li) => li.dataset.imageId);
  const isFileDrag = (evt) => Boolean(evt.dataTransfer && Array.from(evt.dataTransfer.types || []).includes('Files'));
  const dropzone = () => document.getElementById('image-dropzone');
  const overUploader = (evt) => evt.target instanceof Element && Boolean(evt.target.closest('#image-uploader'));

  document.addEventListener('dragstart', (evt) => {
    const handle = evt.target instanceof Element ? evt.target.closest('#image-list figure[draggable="true"]') : null;
    if (!handle) return;
    dragged = handle.closest('.image-item');
    dragStart = orderOf(dragged.parentElement);
    dropped = false;
    dragged.classList.add('dragging');
    evt.dataTransfer.effectAllowed = 'move';
    evt.dataTransfer.setData('text/plain', dragged.dataset.imageId);
  });

  document.addEventListener('dragover', (evt) => {
    if (dragged) {
      const list = evt.target instanceof Element ? evt.target.closest('#image-list') : null;
      if (!list || list !== dragged.parentElement) return;
      evt.preventDefault();
      evt.dataTransfer.dropEffect = 'move';
      const over = evt.target.closest('#image-list > .image-item');
      if (!over || over === dragged) return;
      // Before or after the item under the pointer: along the row in a grid, down a column.
      const box = over.getBoundingClientRect();
      const oneColumn = getComputedStyle(list).gridTemplateColumns.trim().split(/\s+/).length < 2;
      const before = oneColumn ? evt.clientY < box.top + box.height / 2 : evt.clientX < box.left + box.width / 2;
      const anchor = before ? over : over.nextElementSibling;
      if (anchor !== dragged && anchor !== dragged.nextElementSibling) list.insertBefore(dragged, anchor);
      return;
    }
    if (isFileDrag(evt) && document.getElementById('image-upload')) {
      evt.preventDefault();
      const inside = overUploader(evt);
      evt.dataTransfer.dropEffect = inside ? 'copy' : 'none';
      const zone = dropzone();
      if (zone) zone.classList.toggle('dragover', inside);
    }
  });

  document.addEventListener('dragleave', (evt) => {
    const zone = dropzone();
    if (zone && !evt.relatedTarget) zone.classList.remove('dragover');
  });

  document.addEventListener('drop', (evt) => {
    if (dragged) {
      evt.preventDefault();
      dropped = true;
      const order = orderOf(dragged.parentElement);
      if (order.join(',') !== dragStart.join(',')) saveOrder(order);
      return;
    }
    if (isFileDrag(evt) && document.getElementById('image-upload')) {
      evt.preventDefault();
      const zone = dropzone();
      if (zone) zone.classList.remove('dragover');
      if (overUploader(evt)) queueFiles(Array.from(evt.dataTransfer.files || []));
    }
  });

  document.addEventListener('dragend', () => {
    if (!dragged) return;
    const item = dragged;
    dragged = null;
    item.classList.remove('dragging');
    // Let go outside the list, or cancelled with Escape: back where it was.
    if (!dropped && item.parentElement) {
      const list = item.parentElement;
      for (const id of dragStart) {
        const li = list.querySelector(`:scope > [data-image-id="${CSS.escape(id)}"]`);
        if (li) list.appendChild(li);
      }
    }
  });

  async function saveOrder(order) {
    const section = document.getElementById('product-images');
    if (!section) return;
    const answer = await postJson(section.dataset.order, { imageIds: order });
    if (answer.ok) showToast(imageWords('reordered'), 'success');
    else showToast(imageMessage(answer.code, answer.message), 'error');
    await refreshQuietly();
  }

  // --------------------------------------------------------------- exports
  // A link marked `data-export` downloads by itself without this script. With it, the file
  // is fetched here so that its progress shows: the server says how many rows to expect
  // (X-Export-Rows, after X-Export-Header-Lines header lines); rows are counted as line
  // ends arrive; the bytes are then saved under the server's file name.
  let exporting = false;

  function fillText(text, values) {
    return String(text || '').replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
  }

  function attachmentName(disposition, fallback) {
    const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition || '');
    if (star) { try { return decodeURIComponent(star[1].trim()); } catch { /* plain name below */ } }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition || '');
    return plain ? plain[1].trim() : fallback;
  }

  // An error answer in words: the sentence of a plain-text answer, or the alert of an
  // error page, or the generic message.
  async function refusalOf(response) {
    const type = response.headers.get('Content-Type') || '';
    try {
      const text = await response.text();
      if (type.startsWith('text/plain') && text.trim()) return text.trim();
      if (type.startsWith('text/html')) {
        const page = new DOMParser().parseFromString(text, 'text/html');
        const alert = page.querySelector('.alert');
        if (alert && alert.textContent.trim()) return alert.textContent.trim();
      }
    } catch { /* the generic message below */ }
    return errorMessage();
  }

  async function download(link) {
    const section = link.closest('[data-progress-text]') || body;
    const box = section.querySelector('.export-progress');
    const bar = box && box.querySelector('progress');
    const status = box && box.querySelector('.export-status');
    const words = section.dataset;
    const say = (text) => { if (status) status.textContent = text; };
    const links = Array.from(section.querySelectorAll('a[data-export]'));
    exporting = true;
    links.forEach((a) => a.setAttribute('aria-disabled', 'true'));
    if (box) box.hidden = false;
    if (bar) { bar.max = 1; bar.value = 0; bar.removeAttribute('data-complete'); }
    say(words.loadingText || '…');
    try {
      const response = await fetch(link.href, { credentials: 'same-origin', headers: { 'X-Export-Fetch': '1' } });
      if (!response.ok) throw new Error(await refusalOf(response));
      if (!response.headers.has('X-Export-Rows')) {
        // Not an export (the session ended: the sign-in page): go there.
        window.location.href = response.url;
        return;
      }
      const total = Math.max(0, parseInt(response.headers.get('X-Export-Rows'), 10) || 0);
      const skip = Math.max(0, parseInt(response.headers.get('X-Export-Header-Lines'), 10) || 0);
      const name = attachmentName(response.headers.get('Content-Disposition'), link.pathname.split('/').pop());
      const type = response.headers.get('Content-Type') || 'application/octet-stream';
      if (bar) bar.max = Math.max(total, 1);
      let lines = 0;
      const rows = () => Math.min(Math.max(lines - skip, 0), total);
      const show = () => {
        if (bar) bar.value = total ? rows() : 0;
        say(fillText(words.progressText, { done: rows(), total }));
      };
      show();
      const parts = [];
      if (response.body && response.body.getReader) {
        const reader = response.body.getReader();
        for (;;) {
          let step;
          try { step = await reader.read(); } catch { throw new Error(words.cutText || errorMessage()); }
          if (step.done) break;
          const chunk = step.value;
          for (let i = 0; i < chunk.length; i += 1) if (chunk[i] === 10) lines += 1;
          parts.push(chunk);
          show();
        }
      } else {
        const all = new Uint8Array(await response.arrayBuffer());
        for (let i = 0; i < all.length; i += 1) if (all[i] === 10) lines += 1;
        parts.push(all);
      }
      // Rows recorded while the count was taken make it an estimate: the end is the end.
      if (bar) { bar.value = bar.max; bar.setAttribute('data-complete', 'true'); }
      const url = URL.createObjectURL(new Blob(parts, { type }));
      const save = Object.assign(document.createElement('a'), { href: url, download: name });
      save.hidden = true;
      body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      const done = fillText(words.doneText, { file: name, done: Math.max(lines - skip, 0) });
      say(done);
      showToast(done, 'success');
    } catch (error) {
      const reason = error && error.message ? error.message : errorMessage();
      const failed = fillText(words.failedText || '{reason}', { reason });
      say(failed);
      if (box) box.setAttribute('data-failed', 'true');
      showToast(failed, 'error');
    } finally {
      exporting = false;
      links.forEach((a) => a.removeAttribute('aria-disabled'));
    }
  }

  document.addEventListener('click', (evt) => {
    const link = evt.target instanceof Element ? evt.target.closest('a[data-export]') : null;
    if (!link || evt.defaultPrevented || evt.button !== 0 || evt.metaKey || evt.ctrlKey || evt.shiftKey || evt.altKey) return;
    if (!window.fetch || !window.ReadableStream || !window.URL || !URL.createObjectURL) return;
    evt.preventDefault();
    if (exporting) return;
    const box = link.closest('[data-progress-text]');
    const progress = box && box.querySelector('.export-progress');
    if (progress) progress.removeAttribute('data-failed');
    download(link);
  });

  // -------------------------------------------------------------- keyboard
  // Escape: the open <dialog> closes natively (`cancel`); also close the phone menu.
  document.addEventListener('keydown', (evt) => {
    if (evt.key !== 'Escape') return;
    const toggle = document.getElementById('nav-toggle');
    if (toggle && toggle.checked) toggle.checked = false;
  });
})();
