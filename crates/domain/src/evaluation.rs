//! Yearly evaluations of measures.

use crate::error::ValidationResult;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT};
use crate::value::Timestamp;
use crate::value::Year;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub id: i64,
    pub measure_id: i64,
    pub year: i32,
    pub status: EvaluationStatus,
    pub comment: Option<String>,
    pub recorded_at: Timestamp,
    pub recorded_by: String,
    pub source: Option<Provenance>,
    pub version: i32,
}

crate::enum_str! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum EvaluationStatus {
        Fulfilled = "FULFILLED",
        PartiallyFulfilled = "PARTIALLY_FULFILLED",
        InProgress = "IN_PROGRESS",
        NotFulfilled = "NOT_FULFILLED",
        /// The source gives no readable status.
        Unknown = "UNKNOWN",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationFields {
    pub year: Year,
    pub status: EvaluationStatus,
    pub comment: Option<String>,
}

impl EvaluationFields {
    pub fn parse(
        year: i32,
        status: EvaluationStatus,
        comment: Option<&str>,
    ) -> ValidationResult<Self> {
        Ok(Self {
            year: Year::parse("year", year)?,
            status,
            comment: text::optional("comment", comment, MAX_TEXT)?,
        })
    }
}

/// The evaluation of a year for a measure: added, or replacing that year's.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationForRecord {
    pub measure_id: i64,
    pub fields: EvaluationFields,
    /// The version of that year's evaluation the change was made from (0:
    /// none yet); none replaces whatever is there.
    pub expected_version: Option<i32>,
}
