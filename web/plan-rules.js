// What the plan pages know of the financing-plan rules, as catalog/src/plan.rs applies them:
// shared by « Mon projet » and the dossier form so that both say the same thing.

// Holders that are not public bodies: the de minimis aid they already received matters.
export const DE_MINIMIS_HOLDERS = new Set(['ASSOCIATION', 'COMPANY', 'ESS_COMPANY', 'FARMER', 'INDIVIDUAL']);

// Holders bound by CGCT L1111-10 III (20 % minimum of an investment's public financing).
export const LOCAL_AUTHORITIES = new Set(['COMMUNE', 'EPCI', 'DEPARTMENT', 'REGION']);

// The forms a plan line takes; all but GRANT are the owner's financing, not aid.
export const LINE_TYPES = [
  ['GRANT', 'Subvention'],
  ['LOAN', 'Prêt'],
  ['RECOVERABLE_ADVANCE', 'Avance remboursable'],
  ['GUARANTEE', 'Garantie'],
];

/** Whether a line of this form is repaid by the holder (a loan, an advance, a guarantee). */
export const isRepayable = (aidType) => aidType === 'LOAN' || aidType === 'RECOVERABLE_ADVANCE' || aidType === 'GUARANTEE';

/** Whether a scheme's money is public: every funder public (`Funder.publicBody`), or no funder named. */
export const isPublicScheme = (funders) => (funders || []).every((f) => f.publicBody);
