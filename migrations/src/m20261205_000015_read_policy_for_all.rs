use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// PostgreSQL: a caller who reads every region (`kpss.read_regions` = `*`)
/// passes the read policy without the array of every region's code, which
/// the policy otherwise builds once per statement and searches once per row.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000015_read_policy_for_all"
    }
}

/// Whether the caller reads every region.
pub(crate) const ALL: &str = "current_setting('kpss.read_regions', true) = '*'";

pub(crate) const BY_ARRAY: &str =
    "region_code = ANY ((SELECT kpss_regions('kpss.read_regions'))::text[])";

/// The tables whose read policy was `BY_ARRAY` when this migration was
/// written (`search_entry` has its own; a later table writes its policy in
/// its own migration).
const TABLES: [&str; 12] = [
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
    "data_version",
    "change_event",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let all_first = format!("{ALL} OR {BY_ARRAY}");
        set_read_policy(m, &all_first).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_read_policy(m, BY_ARRAY).await
    }
}

/// Makes `using` the read policy of the tables (PostgreSQL only).
pub(crate) async fn set_read_policy(m: &SchemaManager<'_>, using: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for t in TABLES {
        m.get_connection()
            .execute_unprepared(&format!(
                r#"ALTER POLICY kpss_read ON "{t}" USING ({using})"#
            ))
            .await?;
    }
    Ok(())
}
