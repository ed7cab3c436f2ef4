// Browser tests of the web front end, against a running Guichet server started with its seed
// catalogue and all French territories:
//
//   GUICHET_URL=http://127.0.0.1:8080 node --test site.test.mjs
//
// Drives Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) with playwright-core and
// audits pages with axe-core. No fixed sleeps: every wait is for a selector, a URL or the network.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, useBrowser, withPage, settled, text, typeInCombobox, activeOptionText,
  axeSeriousViolations, describeViolations, horizontalOverflow, assertFirstLoadUnder150KB,
  loginLink, DATA_DIR,
} from './helpers.mjs';

// Pages every audit goes through: [name in a sentence, path].
const PAGES = [
  ['home', '/'],
  ['funders', '/financeurs'],
  ['funder', '/financeurs/etat-prefectures'],
  ['scheme', '/dispositifs/detr'],
  ['login', '/connexion'],
  ['account', '/compte'],
];

useBrowser();

const typeInCommuneBox = (page, query) => typeInCombobox(page, 'Rechercher une commune', query);

// ---------------------------------------------------------------------------------------

test('the home page is in French and lists funders with scheme counts', async () => {
  await withPage('/', async ({ page }) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.match(await page.title(), /Guichet/);
    assert.match(await page.locator('main').innerText(), /dossier/i);

    const funderLinks = page.locator('main a[href^="/financeurs/"]');
    await page.locator('main a[href="/financeurs/etat-prefectures"]').waitFor();
    assert.ok(await funderLinks.count() > 0, 'no link to a funder page');
    const items = await page.locator('main li').filter({ has: page.locator('a[href^="/financeurs/"]') }).allInnerTexts();
    assert.ok(items.length > 0, 'no funder list item');
    for (const item of items) {
      assert.match(text(item), /\d+ dispositifs?|aucun dispositif/, `no scheme count in « ${item} »`);
    }
    // Grouped by kind: a heading per kind above each list.
    assert.ok(await page.locator('main h3').count() > 0, 'funders are not grouped under headings');
  });
});

test('typing « chaumont » in the commune box and choosing with the keyboard shows Chaumont (52121) with its population and Haute-Marne', async () => {
  await withPage('/', async ({ page }) => {
    const box = await typeInCommuneBox(page, 'chaumont');
    assert.equal(await box.getAttribute('aria-expanded'), 'true');

    let chosen = '';
    const optionCount = await page.getByRole('option').count();
    for (let i = 0; i < optionCount && !chosen; i += 1) {
      await page.keyboard.press('ArrowDown');
      const current = await activeOptionText(page, box);
      if (/^Chaumont\b/.test(current) && /Haute-Marne/.test(current)) chosen = current;
    }
    assert.ok(chosen, 'no option « Chaumont — Haute-Marne (52) » reachable with ArrowDown');
    assert.match(chosen, /^Chaumont — Haute-Marne \(52\) · \d[\d ]* hab\.$/);
    await page.keyboard.press('Enter');

    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    assert.equal(await box.inputValue(), 'Chaumont');
    assert.ok(await box.evaluate((el) => el === document.activeElement), 'focus left the commune box');
    const card = page.getByRole('region', { name: /^Chaumont/ });
    await card.waitFor();
    const content = text(await card.innerText());
    assert.match(content, /52121/);
    assert.match(content, /\d[\d ]* habitants/);
    assert.match(content, /Haute-Marne/);
    assert.match(content, /Grand Est/);
  });
});

test('typing « st dizier » finds Saint-Dizier', async () => {
  await withPage('/', async ({ page }) => {
    await typeInCommuneBox(page, 'st dizier');
    const option = page.getByRole('option', { name: /^Saint-Dizier\b/ }).first();
    await option.waitFor();
    assert.match(text(await option.innerText()), /Haute-Marne \(52\)/);
  });
});

test('the commune box closes with Escape and reports when nothing matches', async () => {
  await withPage('/', async ({ page }) => {
    const box = await typeInCommuneBox(page, 'chaumont');
    await page.keyboard.press('Escape');
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    assert.equal(await box.inputValue(), 'chaumont');
    await box.fill('');
    await box.pressSequentially('zzqxw');
    await page.getByText('Aucune commune ne correspond').waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
  });
});

