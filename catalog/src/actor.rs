//! Who is acting: an account with a role, or the command line. Authorisation rules live
//! here and in the domain functions that take an [`Actor`], not in the HTTP layer.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An account's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Holder,
    Funder,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Holder => "holder",
            Role::Funder => "funder",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "holder" => Some(Role::Holder),
            "funder" => Some(Role::Funder),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The French label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Role::Holder => "Porteur de projet",
            Role::Funder => "Agent d'un financeur",
            Role::Staff => "Équipe du guichet",
            Role::Admin => "Administrateur",
        }
    }
}

/// The author of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Nobody logged in.
    Anonymous,
    /// A logged-in account.
    Account {
        id: i64,
        email: String,
        role: Role,
        funder_id: Option<i64>,
        /// A funder agent who may draft and edit its funder's schemes.
        editor: bool,
    },
    /// An operator at the command line (import, seed, user management).
    Operator,
}

impl Actor {
    /// How the actor is written in change logs and audit events.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "anonyme".into(),
            Actor::Account { email, .. } => email.clone(),
            Actor::Operator => "ligne de commande".into(),
        }
    }

    /// True for staff, administrators and the command line.
    pub fn is_staff(&self) -> bool {
        matches!(
            self,
            Actor::Operator
                | Actor::Account {
                    role: Role::Staff | Role::Admin,
                    ..
                }
        )
    }

    /// Fails unless the actor may curate the catalogue.
    pub fn require_staff(&self) -> Result<()> {
        match self {
            Actor::Anonymous => Err(Error::Unauthenticated),
            _ if self.is_staff() => Ok(()),
            _ => Err(Error::Forbidden),
        }
    }
}
