// « Mon projet » (`/projet`): the holder describes the project (type of holder, commune,
// themes, nature, total cost HT or TTC, start of works, description) and sees which schemes of
// the catalogue it can get — eligible, to check, not eligible — grouped by funder, each with
// its criteria. Themes never rule a scheme out: within a verdict, the schemes relevant to the
// project (a theme shared, the description matching) come first, the others follow folded
// (« Autres dispositifs possibles (thèmes différents) »).
// Below, the financing plan suggested for it, which the holder edits and which is checked
// again as they type. The project is in the address (`?porteur=COMMUNE&commune=52017
// &theme=commerce&nature=INVESTMENT&cout=120000&base=TTC&debut=2027-06-01&description=…`), so
// that reloading or sharing
// it shows the same results; the edits of the plan are not kept there.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { DE_MINIMIS_HOLDERS, LOCAL_AUTHORITIES, LINE_TYPES, isRepayable, isPublicScheme } from './plan-rules.js';
import { h, announce, errorBlock, communeCombobox, chosenCommune, fieldError } from './dom.js';
import { nextStep, rememberProject, rememberPlan } from './preparation.js';

const CHECK_DELAY = 300; // ms of quiet typing before the plan is checked again
const MAX_DESCRIPTION = 2000; // characters of description kept (it travels in the address)

const MATCH_QUERY = `query MatchProject($project: ProjectInput!) {
  matchProject(project: $project, includeIneligible: true) {
    eligibleCount toCheckCount
    matches {
      verdict
      relevant
      estimatedAmount { min max }
      criteria { code status message }
      scheme { slug title applicationUrl sourceUrl funders { name kind publicBody } }
      receivesInGuichet
      recipients { name }
    }
  }
  suggestFinancingPlan(project: $project) {
    ownFunds totalAid totalLoans warnings
    lines { schemeSlug funderName amount public aidType reason }
  }
}`;

const CHECK_QUERY = `query CheckFinancingPlan($plan: FinancingPlanInput!) {
  checkFinancingPlan(plan: $plan) {
    balanced publicShare ownShare
    violations { code message line }
    warnings
  }
}`;

const TERRITORY_QUERY = `query ProjectCommune($code: String!) {
  territory(code: $code) { code name kind parents { code name kind } }
}`;

const VERDICTS = [
  { verdict: 'ELIGIBLE', slug: 'eligibles', title: 'Éligibles' },
  {
    verdict: 'TO_CHECK',
    slug: 'a-verifier',
    title: 'À vérifier',
    hint: 'Aucune condition n’est contredite, mais au moins une ne peut pas être vérifiée avec ce que vous avez indiqué.',
  },
  { verdict: 'INELIGIBLE', slug: 'non-eligibles', title: 'Non éligibles', collapsed: true },
];

const CRITERION_STATUSES = {
  FAIL: { symbol: '✗', text: 'Non rempli', cls: 'fail' },
  UNKNOWN: { symbol: '?', text: 'À vérifier', cls: 'unknown' },
  PASS: { symbol: '✓', text: 'Rempli', cls: 'pass' },
};
// Themes say how relevant a scheme is, never whether the holder may get it: neutral.
const INFORMATION = { symbol: 'i', text: 'Information', cls: 'info' };
const STATUS_ORDER = ['FAIL', 'UNKNOWN', 'PASS', 'INFO'];
const statusKey = (c) => (c.code === 'THEME' ? 'INFO' : c.status);

const plural = (n, one, many) => (n > 1 ? many : one);

// ---------------------------------------------------------------------------------------
// State ⇄ address

/** A real calendar date written YYYY-MM-DD (not 2026-02-31). */
function isDate(value) {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? F.parseDate(value) : null;
  return !!d && d.toISOString().slice(0, 10) === value;
}

/** The project held by the query string `params`. Unknown values are dropped. */
export function readProject(params) {
  const get = (name) => (params.get(name) || '').trim();
  const holder = get('porteur').toUpperCase();
  const commune = get('commune').toUpperCase();
  const cost = get('cout').replace(/[\s\u00a0\u202f]/g, '');
  const startsOn = get('debut');
  const nature = get('nature').toUpperCase();
  const basis = get('base').toUpperCase();
  return {
    holderType: Object.hasOwn(L.BENEFICIARY_TYPES, holder) ? holder : null,
    commune: /^(\d{5}|2[AB]\d{3})$/.test(commune) ? commune : null,
    themes: [...new Set(params.getAll('theme').map((t) => t.trim()).filter((t) => Object.hasOwn(L.THEMES, t)))],
    nature: Object.hasOwn(L.NATURES, nature) ? nature : '',
    cost: /^\d{1,15}$/.test(cost) ? String(Number(cost)) : '',
    costBasis: basis === 'TTC' ? 'TTC' : 'HT',
    startsOn: isDate(startsOn) ? startsOn : '',
    text: (params.get('description') || '').trim().slice(0, MAX_DESCRIPTION),
  };
}

/** The address of the page for `project`. */
export function projectUrl(project) {
  const params = new URLSearchParams();
  if (project.holderType) params.set('porteur', project.holderType);
  if (project.commune) params.set('commune', project.commune);
  for (const t of project.themes) params.append('theme', t);
  if (project.nature) params.set('nature', project.nature);
  if (project.cost) params.set('cout', project.cost);
  if (project.costBasis === 'TTC') params.set('base', 'TTC');
  if (project.startsOn) params.set('debut', project.startsOn);
  if (project.text.trim()) params.set('description', project.text.trim());
  const query = params.toString();
  return query ? `/projet?${query}` : '/projet';
}

const isComplete = (project) => !!project.holderType && !!project.commune;

/** The ProjectInput of `project`. */
function projectInput(project) {
  return {
    holderType: project.holderType,
    communeCode: project.commune,
    themes: project.themes.length ? project.themes : null,
    text: project.text.trim() || null,
    nature: project.nature || null,
    totalCost: project.cost ? Number(project.cost) : null,
    costBasis: project.costBasis === 'TTC' ? 'TTC' : 'HT',
    startsOn: project.startsOn || null,
  };
}

// ---------------------------------------------------------------------------------------
// Small form helpers

/**
 * A whole number of euros read from a number input: { value } (a Number), { empty: true }, or
 * { error } (a French message). `min` is the smallest accepted value, `minMessage` what to say
 * below it.
 */