test('a funder page lists its schemes and links to a scheme detail page that shows the title, the funder’s page and « à vérifier »', async () => {
  await withPage('/financeurs/etat-prefectures', async ({ page }) => {
    const funderName = (await page.locator('main h1').innerText()).trim();
    assert.ok(funderName.length > 0);
    const schemeLinks = page.locator('main a[href^="/dispositifs/"]');
    assert.ok(await schemeLinks.count() > 0, 'the funder page lists no scheme');

    // The DETR may be further down the list: follow « Voir plus » until it shows up.
    const detr = page.locator('main a[href="/dispositifs/detr"]');
    while (await detr.count() === 0) {
      const more = page.getByRole('button', { name: 'Voir plus' });
      assert.ok(await more.count() > 0, 'the DETR is not listed and there is no « Voir plus »');
      const before = await schemeLinks.count();
      await more.click();
      await page.waitForFunction((n) => document.querySelectorAll('main a[href^="/dispositifs/"]').length > n, before);
    }

    const title = (await detr.innerText()).trim();
    await detr.click();
    await page.waitForURL(`${BASE}/dispositifs/detr`);
    await page.waitForFunction((t) => document.querySelector('main h1')?.textContent.trim() === t, title);
    await settled(page);

    assert.ok(await page.evaluate(() => document.activeElement?.tagName === 'H1'), 'focus did not move to the page heading');
    assert.match(await page.title(), new RegExp(title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await page.getByRole('link', { name: 'Page du financeur', exact: true }).waitFor();
    // No one has checked the seed's DETR against its source: the page says so.
    assert.equal((await page.locator('main .badge-unverified').innerText()).trim(), 'à vérifier');
    const facts = await page.locator('main dl').innerText();
    assert.match(facts, /potentiel financier/, 'the DETR condition to check is shown');
    assert.match(facts, /Dates de la prochaine session non publiées/);
    assert.doesNotMatch(facts, /moins de 20/, 'ceilings read « au plus »');
    assert.ok(await page.locator('main a[href="/financeurs/etat-prefectures"]').count() > 0, 'the scheme does not link back to its funder');
    assert.ok(await page.locator('main dl dt').count() > 0, 'no key facts');

    await page.goBack();
    await page.waitForFunction((t) => document.querySelector('main h1')?.textContent.trim() === t, funderName);
  });
});

test('an unknown scheme shows « Dispositif introuvable »', async () => {
  await withPage('/dispositifs/ce-dispositif-n-existe-pas', async ({ page }) => {
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Dispositif introuvable');
    assert.match(await page.title(), /Dispositif introuvable/);
  });
});

test('the login form shows the field error for a malformed email and the confirmation for a valid one', async () => {
  await withPage('/connexion', async ({ page }) => {
    const email = page.getByLabel('Adresse électronique');
    const submit = page.getByRole('button', { name: 'Recevoir un lien de connexion' });

    await email.fill('pas-une-adresse');
    await submit.click();
    await page.locator('input[aria-invalid="true"]').waitFor();
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    const ids = (await email.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    const described = await Promise.all(ids.map(async (id) => {
      const node = page.locator(`[id="${id}"]`);
      return { text: (await node.innerText()).trim(), visible: await node.isVisible() };
    }));
    const shown = described.filter((d) => d.visible && d.text);
    assert.ok(shown.length >= 2, `the field error is not tied to the field: ${JSON.stringify(described)}`);
    assert.equal(await page.getByText('Si cette adresse est valide').count(), 0);

    await email.fill(`essai-web-${Date.now()}@example.org`);
    await submit.click();
    await page.getByText('Si cette adresse est valide, un lien de connexion vient de vous être envoyé. Il est valable 15 minutes.').waitFor();
    assert.notEqual(await email.getAttribute('aria-invalid'), 'true');
  });
});

test('an invalid login link leads back to the login page with an explanation', async () => {
  await withPage('/login?token=ce-lien-n-existe-pas', async ({ page }) => {
    assert.match(page.url(), /\/connexion\?erreur=lien-invalide$/);
    const main = await page.locator('main').innerText();
    assert.match(main, /n’est plus valable/);
    assert.match(main, /expiré/);
  });
});

test('a login link opens an accessible page whose one button logs in, its address sent to nobody', { skip: !DATA_DIR && 'GUICHET_DATA_DIR is not set' }, async () => {
  const email = `lien-web-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
  const link = await loginLink(email);
  await withPage(`${link.pathname}${link.search}`, async ({ page }) => {
    const referers = [];
    page.on('request', (req) => referers.push(req.headers().referer || ''));
    const violations = await axeSeriousViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${BASE}/compte`);
    await page.getByText(email).waitFor();
    assert.ok(referers.length > 0);
    assert.ok(referers.every((r) => !r.includes('token')), referers.join('\n'));
  }, { bypassCSP: true }); // axe-core is injected as an inline script
});

