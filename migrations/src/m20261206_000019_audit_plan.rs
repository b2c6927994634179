use sea_orm_migration::prelude::*;

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
        crate::add_optional_id(m, "audit_entry", "plan_id").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_column(m, "audit_entry", "plan_id").await
    }
}
