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
 * `storageState`, e.g. a session) and waits until the page is rendered and settled (or, for a
 * page that is not the front end's, until `ready(page)` resolves). Calls `fn({page, problems})`
 * and always closes the context.
 */
export async function withPage(path, fn, { width = 1280, height = 800, bypassCSP = false, storageState, ready = settled } = {}) {
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
    await ready(page);
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

// ---------------------------------------------------------------------------------------
// Accounts, sessions and mail (tests that need several logged-in roles)

/** The server's data directory (its mail folder is there) and the `guichet` binary. */
export const DATA_DIR = process.env.GUICHET_DATA_DIR || '';
export const GUICHET_BIN = process.env.GUICHET_BIN || '';

/**
 * Runs `$GUICHET_BIN args… --data-dir $GUICHET_DATA_DIR` (DATABASE_URL, when set, passes
 * through, so the command acts on the running server's data) and resolves with its output.
 */
export async function guichet(...args) {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(GUICHET_BIN, [...args, '--data-dir', DATA_DIR], { env: process.env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`guichet ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Creates an account with the CLI: role holder, funder (with `funder` slug) or staff. */
export async function addAccount(email, role, funder = null) {
  await guichet('user', 'add', '--email', email, '--role', role, ...(funder ? ['--funder', funder] : []));
}

/** Decodes RFC 2047 encoded words (=?utf-8?B?…?= and =?utf-8?Q?…?=) of a header. */
function decodeHeader(value) {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset, enc, data) => {
      const bytes = enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (m, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return bytes.toString('utf8');
    });
}

function decodeBody(body, encoding) {
  const e = (encoding || '').toLowerCase();
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (e === 'quoted-printable') {
    return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (m, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
  }
  return body;
}

/** A MIME entity: its headers (lower-case names, decoded) and its text (parts joined). */
function parseEntity(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) headers[m[1].toLowerCase()] = decodeHeader(m[2]);
  }
  const type = headers['content-type'] || 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary[1]}`).slice(1).filter((p) => !p.startsWith('--'));
    return { headers, text: parts.map((p) => parseEntity(p.replace(/^\r?\n/, '')).text).join('\n') };
  }
  return { headers, text: decodeBody(body, headers['content-transfer-encoding']) };
}

/** Every mail written so far under `$GUICHET_DATA_DIR/mail/`, oldest first: { file, to, subject, text }. */
export async function readMails() {
  const { readdir, readFile, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = join(DATA_DIR, 'mail');
  let names = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  const mails = await Promise.all(names.map(async (name) => {
    const path = join(dir, name);
    const { mtimeMs } = await stat(path);
    const { headers, text } = parseEntity(await readFile(path, 'utf8'));
    return { file: name, mtime: mtimeMs, to: (headers.to || '').toLowerCase(), subject: headers.subject || '', text };
  }));
  return mails.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
}

/** Waits (polling, bounded) until `predicate(mails)` returns a truthy value, and returns it. */
export async function waitForMails(predicate, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = predicate(await readMails());
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} in ${DATA_DIR}/mail after ${timeout / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Asks a login link for `email` (one `requestLoginLink`) and resolves with it, read from its mail. */
export async function loginLink(email) {
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: 'mutation ($email: String!) { requestLoginLink(email: $email) }', variables: { email } }),
  });
  const body = await res.json();
  assert.ok(!body.errors, `requestLoginLink: ${JSON.stringify(body.errors)}`);
  return waitForMails((mails) => {
    for (const m of mails.filter((x) => x.to.includes(email.toLowerCase())).reverse()) {
      const found = /https?:\/\/[^\s"'<>]*\/login\?token=[A-Za-z0-9_-]+/.exec(m.text);
      if (found) return new URL(found[0]);
    }
    return null;
  }, `login link for ${email}`);
}

/**
 * Logs `email` in through a magic link (one `requestLoginLink`, the link read from its mail)
 * and resolves with the browser storage state holding the session cookie.
 */
export async function loginAs(email) {
  const link = await loginLink(email);
  let state = null;
  // The link holds the server's public address, which may differ from GUICHET_URL.
  // Opening it shows a page whose one button logs in (the link alone uses nothing).
  await withPage(`${link.pathname}${link.search}`, async ({ page }) => {
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${BASE}/compte`);
    await page.getByText(email).waitFor();
    state = await page.context().storageState();
  });
  return state;
}

/** Runs a GraphQL operation with the cookies of `state` and resolves with its data. */
export async function gqlAs(state, query, variables = {}) {
  const host = new URL(BASE).hostname;
  const cookie = state ? state.cookies.filter((c) => c.domain.replace(/^\./, '') === host).map((c) => `${c.name}=${c.value}`).join('; ') : '';
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie, Origin: new URL(BASE).origin } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.ok(!body.errors, `GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Fetches `path` with the cookies of `state`: { status, type, text }. */
export async function fetchAs(state, path) {
  const host = new URL(BASE).hostname;
  const cookie = state.cookies.filter((c) => c.domain.replace(/^\./, '') === host).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(`${BASE}${path}`, { headers: { Cookie: cookie } });
  return { status: res.status, type: res.headers.get('content-type') || '', text: await res.text() };
}
