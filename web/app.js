// Guichet's web front end: a small client-side router over the History API and the pages.
// Pages build DOM nodes with `h()` (text is always inserted as text, never as HTML).

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, joinNodes, announce, errorBlock, actionError, communeCombobox, fieldError } from './dom.js';
import { searchPage, searchForm } from './search.js';
import { loadSavedSearches, savedSearchList } from './alerts.js';
import { projectPage } from './projet.js';
import { nextStep } from './preparation.js';

const SITE_TITLE = 'Guichet — financements publics des projets ruraux';
const PAGE_SIZE = 20;
const PERIMETER_LIMIT = 40;

const main = document.getElementById('contenu');

// ---------------------------------------------------------------------------------------
// DOM helpers

/** Renders plain text (or light Markdown): paragraphs, "- " bullet lists, "#" headings. */
function plainText(text) {
  const clean = (s) => s.replace(/\*\*(.+?)\*\*/g, '$1').replace(/__(.+?)__/g, '$1');
  const nodes = [];
  for (const block of String(text).replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    let paragraph = [];
    let list = null;
    const flush = () => {
      if (paragraph.length) nodes.push(h('p', null, clean(paragraph.join(' '))));
      paragraph = [];
    };
    for (const raw of block.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const bullet = /^[-*•]\s+(.*)$/.exec(line);
      if (bullet) {
        flush();
        if (!list) {
          list = h('ul');
          nodes.push(list);
        }
        list.append(h('li', null, clean(bullet[1])));
        continue;
      }
      list = null;
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) {
        flush();
        nodes.push(h('h3', null, clean(heading[1])));
      } else {
        paragraph.push(line);
      }
    }
    flush();
  }
  return nodes;
}

/**
 * A part of a page filled by its own request, with loading, error (and retry) states.
 * `load(signal)` resolves with data; `show(data)` returns the nodes to display.
 */
function asyncBlock(signal, load, show, loadingText = 'Chargement…') {
  const box = h('div', { class: 'async-block', tabindex: '-1' });
  const run = (retrying) => {
    box.setAttribute('aria-busy', 'true');
    box.replaceChildren(h('p', { class: 'loading' }, loadingText));
    load(signal).then(
      (data) => {
        if (signal.aborted) return;
        box.replaceChildren(...show(data));
        box.removeAttribute('aria-busy');
        if (retrying) box.focus();
      },
      (err) => {
        if (isAbort(err) || signal.aborted) return;
        box.replaceChildren(errorBlock(err, () => run(true)));
        box.removeAttribute('aria-busy');
        if (retrying) box.focus();
      },
    );
  };
  run(false);
  return box;
}

function breadcrumb(...items) {
  return h('nav', { class: 'breadcrumb', 'aria-label': 'Fil d’Ariane' },
    h('ol', null, items.map(([text, href]) =>
      h('li', null, href ? h('a', { href }, text) : h('span', { 'aria-current': 'page' }, text)))));
}

/** A fact of a definition list; omitted when it has no value. */
function fact(term, ...values) {
  const list = values.flat().filter((v) => v != null && v !== '' && v !== false);
  if (list.length === 0) return null;
  return h('div', { class: 'fact' }, h('dt', null, term), list.map((v) => h('dd', null, v)));
}

function bulletList(items) {
  return items.length ? h('ul', { class: 'plain-list' }, items.map((i) => h('li', null, i))) : null;
}

class NotFound extends Error {
  constructor(title, message) {
    super(title);
    this.title = title;
    this.detail = message;
  }
}

const isNotFound = (err) => err && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION');

// ---------------------------------------------------------------------------------------
// Account (who is logged in), shared by the header and the account pages

// `editor`: whether a funder agent edits its funder's catalogue.
const ME_QUERY = 'query Me { me { id email role editor funder { slug name } } }';
let mePromise = null;

function loadMe({ refresh = false } = {}) {
  if (!mePromise || refresh) {
    mePromise = graphql(ME_QUERY).then(
      (data) => data.me,
      (err) => {
        if (err && err.code === 'UNAUTHENTICATED') return null;
        mePromise = null;
        throw err;
      },
    );
    mePromise.then(updateAccountLink, () => {});
  }
  return mePromise;
}

// The menu entries of each role, before « Mon compte ».
const ROLE_LINKS = {
  HOLDER: [['/dossiers', 'Mes dossiers']],
  FUNDER: [['/instruction', 'Instruction'], ['/conferences', 'Conférences']],
  STAFF: [['/instruction', 'Dossiers'], ['/conferences', 'Conférences'], ['/gestion', 'Gestion']],
  ADMIN: [['/instruction', 'Dossiers'], ['/conferences', 'Conférences'], ['/gestion', 'Gestion']],
};
// A funder agent who edits its funder's catalogue also reaches the catalogue screens.
const EDITOR_LINKS = [['/gestion', 'Gestion']];

function updateAccountLink(me) {
  const link = document.getElementById('nav-compte');
  if (!link) return;
  const [href, text] = me ? ['/compte', 'Mon compte'] : ['/connexion', 'Connexion'];
  link.setAttribute('href', href);
  link.dataset.section = href;
  link.textContent = text;
  for (const item of document.querySelectorAll('.site-nav li.role-link')) item.remove();
  const links = [...((me && ROLE_LINKS[me.role]) || []), ...(me && me.role === 'FUNDER' && me.editor ? EDITOR_LINKS : [])];
  for (const [section, label] of links) {
    link.parentElement.before(h('li', { class: 'role-link' }, h('a', { href: section, 'data-section': section }, label)));
  }
  updateNav(location.pathname);
}

