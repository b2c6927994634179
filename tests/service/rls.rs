//! Row-level security on PostgreSQL, the second tenant wall: the service's
//! role, connected directly, sees and changes only what its settings allow.

use crate::support::{Backend, TestApp};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};

async fn count(c: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = c
        .query_one_raw(Statement::from_string(c.get_database_backend(), sql))
        .await
        .expect(sql)
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("count")
}

async fn rows(c: &impl ConnectionTrait, sql: &str) -> Vec<sea_orm::QueryResult> {
    c.query_all_raw(Statement::from_string(c.get_database_backend(), sql))
        .await
        .expect(sql)
}

async fn as_service_role(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.config.database_url.as_deref().expect("service url"))
        .await
        .expect("connect as the service role")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_sees_only_the_regions_of_its_settings() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = as_service_role(&app).await;
    let txn = c.begin().await.expect("begin");
    txn.execute_unprepared(
        "SELECT set_config('kpss.read_regions', 'klatovy', true), set_config('kpss.write_regions', 'klatovy', true)",
    )
    .await
    .expect("settings");
    assert!(count(&txn, "SELECT COUNT(*) FROM measure").await > 0);
    assert_eq!(
        count(
            &txn,
            "SELECT COUNT(*) FROM measure WHERE region_code <> 'klatovy'"
        )
        .await,
        0
    );
    let changed = txn
        .execute_unprepared("UPDATE measure SET title = 'x' WHERE region_code <> 'klatovy'")
        .await
        .expect("update")
        .rows_affected();
    assert_eq!(changed, 0, "no row of another region is changed");
    txn.rollback().await.expect("rollback");
    app.stop().await;
}

/// The owner's search match answers the ids of the regions of the caller's
/// setting only, all of them for "*", none without a setting or with an
/// empty one: the same rule as the read policy, whichever index it takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_match_keeps_to_the_regions_of_the_setting() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = as_service_role(&app).await;
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    let entries = |regions: &str| {
        format!(
            "SELECT COUNT(*) FROM search_entry WHERE document @@ 'domov'::tsquery \
             AND ('{regions}' = '*' OR region_code = ANY (string_to_array('{regions}', ',')))"
        )
    };
    let matched = "SELECT COALESCE(cardinality(kpss_search_match('domov'::tsquery)), 0)::bigint";
    for regions in ["klatovy", "klatovy,kromeriz", "*", ""] {
        let txn = c.begin().await.expect("begin");
        txn.execute_unprepared(&format!(
            "SELECT set_config('kpss.read_regions', '{regions}', true)"
        ))
        .await
        .expect("setting");
        let expected = count(&owner, &entries(regions)).await;
        assert!(regions.is_empty() || expected > 0, "{regions}");
        // More calls than PostgreSQL plans afresh before it may keep a plan.
        for _ in 0..7 {
            assert_eq!(count(&txn, matched).await, expected, "{regions}");
        }
        txn.rollback().await.expect("rollback");
    }
    assert_eq!(count(&c, matched).await, 0, "no setting");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_settings_every_tenant_table_is_empty_and_plans_cannot_be_deleted() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = as_service_role(&app).await;
    for table in kpss_migrations::TENANT_TABLES {
        assert_eq!(
            count(&c, &format!("SELECT COUNT(*) FROM \"{table}\"")).await,
            0,
            "{table}"
        );
    }
    let changed = c
        .execute_unprepared("UPDATE measure SET title = 'x'")
        .await
        .expect("update")
        .rows_affected();
    assert_eq!(changed, 0);
    let refused = c
        .execute_unprepared("DELETE FROM plan")
        .await
        .expect_err("no DELETE on plan");
    assert!(
        refused.to_string().contains("permission denied"),
        "{refused}"
    );
    // The owner still sees the data: the rows are there, only hidden.
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    assert!(count(&owner, "SELECT COUNT(*) FROM measure").await > 0);
    app.stop().await;
}

