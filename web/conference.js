// Conferences of funders (`/conferences`, `/conferences/{id}`): staff create one (title, date,
// invited funders), put submitted dossiers on its agenda, open it, record decisions in the
// grid dossier × funder, and close it once every funder has decided on every dossier; then
// the minutes and the CSV of decisions can be downloaded. Funder agents see the conferences
// their funder is invited to.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, actionError, errorBlock, fieldError } from './dom.js';
import {
  plural, formatDateTime, reviewBadge, decisionText, breadcrumb, fact, loginNeeded, forbidden, textField,
  decisionForm, busy,
} from './dossier-ui.js';

const CONFERENCES_QUERY = `query Conferences($first: Int!) {
  conferences(first: $first) {
    total
    nodes { id title heldOn status closedAt funders { slug name } agenda { dossier { id } } }
  }
}`;
const FUNDERS_QUERY = 'query ConferenceFunders { funders { slug name kind } }';
const CREATE = 'mutation CreateConference($input: ConferenceInput!) { createConference(input: $input) { id } }';
const CONFERENCE_QUERY = `query Conference($id: ID!) {
  conference(id: $id) {
    id title heldOn status minutes minutesUrl decisionsCsvUrl closedAt
    funders { slug name }
    agenda {
      dossier { id reference status statusLabel project { title } holder { legalName communeName } budget { totalCost } }
      reviews { id status statusLabel decision amount motivation requestedAmount funder { slug name } }
      outcome { totalCost ownFunds granted remaining check { balanced violations { code message } } }
    }
  }
}`;
const CANDIDATES_QUERY = `query AgendaCandidates {
  dossiers(first: 100, status: [SUBMITTED, IN_REVIEW, INFO_REQUESTED], sort: SUBMITTED_DESC) {
    nodes { id reference project { title } holder { legalName } }
  }
}`;
const ADD = 'mutation AddToAgenda($c: ID!, $d: ID!) { addToAgenda(conferenceId: $c, dossierId: $d) { id } }';
const OPEN = 'mutation OpenConference($c: ID!) { openConference(conferenceId: $c) { id status } }';
const CLOSE = 'mutation CloseConference($c: ID!) { closeConference(conferenceId: $c) { id status } }';

const isStaff = (me) => me && (me.role === 'STAFF' || me.role === 'ADMIN');

function conferenceBadge(c) {
  return h('span', { class: `badge badge-conference badge-${c.status.toLowerCase()}` }, L.label(L.CONFERENCE_STATUSES, c.status));
}

// ---------------------------------------------------------------------------------------
// The list, and the creation form (staff)

function createForm(funders, navigate) {
  const titleField = textField('conference-titre', 'Intitulé', { required: true, hint: 'Par exemple : Conférence des financeurs du Lot — décembre 2026.', attrs: { maxlength: '300', autocomplete: 'off' } });
  const dateField = textField('conference-date', 'Date de la séance', { type: 'date', required: true });
  const boxes = [];
  const group = h('fieldset', { class: 'choices funder-choices', 'aria-describedby': 'conference-financeurs-aide' },
    h('legend', null, 'Financeurs invités'),
    h('p', { id: 'conference-financeurs-aide', class: 'hint' }, 'Cochez les financeurs qui décident lors de cette séance.'),
    h('div', { class: 'theme-grid' }, [...funders].sort((a, b) => a.name.localeCompare(b.name, 'fr')).map((f, i) => {
      const id = `conference-financeur-${i + 1}`;
      const box = h('input', { type: 'checkbox', id, value: f.slug });
      boxes.push(box);
      return h('div', { class: 'choice' }, box, h('label', { for: id }, f.name));
    })));
  const groupError = fieldError('conference-financeurs-erreur', group, { invalid: false });
  groupError.control = { focus: () => boxes[0] && boxes[0].focus() };
  group.append(groupError.slot);
  const button = h('button', { type: 'submit', class: 'button' }, 'Créer la conférence');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'conference-creer-titre' },
    titleField.node, dateField.node, group, h('p', null, button), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    for (const x of [titleField.error, dateField.error, groupError]) x.clear();
    status.replaceChildren();
    const input = {
      title: titleField.input.value.trim(),
      heldOn: dateField.input.value,
      funderSlugs: boxes.filter((b) => b.checked).map((b) => b.value),
    };
    const errors = [];
    if (!input.title) errors.push([titleField.error, 'Indiquez l’intitulé de la conférence.']);
    if (dateField.input.validity.badInput || !input.heldOn) errors.push([dateField.error, 'Indiquez la date de la séance : jour, mois et année.']);
    if (!input.funderSlugs.length) errors.push([groupError, 'Cochez au moins un financeur.']);
    if (errors.length) {
      for (const [x, m] of errors) x.show(m);
      errors[0][0].control.focus();
      announce(errors.map(([, m]) => m).join(' '));
      return;
    }
    const restore = busy(button, 'Création…');
    try {
      const { createConference } = await graphql(CREATE, { input });
      announce('Conférence créée.');
      navigate(`/conferences/${encodeURIComponent(createConference.id)}`);
    } catch (err) {
      restore();
      const field = err && err.code === 'VALIDATION' ? String(err.field || '').replace(/^input\./, '') : '';
      const target = { title: titleField.error, heldOn: dateField.error, funderSlugs: groupError }[field.split('.')[0]];
      if (target) {
        target.show(err.message);
        target.control.focus();
      } else {
        status.replaceChildren(actionError(err));
      }
    }
  });
  return form;
}

