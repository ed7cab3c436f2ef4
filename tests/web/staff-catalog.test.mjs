// Browser tests of the catalogue screens (issue 14), against a running Guichet server started
// with its seed catalogue:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data GUICHET_BIN=target/debug/guichet \
//     node --test staff-catalog.test.mjs
//
// Staff create a draft with a rate of 150 % and see the error next to the rate, fix it, add a
// territory to the perimeter, preview the public page, publish (with confirmation) and find the
// scheme in the public search; the list of schemes keeps its filters in the address. A funder
// agent made an editor of its funder (the seed's `departement-lot`) drafts a scheme and asks
// for its publication; staff see it waiting on `/gestion` and send it back with a comment,
// which the editor then reads on the scheme's page. Every page is audited with axe-core.
//
// Accounts are created with `$GUICHET_BIN user add` and log in by magic link; the agent is
// made an editor with `setAccountRole`. Without GUICHET_DATA_DIR or GUICHET_BIN the tests are
// skipped (they fail under GUICHET_TEST_REQUIRE_ALL=1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, withPage, settled, text, typeInCombobox, arrowDownTo, axeSeriousViolations, describeViolations,
  horizontalOverflow, DATA_DIR, GUICHET_BIN, addAccount, loginAs, gqlAs,
} from './helpers.mjs';

useBrowser();

const RUN = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
// A word no seed scheme holds, made of letters only (the search splits on digits).
const WORD = `zorglub${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
const EDITOR_FUNDER = 'departement-lot';

async function assertNoSeriousViolations(page, where) {
  await settled(page);
  const violations = await axeSeriousViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${where}:\n${describeViolations(violations)}`);
}

function skipWithoutCli(t) {
  if (DATA_DIR && GUICHET_BIN) return false;
  assert.ok(process.env.GUICHET_TEST_REQUIRE_ALL !== '1', 'GUICHET_DATA_DIR and GUICHET_BIN are needed');
  t.skip('GUICHET_DATA_DIR or GUICHET_BIN not set');
  return true;
}

let staffState = null;
async function staff() {
  if (!staffState) {
    const email = `equipe-catalogue-${RUN}@example.org`;
    await addAccount(email, 'staff');
    staffState = await loginAs(email);
  }
  return staffState;
}

const statusMessage = (page) => page.locator('main .save-status');

