use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Search entries become full-text documents: per record its title, the
/// texts it shows (`fields`, a JSON array) and their terms as the service's
/// Czech analysis makes them (`title_terms`, `body_terms`). The databases'
/// own full-text indexes hold those terms: a GIN-indexed `tsvector` with
/// the title weighted `A` on PostgreSQL, an FTS5 table kept by triggers on
/// SQLite. Archived records keep their entry, flagged. The old entries
/// are dropped (derived data): the service rebuilds them at start.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_czech_search"
    }
}

/// The same policies as `m20261201_000005_row_level_security` gives every tenant table.
const POLICIES: &str = r#"ALTER TABLE search_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY kpss_read ON search_entry FOR SELECT USING (kpss_in_setting(region_code, 'kpss.read_regions'));
CREATE POLICY kpss_insert ON search_entry FOR INSERT WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_update ON search_entry FOR UPDATE USING (kpss_in_setting(region_code, 'kpss.write_regions')) WITH CHECK (kpss_in_setting(region_code, 'kpss.write_regions'));
CREATE POLICY kpss_delete ON search_entry FOR DELETE USING (kpss_in_setting(region_code, 'kpss.write_regions'));"#;

/// The terms are `[a-z0-9]+` words separated by single spaces, which the
/// 'simple' configuration takes as they are.
const POSTGRES_INDEX: &str = r#"ALTER TABLE search_entry ADD COLUMN document tsvector GENERATED ALWAYS AS
  (setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || setweight(to_tsvector('simple'::regconfig, body_terms), 'B')) STORED;
CREATE INDEX ix_search_entry_document ON search_entry USING gin (document);

-- The ids of readable entries matching a query. `@@` is not leakproof, so
-- under row-level security PostgreSQL may not use the GIN index for it and
-- scans every entry; run as the owner, the match uses the index, and the
-- same region rule as the read policy keeps the answer to readable rows.
CREATE FUNCTION kpss_search_match(query tsquery) RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT coalesce(array_agg(id), '{}') FROM search_entry
  WHERE document @@ query AND kpss_in_setting(region_code, 'kpss.read_regions')
$$;"#;

/// An external-content FTS5 table over the entries (rowid = entry id).
const SQLITE_INDEX: &str = r#"CREATE VIRTUAL TABLE search_fts USING fts5(title_terms, body_terms, content='search_entry', content_rowid='id', tokenize='ascii');
CREATE TRIGGER search_entry_fts_insert AFTER INSERT ON search_entry BEGIN
  INSERT INTO search_fts(rowid, title_terms, body_terms) VALUES (new.id, new.title_terms, new.body_terms);
END;
CREATE TRIGGER search_entry_fts_delete AFTER DELETE ON search_entry BEGIN
  INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms) VALUES ('delete', old.id, old.title_terms, old.body_terms);
END;
CREATE TRIGGER search_entry_fts_update AFTER UPDATE ON search_entry BEGIN
  INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms) VALUES ('delete', old.id, old.title_terms, old.body_terms);
  INSERT INTO search_fts(rowid, title_terms, body_terms) VALUES (new.id, new.title_terms, new.body_terms);
END;"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("search_entry").to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table("search_entry")
                .col(big_pk_auto("id"))
                .col(string("region_code"))
                .col(string("kind"))
                .col(big_integer("entity_id"))
                .col(big_integer_null("plan_id"))
                .col(big_integer_null("measure_id"))
                .col(big_integer_null("provider_id"))
                .col(boolean("archived"))
                .col(text("title"))
                .col(text("fields"))
                .col(text("title_terms"))
                .col(text("body_terms"))
                .foreign_key(
                    ForeignKey::create()
                        .from("search_entry", "region_code")
                        .to("region", "code"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_search_entry_region")
                .table("search_entry")
                .col("region_code")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_search_entry_record")
                .table("search_entry")
                .col("kind")
                .col("entity_id")
                .unique()
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        if m.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(POSTGRES_INDEX).await?;
            db.execute_unprepared(POLICIES).await?;
        } else {
            db.execute_unprepared(SQLITE_INDEX).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drop = if m.get_database_backend() == DbBackend::Postgres {
            "DROP FUNCTION kpss_search_match(tsquery)"
        } else {
            "DROP TABLE search_fts"
        };
        m.get_connection().execute_unprepared(drop).await?;
        m.drop_table(Table::drop().table("search_entry").to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table("search_entry")
                .col(big_pk_auto("id"))
                .col(string("region_code"))
                .col(string("kind"))
                .col(big_integer("entity_id"))
                .col(text("title"))
                .col(text("body"))
                .col(text("fold_title"))
                .col(text("fold"))
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection().execute_unprepared(POLICIES).await?;
        }
        Ok(())
    }
}
