//! The nodes of the graph: one wrapper per stored kind, and the loader keys
//! that fetch them by id or by parent. Each aggregate's module implements its
//! node's fields; the nodes live apart so that modules whose types point at
//! each other (a measure's activities, an activity's measure) import this
//! file, not one another.

use super::loaders::{Loaders, grouped};
use crate::error::{Result, coded};
use async_graphql::dataloader::Loader;
use kpss_domain as dom;
use kpss_domain::region::RegionCode;
use kpss_persistence::{activity, evaluation, measure, plan, priority, provider, service};
use std::collections::HashMap;

by_id!(ActivityById, Activity, activity::by_ids);

children!(
    ActivitiesOf,
    Activity,
    activity::of_measures,
    |a: &kpss_domain::activity::Activity| a.measure_id
);

children!(
    SubActivitiesOf,
    Activity,
    activity::sub_activities,
    |a: &kpss_domain::activity::Activity| a.parent_id.unwrap_or_default()
);

#[derive(Clone)]
pub struct Activity(pub dom::activity::Activity);

children!(
    EvaluationsOf,
    Evaluation,
    evaluation::of_measures,
    |e: &kpss_domain::evaluation::Evaluation| e.measure_id
);

#[derive(Clone)]
pub struct Evaluation(pub dom::evaluation::Evaluation);

by_id!(MeasureById, Measure, measure::by_ids);

children!(
    MeasuresOf,
    Measure,
    measure::of_priorities,
    |m: &kpss_domain::measure::Measure| m.priority_id
);

children!(
    SubMeasuresOf,
    Measure,
    measure::sub_measures,
    |m: &kpss_domain::measure::Measure| m.parent_id.unwrap_or_default()
);

#[derive(Clone)]
pub struct Measure(pub dom::measure::Measure);

by_id!(PlanById, Plan, plan::by_ids);

children!(
    ProjectsOf,
    PlanProject,
    plan::projects_of,
    |p: &kpss_domain::plan::Project| p.plan_id
);

#[derive(Clone)]
pub struct Plan(pub dom::plan::Plan);

#[derive(Clone)]
pub struct PlanProject(pub dom::plan::Project);

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

by_id!(PriorityById, Priority, priority::by_ids);

children!(
    PrioritiesOf,
    Priority,
    priority::of_plans,
    |p: &kpss_domain::priority::Priority| p.plan_id
);

#[derive(Clone)]
pub struct Priority(pub dom::priority::Priority);

by_id!(ProviderById, Provider, provider::by_ids);

#[derive(Clone)]
pub struct Provider(pub dom::service::Provider);

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

children!(
    ServicesOf,
    Service,
    service::of_providers,
    |s: &kpss_domain::service::Service| s.provider_id
);

#[derive(Clone)]
pub struct Service(pub dom::service::Service);
