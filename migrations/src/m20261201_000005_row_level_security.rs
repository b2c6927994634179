use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// PostgreSQL row-level security, the second tenant wall after the `WHERE`
/// every query carries: a row of a tenant table is visible only when its
/// region is in `kpss.read_regions`, and written only when in
/// `kpss.write_regions` (comma-separated codes, or `*`), transaction-local
/// settings the service sets with each transaction. Without them a session
/// sees no tenant row. Table owners are exempt (migrations and seeding run
/// as the owner), so the service connects as a role of its own.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_row_level_security"
    }
}

/// The tables with a `region_code` when this migration was written (a later
/// tenant table gets its policies in its own migration).
const TABLES: [&str; 11] = [
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
];

const FUNCTIONS: &str = r#"
CREATE OR REPLACE FUNCTION kpss_in_setting(code text, setting text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT current_setting(setting, true) = '*'
      OR code = ANY (string_to_array(current_setting(setting, true), ','))
$$;

-- The regions of a setting as an array ('*' is every region). A policy reads
-- it through a sub-select, which PostgreSQL evaluates once per statement
-- (an InitPlan) instead of once per row.
CREATE OR REPLACE FUNCTION kpss_regions(setting text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN current_setting(setting, true) = '*' THEN ARRAY(SELECT code FROM region)
              ELSE string_to_array(coalesce(current_setting(setting, true), ''), ',') END
$$;

-- The region of a record whatever the caller may read, so that a write naming
-- a record of another region is refused as FORBIDDEN rather than NOT_FOUND.
-- It runs as the owner (not subject to the policies) and returns nothing else.
CREATE OR REPLACE FUNCTION kpss_region_of(kind text, record_id bigint) RETURNS text
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
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        c.execute_unprepared(FUNCTIONS).await?;
        for t in TABLES {
            c.execute_unprepared(&format!(
                r#"ALTER TABLE "{t}" ENABLE ROW LEVEL SECURITY;
CREATE POLICY kpss_read ON "{t}" FOR SELECT USING (region_code = ANY ((SELECT kpss_regions('kpss.read_regions'))::text[]));
CREATE POLICY kpss_insert ON "{t}" FOR INSERT WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_update ON "{t}" FOR UPDATE USING (kpss_in_setting(region_code, 'kpss.write_regions')) WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_delete ON "{t}" FOR DELETE USING (kpss_in_setting(region_code, 'kpss.write_regions'));"#
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        for t in TABLES {
            c.execute_unprepared(&format!(
                r#"DROP POLICY kpss_read ON "{t}"; DROP POLICY kpss_insert ON "{t}";
DROP POLICY kpss_update ON "{t}"; DROP POLICY kpss_delete ON "{t}";
ALTER TABLE "{t}" DISABLE ROW LEVEL SECURITY;"#
            ))
            .await?;
        }
        c.execute_unprepared(
            "DROP FUNCTION kpss_region_of(text, bigint); DROP FUNCTION kpss_regions(text); DROP FUNCTION kpss_in_setting(text, text);",
        )
        .await?;
        Ok(())
    }
}
