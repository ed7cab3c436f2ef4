// Staff screens: accounts (`/gestion/comptes`), synonyms (`/gestion/synonymes`), zonings
// (`/gestion/zonages`) and catalogue imports (`/gestion/imports`). Every rule is enforced by the
// server; these pages only hide what the role may not do and show its French refusals.

import { graphql } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, actionError, fieldError } from './dom.js';
import { loginNeeded, forbidden, textField, busy, formatDateTime, breadcrumb, graphqlUpload } from './dossier-ui.js';

export const isStaff = (me) => !!me && (me.role === 'STAFF' || me.role === 'ADMIN');

/** The page for someone who is not staff, or null when `me` is staff. */
export function staffGate(me, title) {
  if (!me) return loginNeeded(title, 'Cette page est réservée à l’équipe Guichet. Connectez-vous avec votre compte.');
  if (!isStaff(me)) return forbidden(title, 'Cette page est réservée à l’équipe Guichet.');
  return null;
}

export const staffCrumb = (title) => breadcrumb(['Accueil', '/'], ['Gestion', '/gestion'], [title]);

export const plural = (n, one, many) => `${F.formatNumber(n)}\u00a0${n > 1 ? many : one}`;

/**
 * A destructive action behind a confirmation: `button` opens a box saying `question()` with
 * « confirm » and « Annuler »; confirming runs `run()`, whose errors land in the box.
 */
export function confirmAction({ label, ariaLabel, question, confirmLabel, run }) {
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const wrapper = h('div', { class: 'confirm-action' });
  const open = h('button', { type: 'button', class: 'button button-secondary button-small', 'aria-label': ariaLabel || null }, label);
  wrapper.append(open, status);
  open.addEventListener('click', () => {
    status.replaceChildren();
    const yes = h('button', { type: 'button', class: 'button button-small button-danger' }, confirmLabel);
    const no = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Annuler');
    const text = h('p', { tabindex: '-1' }, question());
    const box = h('div', { class: 'confirm-box', role: 'group', 'aria-label': 'Confirmation' }, text, h('p', { class: 'actions' }, yes, ' ', no));
    open.hidden = true;
    wrapper.insertBefore(box, status);
    text.focus();
    no.addEventListener('click', () => {
      box.remove();
      open.hidden = false;
      open.focus();
    });
    yes.addEventListener('click', async () => {
      if (yes.getAttribute('aria-disabled') === 'true') return;
      const restore = busy(yes, 'En cours…');
      try {
        await run();
      } catch (err) {
        restore();
        status.replaceChildren(actionError(err));
      }
    });
  });
  return wrapper;
}

/** Shows a server error on the field it names (`fields` maps names to fieldError), else in `status`. */
export function showError(err, fields, status) {
  const field = err && err.code === 'VALIDATION' ? String(err.field || '').replace(/^input\./, '').split('.')[0] : '';
  const target = fields[field];
  if (target) {
    target.show(err.message);
    if (target.control && target.control.focus) target.control.focus();
    announce(err.message);
  } else {
    status.replaceChildren(actionError(err));
  }
}

// ---------------------------------------------------------------------------------------
// Accounts

const ACCOUNTS = `query StaffAccounts($q: String, $role: Role, $first: Int, $after: String) {
  accounts(query: $q, role: $role, first: $first, after: $after) {
    total
    nodes { id email role editor createdAt lastLoginAt funder { slug name } }
    pageInfo { endCursor hasNextPage }
  }
}`;
const FUNDER_NAMES = 'query StaffFunderNames { funders { slug name } }';
const SET_ROLE = `mutation SetAccountRole($id: ID!, $role: Role!, $funder: String, $editor: Boolean) {
  setAccountRole(id: $id, role: $role, funder: $funder, editor: $editor) { id email role editor createdAt lastLoginAt funder { slug name } }
}`;
const REVOKE = 'mutation RevokeAccountAccess($id: ID!) { revokeAccountAccess(id: $id) }';

const ROLE_ORDER = ['HOLDER', 'FUNDER', 'STAFF', 'ADMIN'];

