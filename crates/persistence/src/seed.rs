//! Loading `seeds/` into the database: `regions.yaml` first, then one file
//! per region, each region in one transaction. A file already imported
//! unchanged is skipped, so a second run changes nothing.

use crate::columns::line;
use crate::entity::{audit_entry, kraj, region, seed_import};
use crate::measure::Place;
use crate::{
    Db, Error, Result, activity, dialect, evaluation, measure, plan, priority, provider, service,
};
use chrono::Utc;
use kpss_domain::ValidationError;
use kpss_domain::collation::sort_key;
use kpss_domain::seed::{ActivityData, MeasureData, PlanData, ProviderData, RegionData, Territory};
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
    let txn = db.conn.begin_with_options(dialect::write_options()).await?;
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
            crate::entity::plan::Entity::update_many()
                .col_expr(
                    crate::entity::plan::Column::ParentId,
                    Expr::value(ids[parent]),
                )
                .filter(crate::entity::plan::Column::Id.eq(ids[&p.key]))
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
    use crate::entity::{activity, measure, plan, priority, provider, service};
    archive!(plan, priority, measure, activity, provider, service);
    Ok(())
}

async fn insert_plan(c: &DatabaseTransaction, region: &str, p: &PlanData) -> Result<i64> {
    let plan_id = plan::insert(c, region, &p.draft().parse()?, None, Some(p)).await?;
    plan::insert_projects(c, region, plan_id, p).await?;
    for (i, pr) in p.priorities.iter().enumerate() {
        let priority_id =
            priority::insert(c, region, plan_id, i, &pr.draft().parse()?, line(pr.line)).await?;
        for (j, m) in pr.measures.iter().enumerate() {
            let at = Place {
                region,
                plan_id,
                priority_id,
                parent_id: None,
                position: j,
                line: line(m.line),
            };
            insert_measure(c, at, m).await?;
        }
    }
    Ok(plan_id)
}

async fn insert_measure(c: &DatabaseTransaction, at: Place<'_>, m: &MeasureData) -> Result<i64> {
    let (region, plan_id, priority_id) = (at.region, at.plan_id, at.priority_id);
    let id = measure::insert(c, at, &m.draft().parse()?).await?;
    for e in &m.evaluations {
        evaluation::insert(c, region, id, &e.fields()?, SEED_ACTOR, line(e.line)).await?;
    }
    for (i, a) in m.activities.iter().enumerate() {
        insert_activity(c, region, id, None, i, a).await?;
    }
    for (i, sub) in m.sub_measures.iter().enumerate() {
        let at = Place {
            region,
            plan_id,
            priority_id,
            parent_id: Some(id),
            position: i,
            line: line(sub.line),
        };
        Box::pin(insert_measure(c, at, sub)).await?;
    }
    Ok(id)
}

async fn insert_activity(
    c: &DatabaseTransaction,
    region: &str,
    measure_id: i64,
    parent_id: Option<i64>,
    position: usize,
    a: &ActivityData,
) -> Result<()> {
    let id = activity::insert(
        c,
        region,
        measure_id,
        parent_id,
        position,
        &a.draft().parse()?,
        line(a.line),
    )
    .await?;
    for (i, sub) in a.sub_activities.iter().enumerate() {
        Box::pin(insert_activity(c, region, measure_id, Some(id), i, sub)).await?;
    }
    Ok(())
}

async fn insert_provider(c: &DatabaseTransaction, region: &str, p: &ProviderData) -> Result<()> {
    let provider_id = provider::insert(c, region, &p.fields()?, line(p.line)).await?;
    for s in &p.services {
        service::insert(c, region, provider_id, &s.draft().parse()?, line(s.line)).await?;
    }
    Ok(())
}
