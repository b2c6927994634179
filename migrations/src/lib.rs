//! One migration set for SQLite and PostgreSQL. Migrations change the
//! schema only; data comes from `seeds/` through `kpss seed`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_search;
mod m20261123_000003_sort_keys_bytewise;
mod m20261201_000004_money_in_crowns;
mod m20261201_000005_row_level_security;
mod m20261208_000006_czech_search;
mod m20261215_000006_provenance;
mod m20261222_000007_data_version;
mod m20261229_000008_function_rights;
mod m20270105_000009_evaluation_version;
mod m20270105_000010_change_event;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_search::Migration),
            Box::new(m20261123_000003_sort_keys_bytewise::Migration),
            Box::new(m20261201_000004_money_in_crowns::Migration),
            Box::new(m20261201_000005_row_level_security::Migration),
            Box::new(m20261208_000006_czech_search::Migration),
            Box::new(m20261215_000006_provenance::Migration),
            Box::new(m20261222_000007_data_version::Migration),
            Box::new(m20261229_000008_function_rights::Migration),
            Box::new(m20270105_000009_evaluation_version::Migration),
            Box::new(m20270105_000010_change_event::Migration),
        ]
    }
}

/// Every table with a `region_code`, as the migrations leave the schema on
/// PostgreSQL: each has the row-level security policies, and the service
/// role's grants follow this list.
pub const TENANT_TABLES: [&str; 13] = [
    "plan",
    "plan_project",
    "priority",
    "measure",
    "activity",
    "evaluation",
    "provider",
    "service",
    "capacity",
    "audit_entry",
    "search_entry",
    "data_version",
    "change_event",
];
