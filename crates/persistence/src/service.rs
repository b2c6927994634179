//! Social services of providers and their capacities (a service's own, or
//! those a measure plans).

use crate::columns::parse;
use crate::decode::Decoded;
use crate::decode::{Cells, Decode};
use crate::entity::{capacity, provider, service};
use crate::page::{Connection, Page, contains, page, scoped};
use crate::read::{self, Stored};
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable, capacity_texts};
use crate::stored::{self, Archive, Change, Create, Editable};
use crate::transfer::{At, Rows, in_order, under};
use crate::{Error, Result};
use chrono::Utc;
use kpss_domain::EntityKind;
use kpss_domain::access::Grant;
use kpss_domain::kind::AuditAction;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::{CapacityData, ServiceData, seed_provenance};
use kpss_domain::service::{
    Capacity, CapacityUnit, ServiceDraft, ServiceFields, ServiceForCreate, ServiceForm,
    ServicePatch, ServiceType,
};
use kpss_domain::service::{OwnedCapacity, Service};
use kpss_domain::source::Provenance;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IdenStatic,
    Iterable, QueryFilter, QueryOrder, QueryTrait, Select,
};
use serde::Serialize;

impl Stored for service::Entity {
    type Record = Service;
    const ID: service::Column = service::Column::Id;
    const REGION: service::Column = service::Column::RegionCode;
    const ORDER: service::Column = service::Column::Id;

    fn record(m: service::Model) -> Result<Service> {
        Ok(Service {
            id: m.id,
            region: RegionCode::parse("region", &m.region_code)?,
            provider_id: m.provider_id,
            service_type: parse(&m.service_type)?,
            name: m.name,
            scope: m.scope.clone(),
            source: source!(m),
            archived: m.archived,
            version: m.version,
        })
    }
}

/// A service with its capacities, as the audit log shows it.
#[derive(Serialize)]
pub(crate) struct ServiceState {
    #[serde(flatten)]
    pub service: Service,
    pub capacities: Vec<Capacity>,
}

impl ServiceState {
    fn of(m: &service::Model, capacities: Vec<Capacity>) -> Result<Self> {
        let service = service::Entity::record(m.clone())?;
        Ok(Self {
            service,
            capacities,
        })
    }
}

impl Editable for service::Entity {
    const KIND: EntityKind = EntityKind::Service;
    const VERSION: service::Column = service::Column::Version;
    const UPDATED_AT: service::Column = service::Column::UpdatedAt;
    const ARCHIVED: service::Column = service::Column::Archived;
    type State = ServiceState;

    async fn with_state(
        c: &DatabaseTransaction,
        select: Select<Self>,
    ) -> Result<Option<(service::Model, ServiceState)>> {
        let owner = (capacity::Column::ServiceId, service::Column::Id);
        with_capacities(c, select, owner, ServiceState::of).await
    }

    async fn state(c: &DatabaseTransaction, m: service::Model) -> Result<ServiceState> {
        let capacities = capacities_of(c, capacity::Column::ServiceId, m.id).await?;
        ServiceState::of(&m, capacities)
    }

    fn with_owned_of(
        before: &ServiceState,
        updated: &service::Model,
    ) -> Option<Result<ServiceState>> {
        Some(ServiceState::of(updated, before.capacities.clone()))
    }

    fn doc_of_state(s: service::Model, state: &ServiceState) -> Option<Result<Doc>> {
        Some(doc(s, texts(&state.capacities)))
    }
}

// ---------------------------------------------------------------- capacities

pub(crate) fn to_capacity(c: &capacity::Model) -> Result<Capacity> {
    Ok(Capacity {
        form: c.form.as_deref().map(parse).transpose()?,
        value: c.value,
        at_least: c.at_least,
        unit: parse(&c.unit)?,
        text: c.text.clone(),
        network_shares: serde_json::from_str(&c.network_shares)
            .map_err(|e| Error::Data(format!("stored network shares are not JSON: {e}")))?,
        source: source!(c),
    })
}

