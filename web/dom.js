// Small DOM helpers shared by the pages. Text is always inserted as text, never as HTML.

import { graphql, ApiError, UNAVAILABLE } from './api.js';
import * as F from './format.js';
import { createCombobox } from './combobox.js';

/** h('a', {href: '/x', class: 'y', onclick: fn}, 'text', node, [more]) */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * The error message of a field, shown under it: `show(message)` fills it and marks the
 * control invalid (described by the message), `clear()` undoes that. `invalid: false` for a
 * group (fieldset), which only gets the description.
 */
export function fieldError(id, control, { invalid = true } = {}) {
  const describedBy = control.getAttribute('aria-describedby');
  const slot = h('p', { id, class: 'field-error', hidden: true });
  return {
    slot,
    control,
    shown: false,
    show(message) {
      this.shown = true;
      slot.textContent = message;
      slot.hidden = false;
      if (invalid) control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', [describedBy, id].filter(Boolean).join(' '));
    },
    clear() {
      this.shown = false;
      slot.textContent = '';
      slot.hidden = true;
      control.removeAttribute('aria-invalid');
      if (describedBy) control.setAttribute('aria-describedby', describedBy);
      else control.removeAttribute('aria-describedby');
    },
  };
}

/** Joins nodes or strings with a separator, e.g. links separated by commas. */
export function joinNodes(items, sep = ', ') {
  return items.flatMap((item, i) => (i === 0 ? [item] : [sep, item]));
}

/** Says `text` through the page's polite live region. */
export function announce(text) {
  const announcer = document.getElementById('annonce');
  if (!announcer) return;
  announcer.textContent = '';
  // A separate task, so that the same text twice in a row is announced again.
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/** The French message to show for a failed request. */
export function errorMessage(err) {
  return err && err.code === 'RATE_LIMITED' ? err.message : UNAVAILABLE;
}

export function errorBlock(err, retry) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('p', null, errorMessage(err)),
    retry ? h('button', { type: 'button', class: 'button button-secondary', onclick: retry }, 'Réessayer') : null);
}

/**
 * What a refused or failed action (a form sent by a logged-in user) shows, to be placed in a
 * role="alert" slot: the server's French message, or an invitation to log in again.
 */
export function actionError(err) {
  if (err && err.code === 'UNAUTHENTICATED') {
    return h('div', { class: 'alert alert-error' },
      h('p', null, 'Votre session a expiré. ', h('a', { href: `/connexion?${new URLSearchParams({ retour: location.pathname + location.search })}` }, 'Connectez-vous de nouveau'), '.'));
  }
  return h('div', { class: 'alert alert-error' }, h('p', null, err instanceof ApiError && err.message ? err.message : UNAVAILABLE));
}

// ---------------------------------------------------------------------------------------
// Choosing a commune (home page, search page)

const COMMUNES_QUERY = `query Communes($query: String!, $first: Int) {
  territories(query: $query, first: $first) {
    code name kind population postcodes
    parents { code name kind }
  }
}`;

function communeOption(t) {
  const dept = F.parentOfKind(t, 'DEPARTMENT');
  const details = [dept ? F.departmentName(dept) : null, `${F.formatNumber(t.population)}\u00a0hab.`].filter(Boolean);
  const frag = document.createDocumentFragment();
  frag.append(h('span', { class: 'option-name' }, t.name), ` — ${details.join(' · ')}`);
  return frag;
}

/** A combobox that proposes communes by name, postcode or INSEE code. */
export function communeCombobox({ label, hint, onSelect }) {
  return createCombobox({
    label,
    hint,
    async search(query, searchSignal) {
      const data = await graphql(COMMUNES_QUERY, { query, first: 15 }, { signal: searchSignal });
      return data.territories.filter((t) => t.kind === 'COMMUNE').slice(0, 10);
    },
    optionContent: communeOption,
    optionValue: (t) => t.name,
    onSelect,
    countMessage: (n) => `${n} commune${n > 1 ? 's' : ''} proposée${n > 1 ? 's' : ''}. Flèches haut et bas pour parcourir, Entrée pour choisir.`,
    emptyMessage: (q) => `Aucune commune ne correspond à « ${q} ».`,
    errorMessage,
  });
}

/**
 * The commune a page is set to: « <prefix><name> — <département> » and a « Retirer » button
 * calling `onRemove`. `territory` may still be loading (null): the code is shown meanwhile.
 */
export function chosenCommune(prefix, territory, code, onRemove) {
  const name = territory ? territory.name : `Commune ${code}`;
  const dept = territory && F.parentOfKind(territory, 'DEPARTMENT');
  return h('p', { class: 'chosen-commune' },
    h('span', null, prefix, h('strong', null, name), dept ? ` — ${F.departmentName(dept)}` : ''),
    ' ',
    h('button', {
      type: 'button',
      class: 'button button-secondary button-small',
      'aria-label': `Retirer la commune ${name}`,
      onclick: onRemove,
    }, 'Retirer'));
}