function updateNav(pathname) {
  for (const link of document.querySelectorAll('.site-nav a')) {
    const section = link.dataset.section;
    link.removeAttribute('aria-current');
    if (pathname === section) link.setAttribute('aria-current', 'page');
    else if (section !== '/' && pathname.startsWith(`${section}/`)) link.setAttribute('aria-current', 'true');
  }
}

// ---------------------------------------------------------------------------------------
// Funders

const FUNDERS_QUERY = 'query Funders { funders { slug name kind schemeCount } }';

function funderGroups(funders, headingTag) {
  if (funders.length === 0) {
    return [h('p', { class: 'empty' }, 'Aucun financeur n’est encore référencé.')];
  }
  const kinds = Object.keys(L.FUNDER_KIND_GROUPS);
  const byKind = new Map();
  for (const f of funders) {
    if (!byKind.has(f.kind)) byKind.set(f.kind, []);
    byKind.get(f.kind).push(f);
  }
  const order = [...byKind.keys()].sort((a, b) => {
    const ia = kinds.indexOf(a);
    const ib = kinds.indexOf(b);
    return (ia < 0 ? kinds.length : ia) - (ib < 0 ? kinds.length : ib);
  });
  return [h('div', { class: 'funder-groups' }, order.map((kind) => {
    const list = byKind.get(kind).sort((a, b) => a.name.localeCompare(b.name, 'fr'));
    return h('section', { class: 'funder-group' },
      h(headingTag, null, L.label(L.FUNDER_KIND_GROUPS, kind)),
      h('ul', { class: 'funder-list' }, list.map((f) => h('li', null,
        h('a', { href: `/financeurs/${encodeURIComponent(f.slug)}` }, f.name),
        ' ',
        h('span', { class: 'count' }, F.countSchemes(f.schemeCount))))));
  }))];
}

async function fundersPage({ signal }) {
  const { funders } = await graphql(FUNDERS_QUERY, {}, { signal });
  const n = funders.length;
  return {
    title: 'Financeurs',
    content: [
      h('h1', null, 'Financeurs'),
      h('p', { class: 'lead' }, n > 0
        ? `${F.formatNumber(n)} financeur${n > 1 ? 's publient leurs' : ' publie ses'} dispositifs sur Guichet, classés par catégorie.`
        : 'Les financeurs publics de votre territoire publieront ici leurs dispositifs.'),
      ...funderGroups(funders, 'h2'),
    ],
  };
}

const FUNDER_QUERY = `query Funder($slug: String!, $first: Int, $after: String) {
  funder(slug: $slug) {
    slug name kind contactEmail schemeCount
    schemes(first: $first, after: $after) {
      total
      nodes { slug title summary }
      pageInfo { endCursor hasNextPage }
    }
  }
}`;

function schemeItem(s) {
  return h('li', { class: 'scheme-item' },
    h('h3', null, h('a', { href: `/dispositifs/${encodeURIComponent(s.slug)}` }, s.title)),
    s.summary ? h('p', null, s.summary) : null);
}

