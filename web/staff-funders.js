// Staff screens for funders: the list as networks (`/gestion/financeurs`: head funders and
// their services) and one funder (`/gestion/financeurs/{slug}`): its record, parent and
// jurisdiction, services, agents (invite, remove), aliases and the merge of a duplicate.

import { graphql, ApiError } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, fieldError, errorMessage } from './dom.js';
import { createCombobox } from './combobox.js';
import { textField, busy, formatDateTime, breadcrumb } from './dossier-ui.js';
import { staffGate, staffCrumb, confirmAction, showError, plural } from './staff-misc.js';

const FUNDERS = 'query StaffFunders { funders { slug name kind curated receives parent { slug } } }';
const FUNDER = `query StaffFunder($slug: String!) {
  funder(slug: $slug) {
    slug name kind contactEmail publicBody nameInSentence curated receives jurisdiction aliases schemeCount
    parent { slug name }
    services { slug name receives }
    agents { id email editor lastLoginAt }
  }
  funders { slug name parent { slug } }
  zonings { slug name }
}`;
const UPSERT = `mutation UpsertFunder($input: FunderInput!) {
  upsertFunder(input: $input) { slug name }
}`;
const INVITE = `mutation InviteAgent($funder: String!, $email: String!, $editor: Boolean) {
  inviteAgent(funder: $funder, email: $email, editor: $editor) { id email }
}`;
const REMOVE_AGENT = 'mutation RemoveAgent($id: ID!) { removeAgent(accountId: $id) { id email } }';
const SET_ALIAS = 'mutation SetFunderAlias($alias: String!, $funder: String!) { setFunderAlias(alias: $alias, funder: $funder) { alias } }';
const DELETE_ALIAS = 'mutation DeleteFunderAlias($alias: String!) { deleteFunderAlias(alias: $alias) }';
const MERGE = 'mutation MergeFunders($survivor: String!, $duplicate: String!) { mergeFunders(survivor: $survivor, duplicate: $duplicate) { slug } }';
const TERRITORY = 'query StaffTerritory($code: String!) { territory(code: $code) { code name kind } }';
const TERRITORIES = 'query StaffTerritories($query: String!) { territories(query: $query, first: 10) { code name kind } }';

const funderHref = (slug) => `/gestion/financeurs/${encodeURIComponent(slug)}`;
const byName = (a, b) => a.name.localeCompare(b.name, 'fr');

// ---------------------------------------------------------------------------------------
// The list

function receivesBadge(f) {
  return f.receives
    ? h('span', { class: 'badge badge-published' }, 'reçoit les dossiers')
    : h('span', { class: 'badge badge-unverified' }, 'ne reçoit pas de dossier');
}

function funderTree(nodes, children) {
  return h('ul', { class: 'funder-tree' }, nodes.sort(byName).map((f) => h('li', null,
    h('a', { href: funderHref(f.slug) }, f.name), ' ',
    h('span', { class: 'tag' }, L.label(L.FUNDER_KINDS, f.kind)), ' ',
    receivesBadge(f),
    f.curated ? [' ', h('span', { class: 'badge' }, 'vérifié')] : null,
    children.has(f.slug) ? funderTree(children.get(f.slug), children) : null)));
}

export async function staffFundersPage({ signal, loadMe }) {
  const title = 'Financeurs et réseaux';
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, title);
  if (gate) return gate;
  const { funders } = await graphql(FUNDERS, {}, { signal });
  const known = new Set(funders.map((f) => f.slug));
  const children = new Map();
  const heads = [];
  for (const f of funders) {
    const parent = f.parent && known.has(f.parent.slug) ? f.parent.slug : null;
    if (!parent) heads.push(f);
    else {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(f);
    }
  }
  return {
    title,
    content: [staffCrumb(title), h('h1', null, title),
      h('p', { class: 'lead' }, `${plural(funders.length, 'financeur', 'financeurs')}, dont ${plural(funders.length - heads.length, 'service local', 'services locaux')} rangés sous leur réseau. Un dossier va au service dont le territoire contient la commune du projet.`),
      funders.length ? funderTree(heads, children) : h('p', { class: 'empty' }, 'Aucun financeur n’est encore référencé. Importez un catalogue pour commencer.')],
  };
}

// ---------------------------------------------------------------------------------------
// One funder

