//! One error type for the API, mapped once onto the contract's `extensions.code`.

use async_graphql::ErrorExtensions;
use kpss_persistence::Error as StoreError;
use kpss_persistence::dialect::{Failure, failure};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// A file with problems: each with its location in the file.
    #[error("the file has {} problem(s)", .0.len())]
    BadFile(Vec<kpss_domain::ValidationError>),
    #[error("the record was changed by someone else (current version {current_version})")]
    Conflict {
        current_version: i32,
        /// The item of a list the conflict is in, as the client names it.
        field: Option<String>,
    },
    #[error("{0}")]
    TooComplex(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub(crate) fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::Unauthenticated(msg.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::BadUserInput { .. } | Self::BadFile(_) => code::BAD_USER_INPUT,
            Self::Conflict { .. } => code::CONFLICT,
            Self::TooComplex(_) => code::QUERY_TOO_COMPLEX,
            Self::RateLimited { .. } => code::RATE_LIMITED,
            Self::ServiceUnavailable(_) => code::SERVICE_UNAVAILABLE,
            Self::Internal => code::INTERNAL,
        }
    }
}

/// The contract's error codes (`extensions.code`, `auth.md`): every code
/// the service answers with is one of these.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
    /// Automatic persisted queries: the hash is not known (the client then
    /// sends the text); the APQ protocol's own code.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
}

/// The codes metrics label by.
pub const CODES: [&str; 10] = [
    code::UNAUTHENTICATED,
    code::FORBIDDEN,
    code::NOT_FOUND,
    code::BAD_USER_INPUT,
    code::CONFLICT,
    code::QUERY_TOO_COMPLEX,
    code::RATE_LIMITED,
    code::SERVICE_UNAVAILABLE,
    code::INTERNAL,
    code::PERSISTED_QUERY_NOT_FOUND,
];

/// `code` when it is one of the contract's.
pub fn contract_code(code: &str) -> Option<&'static str> {
    CODES.iter().find(|c| **c == code).copied()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::Problems(p) => Self::BadFile(p),
            StoreError::Forbidden(m) => Self::Forbidden(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            StoreError::Conflict {
                current_version,
                field,
            } => Self::Conflict {
                current_version,
                field: field.as_deref().map(camel_path),
            },
            StoreError::Db(e)
                if matches!(failure(&e), Failure::Unavailable | Failure::Transient) =>
            {
                tracing::warn!(error = %e, "database unavailable");
                Self::ServiceUnavailable("the database is not available; retry shortly".into())
            }
            StoreError::Db(e) if failure(&e) == Failure::BadData => Self::BadUserInput {
                field: "input".into(),
                message: "a value cannot be stored (e.g. text with a NUL character)".into(),
            },
            StoreError::Seed(_) | StoreError::Data(_) | StoreError::Db(_) => {
                // Logged here, never shown: SQL and paths are not for clients.
                tracing::error!(error = %e, "storage failure");
                Self::Internal
            }
        }
    }
}

impl From<kpss_domain::ValidationError> for ApiError {
    fn from(v: kpss_domain::ValidationError) -> Self {
        Self::BadUserInput {
            field: camel_path(&v.field),
            message: v.message(),
        }
    }
}

/// `input.period_end` -> `input.periodEnd`: the domain names fields as Rust
/// does, clients as GraphQL does.
pub fn camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::BadFile(problems) => {
                    let list: Vec<async_graphql::Value> = problems
                        .iter()
                        .map(|p| {
                            async_graphql::Value::from_json(serde_json::json!({
                                "location": p.field, "message": p.czech() }))
                            .unwrap_or_default()
                        })
                        .collect();
                    ext.set("problems", list);
                }
                Self::Conflict {
                    current_version,
                    field,
                } => {
                    ext.set("currentVersion", *current_version);
                    if let Some(f) = field {
                        ext.set("field", f.as_str());
                    }
                }
                Self::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
                _ => {}
            }
        })
    }
}

/// Resolvers return this; `?` turns an [`ApiError`] into a coded GraphQL error.
pub type Result<T> = std::result::Result<T, async_graphql::Error>;

pub fn coded(e: impl Into<ApiError>) -> async_graphql::Error {
    e.into().extend()
}
