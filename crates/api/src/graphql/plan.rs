//! Plans and the projects they list.

use super::common::{
    self, children, grant, id, invalid, loader, maybe_related, optional_id, patch, region_code,
    scoped,
};
use super::nodes::{Plan, PlanById, PlanProject, PrioritiesOf, Priority, ProjectsOf};
use super::page::{page, page_info, total};
use super::records::Records;
use super::region::{Region, region_of};
use super::scalars::{Date, DateTime};
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::EntityKind;
use kpss_domain::patch::Patch;
use kpss_domain::plan as dom_plan;
use kpss_domain::plan::{PlanDraft, PlanForCreate};
use kpss_persistence::plan;

versioned!(Plan, plan, dom_plan::PlanPatch);

#[Object]
impl Plan {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn kind(&self) -> enums::PlanKind {
        self.0.kind.into()
    }

    async fn period_start(&self) -> i32 {
        self.0.period_start
    }

    async fn period_end(&self) -> i32 {
        self.0.period_end
    }

    /// The plan this one implements (an action plan's community plan).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        // Null, not an error, when the parent is in a region the caller cannot read.
        maybe_related(ctx, self.0.parent_id.map(PlanById)).await
    }

    async fn prepared_by(&self) -> Option<&str> {
        self.0.prepared_by.as_deref()
    }

    /// Who approved it, when and by which resolution, as the source states it.
    async fn approval(&self) -> Option<&str> {
        self.0.approval.as_deref()
    }

    async fn approved_on(&self) -> Option<Date> {
        self.0.approved_on.map(Date)
    }

    /// File name of the source document the plan was imported from; null for plans created through the API.
    async fn source_document(&self) -> Option<&str> {
        self.0.source_document.as_deref()
    }

    /// Poslání (mission), as written.
    async fn mission(&self) -> Option<&str> {
        self.0.mission.as_deref()
    }

    /// Vize (vision), as written.
    async fn vision(&self) -> Option<&str> {
        self.0.vision.as_deref()
    }

    /// Who carries the plan out and how it is reported on, as written.
    async fn implementation(&self) -> Option<&str> {
        self.0.implementation.as_deref()
    }

    /// The document's own date line, as written (e.g. "Klatovy 2022", "Aktualizace prosinec 2023"); not an approval.
    async fn issued(&self) -> Option<&str> {
        self.0.issued.as_deref()
    }

    /// `issued` where it is a calendar date.
    async fn issued_on(&self) -> Option<Date> {
        self.0.issued_on.map(Date)
    }

    /// The document's own title, where it is not the plan's (e.g. an evaluation or an update of
    /// the plan).
    async fn document_title(&self) -> Option<&str> {
        self.0.document_title.as_deref()
    }

    /// What the document says about the plan itself (its scope, how it was prepared), one
    /// statement per entry.
    async fn notes(&self) -> &[String] {
        &self.0.notes
    }

    /// The lines of the source document that state the plan; null for plans created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Plan, self.0.id)
    }

    /// Every range of lines that states the plan's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(&self.0.source, Some(SourceOf(EntityKind::Plan, self.0.id)))
    }

    /// What was read and why, where the plan rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }

    async fn priorities(&self, ctx: &Context<'_>) -> Result<Records<Priority>> {
        children(ctx, PrioritiesOf(self.0.id)).await
    }

    /// Projects the plan lists with their implementer and completion term.
    async fn projects(&self, ctx: &Context<'_>) -> Result<Records<PlanProject>> {
        children(ctx, ProjectsOf(self.0.id)).await
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn updated_at(&self) -> DateTime {
        DateTime::from_secs(self.0.updated_at)
    }
}

#[Object]
impl PlanProject {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Realizátor
    async fn implementer(&self) -> Option<&str> {
        self.0.implementer.as_deref()
    }

    /// Termín dokončení, as written, e.g. "rok 2007".
    async fn due(&self) -> Option<&str> {
        self.0.due.as_deref()
    }

    async fn due_year(&self) -> Option<i32> {
        self.0.due_year
    }

    /// The line of the project's table row.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Project, self.0.id)
    }

    /// Every range of lines that states the project's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Project, self.0.id)),
        )
    }

    /// What was read and why, where the project rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }
}

connection!(PlanConnection, Plan);

#[derive(InputObject, Default)]
pub struct PlanFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    kinds: Option<Vec<enums::PlanKind>>,
    /// Plans whose period contains this year.
    year: Option<i32>,
    include_archived: Option<bool>,
}

#[derive(InputObject)]
pub struct PlanInput {
    region: String,
    title: String,
    kind: enums::PlanKind,
    period_start: i32,
    period_end: i32,
    parent_id: Option<ID>,
    prepared_by: Option<String>,
    approval: Option<String>,
    approved_on: Option<Date>,
    mission: Option<String>,
    vision: Option<String>,
    implementation: Option<String>,
    issued: Option<String>,
    issued_on: Option<Date>,
    document_title: Option<String>,
    notes: Option<Vec<String>>,
    /// The projects the plan lists, in order.
    projects: Option<Vec<PlanProjectInput>>,
}

