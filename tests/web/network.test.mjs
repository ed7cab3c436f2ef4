// Browser test of funder networks (issue 14), against a running Guichet server started with
// its seed catalogue:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data GUICHET_BIN=target/debug/guichet \
//     node --test network.test.mjs
//
// 1. The LEADER scheme of the GAL du Pays de Chaumont: its GAL (a service of « Union
//    européenne — FEADER » in the seed) has no agent and no contact address, so the scheme page
//    says « Ce financeur ne reçoit pas encore les dossiers par Guichet » with a link to apply.
// 2. A commune of Haute-Marne (Ageville) submits a DETR dossier: it reaches the Préfecture de la
//    Haute-Marne (the seed service of « État — préfectures » for département 52). An agent of the
//    network's head opens it read-only (no button to start the review), the préfecture's agent
//    can start it, and the holder's page names the service the dossier was sent to.
// Every page is audited with axe-core. Without GUICHET_DATA_DIR or GUICHET_BIN the second test
// is skipped (it fails under GUICHET_TEST_REQUIRE_ALL=1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, withPage, settled, text, axeSeriousViolations, describeViolations,
  DATA_DIR, GUICHET_BIN, addAccount, loginAs, gqlAs,
} from './helpers.mjs';

useBrowser();

const RUN = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;

async function assertNoSeriousViolations(page, where) {
  await settled(page);
  const violations = await axeSeriousViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${where}:\n${describeViolations(violations)}`);
}

test('a scheme whose funder does not receive in Guichet says where to apply', async () => {
  await withPage('/dispositifs/leader-2023-2027-gal-pays-de-chaumont', async ({ page }) => {
    const note = page.locator('#ne-recoit-pas');
    await note.waitFor();
    assert.match(text(await note.textContent()), /Ce financeur ne reçoit pas encore les dossiers par Guichet : déposez votre demande sur sa page/);
    const link = note.getByRole('link', { name: 'déposez votre demande sur sa page' });
    assert.ok(await link.getAttribute('href'), 'the note links to where to apply');
    await assertNoSeriousViolations(page, 'a scheme page whose funder does not receive');
  }, { bypassCSP: true });
  // A scheme whose funder receives (the DETR once a préfecture has an agent) does not say so:
  // checked in the second test.
});

test('a dossier reaches the préfecture of its département; the network head reads it only', async (t) => {
  if (!DATA_DIR || !GUICHET_BIN) {
    assert.ok(process.env.GUICHET_TEST_REQUIRE_ALL !== '1', 'GUICHET_DATA_DIR and GUICHET_BIN are needed');
    t.skip('GUICHET_DATA_DIR or GUICHET_BIN not set');
    return;
  }
  const emails = {
    holder: `ageville-${RUN}@example.org`,
    head: `national-${RUN}@example.org`,
    prefecture: `haute-marne-${RUN}@example.org`,
  };
  await addAccount(emails.holder, 'holder');
  await addAccount(emails.head, 'funder', 'etat-prefectures');
  await addAccount(emails.prefecture, 'funder', 'prefecture-haute-marne');
  const holder = await loginAs(emails.holder);
  const head = await loginAs(emails.head);
  const prefecture = await loginAs(emails.prefecture);

  const input = {
    holder: {
      legalName: "Commune d'Ageville", holderType: 'COMMUNE', siret: '21520269900017', communeCode: '52001',
      representative: { name: 'Claire Martin', role: 'Maire', email: emails.holder, phone: '03 25 00 00 00' },
    },
    project: {
      title: `Rénovation de la mairie ${RUN}`,
      description: 'La commune rénove sa mairie pour la rendre accessible et moins coûteuse à chauffer.',
      themes: ['energie-climat'], communeCode: '52001', startsOn: '2027-09-01', endsOn: '2027-12-31',
    },
    expenses: [{ label: 'Travaux', amount: 100000 }],
    financingPlan: { ownFunds: 50000, lines: [{ schemeSlug: 'detr', amount: 50000 }] },
    certified: true,
  };
  const created = await gqlAs(holder, 'mutation($input: DossierInput!) { createDossier(input: $input) { id missing { field message } } }', { input });
  assert.deepEqual(created.createDossier.missing, [], JSON.stringify(created.createDossier.missing));
  const id = created.createDossier.id;
  const submitted = await gqlAs(holder, `mutation($id: ID!) { submitDossier(id: $id, schemeSlugs: ["detr"], idempotencyKey: "depot-reseau-${RUN}") {
    reference reviews { funder { slug name } } } }`, { id });
  const reviews = submitted.submitDossier.reviews;
  assert.deepEqual(reviews.map((r) => r.funder.slug), ['prefecture-haute-marne']);

  // The holder's page names the service it was sent to.
  await withPage(`/dossiers/${id}?depose=1`, async ({ page }) => {
    const done = page.getByRole('status').filter({ hasText: 'Votre dossier est déposé' });
    await done.waitFor();
    assert.match(text(await done.textContent()), /transmis à Préfecture de la Haute-Marne, qui en est averti par courriel/);
    await assertNoSeriousViolations(page, 'the holder’s dossier page after submission');
  }, { storageState: holder, bypassCSP: true });

  // The head of the network reads it, read-only.
  await withPage(`/instruction/${id}`, async ({ page }) => {
    const readOnly = page.locator('#lecture-seule');
    await readOnly.waitFor();
    assert.match(text(await readOnly.textContent()), /lecture seule : ce dossier est instruit par Préfecture de la Haute-Marne/);
    assert.equal(await page.getByRole('button', { name: /Commencer l.instruction/ }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Envoyer la question' }).count(), 0);
    await assertNoSeriousViolations(page, 'a dossier read by the network head');
  }, { storageState: head, bypassCSP: true });
  const list = await gqlAs(head, '{ dossiers(first: 50) { nodes { id } } }');
  assert.ok(list.dossiers.nodes.some((d) => d.id === id), 'the head sees the dossier in its inbox');

  // The préfecture's agent instructs it.
  await withPage(`/instruction/${id}`, async ({ page }) => {
    const start = page.getByRole('button', { name: /Commencer l.instruction/ });
    await start.waitFor();
    assert.equal(await page.locator('#lecture-seule').count(), 0);
    await assertNoSeriousViolations(page, 'a dossier instructed by the préfecture');
  }, { storageState: prefecture, bypassCSP: true });

  // With an agent at the Préfecture de la Haute-Marne, the DETR receives: the page says nothing.
  await withPage('/dispositifs/detr', async ({ page }) => {
    await settled(page);
    assert.equal(await page.locator('#ne-recoit-pas').count(), 0);
  });
});
