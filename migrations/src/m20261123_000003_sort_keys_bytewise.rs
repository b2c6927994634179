use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Czech sort keys are computed in Rust to sort byte by byte; on PostgreSQL
/// the columns take the "C" collation so the database's locale cannot reorder them.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_sort_keys_bytewise"
    }
}

const COLUMNS: [(&str, &str); 3] = [
    ("kraj", "name_key"),
    ("region", "name_key"),
    ("provider", "name_key"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            for (table, col) in COLUMNS {
                m.get_connection()
                    .execute_unprepared(&format!(
                        r#"ALTER TABLE "{table}" ALTER COLUMN "{col}" TYPE text COLLATE "C""#
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            for (table, col) in COLUMNS {
                m.get_connection()
                    .execute_unprepared(&format!(
                        r#"ALTER TABLE "{table}" ALTER COLUMN "{col}" TYPE text COLLATE "default""#
                    ))
                    .await?;
            }
        }
        Ok(())
    }
}
