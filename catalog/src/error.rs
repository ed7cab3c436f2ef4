//! The catalogue's error type. `Display` messages are in French and safe to show to users;
//! database details stay in the `Database` variant, which is never shown.

/// What can go wrong in a catalogue operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; `field` names the offending field with a dotted path (`funding.rateMax`).
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0} introuvable.")]
    NotFound(String),
    #[error("Connexion requise.")]
    Unauthenticated,
    #[error("Vous n'avez pas les droits nécessaires pour cette action.")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("Trop de demandes. Réessayez dans quelques minutes.")]
    RateLimited,
    #[error("Erreur interne du service.")]
    Database(#[from] sea_orm::DbErr),
    /// A failure outside the database (the search index); the detail is for the log.
    #[error("Erreur interne du service.")]
    Internal(String),
}

impl Error {
    /// A validation error on `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
