//! DataLoaders: every relation a client can traverse is fetched for all
//! parents of a level in one statement, never once per parent.

use super::objects::*;
use crate::error::{Result, coded};
use async_graphql::dataloader::Loader;
use kpss_domain::access::Ctx;
use kpss_domain::region::{KrajCode, RegionCode};
use kpss_persistence::{Db, read, region as regions};
use std::collections::HashMap;
use std::hash::Hash;

/// The loaders of one request, with the caller's scope.
pub struct Loaders {
    pub(super) db: Db,
    pub(super) ctx: Ctx,
}

/// Groups `items` under their key; every requested key gets a (maybe empty) list.
fn grouped<K: Eq + Hash + Clone, V>(
    keys: &[K],
    items: impl IntoIterator<Item = V>,
    key_of: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for item in items {
        map.entry(key_of(&item)).or_default().push(item);
    }
    map
}

/// `Key(id)` -> the record with that id (absent when not readable).
macro_rules! by_id {
    ($key:ident, $object:ident, $fetch:path) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for Loaders {
            type Value = $object;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $object>> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.db, &self.ctx, &ids).await.map_err(coded)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), $object(r))).collect())
            }
        }
    };
}

/// `Key(parent id)` -> the parent's children, in document order.
macro_rules! children {
    ($key:ident, $object:ident, $fetch:path, $parent:expr) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for Loaders {
            type Value = Vec<$object>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$object>>> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.db, &self.ctx, &ids).await.map_err(coded)?;
                Ok(grouped(keys, rows.into_iter().map($object), |o| {
                    $key($parent(&o.0))
                }))
            }
        }
    };
}

by_id!(PlanById, Plan, read::plans_by_id);
by_id!(PriorityById, Priority, read::priorities_by_id);
by_id!(MeasureById, Measure, read::measures_by_id);
by_id!(ActivityById, Activity, read::activities_by_id);
by_id!(ProviderById, Provider, read::providers_by_id);

children!(
    ProjectsOf,
    PlanProject,
    read::projects_of_plans,
    |p: &kpss_domain::record::Project| p.plan_id
);
children!(
    PrioritiesOf,
    Priority,
    read::priorities_of_plans,
    |p: &kpss_domain::record::Priority| p.plan_id
);
children!(
    MeasuresOf,
    Measure,
    read::measures_of_priorities,
    |m: &kpss_domain::record::Measure| m.priority_id
);
children!(
    SubMeasuresOf,
    Measure,
    read::sub_measures,
    |m: &kpss_domain::record::Measure| m.parent_id.unwrap_or_default()
);
children!(
    ActivitiesOf,
    Activity,
    read::activities_of_measures,
    |a: &kpss_domain::record::Activity| a.measure_id
);
children!(
    SubActivitiesOf,
    Activity,
    read::sub_activities,
    |a: &kpss_domain::record::Activity| a.parent_id.unwrap_or_default()
);
children!(
    EvaluationsOf,
    Evaluation,
    read::evaluations_of_measures,
    |e: &kpss_domain::record::Evaluation| e.measure_id
);
children!(
    PlannedCapacitiesOf,
    Capacity,
    read::planned_capacities,
    |c: &kpss_domain::record::OwnedCapacity| c.owner_id
);
children!(
    CapacitiesOf,
    Capacity,
    read::service_capacities,
    |c: &kpss_domain::record::OwnedCapacity| c.owner_id
);
children!(
    ServicesOf,
    Service,
    read::services_of_providers,
    |s: &kpss_domain::record::Service| s.provider_id
);

impl Loader<KrajCode> for Loaders {
    type Value = Kraj;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[KrajCode]) -> Result<HashMap<KrajCode, Kraj>> {
        let kraje = regions::kraje_by_codes(&self.db, &self.ctx, keys)
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
        let found = regions::by_codes(&self.db, &self.ctx, keys)
            .await
            .map_err(coded)?;
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
        let found = regions::in_kraje(&self.db, &self.ctx, &kraje)
            .await
            .map_err(coded)?;
        Ok(grouped(keys, found.into_iter().map(Region), |r| {
            RegionsOf(r.0.kraj.clone())
        }))
    }
}

/// Current plans of a region.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PlansOf(pub RegionCode);

impl Loader<PlansOf> for Loaders {
    type Value = Vec<Plan>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PlansOf]) -> Result<HashMap<PlansOf, Vec<Plan>>> {
        let codes: Vec<RegionCode> = keys.iter().map(|k| k.0.clone()).collect();
        let found = read::plans_of_regions(&self.db, &self.ctx, &codes)
            .await
            .map_err(coded)?;
        Ok(grouped(keys, found.into_iter().map(Plan), |p| {
            PlansOf(p.0.region.clone())
        }))
    }
}

/// Current providers of a region.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProvidersOf(pub RegionCode);

impl Loader<ProvidersOf> for Loaders {
    type Value = Vec<Provider>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ProvidersOf]) -> Result<HashMap<ProvidersOf, Vec<Provider>>> {
        let codes: Vec<RegionCode> = keys.iter().map(|k| k.0.clone()).collect();
        let found = read::providers_of_regions(&self.db, &self.ctx, &codes)
            .await
            .map_err(coded)?;
        Ok(grouped(keys, found.into_iter().map(Provider), |p| {
            ProvidersOf(p.0.region.clone())
        }))
    }
}