function roleForm(account, me, funders, onDone) {
  const p = `compte-${account.id}`;
  const mayPrivileged = me.role === 'ADMIN';
  const roles = ROLE_ORDER.filter((r) => mayPrivileged || r === 'HOLDER' || r === 'FUNDER' || r === account.role);
  const role = textField(`${p}-role`, 'Rôle', {
    tag: 'select', required: true,
    children: roles.map((r) => h('option', { value: r, selected: r === account.role }, L.label(L.ROLES, r))),
  });
  const funder = textField(`${p}-financeur`, 'Financeur', {
    tag: 'select', required: true,
    children: [h('option', { value: '' }, '— Choisir un financeur —'),
      ...funders.map((f) => h('option', { value: f.slug, selected: account.funder && account.funder.slug === f.slug }, f.name))],
  });
  const editorBox = h('input', { type: 'checkbox', id: `${p}-editeur`, checked: account.editor });
  const editorError = fieldError(`${p}-editeur-erreur`, editorBox);
  const editorField = h('div', { class: 'choice' }, editorBox,
    h('label', { for: `${p}-editeur` }, 'Éditeur du catalogue : peut rédiger les dispositifs de son financeur'), editorError.slot);
  const funderPart = h('div', null, funder.node, editorField);
  const sync = () => { funderPart.hidden = role.input.value !== 'FUNDER'; };
  role.input.addEventListener('change', sync);
  sync();
  const button = h('button', { type: 'submit', class: 'button button-small' }, 'Enregistrer le rôle');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form form-inline', novalidate: true, 'aria-label': `Rôle de ${account.email}` },
    role.node, funderPart, h('p', null, button), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    for (const x of [role.error, funder.error, editorError]) x.clear();
    status.replaceChildren();
    const vars = { id: account.id, role: role.input.value };
    if (vars.role === 'FUNDER') {
      if (!funder.input.value) {
        funder.error.show('Choisissez le financeur dont ce compte est l’agent.');
        funder.input.focus();
        return;
      }
      vars.funder = funder.input.value;
      vars.editor = editorBox.checked;
    }
    const restore = busy(button, 'Enregistrement…');
    try {
      const { setAccountRole } = await graphql(SET_ROLE, vars);
      announce(`Rôle de ${setAccountRole.email} : ${L.label(L.ROLES, setAccountRole.role)}.`);
      onDone(setAccountRole);
    } catch (err) {
      restore();
      showError(err, { role: role.error, funder: funder.error, editor: editorError }, status);
    }
  });
  return form;
}

function accountRow(account, me, funders) {
  const row = h('li', { class: 'card account-card' });
  const render = (a) => {
    const self = a.id === me.id;
    const revokeResult = h('div', { role: 'status', class: 'status-slot' });
    row.replaceChildren(
      h('h3', null, a.email),
      h('dl', { class: 'facts' },
        h('div', { class: 'fact' }, h('dt', null, 'Rôle'), h('dd', null, L.label(L.ROLES, a.role),
          a.role === 'FUNDER' && a.editor ? ' — éditeur du catalogue' : '')),
        a.funder ? h('div', { class: 'fact' }, h('dt', null, 'Financeur'),
          h('dd', null, h('a', { href: `/gestion/financeurs/${encodeURIComponent(a.funder.slug)}` }, a.funder.name))) : null,
        h('div', { class: 'fact' }, h('dt', null, 'Créé le'), h('dd', null, formatDateTime(a.createdAt))),
        h('div', { class: 'fact' }, h('dt', null, 'Dernière connexion'), h('dd', null, a.lastLoginAt ? formatDateTime(a.lastLoginAt) : 'jamais'))),
      self ? h('p', { class: 'hint' }, 'C’est votre compte : un autre membre de l’équipe peut changer votre rôle.')
        : h('details', null, h('summary', null, 'Changer le rôle'), roleForm(a, me, funders, render)),
      self ? null : confirmAction({
        label: 'Révoquer les accès',
        ariaLabel: `Révoquer les accès de ${a.email}`,
        question: () => `Révoquer toutes les sessions et tous les jetons d’API de ${a.email}\u00a0? Le compte sera déconnecté de tous ses appareils ; il pourra se reconnecter avec un nouveau lien.`,
        confirmLabel: 'Révoquer',
        run: async () => {
          const { revokeAccountAccess: n } = await graphql(REVOKE, { id: a.id });
          const text = n === 0 ? `${a.email} n’avait aucune session ni jeton actif.` : `${plural(n, 'session ou jeton révoqué', 'sessions et jetons révoqués')} pour ${a.email}.`;
          render(a);
          row.querySelector('[role="status"]').replaceChildren(h('p', { class: 'alert alert-success' }, text));
          announce(text);
        },
      }),
      revokeResult);
  };
  render(account);
  return row;
}

