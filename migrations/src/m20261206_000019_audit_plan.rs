use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The audit log is the change feed: an entry carries the plan of its
/// change, and on PostgreSQL a write notifies its entry's id instead of
/// writing a second row into `change_event`. That table stays while
/// instances of the previous release may still write into it during an
/// upgrade; nothing reads it any more.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000019_audit_plan"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("audit_entry")
                .add_column(big_integer_null("plan_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("audit_entry")
                .drop_column("plan_id")
                .to_owned(),
        )
        .await
    }
}