export async function conferencesPage({ signal, navigate, loadMe }) {
  const title = 'Conférences des financeurs';
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded(title, 'Connectez-vous avec votre compte d’agent ou de l’équipe Guichet.');
  if (me.role === 'HOLDER') return forbidden(title, 'Les conférences des financeurs sont réservées aux financeurs et à l’équipe Guichet. Vous recevez par courriel la synthèse des décisions sur vos dossiers.');
  const [data, funders] = await Promise.all([
    graphql(CONFERENCES_QUERY, { first: 100 }, { signal }),
    isStaff(me) ? graphql(FUNDERS_QUERY, {}, { signal }).then((d) => d.funders) : null,
  ]);
  const { nodes, total } = data.conferences;
  return {
    title,
    content: [
      h('h1', null, title),
      h('p', { class: 'lead' }, 'Les financeurs d’un territoire examinent ensemble les dossiers inscrits à l’ordre du jour et décident chacun de leur aide, en une séance.'),
      h('section', { class: 'section', 'aria-labelledby': 'conferences-liste-titre' },
        h('h2', { id: 'conferences-liste-titre' }, total ? `${F.formatNumber(total)} ${plural(total, 'conférence', 'conférences')}` : 'Aucune conférence'),
        nodes.length ? h('ul', { class: 'dossier-list' }, nodes.map((c) => h('li', { class: 'card' },
          h('h3', { class: 'dossier-item-title' }, h('a', { href: `/conferences/${encodeURIComponent(c.id)}` }, c.title)),
          h('p', { class: 'badges' }, conferenceBadge(c)),
          h('p', { class: 'muted' }, `Séance du ${F.formatDate(c.heldOn)} · ${F.formatNumber(c.agenda.length)} ${plural(c.agenda.length, 'dossier', 'dossiers')} à l’ordre du jour · ${c.funders.map((f) => f.name).join(', ')}`))))
          : h('p', { class: 'empty' }, isStaff(me) ? 'Créez la première conférence ci-dessous.' : 'Votre financeur n’est invité à aucune conférence.')),
      funders ? h('section', { class: 'section', 'aria-labelledby': 'conference-creer-titre' },
        h('h2', { id: 'conference-creer-titre' }, 'Nouvelle conférence'),
        createForm(funders, navigate)) : null,
    ],
  };
}

// ---------------------------------------------------------------------------------------
// One conference

/** The funders of the grid: the invited ones, then any other reviewing a dossier on the agenda. */
function gridFunders(c) {
  const list = [...c.funders];
  for (const item of c.agenda) {
    for (const r of item.reviews) if (!list.some((f) => f.slug === r.funder.slug)) list.push(r.funder);
  }
  return list;
}

function missingDecisions(c) {
  const out = [];
  for (const item of c.agenda) {
    for (const r of item.reviews) if (!r.decision) out.push(`${item.dossier.reference} — ${r.funder.name}`);
  }
  return out;
}

