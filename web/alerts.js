// « Mes alertes » on the account page: the saved searches of the logged-in account, each with
// a link to its results and a « Supprimer » button confirmed inline. Alerts are created on the
// search page (search.js).

import { graphql } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, actionError } from './dom.js';
import { searchUrl } from './search.js';

const SAVED_SEARCHES_QUERY = `query SavedSearches {
  savedSearches {
    id text description frequency nextDigestAt
    filter { territory themes beneficiaryTypes aidTypes funders }
  }
}`;

const DELETE_SAVED_SEARCH = 'mutation DeleteSavedSearch($id: ID!) { deleteSavedSearch(id: $id) }';

const capitalize = (s) => s.replace(/^./, (c) => c.toUpperCase());

/** The caller's saved searches, oldest first. */
export async function loadSavedSearches(signal) {
  const data = await graphql(SAVED_SEARCHES_QUERY, {}, { signal });
  return data.savedSearches;
}

/** The address of the search page showing the results of a saved search (same parameters). */
export function savedSearchUrl(saved) {
  const f = saved.filter || {};
  return searchUrl({
    q: saved.text || '',
    commune: f.territory || null,
    themes: f.themes || [],
    beneficiaryTypes: f.beneficiaryTypes || [],
    aidTypes: f.aidTypes || [],
    funders: f.funders || [],
    sort: 'RELEVANCE',
  });
}

function emptyState() {
  return h('p', { class: 'empty' },
    'Vous n’avez pas encore d’alerte. Créez-en une depuis ', h('a', { href: '/recherche' }, 'la recherche'), '.');
}

const countAlerts = (n) => `${F.formatNumber(n)} alerte${n > 1 ? 's' : ''}`;

/**
 * The nodes listing `items` (SavedSearch). `heading` (focusable) gets the focus when the last
 * alert is deleted.
 */
export function savedSearchList(items, heading) {
  if (items.length === 0) return [emptyState()];
  const list = h('ul', { class: 'saved-list' });
  const box = h('div', { class: 'saved-searches' }, list);

  function deleted(li, description) {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    const left = list.children.length;
    if (left === 0) {
      box.replaceChildren(emptyState());
      heading.focus();
    } else {
      next.querySelector('h3').focus();
    }
    announce(`Alerte supprimée : ${description}. ${left ? `Il vous reste ${countAlerts(left)}.` : 'Vous n’avez plus d’alerte.'}`);
  }

  list.append(...items.map((saved) => savedItem(saved, deleted)));
  return [box];
}

function savedItem(saved, onDeleted) {
  const base = `alerte-${String(saved.id).replace(/[^\w-]/g, '_')}`;
  const titleId = `${base}-titre`;
  const description = capitalize(saved.description || 'tous les dispositifs');
  const title = h('h3', { id: titleId, class: 'saved-title', tabindex: '-1' }, description);
  const remove = h('button', {
    type: 'button', class: 'button button-secondary button-small', 'aria-describedby': titleId,
  }, 'Supprimer');
  const actions = h('p', { class: 'saved-actions' },
    h('a', { href: savedSearchUrl(saved), 'aria-describedby': titleId }, 'Voir les résultats'),
    remove);
  const confirmSlot = h('div');
  const failure = h('div', { class: 'status-slot', role: 'alert' });
  const li = h('li', { class: 'saved-item' },
    title,
    h('ul', { class: 'saved-facts' },
      h('li', null, `Alerte ${L.label(L.ALERT_FREQUENCIES, saved.frequency)}`),
      h('li', null, `Prochain récapitulatif : ${F.formatLocalDate(saved.nextDigestAt)}`)),
    actions,
    confirmSlot,
    failure);

  let busy = false;

  function cancel() {
    if (busy) return;
    confirmSlot.replaceChildren();
    failure.replaceChildren();
    actions.hidden = false;
    remove.focus();
  }

  async function confirm(yes) {
    if (busy) return;
    busy = true;
    yes.setAttribute('aria-disabled', 'true');
    yes.textContent = 'Suppression en cours…';
    failure.replaceChildren();
    try {
      await graphql(DELETE_SAVED_SEARCH, { id: saved.id });
      onDeleted(li, description);
    } catch (err) {
      if (err && err.code === 'NOT_FOUND') {
        onDeleted(li, description); // already gone (e.g. unsubscribed from a digest)
        return;
      }
      failure.replaceChildren(actionError(err));
      busy = false;
      yes.removeAttribute('aria-disabled');
      yes.textContent = 'Oui, supprimer';
    }
  }

  remove.addEventListener('click', () => {
    const questionId = `${base}-question`;
    const yes = h('button', { type: 'button', class: 'button button-small' }, 'Oui, supprimer');
    const no = h('button', { type: 'button', class: 'button button-secondary button-small', onclick: cancel }, 'Annuler');
    yes.addEventListener('click', () => confirm(yes));
    const group = h('div', { class: 'confirm-box', role: 'group', 'aria-labelledby': questionId },
      h('p', { id: questionId }, 'Supprimer cette alerte ? Vous ne recevrez plus ses récapitulatifs.'),
      h('p', { class: 'saved-actions' }, yes, no));
    group.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        cancel();
      }
    });
    failure.replaceChildren();
    actions.hidden = true;
    confirmSlot.replaceChildren(group);
    yes.focus();
  });

  return li;
}
