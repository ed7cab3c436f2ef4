// French labels for the API's vocabulary (DESIGN §4). Every enum value has a label here;
// `label(map, value)` falls back to the raw value so that a value added to the API later
// still shows up rather than disappearing.

export const BENEFICIARY_TYPES = {
  COMMUNE: 'Communes',
  EPCI: 'Intercommunalités (EPCI)',
  DEPARTMENT: 'Départements',
  REGION: 'Régions',
  PUBLIC_ESTABLISHMENT: 'Établissements publics',
  ASSOCIATION: 'Associations',
  COMPANY: 'Entreprises',
  ESS_COMPANY: "Entreprises de l'économie sociale et solidaire",
  FARMER: 'Agriculteurs',
  INDIVIDUAL: 'Particuliers',
};

// The same types in the singular, for one holder (« Vous êtes : Commune »).
export const HOLDER_TYPES = {
  COMMUNE: 'Commune',
  EPCI: 'Intercommunalité (EPCI)',
  DEPARTMENT: 'Département',
  REGION: 'Région',
  PUBLIC_ESTABLISHMENT: 'Établissement public',
  ASSOCIATION: 'Association',
  COMPANY: 'Entreprise',
  ESS_COMPANY: "Entreprise de l'économie sociale et solidaire",
  FARMER: 'Agriculteur ou exploitation agricole',
  INDIVIDUAL: 'Particulier',
};

export const AID_TYPES = {
  GRANT: 'Subvention',
  LOAN: 'Prêt',
  RECOVERABLE_ADVANCE: 'Avance récupérable',
  GUARANTEE: 'Garantie',
  TECHNICAL_ENGINEERING: 'Ingénierie technique',
  FINANCIAL_ENGINEERING: 'Ingénierie financière',
  LEGAL_ENGINEERING: 'Ingénierie juridique',
  OTHER: 'Autre aide',
};

export const RECURRENCES = {
  PERMANENT: 'Permanent',
  RECURRING: 'Récurrent',
  ONE_OFF: 'Ponctuel',
};

export const NATURES = {
  INVESTMENT: 'Investissement',
  OPERATING: 'Fonctionnement',
};

export const COST_BASES = {
  HT: 'HT (hors taxes)',
  TTC: 'TTC (toutes taxes comprises)',
};

export const SCHEME_STATUSES = {
  DRAFT: 'Brouillon',
  PUBLISHED: 'Publié',
  ARCHIVED: 'Archivé',
};

export const FUNDER_KINDS = {
  STATE: 'État',
  REGION: 'Région',
  DEPARTMENT: 'Département',
  INTERCOMMUNALITY: 'Intercommunalité',
  COMMUNE: 'Commune',
  EU: 'Union européenne',
  PUBLIC_AGENCY: 'Agence ou opérateur public',
  SOCIAL_SECURITY: 'Sécurité sociale',
  FOUNDATION: 'Fondation',
  BANK: 'Banque',
  NETWORK: 'Réseau',
  OTHER: 'Autre financeur',
};

// Headings used when funders are grouped by kind (same order as the enum).
export const FUNDER_KIND_GROUPS = {
  STATE: 'État',
  REGION: 'Régions',
  DEPARTMENT: 'Départements',
  INTERCOMMUNALITY: 'Intercommunalités',
  COMMUNE: 'Communes',
  EU: 'Union européenne',
  PUBLIC_AGENCY: 'Agences et opérateurs publics',
  SOCIAL_SECURITY: 'Sécurité sociale',
  FOUNDATION: 'Fondations',
  BANK: 'Banques',
  NETWORK: 'Réseaux',
  OTHER: 'Autres financeurs',
};

export const STATE_AID_REGIMES = {
  NONE: "Hors régime d'aides d'État",
  DE_MINIMIS: 'De minimis (300 000 € sur trois ans)',
  DE_MINIMIS_SIEG: 'De minimis SIEG (750 000 € sur trois ans)',
  DE_MINIMIS_AGRICULTURE: 'De minimis agricole (50 000 € sur trois ans)',
};

