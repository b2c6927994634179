//! Storage of KPSS data on SQLite (embedded default) and PostgreSQL.
//!
//! Every read and write takes the caller's [`Ctx`](kpss_domain::access::Ctx)
//! and filters by its tenant scope in SQL: there is no unscoped query path
//! outside migrations and seeding.

mod entity;
mod scope;

pub mod db;
pub mod error;
pub mod export;
pub mod region;
pub mod seed;

pub use db::Db;
pub use error::{Error, Result};
