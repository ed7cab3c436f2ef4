//! The fixed vocabulary of DESIGN §4: enum values as they appear in JSON and GraphQL, with
//! their French labels, and the theme slugs.

use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary: a Rust enum whose JSON form is the SCREAMING_SNAKE_CASE
/// name, with a French label per value.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in JSON, GraphQL and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The French label shown to users.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the JSON form; `None` for anything else.
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Who may receive a scheme's aid.
    BeneficiaryType {
        Commune = "COMMUNE" => "Commune",
        Epci = "EPCI" => "Intercommunalité (EPCI)",
        Department = "DEPARTMENT" => "Département",
        Region = "REGION" => "Région",
        PublicEstablishment = "PUBLIC_ESTABLISHMENT" => "Établissement public",
        Association = "ASSOCIATION" => "Association",
        Company = "COMPANY" => "Entreprise",
        EssCompany = "ESS_COMPANY" => "Entreprise de l'économie sociale et solidaire",
        Farmer = "FARMER" => "Agriculteur",
        Individual = "INDIVIDUAL" => "Particulier",
    }
);

vocabulary!(
    /// The form an aid takes.
    AidType {
        Grant = "GRANT" => "Subvention",
        Loan = "LOAN" => "Prêt",
        RecoverableAdvance = "RECOVERABLE_ADVANCE" => "Avance récupérable",
        Guarantee = "GUARANTEE" => "Garantie",
        TechnicalEngineering = "TECHNICAL_ENGINEERING" => "Ingénierie technique",
        FinancialEngineering = "FINANCIAL_ENGINEERING" => "Ingénierie financière",
        LegalEngineering = "LEGAL_ENGINEERING" => "Ingénierie juridique et administrative",
        Other = "OTHER" => "Autre",
    }
);

vocabulary!(
    /// How often a scheme opens.
    Recurrence {
        Permanent = "PERMANENT" => "Permanent",
        Recurring = "RECURRING" => "Récurrent",
        OneOff = "ONE_OFF" => "Ponctuel",
    }
);

vocabulary!(
    /// Publication state of a scheme.
    SchemeStatus {
        Draft = "DRAFT" => "Brouillon",
        Published = "PUBLISHED" => "Publié",
        Archived = "ARCHIVED" => "Archivé",
    }
);

vocabulary!(
    /// What kind of body a funder is.
    FunderKind {
        State = "STATE" => "État",
        Region = "REGION" => "Région",
        Department = "DEPARTMENT" => "Département",
        Intercommunality = "INTERCOMMUNALITY" => "Intercommunalité",
        Commune = "COMMUNE" => "Commune",
        Eu = "EU" => "Union européenne",
        PublicAgency = "PUBLIC_AGENCY" => "Agence ou opérateur public",
        SocialSecurity = "SOCIAL_SECURITY" => "Protection sociale",
        Foundation = "FOUNDATION" => "Fondation",
        Bank = "BANK" => "Banque",
        Network = "NETWORK" => "Réseau",
        Other = "OTHER" => "Autre",
    }
);

vocabulary!(
    /// The State-aid regime an aid falls under.
    StateAidRegime {
        None = "NONE" => "Aucun",
        DeMinimis = "DE_MINIMIS" => "De minimis général",
        DeMinimisSieg = "DE_MINIMIS_SIEG" => "De minimis SIEG",
        DeMinimisAgriculture = "DE_MINIMIS_AGRICULTURE" => "De minimis agricole",
    }
);

vocabulary!(
    /// What an operation is, for the rules that tell investment from operating costs (CGCT
    /// L1111-10 III concerns investment only).
    Nature {
        Investment = "INVESTMENT" => "Investissement",
        Operating = "OPERATING" => "Fonctionnement",
    }
);

vocabulary!(
    /// Whether amounts are counted excluding or including VAT (arrêté du 21 août 2018: a
    /// budget says which).
    CostBasis {
        Ht = "HT" => "HT",
        Ttc = "TTC" => "TTC",
    }
);

/// Theme slugs and their French labels.
pub const THEMES: &[(&str, &str)] = &[
    ("commerce", "Commerce"),
    ("alimentation", "Alimentation"),
    ("sante", "Santé"),
    ("mobilite", "Mobilité"),
    ("numerique", "Numérique"),
    ("tiers-lieux", "Tiers-lieux"),
    ("culture", "Culture"),
    ("sport", "Sport"),
    ("lien-social", "Lien social"),
    ("enfance-jeunesse", "Enfance et jeunesse"),
    ("autonomie", "Autonomie et grand âge"),
    ("habitat", "Habitat"),
    ("energie-climat", "Énergie et climat"),
    ("environnement", "Environnement"),
    ("patrimoine-tourisme", "Patrimoine et tourisme"),
    ("services-publics", "Services publics"),
    ("economie-emploi", "Économie et emploi"),
    ("agriculture", "Agriculture"),
    ("revitalisation", "Revitalisation"),
    ("ingenierie", "Ingénierie"),
];

/// The French label of a theme slug, if it is one.
pub fn theme_label(slug: &str) -> Option<&'static str> {
    THEMES
        .iter()
        .find(|(s, _)| *s == slug)
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_json_name() {
        for value in BeneficiaryType::ALL {
            assert_eq!(BeneficiaryType::parse(value.as_str()), Some(*value));
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.as_str()));
        }
        assert_eq!(AidType::parse("SUBVENTION"), None);
        assert_eq!(theme_label("tiers-lieux"), Some("Tiers-lieux"));
        assert_eq!(theme_label("tiers lieux"), None);
    }
}