/// The service's functions answer the service alone: a role that can log in
/// and has no grant learns nothing through them (write counters, other
/// tenants' search hits), and none tells which region an id is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_grants_can_execute_no_function_of_the_service() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let service = app.config.database_url.as_deref().expect("service url");
    let stranger = Database::connect(crate::support::postgres::stranger(service).await)
        .await
        .expect("the stranger logs in");
    for call in [
        "kpss_search_match(to_tsquery('simple', 'domov'))",
        "kpss_data_version(true, '', '')",
        "kpss_in_setting('klatovy', 'kpss.read_regions')",
        "kpss_regions('kpss.read_regions')",
    ] {
        let e = stranger
            .execute_unprepared(&format!("SELECT {call}"))
            .await
            .expect_err(call);
        assert!(
            e.to_string().contains("permission denied for function"),
            "{call}: {e}"
        );
    }
    // Functions that run as their owner look in pg_temp last, so a caller's
    // temporary tables cannot stand in for theirs.
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    let definer = "FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace";
    assert_eq!(
        count(&owner, &format!("SELECT COUNT(*) {definer}")).await,
        2
    );
    assert_eq!(
        count(
            &owner,
            &format!("SELECT COUNT(*) {definer} AND 'search_path=pg_catalog, public, pg_temp' = ANY (proconfig)")
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &owner,
            "SELECT COUNT(*) FROM pg_proc WHERE proname = 'kpss_region_of'"
        )
        .await,
        0
    );
    app.stop().await;
}

/// A role that can log in but has no grant may `LISTEN kpss_audit`: it
/// hears a number per write, never a region, record or editor, and cannot
/// read the changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_grants_hears_only_numbers_of_changes() {
    use kpss_domain::access::Role;
    let app = TestApp::spawn(Backend::Postgres).await;
    let service = app.config.database_url.as_deref().expect("service url");
    let stranger = crate::support::postgres::stranger(service).await;
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(&stranger)
        .await
        .expect("the stranger logs in");
    listener.listen("kpss_audit").await.expect("listen");
    let editor = app.token_for("editor@klatovy", Role::Editor, &["klatovy"], &[]);
    app.query(
        &editor,
        "mutation { createProvider(input: { region: \"klatovy\", name: \"Nový poskytovatel\" }) { id } }",
        serde_json::json!({}),
    )
    .await;
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .expect("a notification");
    assert!(
        heard.payload().chars().all(|c| c.is_ascii_digit()),
        "only a number: {}",
        heard.payload()
    );
    let c = Database::connect(stranger)
        .await
        .expect("the stranger logs in");
    let refused = c
        .execute_unprepared("SELECT * FROM audit_entry")
        .await
        .expect_err("no SELECT on the audit log");
    assert!(
        refused.to_string().contains("permission denied"),
        "{refused}"
    );
    app.stop().await;
}

/// Every tenant table reads through the same policy (`search_entry` through
/// its own), and a reader of every region passes it without the array of
/// every region's code, on a setting read once per statement (a sub-select),
/// not once per row; other readers' regions are looked up in a hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_table_has_the_read_policy_with_the_way_for_readers_of_all() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    let policies: std::collections::BTreeMap<String, String> = rows(
        &owner,
        "SELECT tablename::text, qual FROM pg_policies WHERE policyname = 'kpss_read'",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get_by_index(0).expect("table"),
            r.try_get_by_index(1).expect("qual"),
        )
    })
    .collect();
    let all_first = policies["plan"].clone();
    assert!(
        all_first.starts_with(
            "(( SELECT (current_setting('kpss.read_regions'::text, true) = '*'::text)) OR"
        ),
        "{all_first}"
    );
    for table in kpss_migrations::TENANT_TABLES {
        let qual = policies
            .get(table)
            .unwrap_or_else(|| panic!("{table} has no read policy"));
        if table != "search_entry" {
            assert_eq!(qual, &all_first, "{table}");
        }
    }
    // As the service role: no row filter calls `current_setting`, and the
    // regions are looked up in a hash, not an array, for each row.
    let c = as_service_role(&app).await;
    let txn = c.begin().await.expect("begin");
    txn.execute_unprepared("SELECT set_config('kpss.read_regions', '*', true)")
        .await
        .expect("settings");
    let plan =
        "EXPLAIN SELECT COUNT(*) FROM capacity JOIN service ON service.id = capacity.service_id";
    let lines: Vec<String> = rows(&txn, plan)
        .await
        .iter()
        .map(|r| r.try_get_by_index(0).expect("a line"))
        .collect();
    let filters: Vec<&String> = lines.iter().filter(|l| l.contains("Filter:")).collect();
    assert!(
        filters.len() == 2
            && filters
                .iter()
                .all(|l| !l.contains("current_setting") && l.contains("hashed SubPlan")),
        "{lines:#?}"
    );
    txn.rollback().await.expect("rollback");
    app.stop().await;
}
