// End-to-end test of the staff admin in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). Run by tests/browser.rs, which starts `comptoir serve --demo`
// and passes:
//   BASE_URL        http://127.0.0.1:<port>
//   ADMIN_EMAIL     the demo owner's address
//   ADMIN_PASSWORD  its password (printed once by `serve --demo`)
//   API_KEY         a storefront API key (`comptoir api-key create`)
//   SCREENSHOTS     where to write the PNG files (created if missing)
// Two passes, desktop and phone. One line per step; exits 1 on the first failure, or when
// a page raised a JavaScript error, logged a console error (CSP violations included) or got
// a 5xx answer.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: the environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const BASE_URL = required('BASE_URL').replace(/\/+$/, '');
const ADMIN_EMAIL = required('ADMIN_EMAIL');
const ADMIN_PASSWORD = required('ADMIN_PASSWORD');
const API_KEY = required('API_KEY');
const SCREENSHOTS = process.env.SCREENSHOTS || path.join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15_000;
const TOTAL_MS = 170_000;

mkdirSync(SCREENSHOTS, { recursive: true });

class Failure extends Error {}

const notes = new Set();

function fail(message) {
  throw new Failure(message);
}

/** Polls `probe` (sync or async) until it returns a truthy value; fails with `what`. */
async function until(what, probe, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      fail(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const pathOf = (page) => new URL(page.url()).pathname;

async function waitForPath(page, expected) {
  const test = typeof expected === 'string' ? (p) => p === expected : (p) => expected.test(p);
  await until(`the URL path to be ${expected} (it is ${pathOf(page)})`, () => test(pathOf(page)));
  await page.waitForLoadState('load', { timeout: STEP_MS });
}

async function text(page, selector) {
  return (await page.locator(selector).first().textContent({ timeout: STEP_MS })) ?? '';
}

async function expectVisible(page, selector, what = selector) {
  try {
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: STEP_MS });
  } catch {
    fail(`${what} is not visible on ${page.url()}\n${await snippet(page)}`);
  }
}

/** The start of <main> (or <body>), to say what the page showed when a step failed. */
async function snippet(page) {
  try {
    const html = await page.evaluate(() => (document.querySelector('main') || document.body)?.outerHTML ?? '');
    return `HTML: ${html.replace(/\s+/g, ' ').slice(0, 1500)}`;
  } catch (error) {
    return `(no HTML: ${error.message})`;
  }
}

/** Waits for a toast in #toasts that says `expected`; returns every toast's text. */
async function expectToast(page, expected) {
  const toasts = async () =>
    (await page.locator('#toasts .toast').allTextContents()).map((t) => t.replace('×', '').trim());
  await until(`a toast "${expected}" in #toasts on ${page.url()}`, async () =>
    (await toasts()).some((t) => t.includes(expected)),
  ).catch(async (error) => fail(`${error.message}; the toasts are ${JSON.stringify(await toasts())}`));
  return (await toasts()).join(' | ');
}

async function screenshot(page, name) {
  const file = path.join(SCREENSHOTS, name);
  // caret 'initial': hiding the caret leaves style="" on every input, which htmx's settle
  // then copies onto the swapped-in page, a CSP violation caused by the test itself.
  await page.screenshot({ path: file, fullPage: true, caret: 'initial', timeout: STEP_MS });
  return file;
}

/** Follows a sidebar link: on a phone the menu opens first. */
async function navigate(page, pass, href) {
  const sidebar = page.locator('#sidebar');
  if (pass.phone) {
    if (await sidebar.isVisible()) fail('on a phone the sidebar shows before the menu is opened');
    await page.locator('label.menu-toggle').click({ timeout: STEP_MS });
    await expectVisible(page, '#sidebar', 'the sidebar after the menu button was tapped');
  } else {
    await expectVisible(page, '#sidebar', 'the sidebar on a desktop');
  }
  await page.locator(`#sidebar a[href="${href}"]`).click({ timeout: STEP_MS });
  await waitForPath(page, href);
}

