// The catalogue screens of staff and of funder editors: `/gestion` (what waits, and the links
// to every staff screen) and `/gestion/dispositifs` (every scheme, drafts and archives
// included, filtered by status, funder, theme and verification date, all kept in the address).
// An editor (a funder agent with `editor`) sees its funder's schemes only: the API decides.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, errorBlock } from './dom.js';
import { plural, loginNeeded, forbidden, busy } from './dossier-ui.js';

const PAGE_SIZE = 20;
const ALL_STATUSES = ['DRAFT', 'PUBLISHED', 'ARCHIVED'];

/** Who may use the catalogue screens: staff, admins, and funder agents who edit. */
export function catalogRole(me) {
  if (!me) return null;
  if (me.role === 'STAFF' || me.role === 'ADMIN') return 'staff';
  if (me.role === 'FUNDER' && me.editor) return 'editor';
  return null;
}

/** The page shown instead when `me` may not use the catalogue screens (null when it may). */
export function refusal(me, title) {
  if (!me) return loginNeeded(title, 'Connectez-vous avec votre compte de l’équipe Guichet ou d’agent éditeur d’un financeur.');
  if (!catalogRole(me)) {
    return forbidden(title, 'Cette page est réservée à l’équipe Guichet et aux agents des financeurs chargés de leur catalogue.');
  }
  return null;
}

/** « Brouillon », « Publié » or « Archivé », and « publication demandée » when it waits. */
export function schemeBadges(s) {
  return h('span', { class: 'badges' },
    h('span', { class: `badge badge-${String(s.status).toLowerCase()}` }, L.label(L.SCHEME_STATUSES, s.status)),
    s.publicationRequestedAt && s.status === 'DRAFT'
      ? [' ', h('span', { class: 'badge badge-submitted' }, 'Publication demandée')]
      : null);
}

const schemeHref = (slug) => `/gestion/dispositifs/${encodeURIComponent(slug)}`;

// ---------------------------------------------------------------------------------------
// /gestion

const HOME_QUERY = `query StaffHome {
  waiting: schemes(first: 50, status: [DRAFT], awaitingPublication: true) {
    total
    nodes { slug title publicationRequestedAt funders { name } changes { at actor action } }
  }
  drafts: schemes(first: ${PAGE_SIZE}, status: [DRAFT]) {
    total
    nodes { slug title updatedAt reviewComment funders { name } }
  }
}`;

/** Who asked for the publication of `s`: the author of the latest request in its log. */
function requester(s) {
  const asked = (s.changes || []).find((c) => /publication|request/i.test(c.action));
  return asked ? asked.actor : null;
}

const STAFF_SCREENS = [
  ['/gestion/dispositifs', 'Dispositifs', 'Tous les dispositifs, brouillons et archives compris ; créer, modifier, publier.'],
  ['/gestion/financeurs', 'Financeurs', 'Fiches, services locaux, agents et doublons des financeurs.'],
  ['/gestion/comptes', 'Comptes', 'Retrouver un compte, changer son rôle, couper ses accès.'],
  ['/gestion/synonymes', 'Synonymes', 'Les synonymes de la recherche.'],
  ['/gestion/zonages', 'Zonages', 'Les listes de communes (GAL, ZRR…) des périmètres.'],
  ['/gestion/imports', 'Imports', 'Importer un fichier de dispositifs, voir le rapport puis appliquer.'],
];

