//! Loading `seeds/` into the database: `regions.yaml` first, then one file
//! per region, each region in one transaction. A file already imported
//! unchanged is skipped, so a second run changes nothing.

use crate::entity::{
    activity, audit_entry, capacity, evaluation, kraj, measure, plan, plan_project, priority,
    provider, region, seed_import, service,
};
use crate::{Db, Error, Result};
use chrono::{NaiveDate, Utc};
use kpss_domain::ValidationError;
use kpss_domain::collation::sort_key;
use kpss_domain::plan::{ActivityData, MeasureData, PlanData, PriorityData};
use kpss_domain::seed::{RegionData, Territory};
use kpss_domain::service::{Capacity, ProviderData, ServiceData};
use kpss_domain::text::fold;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Who the seed's evaluations and archive markers are attributed to.
pub const SEED_ACTOR: &str = "import";

/// What one run did, per region file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported {
        region: String,
        plans: usize,
        providers: usize,
    },
    Unchanged {
        region: String,
    },
}

/// Reads and validates a seed file; errors name the file and the path in it.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        Error::Seed(format!(
            "{}: {}: {inner}",
            path.display(),
            if at == "." { "(top)".to_owned() } else { at }
        ))
    })
}

fn invalid(path: &Path, e: ValidationError) -> Error {
    Error::Seed(format!("{}: {}: {}", path.display(), e.field, e.message))
}

/// Loads every seed file of `dir`. With `replace`, a region whose data was
/// changed through the API is re-imported (its records archived, not deleted);
/// without it, such a region is refused.
pub async fn load_dir(db: &Db, dir: &Path, replace: bool) -> Result<Vec<Outcome>> {
    let territory_path = dir.join("regions.yaml");
    let text = read(&territory_path)?;
    let territory = parse::<Territory>(&territory_path, &text)?
        .normalized()
        .map_err(|e| invalid(&territory_path, e))?;
    upsert_territory(db, &territory).await?;

    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::Seed(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml")
                && p.file_name().is_some_and(|n| n != "regions.yaml")
        })
        .collect();
    files.sort();
    let mut outcomes = Vec::new();
    for path in files {
        let text = read(&path)?;
        let data = parse::<RegionData>(&path, &text)?
            .normalized()
            .map_err(|e| invalid(&path, e))?;
        if !territory.regions.iter().any(|r| r.code == data.region) {
            return Err(Error::Seed(format!(
                "{}: region: `{}` is not in regions.yaml",
                path.display(),
                data.region
            )));
        }
        let digest = format!("{:x}", Sha256::digest(text.as_bytes()));
        outcomes.push(
            import_region(db, &data, &digest, replace)
                .await
                .map_err(|e| match e {
                    Error::Seed(m) => Error::Seed(format!("{}: {m}", path.display())),
                    other => other,
                })?,
        );
    }
    Ok(outcomes)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Seed(format!("{}: {e}", path.display())))
}

