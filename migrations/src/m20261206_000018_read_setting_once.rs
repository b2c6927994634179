use crate::m20261205_000015_read_policy_for_all::{ALL, BY_ARRAY, set_read_policy};
use sea_orm_migration::prelude::*;

/// PostgreSQL: the read policy reads its setting once per statement, not
/// once per row. Whether the caller reads every region is a sub-select
/// (run once): `current_setting` for every row read took a third of a
/// national `capacitySummary` at 206 regions. The caller's regions are a
/// sub-select too, which PostgreSQL hashes once: `= ANY (array)` compared
/// every row with each of a kraj's 52 regions in turn. The same rule as
/// before.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000018_read_setting_once"
    }
}

const IN_REGIONS: &str = "region_code IN (SELECT unnest(kpss_regions('kpss.read_regions')))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_read_policy(m, &format!("(SELECT {ALL}) OR {IN_REGIONS}")).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_read_policy(m, &format!("{ALL} OR {BY_ARRAY}")).await
    }
}
