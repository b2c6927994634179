//! The GraphQL schema, one module per aggregate (the names of the domain and
//! persistence crates): its objects, loader keys, filters, inputs, queries
//! and mutations. Types are written by hand and wrap domain values; every
//! resolver reads and writes through the caller's scoped handle.

#[macro_use]
mod loaders;
#[macro_use]
mod page;
mod activity;
mod audit;
mod enums;
mod evaluation;
mod measure;
mod plan;
mod priority;
mod provider;
mod region;
mod scalars;
mod search;
mod service;
mod source;
mod subscription;
mod summary;

use crate::error::{ApiError, Result, coded};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, MergedObject, Object, SimpleObject};
use async_graphql::{Scalar, ScalarType, Value};
use kpss_domain::ValidationResult;
use kpss_domain::access::Ctx;
use kpss_domain::activity::{self as dom_activity, ActivityDraft, ActivityForCreate};
use kpss_domain::evaluation::{EvaluationFields, EvaluationForRecord};
use kpss_domain::measure::{self as dom_measure, Cost as CostData, MeasureDraft, MeasureForCreate};
use kpss_domain::patch::Patch;
use kpss_domain::plan::{self as dom_plan, PlanDraft, PlanForCreate};
use kpss_domain::priority::{self as dom_priority, PriorityDraft, PriorityForCreate};
use kpss_domain::region as dom;
use kpss_domain::region::KrajCode;
use kpss_domain::region::RegionCode;
use kpss_domain::service::{
    self as svc, Capacity as CapacityData, ProviderFields, ProviderForCreate, ServiceDraft,
    ServiceForCreate,
};
use kpss_domain::value::AmountCzk;
use kpss_domain::{ValidationError, record};
use kpss_persistence::page::{Connection, Page};
use kpss_persistence::{Db, Scoped, region as regions};
pub use loaders::Steps;
use loaders::{Batcher, Loaders, grouped};
use std::collections::HashMap;
use std::sync::Arc;
use {
    activity::*, audit::*, evaluation::*, measure::*, page::*, plan::*, priority::*, provider::*,
    region::*, scalars::*, search::*, service::*, source::*, summary::*,
};

// Every query field, one object per aggregate.
#[derive(MergedObject, Default)]
pub struct Query(
    RegionQueries,
    PlanQueries,
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
    PriorityMutations,
    MeasureMutations,
    ActivityMutations,
    EvaluationMutations,
    ProviderMutations,
    ServiceMutations,
);

pub type Schema = async_graphql::Schema<Query, Mutation, subscription::Subscription>;

use crate::limits::DEFAULT_PAGE_SIZE;
pub use crate::limits::Limits;

pub fn build_schema(db: Db, limits: &Limits) -> Schema {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .data(db)
    .data(limits.clone())
    .extension(crate::http::Execution::new(limits));
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

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Ctx {
    // The HTTP layer attaches a Ctx to every request before executing it.
    ctx.data_unchecked::<Ctx>()
}

fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

fn scoped<'a>(ctx: &'a Context<'_>) -> &'a Scoped {
    // Attached with the caller's Ctx by `request_data`.
    ctx.data_unchecked::<Scoped>()
}

fn loader<'a>(ctx: &'a Context<'_>) -> &'a Batcher {
    ctx.data_unchecked::<Arc<Batcher>>()
}

/// A relation every readable record has (its plan, its measure, its
/// region): absent only through a bug, which the client sees as INTERNAL.
async fn related<K>(ctx: &Context<'_>, key: K) -> Result<<Loaders as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = async_graphql::Error>,
{
    loader(ctx)
        .load_one(key)
        .await?
        .ok_or_else(|| coded(ApiError::Internal))
}

fn bad(field: &str, message: impl Into<String>) -> async_graphql::Error {
    coded(ApiError::BadUserInput {
        field: field.into(),
        message: message.into(),
    })
}

/// An id argument: our ids are decimal integers.
fn id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| bad(field, format!("`{}` is not an id", id.as_str())))
}

/// Most codes a filter may list: every region of the country fits, and
/// each code costs a lookup.
const MAX_LISTED_CODES: usize = 1_000;

fn listed(field: &str, codes: Option<&[String]>) -> Result<()> {
    match codes {
        Some(c) if c.len() > MAX_LISTED_CODES => Err(bad(
            field,
            format!("at most {MAX_LISTED_CODES} codes may be listed"),
        )),
        _ => Ok(()),
    }
}

async fn grant(
    ctx: &Context<'_>,
    regions: Option<&[String]>,
    kraje: Option<&[String]>,
) -> Result<Option<kpss_domain::access::Grant>> {
    listed("filter.regions", regions)?;
    listed("filter.kraje", kraje)?;
    regions::filter(scoped(ctx), regions, kraje, "filter")
        .await
        .map_err(coded)
}

// ---------------------------------------------------------------- shared pieces

/// A domain error in an input, under the argument it came in (`input`, `patch`).
fn invalid(e: ValidationError, under: &str) -> async_graphql::Error {
    coded(e.under(under))
}

/// A patch field: absent keeps the value, null clears it, a value sets it.
fn patch<T>(m: MaybeUndefined<T>) -> Patch<T> {
    match m {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

fn optional_id(field: &str, v: Option<&ID>) -> Result<Option<i64>> {
    v.map(|i| id(field, i)).transpose()
}

fn region_code(field: &str, code: &str) -> Result<RegionCode> {
    RegionCode::parse(field, code).map_err(coded)
}

fn list(v: Option<Vec<String>>) -> Vec<String> {
    v.unwrap_or_default()
}
