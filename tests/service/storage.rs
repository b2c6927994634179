//! Storage: migrations and seed loading on both databases.

use crate::support::{Backend, fresh_config, repo_path};
use kpss_persistence::seed::{Outcome, SeedFiles, load};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::path::Path;

const TABLES: &[&str] = &[
    "kraj",
    "region",
    "plan",
    "plan_project",
    "priority",
    "measure",
    "activity",
    "evaluation",
    "provider",
    "service",
    "capacity",
];

async fn raw(url: &str) -> DatabaseConnection {
    Database::connect(url).await.expect("raw connection")
}

async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn counts(conn: &DatabaseConnection) -> Vec<i64> {
    let mut all = Vec::new();
    for t in TABLES {
        all.push(count(conn, &format!("SELECT COUNT(*) FROM {t}")).await);
    }
    all
}

/// The seed files and the source documents they point into.
fn copy_seeds(to: &Path) {
    for entry in std::fs::read_dir(repo_path("seeds")).expect("seeds") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::create_dir(to.join("sources")).expect("dir");
    for entry in std::fs::read_dir(repo_path("seeds/sources")).expect("sources") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            to.join("sources").join(path.file_name().expect("name")),
        )
        .expect("copy");
    }
}

async fn seeding_twice_changes_nothing(b: Backend) {
    let (config, _dir) = fresh_config(b).await;
    kpss::prepare_database(&config).await.expect("prepared");
    // Seeding is the owner's work, as `kpss seed` does it.
    let db = kpss_persistence::Db::connect(&config.owner_url().expect("url"))
        .await
        .expect("connect");
    let conn = raw(&config.owner_url().expect("url")).await;
    let before = counts(&conn).await;
    assert!(before[2] > 0, "the seeds hold plans");
    let outcomes = load(&db, &config.seed_files(), false)
        .await
        .expect("second load");
    assert!(!outcomes.is_empty());
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Unchanged { .. })),
        "{outcomes:?}"
    );
    assert_eq!(counts(&conn).await, before);
}

async fn reseeding_a_region_changed_through_the_api_needs_replace_and_archives(b: Backend) {
    let (config, dir) = fresh_config(b).await;
    kpss::prepare_database(&config).await.expect("prepared");
    // Seeding is the owner's work, as `kpss seed` does it.
    let db = kpss_persistence::Db::connect(&config.owner_url().expect("url"))
        .await
        .expect("connect");
    let conn = raw(&config.owner_url().expect("url")).await;
    let active = "SELECT COUNT(*) FROM plan WHERE region_code = 'klatovy' AND archived = false";
    let plans = count(&conn, active).await;
    conn.execute_unprepared(
        "INSERT INTO audit_entry (at, actor, region_code, entity, entity_id, action) VALUES (CURRENT_TIMESTAMP, 'editor', 'klatovy', 'Plan', 1, 'UPDATED')",
    )
    .await
    .expect("an API change");
    let seeds = dir.path().join("seeds");
    std::fs::create_dir(&seeds).expect("dir");
    copy_seeds(&seeds);
    let klatovy = seeds.join("klatovy.yaml");
    let text = std::fs::read_to_string(&klatovy).expect("read");
    std::fs::write(&klatovy, format!("# edited\n{text}")).expect("write");

    let err = load(&db, &SeedFiles::Dir(seeds.clone()), false)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("klatovy") && err.contains("--replace"),
        "{err}"
    );
    assert_eq!(
        count(&conn, active).await,
        plans,
        "a refused import changes nothing"
    );

    load(&db, &SeedFiles::Dir(seeds.clone()), true)
        .await
        .expect("replaced");
    assert_eq!(count(&conn, active).await, plans);
    let archived = count(
        &conn,
        "SELECT COUNT(*) FROM plan WHERE region_code = 'klatovy' AND archived = true",
    )
    .await;
    assert_eq!(
        archived, plans,
        "the earlier records are archived, not deleted"
    );
}