export async function accountsPage({ signal, query, setUrl, loadMe }) {
  const title = 'Comptes';
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, title);
  if (gate) return gate;
  const funders = (await graphql(FUNDER_NAMES, {}, { signal })).funders.slice().sort((a, b) => a.name.localeCompare(b.name, 'fr'));

  const q = textField('comptes-recherche', 'Adresse électronique', { hint: 'Tout ou partie de l’adresse, par exemple « mairie » ou « @grandest.fr ».', attrs: { type: 'search', value: query.get('q') || '', autocomplete: 'off', spellcheck: 'false' } });
  const roleFilter = textField('comptes-role', 'Rôle', {
    tag: 'select',
    children: [h('option', { value: '' }, 'Tous les rôles'), ...ROLE_ORDER.map((r) => h('option', { value: r, selected: query.get('role') === r }, L.label(L.ROLES, r)))],
  });
  const results = h('div', { class: 'async-block', tabindex: '-1' });
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const form = h('form', { class: 'form filters', role: 'search', 'aria-label': 'Chercher un compte' },
    q.node, roleFilter.node, h('p', null, h('button', { type: 'submit', class: 'button' }, 'Chercher')));

  async function load() {
    const vars = { q: q.input.value.trim() || null, role: roleFilter.input.value || null, first: 20 };
    status.replaceChildren();
    results.setAttribute('aria-busy', 'true');
    try {
      const list = h('ul', { class: 'card-list' });
      const count = h('p', { role: 'status' });
      const more = h('p');
      const page = async (after) => {
        const { accounts } = await graphql(ACCOUNTS, { ...vars, after }, { signal });
        count.textContent = accounts.total === 0 ? 'Aucun compte ne correspond à cette recherche.' : `${plural(accounts.total, 'compte trouvé', 'comptes trouvés')}.`;
        list.append(...accounts.nodes.map((a) => accountRow(a, me, funders)));
        more.replaceChildren(accounts.pageInfo.hasNextPage
          ? h('button', { type: 'button', class: 'button button-secondary', onclick: () => page(accounts.pageInfo.endCursor).catch((err) => status.replaceChildren(actionError(err))) }, 'Afficher plus de comptes')
          : '');
      };
      await page(null);
      results.replaceChildren(count, list, more);
    } catch (err) {
      results.replaceChildren();
      status.replaceChildren(actionError(err));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    if (q.input.value.trim()) params.set('q', q.input.value.trim());
    if (roleFilter.input.value) params.set('role', roleFilter.input.value);
    setUrl(`/gestion/comptes${params.toString() ? `?${params}` : ''}`);
    load().then(() => results.focus());
  });
  await load();
  return {
    title,
    content: [staffCrumb(title), h('h1', null, title),
      h('p', { class: 'lead' }, 'Retrouvez un compte, changez son rôle ou révoquez ses accès. Seul un administrateur nomme ou retire l’équipe Guichet et les administrateurs.'),
      form, status, results],
  };
}

// ---------------------------------------------------------------------------------------
// Synonyms

const SYNONYMS = 'query StaffSynonyms { synonyms { term synonyms } }';
const SET_SYNONYMS = 'mutation SetSynonyms($term: String!, $synonyms: [String!]!) { setSynonyms(term: $term, synonyms: $synonyms) { term synonyms } }';
const DELETE_SYNONYMS = 'mutation DeleteSynonyms($term: String!) { deleteSynonyms(term: $term) }';

