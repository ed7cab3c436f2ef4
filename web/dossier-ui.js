// What the pages of shared dossiers have in common (holder's form and tracking page, funder
// agents' inbox, conferences of funders): the GraphQL selections, error messages next to
// fields, the multipart upload of attachments, badges, dates and small page pieces.

import { graphql, ApiError, UNAVAILABLE, RATE_LIMITED } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, fieldError } from './dom.js';

export const DOSSIER_FIELDS = `
  id reference status statusLabel certified schemeSlugs pdfUrl createdAt updatedAt submittedAt withdrawnReason
  holder { legalName holderType siret rna communeCode communeName representative { name role email phone } }
  project { title description themes communeCode communeName startsOn endsOn nature costBasis }
  budget { totalCost expenses { label amount } }
  financingPlan {
    ownFunds previousDeMinimis
    derogation
    lines { schemeSlug funderName amount public aidType }
    check { balanced publicShare ownShare violations { code message line } }
  }
  attachments { id label filename contentType size uploadedAt url }
  reviews {
    id status statusLabel decision amount motivation decidedAt requestedAmount schemeSlugs
    funder { slug name }
  }
  informationRequests { id question askedAt answer answeredAt funder { slug name } }
  events { at actor action detail }
  missing { field message }
  notes { id text author at funder { slug name } }
`;

export const DOSSIER_QUERY = `query Dossier($id: ID!) { dossier(id: $id) { ${DOSSIER_FIELDS} } }`;

export const plural = (n, one, many) => (n > 1 ? many : one);

const DATE_TIME = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeStyle: 'short' });
const TIME = new Intl.DateTimeFormat('fr-FR', { hour: '2-digit', minute: '2-digit' });

/** An instant → « 27 novembre 2026 à 21:04 » where the reader is. */
export function formatDateTime(value) {
  const d = typeof value === 'string' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) return String(value ?? '');
  return DATE_TIME.format(d);
}

/** Now → « 21:04 ». */
export function timeNow() {
  return TIME.format(new Date());
}

/** 123456 → « 121 Ko » */
export function formatSize(bytes) {
  if (bytes < 1024) return `${F.formatNumber(bytes)} octets`;
  if (bytes < 1024 * 1024) return `${F.formatNumber(Math.round(bytes / 1024))} Ko`;
  return `${new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 }).format(bytes / 1024 / 1024)} Mo`;
}

/** The dossier's status as a badge (the server's French label when it gives one). */
export function dossierBadge(d) {
  return h('span', { class: `badge badge-dossier badge-${String(d.status).toLowerCase().replace(/_/g, '-')}` },
    d.statusLabel || L.label(L.DOSSIER_STATUSES, d.status));
}

export function reviewBadge(r) {
  return h('span', { class: `badge badge-review badge-review-${String(r.status).toLowerCase().replace(/_/g, '-')}` },
    r.statusLabel || L.label(L.REVIEW_STATUSES, r.status));
}

/** « Accordé : 60 000 € », « Refusé », or null before a decision. */
export function decisionText(r) {
  if (!r.decision) return null;
  const label = L.label(L.DECISIONS, r.decision);
  return r.decision === 'GRANTED' && r.amount != null ? `${label} : ${F.formatEuros(r.amount)}` : label;
}

export function breadcrumb(...items) {
  return h('nav', { class: 'breadcrumb', 'aria-label': 'Fil d’Ariane' },
    h('ol', null, items.map(([text, href]) =>
      h('li', null, href ? h('a', { href }, text) : h('span', { 'aria-current': 'page' }, text)))));
}

/** A fact of a definition list; omitted when it has no value. */
export function fact(term, ...values) {
  const list = values.flat().filter((v) => v != null && v !== '' && v !== false);
  if (list.length === 0) return null;
  return h('div', { class: 'fact' }, h('dt', null, term), list.map((v) => h('dd', null, v)));
}