/** The jurisdiction editor: territory codes (combobox) and zonings (select) as removable items. */
function jurisdictionEditor(initial, zonings, signal) {
  const items = [...initial];
  const names = new Map();
  const list = h('ul', { class: 'chosen-list', 'aria-live': 'polite' });
  const group = h('fieldset', { class: 'field', 'aria-describedby': 'juridiction-aide' },
    h('legend', null, 'Territoire de compétence'),
    h('p', { id: 'juridiction-aide', class: 'hint' }, 'Les communes, intercommunalités, départements ou régions que ce service couvre, et les zonages. Vide : tout le territoire du financeur.'));
  const error = fieldError('juridiction-erreur', group, { invalid: false });
  const zoningName = (slug) => (zonings.find((z) => `zoning:${z.slug}` === slug) || {}).name;
  const label = (item) => {
    if (item.startsWith('zoning:')) return `Zonage « ${zoningName(item) || item.slice(7)} »`;
    const t = names.get(item);
    return t ? `${t.name} (${L.label(L.TERRITORY_KINDS, t.kind)}, ${t.code})` : `Territoire ${item}`;
  };
  const render = () => {
    list.replaceChildren(...items.map((item) => h('li', null, label(item), ' ',
      h('button', {
        type: 'button', class: 'button button-secondary button-small', 'aria-label': `Retirer ${label(item)}`,
        onclick: () => {
          items.splice(items.indexOf(item), 1);
          render();
          announce(`${label(item)} retiré.`);
          combo.querySelector('input').focus();
        },
      }, 'Retirer'))));
    if (!items.length) list.append(h('li', { class: 'empty' }, 'Aucun territoire : tout le territoire du financeur.'));
  };
  const add = (code, t) => {
    if (t) names.set(code, t);
    if (!items.includes(code)) items.push(code);
    render();
  };
  const combo = createCombobox({
    label: 'Ajouter un territoire',
    hint: 'Nom ou code INSEE ; Entrée choisit la première proposition.',
    async search(query, s) {
      return (await graphql(TERRITORIES, { query }, { signal: s })).territories;
    },
    optionContent: (t) => `${t.name} — ${L.label(L.TERRITORY_KINDS, t.kind)} ${t.code}`,
    optionValue: () => '',
    onSelect: (t) => {
      add(t.code, t);
      announce(`${t.name} ajouté.`);
    },
    errorMessage,
  });
  const zoningSelect = h('select', { id: 'juridiction-zonage' },
    h('option', { value: '' }, '— Choisir un zonage —'),
    zonings.map((z) => h('option', { value: `zoning:${z.slug}` }, z.name)));
  const addZoning = h('button', {
    type: 'button', class: 'button button-secondary button-small',
    onclick: () => {
      if (!zoningSelect.value) return;
      add(zoningSelect.value);
      announce(`${label(zoningSelect.value)} ajouté.`);
    },
  }, 'Ajouter le zonage');
  group.append(list, combo,
    zonings.length ? h('div', { class: 'field' }, h('label', { for: 'juridiction-zonage' }, 'Ou un zonage'), zoningSelect, ' ', addZoning) : null,
    error.slot);
  render();
  // Names of the codes already there.
  Promise.all(items.filter((i) => !i.startsWith('zoning:')).map((code) =>
    graphql(TERRITORY, { code }, { signal }).then((d) => d.territory && names.set(code, d.territory), () => {})))
    .then(render, () => {});
  error.control = { focus: () => combo.querySelector('input').focus() };
  return { node: group, items, error };
}

