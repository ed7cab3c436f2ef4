// Browser tests of the catalogue search page (/recherche), against a running Guichet server
// started with its seed catalogue (catalog/seed/schemes.json) and all French territories:
//
//   GUICHET_URL=http://127.0.0.1:8080 node --test search.test.mjs
//
// What they rely on in the seed: the scheme `programme-1000-cafes` (« Programme 1000 cafés »,
// national, permanent, funded by Groupe SOS, whose summary says « café »); the theme `commerce`
// held by fewer schemes than the whole catalogue, among them `region-grand-est-accor` (région 44,
// Grand Est), `region-bretagne-pass-commerce-artisanat` (région 53), `region-occitanie-pass-
// commerce-proximite` (région 76) and `region-hauts-de-france-dernier-commerce` (région 32); no
// published `commerce` scheme open to farmers (FARMER); more than 20 published schemes in all.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, useBrowser, withPage, settled, text, typeInCombobox, arrowDownTo,
  axeSeriousViolations, describeViolations, horizontalOverflow, assertFirstLoadUnder150KB,
} from './helpers.mjs';

useBrowser();

const CAFES = '/dispositifs/programme-1000-cafes';
const GRAND_EST = '/dispositifs/region-grand-est-accor';
const ELSEWHERE = [
  '/dispositifs/region-bretagne-pass-commerce-artisanat',
  '/dispositifs/region-occitanie-pass-commerce-proximite',
  '/dispositifs/region-hauts-de-france-dernier-commerce',
];
const HOSTILE = '<img src=x onerror=alert(1)>';

const searchBox = (page) => page.getByRole('searchbox', { name: 'Que cherchez-vous ?' });
const moreButton = (page) => page.getByRole('button', { name: 'Afficher plus de résultats' });
const themeBox = (page, theme) => page.locator(`input[type="checkbox"][name="theme"][value="${theme}"]`);

/** The query string of the page's address, as URLSearchParams. */
const params = (page) => new URL(page.url()).searchParams;

/** Waits until the address satisfies `check(params)` and the results have arrived. */
async function searchDone(page, check) {
  await page.waitForURL((url) => check(url.searchParams));
  await settled(page);
}

/** The total shown above the results (« 27 dispositifs », « Aucun dispositif »). */
async function shownTotal(page) {
  const heading = text((await page.locator('#resultats-titre').innerText()).trim());
  if (/^Aucun dispositif$/.test(heading)) return 0;
  const m = /^(\d[\d ]*) dispositifs?$/.exec(heading);
  assert.ok(m, `unexpected results heading « ${heading} »`);
  return Number(m[1].replace(/ /g, ''));
}

