// « Mes dossiers » (`/dossiers`) and one dossier (`/dossiers/{id}`, and `/instruction/{id}` for
// funder agents and staff). The dossier page shows its status, each funder's review and
// decision, the information requests, the attachments, the history and the PDF; its actions
// depend on who looks: the holder answers questions and may withdraw the dossier, a funder
// agent starts the review, asks a question, keeps private notes and decides.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, actionError, errorBlock } from './dom.js';
import {
  DOSSIER_QUERY, plural, formatDateTime, dossierBadge, reviewBadge, decisionText, breadcrumb, fact, loginNeeded,
  reviewList, attachmentList, eventTimeline, budgetAndPlan, schemeTitles, textForm, decisionForm, busy,
} from './dossier-ui.js';

const PAGE_SIZE = 20;

const MY_DOSSIERS = `query MyDossiers($first: Int!, $after: String) {
  dossiers(first: $first, after: $after, sort: UPDATED_DESC) {
    total
    nodes { id reference status statusLabel updatedAt submittedAt project { title } budget { totalCost }
            reviews { status decision funder { name } } }
    pageInfo { endCursor hasNextPage }
  }
}`;

const START_REVIEW = 'mutation StartReview($id: ID!) { startReview(reviewId: $id) { id status } }';
const ASK = 'mutation Ask($id: ID!, $question: String!) { requestInformation(dossierId: $id, question: $question) { id } }';
const ANSWER = 'mutation Answer($id: ID!, $answer: String!) { answerInformationRequest(requestId: $id, answer: $answer) { id } }';
const NOTE = 'mutation Note($id: ID!, $text: String!) { addReviewNote(reviewId: $id, text: $text) { id } }';
const WITHDRAW = 'mutation Withdraw($id: ID!, $reason: String!) { withdrawDossier(id: $id, reason: $reason) { id status } }';

const isStaff = (me) => me && (me.role === 'STAFF' || me.role === 'ADMIN');
const dossierTitle = (d) => (d.project && d.project.title ? d.project.title : 'Projet sans intitulé');

// ---------------------------------------------------------------------------------------
// « Mes dossiers »

function dossierItem(d) {
  const href = d.status === 'DRAFT' ? `/dossiers/${encodeURIComponent(d.id)}/modifier` : `/dossiers/${encodeURIComponent(d.id)}`;
  const decided = d.reviews.filter((r) => r.decision).length;
  return h('li', { class: 'dossier-item card' },
    h('h2', { class: 'dossier-item-title' }, h('a', { href }, `${d.reference} — ${dossierTitle(d)}`)),
    h('p', { class: 'badges' }, dossierBadge(d)),
    h('p', { class: 'muted' },
      d.submittedAt ? `Déposé le ${F.formatLocalDate(d.submittedAt)}` : `Modifié le ${F.formatLocalDate(d.updatedAt)}`,
      d.budget && d.budget.totalCost ? ` · coût total ${F.formatEuros(d.budget.totalCost)}` : '',
      d.reviews.length ? ` · ${F.formatNumber(d.reviews.length)} ${plural(d.reviews.length, 'financeur', 'financeurs')}, ${F.formatNumber(decided)} ${plural(decided, 'décision', 'décisions')}` : ''),
    d.status === 'DRAFT' ? h('p', null, h('a', { href: `/dossiers/${encodeURIComponent(d.id)}` }, `Voir le brouillon ${d.reference}`)) : null);
}

