// Browser test of shared dossiers (issue 5), one whole journey against a running Guichet
// server started with its seed catalogue:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data GUICHET_BIN=target/debug/guichet \
//     node --test dossier.test.mjs
//
// A commune (Cajarc, Lot) fills in its dossier step by step (« Mes dossiers », the form and its
// autosave, the plan checked live, an attachment uploaded and another removed) and submits it
// to three schemes of three funders; the State's agent starts the review and asks a question;
// the holder answers it on the tracking page; staff create a conference of the three funders,
// put the dossier on its agenda and open it; the State's agent decides on its dossier page,
// staff record the two other decisions in the grid (closing before fails with the missing
// decisions listed) and close the conference; the holder then finds one summary mail (and no
// other decision mail) in `$GUICHET_DATA_DIR/mail/`. Every page is audited with axe-core and
// the form is checked at 360 px.
//
// Accounts are created with `$GUICHET_BIN user add` (on the PostgreSQL pass DATABASE_URL is set,
// so the CLI acts on the server's data) and log in by magic link (5 `requestLoginLink`). Without
// GUICHET_DATA_DIR or GUICHET_BIN the test is skipped (it fails under GUICHET_TEST_REQUIRE_ALL=1).
// From the seed it relies on these schemes, each of one funder and open to a commune of the
// Lot under 3 000 inhabitants with a commerce, health or revitalisation project: `detr`
// (etat-prefectures, routed to its service prefecture-lot), `region-occitanie-pass-commerce-proximite` (region-occitanie) and
// `departement-lot-maisons-de-sante` (departement-lot).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, useBrowser, withPage, settled, text, typeInCombobox, arrowDownTo, axeSeriousViolations, describeViolations,
  horizontalOverflow, assertFirstLoadUnder150KB, DATA_DIR, GUICHET_BIN, addAccount, loginAs, gqlAs, fetchAs, readMails, waitForMails,
} from './helpers.mjs';

useBrowser();

const RUN = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
const SCHEMES = [
  // The DETR is a scheme of « État — préfectures »: a dossier from the Lot reaches its
  // service there, the Préfecture du Lot, whose agent instructs it.
  { slug: 'detr', funder: 'prefecture-lot', amount: 60000 },
  { slug: 'region-occitanie-pass-commerce-proximite', funder: 'region-occitanie', amount: 40000 },
  { slug: 'departement-lot-maisons-de-sante', funder: 'departement-lot', amount: 40000 },
];
const OWN_FUNDS = 60000;
const EXPENSES = [['Travaux de rénovation du local', 150000], ['Équipement de la cuisine et du comptoir', 50000]];
const TITLE = `Réouverture du café-épicerie de Cajarc ${RUN}`;
const QUESTION = 'Pouvez-vous préciser le calendrier des travaux et joindre le devis signé ?';
const NOTE = 'Dossier complet une fois le devis reçu : à présenter en conférence.';
const ANSWER = 'Les travaux commencent au printemps ; le devis sera signé après le dépôt.';

const day = (offset) => new Date(Date.now() + offset * 24 * 3600 * 1000).toISOString().slice(0, 10);

/** A SIRET that passes the Luhn check, from 13 digits. */
function luhnSiret(base13) {
  for (let d = 0; d < 10; d += 1) {
    const s = `${base13}${d}`;
    const sum = [...s].reverse().reduce((acc, ch, i) => {
      let n = Number(ch);
      if (i % 2 === 1) {
        n *= 2;
        if (n > 9) n -= 9;
      }
      return acc + n;
    }, 0);
    if (sum % 10 === 0) return s;
  }
  throw new Error('unreachable');
}

const MINIMAL_PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n'
  + '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

