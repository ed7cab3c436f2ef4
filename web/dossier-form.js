// The holder's dossier form (`/dossiers/nouveau`, `/dossiers/{id}/modifier?etape=N`), in six
// steps: 1 Porteur, 2 Projet, 3 Dépenses, 4 Plan de financement, 5 Pièces jointes, 6 Dépôt.
// Each step is saved with `updateDossier` when the holder leaves it and after 1.5 s without
// typing (the first save creates the dossier and puts its address in the bar); a polite
// status says « Enregistré ». Errors of the server are shown next to the field they name.

import { graphql, isAbort } from './api.js';
import * as L from './labels.js';
import * as F from './format.js';
import { DE_MINIMIS_HOLDERS, LOCAL_AUTHORITIES, LINE_TYPES, isRepayable, isPublicScheme } from './plan-rules.js';
import { h, announce, actionError, communeCombobox, chosenCommune, fieldError } from './dom.js';
import { readProject } from './projet.js';
import { rememberedProject, rememberedPlan, nextStep } from './preparation.js';
import {
  DOSSIER_FIELDS, DOSSIER_QUERY, plural, timeNow, breadcrumb, loginNeeded, forbidden, textField, busy,
  newIdempotencyKey, normalizeField, stepOfField, graphqlUpload, attachmentList,
} from './dossier-ui.js';

const AUTOSAVE_DELAY = 1500;
const CHECK_DELAY = 400;
const MAX_FILE = 20 * 1024 * 1024;
const ACCEPT = '.pdf,.png,.jpg,.jpeg,.webp,.odt,.ods,.odp,.docx,.xlsx,.pptx,.doc,.xls,application/pdf,image/png,image/jpeg,image/webp';
const DOCUMENT_SUGGESTIONS = ['Délibération', 'Devis', 'Plan de financement', 'Relevé d’identité bancaire', 'Statuts', 'Plan de situation'];

const STEPS = [
  { n: 1, title: 'Porteur' },
  { n: 2, title: 'Projet' },
  { n: 3, title: 'Dépenses' },
  { n: 4, title: 'Plan de financement' },
  { n: 5, title: 'Pièces jointes' },
  { n: 6, title: 'Dépôt' },
];

const CREATE = `mutation CreateDossier($input: DossierInput!) { createDossier(input: $input) { ${DOSSIER_FIELDS} } }`;
const UPDATE = `mutation UpdateDossier($id: ID!, $input: DossierInput!) { updateDossier(id: $id, input: $input) { ${DOSSIER_FIELDS} } }`;
const SUBMIT = `mutation SubmitDossier($id: ID!, $schemeSlugs: [String!]!, $key: String!) {
  submitDossier(id: $id, schemeSlugs: $schemeSlugs, idempotencyKey: $key) { id reference status statusLabel }
}`;
const ADD_ATTACHMENT = `mutation AddAttachment($dossierId: ID!, $file: Upload!, $label: String!) {
  addAttachment(dossierId: $dossierId, file: $file, label: $label) { id label filename contentType size uploadedAt url }
}`;
const REMOVE_ATTACHMENT = `mutation RemoveAttachment($id: ID!) { removeAttachment(id: $id) { ${DOSSIER_FIELDS} } }`;
const PROFILE_QUERY = `query HolderProfile { holderProfile { holder {
  legalName holderType siret rna communeCode communeName representative { name role email phone } } } }`;
const MATCH_QUERY = `query DossierSchemes($project: ProjectInput!) {
  matchProject(project: $project) {
    matches { verdict receivesInGuichet scheme { slug title applicationUrl sourceUrl funders { name kind publicBody } } }
  }
  suggestFinancingPlan(project: $project) { ownFunds totalAid totalLoans warnings lines { schemeSlug funderName amount public aidType reason } }
}`;
const CHECK_QUERY = `query CheckDossierPlan($plan: FinancingPlanInput!) {
  checkFinancingPlan(plan: $plan) { balanced publicShare ownShare violations { code message line } warnings }
}`;

const PREPARE_SCHEME = 'query PrepareScheme($slug: String!) { scheme(slug: $slug) { slug title status applicationUrl sourceUrl receivesInGuichet } }';

/** A title for a draft made from « Mon projet »: the description's first sentence, or the scheme's. */
function draftTitle(text, scheme) {
  const first = (text || '').split(/(?<=[.!?])\s|\n/)[0].trim();
  const title = first.length >= 3 ? first : `Projet — ${scheme.title}`;
  return title.length > 200 ? `${title.slice(0, 199)}…` : title;
}

/**
 * « Préparer mon dossier » for the scheme `slug`: a new draft with the project and the plan
 * remembered from « Mon projet », the scheme among the plan's lines (so it is chosen at
 * submission). Resolves { dossier }, { refused: scheme } when its funder does not receive in
 * Guichet, { missing: true } for an unknown scheme, or { error } when the draft was refused.
 */