async function api(pathAndQuery) {
  const response = await fetch(BASE_URL + pathAndQuery, {
    headers: { 'x-api-key': API_KEY, accept: 'application/json' },
    signal: AbortSignal.timeout(STEP_MS),
  });
  const body = await response.text();
  if (response.status !== 200) fail(`GET ${pathAndQuery} answered ${response.status}: ${body.slice(0, 500)}`);
  return JSON.parse(body);
}

async function run(browser, pass) {
  const suffix = `${Date.now().toString(36).toUpperCase()}${pass.phone ? 'P' : 'D'}`;
  const problems = [];
  const context = await browser.newContext({
    viewport: pass.viewport,
    isMobile: pass.phone,
    hasTouch: pass.phone,
    deviceScaleFactor: pass.phone ? 2 : 1,
    locale: 'fr-FR',
  });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`JavaScript error on ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const source = message.location()?.url;
    // Chromium asks every site for /favicon.ico by itself; the admin has none. Not the
    // page's fault: noted once, not failed on.
    if (source && new URL(source).pathname === '/favicon.ico') {
      if (!notes.has('favicon')) console.log(`    note: ${source} answers 404 (no favicon)`);
      notes.add('favicon');
      return;
    }
    // htmx logs every aborted request as an error; the live validation's
    // hx-sync="this:replace" aborts the one in flight when the form changes again, as it
    // should (a send error or a timeout is still logged under its own name and fails).
    if (/^htmx:(sendAbort|afterRequest)\b/.test(message.text())) {
      aborted += 1;
      return;
    }
    problems.push(`console error on ${page.url()}: ${message.text()}${source ? ` (${source})` : ''}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
  });
  let aborted = 0;
  const step = async (name, body) => {
    const started = Date.now();
    try {
      await body();
    } catch (error) {
      const shot = await screenshot(page, `failure-${pass.name}.png`).catch(() => 'none');
      const detail = error instanceof Failure ? error.message : `${error.message}\n${await snippet(page)}`;
      throw new Failure(`[${pass.name}] ${name} (at ${page.url()}; screenshot ${shot}):\n${detail}`);
    }
    if (problems.length > 0) fail(`[${pass.name}] ${name}: ${problems.join('\n')}`);
    console.log(`ok  [${pass.name}] ${name} (${Date.now() - started} ms)`);
  };

  const category = `Catégorie E2E ${suffix}`;
  const reference = `E2E-${suffix}`;
  const product = `Levier de frein E2E ${suffix}`;
  let productPath = '';

  await step('signed out, /admin sends to /login', async () => {
    const response = await page.goto(`${BASE_URL}/admin`);
    if (!response) fail('no response');
    await waitForPath(page, '/login');
    await expectVisible(page, '#email');
    await screenshot(page, `login-${pass.name}.png`);
  });

  await step('sign in: the dashboard with its 30-day chart', async () => {
    await page.locator('#email').fill(ADMIN_EMAIL);
    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.locator('form[action="/login"] button[type=submit]').click();
    await waitForPath(page, '/admin');
    const h1 = (await text(page, 'main h1')).trim();
    if (h1 !== 'Tableau de bord') fail(`the dashboard's h1 is "${h1}", not "Tableau de bord"\n${await snippet(page)}`);
    const lang = await page.getAttribute('html', 'lang');
    if (lang !== 'fr') fail(`html[lang] is ${lang}, not fr`);
    await expectVisible(page, 'figure.chart svg', 'the revenue chart');
    const bars = await page.locator('figure.chart svg g.bar').count();
    if (bars !== 30) fail(`the chart has ${bars} g.bar, not 30`);
    await screenshot(page, `dashboard-${pass.name}.png`);
  });

  await step('categories: through the sidebar', async () => {
    await navigate(page, pass, '/admin/categories');
    await expectVisible(page, 'main h1');
    await expectVisible(page, 'form[action="/admin/categories"] #name', 'the new-category form');
  });

  await step(`categories: create "${category}"`, async () => {
    await page.locator('#name').fill(category);
    await page.locator('#slug').fill('');
    await page.locator('#description').fill('Créée par le test de bout en bout.');
    await page.locator('form[action="/admin/categories"] button[type=submit]').click();
    const toast = await expectToast(page, 'Catégorie créée.');
    await until(`"${category}" in the categories table\n`, async () =>
      (await page.locator('table.data td', { hasText: category }).count()) > 0,
    ).catch(async (error) => fail(`${error.message}${await snippet(page)}`));
    await screenshot(page, `categories-${pass.name}.png`);
    console.log(`    toast: ${toast}`);
  });

  await step('products: the new-product form', async () => {
    await page.goto(`${BASE_URL}/admin/products/new`);
    await waitForPath(page, '/admin/products/new');
    await expectVisible(page, '.product-form #reference', 'the product form');
  });

  await step('products: live TTC price, counter and Markdown preview', async () => {
    await page.locator('#reference').fill(reference);
    await page.locator('#name').fill(product);
    await page.locator('#category_id').selectOption({ label: category });
    await page.locator('#price_ht').fill('89,90');
    const vat = await page.locator('#vat_rate').inputValue();
    if (vat !== '20') fail(`the VAT rate is ${vat} by default, not 20`);
    await until('#price-ttc to show 107,88', async () => (await text(page, '#price-ttc')).includes('107,88')).catch(
      async (error) => fail(`${error.message}; it shows "${(await text(page, '#price-ttc')).trim()}"`),
    );
    const meta = 'Levier de frein forgé pour le test de bout en bout.';
    await page.locator('#meta_description').fill(meta);
    const counted = `${[...meta].length} /`;
    await until(`#meta_description-counter to start with "${counted}"`, async () =>
      (await text(page, '#meta_description-counter')).trim().startsWith(counted),
    ).catch(async (error) => fail(`${error.message}; it shows "${(await text(page, '#meta_description-counter')).trim()}"`));
    await page.locator('#description').fill('Un levier **gras** et solide.');
    await expectVisible(page, '#description-preview strong', 'the Markdown preview of **gras**');
    const strong = (await text(page, '#description-preview strong')).trim();
    if (strong !== 'gras') fail(`the preview's <strong> says "${strong}"`);
  });

  await step(`products: save ${reference}`, async () => {
    await page.locator('.product-form button[type=submit]').click();
    await until(`the product's page /admin/products/<uuid> (URL is ${page.url()})`, () =>
      /^\/admin\/products\/[0-9a-f-]{36}$/.test(pathOf(page)),
    ).catch(async (error) => fail(`${error.message}\n${await snippet(page)}`));
    productPath = pathOf(page);
    await page.waitForLoadState('load');
    const toast = await expectToast(page, 'Créé.');
    const h1 = (await text(page, 'main h1')).trim();
    if (h1 !== product) fail(`the product page's h1 is "${h1}"`);
    await screenshot(page, `product-${pass.name}.png`);
    console.log(`    ${productPath}; toast: ${toast}`);
  });

  await step('products: publish', async () => {
    await page.locator('button[name=action][value=publish]').click();
    await expectVisible(page, '.page-header .badge-published', 'the "published" badge');
    await expectToast(page, 'Produit publié.');
  });

  await step('stock: receive 12', async () => {
    await page.locator('nav.tabs a[href$="/stock"]').click();
    await waitForPath(page, `${productPath}/stock`);
    await page.locator('#reason').selectOption('received');
    await page.locator('#quantity').fill('12');
    await page.locator(`form[action="${productPath}/stock"] button[type=submit]`).click();
    await until('#stock-on-hand to be 12', async () => (await text(page, '#stock-on-hand')).trim() === '12').catch(
      async (error) => fail(`${error.message}; it is "${(await text(page, '#stock-on-hand')).trim()}"\n${await snippet(page)}`),
    );
    const available = (await text(page, '#stock-available')).trim();
    if (available !== '12') fail(`#stock-available is "${available}", not 12`);
    await expectToast(page, 'Stock mis à jour.');
    await screenshot(page, `stock-${pass.name}.png`);
  });

  await step('public API: the product is in the catalog at 107.88 TTC', async () => {
    const found = await until(`${reference} in GET /api/products?q=${reference}`, async () => {
      const list = await api(`/api/products?q=${encodeURIComponent(reference)}`);
      return list.items.find((item) => item.reference === reference);
    });
    if (found.name !== product) fail(`the API names it "${found.name}"`);
    if (found.priceTtc !== '107.88') fail(`the API's priceTtc is ${found.priceTtc}, not 107.88`);
    if (found.priceHt !== '89.90') fail(`the API's priceHt is ${found.priceHt}, not 89.90`);
    if (found.category.name !== category) fail(`the API's category is "${found.category.name}"`);
    if (found.stockStatus === 'out_of_stock') fail(`the API says ${found.stockStatus} after 12 were received`);
    const detail = await api(`/api/products/${encodeURIComponent(found.slug)}`);
    if (detail.reference !== reference || detail.priceTtc !== '107.88') {
      fail(`GET /api/products/${found.slug} gave ${JSON.stringify(detail).slice(0, 300)}`);
    }
    if (!detail.description.includes('**gras**')) fail(`the API's description is "${detail.description}"`);
    console.log(`    slug ${found.slug}, stock ${found.stockStatus}`);
  });

  await step('preview tab', async () => {
    await page.locator('nav.tabs a[href$="/preview"]').click();
    await waitForPath(page, `${productPath}/preview`);
    await expectVisible(page, 'article.storefront-preview', 'the storefront preview');
    const title = (await text(page, 'article.storefront-preview .sf-title')).trim();
    if (title !== product) fail(`the preview's title is "${title}"`);
    const price = await text(page, 'article.storefront-preview .sf-price');
    if (!price.includes('107,88')) fail(`the preview's price is "${price.trim()}"`);
    await expectVisible(page, 'article.storefront-preview .sf-desc strong', 'the rendered Markdown in the preview');
  });

  await step('history tab: creation and publication', async () => {
    await page.locator('nav.tabs a[href$="/history"]').click();
    await waitForPath(page, `${productPath}/history`);
    await expectVisible(page, 'table.history tbody tr', 'the history table');
    const entries = await page.locator('table.history tbody tr').allTextContents();
    // In French, with who did it: the demo owner.
    for (const kind of [`Produit créé : ${reference}`, 'Publié dans la boutique', 'Réception']) {
      if (!entries.some((entry) => entry.includes(kind) && entry.includes('Démo'))) {
        fail(`the history has no "${kind}" by the demo owner: ${JSON.stringify(entries)}`);
      }
    }
    if (!entries.some((entry) => entry.includes('+12'))) {
      fail(`the history does not show the +12 movement: ${JSON.stringify(entries)}`);
    }
  });

  await step('preferences: English', async () => {
    await page.locator('form.pref select[name=lang]').selectOption('en');
    await page.locator('form.pref button[type=submit]').click();
    await until('html[lang=en]', async () => (await page.getAttribute('html', 'lang')) === 'en');
    await page.waitForLoadState('load');
    await page.goto(`${BASE_URL}/admin`);
    const h1 = (await text(page, 'main h1')).trim();
    if (h1 !== 'Dashboard') fail(`the dashboard's h1 in English is "${h1}"`);
  });

  await step('preferences: dark theme', async () => {
    await page.locator('form.pref select[name=theme]').selectOption('dark');
    await page.locator('form.pref button[type=submit]').click();
    await until('html[data-theme=dark]', async () => (await page.getAttribute('html', 'data-theme')) === 'dark');
    await page.waitForLoadState('load');
    if ((await page.getAttribute('html', 'lang')) !== 'en') fail('the language changed with the theme');
    await screenshot(page, `dark-${pass.name}.png`);
  });

  await step('preferences: back to French and the system theme', async () => {
    await page.locator('form.pref select[name=lang]').selectOption('fr');
    await page.locator('form.pref select[name=theme]').selectOption('system');
    await page.locator('form.pref button[type=submit]').click();
    await until('html[lang=fr] without data-theme', async () =>
      (await page.getAttribute('html', 'lang')) === 'fr' && (await page.getAttribute('html', 'data-theme')) === null,
    );
    await page.waitForLoadState('load');
    const h1 = (await text(page, 'main h1')).trim();
    if (h1 !== 'Tableau de bord') fail(`the h1 is "${h1}" after switching back to French`);
  });

  await step('log out', async () => {
    await page.locator('details.user-menu > summary').click();
    await page.locator('form.logout[action="/logout"] button').click();
    await waitForPath(page, '/login');
    await page.goto(`${BASE_URL}/admin`);
    await waitForPath(page, '/login');
    await expectVisible(page, '#email');
  });

  await context.close();
  if (aborted > 0) console.log(`    note: htmx logged ${aborted} console errors for superseded (aborted) requests`);
}

