//! Reads for the API: lists with cursors, records by id, children by parent
//! id (for batching). Every statement carries the caller's read scope.

use crate::entity::{
    activity, capacity, evaluation, measure, plan, plan_project, priority, provider, service,
};
use crate::export::{list, parse};
use crate::{Db, Result, scope};
use kpss_domain::access::{Ctx, Grant};
use kpss_domain::plan::{Cost, EvaluationStatus, PlanKind};
use kpss_domain::record::{
    Activity, Evaluation, Measure, OwnedCapacity, Plan, Priority, Project, Provider, Service,
};
use kpss_domain::region::RegionCode;
use kpss_domain::service::{ServiceForm, ServiceType};
use kpss_domain::text::fold;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

/// `first` records after the record with id `after`, in id order.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: u64,
    pub after: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Connection<T> {
    pub nodes: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
}

/// One page of `query` (already filtered and scoped) in id order, plus the total count.
pub(crate) async fn page<E, T>(
    db: &Db,
    query: Select<E>,
    id: E::Column,
    page: Page,
    map: fn(E::Model) -> Result<T>,
) -> Result<Connection<T>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    page_by(db, query, None, id, page, map).await
}

/// The same, ordered by `key` (then id); the cursor stays the last id, and
/// the page continues after that record's key.
pub(crate) async fn page_by<E, T>(
    db: &Db,
    query: Select<E>,
    key: Option<E::Column>,
    id: E::Column,
    page: Page,
    map: fn(E::Model) -> Result<T>,
) -> Result<Connection<T>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let total_count = query.clone().count(&db.conn).await?;
    let mut q = query;
    if let Some(k) = key {
        q = q.order_by_asc(k);
    }
    q = q.order_by_asc(id);
    if let Some(after) = page.after {
        q = match key {
            None => q.filter(id.gt(after)),
            Some(k) => {
                let after_key = || {
                    let sub = Query::select()
                        .column(k)
                        .from(E::default())
                        .and_where(id.eq(after))
                        .to_owned();
                    Expr::SubQuery(None, Box::new(sub.into()))
                };
                q.filter(
                    Condition::any().add(k.into_expr().gt(after_key())).add(
                        Condition::all()
                            .add(k.into_expr().eq(after_key()))
                            .add(id.gt(after)),
                    ),
                )
            }
        };
    }
    let mut rows = q.limit(page.first + 1).all(&db.conn).await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(Connection {
        nodes: rows.into_iter().map(map).collect::<Result<_>>()?,
        has_next_page,
        total_count,
    })
}

/// The scope condition, narrowed by a filter's regions/kraje when one is given.
fn scoped(ctx: &Ctx, filter: Option<&Grant>, region: impl ColumnTrait + Copy) -> Condition {
    let c = Condition::all().add(scope::condition(&ctx.read, region));
    match filter {
        Some(g) => c.add(scope::condition(g, region)),
        None => c,
    }
}

fn code(s: String) -> Result<RegionCode> {
    Ok(RegionCode::parse("region", &s)?)
}

// ---------------------------------------------------------------- plans

#[derive(Debug, Clone, Default)]
pub struct PlanQuery {
    pub regions: Option<Grant>,
    pub kinds: Option<Vec<PlanKind>>,
    pub year: Option<i32>,
    pub include_archived: bool,
}

pub(crate) fn to_plan(m: plan::Model) -> Result<Plan> {
    Ok(Plan {
        id: m.id,
        region: code(m.region_code)?,
        title: m.title,
        kind: parse(&m.kind)?,
        period_start: m.period_start,
        period_end: m.period_end,
        parent_id: m.parent_id,
        prepared_by: m.prepared_by,
        approval: m.approval,
        approved_on: m.approved_on.map(|d| d.format("%Y-%m-%d").to_string()),
        source_document: m.source_document,
        archived: m.archived,
        version: m.version,
        updated_at: m.updated_at.timestamp(),
    })
}

