use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// A version of each region's data, raised in every transaction that changes
/// it (API writes, seeding, search rebuilds), so that a cached answer can be
/// checked against the database on every read, on every instance. Each
/// region has up to `SHARDS` counters (the service picks one per write) so
/// that concurrent writers of one region do not queue on one row; the
/// region's version is their sum, which rises with every commit.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000008_data_version"
    }
}

/// The same policies as `m20261201_000005_row_level_security` gives every
/// tenant table, and the sum of the versions of a grant's regions (the
/// arguments as the service's `set_config` takes them), read by the owner so
/// that one statement answers without a transaction; it tells nothing but a
/// number.
const POSTGRES: &str = r#"ALTER TABLE data_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY kpss_read ON data_version FOR SELECT USING (region_code = ANY ((SELECT kpss_regions('kpss.read_regions'))::text[]));
CREATE POLICY kpss_insert ON data_version FOR INSERT WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_update ON data_version FOR UPDATE USING (kpss_in_setting(region_code, 'kpss.write_regions')) WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_delete ON data_version FOR DELETE USING (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE FUNCTION kpss_data_version(all_regions boolean, regions text, kraje text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  -- PL/pgSQL keeps the plans of its queries for the session; an SQL function is planned at every call.
  IF all_regions THEN
    RETURN (SELECT coalesce(sum(version), 0)::bigint FROM data_version);
  END IF;
  RETURN (SELECT coalesce(sum(version), 0)::bigint FROM data_version
    WHERE region_code = ANY (string_to_array(regions, ','))
       OR region_code IN (SELECT code FROM region WHERE kraj_code = ANY (string_to_array(kraje, ','))));
END
$$;"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("data_version")
                .col(string("region_code"))
                .col(small_integer("shard"))
                .col(big_integer("version"))
                .primary_key(Index::create().col("region_code").col("shard"))
                .foreign_key(
                    ForeignKey::create()
                        .from("data_version", "region_code")
                        .to("region", "code"),
                )
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection().execute_unprepared(POSTGRES).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION kpss_data_version(boolean, text, text)")
                .await?;
        }
        m.drop_table(Table::drop().table("data_version").to_owned())
            .await
    }
}
