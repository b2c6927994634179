//! Measures, their sub-measures and expected costs.

use super::common::{
    self, children, grant, id, invalid, list, loader, maybe_related, optional_id, patch, related,
    scoped, unshown,
};
use super::nodes::{
    ActivitiesOf, Activity, Evaluation, EvaluationsOf, Measure, MeasureById, Plan, PlanById,
    Priority, PriorityById, SubMeasuresOf,
};
use super::page::{page, page_info, total};
use super::records::Records;
use super::service::{Capacity, CapacityInput, capacities, capacities_patch};
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use kpss_domain::EntityKind;
use kpss_domain::measure::{Cost as CostData, MeasureDraft, MeasureForCreate};
use kpss_domain::patch::Patch;
use kpss_domain::value::AmountCzk;
use kpss_domain::{ValidationResult, measure as dom_measure};
use kpss_persistence::measure;

children!(
    PlannedCapacitiesOf,
    Capacity,
    measure::planned_capacities,
    |c: &kpss_domain::service::OwnedCapacity| c.owner_id
);

connection!(MeasureConnection, Measure);

versioned!(Measure, measure, dom_measure::MeasurePatch);

#[derive(SimpleObject)]
pub struct Cost {
    /// Whether the document states an amount, none ("0") or that it cannot be specified.
    statement: enums::Statement,
    /// Amount in CZK; null when the source gives none (e.g. "Nelze specifikovat").
    amount_czk: Option<f64>,
    /// What one amount pays for, e.g. "setkání" in "10 000 Kč / setkání".
    per: Option<String>,
    /// The cost as the source writes it.
    text: String,
}

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        related(ctx, PlanById(self.0.plan_id)).await
    }

    async fn priority(&self, ctx: &Context<'_>) -> Result<Priority> {
        related(ctx, PriorityById(self.0.priority_id)).await
    }

    /// Sub-measures (a, b, c ...) hang under their measure.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        maybe_related(ctx, self.0.parent_id.map(MeasureById)).await
    }

    /// The measure of an earlier plan this one was rolled over from (`rollOverPlan`); null when
    /// it was not, or when the caller cannot read that one.
    async fn carried_from(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        maybe_related(ctx, self.0.carried_from_id.map(MeasureById)).await
    }

    /// Code as the document gives it: "1.4" for a measure, "1.4 a" for a sub-measure.
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

    /// The title of its priority as the document prints it above this measure, where it differs
    /// from `priority.title`.
    async fn priority_title(&self) -> Option<&str> {
        self.0.priority_title.as_deref()
    }

    /// The measure's title as another part of the document (an overview) prints it, where it
    /// differs from `title`.
    async fn alternative_title(&self) -> Option<&str> {
        self.0.alternative_title.as_deref()
    }

    /// The lines of the source document that state the measure; null for one created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Measure, self.0.id)
    }

    /// Every range of lines that states the measure's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Measure, self.0.id)),
        )
    }

    /// What was read and why, where the measure rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }

    /// Odůvodnění
    async fn rationale(&self) -> Option<&str> {
        self.0.rationale.as_deref()
    }

    /// Popis
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn target_groups(&self) -> &[String] {
        &self.0.target_groups
    }

    /// Termín realizace / termín, as written.
    async fn term(&self) -> Option<&str> {
        self.0.term.as_deref()
    }

    async fn term_start_year(&self) -> Option<i32> {
        self.0.term_start_year
    }

    async fn term_end_year(&self) -> Option<i32> {
        self.0.term_end_year
    }

    /// Realizátor, spolupracující subjekt / odpovědnost.
    async fn responsible(&self) -> &[String] {
        &self.0.responsible
    }

    /// Výstup
    async fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }

    async fn expected_cost(&self) -> Option<Cost> {
        self.0.expected_cost.clone().map(|c| Cost {
            statement: c.statement.into(),
            amount_czk: c.amount_czk.map(|a| a.get() as f64),
            per: c.per,
            text: c.text,
        })
    }

    /// Only the sources the document names; see `fundingStatement` for none or not specifiable.
    async fn funding_sources(&self) -> &[String] {
        &self.0.funding_sources
    }

    /// Whether the document names funding sources, says none ("0"), says they cannot be specified,
    /// or says nothing.
    async fn funding_statement(&self) -> enums::Statement {
        self.0.funding_statement.into()
    }

    async fn risks(&self) -> &[String] {
        &self.0.risks
    }

    async fn planned_activities(&self) -> &[String] {
        &self.0.planned_activities
    }

    /// Capacities the measure's output aims to create (e.g. a home with at least 50 beds); not existing services.
    async fn planned_capacities(&self, ctx: &Context<'_>) -> Result<Records<Capacity>> {
        children(ctx, PlannedCapacitiesOf(self.0.id)).await
    }

    async fn sub_measures(&self, ctx: &Context<'_>) -> Result<Records<Measure>> {
        children(ctx, SubMeasuresOf(self.0.id)).await
    }

    /// Top-level activities; sub-activities are in Activity.subActivities.
    async fn activities(&self, ctx: &Context<'_>) -> Result<Records<Activity>> {
        children(ctx, ActivitiesOf(self.0.id)).await
    }

    /// All evaluations, newest year first.
    async fn evaluations(&self, ctx: &Context<'_>) -> Result<Records<Evaluation>> {
        children(ctx, EvaluationsOf(self.0.id)).await
    }

    async fn latest_evaluation(&self, ctx: &Context<'_>) -> Result<Option<Evaluation>> {
        Ok(loader(ctx)
            .load_one(EvaluationsOf(self.0.id))
            .await?
            .and_then(|e| e.into_iter().next()))
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject, Default)]
pub struct MeasureFilter {
    regions: Option<Vec<String>>,
    plan_id: Option<ID>,
    /// Latest evaluation status.
    status: Option<enums::EvaluationStatus>,
    /// Case- and diacritics-insensitive substring of a target group.
    target_group: Option<String>,
    /// Measures whose term covers this year.
    year: Option<i32>,
    /// Case- and diacritics-insensitive text search over title, rationale and description.
    text: Option<String>,
    /// The code, as printed or normalised ("1. 2" and "1.2" find the same measure).
    code: Option<String>,
    include_archived: Option<bool>,
}