export async function synonymsPage({ signal, loadMe }) {
  const title = 'Synonymes de la recherche';
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, title);
  if (gate) return gate;
  let groups = (await graphql(SYNONYMS, {}, { signal })).synonyms;

  const listBox = h('div');
  const term = textField('synonyme-terme', 'Terme', { required: true, hint: 'Le mot cherché, par exemple « école ».', attrs: { autocomplete: 'off', maxlength: '100' } });
  const syns = textField('synonyme-liste', 'Synonymes', { required: true, tag: 'textarea', hint: 'Séparés par des virgules, par exemple « groupe scolaire, établissement scolaire ».', attrs: { rows: '3' } });
  const button = h('button', { type: 'submit', class: 'button' }, 'Enregistrer le groupe');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const formTitle = h('h2', { id: 'synonyme-form-titre', tabindex: '-1' }, 'Ajouter ou modifier un groupe');
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'synonyme-form-titre' }, term.node, syns.node, h('p', null, button), status);

  const renderList = () => {
    if (!groups.length) {
      listBox.replaceChildren(h('p', { class: 'empty' }, 'Aucun groupe de synonymes : la recherche ne connaît que les mots tels qu’ils sont écrits.'));
      return;
    }
    listBox.replaceChildren(h('ul', { class: 'card-list' }, groups.map((g) => h('li', { class: 'card' },
      h('h3', null, g.term),
      h('p', null, g.synonyms.join(', ')),
      h('p', { class: 'actions' }, h('button', {
        type: 'button', class: 'button button-secondary button-small', 'aria-label': `Modifier le groupe « ${g.term} »`,
        onclick: () => {
          term.input.value = g.term;
          syns.input.value = g.synonyms.join(', ');
          formTitle.focus();
        },
      }, 'Modifier')),
      confirmAction({
        label: 'Supprimer',
        ariaLabel: `Supprimer le groupe « ${g.term} »`,
        question: () => `Supprimer le groupe « ${g.term} »\u00a0? La recherche ne rapprochera plus ces mots.`,
        confirmLabel: 'Supprimer le groupe',
        run: async () => {
          await graphql(DELETE_SYNONYMS, { term: g.term });
          groups = groups.filter((x) => x.term !== g.term);
          renderList();
          announce(`Groupe « ${g.term} » supprimé.`);
          formTitle.focus();
        },
      })))));
  };
  renderList();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    term.error.clear();
    syns.error.clear();
    status.replaceChildren();
    const t = term.input.value.trim();
    const list = syns.input.value.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);
    if (!t) {
      term.error.show('Indiquez le terme.');
      term.input.focus();
      return;
    }
    if (!list.length) {
      syns.error.show('Indiquez au moins un synonyme.');
      syns.input.focus();
      return;
    }
    const restore = busy(button, 'Enregistrement…');
    try {
      const { setSynonyms } = await graphql(SET_SYNONYMS, { term: t, synonyms: list });
      groups = [...groups.filter((g) => g.term !== setSynonyms.term), setSynonyms].sort((a, b) => a.term.localeCompare(b.term, 'fr'));
      renderList();
      term.input.value = '';
      syns.input.value = '';
      status.replaceChildren(h('p', { class: 'alert alert-success' }, `Groupe « ${setSynonyms.term} » enregistré : la recherche l’utilise dès maintenant.`));
    } catch (err) {
      showError(err, { term: term.error, synonyms: syns.error }, status);
    } finally {
      restore();
    }
  });

  return {
    title,
    content: [staffCrumb(title), h('h1', null, title),
      h('p', { class: 'lead' }, 'Un groupe rapproche un terme de ses synonymes : chercher l’un trouve les dispositifs qui emploient l’autre.'),
      h('section', { class: 'section', 'aria-labelledby': 'synonymes-liste-titre' }, h('h2', { id: 'synonymes-liste-titre' }, 'Groupes'), listBox),
      h('section', { class: 'section', 'aria-labelledby': 'synonyme-form-titre' }, formTitle, form)],
  };
}

// ---------------------------------------------------------------------------------------
// Zonings

const ZONINGS = 'query StaffZonings { zonings { slug name source asOf communeCount } }';
const IMPORT_ZONING = `mutation ImportZoning($slug: String!, $name: String!, $source: String!, $asOf: Date!, $file: Upload!) {
  importZoning(slug: $slug, name: $name, source: $source, asOf: $asOf, file: $file) {
    zoning { slug name source asOf communeCount } replaced unknown { record message }
  }
}`;