function conferenceBody(c, me, { candidates, reload, signal }) {
  const staff = isStaff(me);
  const funders = gridFunders(c);
  const nodes = [];
  const panel = h('div', { class: 'decision-panel' });

  nodes.push(h('dl', { class: 'facts', id: 'conference-etat', tabindex: '-1' },
    fact('Date de la séance', F.formatDate(c.heldOn)),
    fact('Statut', conferenceBadge(c)),
    fact('Financeurs invités', c.funders.map((f) => f.name).join(', ')),
    fact('Close le', c.closedAt ? formatDateTime(c.closedAt) : null)));

  // Opening and closing
  if (staff && c.status !== 'CLOSED') {
    const status = h('div', { class: 'status-slot', role: 'alert' });
    const button = h('button', { type: 'button', class: 'button' }, c.status === 'PLANNED' ? 'Ouvrir la conférence' : 'Clore la conférence');
    button.addEventListener('click', async () => {
      status.replaceChildren();
      const restore = busy(button, c.status === 'PLANNED' ? 'Ouverture…' : 'Clôture…');
      try {
        if (c.status === 'PLANNED') {
          await graphql(OPEN, { c: c.id });
          await reload({ focusId: 'conference-etat', message: 'Conférence ouverte : les décisions peuvent être enregistrées.' });
        } else {
          await graphql(CLOSE, { c: c.id });
          await reload({ focusId: 'proces-verbal-titre', message: 'Conférence close. Chaque porteur reçoit la synthèse des décisions.' });
        }
      } catch (err) {
        restore();
        if (err && err.code === 'CONFLICT') {
          const missing = missingDecisions(c);
          status.replaceChildren(h('div', { class: 'alert alert-error conflict' },
            h('p', null, err.message),
            missing.length ? [h('p', null, `${missing.length > 1 ? 'Décisions manquantes' : 'Décision manquante'} :`),
              h('ul', { class: 'plain-list missing-decisions' }, missing.map((m) => h('li', null, m)))] : null));
        } else {
          status.replaceChildren(actionError(err));
        }
      }
    });
    nodes.push(h('p', { class: 'actions' }, button), status);
  }

  // Agenda
  const agendaChildren = [];
  if (staff && c.status !== 'CLOSED') {
    const onAgenda = new Set(c.agenda.map((i) => i.dossier.id));
    const options = (candidates || []).filter((d) => !onAgenda.has(d.id));
    if (options.length) {
      const select = h('select', { id: 'ordre-du-jour-dossier' },
        h('option', { value: '' }, 'Choisissez un dossier déposé'),
        options.map((d) => h('option', { value: d.id }, `${d.reference} — ${d.project ? d.project.title : ''}${d.holder ? ` (${d.holder.legalName})` : ''}`)));
      const error = fieldError('ordre-du-jour-dossier-erreur', select);
      const button = h('button', { type: 'submit', class: 'button' }, 'Ajouter à l’ordre du jour');
      const status = h('div', { class: 'status-slot', role: 'alert' });
      const form = h('form', { class: 'form agenda-form', novalidate: true },
        h('div', { class: 'field' }, h('label', { for: select.id }, 'Dossier à inscrire'), select, error.slot), h('p', null, button), status);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        error.clear();
        status.replaceChildren();
        if (!select.value) {
          error.show('Choisissez le dossier à inscrire.');
          select.focus();
          return;
        }
        const restore = busy(button, 'Ajout…');
        try {
          await graphql(ADD, { c: c.id, d: select.value });
          await reload({ focusId: 'grille-titre', message: 'Dossier inscrit à l’ordre du jour.' });
        } catch (err) {
          restore();
          if (err && err.code === 'VALIDATION' && err.field === 'dossierId') {
            error.show(err.message);
            select.focus();
          } else {
            status.replaceChildren(actionError(err));
          }
        }
      });
      agendaChildren.push(form);
    } else {
      agendaChildren.push(h('p', { class: 'muted' }, 'Aucun autre dossier déposé à inscrire.'));
    }
  }

  // The grid dossier × funder
  let grid;
  if (!c.agenda.length) {
    grid = h('p', { class: 'empty' }, 'Aucun dossier à l’ordre du jour.');
  } else {
    const canDecide = staff && c.status === 'OPEN';
    const closed = c.status === 'CLOSED';
    grid = h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'grille-titre', tabindex: '0' },
      h('table', { class: 'data-table decision-grid' },
        h('caption', { class: 'visually-hidden' }, 'Décisions : une ligne par dossier, une colonne par financeur'),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Dossier'),
          funders.map((f) => h('th', { scope: 'col' }, f.name)),
          closed ? h('th', { scope: 'col' }, 'Bilan') : null)),
        h('tbody', null, c.agenda.map((item) => {
          const d = item.dossier;
          return h('tr', null,
            h('th', { scope: 'row' },
              h('a', { href: `/instruction/${encodeURIComponent(d.id)}` }, d.reference),
              h('span', { class: 'grid-sub' }, d.project ? d.project.title : ''),
              d.holder ? h('span', { class: 'grid-sub muted' }, d.holder.legalName) : null),
            funders.map((f) => {
              const r = item.reviews.find((x) => x.funder.slug === f.slug);
              if (!r) return h('td', { class: 'grid-none' }, h('span', { class: 'muted' }, 'Non sollicité'));
              const cellId = `cellule-${r.id}`;
              let action = null;
              if (canDecide && !r.decision) {
                action = h('button', {
                  type: 'button', class: 'button button-secondary button-small', id: cellId,
                  'aria-label': `Saisir la décision de ${f.name} pour le dossier ${d.reference}`,
                }, 'Saisir la décision');
                action.addEventListener('click', () => openPanel(item, r, f, cellId));
              }
              return h('td', null,
                reviewBadge(r),
                r.decision ? h('span', { class: `grid-decision decision-${r.decision.toLowerCase()}` }, decisionText(r)) : null,
                r.motivation ? h('span', { class: 'grid-sub muted' }, r.motivation) : null,
                action);
            }),
            closed ? h('td', null, item.outcome
              ? [h('span', { class: 'grid-sub' }, `Accordé : ${F.formatEuros(item.outcome.granted)}`),
                h('span', { class: 'grid-sub' }, `Reste à financer : ${F.formatEuros(item.outcome.remaining)}`)]
              : '—') : null);
        }))));
  }

  function openPanel(item, review, funder, cellId) {
    const cancel = h('button', { type: 'button', class: 'button button-secondary' }, 'Annuler');
    const heading = h('h3', { id: 'decision-panel-titre', tabindex: '-1' }, `Décision de ${funder.name} pour le dossier ${item.dossier.reference}`);
    cancel.addEventListener('click', () => {
      panel.replaceChildren();
      const back = document.getElementById(cellId);
      if (back) back.focus();
    });
    panel.replaceChildren(h('div', { class: 'card', role: 'group', 'aria-labelledby': heading.id },
      heading,
      decisionForm({
        idPrefix: `grille-${review.id}`,
        review,
        legend: 'Décision',
        onDone: () => reload({ focusId: 'grille-titre', message: `Décision de ${funder.name} enregistrée pour ${item.dossier.reference}.` }),
      }),
      h('p', null, cancel)));
    heading.focus();
  }

  nodes.push(h('section', { class: 'section', 'aria-labelledby': 'grille-titre' },
    h('h2', { id: 'grille-titre', tabindex: '-1' }, 'Ordre du jour et décisions'),
    agendaChildren,
    grid,
    panel));

  if (c.status === 'CLOSED') {
    nodes.push(h('section', { class: 'section', 'aria-labelledby': 'proces-verbal-titre' },
      h('h2', { id: 'proces-verbal-titre', tabindex: '-1' }, 'Procès-verbal'),
      h('p', { class: 'actions' },
        c.minutesUrl ? h('a', { class: 'button button-secondary', href: c.minutesUrl, download: 'proces-verbal.txt' }, 'Télécharger le procès-verbal') : null,
        c.decisionsCsvUrl ? h('a', { class: 'button button-secondary', href: c.decisionsCsvUrl, download: 'decisions.csv' }, 'Télécharger les décisions (CSV)') : null),
      c.minutes ? h('div', { class: 'minutes' }, c.minutes) : h('p', { class: 'empty' }, 'Le procès-verbal n’est pas disponible.')));
  }
  return nodes;
}

