//! Providers of social services.

use super::common::{self, children, grant, invalid, region_code, scoped};
use super::nodes::{Provider, Service, ServicesOf};
use super::page::{page, page_info, total};
use super::records::Records;
use super::region::{Region, region_of};
use super::source::{SourceOf, SourceRef, reading, source, sources};
use crate::error::{Result, coded};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use kpss_domain::EntityKind;
use kpss_domain::service::{self as svc, ProviderFields, ProviderForCreate};
use kpss_persistence::provider;

connection!(ProviderConnection, Provider);

versioned!(Provider, provider, svc::ProviderPatch);

#[Object]
impl Provider {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        region_of(ctx, &self.0.region).await
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// IČO, where the source states it.
    async fn ico(&self) -> Option<&str> {
        self.0.ico.as_deref()
    }

    async fn services(&self, ctx: &Context<'_>) -> Result<Records<Service>> {
        children(ctx, ServicesOf(self.0.id)).await
    }

    /// The lines that name the provider; null for one created through the API.
    async fn source(&self) -> Option<SourceRef> {
        source(&self.0.source, EntityKind::Provider, self.0.id)
    }

    /// Every range of lines that states the provider's values, its main range (`source`) first.
    async fn sources(&self) -> Vec<SourceRef> {
        sources(
            &self.0.source,
            Some(SourceOf(EntityKind::Provider, self.0.id)),
        )
    }

    /// What was read and why, where the provider rests on a reading of a flattened or ambiguous layout, or on a doubtful value.
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

#[derive(InputObject, Default)]
pub struct ProviderFilter {
    regions: Option<Vec<String>>,
    kraje: Option<Vec<String>>,
    /// Case- and diacritics-insensitive substring of the name.
    name: Option<String>,
}

#[derive(InputObject)]
pub struct ProviderInput {
    region: String,
    name: String,
    /// IČO: eight digits.
    ico: Option<String>,
}

/// Absent fields stay as they are; null clears a nullable field.
#[derive(InputObject)]
pub struct ProviderPatch {
    name: MaybeUndefined<String>,
    ico: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct ProviderQueries;

#[Object]
impl ProviderQueries {
    async fn providers(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProviderFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ProviderConnection> {
        let p = page(ctx, "provider", first, after)?;
        let f = filter.unwrap_or_default();
        let q = provider::ProviderQuery {
            regions: grant(ctx, f.regions.as_deref(), f.kraje.as_deref()).await?,
            name: f.name,
        };
        let c = provider::list(scoped(ctx), &q, p).await.map_err(coded)?;
        Ok(ProviderConnection {
            page_info: page_info("provider", &c, |n| n.id),
            total_count: total(c.total_count),
            nodes: c.nodes.into_iter().map(Provider).collect(),
        })
    }
}

#[derive(Default)]
pub struct ProviderMutations;

#[Object]
impl ProviderMutations {
    async fn create_provider(&self, ctx: &Context<'_>, input: ProviderInput) -> Result<Provider> {
        let cmd = ProviderForCreate {
            region: region_code("input.region", &input.region)?,
            fields: ProviderFields::parse(&input.name, input.ico.as_deref())
                .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Provider(
            provider::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_provider(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ProviderPatch,
    ) -> Result<Provider> {
        let p = svc::ProviderPatch {
            name: common::patch(patch.name),
            ico: common::patch(patch.ico),
        };
        common::update(ctx, &id, expected_version, p).await
    }

    /// Archives a provider: it leaves the lists of providers; its services stay as they are.
    async fn archive_provider(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Provider> {
        common::archive(ctx, &id, expected_version, true).await
    }
}
