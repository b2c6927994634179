//! DataLoaders: every relation a client can traverse is fetched for all
//! parents of a level in one statement, never once per parent.

use super::objects::*;
use crate::error::{Result, coded};
use async_graphql::dataloader::Loader;
use kpss_domain::region::{KrajCode, RegionCode};
use kpss_persistence::{Scoped, activity, evaluation, measure, plan, priority, provider, region as regions, service};
use std::collections::HashMap;
use std::hash::Hash;

/// The loaders of one request, with the caller's scope.
pub struct Loaders {
    pub(super) scoped: Scoped,
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
                let rows = $fetch(&self.scoped, &ids).await.map_err(coded)?;
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
                let rows = $fetch(&self.scoped, &ids).await.map_err(coded)?;
                Ok(grouped(keys, rows.into_iter().map($object), |o| {
                    $key($parent(&o.0))
                }))
            }
        }
    };
}

by_id!(PlanById, Plan, plan::by_ids);
by_id!(PriorityById, Priority, priority::by_ids);
by_id!(MeasureById, Measure, measure::by_ids);
by_id!(ActivityById, Activity, activity::by_ids);
by_id!(ProviderById, Provider, provider::by_ids);

children!(
    ProjectsOf,
    PlanProject,
    plan::projects_of,
    |p: &kpss_domain::record::Project| p.plan_id
);
children!(
    PrioritiesOf,
    Priority,
    priority::of_plans,
    |p: &kpss_domain::record::Priority| p.plan_id
);
children!(
    MeasuresOf,
    Measure,
    measure::of_priorities,
    |m: &kpss_domain::record::Measure| m.priority_id
);
children!(
    SubMeasuresOf,
    Measure,
    measure::sub_measures,
    |m: &kpss_domain::record::Measure| m.parent_id.unwrap_or_default()
);
children!(
    ActivitiesOf,
    Activity,
    activity::of_measures,
    |a: &kpss_domain::record::Activity| a.measure_id
);
children!(
    SubActivitiesOf,
    Activity,
    activity::sub_activities,
    |a: &kpss_domain::record::Activity| a.parent_id.unwrap_or_default()
);
children!(
    EvaluationsOf,
    Evaluation,
    evaluation::of_measures,
    |e: &kpss_domain::record::Evaluation| e.measure_id
);
children!(
    PlannedCapacitiesOf,
    Capacity,
    measure::planned_capacities,
    |c: &kpss_domain::record::OwnedCapacity| c.owner_id
);
children!(
    CapacitiesOf,
    Capacity,
    service::capacities,
    |c: &kpss_domain::record::OwnedCapacity| c.owner_id
);
children!(
    ServicesOf,
    Service,
    service::of_providers,
    |s: &kpss_domain::record::Service| s.provider_id
);

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
        let found = regions::by_codes(&self.scoped, keys)
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
        let found = regions::in_kraje(&self.scoped, &kraje)
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
        let found = plan::of_regions(&self.scoped, &codes)
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
        let found = provider::of_regions(&self.scoped, &codes)
            .await
            .map_err(coded)?;
        Ok(grouped(keys, found.into_iter().map(Provider), |p| {
            ProvidersOf(p.0.region.clone())
        }))
    }
}
