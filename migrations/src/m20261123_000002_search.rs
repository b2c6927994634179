use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Folded (lower case, no diacritics) copies of searchable text, and one
/// search entry per plan, priority, measure, activity and provider.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for (table, col) in [
            ("measure", "fold_text"),
            ("measure", "fold_target_groups"),
            ("provider", "fold_name"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(text(col).default(""))
                    .to_owned(),
            )
            .await?;
        }
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
                .name("ix_search_entry_region_code")
                .table("search_entry")
                .col("region_code")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_search_entry_kind_entity")
                .table("search_entry")
                .col("kind")
                .col("entity_id")
                .unique()
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            // Trigram indexes serve `LIKE '%term%'` on PostgreSQL (pg_trgm is a trusted extension).
            let db = m.get_connection();
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            db.execute_unprepared("CREATE INDEX ix_search_entry_fold_trgm ON search_entry USING gin (fold gin_trgm_ops)").await?;
            db.execute_unprepared("CREATE INDEX ix_measure_fold_text_trgm ON measure USING gin (fold_text gin_trgm_ops)").await?;
            db.execute_unprepared("CREATE INDEX ix_provider_fold_name_trgm ON provider USING gin (fold_name gin_trgm_ops)").await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("search_entry").to_owned())
            .await?;
        for (table, col) in [
            ("measure", "fold_text"),
            ("measure", "fold_target_groups"),
            ("provider", "fold_name"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
