// The holder's next step from a scheme: « Préparer mon dossier » when the scheme's funder
// receives dossiers in Guichet, its application page otherwise. The project described in
// « Mon projet » (its address) and the plan edited there are remembered in this browser
// (localStorage, so that a login link opened in another tab still finds them); the dossier
// form turns them into a new draft with the scheme chosen.

import { h } from './dom.js';
import * as F from './format.js';

const PROJECT_KEY = 'guichet.projet';
const PLAN_KEY = 'guichet.plan';

function store(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private browsing or storage full: the dossier simply starts empty.
  }
}

function load(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** Remembers the query string of « Mon projet » (its project). */
export function rememberProject(search) {
  store(PROJECT_KEY, typeof search === 'string' ? search : null);
}

/** The remembered query string of « Mon projet », or null. */
export function rememberedProject() {
  const value = load(PROJECT_KEY);
  return typeof value === 'string' ? value : null;
}

/** Remembers the plan edited in « Mon projet » (a FinancingPlanInput), or forgets it (null). */
export function rememberPlan(plan) {
  store(PLAN_KEY, plan && typeof plan === 'object' ? plan : null);
}

export function rememberedPlan() {
  const value = load(PLAN_KEY);
  return value && typeof value === 'object' ? value : null;
}

/** Where « Préparer mon dossier » leads for this scheme. */
export const prepareHref = (slug) => `/dossiers/nouveau?dispositif=${encodeURIComponent(slug)}`;

/**
 * The next step for a scheme `{ slug, title, applicationUrl, sourceUrl, receivesInGuichet }`: a
 * link that prepares a dossier in Guichet, or, when its funder does not receive in Guichet, one
 * to its application page (else its official page; null without either).
 */
export function nextStep(scheme, { small = false } = {}) {
  const cls = small ? 'button button-small' : 'button';
  if (scheme.receivesInGuichet !== false) {
    return h('a', { class: cls, href: prepareHref(scheme.slug), 'aria-label': small ? `Préparer mon dossier pour « ${scheme.title} »` : null }, 'Préparer mon dossier');
  }
  const url = F.safeUrl(scheme.applicationUrl) || F.safeUrl(scheme.sourceUrl);
  return url
    ? h('a', { class: `${cls} button-secondary`, href: url, 'aria-label': small ? `Candidater sur le site du financeur pour « ${scheme.title} »` : null }, 'Candidater sur le site du financeur')
    : null;
}