export async function staffHomePage({ signal, loadMe }) {
  const title = 'Gestion du catalogue';
  const me = await loadMe().catch(() => null);
  const refused = refusal(me, title);
  if (refused) return refused;
  const staff = catalogRole(me) === 'staff';
  const data = await graphql(HOME_QUERY, {}, { signal });
  const { waiting, drafts } = data;

  const waitingList = waiting.nodes.length === 0
    ? h('p', { class: 'empty' }, 'Aucun dispositif n’attend de publication.')
    : h('ul', { class: 'plain-list scheme-list' }, waiting.nodes.map((s) => {
      const who = requester(s);
      return h('li', { class: 'scheme-item' },
        h('h3', null, h('a', { href: schemeHref(s.slug) }, s.title)),
        h('p', { class: 'muted' },
          s.funders.map((f) => f.name).join(', '),
          s.publicationRequestedAt ? ` · demandée le ${F.formatLocalDate(s.publicationRequestedAt)}` : '',
          who ? ` par ${who}` : ''));
    }));

  const draftList = drafts.nodes.length === 0
    ? h('p', { class: 'empty' }, 'Aucun brouillon.')
    : h('ul', { class: 'plain-list scheme-list' }, drafts.nodes.map((s) => h('li', { class: 'scheme-item' },
      h('h3', null, h('a', { href: schemeHref(s.slug) }, s.title)),
      h('p', { class: 'muted' }, s.funders.map((f) => f.name).join(', '), ` · modifié le ${F.formatLocalDate(s.updatedAt)}`),
      s.reviewComment ? h('p', null, h('strong', null, 'Renvoyé par l’équipe : '), s.reviewComment) : null)));

  return {
    title,
    content: [
      h('h1', null, title),
      h('p', { class: 'lead' }, staff
        ? 'Ce qui attend l’équipe, et tous les écrans de gestion de Guichet.'
        : `Les dispositifs de ${me.funder ? me.funder.name : 'votre financeur'} : rédigez-les en brouillon et demandez leur publication à l’équipe Guichet.`),
      h('p', null, h('a', { class: 'button', href: '/gestion/dispositifs/nouveau' }, 'Nouveau dispositif')),
      h('section', { class: 'section', 'aria-labelledby': 'attente-titre' },
        h('h2', { id: 'attente-titre' }, `En attente de publication (${F.formatNumber(waiting.total)})`),
        waitingList),
      h('section', { class: 'section', 'aria-labelledby': 'brouillons-titre' },
        h('h2', { id: 'brouillons-titre' }, `Brouillons (${F.formatNumber(drafts.total)})`),
        draftList,
        drafts.total > drafts.nodes.length
          ? h('p', null, h('a', { href: '/gestion/dispositifs?statut=DRAFT' }, 'Tous les brouillons'))
          : null),
      h('section', { class: 'section', 'aria-labelledby': 'ecrans-titre' },
        h('h2', { id: 'ecrans-titre' }, 'Écrans de gestion'),
        h('ul', { class: 'plain-list' }, (staff ? STAFF_SCREENS : STAFF_SCREENS.slice(0, 1)).map(([href, text, what]) =>
          h('li', null, h('a', { href }, text), ` — ${what}`)))),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// /gestion/dispositifs

const LIST_QUERY = `query StaffSchemes($first: Int!, $after: String, $status: [SchemeStatus!], $funder: String,
  $theme: String, $verifiedBefore: Date, $neverVerified: Boolean, $awaitingPublication: Boolean) {
  schemes(first: $first, after: $after, status: $status, funder: $funder, theme: $theme,
          verifiedBefore: $verifiedBefore, neverVerified: $neverVerified, awaitingPublication: $awaitingPublication) {
    total
    nodes { slug title status publicationRequestedAt verifiedOn updatedAt funders { slug name } }
    pageInfo { endCursor hasNextPage }
  }
}`;

// The status filter: a status, or the drafts waiting for publication.
const STATUS_CHOICES = { ...L.SCHEME_STATUSES, ATTENTE: 'En attente de publication' };
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

export function readListFilter(params) {
  const status = params.get('statut') || '';
  const before = params.get('verifie-avant') || '';
  return {
    status: Object.hasOwn(STATUS_CHOICES, status) ? status : '',
    funder: params.get('financeur') || '',
    theme: Object.hasOwn(L.THEMES, params.get('theme') || '') ? params.get('theme') : '',
    never: params.get('verification') === 'jamais',
    before: ISO_DAY.test(before) ? before : '',
  };
}

export function listUrl(f) {
  const p = new URLSearchParams();
  if (f.status) p.set('statut', f.status);
  if (f.funder) p.set('financeur', f.funder);
  if (f.theme) p.set('theme', f.theme);
  if (f.never) p.set('verification', 'jamais');
  else if (f.before) p.set('verifie-avant', f.before);
  const q = p.toString();
  return q ? `/gestion/dispositifs?${q}` : '/gestion/dispositifs';
}

function listVariables(f, after) {
  const waiting = f.status === 'ATTENTE';
  return {
    first: PAGE_SIZE,
    after: after || null,
    status: waiting ? ['DRAFT'] : (f.status ? [f.status] : ALL_STATUSES),
    awaitingPublication: waiting ? true : null,
    funder: f.funder || null,
    theme: f.theme || null,
    neverVerified: f.never || null,
    verifiedBefore: !f.never && f.before ? f.before : null,
  };
}

function schemeRow(s) {
  return h('tr', null,
    h('th', { scope: 'row' }, h('a', { href: schemeHref(s.slug) }, s.title)),
    h('td', null, s.funders.map((f) => f.name).join(', ')),
    h('td', null, schemeBadges(s)),
    h('td', null, s.verifiedOn ? F.formatDate(s.verifiedOn) : h('span', { class: 'badge badge-unverified' }, 'jamais vérifié')),
    h('td', null, F.formatLocalDate(s.updatedAt)));
}

export async function staffSchemesPage({ query, signal, setUrl, loadMe }) {
  const title = 'Dispositifs du catalogue';
  const me = await loadMe().catch(() => null);
  const refused = refusal(me, title);
  if (refused) return refused;
  const staff = catalogRole(me) === 'staff';
  const { funders } = await graphql('query StaffFunders { funders { slug name } }', {}, { signal });

  let filter = readListFilter(query);
  const select = (id, name, first, entries) => h('select', { id, name },
    h('option', { value: '' }, first), entries.map(([value, text]) => h('option', { value }, text)));
  const statusSelect = select('dispositifs-statut', 'statut', 'Tous les statuts', Object.entries(STATUS_CHOICES));
  const funderSelect = select('dispositifs-financeur', 'financeur', 'Tous les financeurs',
    [...funders].sort((a, b) => a.name.localeCompare(b.name, 'fr')).map((f) => [f.slug, f.name]));
  const themeSelect = select('dispositifs-theme', 'theme', 'Tous les thèmes', Object.entries(L.THEMES));
  const beforeInput = h('input', { id: 'dispositifs-verifie-avant', name: 'verifie-avant', type: 'date', 'aria-describedby': 'dispositifs-verifie-aide' });
  const neverBox = h('input', { id: 'dispositifs-jamais', name: 'verification', type: 'checkbox', value: 'jamais' });
  const apply = h('button', { type: 'submit', class: 'button' }, 'Afficher');
  const form = h('form', { class: 'inbox-filter staff-filter', 'aria-label': 'Filtrer les dispositifs' },
    h('div', { class: 'field' }, h('label', { for: statusSelect.id }, 'Statut'), statusSelect),
    staff ? h('div', { class: 'field' }, h('label', { for: funderSelect.id }, 'Financeur'), funderSelect) : null,
    h('div', { class: 'field' }, h('label', { for: themeSelect.id }, 'Thème'), themeSelect),
    h('div', { class: 'field' },
      h('label', { for: beforeInput.id }, 'Vérifié avant le'),
      h('p', { id: 'dispositifs-verifie-aide', class: 'hint' }, 'Les fiches à revérifier auprès de leur source.'),
      beforeInput),
    h('div', { class: 'choice' }, neverBox, h('label', { for: neverBox.id }, 'Jamais vérifié')),
    h('p', { class: 'inbox-apply' }, apply));

  const count = h('h2', { id: 'dispositifs-resultats', class: 'results-total', tabindex: '-1' });
  const tbody = h('tbody');
  const table = h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' },
    h('caption', { class: 'visually-hidden' }, 'Dispositifs du catalogue'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Dispositif'), h('th', { scope: 'col' }, 'Financeurs'), h('th', { scope: 'col' }, 'Statut'),
      h('th', { scope: 'col' }, 'Vérifié le'), h('th', { scope: 'col' }, 'Modifié le'))),
    tbody));
  const more = h('div');
  const results = h('div', { class: 'results-body' });
  let pageInfo = null;
  let controller = null;

  function showFilter() {
    statusSelect.value = filter.status;
    funderSelect.value = filter.funder;
    themeSelect.value = filter.theme;
    beforeInput.value = filter.before;
    neverBox.checked = filter.never;
  }

  async function load({ focus = false } = {}) {
    if (controller) controller.abort();
    controller = new AbortController();
    const local = controller;
    signal.addEventListener('abort', () => local.abort(), { once: true });
    results.setAttribute('aria-busy', 'true');
    showFilter();
    try {
      const data = (await graphql(LIST_QUERY, listVariables(filter), { signal: local.signal })).schemes;
      count.textContent = data.total === 0 ? 'Aucun dispositif' : `${F.formatNumber(data.total)} ${plural(data.total, 'dispositif', 'dispositifs')}`;
      tbody.replaceChildren(...data.nodes.map(schemeRow));
      pageInfo = data.pageInfo;
      renderMore();
      results.replaceChildren(data.total === 0 ? h('p', { class: 'empty' }, 'Aucun dispositif ne correspond à ces filtres.') : table, more);
      if (focus) {
        count.focus();
        announce(count.textContent);
      }
    } catch (err) {
      if (isAbort(err)) return;
      results.replaceChildren(errorBlock(err, () => load({ focus: true })));
    } finally {
      if (controller === local) results.removeAttribute('aria-busy');
    }
  }

  function renderMore() {
    if (!pageInfo || !pageInfo.hasNextPage) {
      more.replaceChildren();
      return;
    }
    const button = h('button', { type: 'button', class: 'button button-secondary' }, 'Voir plus');
    button.addEventListener('click', async () => {
      const restore = busy(button, 'Chargement…');
      try {
        const data = (await graphql(LIST_QUERY, listVariables(filter, pageInfo.endCursor), { signal })).schemes;
        const rows = data.nodes.map(schemeRow);
        tbody.append(...rows);
        pageInfo = data.pageInfo;
        renderMore();
        announce(`${F.formatNumber(rows.length)} ${plural(rows.length, 'dispositif', 'dispositifs')} de plus.`);
        if (rows[0]) rows[0].querySelector('a').focus();
      } catch (err) {
        if (isAbort(err)) return;
        restore();
        more.append(errorBlock(err));
      }
    });
    more.replaceChildren(h('p', null, button));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filter = {
      status: statusSelect.value,
      funder: staff ? funderSelect.value : '',
      theme: themeSelect.value,
      never: neverBox.checked,
      before: ISO_DAY.test(beforeInput.value) ? beforeInput.value : '',
    };
    setUrl(listUrl(filter), { push: true });
    load({ focus: true });
  });

  await load();
  return {
    title,
    update(params) {
      filter = readListFilter(params);
      load();
    },
    content: [
      h('nav', { class: 'breadcrumb', 'aria-label': 'Fil d’Ariane' },
        h('ol', null, h('li', null, h('a', { href: '/gestion' }, 'Gestion')), h('li', null, h('span', { 'aria-current': 'page' }, 'Dispositifs')))),
      h('h1', null, title),
      h('p', { class: 'lead' }, staff
        ? 'Tous les dispositifs, brouillons et archives compris.'
        : `Les dispositifs de ${me.funder ? me.funder.name : 'votre financeur'} et de ses services, brouillons compris.`),
      h('p', null, h('a', { class: 'button', href: '/gestion/dispositifs/nouveau' }, 'Nouveau dispositif')),
      form,
      h('section', { class: 'section', 'aria-labelledby': count.id }, count, results),
    ],
  };
}