async function funderPage({ params, signal }) {
  const slug = params[0];
  let data;
  try {
    data = await graphql(FUNDER_QUERY, { slug, first: PAGE_SIZE }, { signal });
  } catch (err) {
    if (isNotFound(err)) data = { funder: null };
    else throw err;
  }
  const funder = data.funder;
  if (!funder) {
    throw new NotFound('Financeur introuvable', 'Ce financeur n’existe pas ou n’est plus référencé sur Guichet.');
  }

  const { schemes } = funder;
  const list = h('ul', { class: 'scheme-list' }, schemes.nodes.map(schemeItem));
  const progress = h('p', { class: 'muted', id: 'pagination-progress' });
  const moreError = h('div');
  let cursor = schemes.pageInfo.endCursor;
  let shown = schemes.nodes.length;
  const total = schemes.total;

  const more = h('button', { type: 'button', class: 'button button-secondary', 'aria-describedby': 'pagination-progress' }, 'Voir plus');
  let busy = false;
  more.addEventListener('click', async () => {
    if (busy) return;
    busy = true;
    more.setAttribute('aria-disabled', 'true');
    more.textContent = 'Chargement…';
    moreError.replaceChildren();
    try {
      const next = await graphql(FUNDER_QUERY, { slug, first: PAGE_SIZE, after: cursor }, { signal });
      const page = next.funder.schemes;
      const items = page.nodes.map(schemeItem);
      list.append(...items);
      shown += page.nodes.length;
      cursor = page.pageInfo.endCursor;
      updateProgress();
      if (!page.pageInfo.hasNextPage) more.remove();
      announce(`${F.countSchemes(page.nodes.length)} de plus affiché${page.nodes.length > 1 ? 's' : ''}.`);
      const firstLink = items[0] && items[0].querySelector('a');
      if (firstLink) firstLink.focus();
    } catch (err) {
      if (isAbort(err)) return;
      moreError.replaceChildren(errorBlock(err));
    } finally {
      busy = false;
      more.removeAttribute('aria-disabled');
      more.textContent = 'Voir plus';
    }
  });
  function updateProgress() {
    progress.textContent = `${F.formatNumber(shown)} sur ${F.formatNumber(total)} affichés.`;
  }
  updateProgress();

  const contact = funder.contactEmail
    ? h('p', { class: 'contact' }, 'Contact : ', h('a', { href: `mailto:${funder.contactEmail}` }, funder.contactEmail))
    : null;

  return {
    title: funder.name,
    content: [
      breadcrumb(['Accueil', '/'], ['Financeurs', '/financeurs'], [funder.name]),
      h('h1', null, funder.name),
      h('p', null, h('span', { class: 'tag' }, L.label(L.FUNDER_KINDS, funder.kind))),
      contact,
      h('section', { class: 'section', 'aria-labelledby': 'dispositifs-titre' },
        h('h2', { id: 'dispositifs-titre' }, 'Dispositifs'),
        total === 0
          ? h('p', { class: 'empty' }, 'Ce financeur n’a pas encore de dispositif publié.')
          : [
            h('p', null, `${F.countSchemes(total).replace(/^./, (c) => c.toUpperCase())} publié${total > 1 ? 's' : ''}.`),
            list,
            total > shown || schemes.pageInfo.hasNextPage ? [progress, h('p', null, more), moreError] : null,
          ]),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Home

function communeCard(t) {
  const epci = F.parentOfKind(t, 'EPCI');
  const dept = F.parentOfKind(t, 'DEPARTMENT');
  const region = F.parentOfKind(t, 'REGION');
  return h('section', { class: 'card commune-card', 'aria-labelledby': 'commune-titre' },
    h('h3', { id: 'commune-titre' }, `${t.name} `, h('span', { class: 'muted' }, `(${t.code})`)),
    h('dl', { class: 'facts' },
      fact('Population', F.formatInhabitants(t.population)),
      fact(t.postcodes.length > 1 ? 'Codes postaux' : 'Code postal', t.postcodes.join(', ')),
      fact('Intercommunalité', epci ? epci.name : null),
      fact('Département', dept ? F.departmentName(dept) : null),
      fact('Région', region ? region.name : null)),
    h('p', null, h('a', { href: `/recherche?${new URLSearchParams({ commune: t.code })}` }, `Voir les aides disponibles à ${t.name}`)));
}

// The commune chosen on the home page, kept for this tab: the search goes on with it.
const HOME_COMMUNE_KEY = 'guichet.commune';

function rememberedCommune() {
  try {
    const t = JSON.parse(sessionStorage.getItem(HOME_COMMUNE_KEY) || 'null');
    return t && typeof t.code === 'string' && /^(\d{5}|2[AB]\d{3})$/.test(t.code) ? t : null;
  } catch {
    return null;
  }
}

function rememberCommune(t) {
  try {
    if (t) sessionStorage.setItem(HOME_COMMUNE_KEY, JSON.stringify(t));
    else sessionStorage.removeItem(HOME_COMMUNE_KEY);
  } catch {
    // Storage unavailable: the commune is still in the links of this page.
  }
}

/** The search page's address for words `q` and the commune chosen, if any. */
function searchHref(q, commune) {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (commune) params.set('commune', commune.code);
  const query = params.toString();
  return query ? `/recherche?${query}` : '/recherche';
}

/** The home page's search box: goes to the search page with the words typed and the commune. */
function homeSearchForm(commune) {
  const { form, input } = searchForm({ id: 'accueil-recherche', label: 'aides-recherche' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(searchHref(input.value.trim(), commune()));
  });
  return form;
}

function homePage({ signal }) {
  const cardSlot = h('div', { class: 'commune-result' });
  let chosen = rememberedCommune();
  const browse = h('a', { href: searchHref('', chosen) }, 'Parcourir tous les dispositifs');
  const show = (t) => {
    cardSlot.replaceChildren(t ? communeCard(t) : '');
    browse.setAttribute('href', searchHref('', t));
    browse.textContent = t ? `Parcourir tous les dispositifs à ${t.name}` : 'Parcourir tous les dispositifs';
  };
  const combobox = communeCombobox({
    label: 'Rechercher une commune',
    hint: 'Nom, code postal ou code INSEE. Choisissez dans la liste avec les flèches puis Entrée.',
    onSelect(t) {
      chosen = t;
      rememberCommune(t);
      show(t);
      const dept = F.parentOfKind(t, 'DEPARTMENT');
      announce(`${t.name}${dept ? `, ${dept.name}` : ''} : ${F.formatInhabitants(t.population)}.`);
    },
  });
  if (chosen) show(chosen);

  return {
    title: null,
    content: [
      h('h1', null, 'Un seul dossier pour financer votre projet rural'),
      h('p', { class: 'lead' },
        'Guichet réunit en un seul endroit les aides publiques aux projets ruraux : dotations de l’État, ',
        'aides de la Région et du Département, programme européen LEADER, Banque des Territoires, CAF, MSA, fondations… ',
        'Vous déposez un seul dossier pour tous les financeurs publics de votre projet : ils le reçoivent ',
        'ensemble, posent leurs questions une seule fois et décident ensemble. Rouvrir le dernier café, ',
        'créer une épicerie solidaire, un tiers-lieu ou une maison de santé : commencez par votre commune.'),
      h('section', { class: 'section search-section', 'aria-labelledby': 'commune-recherche' },
        h('h2', { id: 'commune-recherche' }, 'Votre commune'),
        combobox,
        cardSlot),
      h('section', { class: 'section search-section', 'aria-labelledby': 'aides-recherche' },
        h('h2', { id: 'aides-recherche' }, 'Rechercher des aides'),
        homeSearchForm(() => chosen),
        h('p', null, browse)),
      h('section', { class: 'section', 'aria-labelledby': 'financeurs-titre' },
        h('h2', { id: 'financeurs-titre' }, 'Les financeurs'),
        asyncBlock(signal,
          (s) => graphql(FUNDERS_QUERY, {}, { signal: s }),
          (data) => funderGroups(data.funders, 'h3'),
          'Chargement des financeurs…'),
        h('p', null, h('a', { href: '/financeurs' }, 'Tous les financeurs'))),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Scheme detail

const SCHEME_QUERY = `query Scheme($slug: String!) {
  scheme(slug: $slug) {
    slug title summary description status
    funders { slug name }
    beneficiaryTypes themes aidTypes natures
    perimeter { national regions departments epcis communes zonings }
    rules { maxCommunePopulation maxEpciPopulation minProjectCost maxProjectCost
            noStartBeforeFiling requiresNationalPublicCofunding economicActivity
            conditions { text whenCommunePopulationAbove whenEpciPopulationAbove } }
    funding { rateMin rateMax amountMin amountMax maxPublicAidRate regime basis
              euCofundingRate typicalRate }
    calendar { recurrence opensOn closesOn }
    requiredDocuments applicationUrl sourceUrl verifiedOn updatedAt receivesInGuichet
  }
  zonings { slug name source asOf communeCount }
}`;

const PERIMETER_PARTS = [
  ['regions', 'REGION', 'Région', 'Régions'],
  ['departments', 'DEPARTMENT', 'Département', 'Départements'],
  ['epcis', 'EPCI', 'Intercommunalité', 'Intercommunalités'],
  ['communes', 'COMMUNE', 'Commune', 'Communes'],
];

function territoryName(t, kind, code) {
  if (!t || t.kind !== kind) return `${L.label(L.TERRITORY_KINDS, kind)} ${code}`;
  if (kind === 'DEPARTMENT' || kind === 'COMMUNE') return `${t.name} (${t.code})`;
  return t.name;
}

/** « GAL du Pays de Chaumont (151 communes, liste du 27 mars 2023) » */
function zoningLine(slug, zonings) {
  const z = zonings.find((candidate) => candidate.slug === slug);
  if (!z) return `Zonage « ${slug} » : liste des communes non chargée (à vérifier auprès du financeur)`;
  if (z.communeCount === 0) return `${z.name} : liste des communes non chargée (à vérifier auprès du financeur)`;
  return `${z.name} (${F.formatNumber(z.communeCount)} communes, liste du ${F.formatDate(z.asOf)})`;
}

/** Lines describing the perimeter; `resolved` maps "KIND:code" to a Territory. */
function perimeterLines(perimeter, resolved, zonings = []) {
  if (perimeter.national) return ['France entière'];
  const lines = (perimeter.zonings || []).map((slug) => zoningLine(slug, zonings));
  for (const [key, kind, one, many] of PERIMETER_PARTS) {
    const codes = perimeter[key] || [];
    if (codes.length === 0) continue;
    const names = codes.slice(0, PERIMETER_LIMIT).map((c) => territoryName(resolved.get(`${kind}:${c}`), kind, c));
    const rest = codes.length - names.length;
    lines.push(`${codes.length > 1 ? many : one} : ${names.join(', ')}${rest > 0 ? ` et ${F.formatNumber(rest)} autres` : ''}`);
  }
  return lines.length ? lines : ['Non précisé'];
}

async function resolvePerimeter(perimeter, signal) {
  const wanted = [];
  for (const [key, kind] of PERIMETER_PARTS) {
    for (const code of (perimeter[key] || []).slice(0, PERIMETER_LIMIT)) wanted.push([kind, code]);
  }
  const resolved = new Map();
  if (perimeter.national || wanted.length === 0) return resolved;
  const vars = {};
  const args = [];
  const fields = [];
  wanted.forEach(([, code], i) => {
    vars[`c${i}`] = code;
    args.push(`$c${i}: String!`);
    fields.push(`t${i}: territory(code: $c${i}) { code name kind }`);
  });
  const data = await graphql(`query Perimeter(${args.join(', ')}) { ${fields.join(' ')} }`, vars, { signal });
  wanted.forEach(([kind, code], i) => {
    if (data[`t${i}`]) resolved.set(`${kind}:${code}`, data[`t${i}`]);
  });
  return resolved;
}

function statusBadge(status) {
  return h('span', { class: `badge badge-${String(status).toLowerCase()}` }, L.label(L.SCHEME_STATUSES, status));
}

async function schemePage({ params, signal }) {
  let data;
  try {
    data = await graphql(SCHEME_QUERY, { slug: params[0] }, { signal });
  } catch (err) {
    if (isNotFound(err)) data = { scheme: null };
    else throw err;
  }
  const s = data.scheme;
  if (!s) {
    throw new NotFound('Dispositif introuvable',
      'Ce dispositif n’existe pas, a été renommé ou n’est plus publié. Consultez la liste des financeurs pour retrouver leurs dispositifs.');
  }
  return schemeContent(s, data.zonings || [], signal);
}

/**
 * The public page of scheme `s` (the shape of SCHEME_QUERY's `scheme`), { title, content }:
 * also the staff's preview of a scheme being edited.
 */
export function schemeContent(s, zonings, signal) {
  const perimeterDd = h('div', { class: 'fact' }, h('dt', null, 'Périmètre'));
  const showPerimeter = (resolved) => {
    perimeterDd.querySelectorAll('dd').forEach((n) => n.remove());
    perimeterDd.append(...perimeterLines(s.perimeter, resolved, zonings).map((line) => h('dd', null, line)));
  };
  showPerimeter(new Map());
  perimeterDd.setAttribute('aria-busy', 'true');
  resolvePerimeter(s.perimeter, signal).then(showPerimeter, (err) => {
    if (!isAbort(err)) console.warn('Périmètre non résolu', err);
  }).finally(() => perimeterDd.removeAttribute('aria-busy'));

  const f = s.funding || {};
  const funders = s.funders.map((fu) => h('a', { href: `/financeurs/${encodeURIComponent(fu.slug)}` }, fu.name));
  const conditions = F.ruleSentences(s.rules, s.funding);
  const application = F.safeUrl(s.applicationUrl);
  const source = F.safeUrl(s.sourceUrl);

  return {
    title: s.title,
    content: [
      schemeBreadcrumb(s),
      h('h1', null, s.title),
      h('p', { class: 'badges' }, statusBadge(s.status)),
      s.status === 'ARCHIVED' ? h('p', { class: 'alert alert-info' }, 'Ce dispositif est archivé : il n’accepte plus de demandes.') : null,
      s.summary ? h('p', { class: 'lead' }, s.summary) : null,
      funders.length ? h('p', null, funders.length > 1 ? 'Financeurs : ' : 'Financeur : ', joinNodes(funders)) : null,
      s.status !== 'ARCHIVED' && s.receivesInGuichet === false ? h('p', { class: 'alert alert-info', id: 'ne-recoit-pas' },
        'Ce financeur ne reçoit pas encore les dossiers par Guichet : ',
        application || source
          ? h('a', { href: application || source }, 'déposez votre demande sur sa page')
          : h('a', { href: `/financeurs/${encodeURIComponent(s.funders[0].slug)}` }, 'déposez votre demande sur sa page'),
        '.') : null,
      h('p', { class: 'actions' },
        s.status === 'PUBLISHED' ? nextStep(s) : null,
        s.status !== 'PUBLISHED' && application ? h('a', { class: 'button', href: application }, 'Candidater') : null,
        h('span', { class: 'source' },
          source ? h('a', { href: source }, 'Page du financeur') : 'Page officielle du financeur non renseignée',
          s.verifiedOn
            ? ` (vérifiée le ${F.formatDate(s.verifiedOn)})`
            : h('span', { class: 'badge badge-unverified' }, 'à vérifier'))),
      s.verifiedOn ? null : h('p', { class: 'hint' },
        'Personne n’a encore vérifié cette fiche auprès de sa source : confirmez taux, montants et dates auprès du financeur avant de vous engager.'),
      h('section', { class: 'section', 'aria-labelledby': 'essentiel-titre' },
        h('h2', { id: 'essentiel-titre' }, 'L’essentiel'),
        h('dl', { class: 'facts' },
          fact('Bénéficiaires', s.beneficiaryTypes.map((b) => L.label(L.BENEFICIARY_TYPES, b)).join(', ')),
          fact('Thèmes', s.themes.map((t) => L.label(L.THEMES, t)).join(', ')),
          fact('Types d’aide', s.aidTypes.map((a) => L.label(L.AID_TYPES, a)).join(', ')),
          fact('Dépenses financées', (s.natures || []).length
            ? s.natures.map((n) => L.label(L.NATURES, n)).join(' et ')
            : 'Investissement et fonctionnement'),
          fact('Taux d’aide', F.formatRateRange(f.rateMin, f.rateMax)),
          fact('Taux usuel', f.typicalRate != null ? F.formatPercent(f.typicalRate) : null),
          fact('Base des montants', f.basis ? L.label(L.COST_BASES, f.basis) : 'HT ou TTC : non précisé'),
          fact('Montant de l’aide', F.formatAmountRange(f.amountMin, f.amountMax)),
          fact('Régime d’aides d’État', f.regime && f.regime !== 'NONE' ? L.label(L.STATE_AID_REGIMES, f.regime) : null),
          perimeterDd,
          fact('Calendrier', F.calendarLines(s.calendar, L.RECURRENCES)),
          fact('Conditions', bulletList(conditions)),
          fact('Pièces à fournir', bulletList(s.requiredDocuments)))),
      s.description ? h('section', { class: 'section description', 'aria-labelledby': 'description-titre' },
        h('h2', { id: 'description-titre' }, 'Description'),
        plainText(s.description)) : null,
      s.updatedAt ? h('p', { class: 'muted' }, `Fiche mise à jour le ${F.formatDate(s.updatedAt)}.`) : null,
    ],
  };
}

function schemeBreadcrumb(s) {
  const first = s.funders[0];
  return first
    ? breadcrumb(['Accueil', '/'], [first.name, `/financeurs/${encodeURIComponent(first.slug)}`], [s.title])
    : breadcrumb(['Accueil', '/'], [s.title]);
}

// ---------------------------------------------------------------------------------------
// Login and account

const REQUEST_LINK = 'mutation RequestLoginLink($email: String!, $returnTo: String) { requestLoginLink(email: $email, returnTo: $returnTo) }';

/**
 * The page to return to after login: `?retour=` if it is a path of this site, else the page
 * shown before the login page. Never another site (the server checks it again).
 */
function returnPath(query) {
  const safe = (p) => (typeof p === 'string' && /^\/(?![/\\])/.test(p) && !/^\/(connexion|login|logout)\b/.test(p) ? p : null);
  return safe(query.get('retour')) || safe(previousPath);
}

function loginPage({ query }) {
  const back = returnPath(query);
  const invalidLink = query.get('erreur') === 'lien-invalide';
  const input = h('input', {
    id: 'email', name: 'email', type: 'email', autocomplete: 'email', required: true,
    spellcheck: 'false', 'aria-describedby': 'email-aide',
  });
  const emailError = fieldError('email-erreur', input);
  const button = h('button', { type: 'submit', class: 'button' }, 'Recevoir un lien de connexion');
  const success = h('div', { class: 'status-slot', role: 'status' });
  const failure = h('div', { class: 'status-slot', role: 'alert' });
  const already = h('div');

  function clearMessages() {
    emailError.clear();
    success.replaceChildren();
    failure.replaceChildren();
  }

  let busy = false;
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'connexion-titre' },
    h('div', { class: 'field' },
      h('label', { for: 'email' }, 'Adresse électronique'),
      h('p', { id: 'email-aide', class: 'hint' }, 'Par exemple : mairie@exemple.fr'),
      input,
      emailError.slot),
    h('p', null, button));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    clearMessages();
    const email = input.value.trim();
    if (!email) {
      emailError.show('Indiquez votre adresse électronique.');
      input.focus();
      return;
    }
    busy = true;
    button.setAttribute('aria-disabled', 'true');
    button.textContent = 'Envoi en cours…';
    try {
      await graphql(REQUEST_LINK, { email, returnTo: back });
      success.replaceChildren(h('p', { class: 'alert alert-success' },
        'Si cette adresse est valide, un lien de connexion vient de vous être envoyé. Il est valable 15 minutes.'));
    } catch (err) {
      if (err.code === 'VALIDATION' && (!err.field || err.field === 'email')) {
        emailError.show(err.message || 'Cette adresse électronique n’est pas valide.');
        input.focus();
      } else {
        failure.replaceChildren(errorBlock(err));
      }
    } finally {
      busy = false;
      button.removeAttribute('aria-disabled');
      button.textContent = 'Recevoir un lien de connexion';
    }
  });

  loadMe().then((me) => {
    if (me) {
      already.replaceChildren(h('p', { class: 'alert alert-info' },
        `Vous êtes déjà connecté avec l’adresse ${me.email}. `, h('a', { href: '/compte' }, 'Voir mon compte')));
    }
  }, () => {});

  return {
    title: 'Connexion',
    content: [
      h('h1', { id: 'connexion-titre' }, 'Connexion'),
      invalidLink ? h('div', { class: 'alert alert-warning' },
        h('p', null, h('strong', null, 'Ce lien de connexion n’est plus valable.')),
        h('p', null, 'Il a expiré (un lien est valable 15 minutes) ou a déjà été utilisé. Demandez un nouveau lien ci-dessous.')) : null,
      already,
      h('p', { class: 'lead' }, 'Pas de mot de passe : indiquez votre adresse électronique et nous vous envoyons un lien pour vous connecter.'),
      form,
      success,
      failure,
    ],
  };
}

const DELETE_MY_ACCOUNT = `mutation DeleteMyAccount($confirmation: String!) {
  deleteMyAccount(confirmation: $confirmation) { anonymisedDossiers message }
}`;

/** Where the caller's personal data downloads, as a JSON file. */
const PERSONAL_DATA_URL = '/compte/donnees.json';

/**
 * « Mes données personnelles »: the download of everything Guichet holds on the account
 * (JSON) and, for holders, the deletion of the account confirmed by typing its address.
 */
function personalDataSection(me) {
  const heading = h('h2', { id: 'donnees-titre' }, 'Mes données personnelles');
  const download = [
    h('p', null, 'Téléchargez toutes les données que Guichet détient sur vous : votre compte, vos sessions, vos alertes, vos dossiers avec les réponses des financeurs, la liste de vos pièces jointes et des messages qui vous ont été envoyés. Le fichier est au format JSON, lisible par d’autres services.'),
    h('p', null, h('a', { class: 'button button-secondary', href: PERSONAL_DATA_URL, download: '' }, 'Télécharger mes données (JSON)')),
  ];
  if (me.role !== 'HOLDER') {
    return h('section', { class: 'section', 'aria-labelledby': 'donnees-titre' },
      heading,
      download,
      h('p', null, 'Les comptes des agents de financeurs et de l’équipe du guichet ne peuvent pas être supprimés depuis cette page : vos décisions et vos actions doivent rester attribuables. Adressez votre demande à l’administrateur du guichet, qui retirera vos accès.'));
  }

  const input = h('input', {
    id: 'suppression-confirmation', name: 'confirmation', type: 'email', autocomplete: 'off',
    spellcheck: 'false', required: true, 'aria-describedby': 'suppression-aide',
  });
  const confirmationError = fieldError('suppression-erreur', input);
  const button = h('button', { type: 'submit', class: 'button' }, 'Supprimer définitivement mon compte');
  const failure = h('div', { class: 'status-slot', role: 'alert' });

  function refuse(message) {
    confirmationError.show(message);
    input.focus();
  }

  let busy = false;
  const form = h('form', { class: 'form confirm-box', novalidate: true, 'aria-labelledby': 'suppression-titre' },
    h('div', { class: 'field' },
      h('label', { for: 'suppression-confirmation' }, 'Pour confirmer, saisissez l’adresse électronique de votre compte'),
      h('p', { id: 'suppression-aide', class: 'hint' }, 'Celle qui figure en haut de cette page. La suppression est immédiate et définitive.'),
      input,
      confirmationError.slot),
    h('p', null, button));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    confirmationError.clear();
    failure.replaceChildren();
    const confirmation = input.value.trim();
    if (!confirmation) {
      refuse('Saisissez l’adresse électronique de votre compte pour confirmer la suppression.');
      return;
    }
    if (confirmation.toLowerCase() !== me.email.toLowerCase()) {
      refuse('Cette adresse n’est pas celle de votre compte : saisissez l’adresse qui figure en haut de cette page.');
      return;
    }
    busy = true;
    button.setAttribute('aria-disabled', 'true');
    button.textContent = 'Suppression en cours…';
    try {
      const data = await graphql(DELETE_MY_ACCOUNT, { confirmation });
      accountDeleted(data.deleteMyAccount);
    } catch (err) {
      if (err.code === 'VALIDATION' && (!err.field || err.field === 'confirmation')) {
        refuse(err.message);
      } else {
        failure.replaceChildren(actionError(err));
      }
      busy = false;
      button.removeAttribute('aria-disabled');
      button.textContent = 'Supprimer définitivement mon compte';
    }
  });

  return h('section', { class: 'section', 'aria-labelledby': 'donnees-titre' },
    heading,
    download,
    h('h3', { id: 'suppression-titre' }, 'Supprimer mon compte'),
    h('p', null, 'Si vous supprimez votre compte :'),
    h('ul', null,
      h('li', null, 'vos brouillons et vos dossiers retirés sont supprimés, avec leurs pièces jointes ;'),
      h('li', null, 'vos alertes, l’organisation enregistrée pour vos prochains dossiers, vos sessions et vos jetons d’accès sont supprimés : vous êtes déconnecté de tous vos appareils ;'),
      h('li', null, 'les dossiers déjà déposés auprès des financeurs sont conservés, car les financeurs doivent pouvoir justifier l’emploi des fonds publics (10 ans après la décision), mais sans le nom, l’adresse électronique ni le téléphone de la personne à contacter. L’identité de l’organisation (raison sociale, SIRET, commune) et les décisions restent ;'),
      h('li', null, 'un dernier message vous confirme la suppression. Vous pourrez ensuite créer un nouveau compte avec la même adresse.')),
    h('p', null, 'Pensez à télécharger vos données avant de supprimer votre compte.'),
    form,
    failure);
}

