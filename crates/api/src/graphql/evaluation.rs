//! Yearly evaluations of measures.

use super::common::{self, invalid, scoped};
use super::nodes::Evaluation;
use super::scalars::DateTime;
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, Object};
use kpss_domain::EntityKind;
use kpss_domain::evaluation::{EvaluationFields, EvaluationForRecord};
use kpss_domain::value::Year;
use kpss_persistence::evaluation;

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
        source(&self.0.source, EntityKind::Evaluation, self.0.id)
    }

    /// Every range of lines that states the evaluation's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Evaluation, self.0.id)),
        )
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

/// One measure's evaluation in a year's evaluation of a plan.
#[derive(InputObject)]
pub struct EvaluationItemInput {
    measure_id: ID,
    status: enums::EvaluationStatus,
    comment: Option<String>,
    /// As in `recordEvaluation`: the version of the measure's evaluation of that year (0: none yet).
    expected_version: Option<i32>,
}

/// Most items one `recordEvaluations` takes: more than any plan's measures.
const MAX_ITEMS: usize = 1_000;

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

    /// Records a year's evaluation of a plan at once: each item adds or replaces its measure's evaluation of `year`, as `recordEvaluation` does. All or nothing: a bad item or a CONFLICT on any item writes nothing, and the error's `field` names the item (`items[3].measureId`). Every measure must be one of the plan's. The evaluations come in the order given.
    async fn record_evaluations(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        year: i32,
        items: Vec<EvaluationItemInput>,
    ) -> Result<Vec<Evaluation>> {
        let plan_id = common::id("planId", &plan_id)?;
        Year::parse("year", year).map_err(coded)?;
        if items.len() > MAX_ITEMS {
            return Err(common::bad(
                "items",
                format!("at most {MAX_ITEMS} items at once"),
            ));
        }
        let cmds = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let under = format!("items[{i}]");
                Ok(EvaluationForRecord {
                    measure_id: common::id(&format!("{under}.measureId"), &item.measure_id)?,
                    fields: EvaluationFields::parse(
                        year,
                        item.status.into(),
                        item.comment.as_deref(),
                    )
                    .map_err(|e| invalid(e, &under))?,
                    expected_version: item.expected_version,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let recorded = evaluation::record_all(scoped(ctx), plan_id, &cmds)
            .await
            .map_err(coded)?;
        Ok(recorded.into_iter().map(Evaluation).collect())
    }
}
