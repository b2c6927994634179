use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Evaluations get a version like the other edited records, so that
/// `recordEvaluation` can refuse a replacement made from a stale read.
/// Existing evaluations start at 1.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000010_evaluation_version"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("evaluation")
                .add_column(integer("version").default(1))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("evaluation")
                .drop_column("version")
                .to_owned(),
        )
        .await
    }
}
