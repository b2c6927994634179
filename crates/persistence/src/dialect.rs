//! Where SQLite and PostgreSQL differ, all of it: transaction modes, the
//! tenant settings that row-level security reads, change notifications, the
//! data version, full-text matching, and what a database error means. No
//! other file asks which engine it runs on; it asks [`Dialect`] what the
//! engine does. Reading a row's cells is in [`row`], which needs no table.

use crate::entity::{audit_entry, data_version, region, search_entry};
use crate::{Pool, Result, scope};
use kpss_domain::access::Grant;
use kpss_domain::analysis::QueryTerm;
use kpss_domain::region::RegionCode;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, Func, InsertStatement, Query,
    QueryStatementBuilder, SimpleExpr, SubQueryStatement, UpdateStatement, WithQuery,
};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, QueryTrait, RuntimeErr,
    Select, SqliteTransactionMode, Statement, StatementBuilder, TransactionOptions,
    TransactionTrait,
};
use std::time::Duration;

pub(crate) mod row;

/// The database engine of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded, one process: changes are published in-process, and the
    /// service's own scope conditions are the only tenant wall.
    Sqlite,
    /// Shared by every instance: row-level security is a second tenant wall,
    /// and changes travel by `NOTIFY`.
    Postgres,
}

impl Dialect {
    pub fn of(c: &impl ConnectionTrait) -> Self {
        match c.get_database_backend() {
            DbBackend::Postgres => Self::Postgres,
            _ => Self::Sqlite,
        }
    }

    /// Whether row-level security stands behind the service's own scope
    /// conditions (reads then run in a transaction that carries the scope).
    pub fn has_row_level_security(self) -> bool {
        self == Self::Postgres
    }

    /// Whether committed changes reach every instance through the database
    /// (`NOTIFY`); otherwise this process publishes them itself.
    pub fn notifies_changes(self) -> bool {
        self == Self::Postgres
    }

    /// Whether instances share the database, so that starting ones take a
    /// lock to migrate and seed one at a time.
    pub fn is_shared(self) -> bool {
        self == Self::Postgres
    }

    /// Whether each statement of a read transaction sees the commits made
    /// since the one before (PostgreSQL's read committed); an SQLite read
    /// transaction keeps the snapshot of its first read.
    pub fn sees_later_commits_in_a_transaction(self) -> bool {
        self == Self::Postgres
    }

    /// Whether the engine streams its log to hot standbys that serve reads.
    pub fn streams_to_replicas(self) -> bool {
        self == Self::Postgres
    }

    /// SQLite takes one writer at a time: this process queues its writers
    /// in order (`Db::writers`) instead of letting them poll the file lock.
    pub fn queues_writers(self) -> bool {
        self == Self::Sqlite
    }

    /// `column IN (regions)`, for as many regions as a country has (a
    /// loader's plans or providers of every region): on PostgreSQL one
    /// parameter, split in a sub-select, which PostgreSQL hashes once; a list
    /// of parameters is built into an array again for every row a scan
    /// reads in the generic plans the pool keeps (the plans of 206 regions
    /// took five times as long). A region's code holds no comma.
    pub(crate) fn in_regions(self, column: impl ColumnTrait, regions: &[RegionCode]) -> SimpleExpr {
        let codes = regions.iter().map(RegionCode::as_str);
        match self {
            Self::Postgres => {
                let joined = codes.collect::<Vec<_>>().join(",");
                let split = Func::cust("string_to_array").arg(joined).arg(",");
                column.in_subquery(
                    Query::select()
                        .expr(Func::cust("unnest").arg(split))
                        .to_owned(),
                )
            }
            Self::Sqlite => column.is_in(codes),
        }
    }