function readEuros(input, { min = 0, minMessage = 'Le montant doit être supérieur à zéro.' } = {}) {
  if (input.validity.badInput) return { error: 'Indiquez un montant en chiffres.' };
  const raw = input.value.trim();
  if (!raw) return { empty: true };
  const n = Number(raw);
  if (!Number.isFinite(n)) return { error: 'Indiquez un montant en chiffres.' };
  if (n < 0) return { error: 'Le montant ne peut pas être négatif.' };
  if (!Number.isInteger(n)) return { error: 'Indiquez un montant en euros, sans centimes.' };
  if (n > Number.MAX_SAFE_INTEGER) return { error: 'Ce montant est trop élevé.' };
  if (n < min) return { error: minMessage };
  return { value: n };
}

function eurosInput(id, describedBy) {
  return h('input', {
    id, type: 'number', inputmode: 'numeric', min: '0', step: '1', autocomplete: 'off', 'aria-describedby': describedBy,
  });
}

// ---------------------------------------------------------------------------------------
// Results

/** « 4 dispositifs éligibles, 2 à vérifier », « Aucun dispositif éligible, aucun à vérifier » */
function countsText(eligible, toCheck) {
  const e = eligible === 0
    ? 'Aucun dispositif éligible'
    : `${F.formatNumber(eligible)} ${plural(eligible, 'dispositif éligible', 'dispositifs éligibles')}`;
  return `${e}, ${toCheck === 0 ? 'aucun' : F.formatNumber(toCheck)} à vérifier`;
}

function criterionItem(c) {
  const status = statusKey(c) === 'INFO' ? INFORMATION : CRITERION_STATUSES[c.status] || CRITERION_STATUSES.UNKNOWN;
  return h('li', { class: `criterion criterion-${status.cls}`, 'data-code': c.code },
    h('span', { class: 'criterion-status' }, h('span', { 'aria-hidden': 'true' }, status.symbol), ` ${status.text}`),
    h('span', { class: 'visually-hidden' }, ' : '),
    h('span', { class: 'criterion-message' },
      h('span', { class: 'criterion-label' }, `${L.label(L.CRITERIA, c.code)} : `), c.message));
}

function matchItem(m) {
  const s = m.scheme;
  const range = m.estimatedAmount ? F.formatAmountRange(m.estimatedAmount.min, m.estimatedAmount.max) : null;
  const cofunders = (s.funders || []).slice(1).map((f) => f.name);
  // What fails or is unknown first: that is what the holder needs to read.
  const criteria = [...m.criteria].sort((a, b) => STATUS_ORDER.indexOf(statusKey(a)) - STATUS_ORDER.indexOf(statusKey(b)));
  return h('li', { class: 'match' },
    h('h5', { class: 'match-title' }, h('a', { href: `/dispositifs/${encodeURIComponent(s.slug)}` }, s.title)),
    cofunders.length ? h('p', { class: 'match-cofunders' }, `Avec : ${cofunders.join(', ')}`) : null,
    h('p', { class: 'match-amount' }, 'Montant estimé : ', h('strong', null, range || 'montant à préciser')),
    receivingNote(m),
    h('ul', { class: 'criteria', 'aria-label': `Critères de « ${s.title} »` }, criteria.map(criterionItem)),
    m.verdict === 'INELIGIBLE' ? null
      : h('p', { class: 'match-next' }, nextStep({ ...s, receivesInGuichet: m.receivesInGuichet }, { small: true })));
}

/** Who would receive the dossier, or where to apply when the funder does not receive in Guichet. */
function receivingNote(m) {
  const s = m.scheme;
  if (m.receivesInGuichet === false) {
    const page = F.safeUrl(s.applicationUrl) || F.safeUrl(s.sourceUrl);
    return h('p', { class: 'match-receives match-receives-no' },
      'Ce financeur ne reçoit pas encore les dossiers par Guichet : ',
      page ? h('a', { href: page }, 'déposez votre demande sur sa page') : 'déposez votre demande sur sa page',
      '.');
  }
  const names = (m.recipients || []).map((r) => r.name);
  return names.length ? h('p', { class: 'match-receives' }, `Dossier transmis par Guichet à : ${names.join(', ')}.`) : null;
}

/** Matches grouped by their scheme's first funder, groups in the order of their best match. */
function byFunder(matches) {
  const groups = new Map();
  for (const m of matches) {
    const first = (m.scheme.funders || [])[0];
    const name = first ? first.name : 'Autres dispositifs';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(m);
  }
  return [...groups];
}

function funderGroups(matches) {
  return byFunder(matches).map(([name, list]) => h('div', { class: 'funder-block' },
    h('h4', { class: 'funder-block-title' }, name),
    h('ul', { class: 'match-list' }, list.map(matchItem))));
}

/**
 * The schemes of one verdict: the relevant ones by funder, then the others (themes that differ
 * from the project's), folded but never dropped. The ineligible are all folded.
 */
function verdictSection(def, matches) {
  const titleId = `verdict-${def.slug}`;
  const n = matches.length;
  let body;
  if (def.collapsed) {
    body = h('details', { class: 'verdict-details' },
      h('summary', null, `Afficher ${n > 1 ? `les ${F.formatNumber(n)} dispositifs non éligibles` : 'le dispositif non éligible'} et pourquoi`),
      funderGroups(matches));
  } else {
    // `relevant` absent (an older server): everything is shown as relevant.
    const relevant = matches.filter((m) => m.relevant !== false);
    const others = matches.filter((m) => m.relevant === false);
    const k = others.length;
    body = [
      relevant.length ? funderGroups(relevant) : h('p', { class: 'hint' }, 'Aucun de ces dispositifs ne porte sur les thèmes du projet.'),
      k ? h('details', { class: 'other-schemes' },
        h('summary', null, `Autres dispositifs possibles (thèmes différents) : ${F.formatNumber(k)}`),
        h('p', { class: 'hint' }, 'Leurs thèmes diffèrent de ceux du projet, mais les thèmes ne décident pas de l’éligibilité : ces dispositifs restent possibles.'),
        funderGroups(others)) : null,
    ];
  }
  return h('section', { class: `verdict verdict-${def.slug}`, id: `section-${titleId}`, 'aria-labelledby': titleId },
    h('h3', { id: titleId, class: 'verdict-title' }, `${def.title} (${F.formatNumber(n)})`),
    def.hint ? h('p', { class: 'hint' }, def.hint) : null,
    body);
}

// ---------------------------------------------------------------------------------------
// Financing plan