function editForm(f, funders, zonings, signal, navigate) {
  const name = textField('financeur-nom', 'Nom', { required: true, attrs: { value: f.name, maxlength: '300' } });
  const article = textField('financeur-article', 'Nom avec son article', { hint: 'Tel qu’il se lit dans une phrase, par exemple « la Région Grand Est » ou « l’État ».', attrs: { value: f.nameInSentence || '' } });
  const kind = textField('financeur-categorie', 'Catégorie', {
    tag: 'select', required: true,
    children: Object.entries(L.FUNDER_KINDS).map(([v, label]) => h('option', { value: v, selected: v === f.kind }, label)),
  });
  const publicBox = h('input', { type: 'checkbox', id: 'financeur-public', checked: f.publicBody });
  const publicError = fieldError('financeur-public-erreur', publicBox);
  const publicField = h('div', { class: 'choice' }, publicBox, h('label', { for: 'financeur-public' }, 'Personne publique : ses aides sont de l’argent public'), publicError.slot);
  const contact = textField('financeur-contact', 'Adresse de contact', { type: 'email', hint: 'L’adresse publique où le financeur reçoit les dossiers, citée depuis sa page officielle.', attrs: { value: f.contactEmail || '', autocomplete: 'off', spellcheck: 'false' } });
  // A funder cannot hang under itself nor under one of its own services.
  const descendants = new Set([f.slug]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const x of funders) {
      if (x.parent && descendants.has(x.parent.slug) && !descendants.has(x.slug)) {
        descendants.add(x.slug);
        grew = true;
      }
    }
  }
  // A service keeps a parent: `upsertFunder` keeps the stored parent when none is given.
  const parent = textField('financeur-parent', 'Réseau (financeur parent)', {
    tag: 'select',
    hint: f.parent ? 'Le financeur dont ce service fait partie ; un service peut changer de réseau, pas redevenir un financeur de tête.' : 'Pour un service local : le financeur dont il fait partie.',
    children: [f.parent ? null : h('option', { value: '' }, '— Aucun : financeur de tête —'),
      ...funders.filter((x) => !descendants.has(x.slug)).sort(byName)
        .map((x) => h('option', { value: x.slug, selected: f.parent && f.parent.slug === x.slug }, x.name))],
  });
  const jurisdiction = jurisdictionEditor(f.jurisdiction, zonings, signal);
  const button = h('button', { type: 'submit', class: 'button' }, 'Enregistrer le financeur');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'financeur-fiche-titre' },
    name.node, article.node, kind.node, publicField, contact.node, parent.node, jurisdiction.node, h('p', null, button), status);
  const errors = {
    name: name.error, nameInSentence: article.error, kind: kind.error, publicBody: publicError,
    contactEmail: contact.error, parent: parent.error, jurisdiction: jurisdiction.error,
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    Object.values(errors).forEach((x) => x.clear());
    status.replaceChildren();
    if (!name.input.value.trim()) {
      name.error.show('Indiquez le nom du financeur.');
      name.input.focus();
      return;
    }
    const input = {
      slug: f.slug,
      name: name.input.value.trim(),
      kind: kind.input.value,
      contactEmail: contact.input.value.trim() || null,
      publicBody: publicBox.checked,
      nameInSentence: article.input.value.trim() || null,
      parent: parent.input.value || null,
      jurisdiction: [...jurisdiction.items],
    };
    const restore = busy(button, 'Enregistrement…');
    try {
      await graphql(UPSERT, { input });
      announce('Financeur enregistré.');
      navigate(funderHref(f.slug), { replace: true });
    } catch (err) {
      restore();
      showError(err, errors, status);
    }
  });
  return form;
}