    /// The statement that reads the data version of the regions of `read`:
    /// on PostgreSQL through the owner's `kpss_data_version` (no transaction,
    /// no settings needed), on SQLite the sum of the regions' counters.
    pub(crate) fn data_version(self, read: &Grant) -> Statement {
        match self {
            Self::Postgres => Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT kpss_data_version($1, $2, $3)",
                grant_params(read),
            ),
            Self::Sqlite => {
                let q = Query::select()
                    .expr(Expr::col(data_version::Column::Version).sum())
                    .from(data_version::Entity)
                    .cond_where(scope::condition(read, data_version::Column::RegionCode))
                    .to_owned();
                StatementBuilder::build(&q, &DbBackend::Sqlite)
            }
        }
    }

    /// Narrows `found` to the entries matching `terms`, and the expression
    /// that orders them best first: a `tsquery` through the owner's
    /// `kpss_search_match` on PostgreSQL, FTS5 on SQLite. `grants` are the
    /// regions the entries must be in (the caller's, a filter's): on SQLite
    /// FTS5 matches them with the terms, so that it reads only their
    /// entries; `found` must still hold their conditions, the tenant wall.
    pub(crate) fn full_text<E: EntityTrait>(
        self,
        mut found: Select<E>,
        terms: &[QueryTerm],
        grants: &[&Grant],
    ) -> (Select<E>, SimpleExpr) {
        match self {
            Self::Postgres => {
                let tsq = tsquery(terms);
                // Matched through the index by the owner's function (see the
                // migrations), in scope. In a sub-select it runs once: as a
                // filter, PostgreSQL may call it for every row it reads.
                found = found.filter(Expr::cust_with_values(
                    "search_entry.id = ANY (CAST((SELECT kpss_search_match(CAST($1 AS tsquery))) AS bigint[]))",
                    [tsq.clone()],
                ));
                // Normalised by document length; A (title) weighs 1.0, B (body) 0.4.
                // The query in a sub-select is parsed once, not for every entry
                // ranked (the generic plan of the pool's connections casts a
                // parameter where it stands).
                let rank = Expr::cust_with_values(
                    "-ts_rank(search_entry.document, (SELECT CAST($1 AS tsquery)), 1)",
                    [tsq],
                );
                (found, rank)
            }
            Self::Sqlite => {
                // FTS5 first: SQLite keeps a CROSS JOIN's order. Given the
                // region index first, it ran the full-text query once for
                // every entry of the region.
                QueryTrait::query(&mut found)
                    .from_clear()
                    .from(Alias::new("search_fts"))
                    .cross_join(search_entry::Entity);
                let mut query =
                    "search_fts.rowid = search_entry.id AND search_fts MATCH (?".to_owned();
                let mut parts = vec![Expr::val(fts5(terms))];
                for g in grants.iter().filter(|g| !g.all) {
                    query.push_str(" || ?");
                    parts.push(fts5_regions(g));
                }
                query.push(')');
                found = found.filter(Expr::cust_with_exprs(query, parts));
                // `region_terms` weighs nothing: the rank is the texts' alone.
                (found, Expr::cust("bm25(search_fts, 10.0, 1.0, 0.0)"))
            }
        }
    }
}

/// How long a request waits for a PostgreSQL connection: a server that is
/// gone is reported within a second, not after the default thirty.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_millis(750);

/// SQLite waits are for the lock of a local file, which a writer holds
/// while it commits; it is never "gone".
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock under which an instance migrates and seeds (any fixed number; "kpss").
const PREPARE_LOCK: i64 = 0x6b707373;

/// How much of an SQLite database file each connection reads through a
/// memory map: the connections share the operating system's one copy of
/// its pages instead of copying them into a 2 MB cache each (the national
/// `capacitySummary` at 206 regions, 4× the requests a second:
/// `bench/results/sqlite-mmap-2026-12-06.md`). Writes go through the
/// journal as before. The cost: an I/O error under a mapped page stops the
/// process instead of failing the statement.
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

/// The pool's options for `url`: its size, how long to wait for a
/// connection, and each engine's settings.
pub(crate) fn connect_options(url: &str, pool: Pool) -> Result<ConnectOptions> {
    create_private_sqlite_file(url)
        .map_err(|e| DbErr::Custom(format!("cannot create the database file: {e}")))?;
    let wait = if url.starts_with("postgres") {
        POSTGRES_CONNECT_TIMEOUT
    } else {
        SQLITE_ACQUIRE_TIMEOUT
    };
    let timeout = format!("{}ms", pool.statement_timeout.as_millis());
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false)
        .max_connections(pool.size)
        .connect_timeout(wait)
        .acquire_timeout(wait)
        // Pinging only a connection idle for a while (one the server or a
        // firewall may have closed) spares a busy connection a round trip
        // per checkout, and lets its last transaction's queued ROLLBACK go
        // out with the next BEGIN.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // Each prepared statement is planned once per connection: planned
        // anew for each execution (PostgreSQL's choice for statements whose
        // parameters could change the plan), a read under row-level security
        // spent more of PostgreSQL's time planning than running
        // (`bench/results/generic-plans-2026-12-06.md`).
        .map_sqlx_postgres_opts(move |o: PgConnectOptions| {
            o.options([
                ("statement_timeout", timeout.as_str()),
                ("plan_cache_mode", "force_generic_plan"),
            ])
        })
        .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
            // WAL lets readers run beside one writer; foreign keys are off in SQLite unless asked.
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
        });
    Ok(opts)
}

