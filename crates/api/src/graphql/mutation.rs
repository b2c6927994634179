//! The write side: every change goes through the domain's validation, then
//! one persistence call that checks scope, version and parents in a single
//! transaction with its audit entry.

use super::enums;
use super::objects::*;
use super::{caller, db, id};
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::ValidationError;
use kpss_domain::plan::{ActivityData, Cost, EvaluationData, MeasureData, PlanData, PriorityData};
use kpss_domain::region::RegionCode;
use kpss_domain::service::{Capacity as CapacityData, ProviderData, ServiceData};
use kpss_persistence::{read, write};

fn invalid(e: ValidationError, under: &str) -> async_graphql::Error {
    coded(e.under(under))
}

/// The answer for a record the caller cannot read: FORBIDDEN if it exists, NOT_FOUND if not.
async fn unreadable(ctx: &Context<'_>, kind: write::Kind, id: i64) -> async_graphql::Error {
    coded(write::unreadable(db(ctx), kind, id).await)
}

/// `value` patched: absent keeps `current`, null clears it, a value sets it.
fn patched<T>(current: Option<T>, patch: MaybeUndefined<T>) -> Option<T> {
    match patch {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
    }
}

/// A required field in a patch: absent keeps it; null is refused.
fn required<T>(field: &str, current: T, patch: MaybeUndefined<T>) -> Result<T> {
    match patch {
        MaybeUndefined::Undefined => Ok(current),
        MaybeUndefined::Null => Err(coded(ValidationError::new(
            format!("patch.{field}"),
            "cannot be cleared",
        ))),
        MaybeUndefined::Value(v) => Ok(v),
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

fn cost(c: CostInput) -> Cost {
    Cost {
        amount_czk: c.amount_czk,
        per: c.per,
        text: c.text,
    }
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

fn measure_data(code: String, title: String) -> MeasureData {
    MeasureData {
        code,
        title,
        rationale: None,
        description: None,
        target_groups: vec![],
        term: None,
        term_start_year: None,
        term_end_year: None,
        responsible: vec![],
        output: None,
        expected_cost: None,
        funding_sources: vec![],
        risks: vec![],
        planned_activities: vec![],
        planned_capacities: vec![],
        evaluations: vec![],
        activities: vec![],
        sub_measures: vec![],
        line: None,
    }
}

fn plan_data(
    title: String,
    kind: kpss_domain::plan::PlanKind,
    period_start: i32,
    period_end: i32,
) -> PlanData {
    PlanData {
        key: String::new(),
        title,
        kind,
        period_start,
        period_end,
        parent: None,
        prepared_by: None,
        approval: None,
        approved_on: None,
        source_document: None,
        line: None,
        projects: vec![],
        priorities: vec![],
    }
}

// ---------------------------------------------------------------- mutations

pub struct Mutation;

#[Object]
impl Mutation {
    async fn create_plan(&self, ctx: &Context<'_>, input: PlanInput) -> Result<Plan> {
        let region = region_code("input.region", &input.region)?;
        let parent = optional_id("input.parentId", input.parent_id.as_ref())?;
        let data = PlanData {
            prepared_by: input.prepared_by,
            approval: input.approval,
            approved_on: input.approved_on.map(|d| d.0),
            ..plan_data(
                input.title,
                input.kind.into(),
                input.period_start,
                input.period_end,
            )
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Plan(
            write::create_plan(db(ctx), caller(ctx), &region, &data, parent)
                .await
                .map_err(coded)?,
        ))
    }

    async fn update_plan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: PlanPatch,
    ) -> Result<Plan> {
        let plan_id = super::id("id", &id)?;
        let Some(current) = read::plans_by_id(db(ctx), caller(ctx), &[plan_id])
            .await
            .map_err(coded)?
            .pop()
        else {
            return Err(unreadable(ctx, write::Kind::Plan, plan_id).await);
        };
        let parent = match patch.parent_id {
            MaybeUndefined::Undefined => current.parent_id,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(p) => Some(super::id("patch.parentId", &p)?),
        };
        let data = PlanData {
            prepared_by: patched(current.prepared_by, patch.prepared_by),
            approval: patched(current.approval, patch.approval),
            approved_on: patched(current.approved_on, patch.approved_on.map_value(|d| d.0)),
            ..plan_data(
                required("title", current.title, patch.title)?,
                required("kind", current.kind, patch.kind.map_value(Into::into))?,
                required("periodStart", current.period_start, patch.period_start)?,
                required("periodEnd", current.period_end, patch.period_end)?,
            )
        }
        .normalized()
        .map_err(|e| invalid(e, "patch"))?;
        Ok(Plan(
            write::update_plan(
                db(ctx),
                caller(ctx),
                plan_id,
                expected_version,
                &data,
                parent,
            )
            .await
            .map_err(coded)?,
        ))
    }

    async fn archive_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        Ok(Plan(
            write::set_plan_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                true,
            )
            .await
            .map_err(coded)?,
        ))
    }

    async fn restore_plan(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Plan> {
        Ok(Plan(
            write::set_plan_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                false,
            )
            .await
            .map_err(coded)?,
        ))
    }

    async fn create_priority(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        input: PriorityInput,
    ) -> Result<Priority> {
        let plan_id = super::id("planId", &plan_id)?;
        let data = PriorityData {
            code: input.code,
            title: input.title,
            description: input.description,
            group: input.group,
            line: None,
            measures: vec![],
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Priority(
            write::create_priority(db(ctx), caller(ctx), plan_id, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn update_priority(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: PriorityPatch,
    ) -> Result<Priority> {
        let pid = super::id("id", &id)?;
        let Some(current) = read::priorities_by_id(db(ctx), caller(ctx), &[pid])
            .await
            .map_err(coded)?
            .pop()
        else {
            return Err(unreadable(ctx, write::Kind::Priority, pid).await);
        };
        let data = PriorityData {
            code: required("code", current.code, patch.code)?,
            title: required("title", current.title, patch.title)?,
            description: patched(current.description, patch.description),
            group: patched(current.group, patch.group),
            line: None,
            measures: vec![],
        }
        .normalized()
        .map_err(|e| invalid(e, "patch"))?;
        Ok(Priority(
            write::update_priority(db(ctx), caller(ctx), pid, expected_version, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn archive_priority(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Priority> {
        Ok(Priority(
            write::set_priority_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                true,
            )
            .await
            .map_err(coded)?,
        ))
    }

    async fn create_measure(
        &self,
        ctx: &Context<'_>,
        priority_id: ID,
        input: MeasureInput,
    ) -> Result<Measure> {
        let priority_id = super::id("priorityId", &priority_id)?;
        let parent = optional_id("input.parentId", input.parent_id.as_ref())?;
        let data = MeasureData {
            rationale: input.rationale,
            description: input.description,
            target_groups: input.target_groups.unwrap_or_default(),
            term: input.term,
            term_start_year: input.term_start_year,
            term_end_year: input.term_end_year,
            responsible: input.responsible.unwrap_or_default(),
            output: input.output,
            expected_cost: input.expected_cost.map(cost),
            funding_sources: input.funding_sources.unwrap_or_default(),
            risks: input.risks.unwrap_or_default(),
            planned_activities: input.planned_activities.unwrap_or_default(),
            planned_capacities: capacities(input.planned_capacities.unwrap_or_default()),
            ..measure_data(input.code, input.title)
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Measure(
            write::create_measure(db(ctx), caller(ctx), priority_id, parent, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn update_measure(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: MeasurePatch,
    ) -> Result<Measure> {
        let mid = super::id("id", &id)?;
        let Some(c) = read::measures_by_id(db(ctx), caller(ctx), &[mid])
            .await
            .map_err(coded)?
            .pop()
        else {
            return Err(unreadable(ctx, write::Kind::Measure, mid).await);
        };
        let planned = read::planned_capacities(db(ctx), caller(ctx), &[mid])
            .await
            .map_err(coded)?
            .into_iter()
            .map(|o| o.capacity)
            .collect();
        let data = MeasureData {
            rationale: patched(c.rationale, patch.rationale),
            description: patched(c.description, patch.description),
            target_groups: patched(Some(c.target_groups), patch.target_groups).unwrap_or_default(),
            term: patched(c.term, patch.term),
            term_start_year: patched(c.term_start_year, patch.term_start_year),
            term_end_year: patched(c.term_end_year, patch.term_end_year),
            responsible: patched(Some(c.responsible), patch.responsible).unwrap_or_default(),
            output: patched(c.output, patch.output),
            expected_cost: patched(c.expected_cost, patch.expected_cost.map_value(cost)),
            funding_sources: patched(Some(c.funding_sources), patch.funding_sources)
                .unwrap_or_default(),
            risks: patched(Some(c.risks), patch.risks).unwrap_or_default(),
            planned_activities: patched(Some(c.planned_activities), patch.planned_activities)
                .unwrap_or_default(),
            planned_capacities: patched(
                Some(planned),
                patch.planned_capacities.map_value(capacities),
            )
            .unwrap_or_default(),
            ..measure_data(
                required("code", c.code, patch.code)?,
                required("title", c.title, patch.title)?,
            )
        }
        .normalized()
        .map_err(|e| invalid(e, "patch"))?;
        Ok(Measure(
            write::update_measure(db(ctx), caller(ctx), mid, expected_version, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn archive_measure(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Measure> {
        Ok(Measure(
            write::set_measure_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                true,
            )
            .await
            .map_err(coded)?,
        ))
    }

    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        measure_id: ID,
        input: ActivityInput,
    ) -> Result<Activity> {
        let measure_id = super::id("measureId", &measure_id)?;
        let parent = optional_id("input.parentId", input.parent_id.as_ref())?;
        let data = ActivityData {
            code: input.code,
            title: input.title,
            description: input.description,
            responsible: input.responsible.unwrap_or_default(),
            schedule: input.schedule,
            financing: input.financing,
            outputs: input.outputs.unwrap_or_default(),
            line: None,
            sub_activities: vec![],
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Activity(
            write::create_activity(db(ctx), caller(ctx), measure_id, parent, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ActivityPatch,
    ) -> Result<Activity> {
        let aid = super::id("id", &id)?;
        let Some(c) = read::activities_by_id(db(ctx), caller(ctx), &[aid])
            .await
            .map_err(coded)?
            .pop()
        else {
            return Err(unreadable(ctx, write::Kind::Activity, aid).await);
        };
        let data = ActivityData {
            code: required("code", c.code, patch.code)?,
            title: required("title", c.title, patch.title)?,
            description: patched(c.description, patch.description),
            responsible: patched(Some(c.responsible), patch.responsible).unwrap_or_default(),
            schedule: patched(c.schedule, patch.schedule),
            financing: patched(c.financing, patch.financing),
            outputs: patched(Some(c.outputs), patch.outputs).unwrap_or_default(),
            line: None,
            sub_activities: vec![],
        }
        .normalized()
        .map_err(|e| invalid(e, "patch"))?;
        Ok(Activity(
            write::update_activity(db(ctx), caller(ctx), aid, expected_version, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn archive_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Activity> {
        Ok(Activity(
            write::set_activity_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                true,
            )
            .await
            .map_err(coded)?,
        ))
    }

    /// Adds an evaluation for a year, or replaces the one for the same year (the old one stays in the audit log).
    async fn record_evaluation(
        &self,
        ctx: &Context<'_>,
        measure_id: ID,
        input: EvaluationInput,
    ) -> Result<Evaluation> {
        let measure_id = super::id("measureId", &measure_id)?;
        let data = EvaluationData {
            year: input.year,
            status: input.status.into(),
            comment: input.comment,
            line: None,
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Evaluation(
            write::record_evaluation(db(ctx), caller(ctx), measure_id, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn create_provider(&self, ctx: &Context<'_>, input: ProviderInput) -> Result<Provider> {
        let region = region_code("input.region", &input.region)?;
        let data = ProviderData {
            name: input.name,
            ico: None,
            line: None,
            services: vec![],
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Provider(
            write::create_provider(db(ctx), caller(ctx), &region, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn create_service(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        input: ServiceInput,
    ) -> Result<Service> {
        let provider_id = super::id("providerId", &provider_id)?;
        let data = ServiceData {
            service_type: input.service_type.into(),
            name: None,
            scope: input.scope,
            line: None,
            capacities: capacities(input.capacities),
        }
        .normalized()
        .map_err(|e| invalid(e, "input"))?;
        Ok(Service(
            write::create_service(db(ctx), caller(ctx), provider_id, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ServicePatch,
    ) -> Result<Service> {
        let sid = super::id("id", &id)?;
        let Some(c) = read::services_by_id(db(ctx), caller(ctx), &[sid])
            .await
            .map_err(coded)?
            .pop()
        else {
            return Err(unreadable(ctx, write::Kind::Service, sid).await);
        };
        let caps = read::service_capacities(db(ctx), caller(ctx), &[sid])
            .await
            .map_err(coded)?
            .into_iter()
            .map(|o| o.capacity)
            .collect();
        let data = ServiceData {
            service_type: required(
                "serviceType",
                c.service_type,
                patch.service_type.map_value(Into::into),
            )?,
            name: c.name,
            scope: patched(c.scope, patch.scope),
            line: None,
            capacities: required("capacities", caps, patch.capacities.map_value(capacities))?,
        }
        .normalized()
        .map_err(|e| invalid(e, "patch"))?;
        Ok(Service(
            write::update_service(db(ctx), caller(ctx), sid, expected_version, &data)
                .await
                .map_err(coded)?,
        ))
    }

    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Service> {
        Ok(Service(
            write::set_service_archived(
                db(ctx),
                caller(ctx),
                super::id("id", &id)?,
                expected_version,
                true,
            )
            .await
            .map_err(coded)?,
        ))
    }
}
