//! The write side: every change goes through the domain's validation, then
//! one persistence call that checks scope, version and parents in a single
//! transaction with its audit entry.

use super::enums;
use super::objects::*;
use super::{id, scoped};
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::activity::{self as dom_activity, ActivityDraft, ActivityForCreate};
use kpss_domain::evaluation::{EvaluationFields, EvaluationForRecord};
use kpss_domain::measure::{self as dom_measure, Cost, MeasureDraft, MeasureForCreate};
use kpss_domain::patch::Patch;
use kpss_domain::plan::{self as dom_plan, PlanDraft, PlanForCreate};
use kpss_domain::priority::{self as dom_priority, PriorityDraft, PriorityForCreate};
use kpss_domain::region::RegionCode;
use kpss_domain::service::{
    self as dom_service, Capacity as CapacityData, ProviderFields, ProviderForCreate, ServiceDraft,
    ServiceForCreate,
};
use kpss_domain::value::AmountCzk;
use kpss_domain::{ValidationError, ValidationResult};
use kpss_persistence::{activity, evaluation, measure, plan, priority, provider, service};

fn invalid(e: ValidationError, under: &str) -> async_graphql::Error {
    coded(e.under(under))
}

/// A patch field: absent keeps the value, null clears it, a value sets it.
fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

// ---------------------------------------------------------------- inputs

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

#[derive(InputObject)]
pub struct CostInput {
    amount_czk: Option<f64>,
    per: Option<String>,
    text: String,
}

#[derive(InputObject)]
pub struct CapacityInput {
    form: Option<enums::ServiceForm>,
    value: i32,
    unit: enums::CapacityUnit,
    text: Option<String>,
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
    risks: Option<Vec<String>>,
    planned_activities: Option<Vec<String>>,
    planned_capacities: Option<Vec<CapacityInput>>,
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
    risks: MaybeUndefined<Vec<String>>,
    planned_activities: MaybeUndefined<Vec<String>>,
    planned_capacities: MaybeUndefined<Vec<CapacityInput>>,
}

#[derive(InputObject)]
pub struct ActivityInput {
    parent_id: Option<ID>,
    code: String,
    title: String,
    description: Option<String>,
    responsible: Option<Vec<String>>,
    schedule: Option<String>,
    financing: Option<String>,
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
    outputs: MaybeUndefined<Vec<String>>,
}

#[derive(InputObject)]
pub struct EvaluationInput {
    year: i32,
    status: enums::EvaluationStatus,
    comment: Option<String>,
}

#[derive(InputObject)]
pub struct ProviderInput {
    region: String,
    name: String,
}

#[derive(InputObject)]
pub struct ServiceInput {
    service_type: enums::ServiceType,
    capacities: Vec<CapacityInput>,
    scope: Option<String>,
}

#[derive(InputObject)]
pub struct ServicePatch {
    service_type: MaybeUndefined<enums::ServiceType>,
    capacities: MaybeUndefined<Vec<CapacityInput>>,
    scope: MaybeUndefined<String>,
}

fn cost(c: CostInput) -> ValidationResult<Cost> {
    Ok(Cost {
        amount_czk: c
            .amount_czk
            .map(|a| AmountCzk::from_number("expected_cost.amount_czk", a))
            .transpose()?,
        per: c.per,
        text: c.text,
    })
}

fn capacities(list: Vec<CapacityInput>) -> Vec<CapacityData> {
    list.into_iter()
        .map(|c| CapacityData {
            form: c.form.map(Into::into),
            value: c.value,
            unit: c.unit.into(),
            text: c.text,
        })
        .collect()
}

fn optional_id(field: &str, v: Option<&ID>) -> Result<Option<i64>> {
    v.map(|i| id(field, i)).transpose()
}

fn region_code(field: &str, code: &str) -> Result<RegionCode> {
    RegionCode::parse(field, code).map_err(coded)
}

fn list(v: Option<Vec<String>>) -> Vec<String> {
    v.unwrap_or_default()
}

fn cost_patch(m: MaybeUndefined<CostInput>) -> Result<Patch<Cost>> {
    Ok(match patch(m) {
        Patch::Set(c) => Patch::Set(cost(c).map_err(|e| invalid(e, "patch"))?),
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
    })
}

fn capacities_patch(m: MaybeUndefined<Vec<CapacityInput>>) -> Patch<Vec<CapacityData>> {
    match patch(m) {
        Patch::Set(c) => Patch::Set(capacities(c)),
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
    }
}

// ---------------------------------------------------------------- mutations

pub struct Mutation;

#[Object]
impl Mutation {
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
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Plan(plan::create(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn update_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32, patch: PlanPatch) -> Result<Plan> {
        let p = dom_plan::PlanPatch {
            title: self::patch(patch.title),
            kind: self::patch(patch.kind.map_value(Into::into)),
            period_start: self::patch(patch.period_start),
            period_end: self::patch(patch.period_end),
            prepared_by: self::patch(patch.prepared_by),
            approval: self::patch(patch.approval),
            approved_on: self::patch(patch.approved_on.map_value(|d| d.0)),
            parent_id: match patch.parent_id {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(p) => Patch::Set(super::id("patch.parentId", &p)?),
            },
        };
        let id = super::id("id", &id)?;
        Ok(Plan(plan::update(scoped(ctx), id, expected_version, &p).await.map_err(coded)?))
    }

    async fn archive_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        let id = super::id("id", &id)?;
        Ok(Plan(plan::set_archived(scoped(ctx), id, expected_version, true).await.map_err(coded)?))
    }