pub async fn plans(db: &Db, ctx: &Ctx, q: &PlanQuery, p: Page) -> Result<Connection<Plan>> {
    let mut cond = scoped(ctx, q.regions.as_ref(), plan::Column::RegionCode);
    if !q.include_archived {
        cond = cond.add(plan::Column::Archived.eq(false));
    }
    if let Some(kinds) = &q.kinds {
        cond = cond.add(plan::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    if let Some(y) = q.year {
        cond = cond
            .add(plan::Column::PeriodStart.lte(y))
            .add(plan::Column::PeriodEnd.gte(y));
    }
    page(
        db,
        plan::Entity::find().filter(cond),
        plan::Column::Id,
        p,
        to_plan,
    )
    .await
}

pub async fn plans_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Plan>> {
    let cond = scoped(ctx, None, plan::Column::RegionCode)
        .add(plan::Column::Id.is_in(ids.iter().copied()));
    plan::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_plan)
        .collect()
}

pub async fn plans_of_regions(db: &Db, ctx: &Ctx, regions: &[RegionCode]) -> Result<Vec<Plan>> {
    let cond = scoped(ctx, None, plan::Column::RegionCode)
        .add(plan::Column::RegionCode.is_in(regions.iter().map(RegionCode::as_str)))
        .add(plan::Column::Archived.eq(false));
    plan::Entity::find()
        .filter(cond)
        .order_by_asc(plan::Column::Id)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_plan)
        .collect()
}

pub async fn projects_of_plans(db: &Db, ctx: &Ctx, plan_ids: &[i64]) -> Result<Vec<Project>> {
    let cond = scoped(ctx, None, plan_project::Column::RegionCode)
        .add(plan_project::Column::PlanId.is_in(plan_ids.iter().copied()));
    Ok(plan_project::Entity::find()
        .filter(cond)
        .order_by_asc(plan_project::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(|m| Project {
            id: m.id,
            plan_id: m.plan_id,
            title: m.title,
            implementer: m.implementer,
            due: m.due,
            due_year: m.due_year,
        })
        .collect())
}

// ---------------------------------------------------------------- priorities

pub(crate) fn to_priority(m: priority::Model) -> Result<Priority> {
    Ok(Priority {
        id: m.id,
        region: code(m.region_code)?,
        plan_id: m.plan_id,
        code: m.code,
        title: m.title,
        description: m.description,
        group: m.group_name,
        archived: m.archived,
        version: m.version,
    })
}

pub async fn priorities_of_plans(db: &Db, ctx: &Ctx, plan_ids: &[i64]) -> Result<Vec<Priority>> {
    let cond = scoped(ctx, None, priority::Column::RegionCode)
        .add(priority::Column::PlanId.is_in(plan_ids.iter().copied()))
        .add(priority::Column::Archived.eq(false));
    priority::Entity::find()
        .filter(cond)
        .order_by_asc(priority::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_priority)
        .collect()
}

pub async fn priorities_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Priority>> {
    let cond = scoped(ctx, None, priority::Column::RegionCode)
        .add(priority::Column::Id.is_in(ids.iter().copied()));
    priority::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_priority)
        .collect()
}

// ---------------------------------------------------------------- measures

#[derive(Debug, Clone, Default)]
pub struct MeasureQuery {
    pub regions: Option<Grant>,
    pub plan_id: Option<i64>,
    pub status: Option<EvaluationStatus>,
    pub target_group: Option<String>,
    pub year: Option<i32>,
    pub text: Option<String>,
    pub include_archived: bool,
}

pub(crate) fn to_measure(m: measure::Model) -> Result<Measure> {
    Ok(Measure {
        id: m.id,
        region: code(m.region_code)?,
        plan_id: m.plan_id,
        priority_id: m.priority_id,
        parent_id: m.parent_id,
        code: m.code,
        title: m.title,
        rationale: m.rationale,
        description: m.description,
        target_groups: list(&m.target_groups)?,
        term: m.term,
        term_start_year: m.term_start_year,
        term_end_year: m.term_end_year,
        responsible: list(&m.responsible)?,
        output: m.output,
        expected_cost: m.cost_text.map(|text| Cost {
            amount_czk: m.cost_amount_czk,
            per: m.cost_per,
            text,
        }),
        funding_sources: list(&m.funding_sources)?,
        risks: list(&m.risks)?,
        planned_activities: list(&m.planned_activities)?,
        archived: m.archived,
        version: m.version,
    })
}

