//! Where SQLite and PostgreSQL differ: transaction modes, the tenant settings
//! that row-level security reads, change notifications, which errors are
//! worth a retry, and finding a record's region past the tenant wall.

use crate::{Error, Result};
use kpss_domain::access::Grant;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, RuntimeErr, SqliteTransactionMode,
    Statement, TransactionOptions,
};

/// A write transaction takes the write lock at once on SQLite (so two writers
/// never deadlock upgrading read locks); plain BEGIN on PostgreSQL.
pub(crate) fn write_options() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}

/// A grant as row-level security reads it: `*`, or the region codes (the
/// regions of granted kraje are looked up in the same statement).
fn grant_params(g: &Grant) -> [sea_orm::Value; 3] {
    let csv = |items: Vec<&str>| items.join(",");
    [
        g.all.into(),
        csv(g.regions.iter().map(|r| r.as_str()).collect()).into(),
        csv(g.kraje.iter().map(|k| k.as_str()).collect()).into(),
    ]
}

const SET_SCOPE: &str = "SELECT set_config('kpss.read_regions', CASE WHEN $1 THEN '*' ELSE \
    coalesce((SELECT string_agg(code, ',') FROM region WHERE code = ANY (string_to_array($2, ',')) \
    OR kraj_code = ANY (string_to_array($3, ','))), '') END, true), \
    set_config('kpss.write_regions', CASE WHEN $4 THEN '*' ELSE \
    coalesce((SELECT string_agg(code, ',') FROM region WHERE code = ANY (string_to_array($5, ',')) \
    OR kraj_code = ANY (string_to_array($6, ','))), '') END, true)";

/// Sets the caller's regions for row-level security, for the rest of the
/// transaction `c` (PostgreSQL; nothing to do on SQLite).
pub(crate) async fn set_scope(c: &impl ConnectionTrait, read: &Grant, write: &Grant) -> Result<()> {
    if c.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let values: Vec<sea_orm::Value> = grant_params(read)
        .into_iter()
        .chain(grant_params(write))
        .collect();
    c.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        SET_SCOPE,
        values,
    ))
    .await?;
    Ok(())
}

/// The data version of the regions of `read`, in one statement through the
/// owner's `kpss_data_version` (no transaction, no settings needed).
pub(crate) fn data_version_statement(read: &Grant) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT kpss_data_version($1, $2, $3)",
        grant_params(read),
    )
}

/// Queues a change notification in the transaction (PostgreSQL delivers it
/// on commit to every instance; SQLite publishes in-process after commit).
pub(crate) async fn notify(c: &impl ConnectionTrait, channel: &str, payload: String) -> Result<()> {
    if c.get_database_backend() == DbBackend::Postgres {
        c.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A failure that goes away when the transaction runs again: a serialization
/// failure or deadlock on PostgreSQL, a busy or locked database on SQLite.
pub(crate) fn is_transient(e: &Error) -> bool {
    let Error::Db(DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) =
        e
    else {
        return false;
    };
    let Some(code) = e.as_database_error().and_then(|d| d.code()) else {
        return false;
    };
    matches!(code.as_ref(), "40001" | "40P01" | "5" | "6" | "517")
}

/// Grants the service's role exactly what it needs, run by the owner at every
/// start: read, insert and update on tenant tables, delete only where rows are
/// derived and replaced wholesale or pruned, read on the reference tables, no DDL.
pub(crate) async fn grant_service_role(conn: &DatabaseConnection, role: &str) -> Result<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let role = format!("\"{}\"", role.replace('"', "\"\""));
    let derived = ["capacity", "search_entry", "change_event"];
    let mut sql = vec![
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT ON kraj, region TO {role}"),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        // The policies and the service call them; no other role may.
        format!(
            "GRANT EXECUTE ON FUNCTION kpss_in_setting(text, text), kpss_regions(text), \
             kpss_search_match(tsquery), kpss_data_version(boolean, text, text) TO {role}"
        ),
    ];
    for t in kpss_migrations::TENANT_TABLES {
        let rights = if derived.contains(&t) {
            "SELECT, INSERT, UPDATE, DELETE"
        } else {
            "SELECT, INSERT, UPDATE"
        };
        sql.push(format!("GRANT {rights} ON \"{t}\" TO {role}"));
    }
    for s in sql {
        conn.execute_unprepared(&s).await?;
    }
    Ok(())
}