/**
 * The editable plan, pre-filled from `suggestion`: own funds, one line per expected aid
 * (a scheme of `matches` or a funder named freely), checked with checkFinancingPlan as the
 * holder types. Returns { node, stop } (stop: no more checks, e.g. when the page goes).
 */
function planEditor({ suggestion, matches, holderType, totalCost, communeCode = null, nature = null, costBasis = null }) {
  // Schemes a line can name: the eligible and to-check ones, plus any the suggestion names.
  const schemes = new Map();
  const bySlug = new Map(matches.map((m) => [m.scheme.slug, m]));
  const schemeEntry = (m) => ({
    slug: m.scheme.slug,
    title: m.scheme.title,
    verdict: m.verdict,
    public: isPublicScheme(m.scheme.funders),
  });
  for (const m of matches) if (m.verdict !== 'INELIGIBLE') schemes.set(m.scheme.slug, schemeEntry(m));
  for (const line of suggestion.lines) {
    if (schemes.has(line.schemeSlug)) continue;
    const m = bySlug.get(line.schemeSlug);
    schemes.set(line.schemeSlug, m ? schemeEntry(m) : { slug: line.schemeSlug, title: line.funderName, verdict: null, public: line.public });
  }

  let counter = 0;
  const lines = []; // { key, node, select, nameInput, amountInput, publicBox, ... }
  const touched = new WeakSet(); // inputs the holder has left at least once
  let timer = 0;
  let controller = null;
  let seq = 0;
  let checks = 0;
  let lastSaid = '';
  let stopped = false;

  // Own funds, de minimis, totals
  const ownInput = eurosInput('plan-fonds-propres', 'plan-fonds-propres-aide');
  ownInput.value = String(suggestion.ownFunds);
  const ownError = fieldError('plan-fonds-propres-erreur', ownInput);
  const withDeMinimis = DE_MINIMIS_HOLDERS.has(holderType);
  const deMinimisInput = withDeMinimis ? eurosInput('plan-de-minimis', 'plan-de-minimis-aide') : null;
  if (deMinimisInput) deMinimisInput.value = '0';
  const deMinimisError = deMinimisInput ? fieldError('plan-de-minimis-erreur', deMinimisInput) : null;

  const list = h('ol', { class: 'plan-lines' });
  // Loans, advances and guarantees: the owner's financing, shown apart from aid.
  const loanList = h('ol', { class: 'plan-lines plan-loans' });
  const loanSection = h('div', { class: 'plan-loans-section' },
    h('h3', { class: 'plan-loans-title' }, 'Prêts, avances remboursables et garanties'),
    h('p', { class: 'hint' }, 'Le financement du porteur, à rembourser : ni une aide, ni une part des aides publiques, ni un cofinancement de LEADER.'),
    loanList);
  loanSection.hidden = true;
  const natureSelect = h('select', { id: 'plan-nature', 'aria-describedby': 'plan-nature-aide' },
    h('option', { value: '' }, 'Non précisée'),
    h('option', { value: 'INVESTMENT' }, 'Investissement'),
    h('option', { value: 'OPERATING' }, 'Fonctionnement'));
  natureSelect.value = nature || '';
  const bound = LOCAL_AUTHORITIES.has(holderType);
  const derogationBox = bound ? h('input', { id: 'plan-derogation', type: 'checkbox', 'aria-describedby': 'plan-derogation-aide' }) : null;
  const derogationField = bound ? h('div', { class: 'choice plan-derogation' },
    derogationBox,
    h('label', { for: 'plan-derogation' }, 'Dérogation accordée par le préfet'),
    h('p', { id: 'plan-derogation-aide', class: 'hint' },
      'Pour un investissement, le maître d’ouvrage public apporte au moins 20 % des financements publics (CGCT, art. L1111-10 III), sauf dérogation du préfet ; la règle ne vise pas le fonctionnement ni l’outre-mer.')) : null;
  const showDerogation = () => {
    if (derogationField) derogationField.hidden = natureSelect.value === 'OPERATING';
  };
  showDerogation();
  const loansValue = h('dd');
  const noteList = h('div', { class: 'plan-notes' });
  const addButton = h('button', { type: 'button', class: 'button button-secondary' }, 'Ajouter une ligne');
  const topProblems = h('div', { class: 'plan-problems' });
  const totalValue = h('dd');
  const balanceValue = h('dd');
  const publicValue = h('dd');
  const ownShareValue = h('dd');
  const status = h('p', { class: 'plan-status' });
  const check = h('div', { class: 'plan-check' },
    status,
    topProblems,
    noteList,
    h('dl', { class: 'plan-summary' },
      h('div', null, h('dt', null, 'Coût total du projet'), h('dd', null, F.formatEuros(totalCost))),
      h('div', null, h('dt', null, 'Total du plan'), totalValue),
      h('div', null, h('dt', null, 'Prêts et avances (hors aides)'), loansValue),
      h('div', null, h('dt', null, 'Équilibre'), balanceValue),
      h('div', null, h('dt', null, 'Part publique'), publicValue),
      h('div', null, h('dt', null, 'Part des fonds propres'), ownShareValue)));

  function schemeOptions() {
    const groups = [['ELIGIBLE', 'Dispositifs éligibles'], ['TO_CHECK', 'Dispositifs à vérifier'], [null, 'Autres dispositifs']];
    return groups.map(([verdict, label]) => {
      const items = [...schemes.values()].filter((s) => (verdict ? s.verdict === verdict : s.verdict !== 'ELIGIBLE' && s.verdict !== 'TO_CHECK'));
      return items.length ? h('optgroup', { label }, items.map((s) => h('option', { value: s.slug }, s.title))) : null;
    });
  }

  /** Checks again as `input` changes, and once more when it is first left (then it is « touched »). */
  function watch(input) {
    input.addEventListener('input', schedule);
    input.addEventListener('blur', () => {
      if (!touched.has(input)) {
        touched.add(input);
        schedule();
      }
    });
  }

  function addLine({ slug = null, name = '', amount = '', isPublic = true, aidType = 'GRANT', reason = '' } = {}) {
    counter += 1;
    const base = `plan-ligne-${counter}`;
    const legend = h('legend');
    const select = h('select', { id: `${base}-dispositif` },
      h('option', { value: '' }, 'Autre financeur (hors catalogue)'),
      schemeOptions());
    select.value = slug || '';
    const nameInput = h('input', { id: `${base}-financeur`, type: 'text', autocomplete: 'off', maxlength: '200' });
    nameInput.value = name;
    const amountInput = eurosInput(`${base}-montant`, null);
    amountInput.value = amount === '' ? '' : String(amount);
    const publicBox = h('input', { id: `${base}-public`, type: 'checkbox' });
    publicBox.checked = isPublic;
    const typeSelect = h('select', { id: `${base}-forme` }, LINE_TYPES.map(([value, label]) => h('option', { value }, label)));
    typeSelect.value = LINE_TYPES.some(([value]) => value === aidType) ? aidType : 'GRANT';
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Retirer');
    const problems = h('ul', { id: `${base}-problemes`, class: 'line-problems', hidden: true });
    const line = {
      key: counter,
      select,
      nameInput,
      amountInput,
      publicBox,
      typeSelect,
      remove,
      legend,
      problems,
      selectError: fieldError(`${base}-dispositif-erreur`, select),
      nameError: fieldError(`${base}-financeur-erreur`, nameInput),
      amountError: fieldError(`${base}-montant-erreur`, amountInput),
    };
    const nameField = h('div', { class: 'field plan-line-name' },
      h('label', { for: nameInput.id }, 'Nom du financeur'), nameInput, line.nameError.slot);
    nameField.hidden = !!select.value;
    line.node = h('li', { class: 'plan-line' },
      h('fieldset', null,
        legend,
        h('div', { class: 'plan-line-grid' },
          h('div', { class: 'field plan-line-scheme' },
            h('label', { for: select.id }, 'Dispositif ou financeur'), select, line.selectError.slot),
          nameField,
          h('div', { class: 'field plan-line-amount' },
            h('label', { for: amountInput.id }, 'Montant (€)'), amountInput, line.amountError.slot),
          h('div', { class: 'field plan-line-type' },
            h('label', { for: typeSelect.id }, 'Forme'), typeSelect),
          h('div', { class: 'choice plan-line-public' },
            publicBox, h('label', { for: publicBox.id }, 'Financement public')),
          h('p', { class: 'plan-line-remove' }, remove)),
        reason ? h('p', { class: 'plan-line-reason hint' }, reason) : null,
        problems));

    select.addEventListener('change', () => {
      const scheme = schemes.get(select.value);
      nameField.hidden = !!scheme;
      if (scheme) publicBox.checked = scheme.public;
      schedule();
    });
    watch(nameInput);
    watch(amountInput);
    publicBox.addEventListener('change', schedule);
    typeSelect.addEventListener('change', () => {
      place(line);
      typeSelect.focus();
      schedule();
    });
    remove.addEventListener('click', () => removeLine(line));
    lines.push(line);
    place(line);
    return line;
  }

  /** A line goes with the aid, or apart with the loans, after its form. */
  function place(line) {
    const target = isRepayable(line.typeSelect.value) ? loanList : list;
    if (line.node.parentNode !== target) {
      // Keep the plan's order within each list.
      const after = lines.slice(lines.indexOf(line) + 1).find((l) => l.node.parentNode === target);
      target.insertBefore(line.node, after ? after.node : null);
    }
    loanSection.hidden = !loanList.children.length;
  }

  function renumber() {
    lines.forEach((line, i) => {
      line.legend.textContent = `Ligne ${i + 1}`;
      line.remove.setAttribute('aria-label', `Retirer la ligne ${i + 1}`);
    });
  }

  function removeLine(line) {
    const i = lines.indexOf(line);
    if (i < 0) return;
    lines.splice(i, 1);
    line.node.remove();
    loanSection.hidden = !loanList.children.length;
    renumber();
    const next = lines[i] || lines[i - 1];
    (next ? next.select : addButton).focus();
    lastSaid = `Ligne ${i + 1} retirée.`;
    announce(lastSaid);
    schedule();
  }

  addButton.addEventListener('click', () => {
    const line = addLine();
    renumber();
    line.select.focus();
    lastSaid = `Ligne ${lines.length} ajoutée : choisissez un dispositif ou indiquez un financeur, puis le montant.`;
    announce(lastSaid);
    schedule();
  });

  watch(ownInput);
  if (deMinimisInput) watch(deMinimisInput);
  natureSelect.addEventListener('change', () => {
    showDerogation();
    schedule();
  });
  if (derogationBox) derogationBox.addEventListener('change', schedule);

  for (const line of suggestion.lines) {
    addLine({
      slug: line.schemeSlug, name: '', amount: line.amount, isPublic: line.public, aidType: line.aidType, reason: line.reason,
    });
  }
  renumber();

  // Checking

  function clearProblems() {
    for (const e of [ownError, deMinimisError]) if (e) e.clear();
    for (const line of lines) {
      line.selectError.clear();
      line.nameError.clear();
      line.amountError.clear();
      line.problems.replaceChildren();
      line.problems.hidden = true;
    }
    topProblems.replaceChildren();
    noteList.replaceChildren();
  }

  /**
   * The plan as the form holds it: { plan, keys } ready to send, or what keeps it from being
   * checked: { errors: [[fieldError, message]] } (shown) and { missing: [text] } (fields not
   * filled in yet, not an error until the holder leaves them).
   */
  function collect() {
    const errors = [];
    const missing = [];
    const euros = (input, error, label) => {
      const r = readEuros(input);
      if (r.error) errors.push([error, r.error]);
      else if (r.empty) {
        if (touched.has(input)) errors.push([error, 'Indiquez un montant (0 si aucun).']);
        else missing.push(label);
      }
      return r.value;
    };
    const ownFunds = euros(ownInput, ownError, 'les fonds propres');
    const previousDeMinimis = deMinimisInput ? euros(deMinimisInput, deMinimisError, 'les aides de minimis reçues') : 0;
    const planLines = lines.map((line, i) => {
      const slug = line.select.value || null;
      const name = line.nameInput.value.trim();
      if (!slug && !name) {
        if (touched.has(line.nameInput)) errors.push([line.nameError, 'Indiquez le nom du financeur.']);
        else missing.push(`le financeur de la ligne ${i + 1}`);
      }
      const amount = euros(line.amountInput, line.amountError, `le montant de la ligne ${i + 1}`);
      const aidType = line.typeSelect.value;
      return slug
        ? { schemeSlug: slug, amount, public: line.publicBox.checked, aidType }
        : { funderName: name, amount, public: line.publicBox.checked, aidType };
    });
    const sum = (ownFunds || 0) + planLines.reduce((s, l) => s + (l.amount || 0), 0);
    const loans = planLines.reduce((s, l) => s + (isRepayable(l.aidType) ? l.amount || 0 : 0), 0);
    const plan = { holderType, totalCost, ownFunds, lines: planLines, previousDeMinimis };
    if (natureSelect.value) plan.nature = natureSelect.value;
    if (derogationBox && derogationBox.checked && natureSelect.value !== 'OPERATING') plan.derogation = true;
    if (communeCode) plan.communeCode = communeCode;
    if (costBasis) plan.costBasis = costBasis;
    return {
      errors,
      missing,
      sum,
      loans,
      keys: lines.map((l) => l.key),
      plan,
    };
  }

  function showTotals(sum, loans) {
    totalValue.textContent = `${F.formatEuros(sum)} (fonds propres et financements)`;
    loansValue.textContent = F.formatEuros(loans || 0);
  }

  function unknownShares() {
    for (const dd of [balanceValue, publicValue, ownShareValue]) dd.textContent = '—';
    balanceValue.className = '';
  }

  function say(text) {
    if (text === lastSaid) return;
    lastSaid = text;
    // The first check follows the results, whose announcement it must not cut.
    if (checks > 1) announce(text);
  }

  function problemList(messages) {
    return h('div', { class: 'alert alert-error' },
      messages.length > 1
        ? h('ul', { class: 'plain-list' }, messages.map((m) => h('li', null, m)))
        : h('p', null, messages[0]));
  }

  function showResult(result, sent) {
    const diff = totalCost - sent.sum;
    balanceValue.textContent = result.balanced
      ? 'Équilibré'
      : `Non équilibré : ${diff > 0 ? `il manque ${F.formatEuros(diff)}` : `${F.formatEuros(-diff)} de trop`}`;
    balanceValue.className = result.balanced ? 'plan-ok' : 'plan-ko';
    publicValue.textContent = F.formatPercent(result.publicShare * 100);
    ownShareValue.textContent = F.formatPercent(result.ownShare * 100);

    const top = [];
    for (const v of result.violations) {
      const key = v.line == null ? null : sent.keys[v.line];
      const line = key == null ? null : lines.find((l) => l.key === key);
      if (!line) {
        top.push(v.message);
        continue;
      }
      line.problems.append(h('li', { class: 'field-error' }, v.message));
      line.problems.hidden = false;
      line.amountInput.setAttribute('aria-invalid', 'true');
      line.amountInput.setAttribute('aria-describedby', line.problems.id);
    }
    if (top.length) topProblems.replaceChildren(problemList(top));
    const notes = result.warnings || [];
    if (notes.length) {
      noteList.replaceChildren(h('div', { class: 'alert plan-check-warnings' },
        h('ul', { class: 'plain-list' }, notes.map((w) => h('li', null, w)))));
    }
    const n = result.violations.length;
    if (n === 0) {
      status.textContent = 'Plan vérifié : il respecte les règles de cofinancement connues.';
      status.className = 'plan-status plan-ok';
      say('Plan de financement vérifié : aucun problème.');
    } else {
      status.textContent = `${F.formatNumber(n)} ${plural(n, 'problème à corriger', 'problèmes à corriger')}.`;
      status.className = 'plan-status plan-ko';
      say(`Plan de financement : ${n} ${plural(n, 'problème', 'problèmes')}. ${result.violations.map((v) => v.message).join(' ')}`);
    }
  }

  /** A refused plan (VALIDATION): the message next to the field it names, else on top. */
  function showRefusal(err, sent) {
    unknownShares();
    const m = /^lines\[(\d+)\]\.(\w+)$/.exec(err.field || '');
    const line = m ? lines.find((l) => l.key === sent.keys[Number(m[1])]) : null;
    let target = null;
    if (line) target = { amount: line.amountError, funderName: line.nameError, schemeSlug: line.selectError }[m[2]] || line.amountError;
    else if (err.field === 'ownFunds') target = ownError;
    else if (err.field === 'previousDeMinimis') target = deMinimisError;
    if (line && m[2] === 'aidType') target = line.amountError;
    if (target) target.show(err.message);
    else topProblems.replaceChildren(problemList([err.message]));
    status.textContent = 'Plan non vérifié : corrigez ce qui est signalé.';
    status.className = 'plan-status plan-ko';
    say(`Plan de financement : ${err.message}`);
  }

  function schedule() {
    if (stopped) return;
    clearTimeout(timer);
    check.setAttribute('aria-busy', 'true');
    const now = collect();
    showTotals(now.sum, now.loans);
    timer = setTimeout(run, CHECK_DELAY);
  }

  async function run() {
    clearTimeout(timer);
    if (stopped) return;
    const mine = ++seq;
    if (controller) controller.abort();
    controller = null;
    checks += 1;
    const sent = collect();
    clearProblems();
    showTotals(sent.sum, sent.loans);
    // The plan as it stands, for « Préparer mon dossier ».
    if (!sent.errors.length && !sent.missing.length) {
      const { ownFunds, lines: planLines, previousDeMinimis, derogation } = sent.plan;
      rememberPlan({ ownFunds, lines: planLines, previousDeMinimis, derogation: !!derogation });
    }
    if (sent.errors.length || sent.missing.length) {
      for (const [error, message] of sent.errors) error.show(message);
      unknownShares();
      status.className = sent.errors.length ? 'plan-status plan-ko' : 'plan-status';
      status.textContent = sent.errors.length
        ? 'Plan non vérifié : corrigez ce qui est signalé.'
        : `Plan non vérifié : indiquez ${sent.missing[0]}.`;
      // Only errors are announced: a field not filled in yet is the holder's next step.
      if (sent.errors.length) say(`Plan de financement : ${sent.errors[0][1]}`);
      check.removeAttribute('aria-busy');
      return;
    }
    controller = new AbortController();
    check.setAttribute('aria-busy', 'true');
    try {
      const data = await graphql(CHECK_QUERY, { plan: sent.plan }, { signal: controller.signal });
      if (mine !== seq) return;
      showResult(data.checkFinancingPlan, sent);
    } catch (err) {
      if (mine !== seq || isAbort(err)) return;
      if (err && err.code === 'VALIDATION' && err.message) {
        showRefusal(err, sent);
      } else {
        unknownShares();
        status.textContent = '';
        topProblems.replaceChildren(errorBlock(err, () => run()));
        say(err.message);
      }
    } finally {
      if (mine === seq) {
        controller = null;
        check.removeAttribute('aria-busy');
      }
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    seq += 1;
    if (controller) controller.abort();
    controller = null;
    check.removeAttribute('aria-busy');
  }

  const warnings = suggestion.warnings || [];
  const node = h('div', { class: 'plan-editor' },
    h('p', null, suggestion.lines.length
      ? `Plan proposé : ${F.formatEuros(suggestion.totalAid)} d’aides${suggestion.totalLoans ? `, ${F.formatEuros(suggestion.totalLoans)} de prêts (hors aides)` : ''} et ${F.formatEuros(suggestion.ownFunds)} de fonds propres, à partir des dispositifs éligibles et à vérifier. `
      : 'Aucun dispositif ne permet d’estimer un montant : ajoutez les financements que vous attendez. ',
    'Modifiez les montants, ajoutez ou retirez des lignes : le plan est vérifié à mesure que vous tapez. ',
    'Décochez « Financement public » pour un apport privé (mécénat, fondation) ; pour un emprunt, choisissez la forme « Prêt » : il est présenté à part des aides.'),
    warnings.length ? h('div', { class: 'alert plan-warnings' },
      h('h3', { class: 'plan-warnings-title' }, 'À savoir'),
      h('ul', { class: 'plain-list' }, warnings.map((w) => h('li', null, w)))) : null,
    h('form', { class: 'plan-form', novalidate: true, 'aria-label': 'Plan de financement' },
      h('h3', { class: 'plan-check-title' }, 'Vérification du plan'),
      check,
      h('h3', { class: 'plan-lines-title' }, 'Fonds propres et financements demandés'),
      h('div', { class: 'plan-context' },
        // The nature is asked once: here only when the project's description leaves it open.
        nature
          ? h('p', { class: 'plan-nature' },
            `Nature de l’opération : ${L.label(L.NATURES, nature).toLowerCase()}, comme indiqué dans la description du projet.`)
          : h('div', { class: 'field' },
            h('label', { for: natureSelect.id }, 'Nature de l’opération'),
            h('p', { id: 'plan-nature-aide', class: 'hint' }, 'Investissement (travaux, achat, équipement) ou fonctionnement (animation, emplois, frais courants).'),
            natureSelect),
        derogationField),
      h('div', { class: 'plan-own' },
        h('div', { class: 'field' },
          h('label', { for: ownInput.id }, 'Fonds propres du porteur (€)'),
          h('p', { id: 'plan-fonds-propres-aide', class: 'hint' }, 'Ce que le porteur finance lui-même (budget, emprunt).'),
          ownInput, ownError.slot),
        deMinimisInput ? h('div', { class: 'field' },
          h('label', { for: deMinimisInput.id }, 'Aides de minimis reçues ces trois dernières années (€)'),
          h('p', { id: 'plan-de-minimis-aide', class: 'hint' }, 'Les aides publiques reçues sous le régime de minimis : elles comptent dans le plafond.'),
          deMinimisInput, deMinimisError.slot) : null),
      list,
      loanSection,
      h('p', { class: 'plan-add' }, addButton)));
  node.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });

  run();
  return { node, stop };
}