function lineList(lines) {
  return h('ul', null, lines.map((l) => h('li', null, h('strong', null, l.record), ` : ${l.message}`)));
}

export async function zoningsPage({ signal, loadMe }) {
  const title = 'Zonages';
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, title);
  if (gate) return gate;
  let zonings = (await graphql(ZONINGS, {}, { signal })).zonings;
  const table = h('div');
  const renderTable = () => {
    table.replaceChildren(zonings.length
      ? h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden' }, 'Zonages chargés'),
        h('thead', null, h('tr', null, ['Nom', 'Identifiant', 'Source', 'Liste du', 'Communes'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, zonings.map((z) => {
          const source = F.safeUrl(z.source);
          return h('tr', null,
            h('th', { scope: 'row' }, z.name),
            h('td', null, h('code', null, z.slug)),
            h('td', null, source ? h('a', { href: source }, 'Liste publique') : z.source),
            h('td', null, F.formatDate(z.asOf)),
            h('td', null, z.communeCount ? F.formatNumber(z.communeCount) : 'non chargée'));
        })))
      : h('p', { class: 'empty' }, 'Aucun zonage. Chargez une liste de communes ci-dessous.'));
  };
  renderTable();

  const slug = textField('zonage-slug', 'Identifiant', { required: true, hint: 'En minuscules et tirets, par exemple « zrr » ; un identifiant existant remplace sa liste.', attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const name = textField('zonage-nom', 'Nom', { required: true, hint: 'Par exemple « Zones de revitalisation rurale ».' });
  const source = textField('zonage-source', 'Source', { required: true, type: 'url', hint: 'Adresse de la liste publique, par exemple l’arrêté ou la page de l’ANCT.' });
  const asOf = textField('zonage-date', 'Date de la liste', { required: true, type: 'date' });
  const file = textField('zonage-fichier', 'Fichier des communes', { required: true, type: 'file', hint: 'Un code INSEE de commune par ligne (CSV ou texte) ; une ligne d’en-tête est permise.', attrs: { accept: '.csv,.txt,text/csv,text/plain' } });
  const button = h('button', { type: 'submit', class: 'button' }, 'Charger la liste');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const report = h('div', { tabindex: '-1' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'zonage-form-titre' },
    slug.node, name.node, source.node, asOf.node, file.node, h('p', null, button), status);
  const errors = { slug: slug.error, name: name.error, source: source.error, asOf: asOf.error, file: file.error };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    Object.values(errors).forEach((x) => x.clear());
    status.replaceChildren();
    report.replaceChildren();
    const vars = { slug: slug.input.value.trim(), name: name.input.value.trim(), source: source.input.value.trim(), asOf: asOf.input.value };
    const chosen = file.input.files && file.input.files[0];
    const missing = [];
    if (!vars.slug) missing.push([slug, 'Indiquez l’identifiant du zonage.']);
    if (!vars.name) missing.push([name, 'Indiquez le nom du zonage.']);
    if (!vars.source) missing.push([source, 'Indiquez l’adresse de la liste publique.']);
    if (!vars.asOf) missing.push([asOf, 'Indiquez la date de la liste : jour, mois et année.']);
    if (!chosen) missing.push([file, 'Choisissez le fichier des communes.']);
    if (missing.length) {
      missing.forEach(([f, m]) => f.error.show(m));
      missing[0][0].input.focus();
      announce(missing.map(([, m]) => m).join(' '));
      return;
    }
    const restore = busy(button, 'Chargement…');
    try {
      const { importZoning: r } = await graphqlUpload(IMPORT_ZONING, vars, 'file', chosen);
      zonings = [...zonings.filter((z) => z.slug !== r.zoning.slug), r.zoning].sort((a, b) => a.slug.localeCompare(b.slug));
      renderTable();
      const done = `${r.replaced ? 'Liste remplacée' : 'Zonage créé'} : « ${r.zoning.name} », ${plural(r.zoning.communeCount, 'commune', 'communes')}.`;
      report.replaceChildren(
        h('div', { class: 'alert alert-success' }, h('p', null, done)),
        r.unknown.length
          ? h('div', { class: 'alert alert-warning' }, h('p', null, `${plural(r.unknown.length, 'ligne n’a pas été reconnue', 'lignes n’ont pas été reconnues')} :`), lineList(r.unknown))
          : h('p', null, 'Tous les codes du fichier ont été reconnus.'));
      report.focus();
      announce(done);
    } catch (err) {
      showError(err, errors, status);
    } finally {
      restore();
    }
  });

  return {
    title,
    content: [staffCrumb(title), h('h1', null, title),
      h('p', { class: 'lead' }, 'Un zonage est une liste datée et sourcée de communes (ZRR, QPV, Petites villes de demain…) que le périmètre d’un dispositif peut nommer.'),
      h('section', { class: 'section', 'aria-labelledby': 'zonages-liste-titre' }, h('h2', { id: 'zonages-liste-titre' }, 'Zonages chargés'), table),
      h('section', { class: 'section', 'aria-labelledby': 'zonage-form-titre' },
        h('h2', { id: 'zonage-form-titre' }, 'Créer ou remplacer un zonage'), form, report)],
  };
}

