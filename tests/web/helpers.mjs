// Shared helpers of the browser tests: a Chromium per test file, pages opened in a fresh
// context and checked for JavaScript errors and foreign requests, axe-core audits, layout and
// transfer-size measures. No fixed sleeps: every wait is for a selector, a URL or the network.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE = (process.env.GUICHET_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const ORIGIN = new URL(BASE).origin;
export const TIMEOUT = 20_000;
const AXE_PATH = fileURLToPath(new URL('./node_modules/axe-core/axe.min.js', import.meta.url));

let browser;

/** Registers the hooks that wait for the server and start (then close) Chromium. */
export function useBrowser() {
  before(async () => {
    await waitForServer();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    if (browser) await browser.close();
  });
}

/** Polls /healthz (bounded) so that the tests do not start before the server is ready. */
async function waitForServer() {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${BASE}/healthz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Guichet is not answering at ${BASE}/healthz: ${last}`);
}

/**
 * Opens `path` in a fresh browser context (no cookies, no cache; or the cookies of
 * `storageState`, e.g. a session) and waits until the page is rendered and settled. Calls
 * `fn({page, problems})` and always closes the context.
 */
export async function withPage(path, fn, { width = 1280, height = 800, bypassCSP = false, storageState } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'fr-FR', bypassCSP, storageState });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const problems = { errors: [], foreign: [], console: [] };
  page.on('pageerror', (err) => problems.errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.console.push(msg.text());
  });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin !== ORIGIN) problems.foreign.push(req.url());
  });
  try {
    await page.goto(BASE + path, { waitUntil: 'networkidle' });
    await settled(page);
    await fn({ page, problems });
    assertClean(problems);
  } finally {
    await context.close();
  }
}

/** Waits for a rendered page: an h1 in main, and nothing in main still marked busy. */
export async function settled(page) {
  await page.waitForFunction(() => document.querySelector('main h1')
    && !document.querySelector('main[aria-busy="true"], main [aria-busy="true"]'), null, { timeout: TIMEOUT });
}

export function assertClean(problems) {
  assert.deepEqual(problems.errors, [], `JavaScript errors on the page (console: ${problems.console.join(' | ')})`);
  assert.deepEqual(problems.foreign, [], 'requests to another origin');
}

/** Normalises the non-breaking spaces of French typography to plain spaces. */
export const text = (s) => s.replace(/[\u00a0\u202f]/g, ' ');

/** Focuses the combobox named `name`, types `query` and waits for its first option. */
export async function typeInCombobox(page, name, query) {
  const box = page.getByRole('combobox', { name });
  await box.focus();
  await box.pressSequentially(query);
  await page.getByRole('listbox').getByRole('option').first().waitFor();
  return box;
}

/** The text of the option the combobox designates with aria-activedescendant. */
export async function activeOptionText(page, box) {
  const id = await box.getAttribute('aria-activedescendant');
  if (!id) return '';
  return text(await page.locator(`[id="${id}"]`).innerText());
}

/**
 * Moves through the open list of `box` with ArrowDown until an option matches `pattern`, and
 * returns its text ('' when none does).
 */
export async function arrowDownTo(page, box, pattern) {
  const count = await page.getByRole('option').count();
  for (let i = 0; i < count; i += 1) {
    await page.keyboard.press('ArrowDown');
    const current = await activeOptionText(page, box);
    if (pattern.test(current)) return current;
  }
  return '';
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeSeriousViolations(page) {
  if (!await page.evaluate(() => !!window.axe)) await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(violations) {
  return violations.map((v) => `- ${v.id} (${v.impact}): ${v.help} [${v.helpUrl}]\n${
    v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')}: ${String(n.failureSummary).replace(/\s+/g, ' ')}`).join('\n')}`).join('\n');
}

/** The page's scroll width and the first elements sticking out of the viewport. */
export async function horizontalOverflow(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    culprits: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/\s+/g, '.')}` : ''}`),
  }));
}

/**
 * Loads `path` in a fresh context and asserts that everything transferred from the server
 * until the page is settled (HTML, CSS, scripts, API answers) is under 150 KB compressed, as
 * both Resource Timing and the network report it, with no request to another origin.
 */
export async function assertFirstLoadUnder150KB(path) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const responses = [];
  const foreign = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin !== ORIGIN) foreign.push(req.url());
  });
  page.on('response', (res) => responses.push(res));
  try {
    await page.goto(BASE + path, { waitUntil: 'networkidle' });
    await settled(page);

    // As the browser reports it (Resource Timing): compressed body or bytes on the wire.
    const entries = await page.evaluate(() => [
      ...performance.getEntriesByType('navigation'),
      ...performance.getEntriesByType('resource'),
    ].filter((e) => new URL(e.name).origin === location.origin)
      .map((e) => ({ name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize })));
    const timingTotal = entries.reduce((sum, e) => sum + Math.max(e.transfer, e.encoded), 0);

    // As the network reports it (body bytes received, compressed).
    let networkTotal = 0;
    for (const res of responses) {
      if (new URL(res.url()).origin !== ORIGIN) continue;
      const sizes = await res.request().sizes().catch(() => null);
      if (sizes) networkTotal += sizes.responseBodySize;
    }

    const detail = entries.map((e) => `${new URL(e.name).pathname} ${e.encoded}/${e.decoded}`).join(', ');
    assert.ok(entries.some((e) => e.name.endsWith('/assets/app.js')), `app.js missing from the timing entries: ${detail}`);
    const limit = 150 * 1024;
    assert.ok(timingTotal < limit, `first load of ${path} is ${timingTotal} bytes (Resource Timing): ${detail}`);
    assert.ok(networkTotal < limit, `first load of ${path} is ${networkTotal} bytes (network)`);
    assert.deepEqual(foreign, [], 'requests to another origin');
    return { timingTotal, networkTotal };
  } finally {
    await context.close();
  }
}
