//! One migration set for SQLite and PostgreSQL. Migrations change the
//! schema only; data comes from `seeds/` through `kpss seed`.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::TransactionTrait;

mod m20261123_000001_initial;
mod m20261123_000002_search;
mod m20261123_000003_sort_keys_bytewise;
mod m20261201_000004_money_in_crowns;
mod m20261201_000005_row_level_security;
mod m20261201_000006_czech_search;
mod m20261201_000007_provenance;
mod m20261201_000008_data_version;
mod m20261203_000009_function_rights;
mod m20261203_000010_evaluation_version;
mod m20261203_000011_change_event;
mod m20261203_000012_fidelity;
mod m20261203_000013_carried_from;
mod m20261204_000014_write_position;
mod m20261205_000015_read_policy_for_all;
mod m20261205_000016_child_indexes;
mod m20261206_000017_search_regions;
mod m20261206_000018_read_setting_once;
mod m20261206_000019_audit_plan;

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
            Box::new(m20261201_000006_czech_search::Migration),
            Box::new(m20261201_000007_provenance::Migration),
            Box::new(m20261201_000008_data_version::Migration),
            Box::new(m20261203_000009_function_rights::Migration),
            Box::new(m20261203_000010_evaluation_version::Migration),
            Box::new(m20261203_000011_change_event::Migration),
            Box::new(m20261203_000012_fidelity::Migration),
            Box::new(m20261203_000013_carried_from::Migration),
            Box::new(m20261204_000014_write_position::Migration),
            Box::new(m20261205_000015_read_policy_for_all::Migration),
            Box::new(m20261205_000016_child_indexes::Migration),
            Box::new(m20261206_000017_search_regions::Migration),
            Box::new(m20261206_000018_read_setting_once::Migration),
            Box::new(m20261206_000019_audit_plan::Migration),
        ]
    }
}

/// Migrations renamed so that one sequence numbers them in order, each dated
/// no later than it was written: (old name, new name).
pub const RENAMED: &[(&str, &str)] = &[
    (
        "m20261208_000006_czech_search",
        "m20261201_000006_czech_search",
    ),
    ("m20261215_000006_provenance", "m20261201_000007_provenance"),
    (
        "m20261222_000007_data_version",
        "m20261201_000008_data_version",
    ),
    (
        "m20261229_000008_function_rights",
        "m20261203_000009_function_rights",
    ),
    (
        "m20270105_000009_evaluation_version",
        "m20261203_000010_evaluation_version",
    ),
    (
        "m20270105_000010_change_event",
        "m20261203_000011_change_event",
    ),
];

/// Gives the applied migrations of [`RENAMED`] their new names, run before
/// [`Migrator::up`]: a database migrated before the renaming holds the old
/// names, which `up` would refuse as applied migrations it does not know.
/// Idempotent; it may be removed once every deployment has run it.
pub async fn rename_applied(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    // Makes the table when missing, as `up` would anyway.
    Migrator::install(conn).await?;
    let version = || Expr::col(Alias::new("version"));
    let mut renamed = CaseStatement::new();
    for (old, new) in RENAMED {
        renamed = renamed.case(version().eq(*old), *new);
    }
    // One statement: a start under a short statement_timeout risks each one.
    let rename = Query::update()
        .table(Migrator::migration_table_name())
        .value(Alias::new("version"), renamed.finally(version()))
        .and_where(version().is_in(RENAMED.iter().map(|(old, _)| *old)))
        .to_owned();
    conn.execute(&rename).await?;
    Ok(())
}

/// Runs `steps` in one transaction on one connection: on SQLite another
/// connection of the pool may not yet see a table or index this one dropped.
async fn in_one_transaction(m: &SchemaManager<'_>, steps: &[&str]) -> Result<(), DbErr> {
    let txn = m.get_connection().begin().await?;
    for step in steps {
        txn.execute_unprepared(step).await?;
    }
    txn.commit().await
}

/// Adds the nullable id column `column` to `table`.
async fn add_optional_id(
    m: &SchemaManager<'_>,
    table: &'static str,
    column: &'static str,
) -> Result<(), DbErr> {
    let id = sea_orm_migration::schema::big_integer_null(column);
    m.alter_table(Table::alter().table(table).add_column(id).to_owned())
        .await
}

async fn drop_column(
    m: &SchemaManager<'_>,
    table: &'static str,
    column: &'static str,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `mYYYYMMDD_NNNNNN_name`: numbered 1..N in the order they run, dates
    /// never falling, none after today.
    #[test]
    fn migrations_are_numbered_in_one_sequence_and_dated_no_later_than_written() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let today: u32 = sea_orm::prelude::ChronoUtc::now()
            .format("%Y%m%d")
            .to_string()
            .parse()
            .expect("a date");
        let mut last_date = 0;
        for (i, name) in names.iter().enumerate() {
            let date: u32 = name[1..9].parse().expect(name);
            let number: usize = name[10..16].parse().expect(name);
            assert_eq!(&name[9..10], "_", "{name}");
            assert_eq!(number, i + 1, "{name}");
            assert!(date >= last_date && date <= today, "{name}");
            last_date = date;
        }
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        for (old, new) in RENAMED {
            assert!(names.iter().any(|n| n == new) && !names.iter().any(|n| n == old));
        }
    }
}
