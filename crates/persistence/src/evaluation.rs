//! Yearly evaluations of measures.

use crate::columns::parse;
use crate::entity::{evaluation, measure, plan};
use crate::events::Recorded;
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{self, Doc, Searchable};
use crate::stored::{self, Entry};
use crate::transfer::{At, SEED_ACTOR, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::evaluation::Evaluation;
use kpss_domain::evaluation::{EvaluationFields, EvaluationForRecord};
use kpss_domain::kind::AuditAction;
use kpss_domain::seed::EvaluationData;
use kpss_domain::seed::seed_provenance;
use kpss_domain::source::Provenance;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};

impl Stored for evaluation::Entity {
    type Record = Evaluation;
    const ID: evaluation::Column = evaluation::Column::Id;
    const REGION: evaluation::Column = evaluation::Column::RegionCode;
    /// Newest year first comes from [`of_measures`]; by id otherwise.
    const ORDER: evaluation::Column = evaluation::Column::Id;

    fn record(e: evaluation::Model) -> Result<Evaluation> {
        Ok(Evaluation {
            id: e.id,
            measure_id: e.measure_id,
            year: e.year,
            status: parse(&e.status)?,
            comment: e.comment,
            recorded_at: e.recorded_at.timestamp(),
            recorded_by: e.recorded_by.clone(),
            source: source!(e),
            version: e.version,
        })
    }
}

/// Whether the evaluation of the table `e` is its measure's latest: no later
/// one of the same measure follows. Written as "its year is the greatest of
/// the measure's" (a sub-select for each row), it made PostgreSQL expect a
/// handful of rows and join the rest by nested loops
/// (`bench/results/evaluation-summary-2026-12-06.md`).
pub(crate) fn is_latest(e: impl IntoIden) -> SimpleExpr {
    let e = e.into_iden();
    let later = Alias::new("later");
    let exists = Query::select()
        .expr(Expr::val(1))
        .from_as(evaluation::Entity, later.clone())
        .and_where(
            Expr::col((later.clone(), evaluation::Column::MeasureId))
                .equals((e.clone(), evaluation::Column::MeasureId)),
        )
        .and_where(
            Expr::col((later, evaluation::Column::Year))
                .gt(Expr::col((e, evaluation::Column::Year))),
        )
        .to_owned();
    Expr::exists(exists).not()
}

/// Evaluations of measures, newest year first.
pub async fn of_measures(s: &Scoped, measure_ids: &[i64]) -> Result<Vec<Evaluation>> {
    let mut found = read::children::<evaluation::Entity>(
        s,
        evaluation::Column::MeasureId,
        measure_ids,
        Condition::all(),
    )
    .await?;
    found.sort_by_key(|e| std::cmp::Reverse(e.year));
    Ok(found)
}

/// Inserts an evaluation (of an import, or a new year).
pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    measure_id: i64,
    f: &EvaluationFields,
    recorded_by: &str,
    source: Option<&Provenance>,
) -> Result<i64> {
    let mut am = evaluation::ActiveModel {
        measure_id: Set(measure_id),
        region_code: Set(region.to_owned()),
        year: Set(f.year.get()),
        status: Set(f.status.as_str().to_owned()),
        comment: Set(f.comment.clone()),
        recorded_at: Set(Utc::now()),
        recorded_by: Set(recorded_by.to_owned()),
        ..Default::default()
    };
    set_source!(am, source);
    Ok(evaluation::Entity::insert(am).exec(c).await?.last_insert_id)
}

/// Adds the evaluation of a year, or replaces it (the old one stays in the
/// audit log); with an expected version, only if that year's evaluation is
/// still at it (0: there is none).
pub async fn record(s: &Scoped, cmd: &EvaluationForRecord) -> Result<Evaluation> {
    stored::retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        let m = stored::load::<measure::Entity>(s, &txn, cmd.measure_id).await?;
        let (after, event) = record_in(s, &txn, &m, cmd).await?;
        stored::commit(s, txn, vec![event]).await?;
        Ok(after)
    })
    .await
}

/// Records a year's evaluations of measures of one plan at once, in one
/// transaction: a bad item (`items[i]` names it) or a conflict on any
/// item writes nothing. The answer is in the order given.
pub async fn record_all(
    s: &Scoped,
    plan_id: i64,
    cmds: &[EvaluationForRecord],
) -> Result<Vec<Evaluation>> {
    stored::retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        stored::load::<plan::Entity>(s, &txn, plan_id).await?;
        let (mut recorded, mut events) = (Vec::new(), Vec::new());
        for (i, cmd) in cmds.iter().enumerate() {
            let item = format!("items[{i}]");
            if cmds[..i].iter().any(|c| c.measure_id == cmd.measure_id) {
                return Err(Error::invalid(
                    &format!("{item}.measure_id"),
                    format!("measure {} is listed twice", cmd.measure_id),
                ));
            }
            // The plan is in scope, and so are its measures.
            let m = measure::Entity::find_by_id(cmd.measure_id)
                .filter(measure::Column::PlanId.eq(plan_id))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        &format!("{item}.measure_id"),
                        format!("plan {plan_id} has no measure {}", cmd.measure_id),
                    )
                })?;
            let (after, event) = record_in(s, &txn, &m, cmd)
                .await
                .map_err(|e| e.of_item(&item))?;
            recorded.push(after);
            events.push(event);
        }
        stored::commit(s, txn, events).await?;
        Ok(recorded)
    })
    .await
}

