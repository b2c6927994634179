use crate::TENANT_TABLES;
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

const BY_ARRAY: &str = "region_code = ANY ((SELECT kpss_regions('kpss.read_regions'))::text[])";

/// The tables whose read policy is `BY_ARRAY` (`search_entry` has its own).
fn tables() -> impl Iterator<Item = &'static str> {
    TENANT_TABLES.into_iter().filter(|t| *t != "search_entry")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for t in tables() {
            m.get_connection()
                .execute_unprepared(&format!(
                    r#"ALTER POLICY kpss_read ON "{t}" USING (current_setting('kpss.read_regions', true) = '*' OR {BY_ARRAY})"#
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for t in tables() {
            m.get_connection()
                .execute_unprepared(&format!(
                    r#"ALTER POLICY kpss_read ON "{t}" USING ({BY_ARRAY})"#
                ))
                .await?;
        }
        Ok(())
    }
}