#[derive(InputObject)]
pub struct CostInput {
    /// STATED when absent.
    statement: Option<enums::Statement>,
    amount_czk: Option<f64>,
    per: Option<String>,
    text: String,
}

#[derive(InputObject)]
pub struct MeasureInput {
    parent_id: Option<ID>,
    code: String,
    title: String,
    rationale: Option<String>,
    description: Option<String>,
    target_groups: Option<Vec<String>>,
    term: Option<String>,
    term_start_year: Option<i32>,
    term_end_year: Option<i32>,
    responsible: Option<Vec<String>>,
    output: Option<String>,
    expected_cost: Option<CostInput>,
    funding_sources: Option<Vec<String>>,
    /// Read off `fundingSources` when absent (STATED with sources, NOT_STATED without).
    funding_statement: Option<enums::Statement>,
    risks: Option<Vec<String>>,
    planned_activities: Option<Vec<String>>,
    planned_capacities: Option<Vec<CapacityInput>>,
    priority_title: Option<String>,
    alternative_title: Option<String>,
}

#[derive(InputObject)]
pub struct MeasurePatch {
    code: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    rationale: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    target_groups: MaybeUndefined<Vec<String>>,
    term: MaybeUndefined<String>,
    term_start_year: MaybeUndefined<i32>,
    term_end_year: MaybeUndefined<i32>,
    responsible: MaybeUndefined<Vec<String>>,
    output: MaybeUndefined<String>,
    expected_cost: MaybeUndefined<CostInput>,
    funding_sources: MaybeUndefined<Vec<String>>,
    /// Read off `fundingSources` when absent (STATED with sources, NOT_STATED without).
    funding_statement: MaybeUndefined<enums::Statement>,
    risks: MaybeUndefined<Vec<String>>,
    planned_activities: MaybeUndefined<Vec<String>>,
    planned_capacities: MaybeUndefined<Vec<CapacityInput>>,
    priority_title: MaybeUndefined<String>,
    alternative_title: MaybeUndefined<String>,
}