async fn a_broken_seed_file_is_named_with_its_path_and_imports_nothing(b: Backend) {
    let cases = [
        (
            "plans:\n  - key: a\n    title: T\n    kind: ACTION_PLAN\n    period_start: 2023\n    period_end: 2023\n    colour: red\n",
            "plans[0]",
            "colour",
        ),
        (
            "plans:\n  - key: a\n    title: T\n    kind: ACTION\n    period_start: 2023\n    period_end: 2023\n",
            "plans[0].kind",
            "ACTION",
        ),
        (
            "plans:\n  - key: a\n    title: T\n    kind: ACTION_PLAN\n    period_start: 2023\n    period_end: 2022\n",
            "plans[0].period_end",
            "before",
        ),
        (
            "plans:\n  - key: a\n    title: T\n    kind: ACTION_PLAN\n    period_start: 2023\n    period_end: 2023\n    parent: b\n",
            "plans[0].parent",
            "`b`",
        ),
        (
            "plans:\n  - key: a\n    title: T\n    kind: ACTION_PLAN\n    period_start: 2023\n    period_end: 2023\n    priorities:\n      - {code: '1', title: A}\n      - {code: '1', title: B}\n",
            "plans[0].priorities[1].code",
            "twice",
        ),
        (
            "providers:\n  - name: P\n    services:\n      - service_type: PECOVATELSKA_SLUZBA\n        capacities: [{value: -3, unit: BEDS}]\n",
            "providers[0].services[0].capacities[0].value",
            "negative",
        ),
    ];
    for (body, path, detail) in cases {
        let (config, dir) = fresh_config(b).await;
        let db = kpss_persistence::Db::connect(&config.owner_url().expect("url"))
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let seeds = dir.path().join("seeds");
        std::fs::create_dir(&seeds).expect("dir");
        std::fs::copy(repo_path("seeds/regions.yaml"), seeds.join("regions.yaml")).expect("copy");
        std::fs::write(
            seeds.join("chomutov.yaml"),
            format!("region: chomutov\n{body}"),
        )
        .expect("write");
        let err = load(&db, &SeedFiles::Dir(seeds.clone()), false)
            .await
            .expect_err("invalid seed")
            .to_string();
        assert!(
            err.contains("chomutov.yaml") && err.contains(path) && err.contains(detail),
            "expected {path} / {detail} in: {err}"
        );
        let conn = raw(&config.owner_url().expect("url")).await;
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM plan").await
                + count(&conn, "SELECT COUNT(*) FROM provider").await,
            0
        );
    }
}

/// The schema as the database describes it: every column of every table
/// (with its type), and on PostgreSQL the row-level security policies.
async fn schema(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations' \
             UNION ALL SELECT 'policy ' || tablename || '.' || policyname FROM pg_policies ORDER BY 1"
        }
        _ => {
            "SELECT m.name || '.' || p.name || ' ' || p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT IN ('seaql_migrations', 'sqlite_sequence') ORDER BY 1"
        }
    };
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("schema")
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a line"))
        .collect()
}

/// Up, up again (a no-op), all the way down (nothing left), and up again to the same schema.
async fn migrations_run_up_twice_down_and_up_again(b: Backend) {
    use kpss_migrations::{Migrator, MigratorTrait};
    let (config, _dir) = fresh_config(b).await;
    let url = config.owner_url().expect("url");
    // A new SQLite file is created only when asked.
    let url = if b == Backend::Sqlite {
        format!("{url}?mode=rwc")
    } else {
        url
    };
    let conn = raw(&url).await;
    Migrator::up(&conn, None).await.expect("first");
    let first = schema(&conn).await;
    assert!(
        first.iter().any(|c| c.starts_with("measure.cost_czk")),
        "{first:?}"
    );
    if b == Backend::Postgres {
        assert_eq!(
            first.iter().filter(|c| c.starts_with("policy ")).count(),
            4 * kpss_migrations::TENANT_TABLES.len()
        );
    }
    Migrator::up(&conn, None)
        .await
        .expect("second run is a no-op");
    assert_eq!(schema(&conn).await, first);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM seaql_migrations").await,
        Migrator::migrations().len() as i64
    );
    Migrator::down(&conn, None).await.expect("all the way down");
    assert_eq!(
        schema(&conn).await,
        Vec::<String>::new(),
        "down() leaves no table"
    );
    Migrator::up(&conn, None).await.expect("up again");
    assert_eq!(schema(&conn).await, first);
}

/// The applied migrations' names, sorted bytewise (not by a collation).
async fn applied(conn: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT version FROM seaql_migrations";
    let mut names: Vec<String> = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("applied")
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a name"))
        .collect();
    names.sort();
    names
}

