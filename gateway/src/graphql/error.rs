//! Domain errors as GraphQL errors: `extensions.code` (and `field` for validation), with
//! messages safe for users; internal details go to the log only.

use async_graphql::{ErrorExtensions, FieldError};

/// Turns a domain error into a GraphQL error with its code.
pub trait GraphqlError {
    fn extend(self) -> FieldError;
}

/// The `extensions.code` of a domain error; failures of ours (database, index) are logged
/// here, with their detail, since the code and message shown say nothing of them.
pub fn code(error: &catalog::Error) -> &'static str {
    use catalog::Error as E;
    match error {
        E::Validation { .. } => "VALIDATION",
        E::NotFound(_) => "NOT_FOUND",
        E::Unauthenticated => "UNAUTHENTICATED",
        E::Forbidden => "FORBIDDEN",
        E::Conflict(_) => "CONFLICT",
        E::RateLimited => "RATE_LIMITED",
        E::Database(e) => {
            tracing::error!(error = %e, "database error");
            "INTERNAL"
        }
        E::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "INTERNAL"
        }
    }
}

impl GraphqlError for catalog::Error {
    fn extend(self) -> FieldError {
        use catalog::Error as E;
        let code = code(&self);
        let field = match &self {
            E::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        FieldError::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = &field {
                ext.set("field", field.as_str());
            }
        })
    }
}

/// An error of code INTERNAL for failures outside the domain (logged, not shown).
pub fn internal(error: impl std::fmt::Display) -> FieldError {
    tracing::error!(error = %error, "internal error");
    FieldError::new("Erreur interne du service.").extend_with(|_, ext| ext.set("code", "INTERNAL"))
}

/// Extension trait so resolvers can write `.gql()?` on domain results.
pub trait ResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ResultExt<T> for Result<T, catalog::Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(GraphqlError::extend)
    }
}