test('staff draft a scheme, see a wrong rate next to its field, preview, publish and find it in the search', async (t) => {
  if (skipWithoutCli(t)) return;
  const state = await staff();
  const slug = `essai-catalogue-${RUN}`;
  const title = `Aide ${WORD} aux épiceries`;

  // The staff home: links to every screen; the header shows « Gestion ».
  await withPage('/gestion', async ({ page }) => {
    const nav = page.getByRole('navigation', { name: 'Menu principal' });
    await nav.getByRole('link', { name: 'Gestion' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Gestion' }).getAttribute('aria-current'), 'page');
    for (const name of ['Dispositifs', 'Financeurs', 'Comptes', 'Synonymes', 'Zonages', 'Imports']) {
      assert.equal(await page.locator('main').getByRole('link', { name, exact: true }).count(), 1, `link « ${name} »`);
    }
    await assertNoSeriousViolations(page, '/gestion');
  }, { storageState: state, bypassCSP: true });

  // The list: drafts and archives included; the filters go to the address and come back.
  await withPage('/gestion/dispositifs', async ({ page }) => {
    await assertNoSeriousViolations(page, '/gestion/dispositifs');
    const all = Number(text(await page.locator('#dispositifs-resultats').innerText()).replace(/\D/g, ''));
    assert.ok(all >= 20, `the seed's schemes are listed (${all})`);
    await page.getByLabel('Thème').selectOption('commerce');
    await page.getByLabel('Jamais vérifié').check();
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page.waitForURL((url) => url.searchParams.get('theme') === 'commerce' && url.searchParams.get('verification') === 'jamais');
    await settled(page);
    const heading = text(await page.locator('#dispositifs-resultats').innerText());
    const some = /^Aucun/.test(heading) ? 0 : Number(heading.replace(/\D/g, ''));
    assert.ok(some < all, `the filters narrow the list (${some} of ${all})`);
    for (const cell of await page.locator('main tbody tr td:nth-child(4)').allInnerTexts()) {
      assert.equal(cell.trim(), 'jamais vérifié');
    }
    // The address alone gives the same page.
    await page.reload({ waitUntil: 'networkidle' });
    await settled(page);
    assert.equal(await page.getByLabel('Thème').inputValue(), 'commerce');
    assert.equal(await page.getByLabel('Jamais vérifié').isChecked(), true);
    assert.equal(text(await page.locator('#dispositifs-resultats').innerText()), heading);
  }, { storageState: state, bypassCSP: true });

  // At 360 px, neither the list (long funder names in the filter) nor the form scrolls sideways.
  for (const path of ['/gestion/dispositifs', '/gestion/dispositifs/nouveau']) {
    await withPage(path, async ({ page }) => {
      const { scrollWidth, culprits } = await horizontalOverflow(page);
      assert.ok(scrollWidth <= 360, `${path} at 360 px: scrollWidth ${scrollWidth}; too wide: ${culprits.join(', ')}`);
    }, { storageState: state, width: 360, height: 800 });
  }

  await withPage('/gestion/dispositifs/nouveau', async ({ page }) => {
    await assertNoSeriousViolations(page, 'the new scheme form');
    await page.getByLabel('Identifiant').fill(slug);
    await page.getByLabel('Titre').fill(title);
    await page.getByLabel('Résumé').fill('Pour rouvrir une épicerie dans un village.');
    await page.getByLabel('Financeur 1').selectOption('departement-lot');
    await page.getByRole('checkbox', { name: 'Communes', exact: true }).check();
    await page.getByRole('checkbox', { name: 'Commerce', exact: true }).check();
    await page.getByLabel('Taux maximal').fill('150');

    // The server refuses the rate: its message is next to the field, which gets the focus.
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
    const rate = page.getByLabel('Taux maximal');
    const error = page.locator('#financement-taux-max-erreur');
    await error.waitFor({ state: 'visible' });
    assert.match(text(await error.innerText()), /pourcentage/);
    assert.equal(await rate.getAttribute('aria-invalid'), 'true');
    assert.ok((await rate.getAttribute('aria-describedby')).split(' ').includes('financement-taux-max-erreur'));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'financement-taux-max');
    assert.equal(new URL(page.url()).pathname, '/gestion/dispositifs/nouveau', 'nothing saved');
    await assertNoSeriousViolations(page, 'the form with an error');

    // Fixed (the French decimal comma is read), a territory added: saved as a draft.
    await rate.fill('40,5');
    const box = await typeInCombobox(page, 'Ajouter un territoire', 'Cajarc');
    assert.ok(await arrowDownTo(page, box, /Cajarc/), 'Cajarc proposed');
    await page.keyboard.press('Enter');
    await page.locator('#perimetre-territoires li', { hasText: 'Cajarc' }).waitFor();
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await page.waitForURL(`**/gestion/dispositifs/${slug}`);
    await statusMessage(page).filter({ hasText: 'Brouillon enregistré' }).waitFor();
    assert.equal(await error.isHidden(), true);
    assert.equal(await rate.getAttribute('aria-invalid'), null);

    // The preview is the public page's rendering of the form.
    await page.getByRole('button', { name: 'Aperçu' }).click();
    const preview = page.locator('section[aria-labelledby="apercu-titre"]');
    await preview.getByRole('heading', { name: title }).waitFor();
    assert.match(text(await preview.innerText()), /40,5 %/);
    await preview.getByText(/Cajarc/).waitFor();
    assert.equal(await page.locator('main h1').count(), 1, 'one h1: the preview\'s headings are demoted');
    await assertNoSeriousViolations(page, 'the form with its preview');

    // Publication, confirmed.
    await page.getByRole('button', { name: 'Publier' }).click();
    await page.getByRole('button', { name: 'Confirmer la publication' }).click();
    await page.locator('main .badge-published').first().waitFor();
    await page.getByRole('link', { name: 'Voir la fiche publique' }).waitFor();
    // The change log shows the creation and the publication.
    await page.waitForFunction(() => document.querySelectorAll('main .timeline-item').length >= 2);
    const log = text((await page.locator('main .timeline-item').allInnerTexts()).join('\n'));
    assert.match(log, /Créé/);
    assert.match(log, /Statut : brouillon → publié/);
  }, { storageState: state, bypassCSP: true });

  const saved = await gqlAs(state, 'query ($slug: String!) { scheme(slug: $slug) { status funding { rateMax } perimeter { communes } } }', { slug });
  assert.deepEqual(saved.scheme, { status: 'PUBLISHED', funding: { rateMax: 40.5 }, perimeter: { communes: ['46045'] } });

  // Anyone finds it in the public search.
  await withPage(`/recherche?q=${WORD}`, async ({ page }) => {
    await page.locator(`main a[href="/dispositifs/${slug}"]`).first().waitFor();
  });
});

test('a funder editor drafts a scheme and asks for publication; staff send it back with a comment the editor reads', async (t) => {
  if (skipWithoutCli(t)) return;
  const state = await staff();
  const email = `editeur-${RUN}@example.org`;
  await addAccount(email, 'funder', EDITOR_FUNDER);
  // One login (a second one could read the first, used, link from the mail folder): the
  // session reads the account's rights at each request.
  const editor = await loginAs(email);
  const { me } = await gqlAs(editor, '{ me { id } }');
  await gqlAs(state, 'mutation ($id: ID!, $funder: String) { setAccountRole(id: $id, role: FUNDER, funder: $funder, editor: true) { editor } }',
    { id: me.id, funder: EDITOR_FUNDER });
  assert.deepEqual((await gqlAs(editor, '{ me { role editor } }')).me, { role: 'FUNDER', editor: true });
  const slug = `essai-editeur-${RUN}`;
  const title = `Dispositif proposé par le financeur ${RUN}`;
  const comment = 'Précisez le taux et la page de candidature.';

  await withPage('/gestion/dispositifs/nouveau', async ({ page }) => {
    const nav = page.getByRole('navigation', { name: 'Menu principal' });
    await nav.getByRole('link', { name: 'Gestion' }).waitFor();
    // Its funder is chosen already; no publish button for an editor.
    assert.equal(await page.getByLabel('Financeur 1').inputValue(), EDITOR_FUNDER);
    await page.getByLabel('Identifiant').fill(slug);
    await page.getByLabel('Titre').fill(title);
    await page.getByRole('checkbox', { name: 'Associations', exact: true }).check();
    await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
    await statusMessage(page).filter({ hasText: 'Brouillon enregistré' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Publier' }).count(), 0);
    await page.getByRole('button', { name: 'Demander la publication' }).click();
    await page.locator('main .badge', { hasText: 'Publication demandée' }).first().waitFor();
    await assertNoSeriousViolations(page, 'the editor\'s form, publication requested');
  }, { storageState: editor, bypassCSP: true });

  // The editor's list holds its funder's schemes only, its draft among them.
  await withPage('/gestion/dispositifs', async ({ page }) => {
    await page.locator('main tbody tr', { hasText: title }).waitFor();
    assert.equal(await page.getByLabel('Financeur', { exact: true }).count(), 0, 'no funder filter for an editor');
    const funderCells = await page.locator('main tbody tr td:nth-child(2)').allInnerTexts();
    assert.ok(funderCells.length > 1, 'the seed\'s schemes of the funder are listed too');
    for (const cell of funderCells) assert.match(cell, /Département du Lot/);
    await assertNoSeriousViolations(page, 'the editor\'s list');
  }, { storageState: editor, bypassCSP: true });

  await withPage('/gestion', async ({ page }) => {
    const waiting = page.locator('section[aria-labelledby="attente-titre"]');
    const item = waiting.locator('li', { hasText: title });
    await item.waitFor();
    assert.match(text(await item.innerText()), new RegExp(`demandée le .* par ${email}`));
    await item.getByRole('link', { name: title }).click();
    await page.waitForURL(`**/gestion/dispositifs/${slug}`);
    await settled(page);
    await page.getByLabel('Commentaire pour le financeur').fill(comment);
    await page.getByRole('button', { name: 'Renvoyer au financeur' }).click();
    await statusMessage(page).filter({ hasText: 'renvoyé au financeur' }).waitFor();
    await assertNoSeriousViolations(page, 'the scheme sent back');
  }, { storageState: state, bypassCSP: true });

  await withPage(`/gestion/dispositifs/${slug}`, async ({ page }) => {
    const note = page.locator('main .alert', { hasText: 'Renvoyé par l’équipe Guichet' });
    await note.waitFor();
    assert.match(text(await note.innerText()), new RegExp(comment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    // It may be asked again once corrected.
    await page.getByRole('button', { name: 'Demander la publication' }).waitFor();
    await assertNoSeriousViolations(page, 'the editor\'s scheme sent back');
  }, { storageState: editor, bypassCSP: true });

  const { scheme } = await gqlAs(state, 'query ($slug: String!) { scheme(slug: $slug) { status reviewComment publicationRequestedAt } }', { slug });
  assert.deepEqual(scheme, { status: 'DRAFT', reviewComment: comment, publicationRequestedAt: null });
});
