//! Changes through the API: create, update under optimistic concurrency,
//! archive and restore. Each is one transaction holding the change, its
//! audit entry and its change event; nothing is ever deleted.

use crate::entity::{
    activity, audit_entry, capacity, evaluation, measure, plan, priority, provider, region, service,
};
use crate::events::{Change, committed, notify};
use crate::read::{to_activity, to_measure, to_plan, to_priority, to_provider, to_service};
use crate::seed::{
    activity_content, insert_activity, insert_capacities, insert_measure, insert_plan,
    insert_priority, insert_provider, insert_service, measure_content, plan_content,
    priority_content, service_content,
};
use crate::{Db, Error, Result};
use chrono::Utc;
use kpss_domain::ValidationError;
use kpss_domain::access::Ctx;
use kpss_domain::plan::{ActivityData, EvaluationData, MeasureData, PlanData, PriorityData};
use kpss_domain::record::{Activity, Evaluation, Measure, Plan, Priority, Provider, Service};
use kpss_domain::region::{KrajCode, RegionCode};
use kpss_domain::service::{ProviderData, ServiceData};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::new(field, message))
}

/// Whether the caller may write the region. Writes find records by id in
/// any region and answer FORBIDDEN outside the writable ones (NOT_FOUND only
/// for ids that do not exist).
async fn writable(txn: &DatabaseTransaction, ctx: &Ctx, code: &str) -> Result<()> {
    let r = region::Entity::find_by_id(code)
        .one(txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no region `{code}`")))?;
    let (region, kraj) = (
        RegionCode::parse("region", &r.code)?,
        KrajCode::parse("kraj", &r.kraj_code)?,
    );
    if ctx.write.covers(&region, &kraj) {
        Ok(())
    } else {
        // The code is only named to a caller that may read the region.
        let which = if ctx.read.covers(&region, &kraj) {
            format!("region `{code}`")
        } else {
            "that region".to_owned()
        };
        Err(Error::Forbidden(format!(
            "this token may not change {which}"
        )))
    }
}

/// One change: its audit entry (in the transaction) and its event.
struct Audit<'a> {
    entity: &'static str,
    id: i64,
    region: &'a str,
    plan_id: Option<i64>,
    action: &'static str,
}

async fn audit(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    a: Audit<'_>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<Change> {
    let now = Utc::now();
    let entry = audit_entry::ActiveModel {
        at: Set(now),
        actor: Set(ctx.subject.clone()),
        region_code: Set(a.region.to_owned()),
        entity: Set(a.entity.to_owned()),
        entity_id: Set(a.id),
        action: Set(a.action.to_owned()),
        before: Set(before.map(to_json)),
        after: Set(after.map(to_json)),
        ..Default::default()
    };
    audit_entry::Entity::insert(entry).exec(txn).await?;
    let change = Change {
        region: RegionCode::parse("region", a.region)?,
        plan_id: a.plan_id,
        entity: a.entity.to_owned(),
        entity_id: a.id,
        action: a.action.to_owned(),
        actor: ctx.subject.clone(),
        at: now.timestamp(),
    };
    notify(txn, &change).await?;
    Ok(change)
}

fn to_json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Re-indexes the region for search, commits, and publishes the change.
async fn finish(db: &Db, txn: DatabaseTransaction, change: Change) -> Result<()> {
    crate::search::reindex_region(&txn, change.region.as_str()).await?;
    txn.commit().await?;
    committed(db, change);
    Ok(())
}

/// The version check: `rows` updated by a statement guarded with the
/// expected version; none means someone else changed the record first.
fn check_version(rows: u64, current: i32) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(Error::Conflict {
            current_version: current,
        })
    }
}