/** The same admin with JavaScript switched off, on a phone: plain forms, redirects, toasts
 * rendered in the page, the CSS-only menu, confirmation pages instead of dialogs. */
async function runWithoutJavaScript(browser) {
  const name = 'nojs';
  const suffix = `${Date.now().toString(36).toUpperCase()}N`;
  const context = await browser.newContext({
    viewport: { width: 375, height: 740 },
    isMobile: true,
    hasTouch: true,
    javaScriptEnabled: false,
    locale: 'fr-FR',
  });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = await context.newPage();
  const step = async (title, body) => {
    const started = Date.now();
    try {
      await body();
    } catch (error) {
      const shot = await screenshot(page, `failure-${name}.png`).catch(() => 'none');
      const detail = error instanceof Failure ? error.message : `${error.message}\n${await snippet(page)}`;
      throw new Failure(`[${name}] ${title} (at ${page.url()}; screenshot ${shot}):\n${detail}`);
    }
    console.log(`ok  [${name}] ${title} (${Date.now() - started} ms)`);
  };
  const category = `Sans JS ${suffix}`;

  await step('sign in with a plain form', async () => {
    await page.goto(`${BASE_URL}/admin`);
    await waitForPath(page, '/login');
    await page.locator('#email').fill(ADMIN_EMAIL);
    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.locator('main form[action="/login"] button[type=submit]').click();
    await waitForPath(page, '/admin');
    const h1 = (await text(page, 'main h1')).trim();
    if (h1 !== 'Tableau de bord') fail(`the dashboard's h1 is "${h1}"`);
  });

  await step('the menu opens without JavaScript', async () => {
    if (await page.locator('#sidebar').isVisible()) fail('the sidebar shows before the menu is opened');
    await page.locator('label.menu-toggle').click();
    await expectVisible(page, '#sidebar', 'the sidebar after tapping the menu');
    await page.locator('#sidebar a[href="/admin/categories"]').click();
    await waitForPath(page, '/admin/categories');
  });

  await step('create a category: redirect and a toast in the page', async () => {
    await page.locator('#name').fill(category);
    await page.locator('form[action="/admin/categories"] button[type=submit]').click();
    await waitForPath(page, '/admin/categories');
    await expectToast(page, 'Catégorie créée.');
    await expectVisible(page, `table.data a:text-is("${category}")`, 'the new category in the list');
    await screenshot(page, `categories-${name}.png`);
  });

  await step('delete it through a confirmation page', async () => {
    const row = page.locator('table.data tr', { has: page.locator(`a:text-is("${category}")`) });
    await row.locator('a.btn-danger').click();
    await until('the confirmation page', async () => new URL(page.url()).pathname.endsWith('/delete'));
    await expectVisible(page, '.confirm h2', 'the question');
    await page.locator('.confirm button.btn-danger').click();
    await waitForPath(page, '/admin/categories');
    await expectToast(page, 'Catégorie supprimée.');
  });

  await step('log out from the account menu', async () => {
    await page.locator('details.user-menu > summary').click();
    await page.locator('form.logout[action="/logout"] button').click();
    await waitForPath(page, '/login');
  });
  await context.close();
}