/// `pattern` as a LIKE pattern matching it anywhere (its own % and _ escaped).
fn contains(pattern: &str) -> String {
    let escaped = fold(pattern)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub async fn measures(
    db: &Db,
    ctx: &Ctx,
    q: &MeasureQuery,
    p: Page,
) -> Result<Connection<Measure>> {
    let mut cond = scoped(ctx, q.regions.as_ref(), measure::Column::RegionCode);
    if !q.include_archived {
        cond = cond.add(measure::Column::Archived.eq(false));
    }
    if let Some(id) = q.plan_id {
        cond = cond.add(measure::Column::PlanId.eq(id));
    }
    if let Some(y) = q.year {
        // A term covers a year when it starts by then and has not ended before it.
        cond = cond.add(measure::Column::TermStartYear.lte(y)).add(
            Condition::any()
                .add(measure::Column::TermEndYear.is_null())
                .add(measure::Column::TermEndYear.gte(y)),
        );
    }
    if let Some(t) = &q.target_group {
        cond = cond.add(
            Expr::col(measure::Column::FoldTargetGroups)
                .like(sea_orm::sea_query::LikeExpr::new(contains(t)).escape('\\')),
        );
    }
    if let Some(t) = &q.text {
        cond = cond.add(
            Expr::col(measure::Column::FoldText)
                .like(sea_orm::sea_query::LikeExpr::new(contains(t)).escape('\\')),
        );
    }
    if let Some(status) = q.status {
        cond = cond.add(measure::Column::Id.in_subquery(latest_with_status(status)));
    }
    page(
        db,
        measure::Entity::find().filter(cond),
        measure::Column::Id,
        p,
        to_measure,
    )
    .await
}

/// Ids of measures whose latest evaluation has `status`.
fn latest_with_status(status: EvaluationStatus) -> sea_orm::sea_query::SelectStatement {
    let latest = Query::select()
        .expr(Func::max(Expr::col((
            Alias::new("l"),
            evaluation::Column::Year,
        ))))
        .from_as(evaluation::Entity, Alias::new("l"))
        .and_where(
            Expr::col((Alias::new("l"), evaluation::Column::MeasureId))
                .equals((Alias::new("e"), evaluation::Column::MeasureId)),
        )
        .to_owned();
    Query::select()
        .column((Alias::new("e"), evaluation::Column::MeasureId))
        .from_as(evaluation::Entity, Alias::new("e"))
        .and_where(Expr::col((Alias::new("e"), evaluation::Column::Status)).eq(status.as_str()))
        .and_where(
            Expr::col((Alias::new("e"), evaluation::Column::Year))
                .eq(Expr::SubQuery(None, Box::new(latest.into()))),
        )
        .to_owned()
}

pub async fn measures_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Measure>> {
    let cond = scoped(ctx, None, measure::Column::RegionCode)
        .add(measure::Column::Id.is_in(ids.iter().copied()));
    measure::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_measure)
        .collect()
}

/// Top-level measures of priorities.
pub async fn measures_of_priorities(
    db: &Db,
    ctx: &Ctx,
    priority_ids: &[i64],
) -> Result<Vec<Measure>> {
    let cond = scoped(ctx, None, measure::Column::RegionCode)
        .add(measure::Column::PriorityId.is_in(priority_ids.iter().copied()))
        .add(measure::Column::ParentId.is_null())
        .add(measure::Column::Archived.eq(false));
    measure::Entity::find()
        .filter(cond)
        .order_by_asc(measure::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_measure)
        .collect()
}

pub async fn sub_measures(db: &Db, ctx: &Ctx, parent_ids: &[i64]) -> Result<Vec<Measure>> {
    let cond = scoped(ctx, None, measure::Column::RegionCode)
        .add(measure::Column::ParentId.is_in(parent_ids.iter().copied()))
        .add(measure::Column::Archived.eq(false));
    measure::Entity::find()
        .filter(cond)
        .order_by_asc(measure::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_measure)
        .collect()
}

// ---------------------------------------------------------------- activities, evaluations, capacities

pub(crate) fn to_activity(m: activity::Model) -> Result<Activity> {
    Ok(Activity {
        id: m.id,
        region: code(m.region_code)?,
        measure_id: m.measure_id,
        parent_id: m.parent_id,
        code: m.code,
        title: m.title,
        description: m.description,
        responsible: list(&m.responsible)?,
        schedule: m.schedule,
        financing: m.financing,
        outputs: list(&m.outputs)?,
        archived: m.archived,
        version: m.version,
    })
}