    async fn restore_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        let id = super::id("id", &id)?;
        Ok(Plan(plan::set_archived(scoped(ctx), id, expected_version, false).await.map_err(coded)?))
    }

    async fn create_priority(&self, ctx: &Context<'_>, plan_id: ID, input: PriorityInput) -> Result<Priority> {
        let cmd = PriorityForCreate {
            plan_id: super::id("planId", &plan_id)?,
            fields: PriorityDraft {
                code: input.code,
                title: input.title,
                description: input.description,
                group: input.group,
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Priority(priority::create(scoped(ctx), &cmd).await.map_err(coded)?))
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
        let id = super::id("id", &id)?;
        Ok(Priority(priority::update(scoped(ctx), id, expected_version, &p).await.map_err(coded)?))
    }

    async fn archive_priority(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Priority> {
        let id = super::id("id", &id)?;
        Ok(Priority(priority::set_archived(scoped(ctx), id, expected_version, true).await.map_err(coded)?))
    }

    async fn create_measure(&self, ctx: &Context<'_>, priority_id: ID, input: MeasureInput) -> Result<Measure> {
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
            expected_cost: input.expected_cost.map(cost).transpose().map_err(|e| invalid(e, "input"))?,
            funding_sources: list(input.funding_sources),
            risks: list(input.risks),
            planned_activities: list(input.planned_activities),
            planned_capacities: capacities(input.planned_capacities.unwrap_or_default()),
        };
        let cmd = MeasureForCreate {
            priority_id: super::id("priorityId", &priority_id)?,
            parent_id,
            fields: draft.parse().map_err(|e| invalid(e, "input"))?,
        };
        Ok(Measure(measure::create(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn update_measure(&self, ctx: &Context<'_>, id: ID, expected_version: i32, patch: MeasurePatch) -> Result<Measure> {
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
            risks: self::patch(patch.risks),
            planned_activities: self::patch(patch.planned_activities),
            planned_capacities: capacities_patch(patch.planned_capacities),
        };
        let id = super::id("id", &id)?;
        Ok(Measure(measure::update(scoped(ctx), id, expected_version, &p).await.map_err(coded)?))
    }

    async fn archive_measure(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Measure> {
        let id = super::id("id", &id)?;
        Ok(Measure(measure::set_archived(scoped(ctx), id, expected_version, true).await.map_err(coded)?))
    }

    async fn create_activity(&self, ctx: &Context<'_>, measure_id: ID, input: ActivityInput) -> Result<Activity> {
        let cmd = ActivityForCreate {
            measure_id: super::id("measureId", &measure_id)?,
            parent_id: optional_id("input.parentId", input.parent_id.as_ref())?,
            fields: ActivityDraft {
                code: input.code,
                title: input.title,
                description: input.description,
                responsible: list(input.responsible),
                schedule: input.schedule,
                financing: input.financing,
                outputs: list(input.outputs),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Activity(activity::create(scoped(ctx), &cmd).await.map_err(coded)?))
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
            schedule: self::patch(patch.schedule),
            financing: self::patch(patch.financing),
            outputs: self::patch(patch.outputs),
        };
        let id = super::id("id", &id)?;
        Ok(Activity(activity::update(scoped(ctx), id, expected_version, &p).await.map_err(coded)?))
    }

    async fn archive_activity(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Activity> {
        let id = super::id("id", &id)?;
        Ok(Activity(activity::set_archived(scoped(ctx), id, expected_version, true).await.map_err(coded)?))
    }

    /// Adds an evaluation for a year, or replaces the one for the same year (the old one stays in the audit log).
    async fn record_evaluation(&self, ctx: &Context<'_>, measure_id: ID, input: EvaluationInput) -> Result<Evaluation> {
        let cmd = EvaluationForRecord {
            measure_id: super::id("measureId", &measure_id)?,
            fields: EvaluationFields::parse(input.year, input.status.into(), input.comment.as_deref())
                .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Evaluation(evaluation::record(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn create_provider(&self, ctx: &Context<'_>, input: ProviderInput) -> Result<Provider> {
        let cmd = ProviderForCreate {
            region: region_code("input.region", &input.region)?,
            fields: ProviderFields::parse(&input.name, None).map_err(|e| invalid(e, "input"))?,
        };
        Ok(Provider(provider::create(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn create_service(&self, ctx: &Context<'_>, provider_id: ID, input: ServiceInput) -> Result<Service> {
        let cmd = ServiceForCreate {
            provider_id: super::id("providerId", &provider_id)?,
            fields: ServiceDraft {
                service_type: input.service_type.into(),
                name: None,
                scope: input.scope,
                capacities: capacities(input.capacities),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Service(service::create(scoped(ctx), &cmd).await.map_err(coded)?))
    }

    async fn update_service(&self, ctx: &Context<'_>, id: ID, expected_version: i32, patch: ServicePatch) -> Result<Service> {
        let p = dom_service::ServicePatch {
            service_type: self::patch(patch.service_type.map_value(Into::into)),
            capacities: capacities_patch(patch.capacities),
            scope: self::patch(patch.scope),
        };
        let id = super::id("id", &id)?;
        Ok(Service(service::update(scoped(ctx), id, expected_version, &p).await.map_err(coded)?))
    }

    async fn archive_service(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Service> {
        let id = super::id("id", &id)?;
        Ok(Service(service::set_archived(scoped(ctx), id, expected_version, true).await.map_err(coded)?))
    }
}
