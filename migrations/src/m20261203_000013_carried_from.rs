use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// A measure rolled over into the next period's plan names the measure it
/// was carried from (`rollOverPlan`); null for every other measure.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000013_carried_from"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("measure")
                .add_column(big_integer_null("carried_from_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("measure")
                .drop_column("carried_from_id")
                .to_owned(),
        )
        .await
    }
}