/// Next position among siblings (appended at the end).
async fn next_position<E: EntityTrait>(
    txn: &DatabaseTransaction,
    parent: sea_orm::Condition,
    position: E::Column,
) -> Result<usize> {
    let max: Option<Option<i32>> = E::find()
        .filter(parent)
        .select_only()
        .column_as(position.max(), "m")
        .into_tuple()
        .one(txn)
        .await?;
    Ok(max.flatten().map_or(0, |m| m as usize + 1))
}

// ---------------------------------------------------------------- plans

/// The parent a plan may implement: readable, current, of the same region, not itself or its descendant.
async fn check_plan_parent(
    txn: &DatabaseTransaction,
    region: &str,
    parent_id: Option<i64>,
    this: Option<i64>,
) -> Result<()> {
    let mut next = parent_id;
    let mut first = true;
    while let Some(id) = next {
        let found = plan::Entity::find_by_id(id).one(txn).await?;
        let Some(p) = found else {
            return Err(invalid("input.parent_id", format!("there is no plan {id}")));
        };
        if first {
            if p.archived {
                return Err(invalid("input.parent_id", format!("plan {id} is archived")));
            }
            if p.region_code != region {
                return Err(Error::Forbidden(
                    "a plan can only implement a plan of its own region".into(),
                ));
            }
            first = false;
        }
        if Some(p.id) == this {
            return Err(invalid(
                "input.parent_id",
                "a plan cannot implement itself or a plan that implements it",
            ));
        }
        next = p.parent_id;
    }
    Ok(())
}

