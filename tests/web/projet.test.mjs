// Browser tests of « Mon projet » (/projet): the project form, the schemes by verdict and
// funder with their criteria, and the financing plan checked as the holder edits it, against a
// running Guichet server started with its seed catalogue (catalog/seed/schemes.json) and all
// French territories:
//
//   GUICHET_URL=http://127.0.0.1:8080 node --test projet.test.mjs
//
// What they rely on: the commune Arc-en-Barrois (52017, Haute-Marne, a few hundred
// inhabitants); in the seed, the national scheme `programme-1000-cafes` (theme `commerce`,
// open to communes, permanent, every condition stated) ELIGIBLE for a commune there with the
// theme `commerce` and a cost of 120 000 € (the rural-commerce programme is now bounded by a
// zoning and to check), and a suggested plan with at least one
// line. The expected counts, lines and messages are asked from the API itself, so that the
// tests follow the catalogue. The last test imports (with the `guichet` command, as staff would)
// a scheme of its own for Ageville (52001) with a condition to check, and archives it at the end.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, useBrowser, withPage, settled, text, typeInCombobox, arrowDownTo,
  axeSeriousViolations, describeViolations, horizontalOverflow, assertFirstLoadUnder150KB,
  guichet, GUICHET_BIN, DATA_DIR,
} from './helpers.mjs';

useBrowser();

const NATIONAL = 'programme-1000-cafes';
const HOSTILE = '<img src=x onerror=alert(1)>';