/// The first value of the first row that PostgreSQL answers to `sql`.
pub(crate) async fn postgres_value<T: sea_orm::TryGetable>(
    conn: &DatabaseConnection,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Option<T>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    row.map(|r| r.try_get_by_index::<T>(0)).transpose()
}

/// Creates a new SQLite database file readable by its owner only (SQLite
/// gives its journal files the same mode).
fn create_private_sqlite_file(url: &str) -> std::io::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') || std::path::Path::new(path).exists() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Open and idle connections of the pool.
pub(crate) fn pool_connections(conn: &DatabaseConnection) -> (u32, usize) {
    match Dialect::of(conn) {
        Dialect::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        Dialect::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// A transaction holding the lock under which one of several instances
/// sharing the database migrates and seeds (PostgreSQL's advisory lock;
/// released when the transaction ends).
pub(crate) async fn prepare_lock(url: &str) -> Result<DatabaseTransaction> {
    // On a connection of its own: the pool's serve the preparation, and a
    // pool may hold only one.
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false)
        .max_connections(1)
        .connect_timeout(POSTGRES_CONNECT_TIMEOUT);
    // Waiting for the lock is no statement to time out.
    let lock = Database::connect(opts).await?.begin().await?;
    lock.execute_unprepared("SET LOCAL statement_timeout = 0")
        .await?;
    lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PREPARE_LOCK})"))
        .await?;
    Ok(lock)
}

/// The query in FTS5's syntax, on the texts' columns (not `region_terms`).
/// Terms are `[a-z0-9]+`, so quoting is safe.
fn fts5(query: &[QueryTerm]) -> String {
    let parts: Vec<String> = query
        .iter()
        .map(|q| match q {
            QueryTerm::Word(w) => format!("\"{w}\""),
            QueryTerm::Prefix { term, prefix } => format!("(\"{term}\" OR \"{prefix}\"*)"),
            QueryTerm::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
        })
        .collect();
    format!("{{title_terms body_terms}}: ({})", parts.join(" AND "))
}

/// The query as a PostgreSQL `tsquery`. A phrase stays within the title
/// (weight A) or the body (B), as an FTS5 phrase stays within a column.
fn tsquery(query: &[QueryTerm]) -> String {
    let phrase = |ws: &[String], w: char| {
        let ws: Vec<String> = ws.iter().map(|t| format!("'{t}':{w}")).collect();
        format!("({})", ws.join(" <-> "))
    };
    let parts: Vec<String> = query
        .iter()
        .map(|q| match q {
            QueryTerm::Word(w) => format!("'{w}'"),
            QueryTerm::Prefix { term, prefix } => format!("('{term}' | '{prefix}':*)"),
            QueryTerm::Phrase(ws) => format!("({} | {})", phrase(ws, 'A'), phrase(ws, 'B')),
        })
        .collect();
    parts.join(" & ")
}

/// A write transaction takes the write lock at once on SQLite (so two writers
/// never deadlock upgrading read locks); plain BEGIN on PostgreSQL.
pub(crate) fn write_options() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}

/// The regions of `g` as a further condition of an FTS5 query, on the
/// `region_terms` column (the token the migration
/// `m20261206_000017_search_regions` gives an entry), read from the region
/// table in the statement (a kraj's regions are its region rows). None
/// (an empty text) beyond [`FTS5_MAX_REGIONS`]; "r", which no entry has,
/// where the grant holds no region.
fn fts5_regions(g: &Grant) -> SimpleExpr {
    let condition = Query::select()
        .expr(Expr::cust(format!(
            "CASE WHEN count(*) = 0 THEN ' AND region_terms: r' \
             WHEN count(*) <= {FTS5_MAX_REGIONS} THEN \
             ' AND region_terms: (' || group_concat('r' || lower(hex(code)), ' OR ') || ')' \
             ELSE '' END"
        )))
        .from(region::Entity)
        .cond_where(scope::condition(g, region::Column::Code))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(condition.into_sub_query_statement()))
}