/// The capacities of one measure or service (`owner` names which), in order.
pub(crate) async fn capacities_of(
    c: &DatabaseTransaction,
    owner: capacity::Column,
    id: i64,
) -> Result<Vec<Capacity>> {
    let rows = capacity::Entity::find()
        .filter(owner.eq(id))
        .order_by_asc(capacity::Column::Position)
        .into_model::<Decoded<capacity::Model>>()
        .all(c)
        .await?;
    rows.iter().map(|Decoded(m)| to_capacity(m)).collect()
}

/// The row `select` finds (one) with its state, made by `state` from the
/// row and its capacities (those whose `owner.0` is the row's `owner.1`),
/// in order: one statement, a left join with a result row per capacity.
pub(crate) async fn with_capacities<E: Stored, S>(
    c: &DatabaseTransaction,
    select: Select<E>,
    owner: (capacity::Column, E::Column),
    state: impl FnOnce(&E::Model, Vec<Capacity>) -> Result<S>,
) -> Result<Option<(E::Model, S)>> {
    let mut q = select.into_query();
    q.join(
        JoinType::LeftJoin,
        capacity::Entity,
        Expr::col((capacity::Entity, owner.0)).equals((E::default(), owner.1)),
    );
    for column in capacity::Column::iter() {
        q.expr_as(
            Expr::col((capacity::Entity, column)),
            Alias::new(column.as_str()),
        );
    }
    q.order_by((capacity::Entity, capacity::Column::Position), Order::Asc);
    let rows = c.query_all(&q).await?;
    let columns = E::Column::iter().count();
    let mut found = None;
    let mut capacities = Vec::new();
    for row in &rows {
        let mut cells = Cells::new(row);
        if found.is_none() {
            found = Some(E::Model::take(&mut cells)?);
        } else {
            cells.skip(columns);
        }
        if !cells.next_is_null("id")? {
            capacities.push(to_capacity(&capacity::Model::take(&mut cells)?)?);
        }
    }
    let Some(m) = found else { return Ok(None) };
    let state = state(&m, capacities)?;
    Ok(Some((m, state)))
}

/// Readable capacities of the measures or services `ids`, in order.
pub(crate) async fn owned_capacities(
    s: &Scoped,
    owner: capacity::Column,
    ids: &[i64],
) -> Result<Vec<OwnedCapacity>> {
    let cond =
        scoped(s.ctx(), None, capacity::Column::RegionCode).add(owner.is_in(ids.iter().copied()));
    let c = s.reader().await?;
    let rows = capacity::Entity::find()
        .filter(cond)
        .order_by_asc(capacity::Column::Position)
        .into_model::<Decoded<capacity::Model>>()
        .all(&c)
        .await?;
    rows.iter()
        .map(|Decoded(m)| {
            let owner_id = if matches!(owner, capacity::Column::MeasureId) {
                m.measure_id
            } else {
                m.service_id
            };
            Ok(OwnedCapacity {
                owner_id: owner_id
                    .ok_or_else(|| Error::Data(format!("capacity {} has no owner", m.id)))?,
                capacity: to_capacity(m)?,
            })
        })
        .collect()
}

/// Replaces the capacities of one measure or service: they are part of its
/// content (derived rows, so the old ones live on in the audit entry).
pub(crate) async fn replace_capacities(
    c: &DatabaseTransaction,
    region: &str,
    owner: capacity::Column,
    id: i64,
    caps: &[Capacity],
) -> Result<()> {
    capacity::Entity::delete_many()
        .filter(owner.eq(id))
        .exec(c)
        .await?;
    for (i, cap) in caps.iter().enumerate() {
        let mut am = capacity::ActiveModel {
            region_code: Set(region.to_owned()),
            service_id: Set(None),
            measure_id: Set(None),
            position: Set(i as i32),
            form: Set(cap.form.map(|f| f.as_str().to_owned())),
            value: Set(cap.value),
            at_least: Set(cap.at_least),
            unit: Set(cap.unit.as_str().to_owned()),
            text: Set(cap.text.clone()),
            network_shares: Set(serde_json::to_string(&cap.network_shares)
                .map_err(|e| Error::Data(format!("cannot encode network shares: {e}")))?),
            ..Default::default()
        };
        set_source!(am, cap.source.as_ref());
        sea_orm::ActiveModelTrait::set(&mut am, owner, Some(id).into());
        capacity::Entity::insert(am).exec(c).await?;
    }
    Ok(())
}