export async function conferencePage({ params, signal, loadMe }) {
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded('Conférence', 'Connectez-vous avec votre compte d’agent ou de l’équipe Guichet.');
  const id = params[0];
  const staff = isStaff(me);
  const load = () => Promise.all([
    graphql(CONFERENCE_QUERY, { id }, { signal }).then((d) => d.conference),
    staff ? graphql(CANDIDATES_QUERY, {}, { signal }).then((d) => d.dossiers.nodes, (err) => {
      if (isAbort(err)) throw err;
      return [];
    }) : null,
  ]);
  const [c, candidates] = await load();
  if (!c) {
    return {
      title: 'Conférence introuvable',
      content: [h('h1', null, 'Conférence introuvable'), h('p', null, 'Cette conférence n’existe pas ou votre financeur n’y est pas invité.'),
        h('p', null, h('a', { href: '/conferences' }, 'Toutes les conférences'))],
    };
  }
  const body = h('div', { class: 'conference-body' });
  async function reload({ focusId, message }) {
    let fresh;
    let more;
    try {
      [fresh, more] = await load();
    } catch (err) {
      if (isAbort(err)) return;
      body.prepend(errorBlock(err));
      return;
    }
    if (!fresh || signal.aborted) return;
    body.replaceChildren(...conferenceBody(fresh, me, { candidates: more, reload, signal }).filter(Boolean));
    const target = focusId && document.getElementById(focusId);
    if (target) target.focus();
    if (message) announce(message);
  }
  body.replaceChildren(...conferenceBody(c, me, { candidates, reload, signal }).filter(Boolean));
  return {
    title: c.title,
    content: [
      breadcrumb(['Conférences', '/conferences'], [c.title]),
      h('h1', null, c.title),
      body,
    ],
  };
}