/** The page once the account is deleted: logged out, told what was done. */
function accountDeleted(result) {
  mePromise = Promise.resolve(null);
  updateAccountLink(null);
  const title = 'Compte supprimé';
  const heading = h('h1', { tabindex: '-1' }, 'Votre compte a été supprimé');
  main.replaceChildren(
    heading,
    h('div', { class: 'alert alert-success' },
      h('p', null, result.message),
      h('p', null, 'Vous êtes déconnecté de tous vos appareils. Un message de confirmation a été envoyé à votre adresse.')),
    h('p', null, h('a', { href: '/' }, 'Retour à l’accueil')));
  document.title = `${title} — Guichet`;
  window.scrollTo(0, 0);
  heading.focus();
  announce('Votre compte a été supprimé.');
}

async function accountPage({ signal }) {
  let me;
  try {
    me = (await graphql(ME_QUERY, {}, { signal })).me;
  } catch (err) {
    if (err.code !== 'UNAUTHENTICATED') throw err;
    me = null;
  }
  mePromise = Promise.resolve(me);
  updateAccountLink(me);

  if (!me) {
    return {
      title: 'Mon compte',
      content: [
        h('h1', null, 'Mon compte'),
        h('p', null, 'Vous n’êtes pas connecté. Connectez-vous pour préparer vos dossiers et suivre les réponses des financeurs.'),
        h('p', null, h('a', { class: 'button', href: '/connexion' }, 'Se connecter')),
      ],
    };
  }
  const alertsHeading = h('h2', { id: 'alertes-titre', tabindex: '-1' }, 'Mes alertes');
  const alertsSection = h('section', { class: 'section', 'aria-labelledby': 'alertes-titre' },
    alertsHeading,
    h('p', null, 'Une alerte vous envoie par courriel les dispositifs nouveaux ou modifiés qui correspondent à une recherche.'),
    asyncBlock(signal, loadSavedSearches, (list) => savedSearchList(list, alertsHeading), 'Chargement de vos alertes…'));

  return {
    title: 'Mon compte',
    content: [
      h('h1', null, 'Mon compte'),
      h('dl', { class: 'facts' },
        fact('Adresse électronique', me.email),
        fact('Rôle', L.label(L.ROLES, me.role)),
        fact('Financeur', me.funder ? h('a', { href: `/financeurs/${encodeURIComponent(me.funder.slug)}` }, me.funder.name) : null)),
      h('form', { method: 'post', action: '/logout', class: 'form' },
        h('button', { type: 'submit', class: 'button button-secondary' }, 'Se déconnecter')),
      alertsSection,
      personalDataSection(me),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Router

/** A page of a module loaded when first needed: the dossier pages stay out of the first load. */
const lazy = (load, name, options) => async (context) => (await load())[name](context, options);
const dossierModule = () => import('./dossier.js');
const dossierFormModule = () => import('./dossier-form.js');
const conferenceModule = () => import('./conference.js');
const staffFundersModule = () => import('./staff-funders.js');
const staffMiscModule = () => import('./staff-misc.js');
const staffCatalogModule = () => import('./staff-catalog.js');
const schemeFormModule = () => import('./scheme-form.js');

const ROUTES = [
  [/^\/$/, homePage],
  [/^\/dossiers\/?$/, lazy(dossierModule, 'dossiersPage')],
  [/^\/dossiers\/nouveau\/?$/, lazy(dossierFormModule, 'dossierFormPage')],
  [/^\/dossiers\/([^/]+)\/modifier\/?$/, lazy(dossierFormModule, 'dossierFormPage')],
  [/^\/dossiers\/([^/]+)\/?$/, lazy(dossierModule, 'dossierPage')],
  [/^\/instruction\/?$/, lazy(() => import('./instruction.js'), 'inboxPage')],
  [/^\/instruction\/([^/]+)\/?$/, lazy(dossierModule, 'dossierPage', { inInbox: true })],
  [/^\/conferences\/?$/, lazy(conferenceModule, 'conferencesPage')],
  [/^\/conferences\/([^/]+)\/?$/, lazy(conferenceModule, 'conferencePage')],
  [/^\/gestion\/?$/, lazy(staffCatalogModule, 'staffHomePage')],
  [/^\/gestion\/dispositifs\/?$/, lazy(staffCatalogModule, 'staffSchemesPage')],
  [/^\/gestion\/dispositifs\/nouveau\/?$/, lazy(schemeFormModule, 'schemeFormPage')],
  [/^\/gestion\/dispositifs\/([^/]+)\/?$/, lazy(schemeFormModule, 'schemeFormPage')],
  [/^\/recherche\/?$/, searchPage],
  [/^\/projet\/?$/, projectPage],
  [/^\/financeurs\/?$/, fundersPage],
  [/^\/financeurs\/([^/]+)\/?$/, funderPage],
  [/^\/dispositifs\/([^/]+)\/?$/, schemePage],
  [/^\/connexion\/?$/, loginPage],
  [/^\/compte\/?$/, accountPage],
  [/^\/gestion\/financeurs\/?$/, lazy(staffFundersModule, 'staffFundersPage')],
  [/^\/gestion\/financeurs\/([^/]+)\/?$/, lazy(staffFundersModule, 'staffFunderPage')],
  [/^\/gestion\/comptes\/?$/, lazy(staffMiscModule, 'accountsPage')],
  [/^\/gestion\/synonymes\/?$/, lazy(staffMiscModule, 'synonymsPage')],
  [/^\/gestion\/zonages\/?$/, lazy(staffMiscModule, 'zoningsPage')],
  [/^\/gestion\/imports\/?$/, lazy(staffMiscModule, 'importsPage')],
];

function matchRoute(pathname) {
  for (const [pattern, page] of ROUTES) {
    const m = pattern.exec(pathname);
    if (m) {
      const params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      });
      return { page, params };
    }
  }
  return null;
}

function notFoundPage() {
  throw new NotFound('Page introuvable', 'Cette adresse ne correspond à aucune page de Guichet.');
}

let current = null;
// The page shown before the current one (the login page returns there).
let previousPath = null;

async function render({ moveFocus, scrollY = 0 }) {
  const url = new URL(location.href);
  const key = url.pathname + url.search;
  if (current) current.controller.abort();
  const controller = new AbortController();
  current = { key, controller };
  const { signal } = controller;

  updateNav(url.pathname);
  const route = matchRoute(url.pathname) || { page: notFoundPage, params: [] };
  main.setAttribute('aria-busy', 'true');
  main.replaceChildren(h('p', { class: 'loading' }, 'Chargement…'));

  let result;
  try {
    result = await route.page({ params: route.params, query: url.searchParams, signal, setUrl, navigate, loadMe });
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof NotFound) {
      result = {
        title: err.title,
        content: [
          h('h1', null, err.title),
          h('p', null, err.detail),
          h('p', null, h('a', { href: '/' }, 'Retour à l’accueil'), ' · ', h('a', { href: '/financeurs' }, 'Voir les financeurs')),
        ],
      };
    } else {
      if (!isAbort(err) && !(err && err.code)) console.error(err);
      result = {
        title: 'Service indisponible',
        content: [
          h('h1', null, 'Service indisponible'),
          errorBlock(err, () => render({ moveFocus: true })),
        ],
      };
    }
  }
  if (signal.aborted) return;

  main.replaceChildren(...result.content.filter(Boolean));
  main.removeAttribute('aria-busy');
  current.pathname = url.pathname;
  current.update = result.update || null;
  document.title = result.title ? `${result.title} — Guichet` : SITE_TITLE;
  window.scrollTo(0, scrollY);
  if (moveFocus) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    announce(result.title || 'Accueil');
  }
}