async fn upsert_territory(db: &Db, t: &Territory) -> Result<()> {
    let txn = db.conn.begin().await?;
    for k in &t.kraje {
        let am = kraj::ActiveModel {
            code: Set(k.code.to_string()),
            name: Set(k.name.clone()),
            name_key: Set(sort_key(&k.name)),
        };
        kraj::Entity::insert(am)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(kraj::Column::Code)
                    .update_columns([kraj::Column::Name, kraj::Column::NameKey])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
    }
    for r in &t.regions {
        let am = region::ActiveModel {
            code: Set(r.code.to_string()),
            name: Set(r.name.clone()),
            name_key: Set(sort_key(&r.name)),
            kind: Set(r.kind.as_str().to_owned()),
            kraj_code: Set(r.kraj.to_string()),
        };
        region::Entity::insert(am)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(region::Column::Code)
                    .update_columns([
                        region::Column::Name,
                        region::Column::NameKey,
                        region::Column::Kind,
                        region::Column::KrajCode,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn import_region(db: &Db, data: &RegionData, digest: &str, replace: bool) -> Result<Outcome> {
    let code = data.region.to_string();
    let txn = db.begin_write().await?;
    let previous = seed_import::Entity::find_by_id(code.as_str())
        .one(&txn)
        .await?;
    if previous.as_ref().is_some_and(|p| p.digest == digest) {
        return Ok(Outcome::Unchanged { region: code });
    }
    let edits = audit_entry::Entity::find()
        .filter(audit_entry::Column::RegionCode.eq(code.as_str()))
        .count(&txn)
        .await?;
    if edits > 0 && !replace {
        return Err(Error::Seed(format!(
            "region `{code}` has {edits} change(s) made through the API; run `kpss seed --replace` to archive them and import the seed again"
        )));
    }
    archive_region(&txn, &code).await?;

    let mut ids = std::collections::HashMap::new();
    for p in &data.plans {
        let id = insert_plan(&txn, &code, p).await?;
        ids.insert(p.key.clone(), id);
    }
    for p in &data.plans {
        if let Some(parent) = &p.parent {
            plan::Entity::update_many()
                .col_expr(plan::Column::ParentId, Expr::value(ids[parent]))
                .filter(plan::Column::Id.eq(ids[&p.key]))
                .exec(&txn)
                .await?;
        }
    }
    for p in &data.providers {
        insert_provider(&txn, &code, p).await?;
    }
    crate::search::reindex_region(&txn, &code).await?;
    let marker = seed_import::ActiveModel {
        region_code: Set(code.clone()),
        digest: Set(digest.to_owned()),
        imported_at: Set(Utc::now()),
    };
    seed_import::Entity::insert(marker)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(seed_import::Column::RegionCode)
                .update_columns([seed_import::Column::Digest, seed_import::Column::ImportedAt])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Outcome::Imported {
        region: code,
        plans: data.plans.len(),
        providers: data.providers.len(),
    })
}

/// Archives a region's current records before a re-import: nothing is deleted.
async fn archive_region(txn: &DatabaseTransaction, code: &str) -> Result<()> {
    macro_rules! archive {
        ($($m:ident),+) => {$(
            $m::Entity::update_many()
                .col_expr($m::Column::Archived, Expr::value(true))
                .col_expr($m::Column::Version, Expr::col($m::Column::Version).add(1))
                .col_expr($m::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter($m::Column::RegionCode.eq(code))
                .filter($m::Column::Archived.eq(false))
                .exec(txn)
                .await?;
        )+};
    }
    archive!(plan, priority, measure, activity, provider, service);
    Ok(())
}

/// What `MeasureFilter.text` searches: title, rationale and description, folded.
pub(crate) fn measure_fold_text(
    title: &str,
    rationale: Option<&str>,
    description: Option<&str>,
) -> String {
    fold(
        &[Some(title), rationale, description]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

fn line(l: Option<u32>) -> Option<i32> {
    l.and_then(|l| i32::try_from(l).ok())
}

fn date(field: &str, s: &Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Error::Invalid(ValidationError::new(field, format!("`{d}` is not a date")))
            })
        })
        .transpose()
}

/// The columns a plan's content sets (shared by import, create and update).
pub(crate) fn plan_content(p: &PlanData) -> Result<plan::ActiveModel> {
    Ok(plan::ActiveModel {
        title: Set(p.title.clone()),
        kind: Set(p.kind.as_str().to_owned()),
        period_start: Set(p.period_start),
        period_end: Set(p.period_end),
        prepared_by: Set(p.prepared_by.clone()),
        approval: Set(p.approval.clone()),
        approved_on: Set(date("approved_on", &p.approved_on)?),
        ..Default::default()
    })
}

pub(crate) fn priority_content(p: &PriorityData) -> priority::ActiveModel {
    priority::ActiveModel {
        code: Set(p.code.clone()),
        title: Set(p.title.clone()),
        description: Set(p.description.clone()),
        group_name: Set(p.group.clone()),
        ..Default::default()
    }
}

pub(crate) fn measure_content(m: &MeasureData) -> measure::ActiveModel {
    let cost = m.expected_cost.as_ref();
    measure::ActiveModel {
        code: Set(m.code.clone()),
        title: Set(m.title.clone()),
        rationale: Set(m.rationale.clone()),
        description: Set(m.description.clone()),
        target_groups: Set(json(&m.target_groups)),
        term: Set(m.term.clone()),
        term_start_year: Set(m.term_start_year),
        term_end_year: Set(m.term_end_year),
        responsible: Set(json(&m.responsible)),
        output: Set(m.output.clone()),
        cost_amount_czk: Set(cost.and_then(|c| c.amount_czk)),
        cost_per: Set(cost.and_then(|c| c.per.clone())),
        cost_text: Set(cost.map(|c| c.text.clone())),
        funding_sources: Set(json(&m.funding_sources)),
        risks: Set(json(&m.risks)),
        planned_activities: Set(json(&m.planned_activities)),
        fold_text: Set(measure_fold_text(
            &m.title,
            m.rationale.as_deref(),
            m.description.as_deref(),
        )),
        fold_target_groups: Set(fold(&m.target_groups.join("\n"))),
        ..Default::default()
    }
}

pub(crate) fn activity_content(a: &ActivityData) -> activity::ActiveModel {
    activity::ActiveModel {
        code: Set(a.code.clone()),
        title: Set(a.title.clone()),
        description: Set(a.description.clone()),
        responsible: Set(json(&a.responsible)),
        schedule: Set(a.schedule.clone()),
        financing: Set(a.financing.clone()),
        outputs: Set(json(&a.outputs)),
        ..Default::default()
    }
}

pub(crate) fn service_content(s: &ServiceData) -> service::ActiveModel {
    service::ActiveModel {
        service_type: Set(s.service_type.as_str().to_owned()),
        name: Set(s.name.clone()),
        scope: Set(s.scope.clone()),
        ..Default::default()
    }
}

pub(crate) async fn insert_plan(
    txn: &DatabaseTransaction,
    region: &str,
    p: &PlanData,
) -> Result<i64> {
    let now = Utc::now();
    let am = plan::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(now),
        parent_id: Set(None),
        source_document: Set(p.source_document.clone()),
        source_line: Set(line(p.line)),
        seed_key: Set((!p.key.is_empty()).then(|| p.key.clone())),
        ..plan_content(p)?
    };
    let plan_id = plan::Entity::insert(am).exec(txn).await?.last_insert_id;
    for (i, pr) in p.projects.iter().enumerate() {
        let am = plan_project::ActiveModel {
            plan_id: Set(plan_id),
            region_code: Set(region.to_owned()),
            position: Set(i as i32),
            title: Set(pr.title.clone()),
            implementer: Set(pr.implementer.clone()),
            due: Set(pr.due.clone()),
            due_year: Set(pr.due_year),
            source_line: Set(line(pr.line)),
            ..Default::default()
        };
        plan_project::Entity::insert(am).exec(txn).await?;
    }
    for (i, pr) in p.priorities.iter().enumerate() {
        let priority_id = insert_priority(txn, region, plan_id, i, pr).await?;
        for (j, m) in pr.measures.iter().enumerate() {
            insert_measure(txn, region, plan_id, priority_id, None, j, m).await?;
        }
    }
    Ok(plan_id)
}

pub(crate) async fn insert_priority(
    txn: &DatabaseTransaction,
    region: &str,
    plan_id: i64,
    position: usize,
    p: &PriorityData,
) -> Result<i64> {
    let am = priority::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        plan_id: Set(plan_id),
        position: Set(position as i32),
        source_line: Set(line(p.line)),
        ..priority_content(p)
    };
    Ok(priority::Entity::insert(am).exec(txn).await?.last_insert_id)
}

