//! Providers of social services.

use crate::entity::provider;
use crate::page::{Connection, Page, contains, page, scoped};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::collation::sort_key;
use kpss_domain::kind::AuditAction;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::ProviderData;
use kpss_domain::seed::seed_provenance;
use kpss_domain::service::Provider;
use kpss_domain::service::{ProviderFields, ProviderForCreate, ProviderPatch};
use kpss_domain::source::Provenance;
use kpss_domain::text::fold;
use sea_orm::ConnectionTrait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
};

impl Stored for provider::Entity {
    type Record = Provider;
    const ID: provider::Column = provider::Column::Id;
    const REGION: provider::Column = provider::Column::RegionCode;
    /// Providers come in Czech order of their names.
    const ORDER: provider::Column = provider::Column::NameKey;

    fn record(m: provider::Model) -> Result<Provider> {
        Ok(Provider {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            name: m.name,
            ico: m.ico.clone(),
            source: source!(m),
            archived: m.archived,
            version: m.version,
        })
    }
}

impl Editable for provider::Entity {
    const KIND: EntityKind = EntityKind::Provider;
    const VERSION: provider::Column = provider::Column::Version;
    const UPDATED_AT: provider::Column = provider::Column::UpdatedAt;
    const ARCHIVED: provider::Column = provider::Column::Archived;
    type State = Provider;

    async fn state(_c: &DatabaseTransaction, m: provider::Model) -> Result<Provider> {
        Self::record(m)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProviderQuery {
    pub regions: Option<Grant>,
    pub name: Option<String>,
}

pub async fn list(s: &Scoped, q: &ProviderQuery, p: Page) -> Result<Connection<Provider>> {
    let mut cond = scoped(s.ctx(), q.regions.as_ref(), provider::Column::RegionCode)
        .add(provider::Column::Archived.eq(false));
    if let Some(n) = &q.name {
        cond = cond.add(contains(provider::Column::FoldName, n));
    }
    let query = provider::Entity::readable(s).filter(cond);
    page(
        s,
        query,
        Some(provider::Column::NameKey),
        provider::Column::Id,
        p,
        provider::Entity::record,
    )
    .await
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Provider>> {
    read::by_ids::<provider::Entity>(s, ids).await
}

/// Current providers of regions, in Czech order of their names.
pub async fn of_regions(s: &Scoped, regions: &[RegionCode]) -> Result<Vec<Provider>> {
    let of_regions = s
        .db()
        .dialect()
        .in_regions(provider::Column::RegionCode, regions);
    let cond = Condition::all()
        .add(of_regions)
        .add(provider::Column::Archived.eq(false));
    read::select_where::<provider::Entity>(s, cond).await
}

/// The columns a provider's content sets.
fn content(f: &ProviderFields) -> provider::ActiveModel {
    let name = f.name.as_str();
    provider::ActiveModel {
        name: Set(name.to_owned()),
        name_key: Set(sort_key(name)),
        ico: Set(f.ico.clone()),
        fold_name: Set(fold(name)),
        ..Default::default()
    }
}

pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    f: &ProviderFields,
    source: Option<&Provenance>,
) -> Result<i64> {
    let mut am = provider::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        ..content(f)
    };
    set_source!(am, source);
    Ok(provider::Entity::insert(am).exec(c).await?.last_insert_id)
}

impl Create<provider::Entity> for ProviderForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        stored::region_for_create(s, c, &self.region).await?;
        insert(c, self.region.as_str(), &self.fields, None).await
    }
}

pub async fn create(s: &Scoped, cmd: &ProviderForCreate) -> Result<Provider> {
    stored::create::<provider::Entity>(s, cmd).await
}

impl Change<provider::Entity> for ProviderPatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        _s: &Scoped,
        _c: &DatabaseTransaction,
        current: &provider::Model,
        _before: &Provider,
    ) -> Result<provider::ActiveModel> {
        let fields = self
            .clone()
            .apply(current.name.clone(), current.ico.clone())
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        Ok(content(&fields))
    }
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &ProviderPatch) -> Result<Provider> {
    stored::update::<provider::Entity>(s, id, expected, patch).await
}

/// Archives a provider; its services stay as they are (they name their provider).
pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Provider> {
    stored::update::<provider::Entity>(s, id, expected, &Archive(archived)).await
}

impl Searchable for provider::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Provider;

    async fn docs_of<C: ConnectionTrait>(_c: &C, rows: Vec<provider::Model>) -> Result<Vec<Doc>> {
        Ok(rows
            .into_iter()
            .map(|p| {
                let mut d = Doc::new(Self::ENTRY_KIND, p.id, p.region_code, p.archived, p.name)
                    .with([p.ico]);
                d.provider_id = Some(p.id);
                d
            })
            .collect())
    }
}

/// Imports a seed file's provider with its services.
pub(crate) async fn import(at: &At<'_>, p: &ProviderData, field: &str) -> Result<()> {
    let source = at.source(p.provenance(), field)?;
    let fields = under(p.fields(), field)?;
    let provider_id = insert(at.c, at.region, &fields, source.as_ref()).await?;
    for (i, s) in p.services.iter().enumerate() {
        let f = format!("{field}.services[{i}]");
        crate::service::import(at, provider_id, s, &f).await?;
    }
    Ok(())
}

/// A provider in the seed format, with its services.
pub(crate) fn export(p: &provider::Model, rows: &Rows) -> Result<ProviderData> {
    let (source, sources, reading) = seed_provenance(source!(p).as_ref());
    Ok(ProviderData {
        name: p.name.clone(),
        ico: p.ico.clone(),
        source_document: p.source_document.clone(),
        source,
        sources,
        reading,
        services: rows
            .services
            .iter()
            .filter(|s| s.provider_id == p.id)
            .map(|s| crate::service::export(s, rows))
            .collect::<Result<_>>()?,
    })
}