/**
 * Changes the address of the page being shown without rendering it again (a page that keeps
 * its state in the query string, such as the search page). `push` adds a history entry.
 */
function setUrl(href, { push = false } = {}) {
  const url = new URL(href, location.href);
  const key = url.pathname + url.search;
  if (key === location.pathname + location.search) return;
  if (push) {
    history.replaceState({ ...(history.state || {}), scrollY: window.scrollY }, '');
    history.pushState({}, '', url);
  } else {
    history.replaceState(history.state, '', url);
  }
  if (current) current.key = key;
}

function navigate(href, { replace = false } = {}) {
  const url = new URL(href, location.href);
  previousPath = location.pathname + location.search;
  history.replaceState({ ...(history.state || {}), scrollY: window.scrollY }, '');
  const same = url.pathname + url.search === location.pathname + location.search;
  if (replace || same) history.replaceState({}, '', url);
  else history.pushState({}, '', url);
  render({ moveFocus: true });
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;

  if (url.hash && url.pathname === location.pathname && url.search === location.search) {
    // In-page link, e.g. the skip link: move focus there without reloading the page.
    const target = document.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (target) {
      e.preventDefault();
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus();
      target.scrollIntoView({ block: 'start' });
    }
    return;
  }
  if (!matchRoute(url.pathname)) return;
  e.preventDefault();
  navigate(url.href);
});

window.addEventListener('popstate', (e) => {
  const key = location.pathname + location.search;
  if (current && current.key === key) return; // only the fragment changed
  if (current && current.update && current.pathname === location.pathname) {
    // The page follows its own address (e.g. the search page's filters): no new render.
    current.key = key;
    current.update(new URLSearchParams(location.search));
    return;
  }
  render({ moveFocus: true, scrollY: (e.state && e.state.scrollY) || 0 });
});

if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
// The account page asks for `me` itself; elsewhere the header needs it.
if (!/^\/compte\/?$/.test(location.pathname)) loadMe().catch(() => {});
render({ moveFocus: false });