/** The links of the results shown, in order. */
const resultLinks = (page) => page.locator('main .result-title a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

/**
 * Clicks « Afficher plus de résultats » until it disappears; checks each time that focus moves
 * to the first new result. Returns every result link.
 */
async function pageToEnd(page) {
  for (let i = 0; i < 50 && await moreButton(page).count() > 0; i += 1) {
    const before = (await resultLinks(page)).length;
    await moreButton(page).click();
    await page.waitForFunction((n) => document.querySelectorAll('main .result-title a').length > n, before);
    await settled(page);
    const focused = await page.evaluate((n) => document.activeElement === document.querySelectorAll('main .result-title a')[n], before);
    assert.ok(focused, 'focus did not move to the first new result');
  }
  return resultLinks(page);
}

async function chooseChaumont(page) {
  const box = await typeInCombobox(page, 'Commune du projet', 'chaumont');
  const chosen = await arrowDownTo(page, box, /^Chaumont — Haute-Marne \(52\)/);
  assert.ok(chosen, 'no option « Chaumont — Haute-Marne (52) » in the commune list');
  await page.keyboard.press('Enter');
  await searchDone(page, (p) => p.get('commune') === '52121');
}

// ---------------------------------------------------------------------------------------

test('typing « café » shows the Programme 1000 cafés with the matched words marked, a total and an announcement', async () => {
  await withPage('/recherche', async ({ page }) => {
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Rechercher des aides' }).waitFor();
    const box = searchBox(page);
    assert.match(await box.getAttribute('placeholder'), /café/);
    await box.click();
    await box.pressSequentially('café');
    await searchDone(page, (p) => p.get('q') === 'café');

    const links = await resultLinks(page);
    assert.ok(links.includes(CAFES), `« Programme 1000 cafés » is not among the results: ${links.join(', ')}`);
    const total = await shownTotal(page);
    assert.ok(total >= links.length && total > 0, `total ${total} for ${links.length} results`);

    const marks = await page.locator('main .result mark').allInnerTexts();
    assert.ok(marks.length > 0, 'no <mark> in the highlights');
    assert.ok(marks.some((m) => /caf/i.test(m)), `no marked « café »: ${marks.join(', ')}`);

    const cafes = page.locator('main .result').filter({ has: page.locator(`a[href="${CAFES}"]`) });
    const facts = text(await cafes.innerText());
    assert.match(facts, /Programme 1000 cafés/);
    assert.match(facts, /Groupe SOS/);
    assert.match(facts, /Permanent/);

    await page.waitForFunction(() => /^\d[\d\s]* dispositifs? trouvés?$/.test(document.getElementById('annonce').textContent.replace(/[\u00a0\u202f]/g, ' ')));
    assert.match(await page.title(), /café/);
  });
});

test('the address holds the words, filters and sort, opening it restores the same search, and Back undoes the last change', async () => {
  let address;
  let links;
  let total;
  await withPage('/recherche', async ({ page }) => {
    const historyLength = await page.evaluate(() => history.length);
    await searchBox(page).click();
    await searchBox(page).pressSequentially('commerce');
    await searchDone(page, (p) => p.get('q') === 'commerce');
    assert.equal(await page.evaluate(() => history.length), historyLength, 'typing added history entries');

    await themeBox(page, 'commerce').check();
    await searchDone(page, (p) => p.get('theme') === 'commerce');
    await page.locator('input[type="checkbox"][name="beneficiaire"][value="COMMUNE"]').check();
    await searchDone(page, (p) => p.get('beneficiaire') === 'COMMUNE');
    await page.getByLabel('Trier par').selectOption('CLOSING_SOON');
    await searchDone(page, (p) => p.get('tri') === 'CLOSING_SOON');

    const p = params(page);
    assert.equal(p.get('q'), 'commerce');
    assert.deepEqual(p.getAll('theme'), ['commerce']);
    assert.deepEqual(p.getAll('beneficiaire'), ['COMMUNE']);
    assert.equal(p.get('tri'), 'CLOSING_SOON');
    address = new URL(page.url()).pathname + new URL(page.url()).search;
    links = await resultLinks(page);
    total = await shownTotal(page);

    await page.goBack();
    await searchDone(page, (q) => !q.has('tri') && q.get('beneficiaire') === 'COMMUNE');
    assert.equal(await page.getByLabel('Trier par').inputValue(), 'RELEVANCE');
    await page.goBack();
    await searchDone(page, (q) => !q.has('beneficiaire') && q.get('theme') === 'commerce');
    assert.equal(await page.locator('input[name="beneficiaire"][value="COMMUNE"]').isChecked(), false);
    assert.equal(await themeBox(page, 'commerce').isChecked(), true);
    await page.goForward();
    await searchDone(page, (q) => q.get('beneficiaire') === 'COMMUNE');
    assert.equal(await page.locator('input[name="beneficiaire"][value="COMMUNE"]').isChecked(), true);
  });

  await withPage(address, async ({ page }) => {
    assert.equal(await searchBox(page).inputValue(), 'commerce');
    assert.equal(await themeBox(page, 'commerce').isChecked(), true);
    assert.equal(await page.locator('input[name="beneficiaire"][value="COMMUNE"]').isChecked(), true);
    assert.equal(await page.getByLabel('Trier par').inputValue(), 'CLOSING_SOON');
    assert.equal(await shownTotal(page), total);
    assert.deepEqual(await resultLinks(page), links);
  });
});

test('checking a theme narrows the results, and the total equals the results shown after paging to the end', async () => {
  await withPage('/recherche', async ({ page }) => {
    const all = await shownTotal(page);
    assert.ok(await moreButton(page).count() > 0, 'the whole catalogue fits on one page: no « Afficher plus de résultats »');
    const everything = await pageToEnd(page);
    assert.equal(everything.length, all, 'the total differs from the results listed');
    assert.equal(new Set(everything).size, everything.length, 'a result is listed twice');

    const commerce = themeBox(page, 'commerce');
    const name = text(await page.locator(`label[for="${await commerce.getAttribute('id')}"]`).innerText());
    assert.match(name, /^.+ \(\d+\)$/, `facet label « ${name} » has no count`);
    await commerce.check();
    await searchDone(page, (p) => p.getAll('theme').includes('commerce'));
    const narrowed = await shownTotal(page);
    assert.ok(narrowed > 0 && narrowed < all, `checking « commerce » gave ${narrowed} of ${all}`);
    const counted = text(await page.locator(`label[for="${await commerce.getAttribute('id')}"]`).innerText());
    assert.match(counted, new RegExp(`\\(${narrowed}\\)$`), `the facet count « ${counted} » differs from the total ${narrowed}`);

    const listed = await pageToEnd(page);
    assert.equal(listed.length, narrowed);
    assert.equal(new Set(listed).size, listed.length, 'a result is listed twice');
    assert.ok(listed.every((href) => everything.includes(href)), 'a narrowed result was not in the whole list');
  });
});

test('choosing Chaumont keeps only the schemes available there, and removing it brings the others back', async () => {
  await withPage('/recherche?theme=commerce', async ({ page }) => {
    const before = await shownTotal(page);
    const links = await pageToEnd(page);
    for (const href of [GRAND_EST, ...ELSEWHERE]) assert.ok(links.includes(href), `${href} is not among the commerce schemes`);

    await chooseChaumont(page);
    const chip = page.locator('main .chosen-commune');
    assert.match(text(await chip.innerText()), /Chaumont/);
    const remove = page.getByRole('button', { name: 'Retirer la commune Chaumont' });
    await remove.waitFor();

    const after = await shownTotal(page);
    assert.ok(after <= before, `${after} schemes in Chaumont, ${before} without it`);
    const there = await pageToEnd(page);
    assert.equal(there.length, after);
    assert.ok(there.includes(GRAND_EST), 'the Grand Est scheme is missing in Chaumont');
    for (const href of ELSEWHERE) assert.ok(!there.includes(href), `${href} (another région) is listed in Chaumont`);

    await remove.click();
    await searchDone(page, (p) => !p.has('commune'));
    assert.equal(await page.locator('main .chosen-commune').count(), 0);
    assert.ok(await page.getByRole('combobox', { name: 'Commune du projet' }).evaluate((el) => el === document.activeElement),
      'focus did not go back to the commune box');
    assert.equal(await shownTotal(page), before);
  });
});

test('the commune in the address is shown by name when the page is opened', async () => {
  await withPage('/recherche?commune=52121', async ({ page }) => {
    await page.getByRole('button', { name: 'Retirer la commune Chaumont' }).waitFor();
    assert.match(text(await page.locator('main .chosen-commune').innerText()), /Chaumont.*Haute-Marne/);
  });
});

describe('hostile input is shown as text', () => {
  test('the query « <img src=x onerror=alert(1)> » opens no dialog and adds no element', async () => {
    await withPage('/recherche', async ({ page }) => {
      const dialogs = [];
      page.on('dialog', async (d) => {
        dialogs.push(d.message());
        await d.dismiss();
      });
      await searchBox(page).click();
      await searchBox(page).pressSequentially(HOSTILE);
      await searchDone(page, (p) => p.get('q') === '<img src=x onerror=alert(1)>');
      assert.deepEqual(dialogs, []);
      assert.equal(await page.locator('img, iframe, object, embed').count(), 0, 'an element was injected');
      const snippetTags = await page.locator('main .result-snippet *').evaluateAll((els) => [...new Set(els.map((e) => e.tagName))]);
      assert.ok(snippetTags.every((t) => t === 'MARK'), `highlights hold other elements: ${snippetTags.join(', ')}`);
      assert.equal(await searchBox(page).inputValue(), HOSTILE);
      assert.ok((await page.title()).includes(HOSTILE), 'the words are not in the title as text');
    });
    await withPage(`/recherche?${new URLSearchParams({ q: HOSTILE })}`, async ({ page }) => {
      assert.equal(await searchBox(page).inputValue(), HOSTILE);
      assert.equal(await page.locator('img, iframe, object, embed').count(), 0, 'an element was injected');
    });
  });

  test('a highlight is rebuilt from text and <mark> only, whatever the server sends', async () => {
    await withPage('/recherche', async ({ page }) => {
      const cases = await page.evaluate(async () => {
        const { highlightNodes } = await import('/assets/search.js');
        const render = (snippet) => {
          const div = document.createElement('div');
          div.append(highlightNodes(snippet));
          return { text: div.textContent, tags: [...div.querySelectorAll('*')].map((e) => e.tagName), marked: [...div.querySelectorAll('mark')].map((m) => m.textContent) };
        };
        return [
          render('Un <mark>café</mark> &lt;img src=x onerror=alert(1)&gt; &amp;lt; &quot;x&quot; l&#39;épicerie'),
          render('<mark>x</mark><img src=x onerror=alert(1)>'),
          render('<mark><b>gras</b></mark> <script>alert(1)</script>'),
          render('<MARK>a</MARK> <mark>b'),
        ];
      });
      assert.deepEqual(cases[0], { text: 'Un café <img src=x onerror=alert(1)> &lt; "x" l\'épicerie', tags: ['MARK'], marked: ['café'] });
      assert.deepEqual(cases[1].tags, []);
      assert.equal(cases[1].text, 'x');
      assert.deepEqual(cases[2].tags, []);
      assert.equal(cases[2].text, 'gras alert(1)');
      assert.deepEqual(cases[3], { text: 'a b', tags: ['MARK', 'MARK'], marked: ['a', 'b'] });
    });
  });
});

test('a search with no result says so and offers to clear the filters', async () => {
  await withPage('/recherche?theme=commerce&beneficiaire=FARMER', async ({ page }) => {
    assert.equal(await shownTotal(page), 0);
    await page.getByText(/Aucun dispositif ne correspond\. Essayez moins de filtres ou d[’']autres mots\./).waitFor();
    assert.equal(await page.locator('main .result').count(), 0);
    // The chosen values stay visible (and can be unchecked) even with no result.
    assert.equal(await themeBox(page, 'commerce').isChecked(), true);
    assert.equal(await page.locator('input[name="beneficiaire"][value="FARMER"]').isChecked(), true);

    await page.locator('main .results-body').getByRole('button', { name: 'Effacer les filtres' }).click();
    await searchDone(page, (p) => p.toString() === '');
    assert.ok(await shownTotal(page) > 0);
    assert.ok(await page.evaluate(() => document.activeElement?.id === 'resultats-titre'), 'focus did not move to the results');
  });

  await withPage('/recherche?q=xqzwvkjhy', async ({ page }) => {
    assert.equal(await shownTotal(page), 0);
    await page.getByText(/Aucun dispositif ne correspond/).waitFor();
    await page.getByRole('button', { name: 'Effacer la recherche' }).click();
    await searchDone(page, (p) => !p.has('q'));
    assert.ok(await shownTotal(page) > 0);
    assert.equal(await searchBox(page).inputValue(), '');
  });
});

test('a running search marks the results busy; a failed one shows an error, and « Réessayer » searches again', async () => {
  await withPage('/recherche', async ({ page }) => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/graphql', async (route) => {
      if (!/searchSchemes/.test(route.request().postData() || '')) return route.continue();
      await held;
      return route.abort('connectionrefused');
    });
    await searchBox(page).click();
    await searchBox(page).pressSequentially('commerce');
    await page.waitForURL((url) => url.searchParams.get('q') === 'commerce');
    await page.locator('main .results-body[aria-busy="true"]').waitFor();
    release();
    const alert = page.locator('main .results-body [role="alert"]');
    await alert.waitFor();
    await settled(page);
    assert.match(text(await alert.innerText()), /momentanément indisponible/);
    assert.equal(await page.locator('main .result').count(), 0);

    await page.unroute('**/graphql');
    await alert.getByRole('button', { name: 'Réessayer' }).click();
    await page.locator('main .result').first().waitFor();
    await settled(page);
    assert.ok(await shownTotal(page) > 0);
    assert.ok(await page.evaluate(() => document.activeElement?.id === 'resultats-titre'), 'focus did not move to the results');
  });
});

