use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// PostgreSQL: the changes behind `NOTIFY kpss_changes`. Any role that can
/// log in may `LISTEN` (and `NOTIFY`) on a channel, so a notification
/// carries only the number of its change; the change itself, with its
/// region and editor, is a row here under the same policies as every
/// tenant table, which each instance reads as the service. Rows are kept
/// for an hour. SQLite (one process) publishes changes in-process.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000011_change_event"
    }
}

const UP: &str = r#"CREATE TABLE change_event (
  seq bigserial PRIMARY KEY,
  region_code varchar NOT NULL REFERENCES region (code),
  at timestamptz NOT NULL DEFAULT now(),
  change text NOT NULL
);
ALTER TABLE change_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY kpss_read ON change_event FOR SELECT USING (region_code = ANY ((SELECT kpss_regions('kpss.read_regions'))::text[]));
CREATE POLICY kpss_insert ON change_event FOR INSERT WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_update ON change_event FOR UPDATE USING (kpss_in_setting(region_code, 'kpss.write_regions')) WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_delete ON change_event FOR DELETE USING (kpss_in_setting(region_code, 'kpss.write_regions'));"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP TABLE change_event")
                .await?;
        }
        Ok(())
    }
}
