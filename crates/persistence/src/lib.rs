//! Storage of KPSS data on SQLite (embedded default) and PostgreSQL, one
//! module per aggregate.
//!
//! Every read and write goes through a [`Scoped`] handle made from the
//! caller's [`Ctx`](kpss_domain::access::Ctx) (`db.scoped(ctx)`): queries
//! filter by its tenant scope in SQL, and on PostgreSQL row-level security
//! enforces the same scope a second time. Only migrations and seeding use
//! the pool directly.

#[macro_use]
mod columns;
mod decode;
#[macro_use]
mod entity;
mod read;
mod scope;
mod stored;

pub mod activity;
pub mod audit;
pub mod db;
pub mod dialect;
pub mod error;
pub mod evaluation;
pub mod events;
pub mod export;
pub mod measure;
pub mod page;
pub mod plan;
pub mod plan_file;
pub mod priority;
pub mod provenance;
pub mod provider;
pub mod region;
pub mod replicas;
pub mod scoped;
pub mod search;
pub mod seed;
pub mod service;
pub mod summary;
mod transfer;
pub mod version;

pub use db::{Db, Pool};
pub use dialect::Dialect;
pub use error::{Error, Result};
pub use scoped::Scoped;

use kpss_domain::EntityKind;

pub(crate) type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What is done with the table of a kind, whichever kind it is.
pub(crate) trait ForTable {
    type Out;
    fn table<E: search::Searchable + read::Stored>(self) -> Self::Out;
}

/// The one place a kind meets its table: a new aggregate adds its module
/// above and its line here.
pub(crate) fn with_table<F: ForTable>(kind: EntityKind, f: F) -> F::Out {
    match kind {
        EntityKind::Plan => f.table::<entity::plan::Entity>(),
        EntityKind::Project => f.table::<entity::plan_project::Entity>(),
        EntityKind::Priority => f.table::<entity::priority::Entity>(),
        EntityKind::Measure => f.table::<entity::measure::Entity>(),
        EntityKind::Activity => f.table::<entity::activity::Entity>(),
        EntityKind::Evaluation => f.table::<entity::evaluation::Entity>(),
        EntityKind::Provider => f.table::<entity::provider::Entity>(),
        EntityKind::Service => f.table::<entity::service::Entity>(),
    }
}