/// The most regions a search names to FTS5. Its `bm25` weighs every phrase
/// of the query for every row it ranks, the regions' too. At 206 regions,
/// naming one region made three texts 1.3–5.6× faster than filtering after
/// the match; naming 16, 2–3× for two of them and 0.8× for the third;
/// naming 52, slower for two of three (`bench/results/search-latency.md`).
const FTS5_MAX_REGIONS: usize = 16;

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

/// The statement that sets the caller's regions: `set_config` of the read
/// and the write regions ($1–$3, $4–$6: [`grant_params`]).
macro_rules! set_scope {
    () => {
        "SELECT set_config('kpss.read_regions', CASE WHEN $1 THEN '*' ELSE \
        coalesce((SELECT string_agg(code, ',') FROM region WHERE code = ANY (string_to_array($2, ',')) \
        OR kraj_code = ANY (string_to_array($3, ','))), '') END, true), \
        set_config('kpss.write_regions', CASE WHEN $4 THEN '*' ELSE \
        coalesce((SELECT string_agg(code, ',') FROM region WHERE code = ANY (string_to_array($5, ',')) \
        OR kraj_code = ANY (string_to_array($6, ','))), '') END, true)"
    };
}

const SET_SCOPE: &str = set_scope!();

/// [`SET_SCOPE`], and the regions of a third grant ($7–$9) as rows of code
/// and kraj (one row of nulls where there is none). The region table has
/// no row-level security, so it does not matter which part runs first;
/// the left join keeps the settings' row, so they are always set.
const SET_SCOPE_NAMING: &str = concat!(
    "SELECT r.code, r.kraj_code FROM (",
    set_scope!(),
    ") s LEFT JOIN region r ON $7 OR r.code = ANY (string_to_array($8, ',')) \
    OR r.kraj_code = ANY (string_to_array($9, ','))"
);

/// Regions as (code, kraj) pairs.
pub(crate) type Regions = Vec<(String, String)>;

/// Sets the caller's regions for row-level security, for the rest of the
/// transaction `c` (PostgreSQL; nothing to do on SQLite). With `named`, the
/// same statement reads the regions it covers, as (code, kraj) pairs: a
/// request's first read (a filter's regions) then costs no round trip of
/// its own. `None` where it read no regions: none were named, or the scope
/// needs no statement.
pub(crate) async fn set_scope(
    c: &impl ConnectionTrait,
    read: &Grant,
    write: &Grant,
    named: Option<&Grant>,
) -> Result<Option<Regions>> {
    if !Dialect::of(c).has_row_level_security() {
        return Ok(None);
    }
    let mut values: Vec<sea_orm::Value> = grant_params(read)
        .into_iter()
        .chain(grant_params(write))
        .collect();
    let Some(named) = named else {
        let set = Statement::from_sql_and_values(DbBackend::Postgres, SET_SCOPE, values);
        c.query_one_raw(set).await?;
        return Ok(None);
    };
    values.extend(grant_params(named));
    let set = Statement::from_sql_and_values(DbBackend::Postgres, SET_SCOPE_NAMING, values);
    let mut found = Vec::new();
    for row in c.query_all_raw(set).await? {
        let code: Option<String> = row.try_get_by_index(0)?;
        let kraj: Option<String> = row.try_get_by_index(1)?;
        found.extend(code.zip(kraj));
    }
    Ok(Some(found))
}