pub(crate) async fn insert_measure(
    txn: &DatabaseTransaction,
    region: &str,
    plan_id: i64,
    priority_id: i64,
    parent_id: Option<i64>,
    position: usize,
    m: &MeasureData,
) -> Result<i64> {
    let now = Utc::now();
    let am = measure::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(now),
        plan_id: Set(plan_id),
        priority_id: Set(priority_id),
        parent_id: Set(parent_id),
        position: Set(position as i32),
        source_line: Set(line(m.line)),
        ..measure_content(m)
    };
    let id = measure::Entity::insert(am).exec(txn).await?.last_insert_id;
    insert_capacities(txn, region, None, Some(id), &m.planned_capacities).await?;
    for e in &m.evaluations {
        let am = evaluation::ActiveModel {
            measure_id: Set(id),
            region_code: Set(region.to_owned()),
            year: Set(e.year),
            status: Set(e.status.as_str().to_owned()),
            comment: Set(e.comment.clone()),
            source_line: Set(line(e.line)),
            recorded_at: Set(now),
            recorded_by: Set(SEED_ACTOR.to_owned()),
            ..Default::default()
        };
        evaluation::Entity::insert(am).exec(txn).await?;
    }
    for (i, a) in m.activities.iter().enumerate() {
        insert_activity(txn, region, id, None, i, a).await?;
    }
    for (i, sub) in m.sub_measures.iter().enumerate() {
        Box::pin(insert_measure(
            txn,
            region,
            plan_id,
            priority_id,
            Some(id),
            i,
            sub,
        ))
        .await?;
    }
    Ok(id)
}

