//! Social services, their capacities and the legal classification.

use super::common::{self, children, grant, invalid, patch, related, scoped};
use super::nodes::{Provider, ProviderById, Service};
use super::page::{page, page_info, total};
use super::records::Records;
use super::region::{Region, region_of};
use super::source::{SourceOf, SourceRef, reading, source, source_read, sources};
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use kpss_domain::EntityKind;
use kpss_domain::patch::Patch;
use kpss_domain::service as svc;
use kpss_domain::service::{Capacity as CapacityData, ServiceDraft, ServiceForCreate};
use kpss_persistence::service;

children!(
    CapacitiesOf,
    Capacity,
    service::capacities,
    |c: &kpss_domain::service::OwnedCapacity| c.owner_id
);

connection!(ServiceConnection, Service);

versioned!(Service, service, svc::ServicePatch);

#[Object]
impl Service {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn provider(&self, ctx: &Context<'_>) -> Result<Provider> {
        related(ctx, ProviderById(self.0.provider_id)).await
    }

    async fn service_type(&self) -> enums::ServiceType {
        self.0.service_type.into()
    }

    async fn service_type_info(&self) -> ServiceTypeInfo {
        ServiceTypeInfo(self.0.service_type)
    }

    /// The source's own name of the service.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn capacities(&self, ctx: &Context<'_>) -> Result<Records<Capacity>> {
        children(ctx, CapacitiesOf(self.0.id)).await
    }

    /// Area the capacity is stated for, e.g. "v Plz. kraji", "pro celé území působnosti".
    async fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }

    /// The lines that state the service; null for one created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Service, self.0.id)
    }

    /// Every range of lines that states the service's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Service, self.0.id)),
        )
    }

    /// What was read and why, where the service rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.source)
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Clone)]
pub struct Capacity(pub svc::OwnedCapacity);

#[Object]
impl Capacity {
    /// null when the source does not say
    async fn form(&self) -> Option<enums::ServiceForm> {
        self.0.capacity.form.map(Into::into)
    }

    async fn value(&self) -> i32 {
        self.0.capacity.value
    }

    /// `value` is a lower bound the document states ("minimálně 50 lůžek"), not an exact figure.
    async fn at_least(&self) -> bool {
        self.0.capacity.at_least
    }

    async fn unit(&self) -> enums::CapacityUnit {
        self.0.capacity.unit.into()
    }

    /// The capacity as the source writes it.
    async fn text(&self) -> Option<&str> {
        self.0.capacity.text.as_deref()
    }

    /// The parts of this capacity the document places in the kraj's základní / rozvojová síť
    /// (shares of it, not capacities of their own: totals count the capacity once).
    async fn network_shares(&self) -> Vec<NetworkShare> {
        self.0
            .capacity
            .network_shares
            .iter()
            .map(|s| NetworkShare {
                network: s.network.into(),
                value: s.value,
            })
            .collect()
    }

    /// The lines that state the capacity; null for one sent through the API.
    async fn source(&self) -> Option<SourceRef> {
        source_read(&self.0.capacity.source)
    }

    /// Every range of lines that states the capacity's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(&self.0.capacity.source, None)
    }

    /// What was read and why, where the capacity rests on a reading of an ambiguous layout.
    async fn reading(&self) -> Option<&str> {
        reading(&self.0.capacity.source)
    }
}

/// The part of a capacity in one network of the kraj.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "NetworkShareInput")]
pub struct NetworkShare {
    network: enums::Network,
    value: i32,
}

pub struct ServiceTypeInfo(pub svc::ServiceType);

#[Object]
impl ServiceTypeInfo {
    async fn code(&self) -> enums::ServiceType {
        self.0.into()
    }

    /// Official Czech name.
    async fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Paragraph of the Act, e.g. "40" or "60a".
    async fn paragraph(&self) -> &'static str {
        self.0.paragraph()
    }

    async fn category(&self) -> enums::ServiceCategory {
        self.0.category().into()
    }

    /// The forms the Act provides this type in (§ 37–70 of Act No. 108/2006 Sb.); a capacity's own
    /// `form` is only what its document states.
    async fn legal_forms(&self) -> Vec<enums::ServiceForm> {
        self.0.legal_forms().iter().map(|f| (*f).into()).collect()
    }
}

