//! Statuses of dossiers, reviews and conferences, who may see a dossier, and the dossier as
//! the domain knows it.

use catalog::{Actor, Error, Result, Role};
use chrono::{DateTime, Utc};

use crate::content::{Expense, Holder, Plan, Project};
use crate::entity::dossier as row;

macro_rules! status {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The value as written in GraphQL and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The French label shown to users.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

status! {
    /// Where a dossier stands.
    DossierStatus {
        Draft = "DRAFT" => "Brouillon",
        Submitted = "SUBMITTED" => "Déposé",
        InReview = "IN_REVIEW" => "En instruction",
        InfoRequested = "INFO_REQUESTED" => "Informations demandées",
        Decided = "DECIDED" => "Décidé",
        Withdrawn = "WITHDRAWN" => "Retiré",
    }
}

status! {
    /// Where one funder's review stands.
    ReviewStatus {
        Received = "RECEIVED" => "Reçu",
        InReview = "IN_REVIEW" => "En instruction",
        Decided = "DECIDED" => "Décidé",
    }
}

status! {
    /// A funder's decision.
    Decision {
        Granted = "GRANTED" => "Accordé",
        Refused = "REFUSED" => "Refusé",
    }
}

status! {
    /// Where a conference of funders stands.
    ConferenceStatus {
        Planned = "PLANNED" => "Programmée",
        Open = "OPEN" => "En séance",
        Closed = "CLOSED" => "Close",
    }
}

/// Why the caller may see a dossier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Its holder.
    Holder,
    /// An agent of a funder the dossier was sent to.
    Funder(i64),
    /// An agent of a funder with services the dossier was routed to (the head of a network
    /// sees the whole network): reads, never acts.
    Network(i64),
    /// Staff (and the command line).
    Staff,
}

/// The account id of a logged-in actor.
pub fn account_id(actor: &Actor) -> Result<i64> {
    match actor {
        Actor::Account { id, .. } => Ok(*id),
        Actor::Anonymous => Err(Error::Unauthenticated),
        Actor::Operator => Err(Error::Forbidden),
    }
}

/// The funder a funder agent acts for.
pub fn agent_funder(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::Account {
            role: Role::Funder,
            funder_id,
            ..
        } => *funder_id,
        _ => None,
    }
}

/// A dossier with its sections parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Dossier {
    pub id: i64,
    pub reference: String,
    pub account_id: i64,
    pub status: DossierStatus,
    pub holder: Option<Holder>,
    pub project: Option<Project>,
    pub expenses: Vec<Expense>,
    pub plan: Option<Plan>,
    pub certified: bool,
    pub scheme_slugs: Vec<String>,
    pub submit_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub withdrawn_reason: Option<String>,
}

impl Dossier {
    /// The total cost: the sum of the budget lines.
    pub fn total_cost(&self) -> i64 {
        self.expenses.iter().map(|e| e.amount).sum()
    }

    /// The project's title, or the reference while it has none.
    pub fn title(&self) -> String {
        self.project
            .as_ref()
            .map(|p| p.title.clone())
            .unwrap_or_else(|| self.reference.clone())
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: Option<&str>) -> Option<T> {
    json.and_then(|j| serde_json::from_str(j).ok())
}

impl From<row::Model> for Dossier {
    fn from(r: row::Model) -> Self {
        Dossier {
            id: r.id,
            reference: r.reference,
            account_id: r.account_id,
            status: DossierStatus::parse(&r.status).unwrap_or(DossierStatus::Draft),
            holder: parse(r.holder.as_deref()),
            project: parse(r.project.as_deref()),
            expenses: parse(Some(&r.expenses)).unwrap_or_default(),
            plan: parse(r.plan.as_deref()),
            certified: r.certified,
            scheme_slugs: parse(Some(&r.scheme_slugs)).unwrap_or_default(),
            submit_key: r.submit_key,
            created_at: r.created_at,
            updated_at: r.updated_at,
            submitted_at: r.submitted_at,
            withdrawn_reason: r.withdrawn_reason,
        }
    }
}

/// The dossier's status once the reviews and requests are as given (for a dossier that is
/// neither a draft nor withdrawn).
pub fn derive_status(reviews: &[ReviewStatus], open_requests: bool) -> DossierStatus {
    if !reviews.is_empty() && reviews.iter().all(|s| *s == ReviewStatus::Decided) {
        DossierStatus::Decided
    } else if open_requests {
        DossierStatus::InfoRequested
    } else if reviews.iter().any(|s| *s != ReviewStatus::Received) {
        DossierStatus::InReview
    } else {
        DossierStatus::Submitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dossier_status_follows_its_reviews() {
        use ReviewStatus::*;
        assert_eq!(
            derive_status(&[Received, Received], false),
            DossierStatus::Submitted
        );
        assert_eq!(
            derive_status(&[Received, InReview], false),
            DossierStatus::InReview
        );
        assert_eq!(
            derive_status(&[Received, Decided], false),
            DossierStatus::InReview
        );
        assert_eq!(
            derive_status(&[Received, InReview], true),
            DossierStatus::InfoRequested
        );
        assert_eq!(
            derive_status(&[Decided, Decided], false),
            DossierStatus::Decided
        );
        // Every funder has decided: an unanswered question no longer holds it.
        assert_eq!(derive_status(&[Decided], true), DossierStatus::Decided);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "DRAFT",
            "SUBMITTED",
            "IN_REVIEW",
            "INFO_REQUESTED",
            "DECIDED",
            "WITHDRAWN",
        ] {
            assert_eq!(DossierStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Decision::parse("GRANTED"), Some(Decision::Granted));
        assert_eq!(ConferenceStatus::Closed.label(), "Close");
    }
}
