//! Next period's action plan made from a plan: its priorities and the
//! measures still to be done, copied as new records.

use crate::Result;
use crate::columns::parse;
use crate::entity::{activity, evaluation, measure, plan, priority};
use crate::events::Recorded as Event;
use crate::scoped::Scoped;
use crate::stored;
use kpss_domain::error::ValidationError;
use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::plan::Plan;
use kpss_domain::plan::{PlanFields, PlanKind, PlanRollOver};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{HashMap, HashSet};

/// Creates the action plan `cmd` describes in the source plan's region,
/// implementing the source plan's parent (if current), with copies of the
/// source's current measures whose latest evaluation is in `cmd.include`
/// (with their current sub-measures, activities and planned capacities;
/// without evaluations and provenance), each naming the measure it was
/// carried from, and the priorities of those measures. One transaction;
/// one CREATED audit entry per new record.
pub async fn roll_over(s: &Scoped, cmd: &PlanRollOver) -> Result<Plan> {
    stored::retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        let from = stored::load::<plan::Entity>(s, &txn, cmd.plan_id).await?;
        let mut events = Vec::new();
        let parent = match from.parent_id {
            Some(id) => plan::Entity::find_by_id(id)
                .filter(plan::Column::Archived.eq(false))
                .one(&txn)
                .await?
                .map(|p| p.id),
            None => None,
        };
        let fields = PlanFields::new(cmd.title.clone(), PlanKind::ActionPlan, cmd.period);
        let region = from.region_code.as_str();
        let plan_id = super::insert(&txn, region, &fields, parent, None).await?;
        let (new_plan, event) = stored::created::<plan::Entity>(s, &txn, plan_id).await?;
        events.push(event);

        let measures = carried(&txn, from.id, &cmd.include).await?;
        let priorities = priority::Entity::find()
            .filter(priority::Column::PlanId.eq(from.id))
            .filter(priority::Column::Archived.eq(false))
            .order_by_asc(priority::Column::Position)
            .order_by_asc(priority::Column::Id)
            .all(&txn)
            .await?;
        let mut copies: HashMap<i64, i64> = HashMap::new();
        for pr in priorities {
            let own: Vec<&measure::Model> =
                measures.iter().filter(|m| m.priority_id == pr.id).collect();
            // A priority left without measures is not carried over.
            if own.is_empty() {
                continue;
            }
            let f = crate::priority::draft_of(&pr)
                .parse()
                .map_err(|e| stored_as(e, "priority", pr.id))?;
            let position = pr.position as usize;
            let id = crate::priority::insert(&txn, region, plan_id, position, &f, None).await?;
            events.push(stored::created::<priority::Entity>(s, &txn, id).await?.1);
            // Sub-measures come after their measure (`carried` orders them so).
            for m in own {
                let mut f = crate::measure::draft_of(&txn, m)
                    .await?
                    .parse()
                    .map_err(|e| stored_as(e, "measure", m.id))?;
                for c in &mut f.planned_capacities {
                    c.source = None;
                }
                let at = crate::measure::Place {
                    region,
                    plan_id,
                    priority_id: id,
                    parent_id: m.parent_id.and_then(|p| copies.get(&p).copied()),
                    position: m.position as usize,
                    source: None,
                    carried_from: Some(m.id),
                };
                let copy = crate::measure::insert(&txn, at, &f).await?;
                copies.insert(m.id, copy);
                events.push(stored::created::<measure::Entity>(s, &txn, copy).await?.1);
                events.extend(activities(s, &txn, region, m.id, copy).await?);
            }
        }
        stored::commit(s, txn, events).await?;
        Ok(new_plan.plan)
    })
    .await
}

/// A copied record's stored content that a rule refuses (stored before the
/// rule was made) names the record (`measure 12.output`): it is mended
/// with an update of that record, and then the roll-over goes through.
fn stored_as(e: ValidationError, kind: &str, id: i64) -> ValidationError {
    e.under(&format!("{kind} {id}"))
}

/// The current measures of plan `plan_id` to carry over, in document order,
/// each sub-measure after its measure: the top-level ones whose latest
/// evaluation (none counts as `Unknown`) is in `include`, with their
/// current sub-measures.
async fn carried(
    c: &DatabaseTransaction,
    plan_id: i64,
    include: &[EvaluationStatus],
) -> Result<Vec<measure::Model>> {
    let all = measure::Entity::find()
        .filter(measure::Column::PlanId.eq(plan_id))
        .filter(measure::Column::Archived.eq(false))
        .order_by_asc(measure::Column::Position)
        .order_by_asc(measure::Column::Id)
        .all(c)
        .await?;
    let evaluations: Vec<(i64, i32, String)> = evaluation::Entity::find()
        .select_only()
        .column(evaluation::Column::MeasureId)
        .column(evaluation::Column::Year)
        .column(evaluation::Column::Status)
        .filter(evaluation::Column::MeasureId.is_in(all.iter().map(|m| m.id)))
        .into_tuple()
        .all(c)
        .await?;
    let mut latest: HashMap<i64, (i32, String)> = HashMap::new();
    for (measure, year, status) in evaluations {
        if latest.get(&measure).is_none_or(|(y, _)| *y < year) {
            latest.insert(measure, (year, status));
        }
    }
    let mut chosen = HashSet::new();
    for m in all.iter().filter(|m| m.parent_id.is_none()) {
        let status = match latest.get(&m.id) {
            Some((_, s)) => parse::<EvaluationStatus>(s)?,
            None => EvaluationStatus::Unknown,
        };
        if include.contains(&status) {
            chosen.insert(m.id);
        }
    }
    let (top, subs): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.parent_id.is_none());
    let mut out = Vec::new();
    for m in top.into_iter().filter(|m| chosen.contains(&m.id)) {
        let id = m.id;
        out.push(m);
        out.extend(subs.iter().filter(|s| s.parent_id == Some(id)).cloned());
    }
    Ok(out)
}

/// Copies the current activities of measure `from` to measure `to`, each
/// after the activity it hangs under; the events of the copies.
async fn activities(
    s: &Scoped,
    c: &DatabaseTransaction,
    region: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Event>> {
    let mut pending = activity::Entity::find()
        .filter(activity::Column::MeasureId.eq(from))
        .filter(activity::Column::Archived.eq(false))
        .order_by_asc(activity::Column::Position)
        .order_by_asc(activity::Column::Id)
        .all(c)
        .await?;
    let mut copies: HashMap<i64, i64> = HashMap::new();
    let mut events = Vec::new();
    // Each round copies the activities whose parent is copied; one under an
    // archived activity never is.
    loop {
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|a| a.parent_id.is_none_or(|p| copies.contains_key(&p)));
        if ready.is_empty() {
            break;
        }
        for a in ready {
            let f = crate::activity::draft_of(&a)?
                .parse()
                .map_err(|e| stored_as(e, "activity", a.id))?;
            let parent = a.parent_id.and_then(|p| copies.get(&p).copied());
            let position = a.position as usize;
            let id = crate::activity::insert(c, region, to, parent, position, &f, None).await?;
            copies.insert(a.id, id);
            events.push(stored::created::<activity::Entity>(s, c, id).await?.1);
        }
        pending = rest;
    }
    Ok(events)
}
