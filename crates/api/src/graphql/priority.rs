//! Priorities of a plan.

use super::common::{self, children, invalid, patch, related, scoped};
use super::nodes::{Measure, MeasuresOf, Plan, PlanById, Priority};
use super::records::Records;
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::EntityKind;
use kpss_domain::priority as dom_priority;
use kpss_domain::priority::{PriorityDraft, PriorityForCreate};
use kpss_persistence::priority;

versioned!(Priority, priority, dom_priority::PriorityPatch);

#[Object]
impl Priority {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        related(ctx, PlanById(self.0.plan_id)).await
    }

    /// Number as the document gives it, e.g. "1" or "4".
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// The code as lookups compare it: no space after a dot ("1. 2" -> "1.2").
    async fn normalized_code(&self) -> String {
        kpss_domain::value::normalized_code(&self.0.code)
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The line of the source document that states the priority; null for one created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Priority, self.0.id)
    }

    /// Every range of lines that states the priority's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Priority, self.0.id)),
        )
    }

    /// What was read and why, where the priority rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Working group or section the priority belongs to, e.g. "Pracovní skupina rodiny s dětmi".
    async fn group(&self) -> Option<&str> {
        self.0.group.as_deref()
    }

    /// Top-level measures; sub-measures are in Measure.subMeasures.
    async fn measures(&self, ctx: &Context<'_>) -> Result<Records<Measure>> {
        children(ctx, MeasuresOf(self.0.id)).await
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject)]
pub struct PriorityInput {
    code: String,
    title: String,
    description: Option<String>,
    group: Option<String>,
}

#[derive(InputObject)]
pub struct PriorityPatch {
    code: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    group: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct PriorityMutations;

#[Object]
impl PriorityMutations {
    async fn create_priority(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        input: PriorityInput,
    ) -> Result<Priority> {
        let cmd = PriorityForCreate {
            plan_id: common::id("planId", &plan_id)?,
            fields: PriorityDraft {
                code: input.code,
                title: input.title,
                description: input.description,
                group: input.group,
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Priority(
            priority::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_priority(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: PriorityPatch,
    ) -> Result<Priority> {
        let p = dom_priority::PriorityPatch {
            code: self::patch(patch.code),
            title: self::patch(patch.title),
            description: self::patch(patch.description),
            group: self::patch(patch.group),
        };
        common::update(ctx, &id, expected_version, p).await
    }

    async fn archive_priority(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Priority> {
        common::archive(ctx, &id, expected_version, true).await
    }
}