/// Top-level activities of measures.
pub async fn activities_of_measures(
    db: &Db,
    ctx: &Ctx,
    measure_ids: &[i64],
) -> Result<Vec<Activity>> {
    let cond = scoped(ctx, None, activity::Column::RegionCode)
        .add(activity::Column::MeasureId.is_in(measure_ids.iter().copied()))
        .add(activity::Column::ParentId.is_null())
        .add(activity::Column::Archived.eq(false));
    activity::Entity::find()
        .filter(cond)
        .order_by_asc(activity::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_activity)
        .collect()
}

pub async fn sub_activities(db: &Db, ctx: &Ctx, parent_ids: &[i64]) -> Result<Vec<Activity>> {
    let cond = scoped(ctx, None, activity::Column::RegionCode)
        .add(activity::Column::ParentId.is_in(parent_ids.iter().copied()))
        .add(activity::Column::Archived.eq(false));
    activity::Entity::find()
        .filter(cond)
        .order_by_asc(activity::Column::Position)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_activity)
        .collect()
}

pub async fn activities_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Activity>> {
    let cond = scoped(ctx, None, activity::Column::RegionCode)
        .add(activity::Column::Id.is_in(ids.iter().copied()));
    activity::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_activity)
        .collect()
}

/// Evaluations of measures, newest year first.
pub async fn evaluations_of_measures(
    db: &Db,
    ctx: &Ctx,
    measure_ids: &[i64],
) -> Result<Vec<Evaluation>> {
    let cond = scoped(ctx, None, evaluation::Column::RegionCode)
        .add(evaluation::Column::MeasureId.is_in(measure_ids.iter().copied()));
    evaluation::Entity::find()
        .filter(cond)
        .order_by_desc(evaluation::Column::Year)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(|m| {
            Ok(Evaluation {
                id: m.id,
                measure_id: m.measure_id,
                year: m.year,
                status: parse(&m.status)?,
                comment: m.comment,
                recorded_at: m.recorded_at.timestamp(),
                recorded_by: m.recorded_by,
            })
        })
        .collect()
}

/// Capacities whose `owner` column (measure or service) is among `ids`, in order.
async fn capacities(
    db: &Db,
    ctx: &Ctx,
    owner: capacity::Column,
    ids: &[i64],
) -> Result<Vec<OwnedCapacity>> {
    let cond =
        scoped(ctx, None, capacity::Column::RegionCode).add(owner.is_in(ids.iter().copied()));
    let rows = capacity::Entity::find()
        .filter(cond)
        .order_by_asc(capacity::Column::Position)
        .all(&db.conn)
        .await?;
    rows.iter()
        .map(|m| {
            let owner_id = if matches!(owner, capacity::Column::MeasureId) {
                m.measure_id
            } else {
                m.service_id
            };
            Ok(OwnedCapacity {
                owner_id: owner_id.unwrap_or_default(),
                capacity: crate::export::to_capacity(m)?,
            })
        })
        .collect()
}

/// Capacities measures plan to create.
pub async fn planned_capacities(
    db: &Db,
    ctx: &Ctx,
    measure_ids: &[i64],
) -> Result<Vec<OwnedCapacity>> {
    capacities(db, ctx, capacity::Column::MeasureId, measure_ids).await
}

pub async fn service_capacities(
    db: &Db,
    ctx: &Ctx,
    service_ids: &[i64],
) -> Result<Vec<OwnedCapacity>> {
    capacities(db, ctx, capacity::Column::ServiceId, service_ids).await
}

// ---------------------------------------------------------------- providers and services

#[derive(Debug, Clone, Default)]
pub struct ProviderQuery {
    pub regions: Option<Grant>,
    pub name: Option<String>,
}

pub(crate) fn to_provider(m: provider::Model) -> Result<Provider> {
    Ok(Provider {
        id: m.id,
        region: code(m.region_code)?,
        name: m.name,
        ico: m.ico,
        archived: m.archived,
        version: m.version,
    })
}

pub async fn providers(
    db: &Db,
    ctx: &Ctx,
    q: &ProviderQuery,
    p: Page,
) -> Result<Connection<Provider>> {
    let mut cond = scoped(ctx, q.regions.as_ref(), provider::Column::RegionCode)
        .add(provider::Column::Archived.eq(false));
    if let Some(n) = &q.name {
        cond = cond.add(
            Expr::col(provider::Column::FoldName)
                .like(sea_orm::sea_query::LikeExpr::new(contains(n)).escape('\\')),
        );
    }
    // Providers come in Czech order of their names.
    page_by(
        db,
        provider::Entity::find().filter(cond),
        Some(provider::Column::NameKey),
        provider::Column::Id,
        p,
        to_provider,
    )
    .await
}