/** The content of a page that needs a session, for a visitor without one. */
export function loginNeeded(title, why) {
  return {
    title,
    content: [
      h('h1', null, title),
      h('p', null, why),
      h('p', null, h('a', { class: 'button', href: `/connexion?${new URLSearchParams({ retour: location.pathname + location.search })}` }, 'Se connecter')),
    ],
  };
}

/** The content of a page the account may not see. */
export function forbidden(title, why) {
  return { title, content: [h('h1', null, title), h('p', { class: 'alert alert-warning' }, why)] };
}

/** A labelled field: { node, input, error }. `tag` input (default), textarea or select. */
export function textField(id, labelText, { hint, tag = 'input', type = 'text', required = false, attrs = {}, children = [] } = {}) {
  const hintId = hint ? `${id}-aide` : null;
  const input = h(tag, {
    id, name: id, ...(tag === 'input' ? { type } : {}), 'aria-describedby': hintId, ...(required ? { 'aria-required': 'true' } : {}), ...attrs,
  }, children);
  const error = fieldError(`${id}-erreur`, input);
  const node = h('div', { class: 'field' },
    h('label', { for: id }, labelText, required ? null : h('span', { class: 'optional' }, ' (facultatif)')),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    input,
    error.slot);
  return { node, input, error };
}

/** Marks a button busy (text while busy) and returns a function that restores it. */
export function busy(button, text) {
  const before = button.textContent;
  button.setAttribute('aria-disabled', 'true');
  button.textContent = text;
  return () => {
    button.removeAttribute('aria-disabled');
    button.textContent = before;
  };
}

/** A new idempotency key (one per submission attempt, reused when that attempt is retried). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** « holder.representative.email », « expenses[0].amount » → « expenses.0.amount » */
export function normalizeField(field) {
  return String(field || '').replace(/\[(\d+)\]/g, '.$1');
}

/** The step of the dossier form (1 to 6) where `field` (of DossierInput) is filled in. */
export function stepOfField(field) {
  const f = normalizeField(field);
  if (f.startsWith('holder')) return 1;
  if (f.startsWith('project')) return 2;
  if (f.startsWith('expenses') || f.startsWith('budget')) return 3;
  if (f.startsWith('financingPlan') || f.startsWith('plan')) return 4;
  if (f.startsWith('attachment')) return 5;
  return 6;
}

// ---------------------------------------------------------------------------------------
// Uploads: the GraphQL multipart request convention (operations, map, then the file part)

const SHOWN_AS_IS = new Set(['VALIDATION', 'NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'CONFLICT']);

/**
 * Runs a mutation whose variable `fileVariable` is `file`, as multipart/form-data, and
 * resolves with its `data`; rejects with an ApiError like `graphql()`.
 */
export async function graphqlUpload(query, variables, fileVariable, file, { signal } = {}) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { ...variables, [fileVariable]: null } }));
  form.append('map', JSON.stringify({ 0: [`variables.${fileVariable}`] }));
  form.append('0', file, file.name);
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      body: form,
      signal,
      // A multipart upload made with the session cookie must carry this header: a page of
      // another site cannot send it without a CORS preflight, which the server never grants.
      headers: { Accept: 'application/graphql-response+json, application/json', 'GraphQL-Require-Preflight': '1' },
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(UNAVAILABLE, { code: 'NETWORK' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
  }
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  if (errors.length) {
    const e = errors[0];
    const ext = (e && e.extensions) || {};
    const code = typeof ext.code === 'string' ? ext.code : 'GRAPHQL';
    let message = UNAVAILABLE;
    if (code === 'RATE_LIMITED') message = RATE_LIMITED;
    else if (SHOWN_AS_IS.has(code) && e.message) message = e.message;
    if (!SHOWN_AS_IS.has(code) && code !== 'RATE_LIMITED') console.error('GraphQL errors', errors);
    throw new ApiError(message, { code, field: ext.field ?? null, status: response.status, errors, data: body.data ?? null });
  }
  if (response.status === 413) {
    throw new ApiError('Ce fichier est trop volumineux (20 Mo au plus).', { code: 'VALIDATION', field: 'file', status: 413 });
  }
  if (!response.ok || !body || typeof body.data !== 'object' || body.data === null) {
    throw new ApiError(UNAVAILABLE, { code: 'HTTP', status: response.status });
  }
  return body.data;
}

