use sea_orm_migration::prelude::*;

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
        crate::add_optional_id(m, "measure", "carried_from_id").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_column(m, "measure", "carried_from_id").await
    }
}