function agentsSection(f, navigate) {
  const email = textField('agent-email', 'Adresse électronique de l’agent', { type: 'email', required: true, attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const editorBox = h('input', { type: 'checkbox', id: 'agent-editeur' });
  const editorError = fieldError('agent-editeur-erreur', editorBox);
  const button = h('button', { type: 'submit', class: 'button' }, 'Inviter l’agent');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'agent-inviter-titre' },
    h('h3', { id: 'agent-inviter-titre' }, 'Inviter un agent'),
    h('p', { class: 'hint' }, 'Le compte est créé avec le rôle d’agent de ce financeur ; il reçoit un lien de connexion et, en un seul message, les dossiers qui attendent déjà ce service.'),
    email.node,
    h('div', { class: 'choice' }, editorBox, h('label', { for: 'agent-editeur' }, 'Éditeur du catalogue : peut rédiger les dispositifs de ce financeur et demander leur publication'), editorError.slot),
    h('p', null, button), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    email.error.clear();
    editorError.clear();
    status.replaceChildren();
    const value = email.input.value.trim();
    if (!value) {
      email.error.show('Indiquez l’adresse électronique de l’agent.');
      email.input.focus();
      return;
    }
    const restore = busy(button, 'Invitation…');
    try {
      const { inviteAgent } = await graphql(INVITE, { funder: f.slug, email: value, editor: editorBox.checked });
      announce(`${inviteAgent.email} invité.`);
      navigate(funderHref(f.slug), { replace: true });
    } catch (err) {
      restore();
      showError(err, { email: email.error, editor: editorError }, status);
    }
  });
  return h('section', { class: 'section', 'aria-labelledby': 'agents-titre' },
    h('h2', { id: 'agents-titre' }, 'Agents'),
    f.agents.length
      ? h('ul', { class: 'card-list' }, f.agents.map((a) => h('li', { class: 'card' },
        h('p', null, h('strong', null, a.email), a.editor ? ' — éditeur du catalogue' : '',
          h('br'), h('span', { class: 'muted' }, a.lastLoginAt ? `Dernière connexion le ${formatDateTime(a.lastLoginAt)}` : 'Jamais connecté')),
        confirmAction({
          label: 'Retirer',
          ariaLabel: `Retirer l’agent ${a.email}`,
          question: () => `Retirer ${a.email} des agents de ${f.name}\u00a0? Le compte redevient un compte de porteur de projet et ses sessions sont fermées.`,
          confirmLabel: 'Retirer l’agent',
          run: async () => {
            await graphql(REMOVE_AGENT, { id: a.id });
            announce(`${a.email} retiré.`);
            navigate(funderHref(f.slug), { replace: true });
          },
        }))))
      : h('p', { class: 'empty' }, 'Aucun agent : les dossiers vont à l’adresse de contact, s’il y en a une.'),
    form);
}

function aliasesSection(f, navigate) {
  const alias = textField('synonyme-financeur', 'Autre nom', { required: true, hint: 'Un nom sous lequel les fichiers importés désignent ce financeur, par exemple « Conseil régional du Grand Est ».', attrs: { autocomplete: 'off' } });
  const button = h('button', { type: 'submit', class: 'button' }, 'Ajouter le nom');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Ajouter un autre nom' }, alias.node, h('p', null, button), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    alias.error.clear();
    status.replaceChildren();
    const value = alias.input.value.trim();
    if (!value) {
      alias.error.show('Indiquez le nom à ajouter.');
      alias.input.focus();
      return;
    }
    const restore = busy(button, 'Ajout…');
    try {
      await graphql(SET_ALIAS, { alias: value, funder: f.slug });
      announce(`Nom « ${value} » ajouté.`);
      navigate(funderHref(f.slug), { replace: true });
    } catch (err) {
      restore();
      showError(err, { alias: alias.error }, status);
    }
  });
  return h('section', { class: 'section', 'aria-labelledby': 'noms-titre' },
    h('h2', { id: 'noms-titre' }, 'Autres noms'),
    h('p', null, 'Un import qui nomme ce financeur ainsi le reconnaît au lieu d’en créer un autre.'),
    f.aliases.length
      ? h('ul', { class: 'card-list' }, f.aliases.map((a) => h('li', { class: 'card' }, h('p', null, a),
        confirmAction({
          label: 'Retirer',
          ariaLabel: `Retirer le nom « ${a} »`,
          question: () => `Retirer le nom « ${a} »\u00a0? Un prochain import qui l’emploie pourrait créer un autre financeur.`,
          confirmLabel: 'Retirer le nom',
          run: async () => {
            await graphql(DELETE_ALIAS, { alias: a });
            announce(`Nom « ${a} » retiré.`);
            navigate(funderHref(f.slug), { replace: true });
          },
        }))))
      : h('p', { class: 'empty' }, 'Aucun autre nom.'),
    form);
}