pub async fn capacities(s: &Scoped, service_ids: &[i64]) -> Result<Vec<OwnedCapacity>> {
    owned_capacities(s, capacity::Column::ServiceId, service_ids).await
}

// ---------------------------------------------------------------- reads

#[derive(Debug, Clone, Default)]
pub struct ServiceQuery {
    pub regions: Option<Grant>,
    pub service_types: Option<Vec<ServiceType>>,
    pub forms: Option<Vec<ServiceForm>>,
    pub units: Option<Vec<CapacityUnit>>,
    pub provider_name: Option<String>,
}

/// The condition on `service` rows for a service filter (shared with the capacity summary).
pub(crate) fn condition(s: &Scoped, q: &ServiceQuery) -> Condition {
    let mut cond = scoped(s.ctx(), q.regions.as_ref(), service::Column::RegionCode)
        .add(service::Column::Archived.eq(false));
    if let Some(types) = &q.service_types {
        cond = cond.add(service::Column::ServiceType.is_in(types.iter().map(|t| t.as_str())));
    }
    if let Some(name) = &q.provider_name {
        let providers = Query::select()
            .column(provider::Column::Id)
            .from(provider::Entity)
            .and_where(contains(provider::Column::FoldName, name))
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

pub async fn list(s: &Scoped, q: &ServiceQuery, p: Page) -> Result<Connection<Service>> {
    page(
        s,
        service::Entity::readable(s).filter(condition(s, q)),
        None,
        service::Column::Id,
        p,
        service::Entity::record,
    )
    .await
}

pub async fn by_ids(s: &Scoped, ids: &[i64]) -> Result<Vec<Service>> {
    read::by_ids::<service::Entity>(s, ids).await
}

/// Current services of providers.
pub async fn of_providers(s: &Scoped, provider_ids: &[i64]) -> Result<Vec<Service>> {
    let cond = Condition::all().add(service::Column::Archived.eq(false));
    read::children::<service::Entity>(s, service::Column::ProviderId, provider_ids, cond).await
}

// ---------------------------------------------------------------- writes

fn content(f: &ServiceFields) -> service::ActiveModel {
    service::ActiveModel {
        service_type: Set(f.service_type.as_str().to_owned()),
        name: Set(f.name.clone()),
        scope: Set(f.scope.clone()),
        ..Default::default()
    }
}

pub(crate) async fn insert(
    c: &DatabaseTransaction,
    region: &str,
    provider_id: i64,
    f: &ServiceFields,
    source: Option<&Provenance>,
) -> Result<i64> {
    let mut am = service::ActiveModel {
        region_code: Set(region.to_owned()),
        version: Set(1),
        archived: Set(false),
        updated_at: Set(Utc::now()),
        provider_id: Set(provider_id),
        ..content(f)
    };
    set_source!(am, source);
    let id = service::Entity::insert(am).exec(c).await?.last_insert_id;
    replace_capacities(c, region, capacity::Column::ServiceId, id, &f.capacities).await?;
    Ok(id)
}

impl Create<service::Entity> for ServiceForCreate {
    async fn insert(&self, s: &Scoped, c: &DatabaseTransaction) -> Result<i64> {
        let p = stored::parent::<provider::Entity>(s, c, self.provider_id, "provider_id").await?;
        insert(c, &p.region_code, self.provider_id, &self.fields, None).await
    }
}

/// The service's content from its row and its capacities, not validated
/// again (see [`ServicePatch::apply`]).
fn draft_with(m: &service::Model, capacities: Vec<Capacity>) -> Result<ServiceDraft> {
    Ok(ServiceDraft {
        service_type: parse(&m.service_type)?,
        name: m.name.clone(),
        scope: m.scope.clone(),
        capacities,
    })
}

impl Change<service::Entity> for ServicePatch {
    fn action(&self) -> AuditAction {
        AuditAction::Updated
    }

    async fn columns(
        &self,
        _s: &Scoped,
        _c: &DatabaseTransaction,
        current: &service::Model,
        before: &ServiceState,
    ) -> Result<service::ActiveModel> {
        let fields = self
            .clone()
            .apply(draft_with(current, before.capacities.clone())?)
            .map_err(|e| Error::Invalid(e.under("patch")))?;
        Ok(content(&fields))
    }

    async fn rewrite_owned(
        &self,
        c: &DatabaseTransaction,
        current: &service::Model,
    ) -> Result<bool> {
        if let kpss_domain::patch::Patch::Keep = self.capacities {
            return Ok(false);
        }
        let caps = self.capacities.clone().optional(None).unwrap_or_default();
        let caps = kpss_domain::service::capacities("patch.capacities", caps)?;
        replace_capacities(
            c,
            &current.region_code,
            capacity::Column::ServiceId,
            current.id,
            &caps,
        )
        .await?;
        Ok(true)
    }
}

pub async fn create(s: &Scoped, cmd: &ServiceForCreate) -> Result<Service> {
    Ok(stored::create::<service::Entity>(s, cmd).await?.service)
}

pub async fn update(s: &Scoped, id: i64, expected: i32, patch: &ServicePatch) -> Result<Service> {
    Ok(stored::update::<service::Entity>(s, id, expected, patch)
        .await?
        .service)
}

pub async fn set_archived(s: &Scoped, id: i64, expected: i32, archived: bool) -> Result<Service> {
    stored::update::<service::Entity>(s, id, expected, &Archive(archived))
        .await
        .map(|st| st.service)
}

/// A service is found by its name, or else by its legal type's name.
impl Searchable for service::Entity {
    const ENTRY_KIND: EntityKind = EntityKind::Service;

    async fn docs_of<C: ConnectionTrait>(c: &C, rows: Vec<service::Model>) -> Result<Vec<Doc>> {
        let ids = rows.iter().map(|s| s.id).collect();
        let mut caps = capacity_texts(c, capacity::Column::ServiceId, ids).await?;
        rows.into_iter()
            .map(|s| {
                let texts = caps.remove(&s.id).unwrap_or_default();
                doc(s, texts)
            })
            .collect()
    }
}

/// A service's search document, with the texts of its capacities.
fn doc(s: service::Model, capacity_texts: Vec<Option<String>>) -> Result<Doc> {
    let legal = parse::<ServiceType>(&s.service_type)?.name().to_owned();
    let title = s.name.clone().unwrap_or_else(|| legal.clone());
    let mut d = Doc::new(EntityKind::Service, s.id, s.region_code, s.archived, title)
        .with([Some(legal), s.scope])
        .with(capacity_texts);
    d.provider_id = Some(s.provider_id);
    Ok(d)
}

/// The texts of `capacities`, as their search documents show them.
pub(crate) fn texts(capacities: &[Capacity]) -> Vec<Option<String>> {
    capacities.iter().map(|c| c.text.clone()).collect()
}

/// Imports a seed file's service with its capacities.
pub(crate) async fn import(
    at: &At<'_>,
    provider_id: i64,
    s: &ServiceData,
    field: &str,
) -> Result<()> {
    let source = at.source(s.provenance(), field)?;
    let mut fields = under(s.draft().parse(), field)?;
    fields.capacities = at.capacities(&s.capacities, &format!("{field}.capacities"))?;
    insert(at.c, at.region, provider_id, &fields, source.as_ref()).await?;
    Ok(())
}

/// A service in the seed format, with its capacities.
pub(crate) fn export(s: &service::Model, rows: &Rows) -> Result<ServiceData> {
    let (source, sources, reading) = seed_provenance(source!(s).as_ref());
    Ok(ServiceData {
        service_type: parse(&s.service_type)?,
        name: s.name.clone(),
        scope: s.scope.clone(),
        source,
        sources,
        reading,
        capacities: exported_capacities(rows, |c| c.service_id == Some(s.id))?,
    })
}

/// The capacities `owned` picks, in the seed format and document order.
pub(crate) fn exported_capacities(
    rows: &Rows,
    owned: impl Fn(&capacity::Model) -> bool,
) -> Result<Vec<CapacityData>> {
    in_order(&rows.capacities, owned, |c| c.position)
        .into_iter()
        .map(|m| Ok(CapacityData::of(&to_capacity(m)?)))
        .collect()
}