pub async fn providers_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Provider>> {
    let cond = scoped(ctx, None, provider::Column::RegionCode)
        .add(provider::Column::Id.is_in(ids.iter().copied()));
    provider::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_provider)
        .collect()
}

/// A region's providers in Czech order of their names.
pub async fn providers_of_regions(
    db: &Db,
    ctx: &Ctx,
    regions: &[RegionCode],
) -> Result<Vec<Provider>> {
    let cond = scoped(ctx, None, provider::Column::RegionCode)
        .add(provider::Column::RegionCode.is_in(regions.iter().map(RegionCode::as_str)))
        .add(provider::Column::Archived.eq(false));
    provider::Entity::find()
        .filter(cond)
        .order_by_asc(provider::Column::NameKey)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_provider)
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct ServiceQuery {
    pub regions: Option<Grant>,
    pub service_types: Option<Vec<ServiceType>>,
    pub forms: Option<Vec<ServiceForm>>,
    pub units: Option<Vec<kpss_domain::service::CapacityUnit>>,
    pub provider_name: Option<String>,
}

pub(crate) fn to_service(m: service::Model) -> Result<Service> {
    Ok(Service {
        id: m.id,
        region: code(m.region_code)?,
        provider_id: m.provider_id,
        service_type: parse(&m.service_type)?,
        name: m.name,
        scope: m.scope,
        archived: m.archived,
        version: m.version,
    })
}

/// The condition on `service` rows for a service filter (shared with the capacity summary).
pub(crate) fn service_condition(ctx: &Ctx, q: &ServiceQuery) -> Condition {
    let mut cond = scoped(ctx, q.regions.as_ref(), service::Column::RegionCode)
        .add(service::Column::Archived.eq(false));
    if let Some(types) = &q.service_types {
        cond = cond.add(service::Column::ServiceType.is_in(types.iter().map(|t| t.as_str())));
    }
    if let Some(name) = &q.provider_name {
        let providers = Query::select()
            .column(provider::Column::Id)
            .from(provider::Entity)
            .and_where(
                Expr::col(provider::Column::FoldName)
                    .like(sea_orm::sea_query::LikeExpr::new(contains(name)).escape('\\')),
            )
            .to_owned();
        cond = cond.add(service::Column::ProviderId.in_subquery(providers));
    }
    if q.forms.is_some() || q.units.is_some() {
        let mut caps = Query::select()
            .column(capacity::Column::ServiceId)
            .from(capacity::Entity)
            .and_where(capacity::Column::ServiceId.is_not_null())
            .to_owned();
        if let Some(forms) = &q.forms {
            caps.and_where(capacity::Column::Form.is_in(forms.iter().map(|f| f.as_str())));
        }
        if let Some(units) = &q.units {
            caps.and_where(capacity::Column::Unit.is_in(units.iter().map(|u| u.as_str())));
        }
        cond = cond.add(service::Column::Id.in_subquery(caps));
    }
    cond
}

pub async fn services(
    db: &Db,
    ctx: &Ctx,
    q: &ServiceQuery,
    p: Page,
) -> Result<Connection<Service>> {
    page(
        db,
        service::Entity::find().filter(service_condition(ctx, q)),
        service::Column::Id,
        p,
        to_service,
    )
    .await
}

pub async fn services_of_providers(
    db: &Db,
    ctx: &Ctx,
    provider_ids: &[i64],
) -> Result<Vec<Service>> {
    let cond = scoped(ctx, None, service::Column::RegionCode)
        .add(service::Column::ProviderId.is_in(provider_ids.iter().copied()))
        .add(service::Column::Archived.eq(false));
    service::Entity::find()
        .filter(cond)
        .order_by_asc(service::Column::Id)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_service)
        .collect()
}

pub async fn services_by_id(db: &Db, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Service>> {
    let cond = scoped(ctx, None, service::Column::RegionCode)
        .add(service::Column::Id.is_in(ids.iter().copied()));
    service::Entity::find()
        .filter(cond)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(to_service)
        .collect()
}
