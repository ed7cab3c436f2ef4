// Browser tests of the holder's way through (issue 14): « Préparer mon dossier » from « Mon
// projet » and from a scheme page (a draft with the project, its plan and the scheme chosen; the
// funder's application page when it does not receive in Guichet), the home page's commune kept
// in the search, Entrée choosing the first commune proposed, and the return to the page the
// user was on after logging in. Against a running server:
//
//   GUICHET_URL=http://127.0.0.1:8080 GUICHET_DATA_DIR=/path/to/data node --test holder-way.test.mjs
//
// Logging in reads the magic link from `$GUICHET_DATA_DIR/mail/` (skipped without it).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, useBrowser, withPage, settled, text, axeSeriousViolations, describeViolations,
  loginAs, gqlAs, waitForMails, addAccount, DATA_DIR, GUICHET_BIN,
} from './helpers.mjs';

useBrowser();

const unique = (prefix) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
const CAFES = 'programme-1000-cafes';
const START = new Date(Date.now() + 200 * 24 * 3600 * 1000).toISOString().slice(0, 10);
const PROJECT_ADDRESS = `/projet?${new URLSearchParams([
  ['porteur', 'COMMUNE'], ['commune', '52017'], ['theme', 'commerce'], ['cout', '120000'], ['debut', START],
  ['description', 'Rouvrir le dernier café-épicerie du village. Une salle et une épicerie.'],
])}`;
const DOSSIER = `query($id: ID!) { dossier(id: $id) {
  status project { title communeCode themes startsOn } budget { expenses { amount } }
  financingPlan { ownFunds lines { schemeSlug funderName amount } } } }`;

async function assertAccessible(page) {
  const violations = await axeSeriousViolations(page);
  assert.deepEqual(violations, [], describeViolations(violations));
}

test('the commune chosen on the home page with Entrée stays chosen in the search', async () => {
  await withPage('/', async ({ page }) => {
    const box = page.getByRole('combobox', { name: 'Rechercher une commune' });
    await box.focus();
    // Entrée without choosing in the list takes the first commune proposed.
    await box.pressSequentially('chaumont');
    await page.keyboard.press('Enter');
    const card = page.locator('.commune-card');
    await card.waitFor();
    assert.match(text(await card.innerText()), /Chaumont/);
    await assertAccessible(page);
    const browse = page.getByRole('link', { name: /^Parcourir tous les dispositifs à Chaumont/ });
    assert.match(await browse.getAttribute('href'), /^\/recherche\?commune=\d{5}$/);

    const words = page.getByRole('searchbox', { name: 'Que cherchez-vous ?' });
    await words.fill('café');
    await words.press('Enter');
    await page.waitForURL((url) => url.pathname === '/recherche' && url.searchParams.get('q') === 'café' && /^\d{5}$/.test(url.searchParams.get('commune') || ''));
    await settled(page);
    await page.getByRole('button', { name: /^Retirer la commune Chaumont/ }).waitFor();

    // Back on the home page the commune is still there.
    await page.goBack();
    await settled(page);
    await page.locator('.commune-card').waitFor();
  }, { bypassCSP: true });
});

