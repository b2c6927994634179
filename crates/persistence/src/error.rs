use kpss_domain::ValidationError;

/// What a storage call can fail with. Database details stay in `Db`, which
/// the API layer reports as an internal error without quoting it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Every problem of a file, each named by where it is.
    #[error("the file has {} problem(s)", .0.len())]
    Problems(Vec<ValidationError>),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the record was changed by someone else (current version {current_version})")]
    Conflict {
        current_version: i32,
        /// The item of a list the conflict is in (`items[3].expected_version`).
        field: Option<String>,
    },
    #[error("{0}")]
    Seed(String),
    /// Stored data that cannot be read back or written out (a bug, never the caller's input).
    #[error("{0}")]
    Data(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad input, named by its field (`input.parent_id`).
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(field, message.into()))
    }

    /// The same error, of item `item` of a list (`items[3]`): a bad field
    /// and a conflict name it.
    pub(crate) fn of_item(self, item: &str) -> Self {
        match self {
            Self::Invalid(e) => Self::Invalid(e.under(item)),
            Self::Conflict {
                current_version, ..
            } => Self::Conflict {
                current_version,
                field: Some(format!("{item}.expected_version")),
            },
            e => e,
        }
    }
}
