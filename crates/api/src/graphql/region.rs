//! The caller, kraje and regions (tenants).

use super::common::{caller, children, related, scoped};
use super::loaders::{Loaders, grouped};
use super::nodes::{Plan, PlansOf, Provider, ProvidersOf};
use super::records::Records;
use crate::error::{Result, coded};
use crate::graphql::enums;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, Object};
use kpss_domain::access::Ctx;
use kpss_domain::region as dom;
use kpss_domain::region::{KrajCode, RegionCode};
use kpss_persistence::region as regions;
use std::collections::HashMap;

pub(super) async fn region_of(ctx: &Context<'_>, code: &dom::RegionCode) -> Result<Region> {
    // A readable record's region is always readable.
    related(ctx, code.clone()).await
}

pub struct Viewer(pub Ctx);

#[Object]
impl Viewer {
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn role(&self) -> enums::Role {
        self.0.role.into()
    }

    /// Regions this caller may read.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Records<Region>> {
        let found = regions::list(scoped(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Region).collect())
    }

    /// Regions this caller may change.
    async fn writable_regions(&self, ctx: &Context<'_>) -> Result<Records<Region>> {
        let found = regions::list(scoped(ctx)).await.map_err(coded)?;
        Ok(found
            .into_iter()
            .filter(|r| self.0.write.covers(&r.code, &r.kraj))
            .map(Region)
            .collect())
    }
}

#[derive(Clone)]
pub struct Kraj(pub dom::Kraj);

#[Object]
impl Kraj {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Visible regions of this kraj.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Records<Region>> {
        children(ctx, RegionsOf(self.0.code.clone())).await
    }
}

#[derive(Clone)]
pub struct Region(pub dom::Region);

#[Object]
impl Region {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> enums::RegionKind {
        self.0.kind.into()
    }

    async fn kraj(&self, ctx: &Context<'_>) -> Result<Kraj> {
        related(ctx, self.0.kraj.clone()).await
    }

    async fn plans(&self, ctx: &Context<'_>) -> Result<Records<Plan>> {
        children(ctx, PlansOf(self.0.code.clone())).await
    }

    async fn providers(&self, ctx: &Context<'_>) -> Result<Records<Provider>> {
        children(ctx, ProvidersOf(self.0.code.clone())).await
    }
}

impl Loader<KrajCode> for Loaders {
    type Value = Kraj;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[KrajCode]) -> Result<HashMap<KrajCode, Kraj>> {
        let kraje = regions::kraje_by_codes(&self.scoped, keys)
            .await
            .map_err(coded)?;
        Ok(kraje
            .into_iter()
            .map(|k| (k.code.clone(), Kraj(k)))
            .collect())
    }
}

impl Loader<RegionCode> for Loaders {
    type Value = Region;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[RegionCode]) -> Result<HashMap<RegionCode, Region>> {
        let found = regions::by_codes(&self.scoped, keys).await.map_err(coded)?;
        Ok(found
            .into_iter()
            .map(|r| (r.code.clone(), Region(r)))
            .collect())
    }
}

/// Visible regions of a kraj.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RegionsOf(pub KrajCode);

impl Loader<RegionsOf> for Loaders {
    type Value = Vec<Region>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[RegionsOf]) -> Result<HashMap<RegionsOf, Vec<Region>>> {
        let kraje: Vec<KrajCode> = keys.iter().map(|k| k.0.clone()).collect();
        let found = regions::in_kraje(&self.scoped, &kraje)
            .await
            .map_err(coded)?;
        Ok(grouped(keys, found.into_iter().map(Region), |r| {
            RegionsOf(r.0.kraj.clone())
        }))
    }
}

#[derive(Default)]
pub struct RegionQueries;

#[Object]
impl RegionQueries {
    /// The caller as its token presents it.
    async fn me(&self, ctx: &Context<'_>) -> Viewer {
        if let Ok(personal) = ctx.data::<std::sync::Arc<crate::cache::Personal>>() {
            personal.mark();
        }
        Viewer(caller(ctx).clone())
    }

    /// Kraje with at least one region visible to the caller.
    async fn kraje(&self, ctx: &Context<'_>) -> Result<Records<Kraj>> {
        let found = regions::kraje(scoped(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Kraj).collect())
    }

    /// Regions (tenants) visible to the caller, ordered by Czech collation of name.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Records<Region>> {
        let found = regions::list(scoped(ctx)).await.map_err(coded)?;
        Ok(found.into_iter().map(Region).collect())
    }

    /// One region; null when it does not exist, error FORBIDDEN when it is not visible.
    async fn region(&self, ctx: &Context<'_>, code: String) -> Result<Option<Region>> {
        let code = RegionCode::parse("code", &code).map_err(coded)?;
        Ok(regions::get(scoped(ctx), &code)
            .await
            .map_err(coded)?
            .map(Region))
    }
}
