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