// ---------------------------------------------------------------------------------------
// Pieces shown on the tracking page, the agent's view and the conference page

/** The funders' reviews: status, decision, amount and motivation of each. */
export function reviewList(reviews, { mineSlug = null } = {}) {
  if (!reviews.length) return h('p', { class: 'empty' }, 'Le dossier n’a encore été transmis à aucun financeur.');
  return h('ul', { class: 'review-list' }, reviews.map((r) => h('li', { class: `review-item${r.funder.slug === mineSlug ? ' review-mine' : ''}` },
    h('h3', { class: 'review-funder' }, r.funder.name, r.funder.slug === mineSlug ? h('span', { class: 'muted' }, ' (votre financeur)') : null),
    h('dl', { class: 'facts facts-compact' },
      fact('Statut', reviewBadge(r)),
      fact('Montant demandé', r.requestedAmount != null ? F.formatEuros(r.requestedAmount) : null),
      fact('Décision', decisionText(r)),
      fact('Motivation', r.motivation),
      fact('Date de la décision', r.decidedAt ? formatDateTime(r.decidedAt) : null)))));
}

/** The attachments of a dossier, each a download link; `onRemove(att, button)` adds a button. */
export function attachmentList(attachments, { onRemove = null } = {}) {
  if (!attachments.length) return h('p', { class: 'empty' }, 'Aucune pièce jointe.');
  return h('ul', { class: 'attachment-list' }, attachments.map((a) => {
    const remove = onRemove ? h('button', {
      type: 'button', class: 'button button-secondary button-small', 'aria-label': `Retirer la pièce « ${a.label} »`,
    }, 'Retirer') : null;
    if (remove) remove.addEventListener('click', () => onRemove(a, remove));
    return h('li', { class: 'attachment-item' },
      h('span', { class: 'attachment-name' },
        h('a', { href: a.url, download: a.filename }, a.label),
        h('span', { class: 'muted' }, ` — ${a.filename}, ${formatSize(a.size)}`)),
      remove);
  }));
}

/** The audit events, oldest first. */
export function eventTimeline(events) {
  if (!events.length) return h('p', { class: 'empty' }, 'Aucun événement.');
  return h('ol', { class: 'timeline' }, events.map((e) => h('li', { class: 'timeline-item' },
    h('p', { class: 'timeline-when' }, h('time', { datetime: e.at }, formatDateTime(e.at)), ' — ', e.actor),
    h('p', { class: 'timeline-what' }, e.detail || e.action))));
}

/**
 * The titles of the schemes named by `slugs` (one request, aliased fields), as a Map; schemes
 * no longer published are left out.
 */
export async function schemeTitles(slugs, { signal } = {}) {
  const list = [...new Set(slugs.filter(Boolean))];
  if (!list.length) return new Map();
  const fields = list.map((_, i) => `s${i}: scheme(slug: $s${i}) { slug title }`).join(' ');
  const args = list.map((_, i) => `$s${i}: String!`).join(', ');
  const vars = Object.fromEntries(list.map((slug, i) => [`s${i}`, slug]));
  const data = await graphql(`query SchemeTitles(${args}) { ${fields} }`, vars, { signal });
  return new Map(Object.values(data).filter(Boolean).map((s) => [s.slug, s.title]));
}

/** The funders of a submitted dossier's schemes: slug → funder name (from its reviews). */
function fundersBySlug(d) {
  const map = new Map();
  for (const r of d.reviews) for (const slug of r.schemeSlugs || []) map.set(slug, r.funder.name);
  return map;
}

