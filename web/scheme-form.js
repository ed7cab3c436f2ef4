// The edit form of a scheme (`/gestion/dispositifs/nouveau`, `/gestion/dispositifs/:slug`),
// for staff and funder editors: every field of `SchemeInput` (identity, texts, funders,
// beneficiaries and themes, rules with their conditions, funding with rates in percent,
// calendar, perimeter with territories and zonings, documents, addresses, verification
// date). A refused save puts the server's message next to the field it names
// (`extensions.field`) and focuses it. Below the form: the preview as the public page shows
// it (the public page's own rendering), the actions of the status (publish, archive, ask for
// publication, send back with a comment) and the change log.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { h, announce, actionError, errorBlock, fieldError } from './dom.js';
import { createCombobox } from './combobox.js';
import { busy, textField } from './dossier-ui.js';
import { schemeContent } from './app.js';
import { catalogRole, refusal, schemeBadges } from './staff-catalog.js';

const SCHEME_FIELDS = `slug title summary description status
  funders { slug name }
  beneficiaryTypes themes aidTypes natures
  perimeter { national regions departments epcis communes zonings }
  rules { maxCommunePopulation maxEpciPopulation minProjectCost maxProjectCost
          noStartBeforeFiling requiresNationalPublicCofunding economicActivity
          conditions { text whenCommunePopulationAbove whenEpciPopulationAbove whenHolderTypes } }
  funding { rateMin rateMax amountMin amountMax maxPublicAidRate regime basis euCofundingRate typicalRate }
  calendar { recurrence opensOn closesOn }
  requiredDocuments applicationUrl sourceUrl verifiedOn updatedAt
  publicationRequestedAt reviewComment`;

const FORM_QUERY = `query SchemeForm($slug: String!) {
  scheme(slug: $slug) { ${SCHEME_FIELDS} }
}`;
const CHOICES_QUERY = `query SchemeFormChoices {
  funders { slug name kind contactEmail publicBody nameInSentence }
  zonings { slug name source asOf communeCount }
}`;
const CHANGES_QUERY = `query SchemeChanges($slug: String!) {
  scheme(slug: $slug) { changes { at actor action summary } }
}`;
const STATE_FIELDS = 'slug status publicationRequestedAt reviewComment updatedAt';
const CREATE = `mutation CreateScheme($input: SchemeInput!) { createScheme(input: $input) { ${STATE_FIELDS} } }`;
const UPDATE = `mutation UpdateScheme($slug: String!, $input: SchemeInput!) { updateScheme(slug: $slug, input: $input) { ${STATE_FIELDS} } }`;
const PUBLISH = `mutation PublishScheme($slug: String!) { publishScheme(slug: $slug) { ${STATE_FIELDS} } }`;
const ARCHIVE = `mutation ArchiveScheme($slug: String!) { archiveScheme(slug: $slug) { ${STATE_FIELDS} } }`;
const REQUEST = `mutation RequestPublication($slug: String!) { requestPublication(slug: $slug) { ${STATE_FIELDS} } }`;
const SEND_BACK = `mutation SendBackScheme($slug: String!, $comment: String!) { sendBackScheme(slug: $slug, comment: $comment) { ${STATE_FIELDS} } }`;
const TERRITORIES = `query PerimeterTerritories($query: String!) { territories(query: $query, first: 12) { code name kind } }`;

const PERIMETER_KINDS = [['REGION', 'regions'], ['DEPARTMENT', 'departments'], ['EPCI', 'epcis'], ['COMMUNE', 'communes']];
// What a change did, when the API gives no summary of it.
const ACTIONS = {
  create: 'Création.',
  update: 'Modification.',
  status: 'Changement de statut.',
  publication_requested: 'Publication demandée.',
  sent_back: 'Renvoyé au financeur.',
};
const TRISTATE = [['', 'Non précisé'], ['true', 'Oui'], ['false', 'Non']];

let rowCounter = 0;

// ---------------------------------------------------------------------------------------
// Small builders

/** An error target: shows a message next to a control (or group) and focuses `focusEl`. */
function target(error, focusEl) {
  return { show: (m) => error.show(m), clear: () => error.clear(), focus: () => focusEl.focus() };
}

function selectField(id, text, entries, { hint, value = '' } = {}) {
  const f = textField(id, text, { tag: 'select', hint, children: entries.map(([v, t]) => h('option', { value: v }, t)) });
  f.input.value = value;
  return f;
}

/** A group of checkboxes: { node, values(), error }. */
function checkboxGroup(id, legend, labels, chosen, { hint, required = false } = {}) {
  const boxes = Object.entries(labels).map(([value, text]) => {
    const box = h('input', { type: 'checkbox', id: `${id}-${value}`, name: id, value });
    box.checked = chosen.includes(value);
    return [box, h('div', { class: 'choice' }, box, h('label', { for: box.id }, text))];
  });
  const node = h('fieldset', { class: 'choices', 'aria-describedby': hint ? `${id}-aide` : null },
    h('legend', null, legend, required ? null : h('span', { class: 'optional' }, ' (facultatif)')),
    hint ? h('p', { id: `${id}-aide`, class: 'hint' }, hint) : null,
    boxes.map(([, n]) => n));
  const error = fieldError(`${id}-erreur`, node, { invalid: false });
  node.append(error.slot);
  return {
    node,
    values: () => boxes.filter(([b]) => b.checked).map(([b]) => b.value),
    error: target(error, boxes[0][0]),
  };
}

