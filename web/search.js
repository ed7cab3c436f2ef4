// The catalogue search page (`/recherche`): words, commune, facets and sort. The whole state
// is in the address (`?q=cafe&commune=52121&theme=commerce&tri=CLOSING_SOON`), so a search can
// be shared and the back button works; typing replaces the history entry, every other change
// adds one. Under the filters, a logged-in account can save the words and filters as a search
// alert (a digest of new or changed schemes by mail).

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, errorBlock, actionError, communeCombobox, chosenCommune } from './dom.js';

const PAGE_SIZE = 20;
const TYPING_DELAY = 250; // ms of quiet typing before searching
const FACET_VISIBLE = 8; // values of a facet shown before « Afficher tout »
const WIDE = '(min-width: 48em)'; // facet groups start open from this width (same as style.css)
const PLACEHOLDER = 'café, épicerie, borne de recharge…';

const SEARCH_QUERY = `query SearchSchemes($text: String, $filter: SchemeFilter, $sort: SchemeSort!,
    $first: Int!, $after: String, $withFacets: Boolean!) {
  searchSchemes(text: $text, filter: $filter, sort: $sort, first: $first, after: $after) {
    total
    hits {
      highlight
      scheme {
        slug title summary status
        funders { slug name }
        funding { rateMin rateMax amountMin amountMax }
        calendar { recurrence opensOn closesOn }
      }
    }
    facets @include(if: $withFacets) { field values { value label count } }
    pageInfo { endCursor hasNextPage }
  }
}`;

const SAVE_SEARCH = `mutation SaveSearch($text: String, $filter: SchemeFilter, $frequency: AlertFrequency!) {
  saveSearch(text: $text, filter: $filter, frequency: $frequency) { id frequency }
}`;

const TERRITORY_QUERY = `query SearchCommune($code: String!) {
  territory(code: $code) { code name kind parents { code name kind } }
}`;

// Facet groups, in display order: API field, URL parameter, heading, French labels, and
// whether only the labelled values (an enum) are accepted from the address.
const FACETS = [
  { field: 'themes', param: 'theme', title: 'Thèmes', labels: L.THEMES, closed: false },
  { field: 'beneficiaryTypes', param: 'beneficiaire', title: 'Bénéficiaires', labels: L.BENEFICIARY_TYPES, closed: true },
  { field: 'aidTypes', param: 'type', title: 'Types d’aide', labels: L.AID_TYPES, closed: true },
  { field: 'funders', param: 'financeur', title: 'Financeurs', labels: {}, closed: false },
];

const SORTS = { RELEVANCE: 'Pertinence', CLOSING_SOON: 'Clôture proche', RECENT: 'Plus récents' };

const capitalize = (s) => s.replace(/^./, (c) => c.toUpperCase());

// ---------------------------------------------------------------------------------------
// State ⇄ address

/** The search state held by the query string `params`. Unknown values are dropped. */
export function readState(params) {
  const state = { q: params.get('q') || '', commune: null, sort: 'RELEVANCE' };
  const commune = (params.get('commune') || '').trim().toUpperCase();
  if (/^(\d{5}|2[AB]\d{3})$/.test(commune)) state.commune = commune;
  for (const f of FACETS) {
    const values = params.getAll(f.param).map((v) => v.trim())
      .filter((v) => v && v.length <= 200 && (!f.closed || Object.hasOwn(f.labels, v)));
    state[f.field] = [...new Set(values)];
  }
  const sort = params.get('tri');
  if (sort && Object.hasOwn(SORTS, sort)) state.sort = sort;
  return state;
}

/** The address of the search page for `state`. */
export function searchUrl(state) {
  const params = new URLSearchParams();
  if (state.q.trim()) params.set('q', state.q.trim());
  if (state.commune) params.set('commune', state.commune);
  for (const f of FACETS) for (const v of state[f.field]) params.append(f.param, v);
  if (state.sort !== 'RELEVANCE') params.set('tri', state.sort);
  const query = params.toString();
  return query ? `/recherche?${query}` : '/recherche';
}

