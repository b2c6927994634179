use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// The service's functions are for the service: PostgreSQL lets every role
/// (PUBLIC) execute a new function, so any role that can log in could read
/// per-region write counters or search every tenant. EXECUTE goes to the
/// owner alone here; the owner grants it to the service role at every start.
/// The functions that run as their owner (SECURITY DEFINER) look up names
/// with `pg_temp` last, so a caller's temporary objects cannot stand in for
/// their tables. `kpss_region_of` goes: an id of a region the caller cannot
/// read is answered as a missing one, so nothing asks past the policies.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000009_function_rights"
    }
}

const UP: &str = r#"DROP FUNCTION kpss_region_of(text, bigint);
ALTER FUNCTION kpss_search_match(tsquery) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION kpss_data_version(boolean, text, text) SET search_path = pg_catalog, public, pg_temp;
REVOKE EXECUTE ON FUNCTION kpss_in_setting(text, text), kpss_regions(text),
  kpss_search_match(tsquery), kpss_data_version(boolean, text, text) FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;"#;

const DOWN: &str = r#"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
GRANT EXECUTE ON FUNCTION kpss_in_setting(text, text), kpss_regions(text),
  kpss_search_match(tsquery), kpss_data_version(boolean, text, text) TO PUBLIC;
CREATE FUNCTION kpss_region_of(kind text, record_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE found text;
BEGIN
  IF kind NOT IN ('plan', 'priority', 'measure', 'activity', 'provider', 'service') THEN
    RAISE EXCEPTION 'unknown kind %', kind;
  END IF;
  EXECUTE format('SELECT region_code FROM %I WHERE id = $1', kind) INTO found USING record_id;
  RETURN found;
END
$$;
ALTER FUNCTION kpss_search_match(tsquery) SET search_path = pg_catalog, public;
ALTER FUNCTION kpss_data_version(boolean, text, text) SET search_path = pg_catalog, public;"#;

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
            m.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
