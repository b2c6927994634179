use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// A search names the caller's regions where the database matches the
/// words, so that it reads only their entries. Before, the full-text index
/// gave the matches of every region and the region was filtered after (or,
/// as SQLite planned it for a one-region grant, the full-text query ran
/// once for every entry of the region): a search grew with the number of
/// regions.
/// - SQLite: the FTS5 table holds each entry's region as a term
///   (`region_terms`: "r" and the code's bytes in hex, one token).
/// - PostgreSQL: `kpss_search_match` names the caller's regions in its
///   query (it tested them with `kpss_in_setting`, which no index serves),
///   so that the planner may start from the region index or from the text's.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000017_search_regions"
    }
}

/// The index as `m20261201_000006_czech_search` made it, over `columns`,
/// kept by triggers, and filled from the entries.
fn index(columns: &[&str]) -> String {
    let names = columns.join(", ");
    let of = |row: &str| {
        columns
            .iter()
            .map(|c| format!("{row}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (new, old) = (of("new"), of("old"));
    format!(
        "CREATE VIRTUAL TABLE search_fts USING fts5({names}, content='search_entry', content_rowid='id', tokenize='ascii');
CREATE TRIGGER search_entry_fts_insert AFTER INSERT ON search_entry BEGIN
  INSERT INTO search_fts(rowid, {names}) VALUES (new.id, {new});
END;
CREATE TRIGGER search_entry_fts_delete AFTER DELETE ON search_entry BEGIN
  INSERT INTO search_fts(search_fts, rowid, {names}) VALUES ('delete', old.id, {old});
END;
CREATE TRIGGER search_entry_fts_update AFTER UPDATE ON search_entry BEGIN
  INSERT INTO search_fts(search_fts, rowid, {names}) VALUES ('delete', old.id, {old});
  INSERT INTO search_fts(rowid, {names}) VALUES (new.id, {new});
END;
INSERT INTO search_fts(search_fts) VALUES ('rebuild');"
    )
}

const DROP_INDEX: &str = "DROP TRIGGER search_entry_fts_insert;
DROP TRIGGER search_entry_fts_delete;
DROP TRIGGER search_entry_fts_update;
DROP TABLE search_fts;";

/// The token the service's queries name a region by (`dialect::fts5_regions`).
const REGION_TERMS: &str = "ALTER TABLE search_entry ADD COLUMN region_terms TEXT
  GENERATED ALWAYS AS ('r' || lower(hex(region_code))) VIRTUAL;";

/// The readable entries' ids that match `query`, as the owner (see
/// `m20261201_000006_czech_search`), the caller's regions named in the
/// query unless they are all. Planned for each call's regions: a plan
/// kept for any regions took every region's matches from the text index.
const POSTGRES_UP: &str = r#"CREATE OR REPLACE FUNCTION kpss_search_match(query tsquery) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp SET plan_cache_mode = force_custom_plan AS $$
DECLARE readable text := current_setting('kpss.read_regions', true);
BEGIN
  IF readable = '*' THEN
    RETURN (SELECT coalesce(array_agg(id), '{}') FROM search_entry WHERE document @@ query);
  END IF;
  RETURN (SELECT coalesce(array_agg(id), '{}') FROM search_entry
    WHERE document @@ query AND region_code = ANY (string_to_array(readable, ',')));
END
$$;"#;

const POSTGRES_DOWN: &str = r#"CREATE OR REPLACE FUNCTION kpss_search_match(query tsquery) RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT coalesce(array_agg(id), '{}') FROM search_entry
  WHERE document @@ query AND kpss_in_setting(region_code, 'kpss.read_regions')
$$;"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let index = index(&["title_terms", "body_terms", "region_terms"]);
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                crate::in_one_transaction(m, &[DROP_INDEX, REGION_TERMS, &index]).await
            }
            _ => crate::in_one_transaction(m, &[POSTGRES_UP]).await,
        }
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let index = index(&["title_terms", "body_terms"]);
        let drop_column = "ALTER TABLE search_entry DROP COLUMN region_terms;";
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                crate::in_one_transaction(m, &[DROP_INDEX, drop_column, &index]).await
            }
            _ => crate::in_one_transaction(m, &[POSTGRES_DOWN]).await,
        }
    }
}