async function prepareDraft(slug, signal) {
  const { scheme } = await graphql(PREPARE_SCHEME, { slug }, { signal }).catch((err) => {
    if (err && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION')) return { scheme: null };
    throw err;
  });
  if (!scheme || scheme.status !== 'PUBLISHED') return { missing: true };
  if (scheme.receivesInGuichet === false) return { refused: scheme };
  const p = readProject(new URLSearchParams(rememberedProject() || ''));
  const input = {};
  if (p.commune) {
    input.project = {
      title: draftTitle(p.text, scheme),
      description: p.text || `Demande d’aide au titre du dispositif « ${scheme.title} ». À compléter : décrivez votre projet.`,
      themes: p.themes,
      communeCode: p.commune,
      startsOn: p.startsOn || null,
      nature: p.nature || null,
      costBasis: p.costBasis === 'TTC' ? 'TTC' : 'HT',
    };
  }
  if (p.cost && Number(p.cost) > 0) input.expenses = [{ label: 'Coût total du projet', amount: Number(p.cost) }];
  const stored = p.commune ? rememberedPlan() : null;
  const whole = (n) => Number.isSafeInteger(n) && n >= 0;
  const lines = ((stored && Array.isArray(stored.lines)) ? stored.lines : [])
    .filter((l) => l && whole(l.amount) && (l.schemeSlug || l.funderName))
    .map((l) => ({
      ...(l.schemeSlug ? { schemeSlug: String(l.schemeSlug) } : { funderName: String(l.funderName) }),
      amount: l.amount, public: l.public !== false, aidType: l.aidType || 'GRANT',
    }));
  if (!lines.some((l) => l.schemeSlug === slug)) lines.push({ schemeSlug: slug, amount: 0, public: true, aidType: 'GRANT' });
  input.financingPlan = {
    ownFunds: stored && whole(stored.ownFunds) ? stored.ownFunds : 0,
    lines,
    previousDeMinimis: stored && whole(stored.previousDeMinimis) ? stored.previousDeMinimis : 0,
    derogation: !!(stored && stored.derogation),
  };
  try {
    return { dossier: (await graphql(CREATE, { input }, { signal })).createDossier };
  } catch (err) {
    if (err && err.code === 'VALIDATION') return { error: err };
    throw err;
  }
}

const TERRITORY_QUERY = 'query DossierCommune($code: String!) { territory(code: $code) { code name kind parents { code name kind } } }';

const trim = (input) => input.value.trim();

/** A whole number of euros typed in `input`: { value }, { empty }, or { error }. */
function readEuros(input) {
  if (input.validity && input.validity.badInput) return { error: 'Indiquez un montant en chiffres.' };
  const raw = input.value.trim().replace(/[\s\u00a0\u202f]/g, '');
  if (!raw) return { empty: true };
  const n = Number(raw);
  if (!Number.isFinite(n)) return { error: 'Indiquez un montant en chiffres.' };
  if (n < 0) return { error: 'Le montant ne peut pas être négatif.' };
  if (!Number.isInteger(n)) return { error: 'Indiquez un montant en euros, sans centimes.' };
  if (n > Number.MAX_SAFE_INTEGER) return { error: 'Ce montant est trop élevé.' };
  return { value: n };
}

function eurosInput(id, attrs = {}) {
  return h('input', { id, type: 'number', inputmode: 'numeric', min: '0', step: '1', autocomplete: 'off', ...attrs });
}

/** A commune chosen with the combobox, shown under it with « Retirer ». */
function communeChooser({ label, hint, onChange }) {
  let code = null;
  let territory = null;
  const slot = h('div', { class: 'chosen-commune-slot' });
  const combobox = communeCombobox({
    label,
    hint,
    onSelect(t) {
      input.value = '';
      set(t.code, t);
      error.clear();
      announce(`Commune choisie : ${t.name}.`);
      onChange();
    },
  });
  const input = combobox.querySelector('input');
  input.setAttribute('aria-required', 'true');
  const error = fieldError(`${input.id.replace(/-input$/, '')}-erreur`, input);
  function render() {
    slot.replaceChildren(code ? chosenCommune(`${label} : `, territory, code, () => {
      set(null, null);
      input.focus();
      onChange();
    }) : '');
  }
  function set(newCode, t) {
    code = newCode;
    territory = t;
    render();
    // A commune known only by its code and name (a saved dossier): its département, once known.
    if (code && !(t && t.parents && t.parents.length)) {
      graphql(TERRITORY_QUERY, { code }).then((data) => {
        if (data.territory && code === data.territory.code) {
          territory = data.territory;
          render();
        }
      }, () => {});
    }
  }
  return {
    node: h('div', { class: 'field' }, combobox, slot, error.slot),
    input,
    error,
    get code() { return code; },
    get territory() { return territory; },
    /** Typed but not chosen. */
    get pending() { return !!input.value.trim(); },
    set,
  };
}

// ---------------------------------------------------------------------------------------

export async function dossierFormPage({ params, query, signal, setUrl, navigate, loadMe }) {
  const title = 'Mon dossier de demande';
  const me = await loadMe().catch(() => null);
  if (!me) return loginNeeded(title, 'Connectez-vous pour préparer un dossier de demande d’aide.');
  if (me.role !== 'HOLDER') {
    return forbidden(title, 'Seul un porteur de projet peut préparer un dossier. Votre compte est celui d’un agent ou de l’équipe Guichet.');
  }

  let dossierId = params[0] || null;
  let dossier = null;
  if (dossierId) {
    dossier = (await graphql(DOSSIER_QUERY, { id: dossierId }, { signal })).dossier;
    if (!dossier) {
      return {
        title: 'Dossier introuvable',
        content: [h('h1', null, 'Dossier introuvable'), h('p', null, 'Ce dossier n’existe pas ou vous n’y avez pas accès.'),
          h('p', null, h('a', { href: '/dossiers' }, 'Mes dossiers'))],
      };
    }
    if (dossier.status !== 'DRAFT') {
      return {
        title: `Dossier ${dossier.reference}`,
        content: [
          breadcrumb(['Mes dossiers', '/dossiers'], [dossier.reference]),
          h('h1', null, `Dossier ${dossier.reference}`),
          h('p', { class: 'alert alert-info' }, `Ce dossier n’est plus un brouillon (${dossier.statusLabel || L.label(L.DOSSIER_STATUSES, dossier.status)}) : il ne peut plus être modifié.`),
          h('p', null, h('a', { class: 'button', href: `/dossiers/${encodeURIComponent(dossier.id)}` }, 'Suivre le dossier')),
        ],
      };
    }
  }
  let prepared = null;
  const wanted = !dossierId && query.get('dispositif');
  if (wanted) {
    prepared = await prepareDraft(wanted, signal);
    if (prepared.refused) {
      const s = prepared.refused;
      return {
        title: s.title,
        content: [
          breadcrumb(['Mes dossiers', '/dossiers'], [s.title]),
          h('h1', null, s.title),
          h('p', { class: 'alert alert-info' }, 'Le financeur de ce dispositif ne reçoit pas encore les dossiers dans Guichet : ',
            F.safeUrl(s.applicationUrl) || F.safeUrl(s.sourceUrl) ? 'déposez votre demande sur son site.' : 'contactez-le pour savoir comment déposer votre demande.'),
          h('p', null, nextStep(s), ' ', h('a', { href: `/dispositifs/${encodeURIComponent(s.slug)}` }, 'Retour au dispositif')),
        ],
      };
    }
    if (prepared.dossier) {
      dossier = prepared.dossier;
      dossierId = dossier.id;
      setUrl(`/dossiers/${encodeURIComponent(dossierId)}/modifier?etape=${encodeURIComponent(query.get('etape') || '1')}`);
    }
  }
  let profile = null;
  if (!dossier) {
    profile = await graphql(PROFILE_QUERY, {}, { signal }).then((d) => d.holderProfile, (err) => {
      if (isAbort(err)) throw err;
      return null;
    });
  }

  let current = Math.min(6, Math.max(1, Number.parseInt(query.get('etape') || '1', 10) || 1));
  const stepUrl = (n) => (dossierId ? `/dossiers/${encodeURIComponent(dossierId)}/modifier?etape=${n}` : `/dossiers/nouveau?etape=${n}`);

  // Save status, shared by every step
  const saveStatus = h('p', { class: 'save-status', role: 'status' });
  function setStatus(text, kind = '') {
    saveStatus.textContent = text;
    saveStatus.className = `save-status${kind ? ` save-${kind}` : ''}`;
  }
  if (dossier) setStatus(`Brouillon ${dossier.reference} — toutes les modifications sont enregistrées automatiquement.`);
  else setStatus('Nouveau dossier — il sera enregistré automatiquement dès que vous aurez rempli une étape.');

  let saveChain = Promise.resolve();
  let timer = 0;

  /** Saves `input` (part of a DossierInput); resolves { ok, err }. Saves run one after another. */
  function save(input) {
    const run = async () => {
      setStatus('Enregistrement…', 'busy');
      try {
        let d;
        if (!dossierId) {
          d = (await graphql(CREATE, { input })).createDossier;
          dossierId = d.id;
          if (!signal.aborted) setUrl(stepUrl(current));
        } else {
          d = (await graphql(UPDATE, { id: dossierId, input })).updateDossier;
        }
        dossier = d;
        if (!signal.aborted) {
          setStatus(`Enregistré à ${timeNow()}`, 'ok');
          for (const step of steps) if (step.saved) step.saved(d);
        }
        return { ok: true, dossier: d };
      } catch (err) {
        if (!signal.aborted) {
          setStatus(err && err.code === 'VALIDATION'
            ? 'Non enregistré : corrigez ce qui est signalé.'
            : `Non enregistré : ${err && err.message ? err.message : 'le service est indisponible.'}`, 'ko');
        }
        return { ok: false, err };
      }
    };
    saveChain = saveChain.then(run, run);
    return saveChain;
  }

  // ---- Step machinery
  const steps = [];
  function makeStep(def, build) {
    const heading = h('h2', { id: `etape-${def.n}-titre`, tabindex: '-1' }, `Étape ${def.n} sur 6 : ${def.title}`);
    const topError = h('div', { class: 'step-error', role: 'alert' });
    const step = { ...def, heading, topError, dirty: false, fields: new Map() };
    const prev = def.n > 1 ? h('button', { type: 'button', class: 'button button-secondary' }, 'Précédent') : null;
    const next = def.n < 6 ? h('button', { type: 'submit', class: 'button' }, `Suivant : ${STEPS[def.n].title}`) : null;
    if (prev) prev.addEventListener('click', () => goTo(def.n - 1));
    step.prev = prev;
    const body = build(step);
    step.form = h('form', { class: 'form dossier-step', novalidate: true, 'aria-labelledby': heading.id, id: `etape-${def.n}` },
      heading, topError, body, next ? h('p', { class: 'step-actions' }, prev, next) : null);
    step.form.hidden = def.n !== current;
    step.form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (next) goTo(def.n + 1);
    });
    step.form.addEventListener('input', () => markDirty(step));
    step.form.addEventListener('change', () => markDirty(step));
    steps.push(step);
    return step;
  }

  function markDirty(step) {
    if (!step.collect) return;
    step.dirty = true;
    clearTimeout(timer);
    timer = setTimeout(() => autosave(step), AUTOSAVE_DELAY);
  }

  /** After a pause: saves the step if it is complete, silently waits otherwise. */
  async function autosave(step) {
    if (!step.dirty || signal.aborted) return;
    const c = step.collect();
    if (c.empty || c.errors.length) {
      if (!c.empty) setStatus('Pas encore enregistré : l’étape sera enregistrée dès que ses champs obligatoires seront remplis.');
      return;
    }
    step.dirty = false;
    const r = await save(c.input);
    if (!r.ok) {
      step.dirty = true;
      showServerError(step, r.err, false);
    } else {
      clearErrors(step);
    }
  }

  function clearErrors(step) {
    step.topError.replaceChildren();
    for (const e of step.fields.values()) e.clear();
    if (step.extraErrors) for (const e of step.extraErrors()) e.clear();
  }

  /** A refused save: the message next to the field it names, else on top of the step. */
  function showServerError(step, err, focus) {
    const field = err && err.field ? normalizeField(err.field) : '';
    let target = null;
    if (err && err.code === 'VALIDATION' && field) {
      const fields = step.fields;
      target = fields.get(field);
      if (!target) {
        // The longest known prefix (holder.representative.email → holder.representative).
        const known = [...fields.keys()].filter((k) => field.startsWith(`${k}.`) || k.startsWith(`${field}.`)).sort((a, b) => b.length - a.length);
        if (known.length) target = fields.get(known[0]);
      }
    }
    if (target) {
      target.show(err.message);
      if (focus) target.control.focus();
    } else {
      step.topError.replaceChildren(actionError(err));
      if (focus) step.heading.focus();
    }
    announce(err && err.message ? err.message : 'Le dossier n’a pas pu être enregistré.');
  }

  /**
   * Leaves the current step: saves it when it changed. Resolves false (and stays) when it is
   * filled in but wrong, or when the save is refused.
   */
  async function leave(step) {
    clearTimeout(timer);
    if (!step.collect || !step.dirty) return true;
    const c = step.collect();
    clearErrors(step);
    if (c.empty) return true;
    if (c.errors.length) {
      for (const [error, message] of c.errors) error.show(message);
      c.errors[0][0].control.focus();
      announce(c.errors.length > 1
        ? `L’étape comporte ${c.errors.length} erreurs. ${c.errors.map(([, m]) => m).join(' ')}`
        : c.errors[0][1]);
      setStatus('Non enregistré : corrigez ce qui est signalé.', 'ko');
      return false;
    }
    step.dirty = false;
    const r = await save(c.input);
    if (!r.ok) {
      step.dirty = true;
      showServerError(step, r.err, true);
      return false;
    }
    return true;
  }

  let moving = false;
  async function goTo(n) {
    if (moving || n === current || n < 1 || n > 6) return;
    moving = true;
    try {
      const from = steps[current - 1];
      if (!await leave(from)) return;
      if (signal.aborted) return;
      current = n;
      for (const s of steps) s.form.hidden = s.n !== n;
      renderStepper();
      setUrl(stepUrl(n));
      const to = steps[n - 1];
      if (to.enter) to.enter();
      to.heading.focus();
      window.scrollTo(0, 0);
      announce(`Étape ${n} sur 6 : ${to.title}`);
    } finally {
      moving = false;
    }
  }

  // ---- Stepper
  const stepper = h('ol', { class: 'stepper' });
  function renderStepper() {
    stepper.replaceChildren(...STEPS.map((s) => {
      const a = h('a', { href: stepUrl(s.n), 'aria-current': s.n === current ? 'step' : null }, h('span', { class: 'stepper-n' }, `${s.n}`), ` ${s.title}`);
      a.addEventListener('click', (e) => {
        e.preventDefault();
        goTo(s.n);
      });
      return h('li', { class: s.n === current ? 'is-current' : null }, a);
    }));
  }

  // =====================================================================================
  // Step 1: Porteur

  const holderStep = makeStep(STEPS[0], (step) => {
    const legalName = textField('porteur-nom', 'Nom de la structure', { required: true, hint: 'Par exemple : Commune de Cajarc, Association Le Panier solidaire.', attrs: { autocomplete: 'organization', maxlength: '200' } });
    const type = textField('porteur-type', 'Type de structure', {
      tag: 'select',
      required: true,
      children: [h('option', { value: '' }, 'Choisissez dans la liste'), Object.entries(L.HOLDER_TYPES).map(([value, text]) => h('option', { value }, text))],
    });
    const siret = textField('porteur-siret', 'Numéro SIRET', { required: true, hint: '14 chiffres, sans espace : le SIREN (9 chiffres) suivi du numéro d’établissement.', attrs: { inputmode: 'numeric', autocomplete: 'off', maxlength: '20', spellcheck: 'false' } });
    const rna = textField('porteur-rna', 'Numéro RNA', { hint: 'Pour une association : W suivi de 9 chiffres.', attrs: { autocomplete: 'off', maxlength: '10', spellcheck: 'false' } });
    const commune = communeChooser({
      label: 'Commune du siège',
      hint: 'Nom, code postal ou code INSEE ; choisissez dans la liste avec les flèches puis Entrée.',
      onChange: () => markDirty(step),
    });
    const repName = textField('representant-nom', 'Nom et prénom', { required: true, attrs: { autocomplete: 'name', maxlength: '200' } });
    const repRole = textField('representant-qualite', 'Qualité', { required: true, hint: 'Par exemple : maire, président de l’association.', attrs: { autocomplete: 'organization-title', maxlength: '200' } });
    const repEmail = textField('representant-courriel', 'Adresse électronique', { type: 'email', required: true, attrs: { autocomplete: 'email', maxlength: '254', spellcheck: 'false' } });
    const repPhone = textField('representant-telephone', 'Téléphone', { type: 'tel', attrs: { autocomplete: 'tel', maxlength: '30' } });

    step.fields = new Map([
      ['holder.legalName', legalName.error], ['holder.holderType', type.error], ['holder.siret', siret.error], ['holder.rna', rna.error],
      ['holder.communeCode', commune.error], ['holder.representative.name', repName.error], ['holder.representative.role', repRole.error],
      ['holder.representative.email', repEmail.error], ['holder.representative.phone', repPhone.error], ['holder.representative', repName.error],
      ['holder', legalName.error],
    ]);
    step.holderType = () => type.input.value || null;
    step.commune = commune;

    step.fill = (holder) => {
      if (!holder) return;
      legalName.input.value = holder.legalName || '';
      type.input.value = holder.holderType || '';
      siret.input.value = holder.siret || '';
      rna.input.value = holder.rna || '';
      commune.set(holder.communeCode || null, holder.communeCode ? { name: holder.communeName || `Commune ${holder.communeCode}`, parents: [] } : null);
      const r = holder.representative || {};
      repName.input.value = r.name || '';
      repRole.input.value = r.role || '';
      repEmail.input.value = r.email || '';
      repPhone.input.value = r.phone || '';
    };

    step.collect = () => {
      const errors = [];
      const v = {
        legalName: trim(legalName.input),
        holderType: type.input.value,
        siret: trim(siret.input).replace(/[\s.\u00a0]/g, ''),
        rna: trim(rna.input).toUpperCase(),
        communeCode: commune.code,
        representative: { name: trim(repName.input), role: trim(repRole.input), email: trim(repEmail.input), phone: trim(repPhone.input) },
      };
      const r = v.representative;
      const empty = !v.legalName && !v.holderType && !v.siret && !v.rna && !v.communeCode && !commune.pending && !r.name && !r.role && !r.email && !r.phone;
      if (!v.legalName) errors.push([legalName.error, 'Indiquez le nom de la structure.']);
      if (!v.holderType) errors.push([type.error, 'Choisissez le type de structure.']);
      if (!v.siret) errors.push([siret.error, 'Indiquez le numéro SIRET.']);
      else if (!/^\d{14}$/.test(v.siret)) errors.push([siret.error, 'Le numéro SIRET compte 14 chiffres.']);
      if (v.rna && !/^W\d{9}$/.test(v.rna)) errors.push([rna.error, 'Le numéro RNA s’écrit W suivi de 9 chiffres.']);
      if (commune.pending) errors.push([commune.error, 'Choisissez la commune dans la liste proposée.']);
      else if (!v.communeCode) errors.push([commune.error, 'Indiquez la commune du siège, puis choisissez-la dans la liste.']);
      if (!r.name) errors.push([repName.error, 'Indiquez le nom du représentant légal.']);
      if (!r.role) errors.push([repRole.error, 'Indiquez la qualité du représentant légal.']);
      if (!r.email) errors.push([repEmail.error, 'Indiquez l’adresse électronique du représentant légal.']);
      else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(r.email)) errors.push([repEmail.error, 'Cette adresse électronique n’est pas valide.']);
      return {
        empty,
        errors,
        input: { holder: { ...v, rna: v.rna || null, representative: { ...r, phone: r.phone || null } } },
      };
    };

    return [
      h('p', { class: 'hint' }, 'La structure qui porte le projet et demande les aides. Ces informations sont reprises dans vos prochains dossiers.'),
      h('fieldset', { class: 'group' }, h('legend', null, 'Organisation'), legalName.node, type.node, siret.node, rna.node, commune.node),
      h('fieldset', { class: 'group' }, h('legend', null, 'Représentant légal'), repName.node, repRole.node, repEmail.node, repPhone.node),
    ];
  });

  // =====================================================================================
  // Step 2: Projet

  const projectStep = makeStep(STEPS[1], (step) => {
    const titleField = textField('projet-intitule', 'Intitulé du projet', { required: true, hint: 'Par exemple : Réouverture du café-épicerie du village.', attrs: { maxlength: '200', autocomplete: 'off' } });
    const description = textField('projet-description', 'Description du projet', { tag: 'textarea', required: true, hint: 'Le besoin, ce qui sera fait, pour qui, avec quels partenaires.', attrs: { rows: '6', maxlength: '20000' } });
    const themeBoxes = new Map();
    const themes = h('fieldset', { class: 'choices projet-themes', 'aria-describedby': 'dossier-themes-aide' },
      h('legend', null, 'Thèmes du projet'),
      h('p', { id: 'dossier-themes-aide', class: 'hint' }, 'Cochez un ou plusieurs thèmes : ils servent à trouver les dispositifs.'),
      h('div', { class: 'theme-grid' }, Object.entries(L.THEMES).map(([value, text]) => {
        const id = `dossier-theme-${value}`;
        const box = h('input', { type: 'checkbox', id, name: 'theme', value });
        themeBoxes.set(value, box);
        return h('div', { class: 'choice' }, box, h('label', { for: id }, text));
      })));
    const themesError = fieldError('dossier-themes-erreur', themes, { invalid: false });
    themes.append(themesError.slot);
    // Focusing the group in error focuses its first box.
    themesError.control = { focus: () => themeBoxes.values().next().value.focus() };
    const commune = communeChooser({
      label: 'Commune du projet',
      hint: 'Là où le projet se réalise. Nom, code postal ou code INSEE ; choisissez dans la liste avec les flèches puis Entrée.',
      onChange: () => markDirty(step),
    });
    const starts = textField('projet-debut', 'Date de début', { type: 'date', hint: 'Signer un devis ou commencer les travaux avant le dépôt peut rendre le projet inéligible.' });
    const ends = textField('projet-fin', 'Date de fin', { type: 'date' });
    const natureSelect = h('select', { id: 'projet-nature', 'aria-describedby': 'projet-nature-aide' },
      h('option', { value: '' }, 'Non précisée'),
      h('option', { value: 'INVESTMENT' }, 'Investissement'),
      h('option', { value: 'OPERATING' }, 'Fonctionnement'));
    const natureField = h('div', { class: 'field' },
      h('label', { for: natureSelect.id }, 'Nature de l’opération'),
      h('p', { id: 'projet-nature-aide', class: 'hint' }, 'Investissement (travaux, achat, équipement) ou fonctionnement (animation, emplois, frais courants) : certaines règles ne visent que l’investissement.'),
      natureSelect);
    const basisSelect = h('select', { id: 'projet-base', 'aria-describedby': 'projet-base-aide' },
      h('option', { value: 'HT' }, 'Hors taxes (HT)'),
      h('option', { value: 'TTC' }, 'Toutes taxes comprises (TTC)'));
    const basisField = h('div', { class: 'field' },
      h('label', { for: basisSelect.id }, 'Montants du budget'),
      h('p', { id: 'projet-base-aide', class: 'hint' }, 'Une association non assujettie à la TVA présente son budget TTC.'),
      basisSelect);
    natureSelect.addEventListener('change', () => markDirty(step));
    basisSelect.addEventListener('change', () => markDirty(step));
    step.nature = () => natureSelect.value || null;
    step.costBasis = () => basisSelect.value || 'HT';

    step.fields = new Map([
      ['project.title', titleField.error], ['project.description', description.error], ['project.themes', themesError],
      ['project.communeCode', commune.error], ['project.startsOn', starts.error], ['project.endsOn', ends.error], ['project', titleField.error],
    ]);
    step.extraErrors = () => [];
    step.projectInput = () => ({
      communeCode: commune.code,
      themes: [...themeBoxes].filter(([, b]) => b.checked).map(([v]) => v),
      text: [trim(titleField.input), trim(description.input)].filter(Boolean).join('. ') || null,
      startsOn: starts.input.value || null,
    });

    step.fill = (p) => {
      if (!p) return;
      titleField.input.value = p.title || '';
      description.input.value = p.description || '';
      for (const [v, b] of themeBoxes) b.checked = (p.themes || []).includes(v);
      commune.set(p.communeCode || null, p.communeCode ? { name: p.communeName || `Commune ${p.communeCode}`, parents: [] } : null);
      starts.input.value = p.startsOn || '';
      ends.input.value = p.endsOn || '';
      natureSelect.value = p.nature || '';
      basisSelect.value = p.costBasis || 'HT';
    };

    step.enter = () => {
      // The project happens, by default, where the holder is.
      if (!commune.code && holderStep.commune.code) commune.set(holderStep.commune.code, holderStep.commune.territory);
    };

    step.collect = () => {
      const errors = [];
      const v = {
        title: trim(titleField.input),
        description: trim(description.input),
        themes: [...themeBoxes].filter(([, b]) => b.checked).map(([value]) => value),
        communeCode: commune.code,
        startsOn: starts.input.value || null,
        endsOn: ends.input.value || null,
        nature: natureSelect.value || null,
        costBasis: basisSelect.value || 'HT',
      };
      const empty = !v.title && !v.description && !v.themes.length && !v.startsOn && !v.endsOn && !commune.pending;
      if (!v.title) errors.push([titleField.error, 'Indiquez l’intitulé du projet.']);
      if (!v.description) errors.push([description.error, 'Décrivez le projet.']);
      if (!v.themes.length) errors.push([themesError, 'Cochez au moins un thème.']);
      if (commune.pending) errors.push([commune.error, 'Choisissez la commune dans la liste proposée.']);
      else if (!v.communeCode) errors.push([commune.error, 'Indiquez la commune du projet, puis choisissez-la dans la liste.']);
      if (starts.input.validity.badInput) errors.push([starts.error, 'Indiquez une date complète : jour, mois et année.']);
      if (ends.input.validity.badInput) errors.push([ends.error, 'Indiquez une date complète : jour, mois et année.']);
      else if (v.startsOn && v.endsOn && v.endsOn < v.startsOn) errors.push([ends.error, 'La date de fin doit suivre la date de début.']);
      return { empty, errors, input: { project: v } };
    };

    return [titleField.node, description.node, themes, commune.node, h('div', { class: 'date-pair' }, starts.node, ends.node), natureField, basisField];
  });

  // =====================================================================================
  // Step 3: Dépenses

  let expenseCounter = 0;
  const expenseLines = [];
  const totalOutput = h('p', { class: 'budget-total', 'aria-live': 'polite' });
  const expensesList = h('ol', { class: 'edit-lines' });
  const expensesStep = makeStep(STEPS[2], (step) => {
    const add = h('button', { type: 'button', class: 'button button-secondary' }, 'Ajouter une dépense');
    add.addEventListener('click', () => {
      const line = addExpense();
      renumberExpenses();
      line.label.focus();
      announce(`Dépense ${expenseLines.length} ajoutée.`);
    });
    step.add = add;
    step.fill = (budget) => {
      expenseLines.splice(0).forEach((l) => l.node.remove());
      const list = budget && budget.expenses.length ? budget.expenses : [{ label: '', amount: '' }];
      for (const e of list) addExpense(e);
      renumberExpenses();
      showTotal();
    };
    step.collect = () => {
      const errors = [];
      const fields = new Map();
      const kept = [];
      let empty = true;
      for (const line of expenseLines) {
        const label = trim(line.label);
        const amount = readEuros(line.amount);
        if (!label && amount.empty) continue;
        empty = false;
        const i = kept.length;
        fields.set(`expenses.${i}.label`, line.labelError);
        fields.set(`expenses.${i}.amount`, line.amountError);
        if (!label) errors.push([line.labelError, 'Indiquez le libellé de la dépense.']);
        if (amount.error) errors.push([line.amountError, amount.error]);
        else if (amount.empty) errors.push([line.amountError, 'Indiquez le montant de la dépense.']);
        else if (amount.value === 0) errors.push([line.amountError, 'Le montant doit être supérieur à zéro.']);
        kept.push({ label, amount: amount.value });
      }
      fields.set('expenses', expenseLines[0] ? expenseLines[0].labelError : null);
      step.fields = new Map([...fields].filter(([, v]) => v));
      return { empty, errors, input: { expenses: kept } };
    };
    return [
      h('p', { class: 'hint' }, 'Les dépenses du projet, en euros hors taxes (devis, travaux, équipements, études…). Le coût total est leur somme.'),
      expensesList,
      h('p', null, add),
      totalOutput,
    ];
  });

  function expensesTotal() {
    return expenseLines.reduce((s, l) => s + (readEuros(l.amount).value || 0), 0);
  }
  function showTotal() {
    totalOutput.replaceChildren('Coût total du projet : ', h('strong', null, F.formatEuros(expensesTotal())), ' HT');
  }
  function addExpense(e = { label: '', amount: '' }) {
    expenseCounter += 1;
    const base = `depense-${expenseCounter}`;
    const label = h('input', { id: `${base}-libelle`, type: 'text', autocomplete: 'off', maxlength: '200' });
    label.value = e.label || '';
    const amount = eurosInput(`${base}-montant`);
    amount.value = e.amount === '' || e.amount == null ? '' : String(e.amount);
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Retirer');
    const legend = h('legend');
    const line = {
      label, amount, remove, legend,
      labelError: fieldError(`${base}-libelle-erreur`, label),
      amountError: fieldError(`${base}-montant-erreur`, amount),
    };
    line.node = h('li', { class: 'edit-line' }, h('fieldset', null, legend,
      h('div', { class: 'edit-line-grid' },
        h('div', { class: 'field edit-line-label' }, h('label', { for: label.id }, 'Libellé'), label, line.labelError.slot),
        h('div', { class: 'field edit-line-amount' }, h('label', { for: amount.id }, 'Montant (€ HT)'), amount, line.amountError.slot),
        h('p', { class: 'edit-line-remove' }, remove))));
    amount.addEventListener('input', showTotal);
    remove.addEventListener('click', () => {
      const i = expenseLines.indexOf(line);
      expenseLines.splice(i, 1);
      line.node.remove();
      renumberExpenses();
      showTotal();
      markDirty(expensesStep);
      const next = expenseLines[i] || expenseLines[i - 1];
      (next ? next.label : expensesStep.add).focus();
      announce(`Dépense ${i + 1} retirée.`);
    });
    expenseLines.push(line);
    expensesList.append(line.node);
    return line;
  }
  function renumberExpenses() {
    expenseLines.forEach((l, i) => {
      l.legend.textContent = `Dépense ${i + 1}`;
      l.remove.setAttribute('aria-label', `Retirer la dépense ${i + 1}`);
    });
  }

  // =====================================================================================
  // Step 4: Plan de financement

  let planCounter = 0;
  const planLines = [];
  const schemes = new Map(); // slug → { slug, title, verdict, public }
  let suggestion = null;
  let matchKey = '';
  let checkTimer = 0;
  let checkSeq = 0;
  const planList = h('ol', { class: 'edit-lines plan-lines' });
  const planIntro = h('div', { class: 'plan-intro' });
  const planStatus = h('p', { class: 'plan-status', role: 'status' });
  const planProblems = h('div', { class: 'plan-problems' });
  const planSummary = h('dl', { class: 'plan-summary' });
  const planNotes = h('div', { class: 'plan-notes' });
  const planCheck = h('div', { class: 'plan-check' }, planStatus, planProblems, planNotes, planSummary);
  const ownInput = eurosInput('plan-fonds-propres', { 'aria-describedby': 'plan-fonds-propres-aide' });
  const ownError = fieldError('plan-fonds-propres-erreur', ownInput);
  const deMinimisInput = eurosInput('plan-de-minimis', { 'aria-describedby': 'plan-de-minimis-aide' });
  const deMinimisError = fieldError('plan-de-minimis-erreur', deMinimisInput);
  const derogationBox = h('input', { id: 'plan-derogation', type: 'checkbox', 'aria-describedby': 'plan-derogation-aide' });
  const derogationField = h('div', { class: 'choice plan-derogation' },
    derogationBox,
    h('label', { for: derogationBox.id }, 'Dérogation accordée par le préfet'),
    h('p', { id: 'plan-derogation-aide', class: 'hint' },
      'Pour un investissement, le maître d’ouvrage public apporte au moins 20 % des financements publics (CGCT, art. L1111-10 III), sauf dérogation du préfet ; la règle ne vise pas le fonctionnement ni l’outre-mer.'));
  derogationBox.addEventListener('change', () => scheduleCheck());
  const deMinimisField = h('div', { class: 'field' },
    h('label', { for: deMinimisInput.id }, 'Aides de minimis reçues ces trois dernières années (€)'),
    h('p', { id: 'plan-de-minimis-aide', class: 'hint' }, 'Les aides publiques reçues sous le régime de minimis comptent dans le plafond.'),
    deMinimisInput, deMinimisError.slot);

  const planStep = makeStep(STEPS[3], (step) => {
    const add = h('button', { type: 'button', class: 'button button-secondary' }, 'Ajouter un financement');
    add.addEventListener('click', () => {
      const line = addPlanLine();
      renumberPlan();
      line.select.focus();
      announce(`Financement ${planLines.length} ajouté : choisissez un dispositif ou indiquez un financeur, puis le montant.`);
      scheduleCheck();
    });
    step.add = add;
    step.fill = (plan) => {
      planLines.splice(0).forEach((l) => l.node.remove());
      ownInput.value = plan ? String(plan.ownFunds) : '';
      deMinimisInput.value = plan ? String(plan.previousDeMinimis || 0) : '0';
      derogationBox.checked = !!(plan && plan.derogation);
      for (const l of plan ? plan.lines : []) {
        if (l.schemeSlug && !schemes.has(l.schemeSlug)) schemes.set(l.schemeSlug, { slug: l.schemeSlug, title: l.funderName || l.schemeSlug, verdict: null, public: l.public });
        addPlanLine({ slug: l.schemeSlug, name: l.schemeSlug ? '' : l.funderName || '', amount: l.amount, isPublic: l.public, aidType: l.aidType });
      }
      renumberPlan();
    };
    step.enter = () => {
      deMinimisField.hidden = !DE_MINIMIS_HOLDERS.has(holderStep.holderType());
      derogationField.hidden = !LOCAL_AUTHORITIES.has(holderStep.holderType()) || projectStep.nature() === 'OPERATING';
      loadSchemes();
      scheduleCheck(0);
    };
    step.collect = () => {
      const errors = [];
      const fields = new Map([['financingPlan.ownFunds', ownError], ['financingPlan.previousDeMinimis', deMinimisError], ['financingPlan', ownError]]);
      const own = readEuros(ownInput);
      const dm = deMinimisField.hidden ? { value: 0 } : readEuros(deMinimisInput);
      let empty = own.empty;
      const lines = planLines.map((line, i) => {
        const slug = line.select.value || null;
        const name = trim(line.name);
        const amount = readEuros(line.amount);
        if (slug || name || !amount.empty) empty = false;
        fields.set(`financingPlan.lines.${i}.amount`, line.amountError);
        fields.set(`financingPlan.lines.${i}.funderName`, line.nameError);
        fields.set(`financingPlan.lines.${i}.schemeSlug`, line.selectError);
        fields.set(`financingPlan.lines.${i}.aidType`, line.amountError);
        fields.set(`financingPlan.lines.${i}`, line.amountError);
        if (!slug && !name) errors.push([line.nameError, 'Indiquez le nom du financeur, ou choisissez un dispositif.']);
        if (amount.error) errors.push([line.amountError, amount.error]);
        else if (amount.empty) errors.push([line.amountError, 'Indiquez le montant demandé.']);
        const aidType = line.typeSelect.value;
        return slug
          ? { schemeSlug: slug, amount: amount.value, public: line.publicBox.checked, aidType }
          : { funderName: name, amount: amount.value, public: line.publicBox.checked, aidType };
      });
      if (own.error) errors.push([ownError, own.error]);
      else if (own.empty) errors.push([ownError, 'Indiquez les fonds propres (0 si aucun).']);
      if (dm.error) errors.push([deMinimisError, dm.error]);
      step.fields = fields;
      const derogation = !derogationField.hidden && derogationBox.checked;
      return { empty, errors, input: { financingPlan: { ownFunds: own.value, lines, previousDeMinimis: dm.empty ? 0 : dm.value, derogation } } };
    };
    step.extraErrors = () => planLines.flatMap((l) => [l.amountError, l.nameError, l.selectError]);

    ownInput.addEventListener('input', () => scheduleCheck());
    deMinimisInput.addEventListener('input', () => scheduleCheck());
    return [
      planIntro,
      h('h3', { class: 'plan-check-title' }, 'Vérification du plan'),
      planCheck,
      h('h3', null, 'Fonds propres et financements demandés'),
      h('div', { class: 'field' },
        h('label', { for: ownInput.id }, 'Fonds propres du porteur (€)'),
        h('p', { id: 'plan-fonds-propres-aide', class: 'hint' }, 'Ce que le porteur finance lui-même (budget, emprunt).'),
        ownInput, ownError.slot),
      deMinimisField,
      derogationField,
      planList,
      h('p', null, add),
    ];
  });

  function schemeOptions() {
    const groups = [['ELIGIBLE', 'Dispositifs éligibles'], ['TO_CHECK', 'Dispositifs à vérifier'], [null, 'Autres dispositifs']];
    return groups.map(([verdict, label]) => {
      const items = [...schemes.values()].filter((s) => (verdict ? s.verdict === verdict : s.verdict !== 'ELIGIBLE' && s.verdict !== 'TO_CHECK'));
      return items.length ? h('optgroup', { label }, items.map((s) => h('option', { value: s.slug }, s.title))) : null;
    });
  }

  function refreshSelects() {
    for (const line of planLines) {
      const value = line.select.value;
      line.select.replaceChildren(h('option', { value: '' }, 'Autre financeur (hors catalogue)'), ...schemeOptions().filter(Boolean));
      line.select.value = value;
    }
  }

  function addPlanLine({ slug = null, name = '', amount = '', isPublic = true, aidType = 'GRANT' } = {}) {
    planCounter += 1;
    const base = `financement-${planCounter}`;
    const legend = h('legend');
    const select = h('select', { id: `${base}-dispositif` }, h('option', { value: '' }, 'Autre financeur (hors catalogue)'), schemeOptions());
    select.value = slug || '';
    const nameInput = h('input', { id: `${base}-financeur`, type: 'text', autocomplete: 'off', maxlength: '200' });
    nameInput.value = name;
    const amountInput = eurosInput(`${base}-montant`);
    amountInput.value = amount === '' || amount == null ? '' : String(amount);
    const publicBox = h('input', { id: `${base}-public`, type: 'checkbox' });
    publicBox.checked = isPublic;
    const typeSelect = h('select', { id: `${base}-forme` }, LINE_TYPES.map(([value, label]) => h('option', { value }, label)));
    typeSelect.value = LINE_TYPES.some(([value]) => value === aidType) ? aidType : 'GRANT';
    const remove = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Retirer');
    const problems = h('ul', { id: `${base}-problemes`, class: 'line-problems', hidden: true });
    const line = {
      select, name: nameInput, amount: amountInput, publicBox, typeSelect, remove, legend, problems,
      selectError: fieldError(`${base}-dispositif-erreur`, select),
      nameError: fieldError(`${base}-financeur-erreur`, nameInput),
      amountError: fieldError(`${base}-montant-erreur`, amountInput),
    };
    const nameField = h('div', { class: 'field plan-line-name' }, h('label', { for: nameInput.id }, 'Nom du financeur'), nameInput, line.nameError.slot);
    nameField.hidden = !!select.value;
    line.node = h('li', { class: 'edit-line plan-line' }, h('fieldset', null, legend,
      h('div', { class: 'edit-line-grid' },
        h('div', { class: 'field plan-line-scheme' }, h('label', { for: select.id }, 'Dispositif ou financeur'), select, line.selectError.slot),
        nameField,
        h('div', { class: 'field edit-line-amount' }, h('label', { for: amountInput.id }, 'Montant demandé (€)'), amountInput, line.amountError.slot),
        h('div', { class: 'field plan-line-type' }, h('label', { for: typeSelect.id }, 'Forme'), typeSelect),
        h('div', { class: 'choice plan-line-public' }, publicBox, h('label', { for: publicBox.id }, 'Financement public')),
        h('p', { class: 'edit-line-remove' }, remove)),
      problems));
    select.addEventListener('change', () => {
      const s = schemes.get(select.value);
      nameField.hidden = !!s;
      if (s) publicBox.checked = s.public;
      scheduleCheck();
    });
    nameInput.addEventListener('input', () => scheduleCheck());
    amountInput.addEventListener('input', () => scheduleCheck());
    publicBox.addEventListener('change', () => scheduleCheck());
    typeSelect.addEventListener('change', () => {
      line.node.classList.toggle('plan-line-loan', isRepayable(typeSelect.value));
      scheduleCheck();
    });
    line.node.classList.toggle('plan-line-loan', isRepayable(typeSelect.value));
    remove.addEventListener('click', () => {
      const i = planLines.indexOf(line);
      planLines.splice(i, 1);
      line.node.remove();
      renumberPlan();
      markDirty(planStep);
      scheduleCheck();
      const next = planLines[i] || planLines[i - 1];
      (next ? next.select : planStep.add).focus();
      announce(`Financement ${i + 1} retiré.`);
    });
    planLines.push(line);
    planList.append(line.node);
    return line;
  }

  function renumberPlan() {
    planLines.forEach((l, i) => {
      l.legend.textContent = `Financement ${i + 1}`;
      l.remove.setAttribute('aria-label', `Retirer le financement ${i + 1}`);
    });
  }

  function currentProjectInput() {
    const holderType = holderStep.holderType();
    const p = projectStep.projectInput();
    if (!holderType || !p.communeCode) return null;
    return {
      holderType, communeCode: p.communeCode, themes: p.themes.length ? p.themes : null, text: p.text, totalCost: expensesTotal() || null, startsOn: p.startsOn,
      nature: projectStep.nature(), costBasis: projectStep.costBasis(),
    };
  }

  async function loadSchemes() {
    const project = currentProjectInput();
    if (!project) {
      planIntro.replaceChildren(h('p', { class: 'alert alert-info' },
        'Indiquez le type de structure (étape Porteur) et la commune du projet (étape Projet) pour voir les dispositifs auxquels le projet peut prétendre.'));
      return;
    }
    const key = JSON.stringify(project);
    if (key === matchKey) return;
    matchKey = key;
    planIntro.setAttribute('aria-busy', 'true');
    planIntro.replaceChildren(h('p', { class: 'loading' }, 'Recherche des dispositifs possibles…'));
    try {
      const data = await graphql(MATCH_QUERY, { project }, { signal });
      if (matchKey !== key) return;
      for (const m of data.matchProject.matches) {
        const funders = m.scheme.funders || [];
        schemes.set(m.scheme.slug, {
          slug: m.scheme.slug,
          title: `${m.scheme.title}${funders.length ? ` — ${funders[0].name}` : ''}`,
          verdict: m.verdict,
          public: isPublicScheme(funders),
          receives: m.receivesInGuichet,
          page: F.safeUrl(m.scheme.applicationUrl) || F.safeUrl(m.scheme.sourceUrl),
        });
      }
      refreshSelects();
      suggestion = data.suggestFinancingPlan;
      showSuggestion(data.matchProject.matches);
    } catch (err) {
      if (isAbort(err)) return;
      matchKey = '';
      planIntro.replaceChildren(h('p', { class: 'alert alert-warning' }, `Les dispositifs possibles n’ont pas pu être recherchés : ${err.message}`));
    } finally {
      planIntro.removeAttribute('aria-busy');
    }
  }

  function showSuggestion(matches) {
    const n = matches.filter((m) => m.verdict === 'ELIGIBLE' || m.verdict === 'TO_CHECK').length;
    const use = h('button', { type: 'button', class: 'button button-secondary' }, 'Reprendre le plan proposé');
    use.addEventListener('click', () => {
      planLines.splice(0).forEach((l) => l.node.remove());
      ownInput.value = String(suggestion.ownFunds);
      for (const l of suggestion.lines) addPlanLine({ slug: l.schemeSlug, amount: l.amount, isPublic: l.public, aidType: l.aidType });
      renumberPlan();
      markDirty(planStep);
      scheduleCheck(0);
      ownInput.focus();
      announce(`Plan proposé repris : ${suggestion.lines.length} ${plural(suggestion.lines.length, 'financement', 'financements')}.`);
    });
    planIntro.replaceChildren(
      h('p', null, n
        ? `${F.formatNumber(n)} ${plural(n, 'dispositif peut', 'dispositifs peuvent')} financer ce projet : choisissez-les dans chaque ligne du plan. `
        : 'Aucun dispositif du catalogue ne correspond à ce projet : indiquez les financeurs que vous sollicitez. ',
      h('a', { href: '/projet' }, 'Explorer les aides dans « Mon projet »'), '.'),
      suggestion && suggestion.lines.length ? h('div', { class: 'card plan-suggestion' },
        h('p', null, `Plan proposé : ${F.formatEuros(suggestion.totalAid)} d’aides${suggestion.totalLoans ? `, ${F.formatEuros(suggestion.totalLoans)} de prêts (hors aides)` : ''} et ${F.formatEuros(suggestion.ownFunds)} de fonds propres.`),
        suggestedLines(suggestion.lines.filter((l) => !isRepayable(l.aidType)), 'Aides'),
        suggestedLines(suggestion.lines.filter((l) => isRepayable(l.aidType)), 'Prêts et avances remboursables : le financement du porteur, à rembourser'),
        suggestion.warnings.length ? h('ul', { class: 'plain-list' }, suggestion.warnings.map((w) => h('li', null, w))) : null,
        h('p', null, use)) : '');
  }

  /** The suggested lines of one kind, each with why it is there. */
  function suggestedLines(items, title) {
    if (!items.length) return null;
    return h('div', { class: 'plan-suggestion-group' },
      h('h4', null, title),
      h('ul', { class: 'plain-list' }, items.map((l) => h('li', null,
        h('strong', null, `${l.funderName} : ${F.formatEuros(l.amount)}`), ' — ', l.reason))));
  }

  function scheduleCheck(delay = CHECK_DELAY) {
    clearTimeout(checkTimer);
    planCheck.setAttribute('aria-busy', 'true');
    checkTimer = setTimeout(runCheck, delay);
  }

  async function runCheck() {
    const mine = ++checkSeq;
    for (const l of planLines) {
      l.problems.replaceChildren();
      l.problems.hidden = true;
    }
    planProblems.replaceChildren();
    planNotes.replaceChildren();
    const total = expensesTotal();
    const holderType = holderStep.holderType();
    const c = planStep.collect();
    const summary = (sum, result) => planSummary.replaceChildren(
      h('div', null, h('dt', null, 'Coût total du projet'), h('dd', null, F.formatEuros(total))),
      h('div', null, h('dt', null, 'Total du plan'), h('dd', null, F.formatEuros(sum))),
      h('div', null, h('dt', null, 'Prêts et avances (hors aides)'), h('dd', null, F.formatEuros(loans))),
      h('div', null, h('dt', null, 'Équilibre'), h('dd', { class: result ? (result.balanced ? 'plan-ok' : 'plan-ko') : null },
        result ? (result.balanced ? 'Équilibré' : (total - sum > 0 ? `Il manque ${F.formatEuros(total - sum)}` : `${F.formatEuros(sum - total)} de trop`)) : '—')),
      h('div', null, h('dt', null, 'Part publique'), h('dd', null, result ? F.formatPercent(result.publicShare * 100) : '—')),
      h('div', null, h('dt', null, 'Part des fonds propres'), h('dd', null, result ? F.formatPercent(result.ownShare * 100) : '—')));
    const plan = c.input.financingPlan;
    const sum = (plan.ownFunds || 0) + plan.lines.reduce((s, l) => s + (l.amount || 0), 0);
    const loans = plan.lines.reduce((s, l) => s + (isRepayable(l.aidType) ? l.amount || 0 : 0), 0);
    const done = () => {
      if (mine === checkSeq) planCheck.removeAttribute('aria-busy');
    };
    if (!holderType || !total) {
      summary(sum, null);
      planStatus.textContent = !holderType
        ? 'Plan non vérifié : indiquez le type de structure à l’étape Porteur.'
        : 'Plan non vérifié : indiquez les dépenses du projet à l’étape Dépenses.';
      planStatus.className = 'plan-status';
      done();
      return;
    }
    if (c.errors.length) {
      summary(sum, null);
      planStatus.textContent = `Plan non vérifié : ${c.errors[0][1].replace(/^./, (ch) => ch.toLowerCase())}`;
      planStatus.className = 'plan-status';
      done();
      return;
    }
    try {
      const project = projectStep.projectInput();
      const place = { communeCode: project.communeCode || null, costBasis: projectStep.costBasis() };
      if (projectStep.nature()) place.nature = projectStep.nature();
      const data = await graphql(CHECK_QUERY, { plan: { holderType, totalCost: total, ...plan, ...place } }, { signal });
      if (mine !== checkSeq) return;
      const result = data.checkFinancingPlan;
      summary(sum, result);
      const top = [];
      for (const v of result.violations) {
        const line = v.line == null ? null : planLines[v.line];
        if (!line) {
          top.push(v.message);
          continue;
        }
        line.problems.append(h('li', { class: 'field-error' }, v.message));
        line.problems.hidden = false;
      }
      if (top.length) planProblems.replaceChildren(h('div', { class: 'alert alert-error' }, h('ul', { class: 'plain-list' }, top.map((m) => h('li', null, m)))));
      planNotes.replaceChildren(...(result.warnings || []).length
        ? [h('div', { class: 'alert plan-check-warnings' }, h('ul', { class: 'plain-list' }, result.warnings.map((w) => h('li', null, w))))]
        : []);
      const n = result.violations.length;
      planStatus.textContent = n === 0
        ? 'Plan vérifié : il respecte les règles de cofinancement connues.'
        : `${F.formatNumber(n)} ${plural(n, 'problème à corriger', 'problèmes à corriger')} avant le dépôt.`;
      planStatus.className = `plan-status ${n === 0 ? 'plan-ok' : 'plan-ko'}`;
    } catch (err) {
      if (isAbort(err) || mine !== checkSeq) return;
      summary(sum, null);
      planStatus.textContent = `Plan non vérifié : ${err.message}`;
      planStatus.className = 'plan-status plan-ko';
    } finally {
      done();
    }
  }

  // =====================================================================================
  // Step 5: Pièces jointes

  const attachmentsSlot = h('div', { class: 'attachments-slot' });
  const attachmentsHeading = h('h3', { id: 'pieces-liste-titre', tabindex: '-1' }, 'Pièces déjà jointes');
  const attachmentsStep = makeStep(STEPS[4], (step) => {
    const labelField = textField('piece-intitule', 'Intitulé de la pièce', {
      required: true, hint: 'Par exemple : Délibération du conseil municipal, Devis des travaux.', attrs: { list: 'pieces-suggestions', maxlength: '200', autocomplete: 'off' },
    });
    const fileField = textField('piece-fichier', 'Fichier', {
      type: 'file', required: true, hint: 'PDF, image (PNG, JPEG, WebP), OpenDocument ou Office ; 20 Mo au plus par fichier.', attrs: { accept: ACCEPT },
    });
    const send = h('button', { type: 'button', class: 'button' }, 'Joindre la pièce');
    const uploadStatus = h('div', { class: 'status-slot', role: 'status' });
    step.fields = new Map([['label', labelField.error], ['file', fileField.error]]);
    let sending = false;
    send.addEventListener('click', async () => {
      if (sending) return;
      labelField.error.clear();
      fileField.error.clear();
      uploadStatus.replaceChildren();
      const label = trim(labelField.input);
      const file = fileField.input.files && fileField.input.files[0];
      const errors = [];
      if (!label) errors.push([labelField.error, 'Indiquez l’intitulé de la pièce.']);
      if (!file) errors.push([fileField.error, 'Choisissez le fichier à joindre.']);
      else if (file.size > MAX_FILE) errors.push([fileField.error, 'Ce fichier dépasse 20 Mo : réduisez-le ou scindez-le.']);
      else if (file.size === 0) errors.push([fileField.error, 'Ce fichier est vide.']);
      if (errors.length) {
        for (const [e, m] of errors) e.show(m);
        errors[0][0].control.focus();
        announce(errors.map(([, m]) => m).join(' '));
        return;
      }
      sending = true;
      const restore = busy(send, 'Envoi en cours…');
      try {
        if (!dossierId) {
          const r = await save({});
          if (!r.ok) throw r.err;
        }
        const data = await graphqlUpload(ADD_ATTACHMENT, { dossierId, label }, 'file', file);
        const att = data.addAttachment;
        dossier = { ...dossier, attachments: [...(dossier ? dossier.attachments : []), att] };
        showAttachments();
        labelField.input.value = '';
        fileField.input.value = '';
        uploadStatus.replaceChildren(h('p', { class: 'alert alert-success' }, `Pièce « ${att.label} » jointe (${att.filename}).`));
        setStatus(`Enregistré à ${timeNow()}`, 'ok');
        labelField.input.focus();
      } catch (err) {
        if (err && err.code === 'VALIDATION' && (err.field === 'label' || err.field === 'file' || !err.field)) {
          const target = err.field === 'label' ? labelField.error : fileField.error;
          target.show(err.message);
          target.control.focus();
          announce(err.message);
        } else {
          uploadStatus.replaceChildren(actionError(err));
        }
      } finally {
        sending = false;
        restore();
      }
    });
    return [
      h('p', { class: 'hint' }, 'Les pièces demandées par les financeurs : délibération, devis, statuts, relevé d’identité bancaire… Elles sont enregistrées dès leur envoi.'),
      h('section', { 'aria-labelledby': attachmentsHeading.id }, attachmentsHeading, attachmentsSlot),
      h('fieldset', { class: 'group upload' }, h('legend', null, 'Joindre une pièce'),
        labelField.node, h('datalist', { id: 'pieces-suggestions' }, DOCUMENT_SUGGESTIONS.map((s) => h('option', { value: s }))),
        fileField.node, h('p', null, send), uploadStatus),
    ];
  });
  attachmentsStep.saved = () => showAttachments();

  function showAttachments() {
    const list = dossier ? dossier.attachments : [];
    attachmentsSlot.replaceChildren(attachmentList(list, {
      async onRemove(att, button) {
        const restore = busy(button, 'Retrait…');
        try {
          const d = (await graphql(REMOVE_ATTACHMENT, { id: att.id })).removeAttachment;
          dossier = d;
          showAttachments();
          announce(`Pièce « ${att.label} » retirée.`);
          attachmentsHeading.focus();
        } catch (err) {
          restore();
          attachmentsSlot.append(h('div', { role: 'alert' }, actionError(err)));
        }
      },
    }));
  }

  // =====================================================================================
  // Step 6: Dépôt

  const missingSlot = h('div', { class: 'missing-slot' });
  const schemesSlot = h('div');
  const certifyBox = h('input', { type: 'checkbox', id: 'depot-certification' });
  const certifyError = fieldError('depot-certification-erreur', certifyBox);
  const submitButton = h('button', { type: 'button', class: 'button' }, 'Déposer le dossier');
  const submitStatus = h('div', { class: 'status-slot', role: 'alert' });
  let schemesFieldset = null;
  let schemesError = null;
  let schemeBoxes = [];
  let attemptKey = null;

  const submitStep = makeStep(STEPS[5], (step) => {
    certifyBox.addEventListener('change', async () => {
      certifyError.clear();
      if (!dossierId && !certifyBox.checked) return;
      const r = await save({ certified: certifyBox.checked });
      if (!r.ok) showServerError(submitStep, r.err, false);
    });
    submitButton.addEventListener('click', submit);
    return [
      h('p', { class: 'hint' }, 'Vérifiez que rien ne manque, choisissez les dispositifs sollicités, certifiez le dossier et déposez-le : chaque financeur le reçoit en même temps.'),
      h('h3', null, 'Ce qu’il reste à faire'),
      missingSlot,
      schemesSlot,
      h('h3', null, 'Certification'),
      h('div', { class: 'choice certify' }, certifyBox,
        h('label', { for: certifyBox.id }, 'Je certifie sur l’honneur l’exactitude des informations du dossier, que le projet n’a pas commencé avant son dépôt, et que la structure est à jour de ses obligations fiscales et sociales.')),
      certifyError.slot,
      h('p', { class: 'step-actions' }, step.prev, submitButton),
      submitStatus,
    ];
  });
  submitStep.fields = new Map([['certified', certifyError]]);
  submitStep.enter = async () => {
    showSubmitState();
    if (!dossierId) return;
    // What is missing, as the server sees it now (attachments included).
    missingSlot.setAttribute('aria-busy', 'true');
    try {
      const fresh = (await graphql(DOSSIER_QUERY, { id: dossierId }, { signal })).dossier;
      if (fresh && fresh.status === 'DRAFT') {
        dossier = fresh;
        if (current === 6) showSubmitState();
      }
    } catch (err) {
      if (!isAbort(err)) console.warn('Dossier non rechargé', err);
    } finally {
      missingSlot.removeAttribute('aria-busy');
    }
  };
  submitStep.saved = () => {
    if (current === 6) showSubmitState();
  };

  function showSubmitState() {
    certifyBox.checked = !!(dossier && dossier.certified);
    const missing = dossier ? dossier.missing : [{ field: 'holder', message: 'Commencez par décrire la structure qui porte le projet.' }];
    missingSlot.replaceChildren(missing.length
      ? h('div', { class: 'alert alert-warning' },
        h('p', null, `${missing.length > 1 ? `${missing.length} éléments manquent` : 'Un élément manque'} pour déposer le dossier :`),
        h('ul', { class: 'missing-list' }, missing.map((m) => {
          const n = stepOfField(m.field);
          const a = h('a', { href: stepUrl(n) }, `Étape ${n} (${STEPS[n - 1].title}) : ${m.message}`);
          a.addEventListener('click', (e) => {
            e.preventDefault();
            goTo(n).then(() => focusField(n, m.field));
          });
          return h('li', null, a);
        })))
      : h('p', { class: 'alert alert-success' }, 'Le dossier est complet : il peut être déposé.'));

    const lines = dossier && dossier.financingPlan ? dossier.financingPlan.lines.filter((l) => l.schemeSlug) : [];
    const previous = new Map(schemeBoxes.map((b) => [b.value, b.checked]));
    schemeBoxes = [];
    if (!lines.length) {
      schemesFieldset = null;
      schemesError = null;
      schemesSlot.replaceChildren(h('h3', null, 'Dispositifs sollicités'),
        h('p', { class: 'empty' }, 'Aucune ligne du plan de financement ne nomme un dispositif du catalogue : choisissez-les à l’étape Plan de financement.'));
      return;
    }
    const seen = new Set();
    schemesFieldset = h('fieldset', { class: 'choices', id: 'depot-dispositifs', 'aria-describedby': 'depot-dispositifs-aide' },
      h('legend', null, h('span', { class: 'legend-h3' }, 'Dispositifs sollicités')),
      h('p', { id: 'depot-dispositifs-aide', class: 'hint' }, 'Le dossier est transmis aux financeurs des dispositifs cochés.'),
      lines.filter((l) => !seen.has(l.schemeSlug) && seen.add(l.schemeSlug)).map((l, i) => {
        const id = `depot-dispositif-${i + 1}`;
        const s = schemes.get(l.schemeSlug);
        const label = `${s ? s.title : l.funderName || l.schemeSlug} : ${F.formatEuros(l.amount)}`;
        if (s && s.receives === false) {
          // Its funder has nobody to read a dossier in Guichet: it cannot be chosen.
          const note = `${id}-non`;
          return h('div', { class: 'choice choice-disabled' },
            h('input', { type: 'checkbox', id, value: l.schemeSlug, disabled: true, 'aria-describedby': note }),
            h('label', { for: id }, label),
            h('p', { class: 'hint', id: note }, 'Ce financeur ne reçoit pas encore les dossiers par Guichet : ',
              s.page ? h('a', { href: s.page }, 'déposez votre demande sur sa page') : 'déposez votre demande sur sa page', '.'));
        }
        const box = h('input', { type: 'checkbox', id, value: l.schemeSlug });
        box.checked = previous.has(l.schemeSlug) ? previous.get(l.schemeSlug) : true;
        schemeBoxes.push(box);
        return h('div', { class: 'choice' }, box, h('label', { for: id }, label));
      }));
    schemesError = fieldError('depot-dispositifs-erreur', schemesFieldset, { invalid: false });
    schemesFieldset.append(schemesError.slot);
    submitStep.fields.set('schemeSlugs', schemesError);
    schemesSlot.replaceChildren(schemesFieldset);
  }

  function focusField(n, field) {
    const step = steps[n - 1];
    if (step.collect) step.collect();
    const f = normalizeField(field);
    const target = step.fields.get(f) || [...step.fields].find(([k]) => k.startsWith(f) || f.startsWith(k))?.[1];
    if (target && target.control && target.control.focus) target.control.focus();
  }

  async function submit() {
    if (submitButton.getAttribute('aria-disabled') === 'true') return;
    submitStatus.replaceChildren();
    certifyError.clear();
    if (schemesError) schemesError.clear();
    const chosen = schemeBoxes.filter((b) => b.checked).map((b) => b.value);
    const errors = [];
    if (!dossierId) {
      submitStatus.replaceChildren(h('div', { class: 'alert alert-error' }, h('p', null, 'Remplissez d’abord les étapes du dossier.')));
      return;
    }
    if (!schemesError) errors.push([null, 'Choisissez les dispositifs sollicités à l’étape Plan de financement.']);
    else if (!chosen.length) errors.push([schemesError, 'Cochez au moins un dispositif.']);
    if (!certifyBox.checked) errors.push([certifyError, 'Cochez la case pour certifier le dossier sur l’honneur.']);
    if (errors.length) {
      for (const [e, m] of errors) if (e) e.show(m);
      const first = errors[0][0];
      if (first === schemesError) schemeBoxes[0]?.focus();
      else if (first) first.control.focus();
      else submitStatus.replaceChildren(h('div', { class: 'alert alert-error' }, h('p', null, errors[0][1])));
      announce(errors.map(([, m]) => m).join(' '));
      return;
    }
    const restore = busy(submitButton, 'Dépôt en cours…');
    // One key per attempt: kept when the attempt is retried after a network failure, so that
    // the dossier is never submitted twice.
    attemptKey ||= newIdempotencyKey();
    try {
      await saveChain;
      const d = (await graphql(SUBMIT, { id: dossierId, schemeSlugs: chosen, key: attemptKey })).submitDossier;
      attemptKey = null;
      announce(`Dossier ${d.reference} déposé.`);
      navigate(`/dossiers/${encodeURIComponent(d.id)}?depose=1`, { replace: true });
    } catch (err) {
      restore();
      const retryable = !err || ['NETWORK', 'HTTP', 'INTERNAL', 'GRAPHQL', 'RATE_LIMITED'].includes(err.code);
      if (!retryable) attemptKey = null;
      if (err && err.code === 'VALIDATION' && err.field) {
        const f = normalizeField(err.field);
        if (f === 'certified') {
          certifyError.show(err.message);
          certifyBox.focus();
          return;
        }
        if (f.startsWith('schemeSlugs') && schemesError) {
          schemesError.show(err.message);
          schemeBoxes[0]?.focus();
          return;
        }
        const n = stepOfField(f);
        const a = h('a', { href: stepUrl(n) }, `Corriger à l’étape ${n} : ${STEPS[n - 1].title}`);
        a.addEventListener('click', (e) => {
          e.preventDefault();
          goTo(n).then(() => focusField(n, f));
        });
        submitStatus.replaceChildren(h('div', { class: 'alert alert-error' }, h('p', null, err.message), h('p', null, a)));
      } else {
        submitStatus.replaceChildren(actionError(err), retryable
          ? h('p', null, 'Vous pouvez réessayer sans risque : le dossier ne sera pas déposé deux fois.') : '');
      }
      // The server may know more (e.g. what is missing): show it.
      if (dossierId) {
        graphql(DOSSIER_QUERY, { id: dossierId }, { signal }).then((r) => {
          if (r.dossier && r.dossier.status === 'DRAFT') {
            dossier = r.dossier;
            showSubmitState();
          }
        }, () => {});
      }
    }
  }

  // =====================================================================================
  // Filling in and leaving

  const source = dossier || (profile ? { holder: profile.holder } : null);
  holderStep.fill(source && source.holder);
  projectStep.fill(dossier && dossier.project);
  expensesStep.fill(dossier && dossier.budget);
  planStep.fill(dossier && dossier.financingPlan);
  showTotal();
  showAttachments();
  renderStepper();
  // A holder prefilled from the profile is not saved until touched: the first save of another
  // step creates the dossier, and the server fills in its holder from the same profile.
  const entering = steps[current - 1];
  if (entering.enter) entering.enter();

  const onBeforeUnload = (e) => {
    if (steps.some((s) => s.dirty && s.collect && !s.collect().empty && !s.collect().errors.length)) {
      const step = steps.find((s) => s.dirty && s.collect && !s.collect().errors.length);
      if (step) save(step.collect().input);
      e.preventDefault();
    }
  };
  window.addEventListener('beforeunload', onBeforeUnload);
  signal.addEventListener('abort', () => {
    window.removeEventListener('beforeunload', onBeforeUnload);
    clearTimeout(timer);
    clearTimeout(checkTimer);
    // Leaving the page for another one of the site: what was typed and is valid is kept.
    for (const s of steps) {
      if (!s.dirty || !s.collect) continue;
      const c = s.collect();
      if (!c.empty && !c.errors.length) {
        s.dirty = false;
        save(c.input);
      }
    }
  });

  const pageTitle = dossier ? `Dossier ${dossier.reference}` : 'Nouveau dossier';
  return {
    title: pageTitle,
    content: [
      breadcrumb(['Mes dossiers', '/dossiers'], [pageTitle]),
      h('h1', null, dossier ? `Dossier ${dossier.reference}${dossier.project ? ` — ${dossier.project.title}` : ''}` : 'Nouveau dossier de demande'),
      h('p', { class: 'lead' }, 'Un seul dossier pour tous les financeurs de votre projet. Il est enregistré à mesure que vous le remplissez : vous pouvez le reprendre plus tard.'),
      prepared && prepared.dossier ? h('p', { class: 'alert alert-success' },
        dossier.project
          ? 'Brouillon créé à partir de « Mon projet » : le projet, le coût et le plan de financement sont repris, avec le dispositif choisi. Vérifiez chaque étape.'
          : 'Brouillon créé avec le dispositif choisi. Décrivez votre projet à l’étape « Projet », ou commencez par « Mon projet » pour voir toutes les aides possibles.') : null,
      prepared && prepared.missing ? h('p', { class: 'alert alert-warning' }, 'Ce dispositif n’existe pas ou n’est plus publié : le dossier commence vide.') : null,
      prepared && prepared.error ? h('div', { class: 'alert alert-error' }, h('p', null, `Le brouillon n’a pas pu être préparé : ${prepared.error.message}`)) : null,
      h('nav', { class: 'stepper-nav', 'aria-label': 'Étapes du dossier' }, stepper),
      saveStatus,
      ...steps.map((s) => s.form),
    ],
  };
}
