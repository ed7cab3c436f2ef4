// Browser tests of the staff screens of issue 14 (`/gestion/comptes`, `/gestion/synonymes`,
// `/gestion/zonages`, `/gestion/imports`, `/gestion/financeurs`), against a running server:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data GUICHET_BIN=/path/to/guichet \
//     node --test staff-screens.test.mjs
//
// Staff accounts are made with `$GUICHET_BIN user add` and logged in through their magic link
// (read from `$GUICHET_DATA_DIR/mail/`): without both the tests are skipped. Every screen is
// audited with axe-core.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  useBrowser, withPage, settled, text, axeSeriousViolations, describeViolations,
  loginAs, gqlAs, addAccount, waitForMails, DATA_DIR, GUICHET_BIN,
} from './helpers.mjs';

useBrowser();

const unique = (prefix) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
const skip = (!DATA_DIR && 'GUICHET_DATA_DIR is not set') || (!GUICHET_BIN && 'GUICHET_BIN is not set');

async function assertAccessible(page) {
  const violations = await axeSeriousViolations(page);
  assert.deepEqual(violations, [], describeViolations(violations));
}

describe('staff screens', { skip }, () => {
  let staff;
  let staffEmail;
  before(async () => {
    staffEmail = unique('gestion-equipe');
    await addAccount(staffEmail, 'staff');
    staff = await loginAs(staffEmail);
  });

  test('a holder is refused the staff screens, an anonymous visitor is asked to log in', async () => {
    const holder = await loginAs(unique('gestion-porteur'));
    for (const path of ['/gestion/comptes', '/gestion/synonymes', '/gestion/zonages', '/gestion/imports', '/gestion/financeurs']) {
      await withPage(path, async ({ page }) => {
        assert.match(text(await page.locator('main').innerText()), /réservée à l’équipe Guichet/, path);
        assert.equal(await page.getByRole('form').count(), 0, path);
      }, { storageState: holder, bypassCSP: true });
    }
    await withPage('/gestion/comptes', async ({ page }) => {
      const link = page.getByRole('link', { name: 'Se connecter' });
      assert.equal(await link.getAttribute('href'), '/connexion?retour=%2Fgestion%2Fcomptes');
    });
  });

  test('accounts: find by email, make a holder a funder agent and editor, revoke their access', async () => {
    const email = unique('gestion-maire');
    const holder = await loginAs(email);
    await withPage('/gestion/comptes', async ({ page }) => {
      await page.locator('#comptes-recherche').fill(email.split('@')[0]);
      await page.locator('#comptes-role').selectOption('HOLDER');
      await page.getByRole('button', { name: 'Chercher' }).click();
      await page.waitForURL(/\/gestion\/comptes\?q=gestion-maire/);
      const card = page.locator('li.account-card', { has: page.getByRole('heading', { name: email }) });
      await card.waitFor();
      await page.locator('main p[role="status"]').filter({ hasText: /^1\s+compte trouvé/ }).waitFor();
      assert.match(text(await card.innerText()), /Porteur de projet/);
      assert.match(text(await card.innerText()), /Dernière connexion\s+\d/);
      await assertAccessible(page);

      // A funder agent must name its funder: the error is under the field.
      await card.getByText('Changer le rôle').click();
      await card.getByLabel('Rôle', { exact: true }).selectOption('FUNDER');
      await card.getByRole('button', { name: 'Enregistrer le rôle' }).click();
      const funderSelect = card.getByLabel('Financeur', { exact: true });
      assert.equal(await funderSelect.getAttribute('aria-invalid'), 'true');
      assert.match(text(await card.locator('.field-error:not([hidden])').innerText()), /Choisissez le financeur/);
      const slugs = await funderSelect.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      assert.ok(slugs.length > 0);
      await funderSelect.selectOption(slugs[0]);
      await card.getByLabel(/Éditeur du catalogue/).check();
      // Staff may not make staff: the choice is not offered.
      assert.deepEqual(await card.getByLabel('Rôle', { exact: true }).locator('option').evaluateAll((os) => os.map((o) => o.value)), ['HOLDER', 'FUNDER']);
      await card.getByRole('button', { name: 'Enregistrer le rôle' }).click();
      await card.getByText('Agent d’un financeur — éditeur du catalogue').waitFor();
      const me = await gqlAs(holder, '{ me { role editor funder { slug } } }');
      assert.deepEqual(me.me, { role: 'FUNDER', editor: true, funder: { slug: slugs[0] } });

      // Revoking asks first; « Annuler » changes nothing.
      await card.getByRole('button', { name: `Révoquer les accès de ${email}` }).click();
      await assertAccessible(page);
      await card.getByRole('button', { name: 'Annuler' }).click();
      assert.ok((await gqlAs(holder, '{ me { email } }')).me);
      await card.getByRole('button', { name: `Révoquer les accès de ${email}` }).click();
      await card.getByRole('button', { name: 'Révoquer', exact: true }).click();
      await card.getByText(/1\s+session ou jeton révoqué/).waitFor();
    }, { storageState: staff, bypassCSP: true });
    assert.equal((await gqlAs(holder, '{ me { email } }')).me, null);
  });

  test('synonyms: add a group, edit it, delete it after confirming', async () => {
    const term = `gestiontest${Date.now()}`;
    await withPage('/gestion/synonymes', async ({ page }) => {
      await assertAccessible(page);
      await page.getByRole('button', { name: 'Enregistrer le groupe' }).click();
      assert.equal(await page.getByLabel('Terme', { exact: true }).getAttribute('aria-invalid'), 'true');
      await page.getByLabel('Terme', { exact: true }).fill(term);
      await page.getByLabel('Synonymes', { exact: true }).fill('alpha, beta');
      await page.getByRole('button', { name: 'Enregistrer le groupe' }).click();
      const card = page.locator('li.card', { has: page.getByRole('heading', { name: term }) });
      await card.getByText('alpha, beta').waitFor();

      await card.getByRole('button', { name: `Modifier le groupe « ${term} »` }).click();
      assert.equal(await page.getByLabel('Synonymes', { exact: true }).inputValue(), 'alpha, beta');
      await page.getByLabel('Synonymes', { exact: true }).fill('alpha, gamma');
      await page.getByRole('button', { name: 'Enregistrer le groupe' }).click();
      await card.getByText('alpha, gamma').waitFor();
      const stored = await gqlAs(staff, '{ synonyms { term synonyms } }');
      assert.deepEqual(stored.synonyms.find((g) => g.term === term).synonyms, ['alpha', 'gamma']);

      await card.getByRole('button', { name: `Supprimer le groupe « ${term} »` }).click();
      await card.getByText(/La recherche ne rapprochera plus ces mots/).waitFor();
      await card.getByRole('button', { name: 'Supprimer le groupe' }).click();
      await page.getByRole('heading', { name: term }).waitFor({ state: 'detached' });
      const after = await gqlAs(staff, '{ synonyms { term } }');
      assert.ok(!after.synonyms.some((g) => g.term === term));
    }, { storageState: staff, bypassCSP: true });
  });

  test('zonings: the list, then a list of communes uploaded with its unknown codes reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guichet-zonage-'));
    const file = join(dir, 'communes.csv');
    await writeFile(file, 'code_insee\n52017\n52121\n99999\n');
    const slug = `test-${Date.now()}`;
    await withPage('/gestion/zonages', async ({ page }) => {
      await assertAccessible(page);
      await page.getByRole('button', { name: 'Charger la liste' }).click();
      assert.equal(await page.getByLabel('Identifiant').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByLabel('Fichier des communes').getAttribute('aria-invalid'), 'true');
      await page.getByLabel('Identifiant').fill(slug);
      await page.getByLabel('Nom', { exact: true }).fill('Zonage de test');
      await page.getByLabel('Source').fill('https://www.example.org/liste');
      await page.getByLabel('Date de la liste').fill('2026-01-01');
      await page.getByLabel('Fichier des communes').setInputFiles(file);
      await page.getByRole('button', { name: 'Charger la liste' }).click();
      // The count is followed by a no-break space (French typography).
      await page.getByRole('main').getByText(/Zonage créé : « Zonage de test », 2\scommunes/).waitFor();
      assert.match(text(await page.locator('.alert-warning').innerText()), /99999/);
      const row = page.getByRole('row', { name: /Zonage de test/ });
      assert.match(text(await row.innerText()), /2\s*$/);
      await assertAccessible(page);
    }, { storageState: staff, bypassCSP: true });
  });

  test('imports: a dry run says what would change and writes nothing, then it is applied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guichet-import-'));
    const file = join(dir, 'catalogue.json');
    const slug = `import-web-${Date.now()}`;
    // The catalogue's own export format, one scheme (see `guichet export`).
    const { execFile } = await import('node:child_process');
    const out = await new Promise((resolve, reject) => execFile(GUICHET_BIN, ['export', '--data-dir', DATA_DIR], { env: process.env, maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
    const catalogue = JSON.parse(out);
    assert.ok(Array.isArray(catalogue) && catalogue.length > 0);
    await writeFile(file, JSON.stringify([{ ...catalogue[0], slug, title: `Dispositif importé ${slug}` }]));

    await withPage('/gestion/imports', async ({ page }) => {
      await assertAccessible(page);
      await page.getByRole('button', { name: 'Simuler l’import' }).click();
      assert.equal(await page.getByLabel('Fichier', { exact: true }).getAttribute('aria-invalid'), 'true');
      await page.getByLabel('Fichier', { exact: true }).setInputFiles(file);
      await page.getByLabel('Format', { exact: true }).selectOption('GUICHET');
      await page.getByRole('button', { name: 'Simuler l’import' }).click();
      await page.getByRole('heading', { name: 'Simulation : rien n’a encore été enregistré' }).waitFor();
      const created = page.getByRole('region', { name: /^Créés/ });
      assert.match(text(await created.innerText()), new RegExp(slug));
      await assertAccessible(page);
      const before = await gqlAs(staff, 'query($s: String!) { scheme(slug: $s) { slug } }', { s: slug });
      assert.equal(before.scheme, null);

      await page.getByRole('button', { name: 'Appliquer l’import' }).click();
      await page.getByRole('heading', { name: 'Import appliqué' }).waitFor();
      assert.match(text(await page.getByRole('region', { name: /^Créés/ }).innerText()), new RegExp(slug));
    }, { storageState: staff, bypassCSP: true });
    const after = await gqlAs(staff, 'query($s: String!) { scheme(slug: $s) { slug } }', { s: slug });
    assert.equal(after.scheme.slug, slug);
  });

  test('funders: the networks, one funder edited with an error under its field, an alias added and removed', async () => {
    let slug;
    await withPage('/gestion/financeurs', async ({ page }) => {
      await assertAccessible(page);
      const tree = page.locator('main ul.funder-tree').first();
      const link = tree.getByRole('link').first();
      slug = decodeURIComponent((await link.getAttribute('href')).split('/').pop());
      await link.click();
      await settled(page);
      assert.equal(new URL(page.url()).pathname, `/gestion/financeurs/${encodeURIComponent(slug)}`);
      await assertAccessible(page);

      // A malformed contact address: refused by the server, shown under the field.
      const contact = page.getByLabel('Adresse de contact');
      const before = await contact.inputValue();
      await contact.fill('pas une adresse');
      await page.getByRole('button', { name: 'Enregistrer le financeur' }).click();
      await page.locator('#financeur-contact-erreur:not([hidden])').waitFor();
      assert.equal(await contact.getAttribute('aria-invalid'), 'true');
      await contact.fill(before);

      const alias = `Ancien nom ${Date.now()}`;
      await page.getByLabel('Autre nom', { exact: true }).fill(alias);
      await page.getByRole('button', { name: 'Ajouter le nom' }).click();
      await page.getByText(alias, { exact: true }).waitFor();
      await page.getByRole('button', { name: `Retirer le nom « ${alias} »` }).click();
      await page.getByRole('button', { name: 'Retirer le nom', exact: true }).click();
      await page.getByText(alias, { exact: true }).waitFor({ state: 'detached' });

      // The merge says what moves before anything is done.
      const duplicate = page.getByLabel('Doublon à fusionner dans ce financeur');
      // Removing the alias renders the page again: wait for the new merge list.
      await duplicate.locator('option').nth(1).waitFor({ state: 'attached' });
      const other = (await duplicate.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean)))[0];
      await duplicate.selectOption(other);
      await page.getByRole('button', { name: 'Fusionner…' }).click();
      assert.match(text(await page.locator('.confirm-box').innerText()), /dispositifs, avis sur les dossiers, agents, services et autres noms/);
      await assertAccessible(page);
      await page.getByRole('button', { name: 'Annuler' }).click();
    }, { storageState: staff, bypassCSP: true });
    const still = await gqlAs(staff, '{ funders { slug } }');
    assert.ok(still.funders.length > 1, 'the merge was cancelled');
  });
  test('a service of a network: its parent, its territory edited with the combobox, an agent invited then removed', async () => {
    const agent = unique('gestion-agent');
    const JURISDICTION = 'query { funder(slug: "prefecture-haute-marne") { jurisdiction agents { email editor } } }';
    // The stored jurisdiction once the save in flight has committed (the page may show the
    // form before the server answered): read again for up to 5 s until it is `expected`.
    const storedJurisdiction = async (expected) => {
      let got;
      for (let i = 0; i < 50; i += 1) {
        got = (await gqlAs(staff, JURISDICTION)).funder.jurisdiction.sort();
        if (JSON.stringify(got) === JSON.stringify(expected)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return got;
    };
    await withPage('/gestion/financeurs', async ({ page }) => {
      // The préfecture is listed under its network.
      const nested = page.locator('ul.funder-tree ul.funder-tree').getByRole('link', { name: 'Préfecture de la Haute-Marne' });
      await nested.click();
      await settled(page);
      assert.equal(await page.getByLabel('Réseau (financeur parent)').inputValue(), 'etat-prefectures');
      const territory = page.getByRole('group', { name: 'Territoire de compétence' });
      await territory.getByText(/Haute-Marne \(Département, 52\)/).waitFor();

      // Entrée in the combobox adds the first territory proposed; saving keeps it.
      const box = page.getByRole('combobox', { name: 'Ajouter un territoire' });
      await box.focus();
      await box.pressSequentially('Chaumont');
      await page.keyboard.press('Enter');
      await territory.getByText(/Chaumont \(Commune, 52121\)/).waitFor();
      await assertAccessible(page);
      await page.getByRole('button', { name: 'Enregistrer le financeur' }).click();
      await page.waitForFunction(() => !document.querySelector('main[aria-busy="true"]'));
      await page.getByRole('group', { name: 'Territoire de compétence' }).getByText(/Chaumont \(Commune, 52121\)/).waitFor();
      assert.deepEqual(await storedJurisdiction(['52', '52121']), ['52', '52121']);
      await page.getByRole('button', { name: /^Retirer Chaumont/ }).click();
      await page.getByRole('button', { name: 'Enregistrer le financeur' }).click();
      await page.getByRole('group', { name: 'Territoire de compétence' }).getByText(/Chaumont/).waitFor({ state: 'detached' });
      assert.deepEqual(await storedJurisdiction(['52']), ['52']);

      // An agent invited as an editor: listed, and mailed a login link.
      await page.getByLabel('Adresse électronique de l’agent').fill(agent);
      await page.getByLabel(/^Éditeur du catalogue/).check();
      await page.getByRole('button', { name: 'Inviter l’agent' }).click();
      await page.getByText(`${agent} — éditeur du catalogue`).waitFor();
      await waitForMails((mails) => mails.some((m) => m.to.includes(agent) && /\/login\?token=/.test(m.text)), `invitation of ${agent}`);
      assert.deepEqual((await gqlAs(staff, JURISDICTION)).funder.agents.filter((a) => a.email === agent), [{ email: agent, editor: true }]);

      // Removing asks first.
      await page.getByRole('button', { name: `Retirer l’agent ${agent}` }).click();
      assert.match(text(await page.locator('.confirm-box').innerText()), /redevient un compte de porteur de projet/);
      await page.getByRole('button', { name: 'Retirer l’agent', exact: true }).click();
      await page.getByText(`${agent} — éditeur du catalogue`).waitFor({ state: 'detached' });
    }, { storageState: staff, bypassCSP: true });
    const { accounts } = await gqlAs(staff, 'query($q: String) { accounts(query: $q) { nodes { email role } } }', { q: agent });
    assert.deepEqual(accounts.nodes, [{ email: agent, role: 'HOLDER' }]);
  });
});