async function assertNoSeriousViolations(page, where) {
  await settled(page);
  const violations = await axeSeriousViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${where}:\n${describeViolations(violations)}`);
}

async function assertFits360(page, where) {
  const { scrollWidth, culprits } = await horizontalOverflow(page);
  assert.ok(scrollWidth <= 360, `${where} at 360 px: scrollWidth ${scrollWidth}; too wide: ${culprits.join(', ')}`);
}

const saveStatus = (page) => page.locator('main .save-status');
const graphqlResponse = (page, operation) => page.waitForResponse((r) => r.url().endsWith('/graphql')
  && (r.request().postData() || '').includes(operation));

test('a holder submits one dossier to three funders, answers a question, and gets one summary mail once the conference has decided', async (t) => {
  if (!DATA_DIR || !GUICHET_BIN) {
    assert.ok(process.env.GUICHET_TEST_REQUIRE_ALL !== '1', 'GUICHET_DATA_DIR and GUICHET_BIN are needed');
    t.skip('GUICHET_DATA_DIR or GUICHET_BIN not set');
    return;
  }

  // ---- Accounts and sessions
  const emails = {
    holder: `mairie-${RUN}@example.org`,
    staff: `equipe-${RUN}@example.org`,
    agents: SCHEMES.map((s) => `agent-${s.funder}-${RUN}@example.org`),
  };
  await addAccount(emails.holder, 'holder');
  await addAccount(emails.staff, 'staff');
  for (const [i, s] of SCHEMES.entries()) await addAccount(emails.agents[i], 'funder', s.funder);
  const holder = await loginAs(emails.holder);
  const staff = await loginAs(emails.staff);
  const agents = [];
  for (const email of emails.agents) agents.push(await loginAs(email));

  const { funders } = await gqlAs(null, '{ funders { slug name } }');
  const funderName = Object.fromEntries(funders.map((f) => [f.slug, f.name]));
  for (const s of SCHEMES) assert.ok(funderName[s.funder], `funder ${s.funder} missing from the seed`);

  let dossierId = null;
  let reference = null;

  // ---- 1. The holder fills in the dossier, step by step, and submits it
  await withPage('/dossiers', async ({ page }) => {
    const nav = page.getByRole('navigation', { name: 'Menu principal' });
    await nav.getByRole('link', { name: 'Mes dossiers' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Mes dossiers' }).getAttribute('aria-current'), 'page');
    await assertNoSeriousViolations(page, '« Mes dossiers » (empty)');

    await page.getByRole('link', { name: 'Nouveau dossier' }).click();
    await page.waitForURL(/\/dossiers\/nouveau/);
    await settled(page);
    assert.equal(await page.title(), 'Nouveau dossier — Guichet');
    assert.equal((await page.locator('.stepper a[aria-current="step"]').textContent()).replace(/\s+/g, ' ').trim(), '1 Porteur');

    // Step 1: a wrong SIRET is refused next to its field, in the browser then by the server.
    await page.getByLabel('Nom de la structure').fill('Commune de Cajarc');
    await page.getByLabel('Type de structure').selectOption('COMMUNE');
    const siret = page.getByLabel('Numéro SIRET');
    await siret.fill('12345');
    const box = await typeInCombobox(page, 'Commune du siège', 'Cajarc');
    assert.ok(await arrowDownTo(page, box, /^Cajarc — Lot \(46\)/), 'no option « Cajarc — Lot (46) »');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: /^Retirer la commune Cajarc/ }).waitFor();
    await page.getByLabel('Nom et prénom').fill('Marie Durand');
    await page.getByLabel('Qualité').fill('Maire');
    await page.getByLabel('Adresse électronique').fill(emails.holder);
    await page.getByRole('button', { name: 'Suivant : Projet' }).click();
    const siretError = page.locator('#porteur-siret-erreur');
    await siretError.waitFor();
    assert.match(text(await siretError.innerText()), /14 chiffres/);
    assert.equal(await siret.getAttribute('aria-invalid'), 'true');
    assert.equal(await siret.evaluate((el) => el === document.activeElement), true, 'focus did not go to the SIRET');
    await assertNoSeriousViolations(page, 'the dossier form, step 1 with an error');

    await siret.fill('12345678901234'); // 14 digits, not Luhn-valid: refused by the server
    const refused = graphqlResponse(page, 'CreateDossier');
    await page.getByRole('button', { name: 'Suivant : Projet' }).click();
    const refusal = (await (await refused).json()).errors[0];
    assert.equal(refusal.extensions.code, 'VALIDATION');
    assert.equal(refusal.extensions.field, 'holder.siret');
    await page.waitForFunction((m) => document.getElementById('porteur-siret-erreur').textContent === m, refusal.message);
    assert.equal(await siret.evaluate((el) => el === document.activeElement), true, 'focus did not go to the SIRET');
    assert.match(page.url(), /\/dossiers\/nouveau/, 'a refused save created the dossier');

    await siret.fill(luhnSiret('2146004800001'));
    await page.getByRole('button', { name: 'Suivant : Projet' }).click();
    await page.waitForURL(/\/dossiers\/[^/]+\/modifier\?etape=2$/);
    dossierId = /\/dossiers\/([^/]+)\/modifier/.exec(page.url())[1];
    await page.locator('#etape-2-titre').waitFor();
    assert.equal(await page.locator('#etape-2-titre').evaluate((el) => el === document.activeElement), true);
    assert.match(text(await saveStatus(page).innerText()), /^Enregistré à \d\d:\d\d$/);
    assert.equal(await saveStatus(page).getAttribute('role'), 'status');

    // Step 2: the project; its commune defaults to the holder's; saved after a pause.
    await page.getByLabel('Intitulé du projet').fill(TITLE);
    const themes = page.getByRole('group', { name: 'Thèmes du projet' });
    for (const name of ['Commerce', 'Santé', 'Revitalisation']) await themes.getByRole('checkbox', { name, exact: true }).check();
    assert.match(text(await page.locator('#etape-2 .chosen-commune').innerText()), /Cajarc/);
    await page.getByLabel('Date de début').fill(day(200));
    await page.getByLabel('Date de fin').fill(day(400));
    const autosaved = graphqlResponse(page, 'UpdateDossier');
    await page.getByLabel('Description du projet').fill('Le dernier café du village a fermé : la commune rachète le local pour y rouvrir un café-épicerie avec un point santé.');
    assert.equal((await autosaved).status(), 200);
    await page.waitForFunction(() => /^Enregistré à/.test(document.querySelector('main .save-status').textContent));

    // Step 3: the expenses and their total.
    await page.getByRole('button', { name: 'Suivant : Dépenses' }).click();
    await page.locator('#etape-3-titre').waitFor();
    await page.getByLabel('Libellé').first().fill(EXPENSES[0][0]);
    await page.getByLabel('Montant (€ HT)').first().fill(String(EXPENSES[0][1]));
    await page.getByRole('button', { name: 'Ajouter une dépense' }).click();
    await page.getByLabel('Libellé').nth(1).fill(EXPENSES[1][0]);
    await page.getByLabel('Montant (€ HT)').nth(1).fill(String(EXPENSES[1][1]));
    assert.match(text(await page.locator('main .budget-total').innerText()), /Coût total du projet : 200 000 € HT/);

    // Step 4: the plan, with the three schemes offered for this project, checked as it changes.
    await page.getByRole('button', { name: 'Suivant : Plan de financement' }).click();
    await page.locator('#etape-4-titre').waitFor();
    await page.getByLabel('Fonds propres du porteur (€)').fill(String(OWN_FUNDS));
    for (const [i, s] of SCHEMES.entries()) {
      await page.getByRole('button', { name: 'Ajouter un financement' }).click();
      const select = page.locator(`#etape-4 .plan-line >> nth=${i}`).getByLabel('Dispositif ou financeur');
      await page.locator(`#etape-4 .plan-line >> nth=${i} >> option[value="${s.slug}"]`).waitFor({ state: 'attached' });
      await select.selectOption(s.slug);
      await page.locator(`#etape-4 .plan-line >> nth=${i}`).getByLabel('Montant demandé (€)').fill(String(i === 0 ? s.amount + 10000 : s.amount));
    }
    await page.locator('main .plan-problems').getByText(/équilibr/i).waitFor();
    assert.match(text(await page.locator('main .plan-status').innerText()), /problèmes? à corriger/);
    await page.locator('#etape-4 .plan-line >> nth=0').getByLabel('Montant demandé (€)').fill(String(SCHEMES[0].amount));
    await page.waitForFunction(() => /^Plan vérifié/.test(document.querySelector('main .plan-status').textContent)
      && !document.querySelector('main .plan-check[aria-busy="true"]'));
    await assertNoSeriousViolations(page, 'the dossier form, step 4 (plan)');

    // The form at 360 px, on every step.
    await page.setViewportSize({ width: 360, height: 740 });
    await assertFits360(page, 'step 4');
    await page.getByRole('button', { name: 'Suivant : Pièces jointes' }).click();
    await page.locator('#etape-5-titre').waitFor();
    await assertFits360(page, 'step 5');
    for (const [n, name] of [[1, 'Porteur'], [2, 'Projet'], [3, 'Dépenses'], [6, 'Dépôt'], [5, 'Pièces jointes']]) {
      await page.locator('.stepper').getByRole('link', { name: `${n} ${name}` }).click();
      await page.locator(`#etape-${n}-titre`).waitFor();
      await page.waitForFunction((k) => document.getElementById(`etape-${k}-titre`) === document.activeElement, n);
      await assertFits360(page, `step ${n}`);
      if (n <= 3) await assertNoSeriousViolations(page, `the dossier form, step ${n}`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // Step 5: attachments, uploaded as GraphQL multipart requests; one removed.
    for (const label of ['Délibération du conseil municipal', 'Devis']) {
      await page.getByLabel('Intitulé de la pièce').fill(label);
      await page.getByLabel('Fichier').setInputFiles({ name: `${label === 'Devis' ? 'devis' : 'deliberation'}.pdf`, mimeType: 'application/pdf', buffer: MINIMAL_PDF });
      await page.getByRole('button', { name: 'Joindre la pièce' }).click();
      await page.locator('main .attachment-list').getByRole('link', { name: label, exact: true }).waitFor();
    }
    await page.getByRole('button', { name: 'Retirer la pièce « Devis »' }).click();
    await page.locator('main .attachment-list').getByRole('link', { name: 'Devis', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('main .attachment-item').count(), 1);
    await assertNoSeriousViolations(page, 'the dossier form, step 5 (attachments)');

    // Step 6: what is missing (the certification), the schemes, the submission.
    await page.getByRole('button', { name: 'Suivant : Dépôt' }).click();
    await page.locator('#etape-6-titre').waitFor();
    await settled(page);
    const missing = page.locator('main .missing-list');
    await missing.waitFor();
    const missingText = text(await missing.innerText());
    assert.match(missingText, /^Étape 6 \(Dépôt\) : /, `missing: ${missingText}`);
    assert.doesNotMatch(missingText, /Étape [1-5]/, `missing: ${missingText}`);
    const schemes = page.getByRole('group', { name: 'Dispositifs sollicités' });
    assert.equal(await schemes.getByRole('checkbox').count(), 3);
    for (const cb of await schemes.getByRole('checkbox').all()) assert.equal(await cb.isChecked(), true);
    await assertNoSeriousViolations(page, 'the dossier form, step 6 (submission)');

    const certified = graphqlResponse(page, 'UpdateDossier');
    await page.getByLabel(/^Je certifie sur l’honneur/).check();
    await certified;
    await page.getByText('Le dossier est complet : il peut être déposé.').waitFor();
    // The first attempt is lost on the network: the retry sends the same idempotency key.
    let lostKey = null;
    await page.route('**/graphql', async (route) => {
      const body = route.request().postData() || '';
      if (!lostKey && body.includes('SubmitDossier')) {
        lostKey = JSON.parse(body).variables.key;
        await route.abort('failed');
      } else {
        await route.continue();
      }
    });
    await page.getByRole('button', { name: 'Déposer le dossier' }).click();
    await page.getByText('Vous pouvez réessayer sans risque').waitFor();
    assert.match(page.url(), /\/modifier\?etape=6$/);
    const submitted = graphqlResponse(page, 'SubmitDossier');
    await page.getByRole('button', { name: 'Déposer le dossier' }).click();
    const submitBody = JSON.parse((await submitted).request().postData());
    await page.unroute('**/graphql');
    assert.match(submitBody.variables.key, /^[0-9a-f-]{16,}$/);
    assert.equal(submitBody.variables.key, lostKey, 'the retry did not reuse the idempotency key');
    assert.deepEqual([...submitBody.variables.schemeSlugs].sort(), SCHEMES.map((s) => s.slug).sort());
    await page.waitForURL(new RegExp(`/dossiers/${dossierId}\\?depose=1$`));
    await settled(page);
    reference = /GU-\d{4}-\d+/.exec(await page.locator('main h1').innerText())[0];
    assert.match(text(await page.locator('#dossier-statut').innerText()), /Statut :\s*Déposé/);
    assert.equal(await page.locator('main .review-item').count(), 3);
    assert.equal(await page.getByRole('link', { name: 'Télécharger le PDF' }).getAttribute('href'), `/dossiers/${dossierId}/pdf`);
  }, { storageState: holder, bypassCSP: true });

  const pdf = await fetchAs(holder, `/dossiers/${dossierId}/pdf`);
  assert.equal(pdf.status, 200);
  assert.match(pdf.type, /application\/pdf/);

  // ---- 2. The State's agent starts the review and asks a question
  const stateAgent = agents[0];
  await withPage('/instruction', async ({ page }) => {
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Instruction' }).waitFor();
    await page.getByLabel('Statut').selectOption('SUBMITTED');
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page.waitForURL(/\/instruction\?statut=SUBMITTED$/);
    await settled(page);
    const link = page.getByRole('link', { name: new RegExp(`^${reference} — `) });
    await link.waitFor();
    await assertNoSeriousViolations(page, 'the instruction inbox');
    await link.click();
    await page.waitForURL(new RegExp(`/instruction/${dossierId}$`));
    await settled(page);
    await page.getByRole('button', { name: 'Commencer l’instruction' }).click();
    await page.waitForFunction(() => /En instruction/.test(document.querySelector('.review-mine').textContent));
    await page.getByLabel('Votre question').fill(QUESTION);
    await page.getByRole('button', { name: 'Envoyer la question' }).click();
    await page.locator('main .request-item').getByText(QUESTION).waitFor();
    assert.match(text(await page.locator('main .request-item').innerText()), /En attente de la réponse du porteur/);
    assert.match(text(await page.locator('#dossier-statut').innerText()), /Informations demandées/);
    await page.getByLabel('Nouvelle note').fill(NOTE);
    await page.getByRole('button', { name: 'Ajouter la note' }).click();
    await page.locator('main .note-item').getByText(NOTE).waitFor();
    await assertNoSeriousViolations(page, 'a dossier seen by a funder agent');
  }, { storageState: stateAgent, bypassCSP: true });

  // ---- 3. The holder answers on the tracking page
  await withPage(`/dossiers/${dossierId}`, async ({ page }) => {
    assert.match(text(await page.locator('#dossier-statut').innerText()), /Une question d’un financeur attend votre réponse/);
    assert.equal(await page.getByRole('heading', { name: 'Notes privées' }).count(), 0, 'the holder sees the private notes section');
    assert.equal(await page.getByText(NOTE).count(), 0, 'the holder sees a private note');
    await assertNoSeriousViolations(page, 'the tracking page with an open question');
    await page.getByLabel('Votre réponse').fill(ANSWER);
    await page.getByRole('button', { name: 'Envoyer la réponse' }).click();
    await page.locator('main .request-answer').getByText(ANSWER).waitFor();
    assert.equal(await page.getByLabel('Votre réponse').count(), 0);
  }, { storageState: holder, bypassCSP: true });

  // ---- 4. Staff create a conference of the three funders, put the dossier on it, open it
  let conferenceId = null;
  const conferenceTitle = `Conférence des financeurs du Lot ${RUN}`;
  await withPage('/conferences', async ({ page }) => {
    await page.getByLabel('Intitulé').fill(conferenceTitle);
    await page.getByLabel('Date de la séance').fill(day(20));
    const group = page.getByRole('group', { name: 'Financeurs invités' });
    for (const s of SCHEMES) await group.getByRole('checkbox', { name: funderName[s.funder], exact: true }).check();
    await assertNoSeriousViolations(page, 'the conferences page');
    await page.getByRole('button', { name: 'Créer la conférence' }).click();
    await page.waitForURL(/\/conferences\/[^/]+$/);
    conferenceId = /\/conferences\/([^/]+)$/.exec(page.url())[1];
    await settled(page);
    assert.equal(text(await page.locator('main h1').innerText()), conferenceTitle);
    const option = page.locator('#ordre-du-jour-dossier option', { hasText: reference });
    await page.getByLabel('Dossier à inscrire').selectOption(await option.getAttribute('value'));
    await page.getByRole('button', { name: 'Ajouter à l’ordre du jour' }).click();
    await page.locator('main .decision-grid').getByRole('link', { name: reference }).waitFor();
    await page.getByRole('button', { name: 'Ouvrir la conférence' }).click();
    await page.getByRole('button', { name: 'Clore la conférence' }).waitFor();
  }, { storageState: staff, bypassCSP: true });

  // ---- 5. The State's agent decides on its page, and sees its co-funders
  await withPage(`/instruction/${dossierId}`, async ({ page }) => {
    assert.match(text(await page.locator('main .request-answer').innerText()), new RegExp(ANSWER.slice(0, 20)));
    const form = page.locator('#instruction-titre').locator('..');
    await form.getByRole('radio', { name: 'Accordé' }).check();
    assert.equal(await form.getByLabel('Montant accordé (€)').inputValue(), String(SCHEMES[0].amount));
    await form.getByLabel('Motivation').fill('Projet de revitalisation prioritaire pour le département.');
    await page.getByRole('button', { name: 'Enregistrer la décision' }).click();
    await page.getByText(/Décision enregistrée : Accordé : 60\s000\s€/).waitFor();
    const reviews = text(await page.locator('main .review-list').innerText());
    for (const s of SCHEMES) assert.ok(reviews.includes(text(funderName[s.funder])), `co-funder ${s.funder} not shown`);
  }, { storageState: stateAgent, bypassCSP: true });

  // ---- 6. Staff: closing too early lists what is missing; the two decisions in the grid; close
  await withPage(`/conferences/${conferenceId}`, async ({ page }) => {
    await page.getByRole('button', { name: 'Clore la conférence' }).click();
    const conflict = page.locator('main .conflict');
    await conflict.waitFor();
    const conflictText = text(await conflict.innerText());
    for (const s of SCHEMES.slice(1)) assert.ok(conflictText.includes(text(funderName[s.funder])), `missing decision of ${s.funder} not listed: ${conflictText}`);
    await assertNoSeriousViolations(page, 'the conference grid with the conflict');

    for (const s of SCHEMES.slice(1)) {
      const name = funderName[s.funder];
      await page.getByRole('button', { name: `Saisir la décision de ${name} pour le dossier ${reference}` }).click();
      const panel = page.getByRole('group', { name: `Décision de ${name} pour le dossier ${reference}` });
      await panel.getByRole('radio', { name: 'Accordé' }).check();
      assert.equal(await panel.getByLabel('Montant accordé (€)').inputValue(), String(s.amount));
      await panel.getByLabel('Motivation').fill('Accord en conférence des financeurs.');
      if (s === SCHEMES[1]) await assertNoSeriousViolations(page, 'the conference grid with a decision form');
      await panel.getByRole('button', { name: 'Enregistrer la décision' }).click();
      await page.getByRole('button', { name: `Saisir la décision de ${name} pour le dossier ${reference}` }).waitFor({ state: 'detached' });
    }
    assert.equal(await page.locator('main .decision-grid .grid-decision', { hasText: 'Accordé' }).count(), 3);
    await page.getByRole('button', { name: 'Clore la conférence' }).click();
    await page.locator('#proces-verbal-titre').waitFor();
    assert.ok((await page.locator('main .minutes').innerText()).includes(reference), 'the minutes do not name the dossier');
    const minutesHref = await page.getByRole('link', { name: 'Télécharger le procès-verbal' }).getAttribute('href');
    const csvHref = await page.getByRole('link', { name: 'Télécharger les décisions (CSV)' }).getAttribute('href');
    assert.equal(minutesHref, `/conferences/${conferenceId}/proces-verbal`);
    assert.equal(csvHref, `/conferences/${conferenceId}/decisions.csv`);
    await assertNoSeriousViolations(page, 'a closed conference');
  }, { storageState: staff, bypassCSP: true });

  const minutes = await fetchAs(staff, `/conferences/${conferenceId}/proces-verbal`);
  assert.equal(minutes.status, 200);
  assert.ok(minutes.text.includes(reference));
  const csv = await fetchAs(staff, `/conferences/${conferenceId}/decisions.csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.type, /csv/);

  // ---- 7. One summary mail for the dossier reaches the holder, and no separate decision mail
  const toHolder = (mails) => mails.filter((m) => m.to.includes(emails.holder));
  const summaries = (mails) => toHolder(mails).filter((m) => /^Décisions de la conférence des financeurs/.test(m.subject) && m.text.includes(reference));
  await waitForMails((mails) => summaries(mails).length > 0, `summary mail to ${emails.holder}`);
  const all = await readMails();
  assert.equal(summaries(all).length, 1, `summary mails: ${summaries(all).map((m) => m.file).join(', ')}`);
  const summary = summaries(all)[0];
  for (const s of SCHEMES) assert.ok(summary.text.includes(funderName[s.funder]), `the summary does not name ${funderName[s.funder]}`);
  const decisionMails = toHolder(all).filter((m) => /^Décision de /.test(m.subject));
  assert.deepEqual(decisionMails.map((m) => m.subject), [], 'decisions taken in conference were mailed one by one');

  // ---- 8. The holder sees every decision
  await withPage(`/dossiers/${dossierId}`, async ({ page }) => {
    assert.match(text(await page.locator('#dossier-statut').innerText()), /Statut :\s*Décidé/);
    assert.equal(await page.locator('main .review-item', { hasText: 'Accordé' }).count(), 3);
    assert.match(text(await page.locator('main .timeline').innerText()), /Décision de/);
    await assertNoSeriousViolations(page, 'the tracking page of a decided dossier');
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Mes dossiers' }).click();
    await page.waitForURL(`${BASE}/dossiers`);
    await settled(page);
    await page.getByRole('link', { name: new RegExp(`^${reference} — `) }).waitFor();
    await assertNoSeriousViolations(page, '« Mes dossiers »');
  }, { storageState: holder, bypassCSP: true });
});

test('the dossier form’s first load (its modules loaded on demand) transfers less than 150 KB', async () => {
  await assertFirstLoadUnder150KB('/dossiers/nouveau');
});