// ---------------------------------------------------------------------------------------
// Imports

const IMPORT = `mutation ImportSchemes($file: Upload!, $format: ImportFormat!, $publish: Boolean, $dryRun: Boolean) {
  importSchemes(file: $file, format: $format, publish: $publish, dryRun: $dryRun) {
    dryRun created updated unchanged
    drafts { record message } skipped { record message } warnings { record message }
    funders { name funder how }
    text
  }
}`;

const IMPORT_FORMATS = {
  AIDES_TERRITOIRES_CSV: 'Aides-territoires, export CSV',
  AIDES_TERRITOIRES: 'Aides-territoires, JSON de l’API',
  GUICHET: 'Guichet, JSON (export du catalogue)',
};

function importReport(r) {
  const section = (id, heading, items, render, empty) => h('section', { class: 'report-part', 'aria-labelledby': id },
    h('h3', { id }, `${heading} (${F.formatNumber(items.length)})`),
    items.length ? render(items) : h('p', { class: 'empty' }, empty));
  const slugs = (items) => h('ul', null, items.map((s) => h('li', null, s)));
  const p = r.dryRun ? 'simulation' : 'import';
  return [
    h('h2', { id: `${p}-titre`, tabindex: '-1' }, r.dryRun ? 'Simulation : rien n’a encore été enregistré' : 'Import appliqué'),
    h('p', { class: r.dryRun ? 'alert alert-info' : 'alert alert-success' }, r.dryRun
      ? `Voici ce que l’import ferait : ${plural(r.created.length, 'dispositif créé', 'dispositifs créés')}, ${plural(r.updated.length, 'mis à jour', 'mis à jour')}, ${plural(r.drafts.length, 'brouillon', 'brouillons')}, ${plural(r.skipped.length, 'ligne ignorée', 'lignes ignorées')}.`
      : `Import enregistré : ${plural(r.created.length, 'dispositif créé', 'dispositifs créés')}, ${plural(r.updated.length, 'mis à jour', 'mis à jour')}, ${plural(r.drafts.length, 'brouillon', 'brouillons')}, ${plural(r.skipped.length, 'ligne ignorée', 'lignes ignorées')}.`),
    section(`${p}-crees`, 'Créés', r.created, slugs, 'Aucun dispositif créé.'),
    section(`${p}-maj`, 'Mis à jour', r.updated, slugs, 'Aucun dispositif mis à jour.'),
    section(`${p}-inchanges`, 'Inchangés', r.unchanged, slugs, 'Aucun dispositif inchangé.'),
    section(`${p}-brouillons`, 'En brouillon, avec la raison', r.drafts, lineList, 'Aucun dispositif mis en brouillon.'),
    section(`${p}-ignores`, 'Ignorés', r.skipped, lineList, 'Aucune ligne ignorée.'),
    section(`${p}-avertissements`, 'Avertissements', r.warnings, lineList, 'Aucun avertissement.'),
    section(`${p}-financeurs`, 'Financeurs reconnus', r.funders, (items) => h('ul', null, items.map((m) => h('li', null,
      h('strong', null, m.name), ' → ',
      m.funder ? h('a', { href: `/gestion/financeurs/${encodeURIComponent(m.funder)}` }, m.funder) : 'nouveau financeur',
      ` (${m.how})`))), 'Aucun financeur dans ce fichier.'),
  ];
}