test('GraphiQL runs from Guichet’s own files within its policy and reads the schema', async () => {
  const ready = (page) => page.locator('.graphiql-container').waitFor();
  await withPage('/graphql', async ({ page, problems }) => {
    assert.equal(await page.title(), 'Guichet — explorateur de l’API GraphQL (GraphiQL)');
    // The documentation explorer lists the root types once the schema has been fetched.
    await page.getByRole('button', { name: /documentation/i }).first().click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
    assert.deepEqual(problems.console.filter((m) => /Content Security Policy|Refused to/.test(m)), []);
  }, { ready });
});

test('the account page invites to log in when nobody is logged in', async () => {
  await withPage('/compte', async ({ page }) => {
    await page.getByText('Vous n’êtes pas connecté').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Se connecter' }).getAttribute('href'), '/connexion');
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Connexion' }).waitFor();
  });
});

describe('every page has no serious or critical axe-core violation', () => {
  for (const [name, path] of PAGES) {
    test(`the ${name} page (${path}) has no serious or critical axe-core violation`, async () => {
      await withPage(path, async ({ page }) => {
        const violations = await axeSeriousViolations(page);
        assert.equal(violations.length, 0, `axe-core on ${path}:\n${describeViolations(violations)}`);
      }, { bypassCSP: true });
    });
  }

  test('the home page with the commune list open and a commune chosen has no serious or critical axe-core violation', async () => {
    await withPage('/', async ({ page }) => {
      await typeInCommuneBox(page, 'chaumont');
      await page.keyboard.press('ArrowDown');
      let violations = await axeSeriousViolations(page);
      assert.equal(violations.length, 0, `axe-core, list open:\n${describeViolations(violations)}`);
      await page.keyboard.press('Enter');
      await page.locator('main section dl').first().waitFor();
      violations = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
        .then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'));
      assert.equal(violations.length, 0, `axe-core, commune chosen:\n${describeViolations(violations)}`);
    }, { bypassCSP: true });
  });

  test('the login page showing a field error has no serious or critical axe-core violation', async () => {
    await withPage('/connexion?erreur=lien-invalide', async ({ page }) => {
      await page.getByLabel('Adresse électronique').fill('pas-une-adresse');
      await page.getByRole('button', { name: 'Recevoir un lien de connexion' }).click();
      await page.locator('input[aria-invalid="true"]').waitFor();
      const violations = await axeSeriousViolations(page);
      assert.equal(violations.length, 0, `axe-core:\n${describeViolations(violations)}`);
    }, { bypassCSP: true });
  });
});

describe('at 360 px width no page scrolls horizontally', () => {
  for (const [name, path] of PAGES) {
    test(`the ${name} page (${path}) fits in 360 px`, async () => {
      await withPage(path, async ({ page }) => {
        const { scrollWidth, culprits } = await horizontalOverflow(page);
        assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360 on ${path}; too wide: ${culprits.join(', ')}`);
      }, { width: 360, height: 740 });
    });
  }

  test('the home page with the commune list open fits in 360 px', async () => {
    await withPage('/', async ({ page }) => {
      await typeInCommuneBox(page, 'saint');
      const { scrollWidth, culprits } = await horizontalOverflow(page);
      assert.ok(scrollWidth <= 360, `scrollWidth ${scrollWidth} > 360; too wide: ${culprits.join(', ')}`);
    }, { width: 360, height: 740 });
  });
});

test('the home page’s first load transfers less than 150 KB', async () => {
  await assertFirstLoadUnder150KB('/');
});

test('the whole page works with the keyboard: Tab reaches the skip link first and it moves focus to main', async () => {
  await withPage('/', async ({ page }) => {
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const el = document.activeElement;
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return {
        text: el.textContent.trim(),
        inViewport: box.width > 0 && box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight,
        focusRing: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
      };
    });
    assert.equal(first.text, 'Aller au contenu');
    assert.ok(first.inViewport, 'the skip link is not visible once focused');
    assert.ok(first.focusRing, 'the focused skip link has no visible focus ring');

    await page.keyboard.press('Enter');
    assert.ok(await page.evaluate(() => document.activeElement === document.querySelector('main')), 'focus is not on main');

    await page.keyboard.press('Tab');
    const next = await page.evaluate(() => ({
      inMain: document.querySelector('main').contains(document.activeElement),
      role: document.activeElement.getAttribute('role'),
    }));
    assert.ok(next.inMain, 'Tab after the skip link does not continue inside main');
    assert.equal(next.role, 'combobox', 'the commune box is not the first control of the home page');
  });
});
