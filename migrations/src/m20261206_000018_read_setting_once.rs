use crate::m20261205_000015_read_policy_for_all::{BY_ARRAY, set_read_policy};
use sea_orm_migration::prelude::*;

/// PostgreSQL: the read policy asks whether the caller reads every region
/// once per statement (a sub-select, run once) instead of once per row:
/// `current_setting` for every row read took a third of the time of a
/// national `capacitySummary` over 206 regions. The same rule as before.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000018_read_setting_once"
    }
}

const ALL: &str = "current_setting('kpss.read_regions', true) = '*'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_read_policy(m, &format!("(SELECT {ALL}) OR {BY_ARRAY}")).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_read_policy(m, &format!("{ALL} OR {BY_ARRAY}")).await
    }
}