/** The name of a line of the plan: its scheme (and funder) or the funder named freely. */
export function planLineName(line, titles, funders) {
  if (!line.schemeSlug) return line.funderName || 'Autre financeur';
  const title = titles.get(line.schemeSlug);
  const funder = line.funderName || funders.get(line.schemeSlug);
  return h('a', { href: `/dispositifs/${encodeURIComponent(line.schemeSlug)}` },
    title ? `${title}${funder ? ` — ${funder}` : ''}` : funder || line.schemeSlug);
}

/** The expenses and the financing plan, read-only; `titles` of the plan's schemes. */
export function budgetAndPlan(d, titles = new Map()) {
  const plan = d.financingPlan;
  const funders = fundersBySlug(d);
  return [
    d.budget.expenses.length ? h('table', { class: 'data-table' },
      h('caption', null, 'Dépenses prévues (€ HT)'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Dépense'), h('th', { scope: 'col', class: 'num' }, 'Montant'))),
      h('tbody', null, d.budget.expenses.map((e) => h('tr', null, h('td', null, e.label), h('td', { class: 'num' }, F.formatEuros(e.amount))))),
      h('tfoot', null, h('tr', null, h('th', { scope: 'row' }, 'Coût total'), h('td', { class: 'num' }, F.formatEuros(d.budget.totalCost)))))
      : h('p', { class: 'empty' }, 'Aucune dépense indiquée.'),
    plan ? h('table', { class: 'data-table' },
      h('caption', null, 'Plan de financement'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Financement'), h('th', { scope: 'col', class: 'num' }, 'Montant'))),
      h('tbody', null,
        h('tr', null, h('td', null, 'Fonds propres'), h('td', { class: 'num' }, F.formatEuros(plan.ownFunds))),
        plan.lines.map((l) => h('tr', null,
          h('td', null, planLineName(l, titles, funders), l.public ? null : h('span', { class: 'muted' }, ' (financement privé)')),
          h('td', { class: 'num' }, F.formatEuros(l.amount))))))
      : null,
  ];
}

// ---------------------------------------------------------------------------------------
// Small forms of the tracking page, the agent's view and the conference grid

const DECIDE = `mutation Decide($reviewId: ID!, $decision: Decision!, $amount: Int, $motivation: String!) {
  decide(reviewId: $reviewId, decision: $decision, amount: $amount, motivation: $motivation) { id status decision amount }
}`;

/**
 * A form of one required text (a question, an answer, a note, a reason): `run(text)` sends
 * it; an error of the server naming `field` (or none) is shown under the text box.
 */
export function textForm({ id, label, hint, submitText, emptyMessage, field, run, rows = 4, extra = null }) {
  const f = textField(id, label, { tag: 'textarea', required: true, hint, attrs: { rows: String(rows), maxlength: '10000' } });
  const button = h('button', { type: 'submit', class: 'button' }, submitText);
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form action-form', novalidate: true }, f.node, h('p', { class: 'step-actions' }, button, extra), status);
  let sending = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sending) return;
    f.error.clear();
    status.replaceChildren();
    const value = f.input.value.trim();
    if (!value) {
      f.error.show(emptyMessage);
      f.input.focus();
      return;
    }
    sending = true;
    const restore = busy(button, 'Envoi en cours…');
    try {
      await run(value);
    } catch (err) {
      restore();
      if (err && err.code === 'VALIDATION' && (!err.field || normalizeField(err.field) === field)) {
        f.error.show(err.message);
        f.input.focus();
      } else {
        status.replaceChildren(actionErrorBox(err));
      }
    } finally {
      sending = false;
    }
  });
  return { form, input: f.input };
}

function actionErrorBox(err) {
  if (err && err.code === 'UNAUTHENTICATED') {
    return h('div', { class: 'alert alert-error' },
      h('p', null, 'Votre session a expiré. ', h('a', { href: '/connexion' }, 'Connectez-vous de nouveau'), '.'));
  }
  return h('div', { class: 'alert alert-error' }, h('p', null, err instanceof ApiError && err.message ? err.message : UNAVAILABLE));
}

