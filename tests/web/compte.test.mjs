// Browser tests of « Mes données personnelles » on the account page (/compte): the download of
// everything Guichet holds on the account (JSON) and, for holders, the deletion of the account
// confirmed by typing its address, against a running Guichet server:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data GUICHET_BIN=/path/to/guichet \
//     node --test compte.test.mjs
//
// Logging in reads the magic link from `$GUICHET_DATA_DIR/mail/`: without GUICHET_DATA_DIR the
// tests are skipped; the staff account is made with `$GUICHET_BIN user add` (skipped without
// GUICHET_BIN). Accounts: `rgpd-web-<timestamp>-<random>@example.org` (a holder, deleted by the
// test) and `rgpd-equipe-web-…` (staff, kept).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  useBrowser, withPage, settled, text, axeSeriousViolations, describeViolations, horizontalOverflow,
  loginAs, gqlAs, fetchAs, addAccount, waitForMails, DATA_DIR, GUICHET_BIN,
} from './helpers.mjs';

useBrowser();

const unique = (prefix) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;

describe('« Mes données personnelles » on the account page', { skip: !DATA_DIR && 'GUICHET_DATA_DIR is not set' }, () => {
  test('a holder downloads their data, then deletes their account and is logged out', async () => {
    const email = unique('rgpd-web');
    const state = await loginAs(email);
    await gqlAs(state, 'mutation { saveSearch(text: "épicerie", frequency: WEEKLY) { id } }');

    await withPage('/compte', async ({ page }) => {
      const section = page.getByRole('region', { name: 'Mes données personnelles' });
      await section.waitFor();
      const link = section.getByRole('link', { name: 'Télécharger mes données (JSON)' });
      assert.equal(await link.getAttribute('href'), '/compte/donnees.json');
      assert.notEqual(await link.getAttribute('download'), null);

      // The download works with the session cookie and holds the account and its alert.
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      assert.match(download.suggestedFilename(), /^guichet-mes-donnees-\d{4}-\d{2}-\d{2}\.json$/);
      const data = JSON.parse(await readFile(await download.path(), 'utf8'));
      assert.equal(data.account.email, email);
      assert.equal(data.account.role, 'HOLDER');
      assert.equal(data.savedSearches[0].text, 'épicerie');
      assert.ok(data.generatedAt && data.notice);

      const violations = await axeSeriousViolations(page);
      assert.deepEqual(violations, [], describeViolations(violations));

      // What is deleted and what is kept is said before the form.
      const intro = text(await section.innerText());
      assert.match(intro, /brouillons/);
      assert.match(intro, /sont conservés/);

      const field = section.getByLabel('Pour confirmer, saisissez l’adresse électronique de votre compte');
      const submit = section.getByRole('button', { name: 'Supprimer définitivement mon compte' });

      // Empty, then another address: an error tied to the field, the focus on it, nothing deleted.
      await submit.click();
      const error = page.locator('#suppression-erreur');
      await error.waitFor();
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      assert.match(await field.getAttribute('aria-describedby'), /suppression-erreur/);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'suppression-confirmation');
      await field.fill('quelqu-un@ailleurs.example.org');
      await submit.click();
      await page.getByText('Cette adresse n’est pas celle de votre compte').waitFor();
      assert.equal((await gqlAs(state, '{ me { email } }')).me.email, email);

      // The right address (any case): deleted, told so, logged out.
      await field.fill(email.toUpperCase());
      await submit.click();
      const heading = page.getByRole('heading', { level: 1, name: 'Votre compte a été supprimé' });
      await heading.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
      await page.getByText('Vous êtes déconnecté de tous vos appareils').waitFor();
      assert.equal(text(await page.locator('#nav-compte').innerText()), 'Connexion');
      const after = await axeSeriousViolations(page);
      assert.deepEqual(after, [], describeViolations(after));
    }, { storageState: state, bypassCSP: true });

    // The old session no longer opens anything; the confirmation reaches the address.
    const download = await fetchAs(state, '/compte/donnees.json');
    assert.equal(download.status, 401);
    assert.equal((await gqlAs(state, '{ me { email } }')).me, null);
    await waitForMails((mails) => mails.find((m) => m.to.includes(email) && m.subject === 'Votre compte Guichet a été supprimé'),
      'account deletion confirmation');
  });

  test('at 360 px the section fits the screen', async () => {
    const state = await loginAs(unique('rgpd-web-mobile'));
    await withPage('/compte', async ({ page }) => {
      await page.getByRole('region', { name: 'Mes données personnelles' }).waitFor();
      const { scrollWidth, culprits } = await horizontalOverflow(page);
      assert.ok(scrollWidth <= 360, `scroll width ${scrollWidth}: ${culprits.join(', ')}`);
    }, { storageState: state, width: 360, height: 740 });
  });

  test('staff may download their data but not delete their account here', { skip: !GUICHET_BIN && 'GUICHET_BIN is not set' }, async () => {
    const email = unique('rgpd-equipe-web');
    await addAccount(email, 'staff');
    const state = await loginAs(email);
    await withPage('/compte', async ({ page }) => {
      await settled(page);
      const section = page.getByRole('region', { name: 'Mes données personnelles' });
      await section.getByRole('link', { name: 'Télécharger mes données (JSON)' }).waitFor();
      assert.equal(await section.getByRole('button', { name: 'Supprimer définitivement mon compte' }).count(), 0);
      assert.match(text(await section.innerText()), /ne peuvent pas être supprimés depuis cette page/);
    }, { storageState: state });
    const download = await fetchAs(state, '/compte/donnees.json');
    assert.equal(download.status, 200);
    assert.equal(JSON.parse(download.text).account.role, 'STAFF');
  });
});
