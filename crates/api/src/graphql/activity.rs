//! Activities of measures and their sub-activities.

use super::common::{
    self, bad, children, invalid, list, maybe_related, optional_id, patch, related, scoped,
};
use super::enums;
use super::nodes::{Activity, ActivityById, Measure, MeasureById, SubActivitiesOf};
use super::records::Records;
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::EntityKind;
use kpss_domain::activity as dom_activity;
use kpss_domain::activity::{ActivityDraft, ActivityForCreate};
use kpss_domain::patch::Patch;
use kpss_persistence::activity;

versioned!(Activity, activity, dom_activity::ActivityPatch);

#[Object]
impl Activity {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn measure(&self, ctx: &Context<'_>) -> Result<Measure> {
        related(ctx, MeasureById(self.0.measure_id)).await
    }

    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Activity>> {
        maybe_related(ctx, self.0.parent_id.map(ActivityById)).await
    }

    /// e.g. "1.2.6" or "1.2.6.1"
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

    /// The lines of the source document that state the activity; null for one created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Activity, self.0.id)
    }

    /// Every range of lines that states the activity's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Activity, self.0.id)),
        )
    }

    /// What was read and why, where the activity rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn responsible(&self) -> &[String] {
        &self.0.responsible
    }

    /// Harmonogram as written: `scheduleItems`, one per line.
    async fn schedule(&self) -> Option<String> {
        joined(&self.0.schedule_items)
    }

    /// Financování as written: `financingItems`, one per line.
    async fn financing(&self) -> Option<String> {
        joined(&self.0.financing_items)
    }

    /// Harmonogram, one entry per line of the document's cell.
    async fn schedule_items(&self) -> &[String] {
        &self.0.schedule_items
    }

    /// Financování, one entry per line of the document's cell.
    async fn financing_items(&self) -> &[String] {
        &self.0.financing_items
    }

    /// What the document says of the financing: `STATED` with items, `NONE` where it says there
    /// is none ("žádné"), `NOT_SPECIFIABLE`, or `NOT_STATED`.
    async fn financing_statement(&self) -> enums::Statement {
        self.0.financing_statement.into()
    }

    async fn outputs(&self) -> &[String] {
        &self.0.outputs
    }

    async fn sub_activities(&self, ctx: &Context<'_>) -> Result<Records<Activity>> {
        children(ctx, SubActivitiesOf(self.0.id)).await
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject)]
pub struct ActivityInput {
    parent_id: Option<ID>,
    code: String,
    title: String,
    description: Option<String>,
    responsible: Option<Vec<String>>,
    /// One entry per line; or give `scheduleItems`.
    schedule: Option<String>,
    /// One entry per line; or give `financingItems`.
    financing: Option<String>,
    schedule_items: Option<Vec<String>>,
    financing_items: Option<Vec<String>>,
    /// Only where the items alone do not tell: `NONE` or `NOT_SPECIFIABLE` (without items).
    financing_statement: Option<enums::Statement>,
    outputs: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ActivityPatch {
    code: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    responsible: MaybeUndefined<Vec<String>>,
    schedule: MaybeUndefined<String>,
    financing: MaybeUndefined<String>,
    schedule_items: MaybeUndefined<Vec<String>>,
    financing_items: MaybeUndefined<Vec<String>>,
    financing_statement: MaybeUndefined<enums::Statement>,
    outputs: MaybeUndefined<Vec<String>>,
}

/// Entries one per line, as the contract's strings give them; none is null.
fn joined(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join("\n"))
}

/// An input field of a create: absent or a value.
fn given<T>(v: Option<T>) -> MaybeUndefined<T> {
    v.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value)
}

/// A cell sent as the contract's string (split at line breaks) or as entries; not both.
fn items(
    field: &str,
    text: MaybeUndefined<String>,
    entries: MaybeUndefined<Vec<String>>,
) -> Result<Patch<Vec<String>>> {
    match (text, entries) {
        (MaybeUndefined::Undefined, e) => Ok(patch(e)),
        (t, MaybeUndefined::Undefined) => Ok(match patch(t) {
            Patch::Set(t) => Patch::Set(dom_activity::lines(Some(&t))),
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        }),
        _ => Err(bad(field, "give either the text or its entries, not both")),
    }
}

#[derive(Default)]
pub struct ActivityMutations;

#[Object]
impl ActivityMutations {
    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        measure_id: ID,
        input: ActivityInput,
    ) -> Result<Activity> {
        let cmd = ActivityForCreate {
            measure_id: common::id("measureId", &measure_id)?,
            parent_id: optional_id("input.parentId", input.parent_id.as_ref())?,
            fields: ActivityDraft {
                code: input.code,
                title: input.title,
                description: input.description,
                responsible: list(input.responsible),
                schedule_items: items(
                    "input.scheduleItems",
                    given(input.schedule),
                    given(input.schedule_items),
                )?
                .optional(None)
                .unwrap_or_default(),
                financing_items: items(
                    "input.financingItems",
                    given(input.financing),
                    given(input.financing_items),
                )?
                .optional(None)
                .unwrap_or_default(),
                financing_statement: input.financing_statement.map(Into::into),
                outputs: list(input.outputs),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Activity(
            activity::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ActivityPatch,
    ) -> Result<Activity> {
        let p = dom_activity::ActivityPatch {
            code: self::patch(patch.code),
            title: self::patch(patch.title),
            description: self::patch(patch.description),
            responsible: self::patch(patch.responsible),
            schedule_items: items("patch.scheduleItems", patch.schedule, patch.schedule_items)?,
            financing_items: items(
                "patch.financingItems",
                patch.financing,
                patch.financing_items,
            )?,
            financing_statement: self::patch(patch.financing_statement.map_value(Into::into)),
            outputs: self::patch(patch.outputs),
        };
        common::update(ctx, &id, expected_version, p).await
    }

    async fn archive_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Activity> {
        common::archive(ctx, &id, expected_version, true).await
    }
}
