//! Storage of KPSS data on SQLite (embedded default) and PostgreSQL.
//!
//! Every read and write takes the caller's [`Ctx`](kpss_domain::access::Ctx)
//! and filters by its tenant scope in SQL: there is no unscoped query path
//! outside migrations and seeding.

mod entity;
mod scope;

pub mod audit;
pub mod db;
pub mod error;
pub mod events;
pub mod export;
pub mod read;
pub mod region;
pub mod search;
pub mod seed;
pub mod summary;
pub mod write;

pub use db::Db;
pub use error::{Error, Result};
