use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// On SQLite the `parent_id` indexes of measures and activities hold only
/// the rows that have a parent. They serve the lookups of children
/// (`parent_id IN (…)`), and a query of the top-level rows (`parent_id IS
/// NULL`, most of the table) can no longer take them: without statistics SQLite took the
/// parent index for it and read every top-level row of every region instead
/// of the few under the priorities or measures asked for. PostgreSQL keeps
/// statistics and plans these reads by them; its indexes stay whole.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000016_child_indexes"
    }
}

const TABLES: [&str; 2] = ["measure", "activity"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        parent_indexes(m, " WHERE parent_id IS NOT NULL").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        parent_indexes(m, "").await
    }
}

/// Makes each table's `parent_id` index anew, with `filter` (SQLite only).
async fn parent_indexes(m: &SchemaManager<'_>, filter: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let steps: Vec<String> = TABLES
        .iter()
        .flat_map(|t| {
            [
                format!("DROP INDEX IF EXISTS ix_{t}_parent_id"),
                format!("CREATE INDEX ix_{t}_parent_id ON {t} (parent_id){filter}"),
            ]
        })
        .collect();
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    crate::in_one_transaction(m, &steps).await
}