/** Accessibility: axe-core's WCAG 2 A and AA rules (labels, names, contrast, structure) on
 * every admin page, in the light and the dark theme. Serious and critical findings fail.
 * axe is injected as a script, which the admin's CSP forbids: this context bypasses the
 * CSP (the other passes keep it, and fail on any violation of it). */
async function runAccessibility(browser) {
  const name = 'a11y';
  const axeSource = await import('node:fs').then((fs) =>
    fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8'),
  );
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'fr-FR',
    bypassCSP: true,
  });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const audit = async (label) => {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
    );
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (serious.length > 0) {
      const detail = serious
        .map((v) => `${v.id} (${v.impact}): ${v.help}\n      ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n      ')}`)
        .join('\n    ');
      fail(`${label}: ${serious.length} accessibility violation(s):\n    ${detail}`);
    }
    console.log(`ok  [${name}] ${label}: ${result.passes.length} rules pass, ${result.violations.length} minor finding(s)`);
  };
  try {
    await page.goto(`${BASE_URL}/login`);
    await audit('/login');
    await page.locator('#email').fill(ADMIN_EMAIL);
    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.locator('main form[action="/login"] button[type=submit]').click();
    await waitForPath(page, '/admin');
    const productHref = await page.evaluate(async () => {
      const html = await (await fetch('/admin/products')).text();
      return new DOMParser().parseFromString(html, 'text/html').querySelector('table.data td a')?.getAttribute('href');
    });
    if (!productHref) fail('no product in the list');
    const reviewHref = await page.evaluate(async () => {
      const html = await (await fetch('/admin/reviews')).text();
      return new DOMParser().parseFromString(html, 'text/html').querySelector('table.data a[href^="/admin/reviews/"]')?.getAttribute('href');
    });
    if (!reviewHref) fail('no review in the queue');
    const orderHref = await page.evaluate(async () => {
      const html = await (await fetch('/admin/orders?status=pending')).text();
      return new DOMParser().parseFromString(html, 'text/html').querySelector('table.data a[href^="/admin/orders/"]')?.getAttribute('href');
    });
    if (!orderHref) fail('no pending order in the list');
    const pages = [
      '/admin',
      '/admin/products',
      '/admin/products/new',
      productHref,
      `${productHref}/stock`,
      `${productHref}/preview`,
      `${productHref}/history`,
      '/admin/categories',
      '/admin/staff',
      '/admin/reviews',
      reviewHref,
      '/admin/orders',
      orderHref,
      `${orderHref}/move?action=cancel`,
      '/admin/customers',
      '/admin/audit',
      '/admin/audit/security',
      '/admin/audit/chain',
      '/admin/settings/api-keys',
    ];
    for (const theme of ['light', 'dark']) {
      await page.goto(`${BASE_URL}/admin`);
      await page.locator('form.pref select[name=theme]').selectOption(theme);
      await page.locator('form.pref button[type=submit]').click();
      await until(`data-theme=${theme}`, async () => (await page.getAttribute('html', 'data-theme')) === theme);
      for (const href of pages) {
        await page.goto(`${BASE_URL}${href}`);
        await audit(`${href} (${theme})`);
      }
    }
    await page.locator('form.pref select[name=theme]').selectOption('system');
    await page.locator('form.pref button[type=submit]').click();
  } catch (error) {
    const shot = await screenshot(page, `failure-${name}.png`).catch(() => 'none');
    throw new Failure(`[${name}] (at ${page.url()}; screenshot ${shot}): ${error.message}`);
  } finally {
    await context.close();
  }
}

const passes = [
  { name: 'desktop', viewport: { width: 1440, height: 900 }, phone: false },
  { name: 'phone', viewport: { width: 375, height: 740 }, phone: true },
];

const watchdog = setTimeout(() => {
  console.error(`e2e: FAILED: still running after ${TOTAL_MS / 1000} s`);
  process.exit(1);
}, TOTAL_MS);

let browser;
let status = 0;
const started = Date.now();
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  console.log(`chromium ${browser.version()} at ${BASE_URL}; screenshots in ${SCREENSHOTS}`);
  for (const pass of passes) await run(browser, pass);
  await runWithoutJavaScript(browser);
  await runAccessibility(browser);
  console.log(`e2e: all steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  status = 1;
  console.error(`e2e: FAILED: ${error instanceof Failure ? error.message : error.stack || error}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
process.exit(status);