/// Updates the record (`update`, where the change has one), writes its
/// search entry (`own_entry`) and audit entry (`audit`) and raises its
/// region's data version (`bump`), in one statement: where changes travel
/// through the database (PostgreSQL). Data-modifying `WITH` queries run
/// once whether or not the outer query reads them; each round trip saved is
/// about 25 µs of the service's CPU and as much of PostgreSQL's per write.
/// The audit entry's id, or `None` when the update found no row (the record
/// moved on): the caller then rolls back.
pub(crate) async fn record_change(
    c: &impl ConnectionTrait,
    update: Option<UpdateStatement>,
    own_entry: InsertStatement,
    mut audit: InsertStatement,
    bump: InsertStatement,
) -> Result<Option<i64>> {
    // The statements move into the query: cloning them (sea-query's
    // `to_owned`) copied every value twice.
    let mut change = WithQuery::new();
    let mut cte = |name: &str, q: SubQueryStatement| {
        let mut cte = CommonTableExpression::new();
        cte.query(q).table_name(Alias::new(name));
        change.cte(cte);
    };
    let mut applied = Expr::val(true);
    if let Some(mut update) = update {
        update.returning_col(Alias::new("id"));
        cte("updated", update.into());
        let mut any = Query::select();
        any.expr(Expr::val(1)).from(Alias::new("updated"));
        applied = Expr::exists(any);
    }
    audit.returning_col(audit_entry::Column::Id);
    cte("search", own_entry.into());
    cte("audit", audit.into());
    cte("version", bump.into());
    let mut select = Query::select();
    select
        .expr_as(
            Expr::col((Alias::new("audit"), audit_entry::Column::Id)),
            Alias::new("entry"),
        )
        .expr_as(applied, Alias::new("applied"))
        .from(Alias::new("audit"));
    change.query(select);
    let row = c.query_one(&change).await?;
    let row = row.ok_or_else(|| crate::Error::Data("the change wrote no audit entry".into()))?;
    let entry = row.try_get::<i64>("", "entry")?;
    Ok(row.try_get::<bool>("", "applied")?.then_some(entry))
}

/// Sends `payload` to the listeners of `channel` in a transaction of its
/// own, whose commit does not wait for the log's flush: a notification is
/// only a wake-up (PostgreSQL). A `NOTIFY` in a writing transaction would
/// hold the lock that queues notifying commits one at a time until its
/// commit is flushed.
pub(crate) async fn notify(c: &impl ConnectionTrait, channel: &str, payload: &str) -> Result<()> {
    c.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)",
        [channel.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// What a database error means to the caller, by the codes of both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Goes away when the transaction runs again: a serialization failure
    /// or deadlock on PostgreSQL, a busy or locked database on SQLite.
    Transient,
    /// The database cannot be reached or is shutting down; the client may retry.
    Unavailable,
    /// A value the client sent that the database cannot hold (PostgreSQL's
    /// class 22: a NUL character in text, a number out of range).
    BadData,
    /// Anything else: a bug, never shown to clients.
    Other,
}

pub fn failure(e: &DbErr) -> Failure {
    use sea_orm::sqlx::Error as Sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = e else {
        return match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Failure::Unavailable,
            _ => Failure::Other,
        };
    };
    match e.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => {
            Failure::Unavailable
        }
        Sqlx::Database(d) => match d.code().as_deref() {
            Some("40001" | "40P01" | "5" | "6" | "517") => Failure::Transient,
            // 08: connection exceptions; 57: operator intervention
            // (statement timeout, shutdown); 53300: too many connections.
            Some(c) if c.starts_with("08") || c.starts_with("57") || c == "53300" => {
                Failure::Unavailable
            }
            Some(c) if c.starts_with("22") => Failure::BadData,
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}

/// The user name of a PostgreSQL URL (the role the service connects as).
pub fn user_of(url: &str) -> Result<String> {
    use std::str::FromStr;
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| crate::Error::Data(format!("not a PostgreSQL URL: {e}")))?;
    Ok(opts.get_username().to_owned())
}

/// A connection that receives the notifications of `channel` (PostgreSQL).
pub(crate) async fn listener(url: &str, channel: &str) -> Result<PgListener> {
    let lost = |e: sea_orm::sqlx::Error| DbErr::Conn(RuntimeErr::Internal(e.to_string()));
    // As `PgListener::connect`, but a server that is gone fails the attempt
    // at once rather than after sqlx's 30 s, so the caller tries the next primary.
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(POSTGRES_CONNECT_TIMEOUT)
        .connect_lazy(url)
        .map_err(lost)?;
    let mut listener = PgListener::connect_with(&pool).await.map_err(lost)?;
    listener.listen(channel).await.map_err(lost)?;
    Ok(listener)
}