/**
 * The decision of one funder on one dossier: Accordé (with an amount) or Refusé, and the
 * motivation, both required. `onDone(review)` follows a recorded decision.
 */
export function decisionForm({ idPrefix, review, onDone, legend = 'Décision' }) {
  const granted = h('input', { type: 'radio', name: `${idPrefix}-decision`, id: `${idPrefix}-accorde`, value: 'GRANTED' });
  const refused = h('input', { type: 'radio', name: `${idPrefix}-decision`, id: `${idPrefix}-refuse`, value: 'REFUSED' });
  const group = h('fieldset', { class: 'choices decision-choices' },
    h('legend', null, legend),
    h('div', { class: 'choice' }, granted, h('label', { for: granted.id }, 'Accordé')),
    h('div', { class: 'choice' }, refused, h('label', { for: refused.id }, 'Refusé')));
  const decisionError = fieldError(`${idPrefix}-decision-erreur`, group, { invalid: false });
  decisionError.control = { focus: () => granted.focus() };
  group.append(decisionError.slot);
  const amount = textField(`${idPrefix}-montant`, 'Montant accordé (€)', {
    type: 'number', required: true, hint: review.requestedAmount != null ? `Montant demandé : ${F.formatEuros(review.requestedAmount)}.` : null,
    attrs: { inputmode: 'numeric', min: '0', step: '1' },
  });
  if (review.requestedAmount != null) amount.input.value = String(review.requestedAmount);
  const motivation = textField(`${idPrefix}-motivation`, 'Motivation', {
    tag: 'textarea', required: true, hint: 'Elle est communiquée au porteur et aux autres financeurs.', attrs: { rows: '3', maxlength: '5000' },
  });
  const button = h('button', { type: 'submit', class: 'button' }, 'Enregistrer la décision');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form decision-form', novalidate: true }, group, amount.node, motivation.node, h('p', null, button), status);
  const syncAmount = () => {
    amount.node.hidden = refused.checked;
  };
  granted.addEventListener('change', syncAmount);
  refused.addEventListener('change', syncAmount);
  let sending = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sending) return;
    for (const x of [decisionError, amount.error, motivation.error]) x.clear();
    status.replaceChildren();
    const errors = [];
    const decision = granted.checked ? 'GRANTED' : refused.checked ? 'REFUSED' : null;
    let value = null;
    if (!decision) errors.push([decisionError, 'Choisissez : accordé ou refusé.']);
    if (decision === 'GRANTED') {
      const raw = amount.input.value.trim();
      value = Number(raw);
      if (amount.input.validity.badInput || !raw) errors.push([amount.error, 'Indiquez le montant accordé.']);
      else if (!Number.isInteger(value) || value <= 0) errors.push([amount.error, 'Indiquez un montant en euros, supérieur à zéro, sans centimes.']);
    }
    const text = motivation.input.value.trim();
    if (!text) errors.push([motivation.error, 'Indiquez la motivation de la décision.']);
    if (errors.length) {
      for (const [x, m] of errors) x.show(m);
      errors[0][0].control.focus();
      return;
    }
    sending = true;
    const restore = busy(button, 'Enregistrement…');
    try {
      const data = await graphql(DECIDE, { reviewId: review.id, decision, amount: decision === 'GRANTED' ? value : null, motivation: text });
      await onDone(data.decide);
    } catch (err) {
      restore();
      const f = err && err.code === 'VALIDATION' ? normalizeField(err.field) : '';
      const target = { amount: amount.error, motivation: motivation.error, decision: decisionError }[f];
      if (target) {
        target.show(err.message);
        target.control.focus();
      } else {
        status.replaceChildren(actionErrorBox(err));
      }
    } finally {
      sending = false;
    }
  });
  return form;
}
