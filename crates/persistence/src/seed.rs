//! Loading `seeds/` into the database: `regions.yaml` first, then one file
//! per region, each region in one transaction. A file already imported
//! unchanged is skipped, so a second run changes nothing.

use crate::entity::{audit_entry, kraj, region, seed_import};
use crate::measure::Place;
use crate::{
    Db, Error, Result, activity, dialect, evaluation, measure, plan, priority, provider, service,
};
use chrono::Utc;
use kpss_domain::ValidationError;
use kpss_domain::collation::sort_key;
use kpss_domain::seed::{
    ActivityData, CapacityData, MeasureData, PlanData, ProviderData, RegionData, Territory,
};
use kpss_domain::service::Capacity;
use kpss_domain::source::{SourceData, SourceRef};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

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
        let documents = Documents::read(files, &data)?;
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
struct Documents(std::collections::BTreeMap<String, String>);

impl Documents {
    fn read(files: &SeedFiles, data: &RegionData) -> Result<Self> {
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
        Ok(Self(docs))
    }

    /// A record's provenance in `document` (its plan's or provider's), `field` naming it.
    fn source(
        &self,
        document: Option<&str>,
        data: Option<&SourceData>,
        field: &str,
    ) -> Result<Option<SourceRef>> {
        let Some(data) = data else {
            return Ok(None);
        };
        let Some(doc) = document else {
            return Err(Error::Invalid(ValidationError::new(
                format!("{field}.source"),
                "a source needs the source_document of its plan or provider",
            )));
        };
        let content = self.0.get(doc).map(String::as_str).unwrap_or_default();
        Ok(Some(
            data.resolve(doc, content)
                .map_err(|e| Error::Invalid(e.under(field)))?,
        ))
    }
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
    for (i, p) in data.plans.iter().enumerate() {
        let id = insert_plan(&txn, &code, p, docs, &format!("plans[{i}]")).await?;
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
        insert_provider(&txn, &code, p, docs, &format!("providers[{i}]")).await?;
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

/// Where a record goes and where its document is: the region, the document
/// of its plan or provider, and the path of the record in the seed file.
struct At<'a> {
    region: &'a str,
    docs: &'a Documents,
    document: Option<&'a str>,
}

impl At<'_> {
    fn source(&self, data: Option<&SourceData>, field: &str) -> Result<Option<SourceRef>> {
        self.docs.source(self.document, data, field)
    }
}

/// A validation error of a record, named by its path in the seed file.
fn under<T>(r: kpss_domain::ValidationResult<T>, field: &str) -> Result<T> {
    r.map_err(|e| Error::Invalid(e.under(field)))
}

async fn insert_plan(
    c: &DatabaseTransaction,
    region: &str,
    p: &PlanData,
    docs: &Documents,
    field: &str,
) -> Result<i64> {
    let at = At {
        region,
        docs,
        document: p.source_document.as_deref(),
    };
    let source = at.source(p.source.as_ref(), field)?;
    let fields = under(p.draft().parse(), field)?;
    let plan_id = plan::insert(c, region, &fields, None, Some((p, source.as_ref()))).await?;
    for (i, pr) in p.projects.iter().enumerate() {
        let f = format!("{field}.projects[{i}]");
        let source = at.source(pr.source.as_ref(), &f)?;
        plan::insert_project(c, region, plan_id, i, pr, source.as_ref()).await?;
    }
    for (i, pr) in p.priorities.iter().enumerate() {
        let f = format!("{field}.priorities[{i}]");
        let source = at.source(pr.source.as_ref(), &f)?;
        let fields = under(pr.draft().parse(), &f)?;
        let priority_id = priority::insert(c, region, plan_id, i, &fields, source.as_ref()).await?;
        for (j, m) in pr.measures.iter().enumerate() {
            let parent = Parent {
                plan_id,
                priority_id,
                measure_id: None,
            };
            insert_measure(c, &at, parent, j, m, &format!("{f}.measures[{j}]")).await?;
        }
    }
    Ok(plan_id)
}

/// What a measure hangs under.
#[derive(Clone, Copy)]
struct Parent {
    plan_id: i64,
    priority_id: i64,
    measure_id: Option<i64>,
}

/// The capacities of a seed record with their sources.
fn capacities(at: &At<'_>, list: &[CapacityData], field: &str) -> Result<Vec<Capacity>> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let f = format!("{field}[{i}]");
            Ok(c.capacity(at.source(c.source.as_ref(), &f)?))
        })
        .collect()
}

async fn insert_measure(
    c: &DatabaseTransaction,
    at: &At<'_>,
    parent: Parent,
    position: usize,
    m: &MeasureData,
    field: &str,
) -> Result<i64> {
    let source = at.source(m.source.as_ref(), field)?;
    let mut fields = under(m.draft().parse(), field)?;
    fields.planned_capacities = capacities(
        at,
        &m.planned_capacities,
        &format!("{field}.planned_capacities"),
    )?;
    let place = Place {
        region: at.region,
        plan_id: parent.plan_id,
        priority_id: parent.priority_id,
        parent_id: parent.measure_id,
        position,
        source: source.as_ref(),
    };
    let id = measure::insert(c, place, &fields).await?;
    for (i, e) in m.evaluations.iter().enumerate() {
        let f = format!("{field}.evaluations[{i}]");
        let source = at.source(e.source.as_ref(), &f)?;
        let fields = under(e.fields(), &f)?;
        evaluation::insert(c, at.region, id, &fields, SEED_ACTOR, source.as_ref()).await?;
    }
    for (i, a) in m.activities.iter().enumerate() {
        insert_activity(c, at, id, None, i, a, &format!("{field}.activities[{i}]")).await?;
    }
    for (i, sub) in m.sub_measures.iter().enumerate() {
        let parent = Parent {
            measure_id: Some(id),
            ..parent
        };
        let f = format!("{field}.sub_measures[{i}]");
        Box::pin(insert_measure(c, at, parent, i, sub, &f)).await?;
    }
    Ok(id)
}

async fn insert_activity(
    c: &DatabaseTransaction,
    at: &At<'_>,
    measure_id: i64,
    parent_id: Option<i64>,
    position: usize,
    a: &ActivityData,
    field: &str,
) -> Result<()> {
    let source = at.source(a.source.as_ref(), field)?;
    let fields = under(a.draft().parse(), field)?;
    let id = activity::insert(
        c,
        at.region,
        measure_id,
        parent_id,
        position,
        &fields,
        source.as_ref(),
    )
    .await?;
    for (i, sub) in a.sub_activities.iter().enumerate() {
        let f = format!("{field}.sub_activities[{i}]");
        Box::pin(insert_activity(c, at, measure_id, Some(id), i, sub, &f)).await?;
    }
    Ok(())
}

async fn insert_provider(
    c: &DatabaseTransaction,
    region: &str,
    p: &ProviderData,
    docs: &Documents,
    field: &str,
) -> Result<()> {
    let at = At {
        region,
        docs,
        document: p.source_document.as_deref(),
    };
    let source = at.source(p.source.as_ref(), field)?;
    let fields = under(p.fields(), field)?;
    let provider_id = provider::insert(c, region, &fields, source.as_ref()).await?;
    for (i, s) in p.services.iter().enumerate() {
        let f = format!("{field}.services[{i}]");
        let source = at.source(s.source.as_ref(), &f)?;
        let mut fields = under(s.draft().parse(), &f)?;
        fields.capacities = capacities(&at, &s.capacities, &format!("{f}.capacities"))?;
        service::insert(c, region, provider_id, &fields, source.as_ref()).await?;
    }
    Ok(())
}
