//! Black-box tests of the `kpss` service: the real server on a random port
//! with a fresh database, each storage test on SQLite and on PostgreSQL.
//! One test binary keeps link times down.

#[macro_use]
mod support;

mod api;
mod auth;
mod bench;
mod browser;
mod cache;
mod cli;
mod concurrency;
mod cors;
mod cycle;
mod documents;
mod examples;
mod faults;
mod generated;
mod http;
mod http_audit;
mod limits;
mod live;
mod oidc;
mod persisted;
mod plan_file;
mod provenance;
mod read;
mod replicas;
mod rls;
mod schema;
mod search;
mod seeds;
mod storage;
mod structure;
mod workbook;
mod write;