pub(crate) async fn insert_activity(
    txn: &DatabaseTransaction,
    region: &str,
    measure_id: i64,
    parent_id: Option<i64>,
    position: usize,
    a: &ActivityData,
) -> Result<i64> {
    let am = activity::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        measure_id: Set(measure_id),
        parent_id: Set(parent_id),
        position: Set(position as i32),
        source_line: Set(line(a.line)),
        ..activity_content(a)
    };
    let id = activity::Entity::insert(am).exec(txn).await?.last_insert_id;
    for (i, sub) in a.sub_activities.iter().enumerate() {
        Box::pin(insert_activity(txn, region, measure_id, Some(id), i, sub)).await?;
    }
    Ok(id)
}

pub(crate) async fn insert_provider(
    txn: &DatabaseTransaction,
    region: &str,
    p: &ProviderData,
) -> Result<i64> {
    let now = Utc::now();
    let am = provider::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(now),
        name: Set(p.name.clone()),
        name_key: Set(sort_key(&p.name)),
        ico: Set(p.ico.clone()),
        source_line: Set(line(p.line)),
        fold_name: Set(fold(&p.name)),
        ..Default::default()
    };
    let provider_id = provider::Entity::insert(am).exec(txn).await?.last_insert_id;
    for s in &p.services {
        insert_service(txn, region, provider_id, s).await?;
    }
    Ok(provider_id)
}

pub(crate) async fn insert_service(
    txn: &DatabaseTransaction,
    region: &str,
    provider_id: i64,
    s: &ServiceData,
) -> Result<i64> {
    let am = service::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        provider_id: Set(provider_id),
        source_line: Set(line(s.line)),
        ..service_content(s)
    };
    let service_id = service::Entity::insert(am).exec(txn).await?.last_insert_id;
    insert_capacities(txn, region, Some(service_id), None, &s.capacities).await?;
    Ok(service_id)
}

pub(crate) async fn insert_capacities(
    txn: &DatabaseTransaction,
    region: &str,
    service_id: Option<i64>,
    measure_id: Option<i64>,
    caps: &[Capacity],
) -> Result<()> {
    for (i, c) in caps.iter().enumerate() {
        let am = capacity::ActiveModel {
            region_code: Set(region.to_owned()),
            service_id: Set(service_id),
            measure_id: Set(measure_id),
            position: Set(i as i32),
            form: Set(c.form.map(|f| f.as_str().to_owned())),
            value: Set(c.value),
            unit: Set(c.unit.as_str().to_owned()),
            text: Set(c.text.clone()),
            ..Default::default()
        };
        capacity::Entity::insert(am).exec(txn).await?;
    }
    Ok(())
}
