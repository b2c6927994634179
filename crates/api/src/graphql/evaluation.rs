//! Yearly evaluations of measures.

use super::common::{self, invalid, scoped};
use super::nodes::Evaluation;
use super::scalars::DateTime;
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, Object};
use kpss_domain::evaluation::{EvaluationFields, EvaluationForRecord};
use kpss_persistence::evaluation;
use kpss_persistence::search::Kind;

#[Object]
impl Evaluation {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn year(&self) -> i32 {
        self.0.year
    }

    async fn status(&self) -> enums::EvaluationStatus {
        self.0.status.into()
    }

    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    async fn recorded_at(&self) -> DateTime {
        DateTime::from_secs(self.0.recorded_at)
    }

    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }

    /// 1 when recorded, raised by each replacement.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The lines that state the evaluation; kept when it is replaced through the API (the audit log shows that).
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, Kind::Evaluation, self.0.id)
    }

    /// Every range of lines that states the evaluation's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(&self.0.source, Some(SourceOf(Kind::Evaluation, self.0.id)))
    }

    /// What was read and why, where the evaluation rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }
}

#[derive(InputObject)]
pub struct EvaluationInput {
    year: i32,
    status: enums::EvaluationStatus,
    comment: Option<String>,
}

#[derive(Default)]
pub struct EvaluationMutations;

#[Object]
impl EvaluationMutations {
    /// Adds an evaluation for a year, or replaces the one for the same year (the old one stays in the audit log). With `expectedVersion`, only if that year's evaluation is still at that version (0: there is none yet), else CONFLICT with `currentVersion`; without it, whatever is there is replaced.
    async fn record_evaluation(
        &self,
        ctx: &Context<'_>,
        measure_id: ID,
        input: EvaluationInput,
        expected_version: Option<i32>,
    ) -> Result<Evaluation> {
        let cmd = EvaluationForRecord {
            measure_id: common::id("measureId", &measure_id)?,
            fields: EvaluationFields::parse(
                input.year,
                input.status.into(),
                input.comment.as_deref(),
            )
            .map_err(|e| invalid(e, "input"))?,
            expected_version,
        };
        Ok(Evaluation(
            evaluation::record(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }
}