export const TERRITORY_KINDS = {
  COMMUNE: 'Commune',
  EPCI: 'Intercommunalité (EPCI)',
  DEPARTMENT: 'Département',
  REGION: 'Région',
};

export const ROLES = {
  HOLDER: 'Porteur de projet',
  FUNDER: 'Agent d’un financeur',
  STAFF: 'Équipe Guichet',
  ADMIN: 'Administrateur',
};

export const THEMES = {
  commerce: 'Commerce',
  alimentation: 'Alimentation',
  sante: 'Santé',
  mobilite: 'Mobilité',
  numerique: 'Numérique',
  'tiers-lieux': 'Tiers-lieux',
  culture: 'Culture',
  sport: 'Sport',
  'lien-social': 'Lien social',
  'enfance-jeunesse': 'Enfance et jeunesse',
  autonomie: 'Autonomie',
  habitat: 'Habitat',
  'energie-climat': 'Énergie et climat',
  environnement: 'Environnement',
  'patrimoine-tourisme': 'Patrimoine et tourisme',
  'services-publics': 'Services publics',
  'economie-emploi': 'Économie et emploi',
  agriculture: 'Agriculture',
  revitalisation: 'Revitalisation',
  ingenierie: 'Ingénierie',
};

// What `matchProject` checks (DESIGN §6 criterion codes, issue 13's CONDITION and NATURE).
export const CRITERIA = {
  BENEFICIARY_TYPE: 'Type de porteur',
  TERRITORY: 'Territoire',
  POPULATION: 'Population',
  CONDITION: 'Condition',
  NATURE: 'Nature de l’opération',
  PROJECT_COST: 'Coût du projet',
  CALENDAR: 'Calendrier',
  START_BEFORE_FILING: 'Début du projet',
  THEME: 'Thèmes',
  AID_TYPE: 'Forme d’aide',
};

// Search alerts (saved searches): the choice offered on the search page, the alert's
// frequency (« une alerte quotidienne ») and its digest's (« un récapitulatif quotidien »).
export const ALERT_FREQUENCY_CHOICES = {
  DAILY: 'Chaque jour',
  WEEKLY: 'Chaque semaine',
};

export const ALERT_FREQUENCIES = {
  DAILY: 'quotidienne',
  WEEKLY: 'hebdomadaire',
};

export const DIGEST_FREQUENCIES = {
  DAILY: 'quotidien',
  WEEKLY: 'hebdomadaire',
};

// Shared dossiers (issue 5): statuses of a dossier, of a funder's review, decisions,
// conferences of funders, and the orders of the instruction inbox.
export const DOSSIER_STATUSES = {
  DRAFT: 'Brouillon',
  SUBMITTED: 'Déposé',
  IN_REVIEW: 'En instruction',
  INFO_REQUESTED: 'Informations demandées',
  DECIDED: 'Décidé',
  WITHDRAWN: 'Retiré',
};

export const REVIEW_STATUSES = {
  RECEIVED: 'Reçu',
  IN_REVIEW: 'En instruction',
  DECIDED: 'Décidé',
};

export const DECISIONS = {
  GRANTED: 'Accordé',
  REFUSED: 'Refusé',
};

export const CONFERENCE_STATUSES = {
  PLANNED: 'Prévue',
  OPEN: 'Ouverte',
  CLOSED: 'Close',
};

export const DOSSIER_SORTS = {
  UPDATED_DESC: 'Modifiés récemment',
  UPDATED_ASC: 'Modifiés il y a longtemps',
  SUBMITTED_DESC: 'Déposés récemment',
  SUBMITTED_ASC: 'Déposés il y a longtemps',
};

/** The French label of `value` in `map`, or the value itself when it has none. */
export function label(map, value) {
  return Object.hasOwn(map, value) ? map[value] : String(value);
}