describe('with a session', { skip: !DATA_DIR && 'GUICHET_DATA_DIR is not set' }, () => {
  test('after login the user comes back to the page they were on', async () => {
    const email = unique('retour-web');
    await withPage(`/dispositifs/${CAFES}`, async ({ page }) => {
      await page.locator('#nav-compte').click();
      await page.waitForURL(`${BASE}/connexion`);
      await settled(page);
      await page.getByLabel('Adresse électronique').fill(email);
      await page.getByRole('button', { name: 'Recevoir un lien de connexion' }).click();
      await page.getByText(/un lien de connexion vient de vous être envoyé/).waitFor();
      const link = await waitForMails((mails) => {
        for (const m of mails.filter((x) => x.to.includes(email)).reverse()) {
          const found = /https?:\/\/[^\s"'<>]*\/login\?token=[A-Za-z0-9_-]+[^\s"'<>]*/.exec(m.text);
          if (found) return new URL(found[0]);
        }
        return null;
      }, `login link for ${email}`);
      assert.equal(link.searchParams.get('retour'), `/dispositifs/${CAFES}`);
      await page.goto(`${BASE}${link.pathname}${link.search}`);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      await page.waitForURL(`${BASE}/dispositifs/${CAFES}`);
      await settled(page);
      assert.equal(await page.locator('#nav-compte').innerText(), 'Mon compte');
    });
  });

  test('« Préparer mon dossier » on a match of « Mon projet » makes a draft with the project, the plan and the scheme', { skip: !GUICHET_BIN && 'GUICHET_BIN is not set' }, async () => {
    const holder = await loginAs(unique('preparer-web'));
    // The seed's funders have no agent: give one to the funder of a scheme the project may
    // get, so that it receives in Guichet.
    const { matchProject } = await gqlAs(holder, `query($p: ProjectInput!) { matchProject(project: $p) {
      matches { verdict relevant receivesInGuichet scheme { slug funders { slug } } } } }`,
    { p: { holderType: 'COMMUNE', communeCode: '52017', themes: ['commerce'], totalCost: 120000, startsOn: START } });
    const possible = matchProject.matches.filter((m) => m.verdict !== 'INELIGIBLE' && m.relevant !== false);
    assert.ok(possible.length > 0, 'a scheme the project may get');
    const target = possible.reduce((a, b) => (b.scheme.funders.length < a.scheme.funders.length ? b : a));
    if (!target.receivesInGuichet) {
      for (const f of target.scheme.funders) await addAccount(unique('preparer-agent'), 'funder', f.slug);
    }
    await withPage(PROJECT_ADDRESS, async ({ page }) => {
      await page.locator('.plan-editor').waitFor();
      await page.locator('.plan-status').filter({ hasText: /./ }).waitFor();
      await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
      const prepare = page.getByRole('link', { name: /^Préparer mon dossier pour « / }).first();
      await prepare.waitFor();
      await assertAccessible(page);
      const href = await prepare.getAttribute('href');
      const slug = new URLSearchParams(href.split('?')[1]).get('dispositif');
      assert.ok(slug);
      // The funders that do not receive in Guichet send to their own application page instead.
      for (const other of await page.getByRole('link', { name: /^Candidater sur le site du financeur pour « / }).all()) {
        assert.match(await other.getAttribute('href'), /^https?:\/\//);
      }
      await prepare.click();
      await page.waitForURL(/\/dossiers\/[^/]+\/modifier\?etape=1$/);
      await settled(page);
      await page.getByText(/Brouillon créé à partir de « Mon projet »/).waitFor();
      await assertAccessible(page);
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
      const { dossier } = await gqlAs(holder, DOSSIER, { id });
      assert.equal(dossier.status, 'DRAFT');
      assert.equal(dossier.project.communeCode, '52017');
      assert.deepEqual(dossier.project.themes, ['commerce']);
      assert.equal(dossier.project.startsOn, START);
      assert.equal(dossier.project.title, 'Rouvrir le dernier café-épicerie du village.');
      assert.deepEqual(dossier.budget.expenses.map((e) => e.amount), [120000]);
      assert.ok(dossier.financingPlan.lines.some((l) => l.schemeSlug === slug), 'the scheme is in the plan');
      // Reloading opens the same draft: no second one.
      await page.reload({ waitUntil: 'networkidle' });
      await settled(page);
      assert.equal(decodeURIComponent(new URL(page.url()).pathname.split('/')[2]), id);
    }, { storageState: holder, bypassCSP: true });
  });

  test('the scheme page offers the next step: a dossier in Guichet, or the funder’s application page', async () => {
    const holder = await loginAs(unique('fiche-web'));
    const { scheme } = await gqlAs(holder, 'query($s: String!) { scheme(slug: $s) { receivesInGuichet applicationUrl sourceUrl } }', { s: CAFES });
    await withPage(`/dispositifs/${CAFES}`, async ({ page }) => {
      await assertAccessible(page);
      if (scheme.receivesInGuichet) {
        await page.getByRole('link', { name: 'Préparer mon dossier' }).click();
        await page.waitForURL(/\/dossiers\/[^/]+\/modifier\?etape=1$/);
        await settled(page);
        const id = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
        const { dossier } = await gqlAs(holder, DOSSIER, { id });
        assert.ok(dossier.financingPlan.lines.some((l) => l.schemeSlug === CAFES));
      } else {
        const link = page.getByRole('link', { name: 'Candidater sur le site du financeur' });
        assert.equal(await link.getAttribute('href'), scheme.applicationUrl || scheme.sourceUrl);
        assert.equal(await page.getByRole('link', { name: 'Préparer mon dossier' }).count(), 0);
      }
    }, { storageState: holder, bypassCSP: true });
  });
});