/** Parses a number typed the French way (« 12,5 »); null when blank, NaN when not a number. */
function parseNumber(raw, integer) {
  const text = String(raw).replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  if (text === '') return null;
  if (!/^-?\d+(\.\d+)?$/.test(text)) return NaN;
  const n = Number(text);
  return integer && !Number.isInteger(n) ? NaN : n;
}

const numberText = (n) => (n == null ? '' : String(n).replace('.', ','));
const blankToNull = (s) => (s.trim() === '' ? null : s.trim());

// ---------------------------------------------------------------------------------------
// The page

export async function schemeFormPage({ params, signal, setUrl, loadMe }) {
  const creating = params.length === 0;
  const me = await loadMe().catch(() => null);
  const refused = refusal(me, creating ? 'Nouveau dispositif' : 'Dispositif');
  if (refused) return refused;
  const role = catalogRole(me);

  const [choices, loaded] = await Promise.all([
    graphql(CHOICES_QUERY, {}, { signal }),
    creating ? Promise.resolve({ scheme: null }) : graphql(FORM_QUERY, { slug: params[0] }, { signal }).catch((err) => {
      if (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN') return { scheme: null };
      throw err;
    }),
  ]);
  if (!creating && !loaded.scheme) {
    return {
      title: 'Dispositif introuvable',
      content: [h('h1', null, 'Dispositif introuvable'),
        h('p', null, 'Ce dispositif n’existe pas, ou vous ne pouvez pas le modifier.'),
        h('p', null, h('a', { href: '/gestion/dispositifs' }, 'Retour aux dispositifs'))],
    };
  }
  const s = loaded.scheme || {
    slug: '', title: '', funders: me.funder && role === 'editor' ? [me.funder] : [], beneficiaryTypes: [], themes: [], aidTypes: [], natures: [],
    perimeter: {}, rules: { conditions: [] }, funding: {}, calendar: {}, requiredDocuments: [], status: 'DRAFT',
  };
  const state = {
    slug: creating ? null : s.slug,
    status: s.status,
    publicationRequestedAt: s.publicationRequestedAt || null,
    reviewComment: s.reviewComment || null,
  };
  const funders = [...choices.funders].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
  const funderBySlug = new Map(funders.map((f) => [f.slug, f]));
  const zonings = choices.zonings || [];

  // ---- Identity and texts
  const slug = textField('dispositif-slug', 'Identifiant', {
    required: true, hint: 'En minuscules sans accents, mots séparés par des tirets (ex. « detr-haute-marne ») ; il ne change plus une fois créé.',
    attrs: { autocomplete: 'off', spellcheck: 'false', readonly: creating ? null : true },
  });
  slug.input.value = s.slug;
  const title = textField('dispositif-titre', 'Titre', { required: true });
  title.input.value = s.title;
  const summary = textField('dispositif-resume', 'Résumé', { hint: 'Une phrase, affichée dans les résultats de recherche.' });
  summary.input.value = s.summary || '';
  const description = textField('dispositif-description', 'Description', {
    tag: 'textarea', hint: 'Paragraphes séparés par une ligne vide ; listes avec « - » en début de ligne.', attrs: { rows: 8 },
  });
  description.input.value = s.description || '';
  const applicationUrl = textField('dispositif-candidature', 'Page de candidature', { type: 'url', hint: 'Adresse commençant par https://' });
  applicationUrl.input.value = s.applicationUrl || '';
  const sourceUrl = textField('dispositif-source', 'Page officielle du financeur (source)', { type: 'url', hint: 'Adresse commençant par https://' });
  sourceUrl.input.value = s.sourceUrl || '';
  const verifiedOn = textField('dispositif-verifie', 'Vérifié le', { type: 'date', hint: 'Le jour où la fiche a été comparée à sa source.' });
  verifiedOn.input.value = s.verifiedOn || '';

  // ---- Funders (repeatable selects among existing funders)
  const funderRows = [];
  const funderList = h('ol', { class: 'edit-lines' });
  const funderGroupError = fieldError('dispositif-financeurs-erreur', funderList, { invalid: false });
  function addFunderRow(chosen) {
    const n = ++rowCounter;
    const select = h('select', { id: `financeur-${n}`, name: 'financeur' },
      h('option', { value: '' }, 'Choisir un financeur'),
      funders.map((f) => h('option', { value: f.slug }, f.name)));
    select.value = chosen || '';
    const error = fieldError(`financeur-${n}-erreur`, select);
    const row = { select, error: target(error, select) };
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small edit-line-remove' }, 'Retirer');
    row.node = h('li', { class: 'edit-line' },
      h('div', { class: 'field' }, h('label', { for: select.id }, `Financeur ${funderRows.length + 1}`), select, error.slot),
      remove);
    remove.setAttribute('aria-label', 'Retirer ce financeur');
    remove.addEventListener('click', () => {
      funderRows.splice(funderRows.indexOf(row), 1);
      row.node.remove();
      addFunder.focus();
    });
    funderRows.push(row);
    funderList.append(row.node);
    return row;
  }
  for (const f of s.funders) addFunderRow(f.slug);
  if (funderRows.length === 0) addFunderRow('');
  const addFunder = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Ajouter un financeur');
  addFunder.addEventListener('click', () => addFunderRow('').select.focus());

  // ---- Who and what
  const beneficiaries = checkboxGroup('dispositif-beneficiaires', 'Bénéficiaires', L.BENEFICIARY_TYPES, s.beneficiaryTypes, { required: true });
  const themes = checkboxGroup('dispositif-themes', 'Thèmes', L.THEMES, s.themes, { hint: 'Aucun thème : ouvert à tous les projets.' });
  const aidTypes = checkboxGroup('dispositif-types', 'Types d’aide', L.AID_TYPES, s.aidTypes);
  const natures = checkboxGroup('dispositif-natures', 'Dépenses financées', L.NATURES, s.natures || [], { hint: 'Aucune case : investissement et fonctionnement.' });

  // ---- Rules
  const r = s.rules || {};
  const numberField = (id, text, value, hint) => {
    const f = textField(id, text, { hint, attrs: { inputmode: 'decimal', autocomplete: 'off' } });
    f.input.value = numberText(value);
    return f;
  };
  const maxCommunePopulation = numberField('regles-pop-commune', 'Population maximale de la commune', r.maxCommunePopulation, 'En habitants.');
  const maxEpciPopulation = numberField('regles-pop-epci', 'Population maximale de l’intercommunalité', r.maxEpciPopulation, 'En habitants.');
  const minProjectCost = numberField('regles-cout-min', 'Coût minimal du projet', r.minProjectCost, 'En euros.');
  const maxProjectCost = numberField('regles-cout-max', 'Coût maximal du projet', r.maxProjectCost, 'En euros.');
  const tri = (v) => (v == null ? '' : String(v));
  const noStartBeforeFiling = selectField('regles-commencement', 'Pas de commencement avant le dépôt', TRISTATE, { value: tri(r.noStartBeforeFiling) });
  const nationalCofunding = selectField('regles-cofinancement', 'Cofinancement public national exigé', TRISTATE, { value: tri(r.requiresNationalPublicCofunding) });
  const economicActivity = selectField('regles-economique', 'Activité économique', TRISTATE, { value: tri(r.economicActivity) });

  const conditionRows = [];
  const conditionList = h('ol', { class: 'edit-lines' });
  const addCondition = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Ajouter une condition');
  function addConditionRow(c) {
    const n = ++rowCounter;
    const text = textField(`condition-${n}-texte`, 'Ce qu’il faut vérifier, et auprès de qui', { tag: 'textarea', required: true, attrs: { rows: 2 } });
    text.input.value = c.text || '';
    const commune = numberField(`condition-${n}-commune`, 'Seulement au-dessus de (habitants de la commune)', c.whenCommunePopulationAbove);
    const epci = numberField(`condition-${n}-epci`, 'Seulement au-dessus de (habitants de l’intercommunalité)', c.whenEpciPopulationAbove);
    const holders = checkboxGroup(`condition-${n}-porteurs`, 'Seulement pour ces porteurs', L.HOLDER_TYPES, c.whenHolderTypes || [],
      { hint: 'Aucune case : pour tous les porteurs.' });
    const row = { text, commune, epci, holders };
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small edit-line-remove' }, 'Retirer cette condition');
    const legend = h('legend', null, `Condition ${conditionRows.length + 1}`);
    row.node = h('li', { class: 'edit-line' }, h('fieldset', null, legend, text.node, commune.node, epci.node, holders.node, remove));
    remove.addEventListener('click', () => {
      conditionRows.splice(conditionRows.indexOf(row), 1);
      row.node.remove();
      conditionRows.forEach((x, i) => { x.node.querySelector('legend').textContent = `Condition ${i + 1}`; });
      addCondition.focus();
    });
    conditionRows.push(row);
    conditionList.append(row.node);
    return row;
  }
  for (const c of r.conditions || []) addConditionRow(c);
  addCondition.addEventListener('click', () => addConditionRow({}).text.input.focus());

  // ---- Funding
  const fu = s.funding || {};
  const RATE_HINT = 'En pourcentage, de 0 à 100 (30 pour 30 %).';
  const rateMin = numberField('financement-taux-min', 'Taux minimal', fu.rateMin, RATE_HINT);
  const rateMax = numberField('financement-taux-max', 'Taux maximal', fu.rateMax, RATE_HINT);
  const typicalRate = numberField('financement-taux-usuel', 'Taux usuel', fu.typicalRate, RATE_HINT);
  const maxPublicAidRate = numberField('financement-taux-public', 'Plafond d’aides publiques', fu.maxPublicAidRate, RATE_HINT);
  const euCofundingRate = numberField('financement-taux-ue', 'Part de l’Union européenne dans l’aide publique', fu.euCofundingRate, `${RATE_HINT} Pour les fonds européens comme LEADER.`);
  const amountMin = numberField('financement-montant-min', 'Montant minimal de l’aide', fu.amountMin, 'En euros.');
  const amountMax = numberField('financement-montant-max', 'Montant maximal de l’aide', fu.amountMax, 'En euros.');
  const regime = selectField('financement-regime', 'Régime d’aides d’État', [['', 'Non précisé'], ...Object.entries(L.STATE_AID_REGIMES)], { value: fu.regime || '' });
  const basis = selectField('financement-base', 'Base des montants', [['', 'Non précisé'], ...Object.entries(L.COST_BASES)], { value: fu.basis || '' });

  // ---- Calendar
  const cal = s.calendar || {};
  const recurrence = selectField('calendrier-recurrence', 'Récurrence', [['', 'Non précisé'], ...Object.entries(L.RECURRENCES)], { value: cal.recurrence || '' });
  const opensOn = textField('calendrier-ouverture', 'Ouverture', { type: 'date' });
  opensOn.input.value = cal.opensOn || '';
  const closesOn = textField('calendrier-cloture', 'Clôture', { type: 'date' });
  closesOn.input.value = cal.closesOn || '';

  // ---- Perimeter
  const p = s.perimeter || {};
  const national = h('input', { type: 'checkbox', id: 'perimetre-national', name: 'national' });
  national.checked = !!p.national;
  const chosen = []; // { kind, code, name }
  for (const [kind, key] of PERIMETER_KINDS) for (const code of p[key] || []) chosen.push({ kind, code, name: null });
  const chosenList = h('ul', { class: 'plain-list', id: 'perimetre-territoires' });
  function renderChosen() {
    chosenList.replaceChildren(...chosen.map((t) => {
      const text = `${t.name || t.code} (${L.label(L.TERRITORY_KINDS, t.kind)}${t.name ? ` ${t.code}` : ''})`;
      return h('li', null, text, ' ', h('button', {
        type: 'button', class: 'button button-secondary button-small', 'aria-label': `Retirer ${text}`,
        onclick: () => {
          chosen.splice(chosen.indexOf(t), 1);
          renderChosen();
          territoryInput().focus();
          announce(`${t.name || t.code} retiré du périmètre.`);
        },
      }, 'Retirer'));
    }));
  }
  const territoryBox = createCombobox({
    label: 'Ajouter un territoire',
    hint: 'Région, département, intercommunalité ou commune : nom ou code.',
    async search(query, searchSignal) {
      return (await graphql(TERRITORIES, { query }, { signal: searchSignal })).territories;
    },
    optionContent: (t) => `${t.name} — ${L.label(L.TERRITORY_KINDS, t.kind)} ${t.code}`,
    optionValue: () => '',
    onSelect(t) {
      if (!chosen.some((c) => c.kind === t.kind && c.code === t.code)) chosen.push({ kind: t.kind, code: t.code, name: t.name });
      renderChosen();
      announce(`${t.name} ajouté au périmètre.`);
    },
    countMessage: (n) => `${n} territoire${n > 1 ? 's' : ''} proposé${n > 1 ? 's' : ''}.`,
    emptyMessage: (q) => `Aucun territoire ne correspond à « ${q} ».`,
  });
  const territoryInput = () => territoryBox.querySelector('input');
  const territoryError = fieldError('perimetre-territoires-erreur', territoryInput());
  renderChosen();
  resolveNames(chosen, signal).then(renderChosen, () => {});
  const zoningGroup = zonings.length
    ? checkboxGroup('perimetre-zonages', 'Zonages', Object.fromEntries(zonings.map((z) => [z.slug,
      `${z.name}${z.communeCount ? ` (${F.formatNumber(z.communeCount)} communes)` : ' (liste non chargée)'}`])), p.zonings || [])
    : null;

  // ---- Documents
  const documentRows = [];
  const documentList = h('ol', { class: 'edit-lines' });
  const addDocument = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Ajouter une pièce');
  function addDocumentRow(value) {
    const n = ++rowCounter;
    const f = textField(`piece-${n}`, `Pièce ${documentRows.length + 1}`, { required: true });
    f.input.value = value || '';
    const row = { field: f };
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small edit-line-remove', 'aria-label': 'Retirer cette pièce' }, 'Retirer');
    remove.addEventListener('click', () => {
      documentRows.splice(documentRows.indexOf(row), 1);
      row.node.remove();
      addDocument.focus();
    });
    row.node = h('li', { class: 'edit-line' }, f.node, remove);
    documentRows.push(row);
    documentList.append(row.node);
    return row;
  }
  for (const d of s.requiredDocuments || []) addDocumentRow(d);
  addDocument.addEventListener('click', () => addDocumentRow('').field.input.focus());

  // ---- Where errors go: the API's field name → its target
  function targets() {
    const t = new Map([
      ['slug', target(slug.error, slug.input)], ['title', target(title.error, title.input)],
      ['summary', target(summary.error, summary.input)], ['description', target(description.error, description.input)],
      ['applicationUrl', target(applicationUrl.error, applicationUrl.input)], ['sourceUrl', target(sourceUrl.error, sourceUrl.input)],
      ['verifiedOn', target(verifiedOn.error, verifiedOn.input)],
      ['funders', funderRows[0] ? funderRows[0].error : target(funderGroupError, addFunder)],
      ['beneficiaryTypes', beneficiaries.error], ['themes', themes.error], ['aidTypes', aidTypes.error], ['natures', natures.error],
      ['rules.maxCommunePopulation', target(maxCommunePopulation.error, maxCommunePopulation.input)],
      ['rules.maxEpciPopulation', target(maxEpciPopulation.error, maxEpciPopulation.input)],
      ['rules.minProjectCost', target(minProjectCost.error, minProjectCost.input)],
      ['rules.maxProjectCost', target(maxProjectCost.error, maxProjectCost.input)],
      ['rules.noStartBeforeFiling', target(noStartBeforeFiling.error, noStartBeforeFiling.input)],
      ['rules.requiresNationalPublicCofunding', target(nationalCofunding.error, nationalCofunding.input)],
      ['rules.economicActivity', target(economicActivity.error, economicActivity.input)],
      ['funding.rateMin', target(rateMin.error, rateMin.input)], ['funding.rateMax', target(rateMax.error, rateMax.input)],
      ['funding.typicalRate', target(typicalRate.error, typicalRate.input)],
      ['funding.maxPublicAidRate', target(maxPublicAidRate.error, maxPublicAidRate.input)],
      ['funding.euCofundingRate', target(euCofundingRate.error, euCofundingRate.input)],
      ['funding.amountMin', target(amountMin.error, amountMin.input)], ['funding.amountMax', target(amountMax.error, amountMax.input)],
      ['funding.regime', target(regime.error, regime.input)], ['funding.basis', target(basis.error, basis.input)],
      ['calendar.recurrence', target(recurrence.error, recurrence.input)],
      ['calendar.opensOn', target(opensOn.error, opensOn.input)], ['calendar.closesOn', target(closesOn.error, closesOn.input)],
      ['perimeter', target(territoryError, territoryInput())],
      ['requiredDocuments', documentRows[0] ? target(documentRows[0].field.error, documentRows[0].field.input) : target(territoryError, addDocument)],
    ]);
    if (zoningGroup) t.set('perimeter.zonings', zoningGroup.error);
    funderRows.forEach((row, i) => t.set(`funders.${i}`, row.error));
    conditionRows.forEach((row, i) => {
      t.set(`rules.conditions.${i}.text`, target(row.text.error, row.text.input));
      t.set(`rules.conditions.${i}.whenCommunePopulationAbove`, target(row.commune.error, row.commune.input));
      t.set(`rules.conditions.${i}.whenEpciPopulationAbove`, target(row.epci.error, row.epci.input));
      t.set(`rules.conditions.${i}.whenHolderTypes`, row.holders.error);
    });
    documentRows.forEach((row, i) => t.set(`requiredDocuments.${i}`, target(row.field.error, row.field.input)));
    return t;
  }

  /** The target of an API field name: itself, else its longest known prefix. */
  function targetOf(field) {
    const t = targets();
    if (t.has(field)) return t.get(field);
    const known = [...t.keys()].filter((k) => field.startsWith(`${k}.`)).sort((a, b) => b.length - a.length);
    return known.length ? t.get(known[0]) : null;
  }

  const topError = h('div', { class: 'status-slot', role: 'alert' });
  const status = h('p', { class: 'save-status', role: 'status' });

  function clearErrors() {
    topError.replaceChildren();
    for (const t of targets().values()) t.clear();
    territoryError.clear();
    funderGroupError.clear();
  }

  /** A refused action: the message next to the field it names (focused), else on top. */
  function showError(err) {
    const t = err && err.code === 'VALIDATION' && err.field ? targetOf(err.field) : null;
    if (t) {
      t.show(err.message);
      t.focus();
    } else {
      topError.replaceChildren(actionError(err));
      topError.setAttribute('tabindex', '-1');
      topError.focus();
    }
    announce(err && err.message ? err.message : 'L’enregistrement a échoué.');
  }

  /** The form as a `SchemeInput`, or the first problem found here ({ field, message }). */
  function collect() {
    const problems = [];
    const num = (f, field, integer) => {
      const v = parseNumber(f.input.value, integer);
      if (Number.isNaN(v)) problems.push({ field, message: integer ? 'Saisissez un nombre entier.' : 'Saisissez un nombre (par exemple 40 ou 12,5).' });
      return Number.isNaN(v) ? null : v;
    };
    const bool = (f) => (f.input.value === '' ? null : f.input.value === 'true');
    const date = (f) => blankToNull(f.input.value);
    const funderInputs = [];
    funderRows.forEach((row, i) => {
      const f = funderBySlug.get(row.select.value);
      if (!f) {
        if (funderRows.length > 1 || i === 0) problems.push({ field: `funders.${i}`, message: 'Choisissez un financeur, ou retirez cette ligne.' });
        return;
      }
      funderInputs.push({
        slug: f.slug, name: f.name, kind: f.kind, contactEmail: f.contactEmail, publicBody: f.publicBody, nameInSentence: f.nameInSentence,
      });
    });
    const perimeter = { national: national.checked, zonings: zoningGroup ? zoningGroup.values() : (p.zonings || []) };
    for (const [kind, key] of PERIMETER_KINDS) perimeter[key] = chosen.filter((t) => t.kind === kind).map((t) => t.code);
    const input = {
      slug: slug.input.value.trim(),
      title: title.input.value.trim(),
      summary: blankToNull(summary.input.value),
      description: blankToNull(description.input.value),
      funders: funderInputs,
      beneficiaryTypes: beneficiaries.values(),
      themes: themes.values(),
      aidTypes: aidTypes.values(),
      natures: natures.values(),
      perimeter,
      rules: {
        maxCommunePopulation: num(maxCommunePopulation, 'rules.maxCommunePopulation', true),
        maxEpciPopulation: num(maxEpciPopulation, 'rules.maxEpciPopulation', true),
        minProjectCost: num(minProjectCost, 'rules.minProjectCost', true),
        maxProjectCost: num(maxProjectCost, 'rules.maxProjectCost', true),
        noStartBeforeFiling: bool(noStartBeforeFiling),
        requiresNationalPublicCofunding: bool(nationalCofunding),
        economicActivity: bool(economicActivity),
        conditions: conditionRows.map((row, i) => ({
          text: row.text.input.value.trim(),
          whenCommunePopulationAbove: num(row.commune, `rules.conditions.${i}.whenCommunePopulationAbove`, true),
          whenEpciPopulationAbove: num(row.epci, `rules.conditions.${i}.whenEpciPopulationAbove`, true),
          whenHolderTypes: row.holders.values(),
        })),
      },
      funding: {
        rateMin: num(rateMin, 'funding.rateMin', false),
        rateMax: num(rateMax, 'funding.rateMax', false),
        typicalRate: num(typicalRate, 'funding.typicalRate', false),
        maxPublicAidRate: num(maxPublicAidRate, 'funding.maxPublicAidRate', false),
        euCofundingRate: num(euCofundingRate, 'funding.euCofundingRate', false),
        amountMin: num(amountMin, 'funding.amountMin', true),
        amountMax: num(amountMax, 'funding.amountMax', true),
        regime: regime.input.value || null,
        basis: basis.input.value || null,
      },
      calendar: { recurrence: recurrence.input.value || null, opensOn: date(opensOn), closesOn: date(closesOn) },
      requiredDocuments: documentRows.map((row) => row.field.input.value.trim()),
      applicationUrl: blankToNull(applicationUrl.input.value),
      sourceUrl: blankToNull(sourceUrl.input.value),
      verifiedOn: date(verifiedOn),
    };
    return { input, problem: problems[0] || null };
  }

  /** Saves the form; resolves true when saved (the errors are shown otherwise). */
  async function save() {
    clearErrors();
    const { input, problem } = collect();
    if (problem) {
      showError({ code: 'VALIDATION', field: problem.field, message: problem.message });
      return false;
    }
    try {
      let saved;
      if (state.slug == null) {
        saved = (await graphql(CREATE, { input: { ...input, status: 'DRAFT' } })).createScheme;
        state.slug = saved.slug;
        slug.input.readOnly = true;
        setUrl(`/gestion/dispositifs/${encodeURIComponent(saved.slug)}`);
      } else {
        // Staff keep the status; an editor's edit is always a draft (the API decides).
        const keep = role === 'staff' ? { status: state.status } : {};
        saved = (await graphql(UPDATE, { slug: state.slug, input: { ...input, ...keep } })).updateScheme;
      }
      applyState(saved);
      heading.textContent = input.title;
      document.title = `${input.title} — Guichet`;
      const when = new Date().toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
      status.textContent = `${saved.status === 'DRAFT' ? 'Brouillon enregistré' : 'Enregistré'} à ${when}.`;
      return true;
    } catch (err) {
      if (isAbort(err)) return false;
      showError(err);
      return false;
    }
  }

  function applyState(saved) {
    state.status = saved.status;
    state.publicationRequestedAt = saved.publicationRequestedAt || null;
    state.reviewComment = saved.reviewComment || null;
    renderStatus();
    loadChanges();
  }

  // ---- Status, and the actions it allows
  const statusBox = h('div', { class: 'card' });
  const actionBox = h('div', { class: 'actions' });
  const confirmSlot = h('div');

  function renderStatus() {
    statusBox.replaceChildren(
      h('h2', { id: 'statut-titre' }, 'Statut'),
      h('p', null, schemeBadges(state)),
      state.publicationRequestedAt && state.status === 'DRAFT'
        ? h('p', null, `Publication demandée le ${F.formatLocalDate(state.publicationRequestedAt)}.`)
        : null,
      state.reviewComment
        ? h('div', { class: 'alert alert-warning' }, h('p', null, h('strong', null, 'Renvoyé par l’équipe Guichet : '), state.reviewComment))
        : null,
      state.slug && state.status === 'PUBLISHED'
        ? h('p', null, h('a', { href: `/dispositifs/${encodeURIComponent(state.slug)}` }, 'Voir la fiche publique'))
        : null);
    const buttons = [];
    const saved = state.slug != null;
    if (role === 'staff' && saved && state.status !== 'PUBLISHED') {
      buttons.push(actionButton('Publier', () => confirm('Publier ce dispositif ? Il apparaîtra aussitôt dans la recherche publique.',
        'Confirmer la publication', async () => {
          if (!await save()) return;
          applyState((await graphql(PUBLISH, { slug: state.slug })).publishScheme);
          announce('Dispositif publié.');
          status.textContent = 'Dispositif publié.';
        })));
    }
    if (role === 'staff' && saved && state.status !== 'ARCHIVED') {
      buttons.push(actionButton('Archiver', () => confirm('Archiver ce dispositif ? Il quitte le catalogue public et n’accepte plus de demandes.',
        'Confirmer l’archivage', async () => {
          applyState((await graphql(ARCHIVE, { slug: state.slug })).archiveScheme);
          announce('Dispositif archivé.');
          status.textContent = 'Dispositif archivé.';
        })));
    }
    if (role === 'editor' && saved && state.status === 'DRAFT' && !state.publicationRequestedAt) {
      buttons.push(actionButton('Demander la publication', async () => {
        if (!await save()) return;
        applyState((await graphql(REQUEST, { slug: state.slug })).requestPublication);
        announce('Publication demandée à l’équipe Guichet.');
        status.textContent = 'Publication demandée à l’équipe Guichet.';
      }));
    }
    actionBox.replaceChildren(...buttons);
    confirmSlot.replaceChildren(role === 'staff' && saved && state.status === 'DRAFT' && state.publicationRequestedAt ? sendBackForm() : '');
  }

  /** A button running `run`, busy meanwhile; a refused action shows its error. */
  function actionButton(text, run) {
    const button = h('button', { type: 'button', class: 'button' }, text);
    button.addEventListener('click', async () => {
      if (button.getAttribute('aria-disabled') === 'true') return;
      clearErrors();
      const restore = busy(button, 'Un instant…');
      try {
        await run();
      } catch (err) {
        if (!isAbort(err)) showError(err);
      } finally {
        if (button.isConnected) restore();
      }
    });
    return button;
  }

  /** An inline confirmation (focused): `question`, then `yes` runs `run`, « Annuler » closes. */
  function confirm(question, yes, run) {
    const yesButton = actionButton(yes, async () => {
      await run();
      confirmSlot.replaceChildren();
      renderStatus();
    });
    const box = h('div', { class: 'confirm-box', role: 'group', 'aria-labelledby': 'confirmation-question' },
      h('p', { id: 'confirmation-question' }, question),
      h('p', { class: 'actions' }, yesButton, ' ',
        h('button', { type: 'button', class: 'button button-secondary', onclick: () => renderStatus() }, 'Annuler')));
    confirmSlot.replaceChildren(box);
    yesButton.focus();
  }

  function sendBackForm() {
    const comment = textField('renvoi-commentaire', 'Commentaire pour le financeur', {
      tag: 'textarea', required: true, hint: 'Ce qu’il faut corriger avant publication ; l’éditeur le lit sur cette page.', attrs: { rows: 3 },
    });
    const send = actionButton('Renvoyer au financeur', async () => {
      comment.error.clear();
      const text = comment.input.value.trim();
      if (!text) {
        comment.error.show('Écrivez ce qu’il faut corriger.');
        comment.input.focus();
        return;
      }
      try {
        applyState((await graphql(SEND_BACK, { slug: state.slug, comment: text })).sendBackScheme);
      } catch (err) {
        if (err.code === 'VALIDATION' && err.field === 'comment') {
          comment.error.show(err.message);
          comment.input.focus();
          return;
        }
        throw err;
      }
      announce('Dispositif renvoyé au financeur.');
      status.textContent = 'Dispositif renvoyé au financeur avec votre commentaire.';
    });
    return h('section', { class: 'confirm-box', 'aria-labelledby': 'renvoi-titre' },
      h('h3', { id: 'renvoi-titre' }, 'Renvoyer au financeur'),
      comment.node,
      h('p', null, send));
  }

  // ---- Preview: the public page's rendering of the form as it is
  const previewSlot = h('div');
  const previewButton = h('button', { type: 'button', class: 'button button-secondary' }, 'Aperçu');
  previewButton.addEventListener('click', () => {
    clearErrors();
    const { input, problem } = collect();
    if (problem) {
      showError({ code: 'VALIDATION', field: problem.field, message: problem.message });
      return;
    }
    const view = schemeContent({
      ...input,
      status: state.status,
      funders: input.funders.map((f) => ({ slug: f.slug, name: f.name })),
      updatedAt: null,
    }, zonings, signal);
    const nodes = view.content.filter((n) => n && !(n.classList && n.classList.contains('breadcrumb')));
    const previewHeading = h('h2', { id: 'apercu-titre', tabindex: '-1' }, 'Aperçu de la fiche publique');
    const body = h('div', { class: 'card' }, nodes);
    demoteHeadings(body);
    previewSlot.replaceChildren(h('section', { class: 'section', 'aria-labelledby': 'apercu-titre' },
      previewHeading,
      h('p', { class: 'hint' }, 'La fiche telle que le public la verra, avec les valeurs du formulaire (même non enregistrées).'),
      body));
    previewHeading.focus();
  });

  // ---- Change log
  const changesBox = h('div');
  function loadChanges() {
    if (state.slug == null) {
      changesBox.replaceChildren(h('p', { class: 'empty' }, 'Le journal commence à l’enregistrement.'));
      return;
    }
    changesBox.setAttribute('aria-busy', 'true');
    graphql(CHANGES_QUERY, { slug: state.slug }, { signal }).then((data) => {
      const changes = (data.scheme && data.scheme.changes) || [];
      changesBox.replaceChildren(changes.length === 0
        ? h('p', { class: 'empty' }, 'Aucune modification enregistrée.')
        : h('ol', { class: 'timeline' }, changes.map((c) => h('li', { class: 'timeline-item' },
          h('p', { class: 'timeline-when' }, `${F.formatLocalDate(c.at)} à ${new Date(c.at).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' })} — ${c.actor}`),
          h('p', null, c.summary || ACTIONS[c.action] || c.action)))));
    }, (err) => {
      if (!isAbort(err)) changesBox.replaceChildren(errorBlock(err, loadChanges));
    }).finally(() => changesBox.removeAttribute('aria-busy'));
  }

  // ---- The form
  const saveButton = h('button', { type: 'submit', class: 'button' }, role === 'editor' ? 'Enregistrer le brouillon' : 'Enregistrer');
  const form = h('form', { class: 'form', novalidate: true, 'aria-labelledby': 'formulaire-titre' },
    h('h2', { id: 'formulaire-titre', class: 'visually-hidden' }, 'Fiche du dispositif'),
    h('fieldset', { class: 'group' }, h('legend', null, 'Identité'),
      slug.node, title.node, summary.node, description.node),
    h('fieldset', { class: 'group' }, h('legend', null, 'Financeurs'),
      funderList, funderGroupError.slot, h('p', null, addFunder)),
    h('fieldset', { class: 'group' }, h('legend', null, 'Pour qui, pour quoi'),
      beneficiaries.node, themes.node, aidTypes.node, natures.node),
    h('fieldset', { class: 'group' }, h('legend', null, 'Conditions d’éligibilité'),
      maxCommunePopulation.node, maxEpciPopulation.node, minProjectCost.node, maxProjectCost.node,
      noStartBeforeFiling.node, nationalCofunding.node, economicActivity.node,
      h('h3', null, 'Conditions à vérifier avec le financeur'), conditionList, h('p', null, addCondition)),
    h('fieldset', { class: 'group' }, h('legend', null, 'Financement'),
      rateMin.node, rateMax.node, typicalRate.node, maxPublicAidRate.node, euCofundingRate.node,
      amountMin.node, amountMax.node, regime.node, basis.node),
    h('fieldset', { class: 'group' }, h('legend', null, 'Calendrier'), recurrence.node, opensOn.node, closesOn.node),
    h('fieldset', { class: 'group' }, h('legend', null, 'Périmètre'),
      h('div', { class: 'choice' }, national, h('label', { for: national.id }, 'France entière')),
      h('div', { class: 'field' }, territoryBox, territoryError.slot),
      h('p', { class: 'hint', id: 'perimetre-liste-titre' }, 'Territoires du périmètre :'),
      chosenList,
      zoningGroup ? zoningGroup.node : h('p', { class: 'hint' }, 'Aucun zonage n’est chargé.')),
    h('fieldset', { class: 'group' }, h('legend', null, 'Pièces à fournir'), documentList, h('p', null, addDocument)),
    h('fieldset', { class: 'group' }, h('legend', null, 'Sources'), applicationUrl.node, sourceUrl.node, verifiedOn.node),
    topError,
    h('p', { class: 'actions' }, saveButton, ' ', previewButton),
    status);
  chosenList.setAttribute('aria-labelledby', 'perimetre-liste-titre');

  let saving = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (saving) return;
    saving = true;
    const restore = busy(saveButton, 'Enregistrement…');
    try {
      await save();
    } finally {
      saving = false;
      restore();
    }
  });

  renderStatus();
  loadChanges();
  const heading = h('h1', null, creating ? 'Nouveau dispositif' : s.title);
  return {
    title: creating ? 'Nouveau dispositif' : s.title,
    content: [
      h('nav', { class: 'breadcrumb', 'aria-label': 'Fil d’Ariane' }, h('ol', null,
        h('li', null, h('a', { href: '/gestion' }, 'Gestion')),
        h('li', null, h('a', { href: '/gestion/dispositifs' }, 'Dispositifs')),
        h('li', null, h('span', { 'aria-current': 'page' }, creating ? 'Nouveau' : s.title)))),
      heading,
      role === 'editor' ? h('p', { class: 'lead' }, 'Vos modifications restent en brouillon jusqu’à ce que l’équipe Guichet publie le dispositif.') : null,
      h('section', { class: 'section', 'aria-labelledby': 'statut-titre' }, statusBox, actionBox, confirmSlot),
      form,
      previewSlot,
      h('section', { class: 'section', 'aria-labelledby': 'journal-titre' },
        h('h2', { id: 'journal-titre' }, 'Journal des modifications'), changesBox),
    ],
  };
}