export async function importsPage({ loadMe }) {
  const title = 'Import de dispositifs';
  const me = await loadMe().catch(() => null);
  const gate = staffGate(me, title);
  if (gate) return gate;
  const file = textField('import-fichier', 'Fichier', { required: true, type: 'file', attrs: { accept: '.csv,.json,text/csv,application/json' } });
  const format = textField('import-format', 'Format', {
    tag: 'select', required: true,
    children: Object.entries(IMPORT_FORMATS).map(([v, label]) => h('option', { value: v }, label)),
  });
  const publishBox = h('input', { type: 'checkbox', id: 'import-publier' });
  const publish = h('div', { class: 'choice' }, publishBox,
    h('label', { for: 'import-publier' }, 'Publier les dispositifs créés dont le périmètre et le financeur sont reconnus'));
  const button = h('button', { type: 'submit', class: 'button' }, 'Simuler l’import');
  const status = h('div', { class: 'status-slot', role: 'alert' });
  const dryReport = h('div', { class: 'section' });
  const finalReport = h('div', { class: 'section' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'import-form-titre' },
    file.node, format.node, publish, h('p', { class: 'hint' }, 'La simulation n’enregistre rien : elle montre ce que l’import ferait. Vous l’appliquez ensuite.'),
    h('p', null, button), status);
  const errors = { file: file.error, format: format.error };

  let simulated = null;
  const run = async (dryRun) => {
    const vars = { format: format.input.value, publish: publishBox.checked, dryRun };
    const { importSchemes } = await graphqlUpload(IMPORT, vars, 'file', simulated.file);
    return importSchemes;
  };
  const invalidate = () => {
    simulated = null;
    dryReport.replaceChildren();
  };
  file.input.addEventListener('change', invalidate);
  format.input.addEventListener('change', invalidate);
  publishBox.addEventListener('change', invalidate);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.getAttribute('aria-disabled') === 'true') return;
    file.error.clear();
    format.error.clear();
    status.replaceChildren();
    finalReport.replaceChildren();
    const chosen = file.input.files && file.input.files[0];
    if (!chosen) {
      file.error.show('Choisissez le fichier à importer.');
      file.input.focus();
      return;
    }
    simulated = { file: chosen };
    const restore = busy(button, 'Simulation…');
    try {
      const r = await run(true);
      const apply = h('button', { type: 'button', class: 'button' }, 'Appliquer l’import');
      const applyStatus = h('div', { class: 'status-slot', role: 'alert' });
      apply.addEventListener('click', async () => {
        if (apply.getAttribute('aria-disabled') === 'true' || !simulated) return;
        applyStatus.replaceChildren();
        const restoreApply = busy(apply, 'Import en cours…');
        try {
          const done = await run(false);
          finalReport.replaceChildren(...importReport(done));
          dryReport.replaceChildren();
          simulated = null;
          finalReport.querySelector('h2').focus();
          announce('Import appliqué.');
        } catch (err) {
          restoreApply();
          showError(err, errors, applyStatus);
        }
      });
      dryReport.replaceChildren(...importReport(r),
        h('p', { class: 'actions' }, apply, ' ', h('span', { class: 'hint' }, 'Applique le même fichier, avec le même format.')), applyStatus);
      dryReport.querySelector('h2').focus();
      announce('Simulation terminée.');
    } catch (err) {
      simulated = null;
      showError(err, errors, status);
    } finally {
      restore();
    }
  });

  return {
    title,
    content: [staffCrumb(title), h('h1', null, title),
      h('p', { class: 'lead' }, 'Importez un fichier de dispositifs. Les financeurs sont reconnus par identifiant, par nom ou par synonyme ; un financeur vérifié par l’équipe n’est jamais modifié ; une aide dont le périmètre est illisible reste en brouillon.'),
      h('section', { class: 'section', 'aria-labelledby': 'import-form-titre' }, h('h2', { id: 'import-form-titre' }, 'Fichier à importer'), form),
      dryReport, finalReport],
  };
}
