use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Money is an integer number of crowns, not a floating-point number.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_money_in_crowns"
    }
}

/// The amount moves to a column of the new type (`cost_czk`): SQLite cannot
/// change a column's type in place.
async fn retype(m: &SchemaManager<'_>, from: &str, to: &str, ty: &str) -> Result<(), DbErr> {
    let c = m.get_connection();
    for sql in [
        format!("ALTER TABLE measure ADD COLUMN {to} {ty}"),
        format!("UPDATE measure SET {to} = CAST({from} AS {ty})"),
        format!("ALTER TABLE measure DROP COLUMN {from}"),
    ] {
        c.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let integer = if m.get_database_backend() == DbBackend::Postgres {
            "bigint"
        } else {
            "INTEGER"
        };
        retype(m, "cost_amount_czk", "cost_czk", integer).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let real = if m.get_database_backend() == DbBackend::Postgres {
            "double precision"
        } else {
            "REAL"
        };
        retype(m, "cost_czk", "cost_amount_czk", real).await
    }
}