#[derive(InputObject, Default)]
pub struct ServiceFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    service_types: Option<Vec<enums::ServiceType>>,
    forms: Option<Vec<enums::ServiceForm>>,
    units: Option<Vec<enums::CapacityUnit>>,
    provider_name: Option<String>,
}

pub(super) async fn service_query(
    ctx: &Context<'_>,
    f: ServiceFilter,
) -> Result<service::ServiceQuery> {
    Ok(service::ServiceQuery {
        regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
        service_types: f
            .service_types
            .map(|v| v.into_iter().map(Into::into).collect()),
        forms: f.forms.map(|v| v.into_iter().map(Into::into).collect()),
        units: f.units.map(|v| v.into_iter().map(Into::into).collect()),
        provider_name: f.provider_name,
    })
}

#[derive(InputObject)]
pub struct CapacityInput {
    form: Option<enums::ServiceForm>,
    value: i32,
    /// `value` is a lower bound ("minimálně 50"); false when absent.
    at_least: Option<bool>,
    unit: enums::CapacityUnit,
    text: Option<String>,
    network_shares: Option<Vec<NetworkShare>>,
}

#[derive(InputObject)]
pub struct ServiceInput {
    service_type: enums::ServiceType,
    /// The service's own name, where it has one besides its type's.
    name: Option<String>,
    capacities: Vec<CapacityInput>,
    scope: Option<String>,
}

#[derive(InputObject)]
pub struct ServicePatch {
    service_type: MaybeUndefined<enums::ServiceType>,
    name: MaybeUndefined<String>,
    capacities: MaybeUndefined<Vec<CapacityInput>>,
    scope: MaybeUndefined<String>,
}

pub(super) fn capacities(list: Vec<CapacityInput>) -> Vec<CapacityData> {
    list.into_iter()
        .map(|c| CapacityData {
            form: c.form.map(Into::into),
            value: c.value,
            at_least: c.at_least.unwrap_or(false),
            unit: c.unit.into(),
            text: c.text,
            network_shares: c
                .network_shares
                .unwrap_or_default()
                .into_iter()
                .map(|s| svc::NetworkShare {
                    network: s.network.into(),
                    value: s.value,
                })
                .collect(),
            source: None,
        })
        .collect()
}

pub(super) fn capacities_patch(m: MaybeUndefined<Vec<CapacityInput>>) -> Patch<Vec<CapacityData>> {
    match patch(m) {
        Patch::Set(c) => Patch::Set(capacities(c)),
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
    }
}

#[derive(Default)]
pub struct ServiceQueries;

#[Object]
impl ServiceQueries {
    async fn services(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ServiceConnection> {
        let p = page(ctx, "service", first, after)?;
        let q = service_query(ctx, filter.unwrap_or_default()).await?;
        let c = service::list(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(ServiceConnection {
            page_info: page_info("service", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Service).collect(),
        })
    }

    /// The legal classification of social services.
    async fn service_types(&self) -> Vec<ServiceTypeInfo> {
        kpss_domain::service::ServiceType::ALL
            .iter()
            .map(|t| ServiceTypeInfo(*t))
            .collect()
    }
}

#[derive(Default)]
pub struct ServiceMutations;

#[Object]
impl ServiceMutations {
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        input: ServiceInput,
    ) -> Result<Service> {
        let cmd = ServiceForCreate {
            provider_id: common::id("providerId", &provider_id)?,
            fields: ServiceDraft {
                service_type: input.service_type.into(),
                name: input.name,
                scope: input.scope,
                capacities: capacities(input.capacities),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Service(
            service::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ServicePatch,
    ) -> Result<Service> {
        let p = svc::ServicePatch {
            service_type: self::patch(patch.service_type.map_value(Into::into)),
            name: self::patch(patch.name),
            capacities: capacities_patch(patch.capacities),
            scope: self::patch(patch.scope),
        };
        common::update(ctx, &id, expected_version, p).await
    }

    async fn archive_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Service> {
        common::archive(ctx, &id, expected_version, true).await
    }
}