pub async fn create_plan(
    db: &Db,
    ctx: &Ctx,
    region: &RegionCode,
    data: &PlanData,
    parent_id: Option<i64>,
) -> Result<Plan> {
    let txn = db.begin_write().await?;
    if region::Entity::find_by_id(region.as_str())
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(invalid(
            "input.region",
            format!("there is no region `{region}`"),
        ));
    }
    writable(&txn, ctx, region.as_str())
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => {
                Error::Forbidden(format!("this token may not change region `{region}`"))
            }
            e => e,
        })?;
    check_plan_parent(&txn, region.as_str(), parent_id, None).await?;
    let id = insert_plan(&txn, region.as_str(), data).await?;
    plan::Entity::update_many()
        .col_expr(plan::Column::ParentId, Expr::value(parent_id))
        .filter(plan::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let after = to_plan(
        plan::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("plan".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Plan",
            id,
            region: region.as_str(),
            plan_id: Some(id),
            action: "CREATED",
        },
        None::<&Plan>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

async fn load_plan(txn: &DatabaseTransaction, ctx: &Ctx, id: i64) -> Result<plan::Model> {
    let m = plan::Entity::find_by_id(id).one(txn).await?;
    let m = m.ok_or_else(|| Error::NotFound(format!("there is no plan {id}")))?;
    writable(txn, ctx, &m.region_code).await?;
    Ok(m)
}

pub async fn update_plan(
    db: &Db,
    ctx: &Ctx,
    id: i64,
    expected: i32,
    data: &PlanData,
    parent_id: Option<i64>,
) -> Result<Plan> {
    let txn = db.begin_write().await?;
    let current = load_plan(&txn, ctx, id).await?;
    check_version(u64::from(current.version == expected), current.version)?;
    check_plan_parent(&txn, &current.region_code, parent_id, Some(id)).await?;
    let am = plan::ActiveModel {
        version: Set(expected + 1),
        updated_at: Set(Utc::now()),
        parent_id: Set(parent_id),
        ..plan_content(data)?
    };
    let rows = plan::Entity::update_many()
        .set(am)
        .filter(plan::Column::Id.eq(id))
        .filter(plan::Column::Version.eq(expected))
        .exec(&txn)
        .await?
        .rows_affected;
    check_version(rows, current.version)?;
    let before = to_plan(current)?;
    let after = to_plan(
        plan::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("plan".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Plan",
            id,
            region: before.region.as_str(),
            plan_id: Some(id),
            action: "UPDATED",
        },
        Some(&before),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

/// Archives (or, for admins of the region, restores) a record.
macro_rules! set_archived {
    ($name:ident, $m:ident, $record:ident, $to:ident, $entity:literal, $plan_of:expr) => {
        pub async fn $name(
            db: &Db,
            ctx: &Ctx,
            id: i64,
            expected: i32,
            archived: bool,
        ) -> Result<$record> {
            let txn = db.begin_write().await?;
            let found = $m::Entity::find_by_id(id).one(&txn).await?;
            let current = found.ok_or_else(|| {
                Error::NotFound(format!("there is no {} {id}", $entity.to_lowercase()))
            })?;
            writable(&txn, ctx, &current.region_code).await?;
            if !archived {
                let region = RegionCode::parse("region", &current.region_code)?;
                if !(ctx.admin.all || ctx.admin.regions.contains(&region)) {
                    return Err(Error::Forbidden(
                        "restoring is for admins of the region".into(),
                    ));
                }
            }
            check_version(u64::from(current.version == expected), current.version)?;
            let rows = $m::Entity::update_many()
                .col_expr($m::Column::Archived, Expr::value(archived))
                .col_expr($m::Column::Version, Expr::value(expected + 1))
                .col_expr($m::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter($m::Column::Id.eq(id))
                .filter($m::Column::Version.eq(expected))
                .exec(&txn)
                .await?
                .rows_affected;
            check_version(rows, current.version)?;
            let plan_id: Option<i64> = $plan_of(&current);
            let before = $to(current)?;
            let after = $to($m::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(Error::NotFound($entity.into()))?)?;
            let action = if archived { "ARCHIVED" } else { "RESTORED" };
            let audit_row = Audit {
                entity: $entity,
                id,
                region: before.region.as_str(),
                plan_id,
                action,
            };
            let change = audit(&txn, ctx, audit_row, Some(&before), Some(&after)).await?;
            finish(db, txn, change).await?;
            Ok(after)
        }
    };
}

set_archived!(
    set_plan_archived,
    plan,
    Plan,
    to_plan,
    "Plan",
    |m: &plan::Model| Some(m.id)
);
set_archived!(
    set_priority_archived,
    priority,
    Priority,
    to_priority,
    "Priority",
    |m: &priority::Model| Some(m.plan_id)
);
set_archived!(
    set_measure_archived,
    measure,
    Measure,
    to_measure,
    "Measure",
    |m: &measure::Model| Some(m.plan_id)
);
set_archived!(
    set_activity_archived,
    activity,
    Activity,
    to_activity,
    "Activity",
    |_: &activity::Model| None
);
set_archived!(
    set_service_archived,
    service,
    Service,
    to_service,
    "Service",
    |_: &service::Model| None
);

// ---------------------------------------------------------------- priorities

/// A code is unique among the current (not archived) `siblings`, this record aside.
async fn check_code<E>(
    txn: &DatabaseTransaction,
    siblings: Condition,
    [archived, code_col, id_col]: [E::Column; 3],
    code: &str,
    this: Option<i64>,
) -> Result<()>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let mut q = E::find()
        .filter(siblings)
        .filter(archived.eq(false))
        .filter(code_col.eq(code));
    if let Some(id) = this {
        q = q.filter(id_col.ne(id));
    }
    if q.count(txn).await? > 0 {
        return Err(invalid(
            "input.code",
            format!("the code `{code}` is already used there"),
        ));
    }
    Ok(())
}

/// A priority's code is unique within its plan and group.
async fn check_priority_code(
    txn: &DatabaseTransaction,
    plan_id: i64,
    data: &PriorityData,
    this: Option<i64>,
) -> Result<()> {
    let group = match &data.group {
        Some(g) => priority::Column::GroupName.eq(g.as_str()),
        None => priority::Column::GroupName.is_null(),
    };
    let siblings = Condition::all()
        .add(priority::Column::PlanId.eq(plan_id))
        .add(group);
    let cols = [
        priority::Column::Archived,
        priority::Column::Code,
        priority::Column::Id,
    ];
    check_code::<priority::Entity>(txn, siblings, cols, &data.code, this).await
}

/// Measures under the same priority and parent.
fn measure_siblings(priority_id: i64, parent_id: Option<i64>) -> Condition {
    Condition::all()
        .add(measure::Column::PriorityId.eq(priority_id))
        .add(match parent_id {
            Some(p) => measure::Column::ParentId.eq(p),
            None => measure::Column::ParentId.is_null(),
        })
}

async fn check_measure_code(
    txn: &DatabaseTransaction,
    priority_id: i64,
    parent_id: Option<i64>,
    code: &str,
    this: Option<i64>,
) -> Result<()> {
    let cols = [
        measure::Column::Archived,
        measure::Column::Code,
        measure::Column::Id,
    ];
    check_code::<measure::Entity>(
        txn,
        measure_siblings(priority_id, parent_id),
        cols,
        code,
        this,
    )
    .await
}

/// Activities under the same measure and parent.
fn activity_siblings(measure_id: i64, parent_id: Option<i64>) -> Condition {
    Condition::all()
        .add(activity::Column::MeasureId.eq(measure_id))
        .add(match parent_id {
            Some(p) => activity::Column::ParentId.eq(p),
            None => activity::Column::ParentId.is_null(),
        })
}

async fn check_activity_code(
    txn: &DatabaseTransaction,
    measure_id: i64,
    parent_id: Option<i64>,
    code: &str,
    this: Option<i64>,
) -> Result<()> {
    let cols = [
        activity::Column::Archived,
        activity::Column::Code,
        activity::Column::Id,
    ];
    check_code::<activity::Entity>(
        txn,
        activity_siblings(measure_id, parent_id),
        cols,
        code,
        this,
    )
    .await
}

pub async fn create_priority(
    db: &Db,
    ctx: &Ctx,
    plan_id: i64,
    data: &PriorityData,
) -> Result<Priority> {
    let txn = db.begin_write().await?;
    let plan = load_plan(&txn, ctx, plan_id).await.map_err(|e| match e {
        Error::NotFound(m) => invalid("plan_id", m),
        e => e,
    })?;
    if plan.archived {
        return Err(invalid("plan_id", format!("plan {plan_id} is archived")));
    }
    check_priority_code(&txn, plan_id, data, None).await?;
    let position = next_position::<priority::Entity>(
        &txn,
        sea_orm::Condition::all().add(priority::Column::PlanId.eq(plan_id)),
        priority::Column::Position,
    )
    .await?;
    let id = insert_priority(&txn, &plan.region_code, plan_id, position, data).await?;
    let after = to_priority(
        priority::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("priority".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Priority",
            id,
            region: &plan.region_code,
            plan_id: Some(plan_id),
            action: "CREATED",
        },
        None::<&Priority>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

pub async fn update_priority(
    db: &Db,
    ctx: &Ctx,
    id: i64,
    expected: i32,
    data: &PriorityData,
) -> Result<Priority> {
    let txn = db.begin_write().await?;
    let found = priority::Entity::find_by_id(id).one(&txn).await?;
    let current = found.ok_or_else(|| Error::NotFound(format!("there is no priority {id}")))?;
    writable(&txn, ctx, &current.region_code).await?;
    check_version(u64::from(current.version == expected), current.version)?;
    check_priority_code(&txn, current.plan_id, data, Some(id)).await?;
    let am = priority::ActiveModel {
        version: Set(expected + 1),
        updated_at: Set(Utc::now()),
        ..priority_content(data)
    };
    let rows = priority::Entity::update_many()
        .set(am)
        .filter(priority::Column::Id.eq(id))
        .filter(priority::Column::Version.eq(expected))
        .exec(&txn)
        .await?
        .rows_affected;
    check_version(rows, current.version)?;
    let plan_id = current.plan_id;
    let before = to_priority(current)?;
    let after = to_priority(
        priority::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("priority".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Priority",
            id,
            region: before.region.as_str(),
            plan_id: Some(plan_id),
            action: "UPDATED",
        },
        Some(&before),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

// ---------------------------------------------------------------- measures

/// The capacities of a measure or service (`owner` is the column naming it), in order.
async fn capacities_of(
    txn: &DatabaseTransaction,
    owner: capacity::Column,
    id: i64,
) -> Result<Vec<kpss_domain::service::Capacity>> {
    let rows = capacity::Entity::find()
        .filter(owner.eq(id))
        .order_by_asc(capacity::Column::Position)
        .all(txn)
        .await?;
    rows.iter().map(crate::export::to_capacity).collect()
}

/// A measure with its planned capacities, as the audit log shows it.
#[derive(Serialize)]
struct MeasureState {
    #[serde(flatten)]
    measure: Measure,
    planned_capacities: Vec<kpss_domain::service::Capacity>,
}

async fn measure_state(txn: &DatabaseTransaction, id: i64) -> Result<MeasureState> {
    let m = measure::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("measure".into()))?;
    let planned_capacities = capacities_of(txn, capacity::Column::MeasureId, id).await?;
    Ok(MeasureState {
        measure: to_measure(m)?,
        planned_capacities,
    })
}

pub async fn create_measure(
    db: &Db,
    ctx: &Ctx,
    priority_id: i64,
    parent_id: Option<i64>,
    data: &MeasureData,
) -> Result<Measure> {
    let txn = db.begin_write().await?;
    let found = priority::Entity::find_by_id(priority_id).one(&txn).await?;
    let prio = found
        .ok_or_else(|| invalid("priority_id", format!("there is no priority {priority_id}")))?;
    writable(&txn, ctx, &prio.region_code).await?;
    if prio.archived {
        return Err(invalid(
            "priority_id",
            format!("priority {priority_id} is archived"),
        ));
    }
    if let Some(p) = parent_id {
        let parent = measure::Entity::find_by_id(p).one(&txn).await?;
        match parent {
            Some(m) if m.priority_id == priority_id && !m.archived && m.parent_id.is_none() => {}
            Some(m) if m.region_code != prio.region_code => {
                return Err(Error::Forbidden(
                    "a measure can only hang under a measure of its own region".into(),
                ));
            }
            _ => {
                return Err(invalid(
                    "input.parent_id",
                    format!(
                        "measure {p} is not a current top-level measure of priority {priority_id}"
                    ),
                ));
            }
        }
    }
    check_measure_code(&txn, priority_id, parent_id, &data.code, None).await?;
    let siblings = measure_siblings(priority_id, parent_id);
    let position =
        next_position::<measure::Entity>(&txn, siblings, measure::Column::Position).await?;
    let id = insert_measure(
        &txn,
        &prio.region_code,
        prio.plan_id,
        priority_id,
        parent_id,
        position,
        data,
    )
    .await?;
    let after = measure_state(&txn, id).await?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Measure",
            id,
            region: &prio.region_code,
            plan_id: Some(prio.plan_id),
            action: "CREATED",
        },
        None::<&MeasureState>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after.measure)
}

pub async fn update_measure(
    db: &Db,
    ctx: &Ctx,
    id: i64,
    expected: i32,
    data: &MeasureData,
) -> Result<Measure> {
    let txn = db.begin_write().await?;
    let found = measure::Entity::find_by_id(id).one(&txn).await?;
    let current = found.ok_or_else(|| Error::NotFound(format!("there is no measure {id}")))?;
    writable(&txn, ctx, &current.region_code).await?;
    check_version(u64::from(current.version == expected), current.version)?;
    check_measure_code(
        &txn,
        current.priority_id,
        current.parent_id,
        &data.code,
        Some(id),
    )
    .await?;
    let before = measure_state(&txn, id).await?;
    let am = measure::ActiveModel {
        version: Set(expected + 1),
        updated_at: Set(Utc::now()),
        ..measure_content(data)
    };
    let rows = measure::Entity::update_many()
        .set(am)
        .filter(measure::Column::Id.eq(id))
        .filter(measure::Column::Version.eq(expected))
        .exec(&txn)
        .await?
        .rows_affected;
    check_version(rows, current.version)?;
    // Planned capacities are part of the measure's content: the old ones stay in the audit entry.
    capacity::Entity::delete_many()
        .filter(capacity::Column::MeasureId.eq(id))
        .exec(&txn)
        .await?;
    insert_capacities(
        &txn,
        &current.region_code,
        None,
        Some(id),
        &data.planned_capacities,
    )
    .await?;
    let after = measure_state(&txn, id).await?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Measure",
            id,
            region: &current.region_code,
            plan_id: Some(current.plan_id),
            action: "UPDATED",
        },
        Some(&before),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after.measure)
}

// ---------------------------------------------------------------- activities

pub async fn create_activity(
    db: &Db,
    ctx: &Ctx,
    measure_id: i64,
    parent_id: Option<i64>,
    data: &ActivityData,
) -> Result<Activity> {
    let txn = db.begin_write().await?;
    let found = measure::Entity::find_by_id(measure_id).one(&txn).await?;
    let m =
        found.ok_or_else(|| invalid("measure_id", format!("there is no measure {measure_id}")))?;
    writable(&txn, ctx, &m.region_code).await?;
    if m.archived {
        return Err(invalid(
            "measure_id",
            format!("measure {measure_id} is archived"),
        ));
    }
    if let Some(p) = parent_id {
        let parent = activity::Entity::find_by_id(p).one(&txn).await?;
        match parent {
            Some(a) if a.measure_id == measure_id && !a.archived => {}
            Some(a) if a.region_code != m.region_code => {
                return Err(Error::Forbidden(
                    "an activity can only hang under an activity of its own region".into(),
                ));
            }
            _ => {
                return Err(invalid(
                    "input.parent_id",
                    format!("activity {p} is not a current activity of measure {measure_id}"),
                ));
            }
        }
    }
    check_activity_code(&txn, measure_id, parent_id, &data.code, None).await?;
    let siblings = activity_siblings(measure_id, parent_id);
    let position =
        next_position::<activity::Entity>(&txn, siblings, activity::Column::Position).await?;
    let id = insert_activity(&txn, &m.region_code, measure_id, parent_id, position, data).await?;
    let after = to_activity(
        activity::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("activity".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Activity",
            id,
            region: &m.region_code,
            plan_id: Some(m.plan_id),
            action: "CREATED",
        },
        None::<&Activity>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

pub async fn update_activity(
    db: &Db,
    ctx: &Ctx,
    id: i64,
    expected: i32,
    data: &ActivityData,
) -> Result<Activity> {
    let txn = db.begin_write().await?;
    let found = activity::Entity::find_by_id(id).one(&txn).await?;
    let current = found.ok_or_else(|| Error::NotFound(format!("there is no activity {id}")))?;
    writable(&txn, ctx, &current.region_code).await?;
    check_version(u64::from(current.version == expected), current.version)?;
    check_activity_code(
        &txn,
        current.measure_id,
        current.parent_id,
        &data.code,
        Some(id),
    )
    .await?;
    let am = activity::ActiveModel {
        version: Set(expected + 1),
        updated_at: Set(Utc::now()),
        ..activity_content(data)
    };
    let rows = activity::Entity::update_many()
        .set(am)
        .filter(activity::Column::Id.eq(id))
        .filter(activity::Column::Version.eq(expected))
        .exec(&txn)
        .await?
        .rows_affected;
    check_version(rows, current.version)?;
    let before = to_activity(current)?;
    let after = to_activity(
        activity::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("activity".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Activity",
            id,
            region: before.region.as_str(),
            plan_id: None,
            action: "UPDATED",
        },
        Some(&before),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

// ---------------------------------------------------------------- evaluations

/// Adds the evaluation of a year, or replaces it (the old one stays in the audit log).
pub async fn record_evaluation(
    db: &Db,
    ctx: &Ctx,
    measure_id: i64,
    data: &EvaluationData,
) -> Result<Evaluation> {
    let txn = db.begin_write().await?;
    let found = measure::Entity::find_by_id(measure_id).one(&txn).await?;
    let m = found.ok_or_else(|| Error::NotFound(format!("there is no measure {measure_id}")))?;
    writable(&txn, ctx, &m.region_code).await?;
    if m.archived {
        return Err(invalid(
            "measure_id",
            format!("measure {measure_id} is archived"),
        ));
    }
    let now = Utc::now();
    let existing = evaluation::Entity::find()
        .filter(evaluation::Column::MeasureId.eq(measure_id))
        .filter(evaluation::Column::Year.eq(data.year))
        .one(&txn)
        .await?;
    let to_record = |e: evaluation::Model| -> Result<Evaluation> {
        Ok(Evaluation {
            id: e.id,
            measure_id: e.measure_id,
            year: e.year,
            status: crate::export::parse(&e.status)?,
            comment: e.comment,
            recorded_at: e.recorded_at.timestamp(),
            recorded_by: e.recorded_by,
        })
    };
    let content = evaluation::ActiveModel {
        status: Set(data.status.as_str().to_owned()),
        comment: Set(data.comment.clone()),
        recorded_at: Set(now),
        recorded_by: Set(ctx.subject.clone()),
        source_line: Set(None),
        ..Default::default()
    };
    let (id, before, action) = match existing {
        Some(e) => {
            let id = e.id;
            evaluation::Entity::update_many()
                .set(content)
                .filter(evaluation::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            (id, Some(to_record(e)?), "UPDATED")
        }
        None => {
            let am = evaluation::ActiveModel {
                measure_id: Set(measure_id),
                region_code: Set(m.region_code.clone()),
                year: Set(data.year),
                ..content
            };
            (
                evaluation::Entity::insert(am)
                    .exec(&txn)
                    .await?
                    .last_insert_id,
                None,
                "CREATED",
            )
        }
    };
    let after = to_record(
        evaluation::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("evaluation".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Evaluation",
            id,
            region: &m.region_code,
            plan_id: Some(m.plan_id),
            action,
        },
        before.as_ref(),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

// ---------------------------------------------------------------- providers and services

pub async fn create_provider(
    db: &Db,
    ctx: &Ctx,
    region: &RegionCode,
    data: &ProviderData,
) -> Result<Provider> {
    let txn = db.begin_write().await?;
    if region::Entity::find_by_id(region.as_str())
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(invalid(
            "input.region",
            format!("there is no region `{region}`"),
        ));
    }
    writable(&txn, ctx, region.as_str())
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => {
                Error::Forbidden(format!("this token may not change region `{region}`"))
            }
            e => e,
        })?;
    let id = insert_provider(&txn, region.as_str(), data).await?;
    let after = to_provider(
        provider::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("provider".into()))?,
    )?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Provider",
            id,
            region: region.as_str(),
            plan_id: None,
            action: "CREATED",
        },
        None::<&Provider>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after)
}

/// A service with its capacities, as the audit log shows it.
#[derive(Serialize)]
struct ServiceState {
    #[serde(flatten)]
    service: Service,
    capacities: Vec<kpss_domain::service::Capacity>,
}

async fn service_state(txn: &DatabaseTransaction, id: i64) -> Result<ServiceState> {
    let s = service::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("service".into()))?;
    let capacities = capacities_of(txn, capacity::Column::ServiceId, id).await?;
    Ok(ServiceState {
        service: to_service(s)?,
        capacities,
    })
}

pub async fn create_service(
    db: &Db,
    ctx: &Ctx,
    provider_id: i64,
    data: &ServiceData,
) -> Result<Service> {
    let txn = db.begin_write().await?;
    let found = provider::Entity::find_by_id(provider_id).one(&txn).await?;
    let p = found
        .ok_or_else(|| invalid("provider_id", format!("there is no provider {provider_id}")))?;
    writable(&txn, ctx, &p.region_code).await?;
    if p.archived {
        return Err(invalid(
            "provider_id",
            format!("provider {provider_id} is archived"),
        ));
    }
    let id = insert_service(&txn, &p.region_code, provider_id, data).await?;
    let after = service_state(&txn, id).await?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Service",
            id,
            region: &p.region_code,
            plan_id: None,
            action: "CREATED",
        },
        None::<&ServiceState>,
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after.service)
}

pub async fn update_service(
    db: &Db,
    ctx: &Ctx,
    id: i64,
    expected: i32,
    data: &ServiceData,
) -> Result<Service> {
    let txn = db.begin_write().await?;
    let found = service::Entity::find_by_id(id).one(&txn).await?;
    let current = found.ok_or_else(|| Error::NotFound(format!("there is no service {id}")))?;
    writable(&txn, ctx, &current.region_code).await?;
    check_version(u64::from(current.version == expected), current.version)?;
    let before = service_state(&txn, id).await?;
    let am = service::ActiveModel {
        version: Set(expected + 1),
        updated_at: Set(Utc::now()),
        ..service_content(data)
    };
    let rows = service::Entity::update_many()
        .set(am)
        .filter(service::Column::Id.eq(id))
        .filter(service::Column::Version.eq(expected))
        .exec(&txn)
        .await?
        .rows_affected;
    check_version(rows, current.version)?;
    capacity::Entity::delete_many()
        .filter(capacity::Column::ServiceId.eq(id))
        .exec(&txn)
        .await?;
    insert_capacities(&txn, &current.region_code, Some(id), None, &data.capacities).await?;
    let after = service_state(&txn, id).await?;
    let change = audit(
        &txn,
        ctx,
        Audit {
            entity: "Service",
            id,
            region: &current.region_code,
            plan_id: None,
            action: "UPDATED",
        },
        Some(&before),
        Some(&after),
    )
    .await?;
    finish(db, txn, change).await?;
    Ok(after.service)
}

/// The kinds of record a mutation names by id.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Plan,
    Priority,
    Measure,
    Activity,
    Service,
}