/// Records one evaluation of measure `m` (loaded for writing) within `txn`.
pub(crate) async fn record_in(
    s: &Scoped,
    txn: &DatabaseTransaction,
    m: &measure::Model,
    cmd: &EvaluationForRecord,
) -> Result<(Evaluation, Recorded)> {
    if m.archived {
        return Err(Error::invalid(
            "measure_id",
            format!("measure {} is archived", cmd.measure_id),
        ));
    }
    // Writers of one measure's evaluations queue on its row (PostgreSQL;
    // a SQLite write transaction holds the database's write lock anyway),
    // so the second of two first records finds the first one and
    // replaces it rather than hitting the unique index.
    measure::Entity::find_by_id(m.id)
        .select_only()
        .column(measure::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(txn)
        .await?;
    let f = &cmd.fields;
    let existing = evaluation::Entity::find()
        .filter(evaluation::Column::MeasureId.eq(cmd.measure_id))
        .filter(evaluation::Column::Year.eq(f.year.get()))
        .one(txn)
        .await?;
    let current = existing.as_ref().map_or(0, |e| e.version);
    if cmd.expected_version.is_some_and(|v| v != current) {
        return Err(Error::Conflict {
            current_version: current,
            field: None,
        });
    }
    let actor = &s.ctx().subject;
    let (id, before, action) = match existing {
        Some(e) => {
            let id = e.id;
            let content = evaluation::ActiveModel {
                status: Set(f.status.as_str().to_owned()),
                comment: Set(f.comment.clone()),
                recorded_at: Set(Utc::now()),
                recorded_by: Set(actor.clone()),
                version: Set(e.version + 1),
                // Its source stays: the audit entry shows what replaced the document's words.
                ..Default::default()
            };
            evaluation::Entity::update_many()
                .set(content)
                .filter(evaluation::Column::Id.eq(id))
                .exec(txn)
                .await?;
            (
                id,
                Some(evaluation::Entity::record(e)?),
                AuditAction::Updated,
            )
        }
        None => (
            insert(txn, &m.region_code, cmd.measure_id, f, actor, None).await?,
            None,
            AuditAction::Created,
        ),
    };
    let row = evaluation::Entity::find_by_id(id).one(txn).await?;
    let row = row.ok_or_else(|| Error::NotFound(format!("evaluation {id} is gone")))?;
    let own_entry = search::own_entry::<evaluation::Entity>(txn, row.clone(), None).await?;
    let after = evaluation::Entity::record(row)?;
    let entry = Entry {
        id,
        region: &m.region_code,
        plan_id: Some(m.plan_id),
        action,
    };
    let event = stored::audit(
        s,
        txn,
        EntityKind::Evaluation,
        entry,
        before.as_ref(),
        &after,
        stored::Writes {
            own_entry,
            update: None,
        },
    )
    .await?;
    Ok((after, event))
}

/// An evaluation is titled by its measure's code, and archived with it.
impl Searchable for evaluation::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Evaluation;

    async fn docs_of<C: ConnectionTrait>(c: &C, rows: Vec<evaluation::Model>) -> Result<Vec<Doc>> {
        let measures: std::collections::HashMap<i64, measure::Model> = measure::Entity::find()
            .filter(measure::Column::Id.is_in(rows.iter().map(|e| e.measure_id)))
            .all(c)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|e| {
                let m = measures.get(&e.measure_id)?;
                let title = format!("Vyhodnocení {}, opatření {}", e.year, m.code);
                let mut d = Doc::new(Self::ENTRY_KIND, e.id, e.region_code, m.archived, title)
                    .with([e.comment]);
                d.plan_id = Some(m.plan_id);
                d.measure_id = Some(m.id);
                Some(d)
            })
            .collect())
    }
}

/// Imports a seed file's evaluation of a measure.
pub(crate) async fn import(
    at: &At<'_>,
    measure_id: i64,
    e: &EvaluationData,
    field: &str,
) -> Result<()> {
    let source = at.source(e.provenance(), field)?;
    let fields = under(e.fields(), field)?;
    insert(
        at.c,
        at.region,
        measure_id,
        &fields,
        SEED_ACTOR,
        source.as_ref(),
    )
    .await?;
    Ok(())
}

/// An evaluation in the seed format.
pub(crate) fn export(e: &evaluation::Model) -> Result<EvaluationData> {
    let (source, sources, reading) = seed_provenance(source!(e).as_ref());
    Ok(EvaluationData {
        year: e.year,
        status: parse(&e.status)?,
        comment: e.comment.clone(),
        source,
        sources,
        reading,
    })
}