/// Absent fields stay as they are; null clears a nullable field.
#[derive(InputObject)]
pub struct PlanPatch {
    title: MaybeUndefined<String>,
    kind: MaybeUndefined<enums::PlanKind>,
    period_start: MaybeUndefined<i32>,
    period_end: MaybeUndefined<i32>,
    parent_id: MaybeUndefined<ID>,
    prepared_by: MaybeUndefined<String>,
    approval: MaybeUndefined<String>,
    approved_on: MaybeUndefined<Date>,
    mission: MaybeUndefined<String>,
    vision: MaybeUndefined<String>,
    implementation: MaybeUndefined<String>,
    issued: MaybeUndefined<String>,
    issued_on: MaybeUndefined<Date>,
    document_title: MaybeUndefined<String>,
    notes: MaybeUndefined<Vec<String>>,
    /// The whole list, replacing the projects the plan lists, in order; null or [] for none.
    projects: MaybeUndefined<Vec<PlanProjectInput>>,
}

/// A project a plan lists.
#[derive(InputObject)]
pub struct PlanProjectInput {
    title: String,
    /// Realizátor
    implementer: Option<String>,
    /// Termín dokončení, as written, e.g. "rok 2007".
    due: Option<String>,
    due_year: Option<i32>,
}

/// The projects as listed, each checked (`field[i]` names a bad one).
fn projects(field: &str, list: Vec<PlanProjectInput>) -> Result<Vec<dom_plan::ProjectFields>> {
    list.into_iter()
        .enumerate()
        .map(|(i, p)| {
            dom_plan::ProjectFields::parse(
                &p.title,
                p.implementer.as_deref(),
                p.due.as_deref(),
                p.due_year,
            )
            .map_err(|e| invalid(e, &format!("{field}[{i}]")))
        })
        .collect()
}

#[derive(Default)]
pub struct PlanQueries;

#[Object]
impl PlanQueries {
    async fn plans(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<PlanConnection> {
        let p = page(ctx, "plan", first, after)?;
        let f = filter.unwrap_or_default();
        let q = plan::PlanQuery {
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            kinds: f.kinds.map(|k| k.into_iter().map(Into::into).collect()),
            year: f.year,
            include_archived: f.include_archived.unwrap_or(false),
        };
        let c = plan::list(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(PlanConnection {
            page_info: page_info("plan", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Plan).collect(),
        })
    }

    async fn plan(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Plan>> {
        loader(ctx).load_one(PlanById(self::id("id", &id)?)).await
    }
}

#[derive(Default)]
pub struct PlanMutations;

#[Object]
impl PlanMutations {
    async fn create_plan(&self, ctx: &Context<'_>, input: PlanInput) -> Result<Plan> {
        let cmd = PlanForCreate {
            region: region_code("input.region", &input.region)?,
            parent_id: optional_id("input.parentId", input.parent_id.as_ref())?,
            fields: PlanDraft {
                title: input.title,
                kind: input.kind.into(),
                period_start: input.period_start,
                period_end: input.period_end,
                prepared_by: input.prepared_by,
                approval: input.approval,
                approved_on: input.approved_on.map(|d| d.0),
                mission: input.mission,
                vision: input.vision,
                implementation: input.implementation,
                issued: input.issued,
                issued_on: input.issued_on.map(|d| d.0),
                document_title: input.document_title,
                notes: input.notes.unwrap_or_default(),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
            projects: projects("input.projects", input.projects.unwrap_or_default())?,
        };
        Ok(Plan(plan::create(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn update_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: PlanPatch,
    ) -> Result<Plan> {
        let p = dom_plan::PlanPatch {
            title: self::patch(patch.title),
            kind: self::patch(patch.kind.map_value(Into::into)),
            period_start: self::patch(patch.period_start),
            period_end: self::patch(patch.period_end),
            prepared_by: self::patch(patch.prepared_by),
            approval: self::patch(patch.approval),
            approved_on: self::patch(patch.approved_on.map_value(|d| d.0)),
            mission: self::patch(patch.mission),
            vision: self::patch(patch.vision),
            implementation: self::patch(patch.implementation),
            issued: self::patch(patch.issued),
            issued_on: self::patch(patch.issued_on.map_value(|d| d.0)),
            document_title: self::patch(patch.document_title),
            notes: self::patch(patch.notes),
            parent_id: match patch.parent_id {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(p) => Patch::Set(common::id("patch.parentId", &p)?),
            },
            projects: match patch.projects {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(list) => Patch::Set(projects("patch.projects", list)?),
            },
        };
        common::update(ctx, &id, expected_version, p).await
    }

    async fn archive_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        common::archive(ctx, &id, expected_version, true).await
    }

    async fn restore_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        common::archive(ctx, &id, expected_version, false).await
    }

    /// Creates next period's action plan in the plan's region (implementing the plan's parent,
    /// if it has one): a copy of each of the plan's measures whose latest evaluation status is in
    /// `include` (default: every status but FULFILLED; a measure never evaluated counts as
    /// UNKNOWN), with its sub-measures, activities and planned capacities but without
    /// evaluations, each naming the measure it was carried from (`carriedFrom`), under copies of
    /// their priorities. The title defaults to "Akční plán na rok 2024" ("na roky 2024–2025").
    async fn roll_over_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        period_start: i32,
        period_end: i32,
        title: Option<String>,
        include: Option<Vec<enums::EvaluationStatus>>,
    ) -> Result<Plan> {
        let cmd = dom_plan::PlanRollOver::parse(
            self::id("id", &id)?,
            period_start,
            period_end,
            title.as_deref(),
            include.map(|v| v.into_iter().map(Into::into).collect()),
        )
        .map_err(coded)?;
        Ok(Plan(
            plan::roll_over(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }
}
