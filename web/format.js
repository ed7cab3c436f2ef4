// French formatting of numbers, money, rates, dates and of a scheme's rules. Pure functions
// returning strings (no DOM), so the pages stay declarative.

const NUMBER = new Intl.NumberFormat('fr-FR');
const DECIMAL = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
const EUROS = new Intl.NumberFormat('fr-FR', {
  style: 'currency',
  currency: 'EUR',
  maximumFractionDigits: 0,
});
const LONG_DATE = new Intl.DateTimeFormat('fr-FR', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** 21945 → « 21 945 » */
export function formatNumber(n) {
  return NUMBER.format(n);
}

/** 500000 → « 500 000 € » */
export function formatEuros(n) {
  return EUROS.format(n);
}

/** 20 → « 20 % » (rates are percentages, not fractions) */
export function formatPercent(x) {
  return `${DECIMAL.format(x)}\u00a0%`;
}

/** « 1 habitant », « 21 945 habitants » */
export function formatInhabitants(n) {
  return `${formatNumber(n)}\u00a0habitant${n > 1 ? 's' : ''}`;
}

/** « aucun dispositif », « 1 dispositif », « 12 dispositifs » */
export function countSchemes(n) {
  if (!n) return 'aucun dispositif';
  return `${formatNumber(n)}\u00a0dispositif${n > 1 ? 's' : ''}`;
}

function range(min, max, fmt) {
  const hasMin = isNum(min);
  const hasMax = isNum(max);
  if (hasMin && hasMax) {
    return min === max ? fmt(min) : `de ${fmt(min)} à ${fmt(max)}`;
  }
  if (hasMax) return `jusqu’à ${fmt(max)}`;
  if (hasMin) return `à partir de ${fmt(min)}`;
  return null;
}

/** (20, 80) → « de 20 % à 80 % »; null when neither bound is known. */
export function formatRateRange(min, max) {
  return range(min, max, formatPercent);
}

/** (null, 500000) → « jusqu’à 500 000 € »; null when neither bound is known. */
export function formatAmountRange(min, max) {
  return range(min, max, formatEuros);
}

/** Parses "YYYY-MM-DD" (or an ISO date-time) into a UTC Date, or null. */
export function parseDate(value) {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return null;
  if (value.length > 10) {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/** "2026-02-28" → « 28 février 2026 », "2026-03-01" → « 1er mars 2026 » */
export function formatDate(value) {
  const d = parseDate(value);
  if (!d) return String(value ?? '');
  return LONG_DATE.format(d).replace(/^1 /, '1er ');
}

const LOCAL_DATE = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric' });

/** An instant (ISO date-time) → its day where the reader is: « 28 novembre 2026 », « 1er mars 2026 ». */
export function formatLocalDate(value) {
  const d = typeof value === 'string' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) return String(value ?? '');
  return LOCAL_DATE.format(d).replace(/^1 /, '1er ');
}

/** Today as "YYYY-MM-DD" in local time. */
export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * The calendar as a list of short French sentences, e.g.
 * ["Récurrent", "Ouverture le 5 janvier 2026", "Clôture le 28 février 2026"] or ["Permanent"].
 */
export function calendarLines(calendar, recurrenceLabels, now = today()) {
  const lines = [];
  const { recurrence, opensOn, closesOn } = calendar || {};
  if (recurrence) lines.push(recurrenceLabels[recurrence] ?? recurrence);
  const closed = !!closesOn && closesOn < now;
  if (closed) {
    lines.push(opensOn
      ? `Clos depuis le ${formatDate(closesOn)} (ouvert du ${formatDate(opensOn)} au ${formatDate(closesOn)})`
      : `Clos depuis le ${formatDate(closesOn)}`);
  } else {
    if (opensOn) lines.push(`${opensOn > now ? 'Ouverture' : 'Ouvert depuis'} le ${formatDate(opensOn)}`);
    if (closesOn) lines.push(`Clôture le ${formatDate(closesOn)}`);
  }
  // A call or a yearly campaign without dates is not « open permanently ».
  if (!opensOn && !closesOn && recurrence !== 'PERMANENT') {
    lines.push(recurrence
      ? 'Dates de la prochaine session non publiées : à vérifier auprès du financeur'
      : 'Calendrier non publié : à vérifier auprès du financeur');
  }
  return lines;
}

/** Conditions of eligibility as plain French sentences. */
export function ruleSentences(rules, funding) {
  const r = rules || {};
  const f = funding || {};
  const out = [];
  // Ceilings are inclusive: « 3 500 habitants au plus ».
  const commune = isNum(r.maxCommunePopulation) ? `aux communes de ${formatInhabitants(r.maxCommunePopulation)} au plus` : null;
  const epci = isNum(r.maxEpciPopulation) ? `aux intercommunalités de ${formatInhabitants(r.maxEpciPopulation)} au plus` : null;
  if (commune && epci) out.push(`Réservé ${commune} et ${epci}`);
  else if (commune || epci) out.push(`Réservé ${commune || epci}`);

  const basis = f.basis || 'HT';
  const basisNote = f.basis ? '' : ' (HT ou TTC : non précisé)';
  const hasMin = isNum(r.minProjectCost);
  const hasMax = isNum(r.maxProjectCost);
  if (hasMin && hasMax) {
    out.push(`Le coût du projet doit être compris entre ${formatEuros(r.minProjectCost)} et ${formatEuros(r.maxProjectCost)} ${basis}${basisNote}`);
  } else if (hasMin) {
    out.push(`Le coût du projet doit être d’au moins ${formatEuros(r.minProjectCost)} ${basis}${basisNote}`);
  } else if (hasMax) {
    out.push(`Le coût du projet ne doit pas dépasser ${formatEuros(r.maxProjectCost)} ${basis}${basisNote}`);
  }

  if (r.noStartBeforeFiling === true) {
    out.push('Le projet ne doit pas commencer (devis signé, commande, travaux) avant le dépôt de la demande');
  } else if (r.noStartBeforeFiling === false) {
    out.push('Le projet peut commencer avant le dépôt de la demande');
  } else {
    out.push('Commencement avant le dépôt : non précisé, à vérifier auprès du financeur (pour les subventions d’investissement de l’État, rien ne doit commencer avant la réception de la demande)');
  }
  if (r.requiresNationalPublicCofunding === true) {
    out.push(isNum(f.euCofundingRate)
      ? `Un cofinancement public national est nécessaire : les fonds européens couvrent au plus ${formatPercent(f.euCofundingRate)} de la dépense publique`
      : 'Un cofinancement public national (État, collectivité…) est nécessaire');
  }
  if (r.economicActivity === true) {
    out.push('Réservé aux projets qui ont une activité économique');
  } else if (r.economicActivity === false) {
    out.push('Réservé aux projets sans activité économique');
  }
  if (isNum(f.maxPublicAidRate)) {
    out.push(`Le total des aides publiques ne peut pas dépasser ${formatPercent(f.maxPublicAidRate)} du coût du projet`);
  }
  for (const c of r.conditions || []) {
    const when = [];
    if (isNum(c.whenCommunePopulationAbove)) when.push(`communes de plus de ${formatInhabitants(c.whenCommunePopulationAbove)}`);
    if (isNum(c.whenEpciPopulationAbove)) when.push(`intercommunalités de plus de ${formatInhabitants(c.whenEpciPopulationAbove)}`);
    out.push(`À vérifier${when.length ? ` (${when.join(', ')})` : ''} : ${c.text}`);
  }
  return out;
}

/** « Haute-Marne (52) » */
export function departmentName(territory) {
  return `${territory.name} (${territory.code})`;
}

/** The first parent of `territory` of the given kind, or null. */
export function parentOfKind(territory, kind) {
  return (territory.parents || []).find((p) => p.kind === kind) || null;
}

/** Allows only http(s) links from data (no `javascript:` and the like). */
export function safeUrl(value) {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value, window.location.origin);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