const filtersActive = (state) => !!state.commune || FACETS.some((f) => state[f.field].length > 0);

function variables(state, after) {
  const filter = {};
  if (state.commune) filter.territory = state.commune;
  for (const f of FACETS) if (state[f.field].length) filter[f.field] = state[f.field];
  return {
    text: state.q.trim() || null,
    filter: Object.keys(filter).length ? filter : null,
    sort: state.sort,
    first: PAGE_SIZE,
    after: after || null,
    withFacets: !after,
  };
}

// ---------------------------------------------------------------------------------------
// Highlights: the only server markup shown, rebuilt as text and <mark> nodes

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text) {
  return text.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));/gi, (all, dec, hex, name) => {
    if (name) return Object.hasOwn(ENTITIES, name.toLowerCase()) ? ENTITIES[name.toLowerCase()] : all;
    const code = dec ? Number(dec) : parseInt(hex, 16);
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : all;
  });
}

/**
 * The nodes of a highlight snippet, in which the server wraps matched terms in <mark> and
 * escapes everything else. Never parsed as HTML: the string is split on <mark> and </mark>,
 * the pieces between become text nodes (entities decoded). A snippet holding any other tag is
 * shown as plain text without its tags.
 */
export function highlightNodes(snippet) {
  const frag = document.createDocumentFragment();
  const source = String(snippet ?? '');
  const parts = source.split(/(<\/?mark>)/i);
  const isTag = (part) => /^<\/?mark>$/i.test(part);
  if (parts.some((part) => !isTag(part) && part.includes('<'))) {
    frag.append(decodeEntities(source.replace(/<[^>]*>?/g, '')));
    return frag;
  }
  let mark = null;
  for (const part of parts) {
    if (isTag(part)) {
      if (part[1] !== '/') mark = mark || document.createElement('mark');
      else if (mark) {
        frag.append(mark);
        mark = null;
      }
    } else if (part) {
      (mark || frag).append(decodeEntities(part));
    }
  }
  if (mark) frag.append(mark);
  return frag;
}

// ---------------------------------------------------------------------------------------
// Results

/** « Clôture le 28 février 2026 », « Permanent », « Ouverture le … »… or null. */
function calendarFact(calendar, now = F.today()) {
  const { recurrence, opensOn, closesOn } = calendar || {};
  if (closesOn) return closesOn < now ? `Clos depuis le ${F.formatDate(closesOn)}` : `Clôture le ${F.formatDate(closesOn)}`;
  if (recurrence === 'PERMANENT') return L.label(L.RECURRENCES, recurrence);
  if (opensOn && opensOn > now) return `Ouverture le ${F.formatDate(opensOn)}`;
  return recurrence ? L.label(L.RECURRENCES, recurrence) : null;
}

function resultItem({ scheme: s, highlight }) {
  const f = s.funding || {};
  const rate = F.formatRateRange(f.rateMin, f.rateMax);
  const amount = F.formatAmountRange(f.amountMin, f.amountMax);
  const names = (s.funders || []).map((x) => x.name);
  const facts = [
    names.length ? `${names.length > 1 ? 'Financeurs' : 'Financeur'} : ${names.join(', ')}` : null,
    rate ? `Taux : ${rate}` : null,
    amount ? `Montant : ${amount}` : null,
    calendarFact(s.calendar),
  ].filter(Boolean);
  let snippet = null;
  if (highlight) snippet = h('p', { class: 'result-snippet' }, highlightNodes(highlight));
  else if (s.summary) snippet = h('p', { class: 'result-snippet' }, s.summary);
  return h('li', { class: 'result' },
    h('h3', { class: 'result-title' }, h('a', { href: `/dispositifs/${encodeURIComponent(s.slug)}` }, s.title)),
    s.status && s.status !== 'PUBLISHED'
      ? h('p', { class: 'badges' }, h('span', { class: `badge badge-${String(s.status).toLowerCase()}` }, L.label(L.SCHEME_STATUSES, s.status)))
      : null,
    snippet,
    facts.length ? h('ul', { class: 'result-facts' }, facts.map((t) => h('li', null, t))) : null);
}

