import { chromium } from 'playwright-core';
const B='http://127.0.0.1:18080';
const browser = await chromium.launch({executablePath:'/usr/bin/chromium', args:['--no-sandbox','--disable-gpu']});
const ctx = await browser.newContext({locale:'fr-FR', viewport:{width:1440,height:900}});
const page = await ctx.newPage();
page.on('console', m => console.log('console', m.type(), m.text().slice(0,100), m.location().url, m.location().lineNumber, m.location().columnNumber));
await ctx.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    const t = e.target;
    console.log('CSP', e.violatedDirective, e.sample, e.sourceFile, e.lineNumber, e.columnNumber, t && t.outerHTML ? t.outerHTML.slice(0,200) : String(t));
  });
});
await page.goto(B+'/login');
await page.fill('#email','demo@comptoir.test'); await page.fill('#password', process.env.PW);
await page.click('form[action="/login"] button[type=submit]');
await page.waitForURL(B+'/admin');
console.log('before', await page.evaluate(() => [...document.querySelectorAll('[style]')].map(e => e.outerHTML.slice(0,150))));
console.log('--- screenshot'); await page.screenshot({path:'/tmp/e2edbg/a.png', fullPage:true, caret:'initial'}); await page.waitForTimeout(500);
console.log('after', await page.evaluate(() => [...document.querySelectorAll('[style]')].map(e => e.outerHTML.slice(0,150))));
console.log('--- boosted from dashboard'); await page.click('#sidebar a[href="/admin/categories"]'); await page.waitForTimeout(1500);
console.log('--- full load of categories');
await page.goto(B+'/admin/categories'); await page.waitForTimeout(500);
console.log('--- boosted to products');
await page.click('#sidebar a[href="/admin/products"]'); await page.waitForTimeout(1500);
console.log('--- boosted to categories');
await page.click('#sidebar a[href="/admin/categories"]'); await page.waitForTimeout(1500);
console.log(page.url());
await browser.close();
