//! GraphQL mirrors of the domain vocabulary (DESIGN §4).

use async_graphql::Enum;
use serde::Serialize;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        #[graphql(remote = $remote)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }
    };
}

mirror!(
    /// Who may receive a scheme's aid.
    BeneficiaryType = "catalog::vocab::BeneficiaryType" {
        Commune, Epci, Department, Region, PublicEstablishment, Association, Company,
        EssCompany, Farmer, Individual,
    }
);
mirror!(
    /// The form an aid takes.
    AidType = "catalog::vocab::AidType" {
        Grant, Loan, RecoverableAdvance, Guarantee, TechnicalEngineering,
        FinancialEngineering, LegalEngineering, Other,
    }
);
mirror!(
    /// How often a scheme opens.
    Recurrence = "catalog::vocab::Recurrence" { Permanent, Recurring, OneOff }
);
mirror!(
    /// Publication state of a scheme.
    SchemeStatus = "catalog::vocab::SchemeStatus" { Draft, Published, Archived }
);
mirror!(
    /// What kind of body a funder is.
    FunderKind = "catalog::vocab::FunderKind" {
        State, Region, Department, Intercommunality, Commune, Eu, PublicAgency,
        SocialSecurity, Foundation, Bank, Network, Other,
    }
);
mirror!(
    /// The State-aid regime an aid falls under.
    StateAidRegime = "catalog::vocab::StateAidRegime" { None, DeMinimis, DeMinimisSieg, DeMinimisAgriculture }
);
mirror!(
    /// What an operation is: investment or operating costs.
    Nature = "catalog::vocab::Nature" { Investment, Operating }
);
mirror!(
    /// Whether amounts exclude (HT) or include (TTC) VAT.
    CostBasis = "catalog::vocab::CostBasis" { Ht, Ttc }
);
mirror!(
    /// The level of a territory.
    TerritoryKind = "catalog::TerritoryKind" { Commune, Epci, Department, Region }
);
mirror!(
    /// An account's role.
    Role = "catalog::Role" { Holder, Funder, Staff, Admin }
);

/// An optional list argument as the domain's values (absent is empty).
pub fn domain_list<T, U: From<T>>(values: Option<Vec<T>>) -> Vec<U> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}
