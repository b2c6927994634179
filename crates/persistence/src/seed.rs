//! Loading `seeds/` into the database: `regions.yaml` first, then one file
//! per region, each region in one transaction. A file already imported
//! unchanged is skipped, so a second run changes nothing.

use crate::entity::{audit_entry, kraj, region, seed_import};
use crate::transfer::{At, Documents};
use crate::{Db, Error, Result, dialect, plan, provider};
use chrono::Utc;
use kpss_domain::ValidationError;
use kpss_domain::collation::sort_key;
use kpss_domain::seed::{RegionData, Territory};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub use crate::transfer::SEED_ACTOR;

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
    Error::Seed(format!("{}: {}: {}", path.display(), e.field, e.message()))
}

/// The seed files, by their path under the seed folder: `regions.yaml`, one
/// YAML file per region, and the source documents under `sources/`.
pub enum SeedFiles {
    /// A folder on disk (`--seeds`).
    Dir(PathBuf),
    /// Files built into the binary.
    BuiltIn(&'static [(&'static str, &'static str)]),
}

impl SeedFiles {
    fn read(&self, rel: &str) -> Result<String> {
        match self {
            Self::Dir(dir) => read(&dir.join(rel)),
            Self::BuiltIn(files) => files
                .iter()
                .find(|(name, _)| *name == rel)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| Error::Seed(format!("{}: not built in", self.path(rel).display()))),
        }
    }

    /// The region files: every top-level `.yaml` but `regions.yaml`, in order.
    fn region_files(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = match self {
            Self::Dir(dir) => std::fs::read_dir(dir)
                .map_err(|e| Error::Seed(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect(),
            Self::BuiltIn(files) => files.iter().map(|(name, _)| (*name).to_owned()).collect(),
        };
        names.retain(|n| n.ends_with(".yaml") && !n.contains('/') && n != "regions.yaml");
        names.sort();
        Ok(names)
    }

    /// The path errors name.
    fn path(&self, rel: &str) -> PathBuf {
        match self {
            Self::Dir(dir) => dir.join(rel),
            Self::BuiltIn(_) => Path::new("seeds").join(rel),
        }
    }
}

/// Loads every seed file. With `replace`, a region whose data was changed
/// through the API is re-imported (its records archived, not deleted);
/// without it, such a region is refused.
pub async fn load(db: &Db, files: &SeedFiles, replace: bool) -> Result<Vec<Outcome>> {
    let territory_path = files.path("regions.yaml");
    let text = files.read("regions.yaml")?;
    let territory = parse::<Territory>(&territory_path, &text)?
        .normalized()
        .map_err(|e| invalid(&territory_path, e))?;
    upsert_territory(db, &territory).await?;

    let mut outcomes = Vec::new();
    for name in files.region_files()? {
        let path = files.path(&name);
        let text = files.read(&name)?;
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
        let documents = documents(files, &data)?;
        // A changed source document is a changed seed too.
        let mut hash = Sha256::new();
        hash.update(text.as_bytes());
        for content in documents.0.values() {
            hash.update(content.as_bytes());
        }
        let digest = format!("{:x}", hash.finalize());
        outcomes.push(
            import_region(db, &data, &documents, &digest, replace)
                .await
                .map_err(|e| match e {
                    Error::Seed(m) => Error::Seed(format!("{}: {m}", path.display())),
                    Error::Invalid(v) => invalid(&path, v),
                    other => other,
                })?,
        );
    }
    Ok(outcomes)
}

/// The source documents a region file names, from `seeds/sources/`.
fn documents(files: &SeedFiles, data: &RegionData) -> Result<Documents> {
    let names = data
        .plans
        .iter()
        .map(|p| &p.source_document)
        .chain(data.providers.iter().map(|p| &p.source_document))
        .flatten();
    let mut docs = std::collections::BTreeMap::new();
    for name in names {
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::Seed(format!(
                "`{name}` is not a file name in sources/"
            )));
        }
        if !docs.contains_key(name) {
            docs.insert(name.clone(), files.read(&format!("sources/{name}"))?);
        }
    }
    Ok(Documents(docs))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Seed(format!("{}: {e}", path.display())))
}

async fn upsert_territory(db: &Db, t: &Territory) -> Result<()> {
    let txn = db.conn().begin().await?;
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
        // Names and kraje show in answers of the region's readers.
        crate::version::bump(&txn, r.code.as_str()).await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn import_region(
    db: &Db,
    data: &RegionData,
    docs: &Documents,
    digest: &str,
    replace: bool,
) -> Result<Outcome> {
    let code = data.region.to_string();
    let _turn = db.writer_turn().await;
    let txn = db
        .conn()
        .begin_with_options(dialect::write_options())
        .await?;
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

    let at = At {
        c: &txn,
        region: &code,
        docs,
        document: None,
    };
    let mut ids = std::collections::HashMap::new();
    for (i, p) in data.plans.iter().enumerate() {
        let at = At {
            document: p.source_document.as_deref(),
            ..at
        };
        let id = plan::import(&at, p, &format!("plans[{i}]")).await?;
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
    for (i, p) in data.providers.iter().enumerate() {
        let at = At {
            document: p.source_document.as_deref(),
            ..at
        };
        provider::import(&at, p, &format!("providers[{i}]")).await?;
    }
    crate::search::reindex_region(&txn, &code).await?;
    crate::version::bump(&txn, &code).await?;
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