/// Grants the service's role exactly what it needs, run by the owner at every
/// start: read, insert and update on tenant tables, delete only where rows are
/// derived and replaced wholesale or pruned, read on the reference tables, no DDL.
pub(crate) async fn grant_service_role(conn: &DatabaseConnection, role: &str) -> Result<()> {
    if !Dialect::of(conn).has_row_level_security() {
        return Ok(());
    }
    let role = format!("\"{}\"", role.replace('"', "\"\""));
    // `change_event`: pruned by instances of the release before the audit log
    // carried the changes, which may still run during an upgrade.
    let derived = ["capacity", "plan_project", "search_entry", "change_event"];
    let mut sql = vec![
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT ON kraj, region TO {role}"),
        // Not tenant data: where each caller's latest write ends (replicas.rs).
        format!("GRANT SELECT, INSERT, UPDATE ON write_position TO {role}"),
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
    // One transaction: instances already serving (and standbys replaying)
    // never see the rights revoked and not yet granted again.
    let txn = conn.begin().await?;
    for s in sql {
        txn.execute_unprepared(&s).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use kpss_domain::region::{KrajCode, RegionCode};

    /// What `fts5_regions` adds to the FTS5 query for `g`.
    async fn regions_condition(db: &Db, g: &Grant) -> String {
        let select = Query::select().expr_as(fts5_regions(g), "c").to_owned();
        let row = db
            .conn()
            .query_one(&select)
            .await
            .expect("the condition")
            .expect("a row");
        row.try_get("", "c").expect("text")
    }

    #[tokio::test]
    async fn sqlite_connections_read_through_a_memory_map() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("kpss.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA mmap_size",
            ))
            .await
            .expect("the pragma")
            .expect("a row");
        let bytes: i64 = row.try_get_by_index(0).expect("a number");
        assert_eq!(u64::try_from(bytes), Ok(SQLITE_MMAP_BYTES));
    }

    /// `.cargo/config.toml` builds SQLite without the allocation mutex and
    /// with plans that do not depend on bound values.
    #[tokio::test]
    async fn sqlite_is_built_for_concurrent_connections() {
        let db = Db::connect("sqlite::memory:").await.expect("connect");
        for option in ["DEFAULT_MEMSTATUS=0", "ENABLE_QPSG"] {
            let row = db
                .conn()
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    format!("SELECT sqlite_compileoption_used('{option}')"),
                ))
                .await
                .expect("the option")
                .expect("a row");
            let used: i64 = row.try_get_by_index(0).expect("a number");
            assert_eq!(used, 1, "SQLite is built without SQLITE_{option}");
        }
    }

    #[tokio::test]
    async fn a_search_names_at_most_sixteen_regions_to_fts5() {
        let db = Db::connect("sqlite::memory:").await.expect("connect");
        db.migrate().await.expect("migrate");
        let mut sql = "INSERT INTO kraj (code, name, name_key) VALUES ('CZ032', 'P', 'p'), ('CZ072', 'Z', 'z');
            INSERT INTO region (code, name, name_key, kind, kraj_code) VALUES ('solo', 's', 's', 'orp', 'CZ072')".to_owned();
        for i in 0..=FTS5_MAX_REGIONS {
            sql.push_str(&format!(", ('r{i}', 'r', 'r', 'orp', 'CZ032')"));
        }
        db.conn().execute_unprepared(&sql).await.expect("regions");
        let solo = RegionCode::parse("region", "solo").expect("a region");
        let grant = |regions: Vec<RegionCode>, kraje: Vec<&str>| Grant {
            regions: regions.into_iter().collect(),
            kraje: kraje
                .into_iter()
                .map(|k| KrajCode::parse("kraj", k).expect("a kraj"))
                .collect(),
            all: false,
        };
        let cases = [
            (
                grant(vec![solo.clone()], vec![]),
                " AND region_terms: (r736f6c6f)",
            ),
            (
                grant(vec![], vec!["CZ072"]),
                " AND region_terms: (r736f6c6f)",
            ),
            (grant(vec![solo], vec!["CZ032"]), ""),
            (grant(vec![], vec![]), " AND region_terms: r"),
        ];
        for (g, expected) in cases {
            assert_eq!(regions_condition(&db, &g).await, expected, "{g:?}");
        }
        let sixteen = grant(
            (1..=FTS5_MAX_REGIONS)
                .map(|i| RegionCode::parse("region", &format!("r{i}")).expect("a region"))
                .collect(),
            vec![],
        );
        let named = regions_condition(&db, &sixteen).await;
        assert_eq!(
            named.matches(" OR ").count(),
            FTS5_MAX_REGIONS - 1,
            "{named}"
        );
    }
}