// ---------------------------------------------------------------------------------------
// Page

/** A search box: « Que cherchez-vous ? », the input and a submit button (home and search pages). */
export function searchForm({ id, label, value = '' }) {
  const input = h('input', {
    id, name: 'q', type: 'search', placeholder: PLACEHOLDER, autocomplete: 'off', enterkeyhint: 'search',
  });
  input.value = value;
  const form = h('form', { class: 'search-form', role: 'search', action: '/recherche', method: 'get', 'aria-labelledby': label },
    h('label', { for: id, class: 'search-label' }, 'Que cherchez-vous ?'),
    h('div', { class: 'search-row' }, input, h('button', { type: 'submit', class: 'button' }, 'Rechercher')));
  return { form, input };
}

export async function searchPage({ query, signal, setUrl, loadMe = async () => null }) {
  let state = readState(query);
  let commune = null; // the Territory of state.commune, once known
  let lastPage = null; // pageInfo of the last page shown
  let shown = 0;
  let total = 0;
  let seq = 0;
  let controller = null;
  let timer = 0;
  let focusHeading = false; // move focus to the results heading once they arrive
  let initial = true;
  const labelCache = new Map(); // "field:value" → label, for chosen values missing from facets
  let idCounter = 0;
  let facetsShown = false;

  const pageTitle = () => (state.q.trim() ? `« ${state.q.trim()} » — Rechercher des aides` : 'Rechercher des aides');

  // Words
  const { form, input } = searchForm({ id: 'recherche-texte', label: 'recherche-titre', value: state.q });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (input.value.trim() !== state.q.trim()) change({ q: input.value }, { push: false });
    }, TYPING_DELAY);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    if (input.value.trim() !== state.q.trim()) {
      focusHeading = true;
      change({ q: input.value }, { push: false });
    } else if (!controller) {
      heading.focus();
    } else {
      focusHeading = true;
    }
  });

  // Commune
  const communeSlot = h('div', { class: 'chosen-commune-slot' });
  const combobox = communeCombobox({
    label: 'Commune du projet',
    hint: 'Pour ne garder que les aides ouvertes sur son territoire. Nom, code postal ou code INSEE.',
    onSelect(t) {
      comboInput.value = '';
      commune = t;
      change({ commune: t.code }, { push: true });
    },
  });
  const comboInput = combobox.querySelector('input');

  function renderCommune() {
    if (!state.commune) {
      communeSlot.replaceChildren();
      return;
    }
    const t = commune && commune.code === state.commune ? commune : null;
    communeSlot.replaceChildren(chosenCommune('Aides disponibles à ', t, state.commune, () => {
      commune = null;
      change({ commune: null }, { push: true });
      comboInput.focus();
    }));
  }

  async function resolveCommune() {
    const code = state.commune;
    try {
      const data = await graphql(TERRITORY_QUERY, { code }, { signal });
      if (data.territory && data.territory.kind === 'COMMUNE' && state.commune === code) {
        commune = data.territory;
        renderCommune();
      }
    } catch (err) {
      if (!isAbort(err)) console.warn('Commune non trouvée', err);
    }
  }

  // Facets
  const groups = new Map(); // field → group
  const wide = window.matchMedia(WIDE).matches;
  for (const def of FACETS) {
    const listId = `filtres-${def.param}`;
    const list = h('ul', { class: 'facet-values', id: listId });
    const chosen = h('span', { class: 'facet-chosen' });
    const toggle = h('button', { type: 'button', class: 'button-link facet-toggle', 'aria-controls': listId, 'aria-expanded': 'false', hidden: true });
    const details = h('details', { class: 'facet' },
      h('summary', null, h('span', { class: 'facet-title' }, def.title), chosen),
      h('fieldset', null, h('legend', { class: 'visually-hidden' }, def.title), list, toggle));
    details.open = wide;
    details.hidden = true; // until a search tells which values it has
    const group = { def, details, list, chosen, toggle, items: new Map(), values: [], expanded: false };
    toggle.addEventListener('click', () => {
      group.expanded = !group.expanded;
      layoutFacet(group);
    });
    groups.set(def.field, group);
  }

  function facetItem(group, value) {
    const { def } = group;
    idCounter += 1;
    const id = `filtre-${def.param}-${idCounter}`;
    const box = h('input', { type: 'checkbox', id, name: def.param });
    box.value = value;
    const name = h('span', { class: 'facet-name' });
    const count = h('span', { class: 'facet-count' });
    const li = h('li', { class: 'facet-value' }, box, h('label', { for: id }, name, ' ', count));
    box.addEventListener('change', () => {
      const values = new Set(state[def.field]);
      if (box.checked) values.add(value);
      else values.delete(value);
      change({ [def.field]: [...values] }, { push: true });
    });
    const item = { li, box, name, count };
    group.items.set(value, item);
    return item;
  }

  function labelOf(def, value) {
    return labelCache.get(`${def.field}:${value}`) || L.label(def.labels, value);
  }

  function layoutFacet(group) {
    const selected = new Set(state[group.def.field]);
    group.values.forEach((v, i) => {
      group.items.get(v.value).li.hidden = !group.expanded && i >= FACET_VISIBLE && !selected.has(v.value);
    });
    const n = group.values.length;
    group.toggle.hidden = n <= FACET_VISIBLE;
    group.toggle.setAttribute('aria-expanded', String(group.expanded));
    group.toggle.textContent = group.expanded ? 'Afficher moins' : `Afficher tout (${F.formatNumber(n)})`;
    group.chosen.textContent = selected.size ? ` · ${F.formatNumber(selected.size)} choisi${selected.size > 1 ? 's' : ''}` : '';
  }

  /**
   * Shows the facets of the last search, with the chosen values even when they have no result;
   * `facets` null (no search has answered yet): only the chosen values, without counts.
   */
  function renderFacets(facets) {
    facetsShown = facetsShown || !!facets;
    for (const group of groups.values()) {
      const { def } = group;
      const selected = new Set(state[def.field]);
      const fromServer = ((facets || []).find((f) => f.field === def.field) || { values: [] }).values;
      const values = [];
      for (const v of fromServer) {
        labelCache.set(`${def.field}:${v.value}`, v.label);
        if (v.count > 0 || selected.has(v.value)) values.push({ value: v.value, label: v.label || labelOf(def, v.value), count: v.count });
      }
      const seen = new Set(values.map((v) => v.value));
      for (const value of selected) if (!seen.has(value)) values.push({ value, label: labelOf(def, value), count: facets ? 0 : null });

      const nodes = values.map((v) => {
        const item = group.items.get(v.value) || facetItem(group, v.value);
        if (item.name.textContent !== v.label) item.name.textContent = v.label;
        const count = v.count == null ? '' : `(${F.formatNumber(v.count)})`;
        if (item.count.textContent !== count) item.count.textContent = count;
        item.box.checked = selected.has(v.value);
        return item.li;
      });
      const same = nodes.length === group.list.children.length && nodes.every((n, i) => group.list.children[i] === n);
      if (!same) {
        const focused = group.list.contains(document.activeElement) ? document.activeElement : null;
        group.list.replaceChildren(...nodes);
        if (focused && focused.isConnected) focused.focus({ preventScroll: true });
      }
      group.values = values;
      group.details.hidden = values.length === 0;
      if (selected.size && !group.details.open && initial) group.details.open = true;
      layoutFacet(group);
    }
    clearSlot.hidden = !filtersActive(state);
  }

  function syncCheckboxes() {
    for (const group of groups.values()) {
      const selected = new Set(state[group.def.field]);
      for (const [value, item] of group.items) item.box.checked = selected.has(value);
      layoutFacet(group);
    }
    clearSlot.hidden = !filtersActive(state);
  }

  function clearFilters() {
    commune = null;
    focusHeading = true;
    const patch = { commune: null };
    for (const f of FACETS) patch[f.field] = [];
    change(patch, { push: true });
  }

  const clearSlot = h('p', { class: 'facet-clear', hidden: true },
    h('button', { type: 'button', class: 'button button-secondary', onclick: clearFilters }, 'Effacer les filtres'));

  // Alert: the words and filters (not the sort) saved as a search alert, for a logged-in account
  const alertBox = h('div', { class: 'save-search-body', tabindex: '-1' });
  let alertStatus = null; // the form's live regions, once shown
  let alertFailure = null;
  let savedKey = null; // the last search saved from this page, to not save it twice

  /** Forgets the last confirmation or error: they were about another search. */
  function resetAlert() {
    if (alertStatus) alertStatus.replaceChildren();
    if (alertFailure) alertFailure.replaceChildren();
  }

  function alertForm() {
    const choices = Object.entries(L.ALERT_FREQUENCY_CHOICES).map(([value, text]) => {
      const id = `alerte-frequence-${value.toLowerCase()}`;
      return h('div', { class: 'choice' },
        h('input', { type: 'radio', id, name: 'frequence', value, checked: value === 'WEEKLY' }),
        h('label', { for: id }, text));
    });
    const button = h('button', { type: 'submit', class: 'button' }, 'Créer l’alerte');
    alertStatus = h('div', { class: 'status-slot', role: 'status' });
    alertFailure = h('div', { class: 'status-slot', role: 'alert' });
    const form = h('form', { class: 'save-search-form', novalidate: true, 'aria-labelledby': 'alerte-titre' },
      h('p', { class: 'hint' }, 'Recevez par courriel les dispositifs nouveaux ou modifiés qui correspondent à cette recherche (mots et filtres).'),
      h('fieldset', { class: 'choices' }, h('legend', null, 'Fréquence'), choices),
      h('p', { class: 'save-search-action' }, button),
      alertFailure,
      alertStatus);

    const confirmation = (frequency, again) => h('p', { class: 'alert alert-success' },
      again ? 'Cette alerte est déjà créée : ' : 'Alerte créée : ',
      `vous recevrez un récapitulatif ${L.label(L.DIGEST_FREQUENCIES, frequency)} des dispositifs nouveaux ou modifiés. Gérez vos alertes dans `,
      h('a', { href: '/compte' }, 'Mon compte'), '.');

    let busy = false;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (busy) return;
      // Words still being typed go with the alert (and with the results shown).
      if (input.value.trim() !== state.q.trim()) change({ q: input.value }, { push: false });
      resetAlert();
      const checked = form.querySelector('input[name="frequence"]:checked');
      const frequency = checked ? checked.value : 'WEEKLY';
      const { text, filter } = variables(state);
      const key = JSON.stringify([text, filter, frequency]);
      if (key === savedKey) {
        alertStatus.replaceChildren(confirmation(frequency, true));
        return;
      }
      busy = true;
      button.setAttribute('aria-disabled', 'true');
      button.textContent = 'Création en cours…';
      try {
        const data = await graphql(SAVE_SEARCH, { text, filter, frequency }, { signal });
        savedKey = key;
        alertStatus.replaceChildren(confirmation(data.saveSearch.frequency));
      } catch (err) {
        if (isAbort(err)) return;
        const block = actionError(err);
        if (err.code === 'CONFLICT') block.append(h('p', null, h('a', { href: '/compte' }, 'Gérer mes alertes')));
        alertFailure.replaceChildren(block);
      } finally {
        busy = false;
        button.removeAttribute('aria-disabled');
        button.textContent = 'Créer l’alerte';
      }
    });
    return form;
  }

  function renderAlert(me) {
    alertStatus = null;
    alertFailure = null;
    if (me) {
      alertBox.replaceChildren(alertForm());
    } else {
      alertBox.replaceChildren(
        h('p', null, 'Recevez par courriel les dispositifs nouveaux ou modifiés qui correspondent à cette recherche.'),
        h('p', null, h('a', { href: '/connexion' }, 'Connectez-vous pour recevoir une alerte')));
    }
  }

  /** Asks who is logged in, then shows the form or the invitation to log in. */
  async function loadAlert(retrying) {
    alertBox.setAttribute('aria-busy', 'true');
    if (retrying) alertBox.replaceChildren(h('p', { class: 'loading' }, 'Chargement…'));
    try {
      renderAlert(await loadMe());
    } catch (err) {
      if (isAbort(err) || signal.aborted) return;
      alertBox.replaceChildren(errorBlock(err, () => loadAlert(true)));
    } finally {
      alertBox.removeAttribute('aria-busy');
      if (retrying && !signal.aborted) alertBox.focus();
    }
  }

  // Sort
  const sortSelect = h('select', { id: 'recherche-tri', name: 'tri' },
    Object.entries(SORTS).map(([value, text]) => h('option', { value }, text)));
  sortSelect.value = state.sort;
  sortSelect.addEventListener('change', () => change({ sort: sortSelect.value }, { push: true }));

  // Results
  const heading = h('h2', { id: 'resultats-titre', class: 'results-total', tabindex: '-1' }, 'Recherche en cours…');
  const resultsBody = h('div', { class: 'results-body' });
  const list = h('ul', { class: 'result-list' });
  const progress = h('p', { class: 'muted', id: 'resultats-progression' });
  const more = h('button', { type: 'button', class: 'button button-secondary', 'aria-describedby': 'resultats-progression' }, 'Afficher plus de résultats');
  const moreSlot = h('div', { class: 'results-more' });
  const moreError = h('div');
  more.addEventListener('click', async () => {
    // Not while another search runs: its results would not follow this cursor.
    if (controller || !lastPage || !lastPage.hasNextPage) return;
    more.setAttribute('aria-disabled', 'true');
    more.textContent = 'Chargement…';
    moreError.replaceChildren();
    try {
      await search({ append: true });
    } finally {
      more.removeAttribute('aria-disabled');
      more.textContent = 'Afficher plus de résultats';
    }
  });

  function updateMore() {
    progress.textContent = `${F.formatNumber(shown)} sur ${F.formatNumber(total)} affichés.`;
    moreSlot.replaceChildren(...(lastPage && lastPage.hasNextPage ? [progress, h('p', null, more)] : []), moreError);
  }

  /** The button that undoes what narrows the search: the filters, else the words. */
  function clearButton() {
    if (filtersActive(state)) {
      return h('button', { type: 'button', class: 'button button-secondary', onclick: clearFilters }, 'Effacer les filtres');
    }
    if (!state.q.trim()) return null;
    return h('button', {
      type: 'button',
      class: 'button button-secondary',
      onclick() {
        input.value = '';
        change({ q: '' }, { push: true });
        input.focus();
      },
    }, 'Effacer la recherche');
  }

  function emptyState() {
    const action = clearButton();
    if (!action) return h('p', { class: 'empty' }, 'Aucun dispositif n’est encore publié.');
    return h('div', { class: 'empty-state' },
      h('p', null, 'Aucun dispositif ne correspond. Essayez moins de filtres ou d’autres mots.'),
      h('p', null, action));
  }

  /** A search the server refuses (e.g. a filter from an old address): say why, offer to clear. */
  function refusedState(err) {
    const action = clearButton();
    return h('div', { class: 'alert alert-error', role: 'alert' }, h('p', null, err.message), action ? h('p', null, action) : null);
  }

  function showResults(r) {
    total = r.total;
    shown = r.hits.length;
    lastPage = r.pageInfo;
    heading.textContent = capitalize(F.countSchemes(total));
    if (r.facets) renderFacets(r.facets);
    moreError.replaceChildren();
    if (r.hits.length === 0) {
      list.replaceChildren();
      resultsBody.replaceChildren(emptyState());
    } else {
      list.replaceChildren(...r.hits.map(resultItem));
      resultsBody.replaceChildren(list, moreSlot);
      updateMore();
    }
    if (!initial) announce(`${capitalize(F.countSchemes(total))} trouvé${total > 1 ? 's' : ''}`);
  }

  function showMore(r) {
    const items = r.hits.map(resultItem);
    list.append(...items);
    shown += items.length;
    total = r.total;
    lastPage = r.pageInfo;
    heading.textContent = capitalize(F.countSchemes(total));
    updateMore();
    const n = items.length;
    announce(`${capitalize(F.countSchemes(n))} de plus affiché${n > 1 ? 's' : ''}.`);
    const link = items[0] && items[0].querySelector('a');
    if (link) link.focus();
  }

  async function search({ append = false } = {}) {
    const mine = ++seq;
    if (controller) controller.abort();
    controller = new AbortController();
    resultsBody.setAttribute('aria-busy', 'true');
    if (!append) resultsBody.classList.add('is-loading');
    try {
      const data = await graphql(SEARCH_QUERY, variables(state, append ? lastPage.endCursor : null), { signal: controller.signal });
      if (mine !== seq) return;
      if (append) showMore(data.searchSchemes);
      else showResults(data.searchSchemes);
    } catch (err) {
      if (mine !== seq || isAbort(err)) return;
      if (append) {
        moreError.replaceChildren(errorBlock(err));
      } else {
        heading.textContent = 'Résultats indisponibles';
        list.replaceChildren();
        if (!facetsShown) renderFacets(null);
        resultsBody.replaceChildren(err && err.code === 'VALIDATION' && err.message
          ? refusedState(err)
          : errorBlock(err, () => {
            focusHeading = true;
            search();
          }));
      }
    } finally {
      if (mine === seq) {
        controller = null;
        resultsBody.removeAttribute('aria-busy');
        resultsBody.classList.remove('is-loading');
        if (focusHeading && !append) heading.focus();
        focusHeading = false;
      }
    }
  }

  function change(patch, { push }) {
    clearTimeout(timer); // words still being typed go with this change
    state = { ...state, q: input.value, ...patch };
    setUrl(searchUrl(state), { push });
    document.title = `${pageTitle()} — Guichet`;
    if ('commune' in patch) renderCommune();
    syncCheckboxes();
    resetAlert();
    search();
  }

  /** Follows the address after Back or Forward. */
  function update(params) {
    state = readState(params);
    clearTimeout(timer);
    if (input.value.trim() !== state.q.trim()) input.value = state.q;
    sortSelect.value = state.sort;
    if (!commune || commune.code !== state.commune) {
      commune = null;
      if (state.commune) resolveCommune();
    }
    renderCommune();
    syncCheckboxes();
    resetAlert();
    document.title = `${pageTitle()} — Guichet`;
    search();
  }

  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    seq += 1;
    if (controller) controller.abort();
  });

  renderCommune();
  await Promise.all([search(), state.commune ? resolveCommune() : null, loadAlert(false)]);
  initial = false;

  return {
    title: pageTitle(),
    update,
    content: [
      h('h1', { id: 'recherche-titre' }, 'Rechercher des aides'),
      h('div', { class: 'search-top' },
        form,
        h('div', { class: 'commune-filter' }, combobox, communeSlot)),
      h('div', { class: 'search-layout' },
        h('div', { class: 'search-side' },
          h('section', { class: 'search-filters', 'aria-labelledby': 'filtres-titre' },
            h('h2', { id: 'filtres-titre' }, 'Filtrer'),
            [...groups.values()].map((g) => g.details),
            clearSlot),
          h('section', { class: 'save-search', 'aria-labelledby': 'alerte-titre' },
            h('h2', { id: 'alerte-titre' }, 'Recevoir une alerte'),
            alertBox)),
        h('section', { class: 'search-results', 'aria-labelledby': 'resultats-titre' },
          h('div', { class: 'results-bar' },
            heading,
            h('p', { class: 'sort' }, h('label', { for: 'recherche-tri' }, 'Trier par'), ' ', sortSelect)),
          resultsBody)),
    ],
  };
}