fn cost(c: CostInput) -> ValidationResult<CostData> {
    Ok(CostData {
        statement: c.statement.map(Into::into).unwrap_or_default(),
        amount_czk: c
            .amount_czk
            .map(|a| AmountCzk::from_number("expected_cost.amount_czk", a))
            .transpose()?,
        per: c.per,
        text: c.text,
    })
}

fn cost_patch(m: MaybeUndefined<CostInput>) -> Result<Patch<CostData>> {
    Ok(match patch(m) {
        Patch::Set(c) => Patch::Set(cost(c).map_err(|e| invalid(e, "patch"))?),
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
    })
}

#[derive(Default)]
pub struct MeasureQueries;

#[Object]
impl MeasureQueries {
    async fn measures(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<MeasureConnection> {
        let p = page(ctx, "measure", first, after)?;
        let f = filter.unwrap_or_default();
        let q = measure::MeasureQuery {
            regions: grant(ctx, f.regions.as_deref(), None).await?,
            plan_id: f
                .plan_id
                .as_ref()
                .map(|i| id("filter.planId", i))
                .transpose()?,
            status: f.status.map(Into::into),
            target_group: f.target_group,
            year: f.year,
            text: f.text,
            code: f.code,
            include_archived: f.include_archived.unwrap_or(false),
            unshown: unshown(ctx, measure::unreadable_fields()),
        };
        let c = measure::list(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(MeasureConnection {
            page_info: page_info("measure", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Measure).collect(),
        })
    }

    async fn measure(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Measure>> {
        loader(ctx)
            .load_one(MeasureById(self::id("id", &id)?))
            .await
    }
}

#[derive(Default)]
pub struct MeasureMutations;

#[Object]
impl MeasureMutations {
    async fn create_measure(
        &self,
        ctx: &Context<'_>,
        priority_id: ID,
        input: MeasureInput,
    ) -> Result<Measure> {
        let parent_id = optional_id("input.parentId", input.parent_id.as_ref())?;
        let draft = MeasureDraft {
            code: input.code,
            title: input.title,
            rationale: input.rationale,
            description: input.description,
            target_groups: list(input.target_groups),
            term: input.term,
            term_start_year: input.term_start_year,
            term_end_year: input.term_end_year,
            responsible: list(input.responsible),
            output: input.output,
            expected_cost: input
                .expected_cost
                .map(cost)
                .transpose()
                .map_err(|e| invalid(e, "input"))?,
            funding_sources: list(input.funding_sources),
            funding_statement: input.funding_statement.map(Into::into),
            risks: list(input.risks),
            planned_activities: list(input.planned_activities),
            planned_capacities: capacities(input.planned_capacities.unwrap_or_default()),
            priority_title: input.priority_title,
            alternative_title: input.alternative_title,
        };
        let cmd = MeasureForCreate {
            priority_id: common::id("priorityId", &priority_id)?,
            parent_id,
            fields: draft.parse().map_err(|e| invalid(e, "input"))?,
        };
        Ok(Measure(
            measure::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_measure(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: MeasurePatch,
    ) -> Result<Measure> {
        let p = dom_measure::MeasurePatch {
            code: self::patch(patch.code),
            title: self::patch(patch.title),
            rationale: self::patch(patch.rationale),
            description: self::patch(patch.description),
            target_groups: self::patch(patch.target_groups),
            term: self::patch(patch.term),
            term_start_year: self::patch(patch.term_start_year),
            term_end_year: self::patch(patch.term_end_year),
            responsible: self::patch(patch.responsible),
            output: self::patch(patch.output),
            expected_cost: cost_patch(patch.expected_cost)?,
            funding_sources: self::patch(patch.funding_sources),
            funding_statement: self::patch(patch.funding_statement.map_value(Into::into)),
            risks: self::patch(patch.risks),
            planned_activities: self::patch(patch.planned_activities),
            planned_capacities: capacities_patch(patch.planned_capacities),
            priority_title: self::patch(patch.priority_title),
            alternative_title: self::patch(patch.alternative_title),
        };
        common::update(ctx, &id, expected_version, p).await
    }

    async fn archive_measure(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Measure> {
        common::archive(ctx, &id, expected_version, true).await
    }
}