export async function dossiersPage({ signal, loadMe }) {
  const title = 'Mes dossiers';
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded(title, 'Connectez-vous pour préparer vos dossiers et suivre les réponses des financeurs.');
  if (me.role !== 'HOLDER') {
    return {
      title,
      content: [h('h1', null, title),
        h('p', null, 'Les dossiers transmis à votre financeur sont dans la boîte d’instruction.'),
        h('p', null, h('a', { class: 'button', href: '/instruction' }, 'Ouvrir l’instruction'))],
    };
  }
  const data = await graphql(MY_DOSSIERS, { first: PAGE_SIZE }, { signal });
  let { nodes, total, pageInfo } = data.dossiers;
  const list = h('ul', { class: 'dossier-list' }, nodes.map(dossierItem));
  const moreSlot = h('div');
  function renderMore() {
    if (!pageInfo.hasNextPage) {
      moreSlot.replaceChildren();
      return;
    }
    const more = h('button', { type: 'button', class: 'button button-secondary' }, 'Voir plus');
    more.addEventListener('click', async () => {
      const restore = busy(more, 'Chargement…');
      try {
        const next = (await graphql(MY_DOSSIERS, { first: PAGE_SIZE, after: pageInfo.endCursor }, { signal })).dossiers;
        const items = next.nodes.map(dossierItem);
        list.append(...items);
        pageInfo = next.pageInfo;
        renderMore();
        if (items[0]) items[0].querySelector('a').focus();
      } catch (err) {
        if (isAbort(err)) return;
        restore();
        moreSlot.append(errorBlock(err));
      }
    });
    moreSlot.replaceChildren(h('p', null, more));
  }
  renderMore();
  return {
    title,
    content: [
      h('h1', null, title),
      h('p', { class: 'lead' }, 'Un seul dossier par projet, transmis en même temps à tous ses financeurs : vous suivez ici leurs questions et leurs décisions.'),
      h('p', null, h('a', { class: 'button', href: '/dossiers/nouveau' }, 'Nouveau dossier')),
      ...(total === 0
        ? [h('p', { class: 'empty' }, 'Vous n’avez pas encore de dossier. Commencez par « Nouveau dossier » : il est enregistré à mesure que vous le remplissez.')]
        : [h('p', null, `${F.formatNumber(total)} ${plural(total, 'dossier', 'dossiers')}.`), list, moreSlot]),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// One dossier

function section(id, titleText, ...children) {
  return h('section', { class: 'section', 'aria-labelledby': id }, h('h2', { id, tabindex: '-1' }, titleText), children);
}

/** The holder's « Retirer le dossier », confirmed with a reason. */
function withdrawBlock(d, done) {
  const slot = h('div', { class: 'withdraw' });
  const open = h('button', { type: 'button', class: 'button button-secondary' }, 'Retirer le dossier');
  open.addEventListener('click', () => {
    const cancel = h('button', { type: 'button', class: 'button button-secondary' }, 'Annuler');
    const { form, input } = textForm({
      id: 'retrait-motif',
      label: 'Motif du retrait',
      hint: 'Il est communiqué à chaque financeur du dossier.',
      submitText: 'Confirmer le retrait',
      emptyMessage: 'Indiquez le motif du retrait.',
      field: 'reason',
      rows: 3,
      extra: [' ', cancel],
      run: async (reason) => {
        await graphql(WITHDRAW, { id: d.id, reason });
        await done({ focusId: 'dossier-statut', message: 'Le dossier est retiré.' });
      },
    });
    cancel.addEventListener('click', () => {
      slot.replaceChildren(open);
      open.focus();
    });
    slot.replaceChildren(h('div', { class: 'confirm-box', role: 'group', 'aria-labelledby': 'retrait-titre' },
      h('p', { id: 'retrait-titre' }, 'Retirer ce dossier ? Les financeurs cessent de l’instruire ; il ne pourra pas être déposé de nouveau.'),
      form));
    input.focus();
  });
  slot.append(open);
  return slot;
}

function requestItem(d, r, { canAnswer, done }) {
  const id = `question-${r.id}`;
  return h('li', { class: 'request-item card' },
    h('h3', { id, class: 'request-title' }, `Question de ${r.funder.name}`),
    h('p', { class: 'muted' }, `Posée le ${formatDateTime(r.askedAt)}`),
    h('blockquote', { class: 'request-question' }, r.question),
    r.answer != null
      ? h('div', { class: 'request-answer' },
        h('p', { class: 'request-answer-title' }, `Réponse du porteur${r.answeredAt ? `, le ${formatDateTime(r.answeredAt)}` : ''} :`),
        h('blockquote', null, r.answer))
      : canAnswer
        ? textForm({
          id: `reponse-${r.id}`,
          label: 'Votre réponse',
          hint: 'Elle est transmise à tous les financeurs du dossier.',
          submitText: 'Envoyer la réponse',
          emptyMessage: 'Écrivez votre réponse.',
          field: 'answer',
          run: async (answer) => {
            await graphql(ANSWER, { id: r.id, answer });
            await done({ focusId: id, message: 'Réponse envoyée à tous les financeurs.' });
          },
        }).form
        : h('p', { class: 'tag' }, 'En attente de la réponse du porteur'));
}

function agentBlock(d, review, me, done) {
  const children = [];
  children.push(h('p', null, 'Statut de votre instruction : ', reviewBadge(review)));
  if (review.status === 'RECEIVED') {
    const start = h('button', { type: 'button', class: 'button' }, 'Commencer l’instruction');
    const status = h('div', { class: 'status-slot', role: 'alert' });
    start.addEventListener('click', async () => {
      const restore = busy(start, 'Enregistrement…');
      try {
        await graphql(START_REVIEW, { id: review.id });
        await done({ focusId: 'instruction-titre', message: 'Instruction commencée.' });
      } catch (err) {
        restore();
        status.replaceChildren(actionError(err));
      }
    });
    children.push(h('p', null, start), status);
  }
  if (review.status === 'DECIDED') {
    children.push(h('p', { class: 'alert alert-success' }, `Décision enregistrée : ${decisionText(review)}.`));
  } else if (d.status !== 'WITHDRAWN') {
    children.push(h('h3', null, 'Décider'),
      decisionForm({
        idPrefix: 'decision',
        review,
        legend: `Décision de ${review.funder.name}`,
        onDone: () => done({ focusId: 'instruction-titre', message: 'Décision enregistrée.' }),
      }));
  }
  return children;
}

function notesBlock(d, review, done) {
  const notes = d.notes || [];
  return [
    notes.length
      ? h('ul', { class: 'note-list' }, notes.map((n) => h('li', { class: 'note-item' },
        h('p', { class: 'muted' }, `${n.author}${n.funder ? ` (${n.funder.name})` : ''}, le ${formatDateTime(n.at)}`),
        h('p', null, n.text))))
      : h('p', { class: 'empty' }, 'Aucune note.'),
    review ? textForm({
      id: 'note-texte',
      label: 'Nouvelle note',
      hint: 'Visible seulement des agents de votre financeur et de l’équipe Guichet.',
      submitText: 'Ajouter la note',
      emptyMessage: 'Écrivez la note.',
      field: 'text',
      rows: 3,
      run: async (text) => {
        await graphql(NOTE, { id: review.id, text });
        await done({ focusId: 'notes-titre', message: 'Note ajoutée.' });
      },
    }).form : null,
  ];
}

function dossierBody(d, me, { done, inInbox, titles }) {
  const holder = me.role === 'HOLDER';
  const myReview = me.role === 'FUNDER' && me.funder ? d.reviews.find((r) => r.funder.slug === me.funder.slug) : null;
  const closed = d.status === 'WITHDRAWN' || d.status === 'DECIDED';
  const open = d.informationRequests.filter((r) => r.answer == null).length;
  const base = inInbox ? '/instruction' : '/dossiers';
  const nodes = [];

  nodes.push(h('div', { class: 'dossier-status', id: 'dossier-statut', tabindex: '-1' },
    h('p', { class: 'badges' }, 'Statut : ', dossierBadge(d)),
    h('p', { class: 'muted' },
      `Référence ${d.reference}. `,
      d.submittedAt ? `Déposé le ${formatDateTime(d.submittedAt)}. ` : `Créé le ${formatDateTime(d.createdAt)}. `,
      `Dernière modification le ${formatDateTime(d.updatedAt)}.`),
    d.status === 'WITHDRAWN' && d.withdrawnReason ? h('p', { class: 'alert alert-info' }, `Dossier retiré par le porteur. Motif : ${d.withdrawnReason}`) : null,
    holder && open ? h('p', { class: 'alert alert-warning' },
      `${open > 1 ? `${open} questions des financeurs attendent` : 'Une question d’un financeur attend'} votre réponse. `,
      h('a', { href: '#questions-titre' }, 'Répondre')) : null));

  const actions = [h('a', { class: 'button button-secondary', href: d.pdfUrl, download: `${d.reference}.pdf` }, 'Télécharger le PDF')];
  if (holder && d.status === 'DRAFT') actions.unshift(h('a', { class: 'button', href: `/dossiers/${encodeURIComponent(d.id)}/modifier` }, 'Continuer le dossier'));
  nodes.push(h('p', { class: 'actions' }, actions));
  if (holder && !closed) nodes.push(withdrawBlock(d, done));

  if (myReview) {
    nodes.push(section('instruction-titre', `Instruction — ${myReview.funder.name}`, agentBlock(d, myReview, me, done)));
  } else if (me.role === 'FUNDER' && d.status !== 'DRAFT') {
    // An agent of a network's head (or of a service above the one the dossier went to):
    // it sees the dossier, the service instructs it.
    const names = d.reviews.map((r) => r.funder.name);
    nodes.push(h('p', { class: 'alert alert-info', id: 'lecture-seule' },
      `Consultation en lecture seule : ce dossier est instruit par ${names.join(', ')}. Vous ne pouvez ni l’instruire ni poser de question.`));
  }

  nodes.push(section('financeurs-titre', 'Réponses des financeurs',
    d.status === 'DRAFT' ? h('p', { class: 'empty' }, 'Le dossier n’est pas encore déposé.') : reviewList(d.reviews, { mineSlug: myReview ? myReview.funder.slug : null })));

  const canAsk = !!myReview && !closed && myReview.status !== 'DECIDED';
  nodes.push(section('questions-titre', 'Questions des financeurs',
    d.informationRequests.length
      ? h('ul', { class: 'request-list' }, d.informationRequests.map((r) => requestItem(d, r, { canAnswer: holder && !closed, done })))
      : h('p', { class: 'empty' }, 'Aucune question pour l’instant.'),
    canAsk ? [h('h3', null, 'Poser une question au porteur'),
      textForm({
        id: 'question-texte',
        label: 'Votre question',
        hint: 'Le porteur la reçoit par courriel ; les autres financeurs du dossier la voient, ainsi que la réponse.',
        submitText: 'Envoyer la question',
        emptyMessage: 'Écrivez votre question.',
        field: 'question',
        run: async (question) => {
          await graphql(ASK, { id: d.id, question });
          await done({ focusId: 'questions-titre', message: 'Question envoyée au porteur.' });
        },
      }).form] : null));

  if (myReview || isStaff(me)) {
    nodes.push(section('notes-titre', 'Notes privées', notesBlock(d, myReview, done)));
  }

  const hd = d.holder;
  const p = d.project;
  nodes.push(section('projet-titre', 'Le projet',
    h('dl', { class: 'facts' },
      fact('Porteur', hd ? `${hd.legalName} (${L.label(L.HOLDER_TYPES, hd.holderType)})` : null),
      fact('SIRET', hd ? hd.siret : null),
      fact('RNA', hd ? hd.rna : null),
      fact('Commune du siège', hd ? hd.communeName || hd.communeCode : null),
      fact('Représentant légal', hd ? `${hd.representative.name}, ${hd.representative.role} — ${hd.representative.email}${hd.representative.phone ? `, ${hd.representative.phone}` : ''}` : null),
      fact('Intitulé', p ? p.title : null),
      fact('Commune du projet', p ? p.communeName || p.communeCode : null),
      fact('Thèmes', p ? p.themes.map((t) => L.label(L.THEMES, t)).join(', ') : null),
      fact('Calendrier', p && (p.startsOn || p.endsOn) ? [p.startsOn ? `du ${F.formatDate(p.startsOn)}` : '', p.endsOn ? ` au ${F.formatDate(p.endsOn)}` : ''].join('') : null),
      fact('Description', p ? p.description : null)),
    h('div', { class: 'budget-tables' }, budgetAndPlan(d, titles))));

  nodes.push(section('pieces-titre', 'Pièces jointes', attachmentList(d.attachments)));
  nodes.push(section('historique-titre', 'Historique', eventTimeline(d.events)));
  nodes.push(h('p', null, h('a', { href: base }, inInbox ? 'Retour à l’instruction' : 'Retour à mes dossiers')));
  return nodes;
}

export async function dossierPage({ params, query, signal, loadMe }, { inInbox = false } = {}) {
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded('Dossier', 'Connectez-vous pour voir ce dossier.');
  const id = params[0];
  const d = (await graphql(DOSSIER_QUERY, { id }, { signal })).dossier;
  if (!d) {
    return {
      title: 'Dossier introuvable',
      content: [h('h1', null, 'Dossier introuvable'), h('p', null, 'Ce dossier n’existe pas ou vous n’y avez pas accès.'),
        h('p', null, h('a', { href: me.role === 'HOLDER' ? '/dossiers' : '/instruction' }, me.role === 'HOLDER' ? 'Mes dossiers' : 'Instruction'))],
    };
  }
  const inbox = inInbox || me.role !== 'HOLDER';
  const titles = await schemeTitles((d.financingPlan ? d.financingPlan.lines : []).map((l) => l.schemeSlug), { signal })
    .catch((err) => {
      if (isAbort(err)) throw err;
      return new Map();
    });
  const body = h('div', { class: 'dossier-body' });
  const heading = h('h1', null, `Dossier ${d.reference} : ${dossierTitle(d)}`);

  async function done({ focusId, message }) {
    const fresh = (await graphql(DOSSIER_QUERY, { id }, { signal })).dossier;
    if (!fresh || signal.aborted) return;
    heading.textContent = `Dossier ${fresh.reference} : ${dossierTitle(fresh)}`;
    body.replaceChildren(...dossierBody(fresh, me, { done, inInbox: inbox, titles }).filter(Boolean));
    const target = focusId && document.getElementById(focusId);
    if (target) {
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus();
    }
    if (message) announce(message);
  }

  body.replaceChildren(...dossierBody(d, me, { done, inInbox: inbox, titles }).filter(Boolean));
  return {
    title: `Dossier ${d.reference}`,
    content: [
      inbox ? breadcrumb(['Instruction', '/instruction'], [d.reference]) : breadcrumb(['Mes dossiers', '/dossiers'], [d.reference]),
      heading,
      query.get('depose') === '1' && d.status !== 'DRAFT' ? h('div', { class: 'alert alert-success', role: 'status' },
        h('p', null, `Votre dossier est déposé et transmis à ${d.reviews.map((r) => r.funder.name).join(', ')}, ${d.reviews.length > 1 ? 'qui en sont avertis' : 'qui en est averti'} par courriel ; un accusé de réception vous est envoyé.`)) : null,
      body,
    ],
  };
}