/// Why the caller cannot change record `id` it could not read: FORBIDDEN when
/// the record exists (outside the caller's regions), NOT_FOUND when it does not.
pub async fn unreadable(db: &Db, kind: Kind, id: i64) -> Error {
    let region = match kind {
        Kind::Plan => plan::Entity::find_by_id(id)
            .one(&db.conn)
            .await
            .map(|m| m.map(|m| m.region_code)),
        Kind::Priority => priority::Entity::find_by_id(id)
            .one(&db.conn)
            .await
            .map(|m| m.map(|m| m.region_code)),
        Kind::Measure => measure::Entity::find_by_id(id)
            .one(&db.conn)
            .await
            .map(|m| m.map(|m| m.region_code)),
        Kind::Activity => activity::Entity::find_by_id(id)
            .one(&db.conn)
            .await
            .map(|m| m.map(|m| m.region_code)),
        Kind::Service => service::Entity::find_by_id(id)
            .one(&db.conn)
            .await
            .map(|m| m.map(|m| m.region_code)),
    };
    match region {
        // Whoever may write a region may read it: an existing record it could not read is not its to change.
        Ok(Some(_)) => Error::Forbidden("this token may not change that region".into()),
        Ok(None) => Error::NotFound(format!("there is no {kind:?} {id}").to_lowercase()),
        Err(e) => e.into(),
    }
}
