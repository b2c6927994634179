use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};

/// On SQLite the full-text index holds each entry's region as a term
/// (`region_terms`: "r" and the code's bytes in hex, one token), so that a
/// search matches the caller's regions and the text together inside FTS5
/// and reads only their entries. Before, FTS5 found the matches of every
/// region and the region was filtered after, or (as SQLite planned it for a
/// one-region grant) the full-text query ran once for every entry of the
/// region; either way a search grew with the number of regions.
/// PostgreSQL's search is unchanged.
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = ["title_terms", "body_terms", "region_terms"];
        sqlite_only(m, &[DROP_INDEX, REGION_TERMS, &index(&columns)]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = ["title_terms", "body_terms"];
        let drop_column = "ALTER TABLE search_entry DROP COLUMN region_terms;";
        sqlite_only(m, &[DROP_INDEX, drop_column, &index(&columns)]).await
    }
}

/// Runs `steps` in one transaction on SQLite; nothing on PostgreSQL.
async fn sqlite_only(m: &SchemaManager<'_>, steps: &[&str]) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    // One connection: another connection of the pool may not yet see a table this one dropped.
    let txn = m.get_connection().begin().await?;
    for step in steps {
        txn.execute_unprepared(step).await?;
    }
    txn.commit().await
}
