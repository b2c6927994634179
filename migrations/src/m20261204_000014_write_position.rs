use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Where each caller's latest write ends in the primary's write-ahead log,
/// so that a read replica serves the caller only once it has replayed that
/// far (read-your-writes). Written and read on the primary only.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000014_write_position"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("write_position")
                .col(string("subject").primary_key())
                .col(big_integer("lsn"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("write_position").to_owned())
            .await
    }
}
