// The funder agents' inbox (`/instruction`, also for staff): the dossiers the account may see,
// filtered by status and sorted (both kept in the address: `?statut=SUBMITTED&tri=…`), each
// with its holder, its cost and where the funders stand.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, errorBlock } from './dom.js';
import { plural, dossierBadge, reviewBadge, decisionText, loginNeeded, forbidden, busy } from './dossier-ui.js';

const PAGE_SIZE = 20;
const INBOX_QUERY = `query Inbox($first: Int!, $after: String, $status: [DossierStatus!], $sort: DossierSort!) {
  dossiers(first: $first, after: $after, status: $status, sort: $sort) {
    total
    nodes {
      id reference status statusLabel submittedAt updatedAt
      holder { legalName communeName communeCode }
      project { title communeName }
      budget { totalCost }
      reviews { id status statusLabel decision amount requestedAmount funder { slug name } }
      informationRequests { answer }
    }
    pageInfo { endCursor hasNextPage }
  }
}`;

// The statuses an agent filters on (a draft is never sent to a funder).
const FILTER_STATUSES = ['SUBMITTED', 'IN_REVIEW', 'INFO_REQUESTED', 'DECIDED', 'WITHDRAWN'];

function readFilter(params) {
  const status = params.get('statut');
  const sort = params.get('tri');
  return {
    status: Object.hasOwn(L.DOSSIER_STATUSES, status || '') ? status : '',
    sort: Object.hasOwn(L.DOSSIER_SORTS, sort || '') ? sort : 'SUBMITTED_DESC',
  };
}

function inboxUrl(f) {
  const p = new URLSearchParams();
  if (f.status) p.set('statut', f.status);
  if (f.sort !== 'SUBMITTED_DESC') p.set('tri', f.sort);
  const q = p.toString();
  return q ? `/instruction?${q}` : '/instruction';
}

function inboxItem(d, me) {
  const mine = me.funder ? d.reviews.find((r) => r.funder.slug === me.funder.slug) : null;
  const others = d.reviews.filter((r) => r !== mine);
  const open = d.informationRequests.filter((r) => r.answer == null).length;
  return h('li', { class: 'dossier-item card' },
    h('h2', { class: 'dossier-item-title' },
      h('a', { href: `/instruction/${encodeURIComponent(d.id)}` }, `${d.reference} — ${d.project ? d.project.title : 'Projet sans intitulé'}`)),
    h('p', { class: 'badges' }, dossierBadge(d), mine ? [' ', h('span', { class: 'muted' }, 'Votre instruction : '), reviewBadge(mine)] : null),
    h('p', null,
      d.holder ? `${d.holder.legalName}${d.holder.communeName ? `, ${d.holder.communeName}` : ''}` : '',
      d.budget && d.budget.totalCost ? ` · coût total ${F.formatEuros(d.budget.totalCost)}` : '',
      mine ? ` · demandé : ${F.formatEuros(mine.requestedAmount)}` : ''),
    h('p', { class: 'muted' },
      d.submittedAt ? `Déposé le ${F.formatLocalDate(d.submittedAt)}` : `Modifié le ${F.formatLocalDate(d.updatedAt)}`,
      open ? ` · ${open} ${plural(open, 'question en attente', 'questions en attente')}` : ''),
    others.length ? h('p', { class: 'cofunders' }, `${mine ? 'Autres financeurs' : 'Financeurs'} : `,
      others.map((r, i) => [i ? ' ; ' : '', `${r.funder.name} — ${decisionText(r) || r.statusLabel || L.label(L.REVIEW_STATUSES, r.status)}`])) : null);
}

export async function inboxPage({ query, signal, setUrl, loadMe }) {
  const title = 'Instruction des dossiers';
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded(title, 'Connectez-vous avec votre compte d’agent pour instruire les dossiers.');
  if (me.role === 'HOLDER') return forbidden(title, 'Cette page est réservée aux agents des financeurs et à l’équipe Guichet. Vos dossiers sont dans « Mes dossiers ».');

  let filter = readFilter(query);
  const statusSelect = h('select', { id: 'instruction-statut', name: 'statut' },
    h('option', { value: '' }, 'Tous les statuts'),
    FILTER_STATUSES.map((s) => h('option', { value: s }, L.DOSSIER_STATUSES[s])));
  const sortSelect = h('select', { id: 'instruction-tri', name: 'tri' },
    Object.entries(L.DOSSIER_SORTS).map(([value, text]) => h('option', { value }, text)));
  const apply = h('button', { type: 'submit', class: 'button' }, 'Afficher');
  const form = h('form', { class: 'inbox-filter', 'aria-label': 'Filtrer et trier les dossiers' },
    h('div', { class: 'field' }, h('label', { for: statusSelect.id }, 'Statut'), statusSelect),
    h('div', { class: 'field' }, h('label', { for: sortSelect.id }, 'Trier par'), sortSelect),
    h('p', { class: 'inbox-apply' }, apply));
  const count = h('h2', { id: 'instruction-resultats', class: 'results-total', tabindex: '-1' });
  const list = h('ul', { class: 'dossier-list' });
  const more = h('div');
  const results = h('div', { class: 'results-body' });
  let pageInfo = null;
  let controller = null;

  async function load({ focus = false } = {}) {
    if (controller) controller.abort();
    controller = new AbortController();
    const local = controller;
    signal.addEventListener('abort', () => local.abort(), { once: true });
    results.setAttribute('aria-busy', 'true');
    statusSelect.value = filter.status;
    sortSelect.value = filter.sort;
    try {
      const data = (await graphql(INBOX_QUERY, {
        first: PAGE_SIZE, status: filter.status ? [filter.status] : null, sort: filter.sort,
      }, { signal: local.signal })).dossiers;
      count.textContent = data.total === 0 ? 'Aucun dossier' : `${F.formatNumber(data.total)} ${plural(data.total, 'dossier', 'dossiers')}`;
      list.replaceChildren(...data.nodes.map((d) => inboxItem(d, me)));
      pageInfo = data.pageInfo;
      renderMore();
      results.replaceChildren(data.total === 0
        ? h('p', { class: 'empty' }, filter.status ? 'Aucun dossier n’a ce statut.' : 'Aucun dossier ne vous a encore été transmis.')
        : list, more);
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
        const data = (await graphql(INBOX_QUERY, {
          first: PAGE_SIZE, after: pageInfo.endCursor, status: filter.status ? [filter.status] : null, sort: filter.sort,
        }, { signal })).dossiers;
        const items = data.nodes.map((d) => inboxItem(d, me));
        list.append(...items);
        pageInfo = data.pageInfo;
        renderMore();
        if (items[0]) items[0].querySelector('a').focus();
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
    filter = { status: statusSelect.value, sort: sortSelect.value };
    setUrl(inboxUrl(filter), { push: true });
    load({ focus: true });
  });

  await load();
  return {
    title,
    update(params) {
      filter = readFilter(params);
      load();
    },
    content: [
      h('h1', null, title),
      h('p', { class: 'lead' }, me.funder
        ? `Les dossiers transmis à ${me.funder.name}. Chaque financeur instruit le même dossier : vous voyez les questions, les statuts et les décisions des autres financeurs.`
        : 'Tous les dossiers déposés sur Guichet et où en est chaque financeur.'),
      form,
      h('section', { class: 'section', 'aria-labelledby': count.id }, count, results),
    ],
  };
}