test('the whole search works with the keyboard: Tab to the box, type, Tab to a facet, Space to check it', async () => {
  await withPage('/recherche', async ({ page }) => {
    const all = await shownTotal(page);
    const focusedIs = (check) => page.evaluate(check);
    let reached = false;
    for (let i = 0; i < 20 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await focusedIs(() => document.activeElement?.getAttribute('type') === 'search');
    }
    assert.ok(reached, 'Tab never reached the search box');
    await page.keyboard.type('commerce');
    await searchDone(page, (p) => p.get('q') === 'commerce');
    const words = await shownTotal(page);
    assert.ok(words > 0 && words <= all);

    let box = null;
    for (let i = 0; i < 20 && !box; i += 1) {
      await page.keyboard.press('Tab');
      box = await focusedIs(() => (document.activeElement?.type === 'checkbox'
        ? { name: document.activeElement.name, value: document.activeElement.value } : null));
    }
    assert.ok(box, 'Tab never reached a facet checkbox');
    assert.equal(box.name, 'theme', 'the first facet reached is not a theme');
    await page.keyboard.press('Space');
    await searchDone(page, (p) => p.getAll('theme').length === 1);
    assert.equal(params(page).get('theme'), box.value);
    const still = await focusedIs(() => document.activeElement?.type === 'checkbox' && document.activeElement.checked);
    assert.ok(still, 'focus left the checked facet');
    assert.ok(await shownTotal(page) <= words);
  });
});

