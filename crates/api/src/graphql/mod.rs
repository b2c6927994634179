//! The GraphQL schema, one module per aggregate (the names of the domain and
//! persistence crates): its object's fields, filters, inputs, queries and
//! mutations; the objects and their loader keys are declared in `nodes`.
//! Types are written by hand and wrap domain values; every resolver reads
//! and writes through the caller's scoped handle.

#[macro_use]
mod loaders;
#[macro_use]
mod page;
#[macro_use]
mod common;
mod activity;
mod audit;
mod enums;
mod evaluation;
mod measure;
mod nodes;
mod plan;
mod plan_file;
mod priority;
mod provider;
mod records;
mod region;
mod scalars;
mod search;
mod service;
mod source;
mod subscription;
mod summary;

pub use loaders::Steps;
pub use source::asks_for_provenance;

use crate::limits::Limits;
use crate::metrics::Metrics;
use activity::ActivityMutations;
use async_graphql::MergedObject;
use audit::AuditQueries;
use evaluation::EvaluationMutations;
use kpss_domain::access::Ctx;
use kpss_persistence::{Db, Scoped};
use loaders::{Batcher, Loaders};
use measure::{MeasureMutations, MeasureQueries};
use plan::{PlanMutations, PlanQueries};
use plan_file::{PlanFileMutations, PlanFileQueries};
use priority::PriorityMutations;
use provider::{ProviderMutations, ProviderQueries};
use region::RegionQueries;
use search::SearchQueries;
use service::{ServiceMutations, ServiceQueries};
use std::sync::Arc;
use summary::SummaryQueries;

// Every query field, one object per aggregate.
#[derive(MergedObject, Default)]
pub struct Query(
    RegionQueries,
    PlanQueries,
    PlanFileQueries,
    MeasureQueries,
    ProviderQueries,
    ServiceQueries,
    SummaryQueries,
    SearchQueries,
    AuditQueries,
);

// Every mutation, one object per aggregate.
#[derive(MergedObject, Default)]
pub struct Mutation(
    PlanMutations,
    PlanFileMutations,
    PriorityMutations,
    MeasureMutations,
    ActivityMutations,
    EvaluationMutations,
    ProviderMutations,
    ServiceMutations,
);

pub type Schema = async_graphql::Schema<Query, Mutation, subscription::Subscription>;

pub fn build_schema(db: Db, limits: &Limits, metrics: Arc<Metrics>) -> Schema {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .data(db)
    .data(limits.clone())
    .data(metrics);
    if limits.introspection {
        builder.finish()
    } else {
        // "Did you mean …" would tell the schema that introspection hides.
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// The schema as SDL, for `kpss schema` and the drift test.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .finish()
    .sdl()
}

/// Per-request data: the caller, its scoped handle on the database, and the
/// loaders that batch by key through the same handle. Execution must run
/// inside [`Steps`] with the returned batcher, which runs the batches.
pub fn request_data(ctx: Ctx, scoped: Scoped) -> (async_graphql::Data, Arc<Batcher>) {
    let mut data = async_graphql::Data::default();
    let batcher = Arc::new(Batcher::new(Loaders {
        scoped: scoped.clone(),
    }));
    data.insert(batcher.clone());
    data.insert(ctx);
    data.insert(scoped);
    (data, batcher)
}