/// A database migrated before the migrations were renamed (its table holds
/// the old names) is migrated again: the rows are renamed, nothing runs twice.
async fn a_database_with_the_old_migration_names_is_upgraded(b: Backend) {
    use kpss_migrations::{Migrator, MigratorTrait, RENAMED};
    let (config, _dir) = fresh_config(b).await;
    kpss::prepare_database(&config).await.expect("prepared");
    let conn = raw(&config.owner_url().expect("url")).await;
    for (old, new) in RENAMED {
        conn.execute_unprepared(&format!(
            "UPDATE seaql_migrations SET version = '{old}' WHERE version = '{new}'"
        ))
        .await
        .expect("the old name");
    }
    let new: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let mut old: Vec<String> = new
        .iter()
        .map(|n| match RENAMED.iter().find(|(_, new)| new == n) {
            Some((old, _)) => (*old).to_owned(),
            None => n.clone(),
        })
        .collect();
    old.sort();
    assert_eq!(applied(&conn).await, old);
    let (rows, before) = (counts(&conn).await, schema(&conn).await);
    assert!(rows[2] > 0, "the seeds hold plans");

    kpss::prepare_database(&config)
        .await
        .expect("migrated again");
    assert_eq!(applied(&conn).await, new);
    assert_eq!(counts(&conn).await, rows);
    assert_eq!(schema(&conn).await, before);
}

crate::on_both_databases!(
    seeding_twice_changes_nothing,
    reseeding_a_region_changed_through_the_api_needs_replace_and_archives,
    a_broken_seed_file_is_named_with_its_path_and_imports_nothing,
    migrations_run_up_twice_down_and_up_again,
    a_database_with_the_old_migration_names_is_upgraded,
);

/// However many requests read at once, an instance holds at most
/// `KPSS_DB_POOL_SIZE` connections to its database; the others wait their turn.
async fn the_pool_holds_at_most_its_size(b: Backend) {
    let (mut config, _dir) = fresh_config(b).await;
    config.db_pool_size = Some(2);
    let db = kpss::prepare_database(&config).await.expect("prepared");
    let reads = (0..24).map(|_| {
        let s = db.scoped(kpss_domain::access::Ctx::system("pool test"));
        async move { kpss_persistence::region::list(&s).await }
    });
    for regions in futures_util::future::join_all(reads).await {
        assert_eq!(regions.expect("read").len(), 4, "the four seed regions");
    }
    let (open, _idle) = db.pool_connections();
    assert!((1..=2).contains(&open), "{open} connections open");
}

crate::on_both_databases!(the_pool_holds_at_most_its_size);