test('the home page’s search box leads to the results', async () => {
  await withPage('/', async ({ page }) => {
    const box = searchBox(page);
    await box.fill('café');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${BASE}/recherche?q=caf%C3%A9`);
    await settled(page);
    assert.equal(text(await page.locator('main h1').innerText()), 'Rechercher des aides');
    assert.ok(await page.evaluate(() => document.activeElement?.tagName === 'H1'), 'focus did not move to the page heading');
    assert.ok((await resultLinks(page)).includes(CAFES));
    assert.equal(await searchBox(page).inputValue(), 'café');
  });
});

describe('the search page has no serious or critical axe-core violation', () => {
  test('with results, every facet group open and a commune chosen', async () => {
    await withPage('/recherche?q=commerce&commune=52121', async ({ page }) => {
      await page.getByRole('button', { name: 'Retirer la commune Chaumont' }).waitFor();
      await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
      for (const toggle of await page.getByRole('button', { name: /^Afficher tout/ }).all()) await toggle.click();
      assert.ok(await page.locator('main .result mark').count() > 0);
      const violations = await axeSeriousViolations(page);
      assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
    }, { bypassCSP: true });
  });

  test('with the commune list open', async () => {
    await withPage('/recherche', async ({ page }) => {
      await typeInCombobox(page, 'Commune du projet', 'chaumont');
      await page.keyboard.press('ArrowDown');
      const violations = await axeSeriousViolations(page);
      assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
    }, { bypassCSP: true });
  });

  test('with no result', async () => {
    await withPage('/recherche?theme=commerce&beneficiaire=FARMER', async ({ page }) => {
      const violations = await axeSeriousViolations(page);
      assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
    }, { bypassCSP: true });
  });
});

test('at 360 px the search page, its facets open, does not scroll horizontally', async () => {
  await withPage('/recherche?q=commerce&commune=52121&theme=commerce', async ({ page }) => {
    assert.equal(await page.locator('main details[open]').count() <= 1, true, 'facet groups start open on a small screen');
    await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
    for (const toggle of await page.getByRole('button', { name: /^Afficher tout/ }).all()) await toggle.click();
    const { scrollWidth, culprits } = await horizontalOverflow(page);
    assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
  }, { width: 360, height: 740 });
});

test('the search page’s first load with results transfers less than 150 KB', async () => {
  await assertFirstLoadUnder150KB('/recherche?q=commerce');
});