/** Turns h1 into h2, h2 into h3…: a page rendered inside another. */
function demoteHeadings(root) {
  for (const old of root.querySelectorAll('h1, h2, h3, h4, h5')) {
    const level = Number(old.tagName.slice(1)) + 1;
    const next = document.createElement(`h${level}`);
    for (const a of old.attributes) next.setAttribute(a.name, a.name === 'id' ? `apercu-${a.value}` : a.value);
    next.append(...old.childNodes);
    old.replaceWith(next);
  }
  for (const el of root.querySelectorAll('[aria-labelledby]')) {
    el.setAttribute('aria-labelledby', `apercu-${el.getAttribute('aria-labelledby')}`);
  }
}

/** Fills in the names of the chosen territories (one request, the first 100). */
async function resolveNames(chosen, signal) {
  const wanted = chosen.slice(0, 100);
  if (wanted.length === 0) return;
  const vars = {};
  const args = [];
  const fields = [];
  wanted.forEach((t, i) => {
    vars[`c${i}`] = t.code;
    vars[`k${i}`] = t.kind;
    args.push(`$c${i}: String!, $k${i}: TerritoryKind`);
    fields.push(`t${i}: territory(code: $c${i}, kind: $k${i}) { name }`);
  });
  const data = await graphql(`query PerimeterNames(${args.join(', ')}) { ${fields.join(' ')} }`, vars, { signal });
  wanted.forEach((t, i) => {
    if (data[`t${i}`]) t.name = data[`t${i}`].name;
  });
}