/** A start of works well after today: signing nothing before filing. */
const START = (() => {
  const d = new Date(Date.now() + 200 * 24 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
})();

const PROJECT = {
  holderType: 'COMMUNE',
  communeCode: '52017',
  themes: ['commerce'],
  totalCost: 120000,
  startsOn: START,
  text: 'Rouvrir le dernier café-épicerie du village',
};

const ADDRESS = `/projet?${new URLSearchParams([
  ['porteur', 'COMMUNE'], ['commune', '52017'], ['theme', 'commerce'], ['cout', '120000'], ['debut', START],
  ['description', PROJECT.text],
])}`;

const MATCH_QUERY = `query($p: ProjectInput!) {
  matchProject(project: $p, includeIneligible: true) {
    eligibleCount toCheckCount
    matches { verdict relevant scheme { slug funders { name } } criteria { code status message } }
  }
  suggestFinancingPlan(project: $p) { ownFunds totalAid totalLoans warnings lines { schemeSlug funderName amount public aidType reason } }
}`;

const CHECK_QUERY = `query($plan: FinancingPlanInput!) {
  checkFinancingPlan(plan: $plan) { balanced publicShare ownShare violations { code message line } warnings }
}`;

async function api(query, variables) {
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.ok(!body.errors, `GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** What the API answers for PROJECT: the matches and the suggested plan. */
let expected;

before(async () => {
  const data = await api(MATCH_QUERY, { p: PROJECT });
  const national = data.matchProject.matches.find((m) => m.scheme.slug === NATIONAL);
  assert.ok(national, `${NATIONAL} is not in the seed catalogue`);
  assert.equal(national.verdict, 'ELIGIBLE', `${NATIONAL} is not eligible for a commerce project in Arc-en-Barrois`);
  assert.ok(data.suggestFinancingPlan.lines.length > 0, 'the suggested plan has no line');
  expected = data;
});

const plural = (n, one, many) => (n > 1 ? many : one);

/** The results heading the page should show: « 4 dispositifs éligibles, aucun à vérifier ». */
function countsHeading({ eligibleCount: e, toCheckCount: t }) {
  const eligible = e === 0 ? 'Aucun dispositif éligible' : `${e} ${plural(e, 'dispositif éligible', 'dispositifs éligibles')}`;
  return `${eligible}, ${t === 0 ? 'aucun' : t} à vérifier`;
}

const percent = (x) => text(`${new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 }).format(x * 100)}\u00a0%`);

const heading = (page) => page.locator('#projet-resultats-titre');
const verdict = (page, slug) => page.locator(`#section-verdict-${slug}`);
const planLines = (page) => page.locator('main .plan-line');
const planStatus = (page) => page.locator('main .plan-status');
const topProblems = (page) => page.locator('main .plan-problems');
const schemeLinks = (locator) => locator.locator('.match-title a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
const focusedId = (page) => page.evaluate(() => document.activeElement?.id || '');

/** Waits until the plan's check has answered (nothing busy) and returns its status. */
async function planChecked(page) {
  await settled(page);
  return text((await planStatus(page).innerText()).trim());
}

/** Asserts that the plan shown equals the suggestion and is checked without problem. */
async function assertSuggestedPlan(page) {
  const plan = expected.suggestFinancingPlan;
  assert.equal(await page.getByLabel('Fonds propres du porteur (€)').inputValue(), String(plan.ownFunds));
  assert.equal(await planLines(page).count(), plan.lines.length);
  for (const [i, line] of plan.lines.entries()) {
    // Loans are listed apart from aid: the line is found by its number.
    const row = planLines(page).filter({ has: page.locator('legend', { hasText: new RegExp(`^Ligne ${i + 1}$`) }) });
    assert.equal(await row.count(), 1, `no line ${i + 1}`);
    assert.equal(await row.getByLabel('Dispositif ou financeur').inputValue(), line.schemeSlug);
    assert.equal(await row.getByLabel('Montant (€)').inputValue(), String(line.amount));
    assert.equal(await row.getByLabel('Financement public').isChecked(), line.public);
    assert.equal(await row.getByLabel('Forme').inputValue(), line.aidType);
    assert.equal(text(await row.locator('.plan-line-reason').innerText()), text(line.reason), 'the line does not say why it is there');
    assert.equal(await row.evaluate((li) => !!li.closest('.plan-loans')), line.aidType !== 'GRANT');
  }
  assert.match(await planChecked(page), /^Plan vérifié/);
  assert.equal(text(await page.locator('main .plan-summary').innerText()).includes('Équilibré'), true);
  assert.equal(await page.locator('main .plan-line .line-problems li').count(), 0);
}

test('« Mon projet »: the form finds the schemes by verdict and funder, the plan is checked as it is edited, and the address brings it all back', async () => {
  await withPage('/projet', async ({ page }) => {
    const nav = page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Mon projet' });
    assert.equal(await nav.getAttribute('aria-current'), 'page');
    assert.equal(text(await page.locator('main h1').innerText()), 'Mon projet');
    assert.equal(await page.title(), 'Mon projet — Guichet');
    assert.equal(await page.locator('#projet-resultats-titre').isVisible(), false, 'results shown before any project');

    // Sending the empty form: the two required fields say what is missing, focus goes to the first.
    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    const holder = page.getByLabel('Type de porteur');
    await page.locator('#projet-porteur-erreur').waitFor();
    assert.match(text(await page.locator('#projet-porteur-erreur').innerText()), /type de porteur/);
    assert.equal(await holder.getAttribute('aria-invalid'), 'true');
    assert.match(await holder.getAttribute('aria-describedby'), /projet-porteur-erreur/);
    assert.match(text(await page.locator('#projet-commune-erreur').innerText()), /commune/);
    assert.equal(await focusedId(page), 'projet-porteur', 'focus did not go to the first field in error');
    await page.waitForFunction(() => /2 erreurs/.test(document.getElementById('annonce').textContent));
    assert.equal(new URL(page.url()).search, '', 'an invalid form changed the address');

    // Filling it in.
    await holder.selectOption('COMMUNE');
    const box = await typeInCombobox(page, 'Commune du projet', 'Arc-en-Barrois');
    const chosen = await arrowDownTo(page, box, /^Arc-en-Barrois — Haute-Marne \(52\)/);
    assert.ok(chosen, 'no option « Arc-en-Barrois — Haute-Marne (52) » in the commune list');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Retirer la commune Arc-en-Barrois' }).waitFor();
    assert.match(text(await page.locator('main .chosen-commune').innerText()), /Arc-en-Barrois — Haute-Marne \(52\)/);
    assert.equal(await page.locator('#projet-commune-erreur').isVisible(), false, 'the commune error stayed');

    const themes = page.getByRole('group', { name: 'Thèmes du projet' });
    await themes.getByRole('checkbox', { name: 'Commerce', exact: true }).check();
    await page.getByLabel('Coût total du projet (€)').fill('120000');
    const start = page.getByLabel('Date de début des travaux');
    await start.fill(START);
    const startHint = await start.evaluate((el) => el.getAttribute('aria-describedby').split(' ')
      .map((id) => document.getElementById(id).textContent).join(' '));
    assert.match(startHint, /devis/);
    assert.match(startHint, /inéligible/);
    await page.getByLabel('Description du projet').fill(PROJECT.text);

    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    await page.waitForURL((url) => url.searchParams.get('commune') === '52017');
    await settled(page);
    const p = new URL(page.url()).searchParams;
    assert.equal(p.get('porteur'), 'COMMUNE');
    assert.deepEqual(p.getAll('theme'), ['commerce']);
    assert.equal(p.get('cout'), '120000');
    assert.equal(p.get('debut'), START);
    assert.equal(p.get('description'), PROJECT.text);

    // Results, grouped by verdict then funder, each scheme with its criteria.
    const match = expected.matchProject;
    assert.equal(text((await heading(page).innerText()).trim()), countsHeading(match));
    assert.equal(await focusedId(page), 'projet-resultats-titre', 'focus did not move to the results');
    await page.waitForFunction((t) => document.getElementById('annonce').textContent.replace(/[\u00a0\u202f]/g, ' ').startsWith(t), countsHeading(match));

    const eligible = match.matches.filter((m) => m.verdict === 'ELIGIBLE');
    const toCheck = match.matches.filter((m) => m.verdict === 'TO_CHECK');
    const ineligible = match.matches.filter((m) => m.verdict === 'INELIGIBLE');
    assert.equal(text(await verdict(page, 'eligibles').locator('h3').innerText()), `Éligibles (${eligible.length})`);
    const eligibleLinks = await schemeLinks(verdict(page, 'eligibles'));
    assert.deepEqual([...eligibleLinks].sort(), eligible.map((m) => `/dispositifs/${m.scheme.slug}`).sort());
    // The relevant schemes by funder, then the others (themes that differ), folded.
    const firstFunders = (list) => [...new Set(list.map((m) => m.scheme.funders[0].name))];
    const relevantEligible = eligible.filter((m) => m.relevant);
    const otherEligible = eligible.filter((m) => !m.relevant);
    const funders = [...firstFunders(relevantEligible), ...firstFunders(otherEligible)];
    assert.deepEqual((await verdict(page, 'eligibles').locator('h4').allTextContents()).map(text), funders.map(text));
    const relevantBlocks = verdict(page, 'eligibles').locator(':scope > .funder-block');
    for (const name of firstFunders(relevantEligible)) {
      const block = relevantBlocks.filter({ has: page.getByRole('heading', { name, exact: true }) });
      const inBlock = await schemeLinks(block);
      const wanted = relevantEligible.filter((m) => m.scheme.funders[0].name === name).map((m) => `/dispositifs/${m.scheme.slug}`);
      assert.deepEqual([...inBlock].sort(), [...wanted].sort(), `schemes under « ${name} »`);
    }
    const others = verdict(page, 'eligibles').locator('details.other-schemes');
    if (otherEligible.length) {
      assert.equal(await others.evaluate((d) => d.open), false, 'the schemes of other themes are not folded');
      assert.equal(text(await others.locator('summary').innerText()), `Autres dispositifs possibles (thèmes différents) : ${otherEligible.length}`);
      assert.deepEqual([...await schemeLinks(others)].sort(), otherEligible.map((m) => `/dispositifs/${m.scheme.slug}`).sort());
    } else {
      assert.equal(await others.count(), 0);
    }
    const national = page.locator('main .match').filter({ has: page.locator(`a[href="/dispositifs/${NATIONAL}"]`) });
    const nationalText = text(await national.innerText());
    assert.match(nationalText, /Montant estimé : (jusqu’à |de |à partir de )?\d[\d ]* €|Montant estimé : montant à préciser/);
    const nationalCriteria = match.matches.find((m) => m.scheme.slug === NATIONAL).criteria;
    assert.equal(await national.locator('.criterion').count(), nationalCriteria.length);
    // Every condition met; the themes are information, not a condition « Rempli ».
    assert.equal(await national.locator('.criterion', { hasText: '✓ Rempli' }).count(), nationalCriteria.filter((c) => c.code !== 'THEME').length);
    const themeLine = text(await national.locator('.criterion[data-code="THEME"]').innerText());
    assert.match(themeLine, /Information/);
    assert.doesNotMatch(themeLine, /Rempli|Non rempli|À vérifier/);
    for (const c of nationalCriteria) assert.ok(nationalText.includes(text(c.message)), `criterion « ${c.message} » not shown`);

    if (toCheck.length) {
      assert.equal(text(await verdict(page, 'a-verifier').locator('h3').innerText()), `À vérifier (${toCheck.length})`);
      assert.ok(await verdict(page, 'a-verifier').locator('.criterion', { hasText: '? À vérifier' }).count() > 0);
    } else {
      assert.equal(await verdict(page, 'a-verifier').count(), 0);
    }

    assert.ok(ineligible.length > 0, 'nothing is ineligible: the collapsed group cannot be tested');
    const rest = verdict(page, 'non-eligibles');
    assert.equal(text(await rest.locator('h3').innerText()), `Non éligibles (${ineligible.length})`);
    const details = rest.locator('details');
    assert.equal(await details.evaluate((d) => d.open), false, 'the ineligible schemes are not collapsed');
    assert.equal(await rest.locator('.match').first().isVisible(), false);
    await details.locator('summary').click();
    assert.equal(await rest.locator('.match').count(), ineligible.length);
    const firstFail = rest.locator('.match').first().locator('.criterion').first();
    assert.match(text(await firstFail.innerText()), /^✗ Non rempli/);
    const failed = ineligible[0].criteria.find((c) => c.status === 'FAIL');
    assert.ok(text(await firstFail.innerText()).includes(text(failed.message)));

    // The plan: pre-filled from the suggestion, with its warnings.
    const plan = expected.suggestFinancingPlan;
    await assertSuggestedPlan(page);
    const warnings = text(await page.locator('main .plan-warnings').innerText());
    for (const w of plan.warnings) assert.ok(warnings.includes(text(w)), `warning « ${w} » not shown`);
    const check = (await api(CHECK_QUERY, {
      plan: {
        holderType: 'COMMUNE', totalCost: 120000, ownFunds: plan.ownFunds, lines: plan.lines.map((l) => ({ schemeSlug: l.schemeSlug, amount: l.amount, public: l.public })),
      },
    })).checkFinancingPlan;
    const summary = text(await page.locator('main .plan-summary').innerText());
    assert.ok(summary.includes(percent(check.publicShare)), `public share ${percent(check.publicShare)} not in « ${summary} »`);
    assert.ok(summary.includes(percent(check.ownShare)), `own share ${percent(check.ownShare)} not in « ${summary} »`);

    // Asking 10 000 € more on the first line breaks the plan: unbalanced (on top) and above
    // that scheme's ceiling (next to the line), as the API says for the same plan.
    const first = planLines(page).first();
    const amount = first.getByLabel('Montant (€)');
    const broken = plan.lines.map((l, i) => ({ schemeSlug: l.schemeSlug, amount: l.amount + (i === 0 ? 10000 : 0), public: l.public }));
    const brokenCheck = (await api(CHECK_QUERY, {
      plan: { holderType: 'COMMUNE', totalCost: 120000, ownFunds: plan.ownFunds, lines: broken },
    })).checkFinancingPlan;
    assert.equal(brokenCheck.balanced, false);
    const onLine = brokenCheck.violations.filter((v) => v.line === 0);
    const onTop = brokenCheck.violations.filter((v) => v.line == null);
    assert.ok(onLine.length > 0, `no violation on line 0 for ${JSON.stringify(broken)}`);
    assert.ok(onTop.some((v) => v.code === 'UNBALANCED'));

    await amount.fill(String(broken[0].amount));
    await first.locator('.line-problems li').first().waitFor();
    await topProblems(page).getByText(/n'est pas équilibré/).waitFor();
    assert.match(await planChecked(page), /problèmes? à corriger/);
    const lineProblems = (await first.locator('.line-problems li').allInnerTexts()).map(text);
    assert.deepEqual(lineProblems, onLine.map((v) => text(v.message)));
    const top = text(await topProblems(page).innerText());
    for (const v of onTop) assert.ok(top.includes(text(v.message)), `« ${v.message} » is not on top of the plan`);
    assert.equal(await amount.getAttribute('aria-invalid'), 'true');
    assert.match(await amount.getAttribute('aria-describedby'), /problemes/);
    assert.match(text(await page.locator('main .plan-summary').innerText()), /Non équilibré : 10 000 € de trop/);
    await page.waitForFunction(() => /Plan de financement : \d+ problème/.test(document.getElementById('annonce').textContent));

    // Putting the amount back fixes it.
    await amount.fill(String(plan.lines[0].amount));
    await first.locator('.line-problems li').first().waitFor({ state: 'detached' });
    await topProblems(page).getByText(/n'est pas équilibré/).waitFor({ state: 'detached' });
    await assertSuggestedPlan(page);
    assert.equal(await amount.getAttribute('aria-invalid'), null);

    // A private line added then removed.
    await page.getByRole('button', { name: 'Ajouter une ligne' }).click();
    const added = planLines(page).nth(plan.lines.length);
    assert.equal(text(await added.locator('legend').innerText()), `Ligne ${plan.lines.length + 1}`);
    assert.ok(await added.getByLabel('Dispositif ou financeur').evaluate((el) => el === document.activeElement), 'focus did not go to the new line');
    assert.match(await planChecked(page), /indiquez le financeur de la ligne/);
    await added.getByLabel('Nom du financeur').fill('Fondation du village');
    await added.getByLabel('Montant (€)').fill('5000');
    await added.getByLabel('Financement public').uncheck();
    await topProblems(page).getByText(/n'est pas équilibré/).waitFor();
    assert.match(text(await page.locator('main .plan-summary').innerText()), /5 000 € de trop/);
    await page.getByRole('button', { name: `Retirer la ligne ${plan.lines.length + 1}` }).click();
    await topProblems(page).getByText(/n'est pas équilibré/).waitFor({ state: 'detached' });
    assert.equal(await planLines(page).count(), plan.lines.length);
    assert.ok(await planLines(page).last().getByLabel('Dispositif ou financeur').evaluate((el) => el === document.activeElement),
      'focus did not go back to the last line');
    await assertSuggestedPlan(page);

    // Reloading the address gives the same form and results (the plan starts again from the suggestion).
    await amount.fill('1');
    await page.reload({ waitUntil: 'networkidle' });
    await settled(page);
    assert.equal(await page.getByLabel('Type de porteur').inputValue(), 'COMMUNE');
    await page.getByRole('button', { name: 'Retirer la commune Arc-en-Barrois' }).waitFor();
    assert.equal(await page.getByRole('group', { name: 'Thèmes du projet' }).getByRole('checkbox', { name: 'Commerce', exact: true }).isChecked(), true);
    assert.equal(await page.getByRole('group', { name: 'Thèmes du projet' }).locator('input:checked').count(), 1);
    assert.equal(await page.getByLabel('Coût total du projet (€)').inputValue(), '120000');
    assert.equal(await page.getByLabel('Date de début des travaux').inputValue(), START);
    assert.equal(await page.getByLabel('Description du projet').inputValue(), PROJECT.text);
    assert.equal(text((await heading(page).innerText()).trim()), countsHeading(match));
    assert.deepEqual(await schemeLinks(verdict(page, 'eligibles')), eligibleLinks);
    await assertSuggestedPlan(page);
  });
});

test('a shared address shows the same results; Back returns to the previous project', async () => {
  await withPage(ADDRESS, async ({ page }) => {
    assert.equal(text((await heading(page).innerText()).trim()), countsHeading(expected.matchProject));
    await page.getByRole('button', { name: 'Retirer la commune Arc-en-Barrois' }).waitFor();
    await assertSuggestedPlan(page);

    // Another project (no theme): a new history entry; Back brings the first one back.
    await page.getByRole('group', { name: 'Thèmes du projet' }).getByRole('checkbox', { name: 'Commerce', exact: true }).uncheck();
    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    await page.waitForURL((url) => !url.searchParams.has('theme'));
    await settled(page);
    const other = (await api(MATCH_QUERY, { p: { ...PROJECT, themes: null } })).matchProject;
    assert.equal(text((await heading(page).innerText()).trim()), countsHeading(other));

    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get('theme') === 'commerce');
    await settled(page);
    assert.equal(await page.getByRole('group', { name: 'Thèmes du projet' }).getByRole('checkbox', { name: 'Commerce', exact: true }).isChecked(), true);
    await page.waitForFunction((t) => document.getElementById('projet-resultats-titre').textContent.replace(/[\u00a0\u202f]/g, ' ') === t,
      countsHeading(expected.matchProject));
  });
});

test('errors of the server are shown next to their field: an unknown commune, a date out of range', async () => {
  await withPage('/projet?porteur=COMMUNE&commune=99999', async ({ page }) => {
    const error = page.locator('#projet-commune-erreur');
    await error.waitFor();
    assert.match(text(await error.innerText()), /Commune inconnue : « 99999 »/);
    assert.equal(await page.getByRole('combobox', { name: 'Commune du projet' }).getAttribute('aria-invalid'), 'true');
    assert.equal(text((await heading(page).innerText()).trim()), 'Résultats indisponibles');
  });

  await withPage('/projet?porteur=COMMUNE&commune=52017&debut=1899-12-31', async ({ page }) => {
    const error = page.locator('#projet-debut-erreur');
    await error.waitFor();
    assert.match(text(await error.innerText()), /1900/);
    const start = page.getByLabel('Date de début des travaux');
    assert.equal(await start.getAttribute('aria-invalid'), 'true');
    assert.match(await start.getAttribute('aria-describedby'), /projet-debut-erreur/);

    // Fixed and sent again: the error goes, the results come.
    await start.fill(START);
    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    await page.waitForURL((url) => url.searchParams.get('debut') === START);
    await settled(page);
    assert.equal(await error.isVisible(), false);
    assert.equal(await start.getAttribute('aria-invalid'), null);
    assert.ok(await verdict(page, 'eligibles').count() > 0);
    // Without a cost, no plan: the page says why.
    assert.match(text(await page.locator('main .projet-plan').innerText()), /Indiquez le coût total du projet/);
  });

  await withPage('/projet?porteur=COMMUNE&commune=52017', async ({ page }) => {
    const cost = page.getByLabel('Coût total du projet (€)');
    await cost.fill('0');
    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    await page.locator('#projet-cout-erreur').waitFor();
    assert.match(text(await page.locator('#projet-cout-erreur').innerText()), /supérieur à zéro/);
    assert.equal(await focusedId(page), 'projet-cout');
  });
});

test('a hostile description is kept as text', async () => {
  await withPage(`/projet?${new URLSearchParams({ porteur: 'COMMUNE', commune: '52017', description: HOSTILE })}`, async ({ page }) => {
    const dialogs = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    assert.equal(await page.getByLabel('Description du projet').inputValue(), HOSTILE);
    assert.equal(await page.locator('img, iframe, object, embed').count(), 0, 'an element was injected');
    assert.deepEqual(dialogs, []);
  });
});

test('the project page with results, a broken plan and the ineligible schemes open has no serious or critical axe-core violation', async () => {
  await withPage(ADDRESS, async ({ page }) => {
    await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
    const first = planLines(page).first();
    await first.getByLabel('Montant (€)').fill(String(expected.suggestFinancingPlan.lines[0].amount + 10000));
    await first.locator('.line-problems li').first().waitFor();
    await page.getByRole('button', { name: 'Ajouter une ligne' }).click();
    await settled(page);
    const violations = await axeSeriousViolations(page);
    assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
  }, { bypassCSP: true });

  await withPage('/projet', async ({ page }) => {
    await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
    await page.locator('#projet-porteur-erreur').waitFor();
    const violations = await axeSeriousViolations(page);
    assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
  }, { bypassCSP: true });
});

test('at 360 px the project page, its results and plan shown, does not scroll horizontally', async () => {
  await withPage(ADDRESS, async ({ page }) => {
    await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
    await page.getByRole('button', { name: 'Ajouter une ligne' }).click();
    await settled(page);
    const { scrollWidth, culprits } = await horizontalOverflow(page);
    assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
  }, { width: 360, height: 740 });
});

test('the project page’s first load with results transfers less than 150 KB', async () => {
  await assertFirstLoadUnder150KB(ADDRESS);
});

test('CGCT L1111-10 III: an operating request of a commune with 10 % own funds is not blocked; a loan is shown apart from aid', async () => {
  await withPage(ADDRESS, async ({ page }) => {
    const plan = expected.suggestFinancingPlan;
    // Only the Département's 108 000 € and 12 000 € of own funds: 10 %.
    for (let i = plan.lines.length; i >= 1; i -= 1) {
      await page.getByRole('button', { name: `Retirer la ligne ${i}` }).click();
    }
    await page.getByLabel('Fonds propres du porteur (€)').fill('12000');
    await page.getByRole('button', { name: 'Ajouter une ligne' }).click();
    const line = planLines(page).first();
    await line.getByLabel('Nom du financeur').fill('Conseil départemental');
    await line.getByLabel('Montant (€)').fill('108000');
    // An investment: the 20 % minimum blocks it.
    await page.getByLabel('Nature de l’opération').selectOption('INVESTMENT');
    await topProblems(page).getByText(/L1111-10 III/).waitFor();
    assert.match(await planChecked(page), /problème à corriger/);
    assert.equal(await page.getByLabel('Dérogation accordée par le préfet').isVisible(), true);
    // Operating: never blocked by it, and the page says why.
    await page.getByLabel('Nature de l’opération').selectOption('OPERATING');
    await topProblems(page).getByText(/L1111-10 III/).waitFor({ state: 'detached' });
    assert.match(await planChecked(page), /^Plan vérifié/);
    assert.match(text(await page.locator('main .plan-notes').innerText()), /n'est pas exigée : elle ne vise que les opérations d'investissement/);
    assert.equal(await page.getByLabel('Dérogation accordée par le préfet').isVisible(), false);
    // Investment again, with the préfet's derogation: not blocked either.
    await page.getByLabel('Nature de l’opération').selectOption('INVESTMENT');
    await topProblems(page).getByText(/L1111-10 III/).waitFor();
    await page.getByLabel('Dérogation accordée par le préfet').check();
    await topProblems(page).getByText(/L1111-10 III/).waitFor({ state: 'detached' });
    assert.match(await planChecked(page), /^Plan vérifié/);
    await page.getByLabel('Dérogation accordée par le préfet').uncheck();
    await topProblems(page).getByText(/L1111-10 III/).waitFor();

    // 30 000 € of the Département's money as a Banque des Territoires loan: the commune's own
    // financing, shown apart, not public aid: the 20 % holds again.
    await line.getByLabel('Montant (€)').fill('78000');
    await page.getByRole('button', { name: 'Ajouter une ligne' }).click();
    const loan = planLines(page).nth(1);
    await loan.getByLabel('Nom du financeur').fill('Banque des Territoires');
    await loan.getByLabel('Montant (€)').fill('30000');
    await loan.getByLabel('Forme').selectOption('LOAN');
    const loans = page.locator('main .plan-loans');
    await loans.getByText('Ligne 2').waitFor();
    assert.equal(await loans.locator('.plan-line').count(), 1);
    assert.equal(await page.locator('main .plan-lines:not(.plan-loans) .plan-line').count(), 1);
    assert.equal(await page.getByRole('heading', { name: 'Prêts, avances remboursables et garanties' }).isVisible(), true);
    await topProblems(page).getByText(/L1111-10 III/).waitFor({ state: 'detached' });
    assert.match(await planChecked(page), /^Plan vérifié/);
    const summary = text(await page.locator('main .plan-summary').innerText());
    assert.match(summary, /Prêts et avances \(hors aides\)\s*30 000 €/);
    assert.ok(summary.includes(percent(0.65)), `public share 65 % not in « ${summary} »`);
    // Back to a grant: back with the aid, and the 20 % is broken again.
    await loan.getByLabel('Forme').selectOption('GRANT');
    await topProblems(page).getByText(/L1111-10 III/).waitFor();
    assert.equal(await loans.locator('.plan-line').count(), 0);
  });
});

// ---------------------------------------------------------------------------------------
// Issue 13: themes never rule a scheme out, conditions the data cannot decide are « À vérifier »

const TEST_SCHEME = 'essai-navigateur-condition-52001';
const CONDITION_TEXT = 'Condition d’essai : potentiel financier de la commune à vérifier auprès du financeur (CGCT, art. L2334-33).';

/** A scheme for Ageville (52001) only, on health, investment only, with one condition. */
function testScheme(status) {
  return {
    slug: TEST_SCHEME,
    title: 'Aide d’essai aux maisons de santé (test navigateur)',
    summary: 'Dispositif créé par les tests du navigateur.',
    funders: [{ slug: 'essai-financeur-navigateur', name: 'Département d’essai', kind: 'DEPARTMENT', nameInSentence: 'le Département d’essai' }],
    beneficiaryTypes: ['COMMUNE'],
    themes: ['sante'],
    aidTypes: ['GRANT'],
    natures: ['INVESTMENT'],
    perimeter: { communes: ['52001'] },
    rules: { noStartBeforeFiling: true, conditions: [{ text: CONDITION_TEXT, whenCommunePopulationAbove: 100 }] },
    funding: { rateMax: 30 },
    calendar: { recurrence: 'PERMANENT' },
    status,
  };
}

/** Imports the test scheme with `status` through the `guichet` command (another process). */
async function importTestScheme(status) {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'guichet-projet-'));
  try {
    const file = join(dir, 'scheme.json');
    await writeFile(file, JSON.stringify([testScheme(status)]));
    await guichet('import', file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const AGEVILLE = {
  holderType: 'COMMUNE', communeCode: '52001', themes: ['commerce'], nature: 'INVESTMENT', totalCost: 150000, startsOn: START,
};

/** The API's matches for `project`, once the test scheme is (or is no longer) among them. */
async function matchesOnceIndexed(project, present) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { matchProject } = await api(MATCH_QUERY, { p: project });
    if (matchProject.matches.some((m) => m.scheme.slug === TEST_SCHEME) === present) return matchProject;
    assert.ok(Date.now() < deadline, `the index did not ${present ? 'pick up' : 'drop'} ${TEST_SCHEME}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('schemes of other themes are listed folded, never dropped; a condition to check, the nature and the HT/TTC basis are shown and sent', {
  skip: GUICHET_BIN && DATA_DIR ? false : 'GUICHET_BIN and GUICHET_DATA_DIR are needed to import the test scheme',
}, async () => {
  await importTestScheme('PUBLISHED');
  try {
    const match = await matchesOnceIndexed(AGEVILLE, true);
    const ours = match.matches.find((m) => m.scheme.slug === TEST_SCHEME);
    assert.equal(ours.verdict, 'TO_CHECK', JSON.stringify(ours));
    assert.equal(ours.relevant, false);
    const condition = ours.criteria.find((c) => c.code === 'CONDITION');
    assert.equal(condition.status, 'UNKNOWN');
    assert.equal(condition.message, CONDITION_TEXT);
    const otherToCheck = match.matches.filter((m) => m.verdict === 'TO_CHECK' && !m.relevant);

    const address = `/projet?${new URLSearchParams([
      ['porteur', 'COMMUNE'], ['commune', '52001'], ['theme', 'commerce'], ['nature', 'INVESTMENT'], ['cout', '150000'], ['debut', START],
    ])}`;
    await withPage(address, async ({ page }) => {
      assert.equal(await page.getByLabel('Nature des dépenses').inputValue(), 'INVESTMENT');
      assert.equal(await page.getByLabel('Montant hors taxes ou toutes taxes comprises').inputValue(), 'HT');
      assert.equal(text((await heading(page).innerText()).trim()), countsHeading(match));

      // « À vérifier »: the scheme of other themes is there, folded.
      const toCheck = verdict(page, 'a-verifier');
      const others = toCheck.locator('details.other-schemes');
      assert.equal(await others.evaluate((d) => d.open), false, 'the schemes of other themes are not folded');
      assert.equal(text(await others.locator('summary').innerText()), `Autres dispositifs possibles (thèmes différents) : ${otherToCheck.length}`);
      const item = others.locator('.match').filter({ has: page.locator(`a[href="/dispositifs/${TEST_SCHEME}"]`) });
      assert.equal(await item.count(), 1, 'the scheme of other themes was dropped');
      assert.equal(await item.isVisible(), false);
      await others.locator('summary').click();
      assert.equal(await item.isVisible(), true);

      // Its criteria: the condition to check first, the themes as information.
      const conditionLine = item.locator('.criterion[data-code="CONDITION"]');
      assert.equal(await conditionLine.count(), 1);
      const conditionText = text(await conditionLine.innerText());
      assert.match(conditionText, /\? À vérifier/);
      assert.match(conditionText, /Condition : /);
      assert.ok(conditionText.includes(text(CONDITION_TEXT)), conditionText);
      assert.equal(await item.locator('.criterion').first().getAttribute('data-code'), 'CONDITION');
      const themeLine = text(await item.locator('.criterion[data-code="THEME"]').innerText());
      assert.match(themeLine, /Information/);
      assert.match(themeLine, /pas l'éligibilité/);
      assert.doesNotMatch(themeLine, /Rempli/);
      assert.match(text(await item.locator('.criterion[data-code="NATURE"]').innerText()), /✓ Rempli[\s\S]*Nature de l’opération : Le projet relève de l'investissement/);

      // Operating costs counted TTC: sent and kept in the address; the scheme is then not eligible.
      await page.getByLabel('Nature des dépenses').selectOption('OPERATING');
      await page.getByLabel('Montant hors taxes ou toutes taxes comprises').selectOption('TTC');
      await page.getByRole('button', { name: 'Voir les aides possibles' }).click();
      await page.waitForURL((url) => url.searchParams.get('nature') === 'OPERATING');
      await settled(page);
      assert.equal(new URL(page.url()).searchParams.get('base'), 'TTC');
      // The nature is asked once: the plan repeats the project's instead of asking again.
      await page.locator('main .plan-nature').waitFor();
      assert.match(text(await page.locator('main .plan-nature').innerText()), /Nature de l’opération : fonctionnement/);
      assert.equal(await page.locator('#plan-nature').count(), 0);
      const operating = (await api(MATCH_QUERY, { p: { ...AGEVILLE, nature: 'OPERATING', costBasis: 'TTC' } })).matchProject;
      assert.equal(operating.matches.find((m) => m.scheme.slug === TEST_SCHEME).verdict, 'INELIGIBLE');
      assert.equal(text((await heading(page).innerText()).trim()), countsHeading(operating));
      const rest = verdict(page, 'non-eligibles');
      await rest.locator('summary').first().click();
      const refused = rest.locator('.match').filter({ has: page.locator(`a[href="/dispositifs/${TEST_SCHEME}"]`) });
      assert.match(text(await refused.locator('.criterion').first().innerText()), /✗ Non rempli[\s\S]*Nature de l’opération : Le projet relève du fonctionnement/);
    });
  } finally {
    await importTestScheme('ARCHIVED');
    await matchesOnceIndexed(AGEVILLE, false);
  }
});