// ---------------------------------------------------------------------------------------
// Page

export async function projectPage({ query, signal, setUrl }) {
  let state = readProject(query);
  let commune = null; // the Territory of `chosenCode`, once known
  let chosenCode = null; // the commune of the form (becomes state.commune when sent)
  let seq = 0;
  let controller = null;
  let plan = null; // the plan editor shown
  let initial = true;

  // Holder type
  const holderSelect = h('select', { id: 'projet-porteur', name: 'porteur', required: true, 'aria-describedby': 'projet-porteur-aide' },
    h('option', { value: '' }, 'Choisissez dans la liste'),
    Object.entries(L.HOLDER_TYPES).map(([value, text]) => h('option', { value }, text)));
  const holderError = fieldError('projet-porteur-erreur', holderSelect);

  // Commune
  const communeSlot = h('div', { class: 'chosen-commune-slot' });
  const combobox = communeCombobox({
    label: 'Commune du projet',
    hint: 'Là où le projet se réalise. Nom, code postal ou code INSEE ; choisissez dans la liste avec les flèches puis Entrée.',
    onSelect(t) {
      comboInput.value = '';
      commune = t;
      chosenCode = t.code;
      communeError.clear();
      renderCommune();
      announce(`Commune choisie : ${t.name}.`);
    },
  });
  const comboInput = combobox.querySelector('input');
  comboInput.setAttribute('aria-required', 'true');
  const communeError = fieldError('projet-commune-erreur', comboInput);

  function renderCommune() {
    if (!chosenCode) {
      communeSlot.replaceChildren();
      return;
    }
    const t = commune && commune.code === chosenCode ? commune : null;
    communeSlot.replaceChildren(chosenCommune('Commune choisie : ', t, chosenCode, () => {
      commune = null;
      chosenCode = null;
      renderCommune();
      comboInput.focus();
    }));
  }

  async function resolveCommune(code) {
    try {
      const data = await graphql(TERRITORY_QUERY, { code }, { signal });
      if (data.territory && data.territory.kind === 'COMMUNE' && chosenCode === code) {
        commune = data.territory;
        renderCommune();
      }
    } catch (err) {
      if (!isAbort(err)) console.warn('Commune non trouvée', err);
    }
  }

  // Themes
  const themeBoxes = new Map();
  const themeChoices = Object.entries(L.THEMES).map(([value, text]) => {
    const id = `projet-theme-${value}`;
    const box = h('input', { type: 'checkbox', id, name: 'theme', value });
    themeBoxes.set(value, box);
    return h('div', { class: 'choice' }, box, h('label', { for: id }, text));
  });
  const themesFieldset = h('fieldset', { class: 'choices projet-themes', 'aria-describedby': 'projet-themes-aide' },
    h('legend', null, 'Thèmes du projet'),
    h('p', { id: 'projet-themes-aide', class: 'hint' }, 'Facultatif. Sans thème coché, tous les dispositifs sont examinés.'),
    h('div', { class: 'theme-grid' }, themeChoices));
  const themesError = fieldError('projet-themes-erreur', themesFieldset, { invalid: false });
  themesFieldset.append(themesError.slot);

  // Nature of the operation: some schemes fund only investment, or only operating costs.
  const natureSelect = h('select', { id: 'projet-nature', name: 'nature', 'aria-describedby': 'projet-nature-aide' },
    h('option', { value: '' }, 'Je ne sais pas'),
    Object.entries(L.NATURES).map(([value, text]) => h('option', { value }, text)));

  // Cost (HT or TTC), start, description
  const basisSelect = h('select', { id: 'projet-base', name: 'base', 'aria-describedby': 'projet-cout-aide' },
    Object.entries(L.COST_BASES).map(([value, text]) => h('option', { value }, text)));
  const costInput = eurosInput('projet-cout', 'projet-cout-aide');
  costInput.setAttribute('min', '1');
  costInput.setAttribute('name', 'cout');
  const costError = fieldError('projet-cout-erreur', costInput);
  const startInput = h('input', { id: 'projet-debut', name: 'debut', type: 'date', 'aria-describedby': 'projet-debut-aide' });
  const startError = fieldError('projet-debut-erreur', startInput);
  const textInput = h('textarea', {
    id: 'projet-description', name: 'description', rows: '4', maxlength: String(MAX_DESCRIPTION), 'aria-describedby': 'projet-description-aide',
  });
  const textError = fieldError('projet-description-erreur', textInput);

  const submit = h('button', { type: 'submit', class: 'button' }, 'Voir les aides possibles');
  const form = h('form', { class: 'projet-form', novalidate: true, 'aria-labelledby': 'projet-form-titre' },
    h('div', { class: 'field' },
      h('label', { for: holderSelect.id }, 'Type de porteur'),
      h('p', { id: 'projet-porteur-aide', class: 'hint' }, 'La structure qui mène le projet et demande les aides.'),
      holderSelect, holderError.slot),
    h('div', { class: 'field' }, combobox, communeSlot, communeError.slot),
    themesFieldset,
    h('div', { class: 'field' },
      h('label', { for: natureSelect.id }, 'Nature des dépenses'),
      h('p', { id: 'projet-nature-aide', class: 'hint' },
        'Investissement : travaux, achat de bâtiment ou d’équipement. Fonctionnement : animation, salaires, prestations, loyers. '
        + 'Certains dispositifs ne financent que l’un des deux.'),
      natureSelect),
    h('div', { class: 'field projet-cout' },
      h('label', { for: costInput.id }, 'Coût total du projet (€)'),
      h('p', { id: 'projet-cout-aide', class: 'hint' }, 'Facultatif, en euros, hors taxes (HT) ou toutes taxes comprises (TTC) : précisez-le à côté. Il sert à estimer les aides et à proposer un plan de financement. '
        + 'Une structure qui ne récupère pas la TVA présente souvent son budget TTC.'),
      h('div', { class: 'cost-with-basis' },
        costInput,
        h('label', { for: basisSelect.id, class: 'visually-hidden' }, 'Montant hors taxes ou toutes taxes comprises'),
        basisSelect),
      costError.slot),
    h('div', { class: 'field' },
      h('label', { for: startInput.id }, 'Date de début des travaux'),
      h('p', { id: 'projet-debut-aide', class: 'hint' },
        'Facultatif. Le premier engagement : signature d’un devis ou d’un bon de commande, ou début des travaux. ',
        h('strong', null, 'Attention : signer un devis ou commencer les travaux avant de déposer la demande d’aide peut rendre le projet inéligible.')),
      startInput, startError.slot),
    h('div', { class: 'field' },
      h('label', { for: textInput.id }, 'Description du projet'),
      h('p', { id: 'projet-description-aide', class: 'hint' }, 'Facultatif. Quelques mots sur le projet : ils aident à classer les dispositifs.'),
      textInput, textError.slot),
    h('p', { class: 'projet-submit' }, submit));

  const FIELD_ERRORS = {
    holderType: holderError,
    communeCode: communeError,
    themes: themesError,
    totalCost: costError,
    costBasis: costError,
    startsOn: startError,
    text: textError,
  };
  const allErrors = Object.values(FIELD_ERRORS);
  const focusTarget = (error) => (error === themesError ? themeBoxes.values().next().value : error.control);

  function fillForm(project) {
    holderSelect.value = project.holderType || '';
    if (chosenCode !== project.commune) {
      chosenCode = project.commune;
      if (!commune || commune.code !== chosenCode) commune = null;
    }
    renderCommune();
    for (const [value, box] of themeBoxes) box.checked = project.themes.includes(value);
    natureSelect.value = project.nature || '';
    costInput.value = project.cost;
    basisSelect.value = project.costBasis === 'TTC' ? 'TTC' : 'HT';
    startInput.value = project.startsOn;
    textInput.value = project.text;
    for (const e of allErrors) e.clear();
  }

  /** The project of the form: { project } or { errors: [[fieldError, message]] }. */
  function readForm() {
    const errors = [];
    if (!holderSelect.value) errors.push([holderError, 'Choisissez le type de porteur du projet.']);
    if (comboInput.value.trim()) {
      // Typed but not chosen: the holder may believe the commune changed.
      errors.push([communeError, chosenCode
        ? 'Choisissez la nouvelle commune dans la liste proposée, ou effacez ce que vous avez tapé.'
        : 'Choisissez la commune dans la liste proposée.']);
    } else if (!chosenCode) {
      errors.push([communeError, 'Indiquez la commune du projet, puis choisissez-la dans la liste.']);
    }
    const cost = readEuros(costInput, { min: 1, minMessage: 'Le coût total doit être supérieur à zéro.' });
    if (cost.error) errors.push([costError, cost.error]);
    if (startInput.validity.badInput || (startInput.value && !isDate(startInput.value))) {
      errors.push([startError, 'Indiquez une date complète : jour, mois et année.']);
    }
    if (errors.length) return { errors };
    return {
      project: {
        holderType: holderSelect.value,
        commune: chosenCode,
        themes: [...themeBoxes].filter(([, box]) => box.checked).map(([value]) => value),
        nature: natureSelect.value,
        cost: cost.value ? String(cost.value) : '',
        costBasis: basisSelect.value === 'TTC' ? 'TTC' : 'HT',
        startsOn: startInput.value,
        text: textInput.value.trim().slice(0, MAX_DESCRIPTION),
      },
    };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const err of allErrors) err.clear();
    const { project, errors } = readForm();
    if (errors) {
      for (const [error, message] of errors) error.show(message);
      focusTarget(errors[0][0]).focus();
      announce(errors.length > 1
        ? `Le formulaire comporte ${errors.length} erreurs. ${errors.map(([, m]) => m).join(' ')}`
        : errors[0][1]);
      return;
    }
    state = project;
    setUrl(projectUrl(state), { push: true });
    run({ focus: true });
  });

  // Results and plan
  const heading = h('h2', { id: 'projet-resultats-titre', class: 'results-total', tabindex: '-1' }, 'Aides possibles');
  const resultsBody = h('div', { class: 'results-body projet-results-body' });
  const resultsSection = h('section', { class: 'section projet-results', 'aria-labelledby': 'projet-resultats-titre', hidden: true },
    h('div', { class: 'results-bar' }, heading),
    resultsBody);
  const planBody = h('div', { class: 'plan-body' });
  const planSection = h('section', { class: 'section projet-plan', 'aria-labelledby': 'projet-plan-titre', hidden: true },
    h('h2', { id: 'projet-plan-titre' }, 'Plan de financement'),
    planBody);

  function clearPlan() {
    if (plan) plan.stop();
    plan = null;
    planBody.replaceChildren();
  }

  function showResults(r) {
    heading.textContent = countsText(r.eligibleCount, r.toCheckCount);
    const groups = { ELIGIBLE: [], TO_CHECK: [], INELIGIBLE: [] };
    for (const m of r.matches) (groups[m.verdict] || groups.INELIGIBLE).push(m);
    const nodes = [];
    if (r.matches.length === 0) {
      nodes.push(h('p', { class: 'empty' }, 'Aucun dispositif n’est encore publié.'));
    } else if (groups.ELIGIBLE.length === 0 && groups.TO_CHECK.length === 0) {
      nodes.push(h('div', { class: 'empty-state' },
        h('p', null, 'Aucun dispositif ne correspond à ce projet.'),
        h('p', null, 'Essayez d’autres thèmes (ou aucun), ou vérifiez le type de porteur et la commune. '
          + 'La liste des dispositifs non éligibles ci-dessous dit, pour chacun, quelle condition n’est pas remplie.')));
    }
    for (const def of VERDICTS) if (groups[def.verdict].length) nodes.push(verdictSection(def, groups[def.verdict]));
    resultsBody.replaceChildren(...nodes);
  }

  function showPlan(suggestion, matches) {
    clearPlan();
    planSection.hidden = false;
    if (!state.cost) {
      planBody.replaceChildren(h('p', null,
        'Indiquez le coût total du projet pour obtenir une proposition de plan de financement. ',
        h('button', {
          type: 'button',
          class: 'button-link',
          onclick() {
            costInput.focus();
          },
        }, 'Indiquer le coût total')));
      return;
    }
    plan = planEditor({
      suggestion,
      matches,
      holderType: state.holderType,
      totalCost: Number(state.cost),
      communeCode: state.commune,
      nature: state.nature || null,
      costBasis: state.costBasis || null,
    });
    planBody.replaceChildren(plan.node);
  }

  function setBusy(busy) {
    if (busy) {
      resultsBody.setAttribute('aria-busy', 'true');
      resultsBody.classList.add('is-loading');
      submit.setAttribute('aria-disabled', 'true');
      submit.textContent = 'Recherche en cours…';
    } else {
      resultsBody.removeAttribute('aria-busy');
      resultsBody.classList.remove('is-loading');
      submit.removeAttribute('aria-disabled');
      submit.textContent = 'Voir les aides possibles';
    }
  }

  async function run({ focus = false } = {}) {
    const mine = ++seq;
    if (controller) controller.abort();
    controller = new AbortController();
    resultsSection.hidden = false;
    // What « Préparer mon dossier » starts from: this project, and the plan once checked.
    rememberProject(projectUrl(state).split('?')[1] || '');
    rememberPlan(null);
    if (!resultsBody.hasChildNodes()) heading.textContent = 'Recherche des aides…';
    setBusy(true);
    let focused = false;
    try {
      const data = await graphql(MATCH_QUERY, { project: projectInput(state) }, { signal: controller.signal });
      if (mine !== seq) return;
      showResults(data.matchProject);
      showPlan(data.suggestFinancingPlan, data.matchProject.matches);
      if (!initial) {
        const { eligibleCount: e, toCheckCount: t } = data.matchProject;
        announce(`${countsText(e, t)}.${state.cost && e + t > 0 ? ' Un plan de financement est proposé après la liste.' : ''}`);
      }
    } catch (err) {
      if (mine !== seq || isAbort(err)) return;
      clearPlan();
      planSection.hidden = true;
      heading.textContent = 'Résultats indisponibles';
      const target = err && err.code === 'VALIDATION' ? FIELD_ERRORS[err.field] : null;
      if (target) {
        target.show(err.message);
        resultsBody.replaceChildren(h('p', { class: 'alert alert-error' }, `${err.message} Corrigez le formulaire puis relancez la recherche.`));
        announce(err.message);
        if (focus) {
          focusTarget(target).focus();
          focused = true;
        }
      } else if (err && err.code === 'VALIDATION' && err.message) {
        resultsBody.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert' }, h('p', null, err.message)));
      } else {
        resultsBody.replaceChildren(errorBlock(err, () => run({ focus: true })));
      }
    } finally {
      if (mine === seq) {
        controller = null;
        setBusy(false);
        if (focus && !focused) heading.focus();
      }
    }
  }

  function clearResults() {
    seq += 1;
    if (controller) controller.abort();
    controller = null;
    setBusy(false);
    clearPlan();
    resultsBody.replaceChildren();
    resultsSection.hidden = true;
    planSection.hidden = true;
  }

  /** Follows the address after Back or Forward. */
  function update(params) {
    state = readProject(params);
    fillForm(state);
    if (state.commune && !commune) resolveCommune(state.commune);
    if (isComplete(state)) run();
    else clearResults();
  }

  signal.addEventListener('abort', () => {
    seq += 1;
    if (controller) controller.abort();
    clearPlan();
  });

  fillForm(state);
  await Promise.all([
    isComplete(state) ? run() : null,
    state.commune ? resolveCommune(state.commune) : null,
  ]);
  initial = false;

  return {
    title: 'Mon projet',
    update,
    content: [
      h('h1', null, 'Mon projet'),
      h('p', { class: 'lead' },
        'Décrivez votre projet en quelques champs : Guichet vérifie, dispositif par dispositif, les conditions ',
        'd’éligibilité, puis vous propose un plan de financement que vous pouvez ajuster.'),
      h('section', { class: 'section projet-describe', 'aria-labelledby': 'projet-form-titre' },
        h('h2', { id: 'projet-form-titre' }, 'Votre projet'),
        form),
      resultsSection,
      planSection,
    ],
  };
}
