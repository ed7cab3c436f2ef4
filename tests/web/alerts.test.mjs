// Browser tests of search alerts (saved searches): the « Recevoir une alerte » block of the
// search page and « Mes alertes » on the account page, against a running Guichet server started
// with its seed catalogue:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data node --test alerts.test.mjs
//
// Logging in takes a magic link sent by mail: without SMTP the server writes its mail as .eml
// files under `$GUICHET_DATA_DIR/mail/`, where these tests read it. Without GUICHET_DATA_DIR
// the tests that need a session are skipped. They log in once, as a new account
// (`alertes-web-<timestamp>-<random>@example.org`: one `requestLoginLink`), and delete the
// alerts they create; the last one logs in as another (`sortie-web-…`) and logs out. From the seed they rely on the theme `commerce` and on the words
// « commerce » finding schemes.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BASE, useBrowser, withPage, settled, text, axeSeriousViolations, describeViolations, horizontalOverflow,
  loginAs, gqlAs,
} from './helpers.mjs';

useBrowser();

const DATA_DIR = process.env.GUICHET_DATA_DIR || '';
const SEARCH = '/recherche?q=commerce&theme=commerce';
const CREATE = /^Créer l[’']alerte$/;
const MAIL_WAIT = 20_000;

// ---------------------------------------------------------------------------------------
// Logging in through a magic link read from the server's mail folder

/** Undoes quoted-printable soft line breaks and `=3D`, enough to read a link. */
const unquote = (s) => s.replace(/=\r?\n/g, '').replace(/=3D/gi, '=');

/** The login link of the newest .eml in `$GUICHET_DATA_DIR/mail/` addressed to `email`. */
async function loginLinkFor(email) {
  const dir = join(DATA_DIR, 'mail');
  const deadline = Date.now() + MAIL_WAIT;
  for (;;) {
    let names = [];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    const files = await Promise.all(names.map(async (n) => ({ path: join(dir, n), mtime: (await stat(join(dir, n))).mtimeMs })));
    files.sort((a, b) => b.mtime - a.mtime);
    for (const file of files) {
      const raw = await readFile(file.path, 'utf8');
      const headers = raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
      const to = /^To:(.*)$/im.exec(headers);
      if (!to || !to[1].toLowerCase().includes(email.toLowerCase())) continue;
      const link = /https?:\/\/[^\s"'<>]*\/login\?token=[A-Za-z0-9_-]+/.exec(unquote(raw));
      assert.ok(link, `no login link in ${file.path}`);
      return new URL(link[0]);
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${email} in ${dir} after ${MAIL_WAIT / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let sessionPromise = null;

/**
 * Logs in once for the whole file, through the /connexion form and the link of the mail, and
 * resolves with the browser storage state holding the session cookie.
 */
function session() {
  sessionPromise ||= (async () => {
    const email = `alertes-web-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
    let state = null;
    await withPage('/connexion', async ({ page }) => {
      await page.getByLabel('Adresse électronique').fill(email);
      await page.getByRole('button', { name: 'Recevoir un lien de connexion' }).click();
      await page.getByText('Si cette adresse est valide').waitFor();
      const link = await loginLinkFor(email);
      // The link holds the server's public address, which may differ from GUICHET_URL.
      await page.goto(`${BASE}${link.pathname}${link.search}`, { waitUntil: 'networkidle' });
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(`${BASE}/compte`);
      await settled(page);
      await page.getByText(email).waitFor();
      state = await page.context().storageState();
    });
    return state;
  })();
  return sessionPromise;
}

/** Runs a GraphQL operation with the session's cookies (setting up and cleaning up). */
async function gql(state, query, variables = {}) {
  const host = new URL(BASE).hostname;
  const cookie = state.cookies.filter((c) => c.domain.replace(/^\./, '') === host).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    // A cookie-authenticated mutation must come from Guichet's origin, as from its pages.
    headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: new URL(BASE).origin },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.ok(!body.errors, `GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const savedSearches = async (state) => (await gql(state, '{ savedSearches { id text frequency filter { territory themes beneficiaryTypes aidTypes funders } } }')).savedSearches;

async function deleteAllAlerts(state) {
  for (const s of await savedSearches(state)) {
    await gql(state, 'mutation ($id: ID!) { deleteSavedSearch(id: $id) }', { id: s.id });
  }
}

async function createAlert(state, frequency = 'WEEKLY') {
  await gql(state, `mutation ($frequency: AlertFrequency!) {
    saveSearch(text: "commerce", filter: { themes: ["commerce"] }, frequency: $frequency) { id }
  }`, { frequency });
}

/** The session, or null after skipping `t` when the mail folder is not known. */
async function loggedIn(t) {
  if (!DATA_DIR) {
    t.skip('GUICHET_DATA_DIR not set');
    return null;
  }
  return session();
}

const alertSection = (page) => page.getByRole('region', { name: 'Recevoir une alerte' });
const alertsList = (page) => page.getByRole('region', { name: 'Mes alertes' });

// ---------------------------------------------------------------------------------------

test('logged out, the search page invites to log in to receive an alert', async () => {
  await withPage(SEARCH, async ({ page }) => {
    const block = alertSection(page);
    const link = block.getByRole('link', { name: 'Connectez-vous pour recevoir une alerte' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), '/connexion');
    assert.equal(await block.getByRole('button', { name: CREATE }).count(), 0);
  });
});

test('a daily alert created from a search is listed in the account, leads back to the search, and can be deleted', async (t) => {
  const state = await loggedIn(t);
  if (!state) return;
  await deleteAllAlerts(state);

  await withPage(SEARCH, async ({ page }) => {
    const block = alertSection(page);
    await block.getByRole('button', { name: CREATE }).waitFor();
    assert.ok(await block.getByRole('radio', { name: 'Chaque semaine' }).isChecked(), 'weekly is not the default');
    assert.equal(await block.getByRole('link', { name: 'Connectez-vous pour recevoir une alerte' }).count(), 0);

    // The sort is not part of an alert: changing it must not matter.
    await page.getByLabel('Trier par').selectOption('RECENT');
    await page.waitForURL((url) => url.searchParams.get('tri') === 'RECENT');
    await settled(page);

    await block.getByRole('radio', { name: 'Chaque jour' }).check();
    await block.getByRole('button', { name: CREATE }).click();
    const status = block.getByRole('status');
    await status.getByText('Alerte créée').waitFor();
    assert.equal(text(await status.innerText()).trim(),
      'Alerte créée : vous recevrez un récapitulatif quotidien des dispositifs nouveaux ou modifiés. Gérez vos alertes dans Mon compte.');
    assert.equal(await status.getByRole('link', { name: 'Mon compte' }).getAttribute('href'), '/compte');

    const saved = await savedSearches(state);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].text, 'commerce');
    assert.equal(saved[0].frequency, 'DAILY');
    assert.deepEqual(saved[0].filter, { territory: null, themes: ['commerce'], beneficiaryTypes: [], aidTypes: [], funders: [] });

    // Clicking again with the same search does not create a second alert.
    await block.getByRole('button', { name: CREATE }).click();
    await status.getByText('Cette alerte est déjà créée').waitFor();
    assert.equal((await savedSearches(state)).length, 1);

    // To the account page.
    await status.getByRole('link', { name: 'Mon compte' }).click();
    await page.waitForURL(`${BASE}/compte`);
    await settled(page);
    const list = alertsList(page);
    const items = list.locator('.saved-item');
    await items.first().waitFor();
    assert.equal(await items.count(), 1);
    const item = text(await items.first().innerText());
    assert.match(item, /« commerce »/);
    assert.match(item, /Commerce/);
    assert.match(item, /quotidienne/);
    assert.match(item, /Prochain récapitulatif : \d{1,2}(er)? [a-zéû]+ \d{4}/);

    // « Voir les résultats » restores the search (words and theme).
    const results = list.getByRole('link', { name: 'Voir les résultats' });
    const href = await results.getAttribute('href');
    const url = new URL(href, BASE);
    assert.equal(url.pathname, '/recherche');
    assert.equal(url.searchParams.get('q'), 'commerce');
    assert.deepEqual(url.searchParams.getAll('theme'), ['commerce']);
    await results.click();
    await page.waitForURL((u) => u.pathname === '/recherche' && u.searchParams.get('q') === 'commerce');
    await settled(page);
    assert.equal(await page.getByRole('searchbox', { name: 'Que cherchez-vous ?' }).inputValue(), 'commerce');
    assert.ok(await page.locator('input[type="checkbox"][name="theme"][value="commerce"]').isChecked(), 'the theme is not checked');
    assert.ok(await page.locator('main .result').count() > 0, 'no result');

    // Back to the account page; « Supprimer » asks first, « Annuler » keeps the alert.
    await page.goBack();
    await page.waitForURL(`${BASE}/compte`);
    await settled(page);
    await alertsList(page).locator('.saved-item').first().waitFor();
    const remove = alertsList(page).getByRole('button', { name: 'Supprimer' });
    await remove.click();
    const confirm = alertsList(page).getByRole('group', { name: /Supprimer cette alerte/ });
    await confirm.waitFor();
    assert.ok(await confirm.getByRole('button', { name: 'Oui, supprimer' }).evaluate((el) => el === document.activeElement),
      'focus did not move to « Oui, supprimer »');
    await confirm.getByRole('button', { name: 'Annuler' }).click();
    assert.equal(await confirm.count(), 0);
    assert.ok(await remove.evaluate((el) => el === document.activeElement), 'focus did not come back to « Supprimer »');
    assert.equal((await savedSearches(state)).length, 1);

    await remove.click();
    await page.keyboard.press('Enter'); // on « Oui, supprimer »
    await alertsList(page).getByText('Vous n’avez pas encore d’alerte. Créez-en une depuis la recherche.').waitFor();
    assert.equal(await alertsList(page).locator('.saved-item').count(), 0);
    assert.ok(await page.evaluate(() => document.activeElement?.id === 'alertes-titre'), 'focus did not move to « Mes alertes »');
    await page.waitForFunction(() => /Alerte supprimée/.test(document.getElementById('annonce')?.textContent || ''));
    assert.deepEqual(await savedSearches(state), []);
  }, { storageState: state });
});

test('an alert the server refuses shows its message next to the button', async (t) => {
  const state = await loggedIn(t);
  if (!state) return;
  await withPage(SEARCH, async ({ page }) => {
    await page.route('**/graphql', (route) => {
      if (!/saveSearch/.test(route.request().postData() || '')) return route.continue();
      return route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ data: null, errors: [{ message: 'Vous avez déjà 20 alertes : supprimez-en une d’abord.', extensions: { code: 'CONFLICT' } }] }),
      });
    });
    const block = alertSection(page);
    await block.getByRole('button', { name: CREATE }).click();
    const alert = block.getByRole('alert');
    await alert.getByText('Vous avez déjà 20 alertes').waitFor();
    assert.equal(await alert.getByRole('link', { name: 'Gérer mes alertes' }).getAttribute('href'), '/compte');
    assert.equal(await block.getByRole('status').innerText(), '');
  }, { storageState: state });
});

describe('with alerts, no serious or critical axe-core violation and no horizontal scroll at 360 px', () => {
  test('the account page listing an alert, and with its deletion to confirm', async (t) => {
    const state = await loggedIn(t);
    if (!state) return;
    await deleteAllAlerts(state);
    await createAlert(state);
    try {
      await withPage('/compte', async ({ page }) => {
        await alertsList(page).locator('.saved-item').first().waitFor();
        let violations = await axeSeriousViolations(page);
        assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
        await alertsList(page).getByRole('button', { name: 'Supprimer' }).click();
        await alertsList(page).getByRole('button', { name: 'Oui, supprimer' }).waitFor();
        violations = await axeSeriousViolations(page);
        assert.equal(violations.length, 0, `axe-core, deletion to confirm:\n${describeViolations(violations)}`);
      }, { bypassCSP: true, storageState: state });

      await withPage('/compte', async ({ page }) => {
        await alertsList(page).locator('.saved-item').first().waitFor();
        let { scrollWidth, culprits } = await horizontalOverflow(page);
        assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
        await alertsList(page).getByRole('button', { name: 'Supprimer' }).click();
        await alertsList(page).getByRole('button', { name: 'Oui, supprimer' }).waitFor();
        ({ scrollWidth, culprits } = await horizontalOverflow(page));
        assert.ok(scrollWidth <= 360, `deletion to confirm: scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
      }, { width: 360, height: 740, storageState: state });
    } finally {
      await deleteAllAlerts(state);
    }
  });

  test('the search page with the alert form, then its confirmation', async (t) => {
    const state = await loggedIn(t);
    if (!state) return;
    await deleteAllAlerts(state);
    try {
      await withPage(SEARCH, async ({ page }) => {
        const block = alertSection(page);
        await block.getByRole('button', { name: CREATE }).waitFor();
        let violations = await axeSeriousViolations(page);
        assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
        await block.getByRole('button', { name: CREATE }).click();
        await block.getByRole('status').getByText('Alerte créée').waitFor();
        violations = await axeSeriousViolations(page);
        assert.equal(violations.length, 0, `axe-core, alert created:\n${describeViolations(violations)}`);
      }, { bypassCSP: true, storageState: state });
      await deleteAllAlerts(state);

      await withPage(SEARCH, async ({ page }) => {
        const block = alertSection(page);
        await block.getByRole('button', { name: CREATE }).click();
        await block.getByRole('status').getByText('Alerte créée').waitFor();
        const { scrollWidth, culprits } = await horizontalOverflow(page);
        assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
      }, { width: 360, height: 740, storageState: state });
    } finally {
      await deleteAllAlerts(state);
    }
  });

  test('logged out, the search page with the invitation to log in fits in 360 px', async () => {
    await withPage(SEARCH, async ({ page }) => {
      await alertSection(page).getByRole('link', { name: 'Connectez-vous pour recevoir une alerte' }).waitFor();
      const { scrollWidth, culprits } = await horizontalOverflow(page);
      assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
    }, { width: 360, height: 740 });
  });
});

// ---------------------------------------------------------------------------------------
// Logging out: the account page's form is a same-origin POST, which the server's CSRF check
// (Origin of Guichet itself) lets through

test('« Se déconnecter » on the account page ends the session', async (t) => {
  if (!DATA_DIR) {
    t.skip('GUICHET_DATA_DIR not set');
    return;
  }
  const email = `sortie-web-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
  const state = await loginAs(email);
  await withPage('/compte', async ({ page }) => {
    await page.getByText(email).waitFor();
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.waitForURL(`${BASE}/`);
  }, { storageState: state });
  const { me } = await gqlAs(state, '{ me { email } }');
  assert.equal(me, null);
});