function mergeSection(f, funders, navigate) {
  const others = funders.filter((x) => x.slug !== f.slug).sort(byName);
  const duplicate = textField('fusion-doublon', 'Doublon à fusionner dans ce financeur', {
    tag: 'select', required: true,
    children: [h('option', { value: '' }, '— Choisir le doublon —'), ...others.map((x) => h('option', { value: x.slug }, x.name))],
  });
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const nameOf = (slug) => (others.find((x) => x.slug === slug) || {}).name || slug;
  const action = confirmAction({
    label: 'Fusionner…',
    question: () => (duplicate.input.value
      ? `Fusionner « ${nameOf(duplicate.input.value)} » dans « ${f.name} »\u00a0? Ses dispositifs, avis sur les dossiers, agents, services et autres noms passeront à « ${f.name} » ; « ${nameOf(duplicate.input.value)} » disparaîtra et son nom deviendra un autre nom de « ${f.name} ». Cette fusion ne se défait pas.`
      : 'Choisissez d’abord le doublon dans la liste.'),
    confirmLabel: 'Fusionner',
    run: async () => {
      duplicate.error.clear();
      if (!duplicate.input.value) {
        const message = 'Choisissez le doublon à fusionner.';
        duplicate.error.show(message);
        throw new ApiError(message, { code: 'VALIDATION', field: 'duplicate' });
      }
      const gone = nameOf(duplicate.input.value);
      try {
        await graphql(MERGE, { survivor: f.slug, duplicate: duplicate.input.value });
      } catch (err) {
        if (err.code === 'VALIDATION' && err.field === 'duplicate') duplicate.error.show(err.message);
        throw err;
      }
      announce(`« ${gone} » fusionné dans « ${f.name} ».`);
      navigate(funderHref(f.slug), { replace: true });
    },
  });
  return h('section', { class: 'section', 'aria-labelledby': 'fusion-titre' },
    h('h2', { id: 'fusion-titre' }, 'Fusionner un doublon'),
    h('p', null, 'Quand un import a créé ce financeur deux fois, choisissez le doublon : tout ce qu’il porte passe à celui-ci.'),
    others.length ? [duplicate.node, action, status] : h('p', { class: 'empty' }, 'Aucun autre financeur.'));
}

export async function staffFunderPage({ params, signal, loadMe, navigate }) {
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, 'Financeur');
  if (gate) return gate;
  const data = await graphql(FUNDER, { slug: params[0] }, { signal }).catch((err) => {
    if (err && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION')) return { funder: null };
    throw err;
  });
  const f = data.funder;
  if (!f) {
    return {
      title: 'Financeur introuvable',
      content: [h('h1', null, 'Financeur introuvable'), h('p', null, 'Ce financeur n’existe pas ou a été fusionné dans un autre. '),
        h('p', null, h('a', { href: '/gestion/financeurs' }, 'Retour aux financeurs'))],
    };
  }
  return {
    title: f.name,
    content: [
      breadcrumb(['Accueil', '/'], ['Gestion', '/gestion'], ['Financeurs', '/gestion/financeurs'], [f.name]),
      h('h1', null, f.name),
      h('p', { class: 'badges' }, h('span', { class: 'tag' }, L.label(L.FUNDER_KINDS, f.kind)), ' ',
        f.receives ? h('span', { class: 'badge badge-published' }, 'reçoit les dossiers') : h('span', { class: 'badge badge-unverified' }, 'ne reçoit pas de dossier'),
        f.curated ? [' ', h('span', { class: 'badge' }, 'vérifié par l’équipe : les imports ne le modifient pas')] : null),
      f.receives ? null : h('p', { class: 'alert alert-warning' }, 'Ni ce financeur ni son réseau n’a d’agent ou d’adresse de contact : ses dispositifs renvoient les porteurs vers sa page de candidature.'),
      h('p', null, h('a', { href: `/financeurs/${encodeURIComponent(f.slug)}` }, 'Voir la page publique'), ` · ${F.countSchemes(f.schemeCount)} publié${f.schemeCount > 1 ? 's' : ''}`),
      h('section', { class: 'section', 'aria-labelledby': 'financeur-fiche-titre' },
        h('h2', { id: 'financeur-fiche-titre' }, 'Fiche'),
        editForm(f, data.funders, data.zonings, signal, navigate)),
      h('section', { class: 'section', 'aria-labelledby': 'services-titre' },
        h('h2', { id: 'services-titre' }, 'Services locaux'),
        f.parent ? h('p', null, 'Fait partie de ', h('a', { href: funderHref(f.parent.slug) }, f.parent.name), '.') : null,
        f.services.length
          ? h('ul', null, f.services.slice().sort(byName).map((s) => h('li', null, h('a', { href: funderHref(s.slug) }, s.name),
            s.receives ? '' : ' (ne reçoit pas de dossier)')))
          : h('p', { class: 'empty' }, 'Aucun service local : les dossiers vont au financeur lui-même.')),
      agentsSection(f, navigate),
      aliasesSection(f, navigate),
      mergeSection(f, data.funders, navigate),
    ],
  };
}
