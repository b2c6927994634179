//! A row's cells as the engine's driver decodes them: the one part of the
//! dialect that the tables' decoding needs, so it depends on no table.

use sea_orm::DbErr;
use sea_orm::sqlx::{self, Column as _, Row as _};

/// A value either engine's driver decodes.
pub(crate) trait Cell:
    for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
{
}

impl<T> Cell for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
{
}

/// Cell `i` of `row`, which must be column `name` (see [`crate::decode`]),
/// as the engine's driver decodes it.
pub(crate) fn cell<T: Cell>(row: &sea_orm::QueryResult, i: usize, name: &str) -> Result<T, DbErr> {
    fn named<R: sqlx::Row>(row: &R, i: usize, name: &str) -> Result<(), DbErr> {
        match row.columns().get(i) {
            Some(c) if c.name() == name => Ok(()),
            found => Err(DbErr::Type(format!(
                "column {i} is {:?}, not {name:?}",
                found.map(|c| c.name())
            ))),
        }
    }
    let query_err = |e| DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e)));
    if let Some(r) = row.try_as_pg_row() {
        named(r, i, name)?;
        r.try_get(i).map_err(query_err)
    } else if let Some(r) = row.try_as_sqlite_row() {
        named(r, i, name)?;
        r.try_get(i).map_err(query_err)
    } else {
        Err(DbErr::Type("a row of neither PostgreSQL nor SQLite".into()))
    }
}