/// More continuously busy scopes than the pool has connections, each with a
/// run of version reads that never ends while its callers keep coming: data
/// reads still get a connection in time.
async fn busy_version_reads_leave_connections_to_data_reads(b: Backend) {
    use kpss_domain::access::{Ctx, Role};
    use kpss_domain::region::RegionCode;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let (mut config, _dir) = fresh_config(b).await;
    config.db_pool_size = Some(4);
    let db = kpss::prepare_database(&config).await.expect("prepared");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut busy = Vec::new();
    let scopes: [&[&str]; 6] = [
        &["klatovy"],
        &["kromeriz"],
        &["karlovy-vary"],
        &["chomutov"],
        &["klatovy", "kromeriz"],
        &["karlovy-vary", "chomutov"],
    ];
    for regions in scopes {
        let codes = regions
            .iter()
            .map(|r| RegionCode::parse("region", r).expect("code"));
        let ctx = Ctx::from_claims(
            "busy".into(),
            Role::Viewer,
            codes.collect(),
            false,
            [].into(),
        );
        for _ in 0..8 {
            let (s, stop) = (db.scoped(ctx.clone()), stop.clone());
            busy.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    kpss_persistence::version::of(&s).await.expect("a version");
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut reads = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let s = db.scoped(Ctx::system("data read"));
        let regions = kpss_persistence::region::list(&s).await;
        assert_eq!(
            regions.expect("a data read").len(),
            4,
            "after {reads} reads"
        );
        reads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for task in busy {
        task.await.expect("busy caller");
    }
}

crate::on_both_databases!(busy_version_reads_leave_connections_to_data_reads);

/// The tenant scope is the transaction's own (`set_config(…, true)` on
/// PostgreSQL, under row-level security there): callers of two regions
/// whose reads take turns on one pooled connection each get exactly their
/// region's plans, never the other's or none.
async fn callers_taking_turns_on_one_connection_keep_their_scopes(b: Backend) {
    use kpss_domain::access::{Ctx, Role};
    use kpss_domain::region::RegionCode;

    let (mut config, _dir) = fresh_config(b).await;
    config.db_pool_size = Some(1);
    let db = kpss::prepare_database(&config).await.expect("prepared");
    let regions = ["klatovy", "kromeriz"].map(|r| RegionCode::parse("region", r).expect("code"));
    // A handle holds its read transaction, and so the connection, while it lives.
    let all = kpss_persistence::plan::of_regions(&db.scoped(Ctx::system("ids")), &regions)
        .await
        .expect("plans");
    let ids: Vec<i64> = all.iter().map(|p| p.id).collect();
    let own = |region: &RegionCode| -> Vec<i64> {
        all.iter()
            .filter(|p| &p.region == region)
            .map(|p| p.id)
            .collect()
    };
    assert!(
        regions.iter().all(|r| !own(r).is_empty()),
        "both regions have plans"
    );
    let reads = (0..40).map(|i| {
        let region = regions[i % 2].clone();
        let ctx = Ctx::from_claims(
            "reader".into(),
            Role::Viewer,
            [region.clone()].into(),
            false,
            [].into(),
        );
        let (s, ids) = (db.scoped(ctx), ids.clone());
        async move {
            let found = kpss_persistence::plan::by_ids(&s, &ids)
                .await
                .expect("plans");
            (region, found.into_iter().map(|p| p.id).collect::<Vec<_>>())
        }
    });
    for (region, mut found) in futures_util::future::join_all(reads).await {
        found.sort_unstable();
        let mut expected = own(&region);
        expected.sort_unstable();
        assert_eq!(found, expected, "{region}'s plans");
    }
    let (open, _idle) = db.pool_connections();
    assert_eq!(open, 1, "the reads took turns on one connection");
}

crate::on_both_databases!(callers_taking_turns_on_one_connection_keep_their_scopes);

#[tokio::test]
async fn sqlite_database_runs_in_wal_mode() {
    let (config, dir) = fresh_config(Backend::Sqlite).await;
    kpss::prepare_database(&config).await.expect("prepared");
    assert!(
        dir.path().join("kpss.db-wal").exists(),
        "WAL journal in use"
    );
}

/// The service's PostgreSQL connections plan a prepared statement once and
/// keep the plan: planned anew for each execution, as PostgreSQL does first,
/// a read under row-level security cost more to plan than to run
/// (`bench/results/generic-plans-2026-12-06.md`).
#[tokio::test]
async fn postgresql_connections_keep_generic_plans() {
    let (config, _dir) = fresh_config(Backend::Postgres).await;
    let url = config.database_url().expect("url");
    let db = kpss_persistence::Db::connect_with(&url, config.pool())
        .await
        .expect("connect");
    assert_eq!(
        db.postgres_setting("plan_cache_mode")
            .await
            .expect("setting"),
        "force_generic_plan"
    );
}

/// A seeded SQLite database whose full-text index predates the regions in it
/// (`m20261206_000017_search_regions` undone) is migrated: the index is
/// rebuilt from the entries, each region's token finds exactly its entries.
#[tokio::test]
async fn an_sqlite_search_index_gains_the_regions_of_its_entries() {
    use kpss_migrations::{Migrator, MigratorTrait};
    let (config, _dir) = fresh_config(Backend::Sqlite).await;
    kpss::prepare_database(&config).await.expect("prepared");
    let conn = raw(&config.owner_url().expect("url")).await;
    let since = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261206_000017_search_regions")
        .expect("the migration");
    Migrator::down(&conn, Some(since as u32 + 1))
        .await
        .expect("the index as it was");
    let entries = "SELECT COUNT(*) FROM search_entry";
    let columns =
        "SELECT COUNT(*) FROM pragma_table_xinfo('search_entry') WHERE name = 'region_terms'";
    assert_eq!(count(&conn, columns).await, 0);
    Migrator::up(&conn, None).await.expect("upgraded");
    let all = count(&conn, entries).await;
    assert!(all > 0);
    let mut found = 0;
    for region in ["chomutov", "karlovy-vary", "klatovy", "kromeriz"] {
        let token: String = region.bytes().map(|b| format!("{b:02x}")).collect();
        let matched = count(
            &conn,
            &format!(
                "SELECT COUNT(*) FROM search_fts WHERE search_fts MATCH 'region_terms: r{token}'"
            ),
        )
        .await;
        let of_region = count(&conn, &format!("{entries} WHERE region_code = '{region}'")).await;
        assert_eq!(matched, of_region, "{region}");
        found += matched;
    }
    assert_eq!(found, all);
}
