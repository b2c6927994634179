//! A PostgreSQL primary with hot standbys (streaming replication), started
//! by the test on loopback: queries read from a standby, writes and the
//! reads of a request that writes go to the primary; a caller reads its
//! own write at once on any instance; a standby that stops leaves the
//! rotation and comes back; an acknowledged write survives the loss of the
//! primary; and nothing leaks with replicas on.

use crate::support::postgres::{self, OWNER, OwnServer, SERVICE};
use crate::support::{Backend, TestApp, config_for};
use kpss_domain::access::Role;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A primary, its standbys, and the database the service uses on them.
struct Cluster {
    primary: OwnServer,
    standbys: Vec<OwnServer>,
    db: String,
}

impl Cluster {
    /// A primary with the seeded database, then standbys of it (each
    /// `(name, settings)`), all on loopback.
    async fn start(primary_settings: &[&str], standbys: &[(&str, &[&str])]) -> Self {
        let primary = blocking(|| OwnServer::start_with(primary_settings));
        postgres::create_roles(&primary.url).await;
        let db = postgres::create_database(&primary.url, OWNER).await;
        let mut cluster = Self {
            primary,
            standbys: Vec::new(),
            db,
        };
        // Migrated and seeded on the primary, before the standbys copy it.
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config_for(
            (
                cluster.url(&cluster.primary, SERVICE),
                Some(cluster.url(&cluster.primary, OWNER)),
            ),
            &dir,
        );
        kpss::prepare_database(&config)
            .await
            .expect("database prepared")
            .close()
            .await
            .expect("closed");
        for (name, settings) in standbys {
            let standby = blocking(|| cluster.primary.standby(name, settings));
            cluster.standbys.push(standby);
        }
        cluster
    }

    fn url(&self, server: &OwnServer, role: &str) -> String {
        postgres::as_role(&server.url, role, &self.db)
    }

    /// The service on this cluster: the primary for writes, every standby for reads.
    async fn serve(&self, change: impl FnOnce(&mut kpss::Config)) -> TestApp {
        let primary = self.url(&self.primary, SERVICE);
        let owner = self.url(&self.primary, OWNER);
        let replicas: Vec<String> = self.standbys.iter().map(|s| self.url(s, SERVICE)).collect();
        let mut app = TestApp::spawn_with(Backend::Sqlite, |c, _| {
            c.database_url = Some(primary);
            c.owner_database_url = Some(owner);
            c.replicas.urls = replicas;
            change(c);
        })
        .await;
        app.backend = Backend::Postgres;
        app
    }
}

/// Runs `f` (which starts or stops servers) on this worker thread.
fn blocking<T>(f: impl FnOnce() -> Result<T, String>) -> T {
    tokio::task::block_in_place(f)
        .unwrap_or_else(|e| panic!("PostgreSQL servers of this test's own are required: {e}"))
}

/// One number from `sql`, run as the superuser on `server`.
async fn number(server: &OwnServer, sql: &str) -> i64 {
    let conn = Database::connect(format!("{}/postgres", server.url))
        .await
        .expect("connect");
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql,
        ))
        .await
        .expect("query")
        .expect("a row");
    let n: i64 = row.try_get_by_index(0).expect("a number");
    conn.close().await.expect("close");
    n
}

/// Waits until every standby of `app` serves reads.
async fn standbys_serving(app: &TestApp, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let serving = app.db.replicas().iter().filter(|r| r.serving).count();
        if serving == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{serving} of {count} standbys serve"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Statements of `log` (from `from` on) that read or change `table`.
fn statements_on(log: &str, from: usize, table: &str) -> usize {
    let needle = format!("\"{table}\"");
    log[from..]
        .lines()
        .filter(|l| l.contains("LOG:") && l.contains(&needle))
        .count()
}

const MEASURES: &str = r#"{ measures(filter: { regions: ["klatovy"] }, first: 100) { nodes { id title evaluations { year status } } } }"#;

const FIRST_MEASURE: &str =
    r#"{ measures(filter: { regions: ["klatovy"] }, first: 1) { nodes { id title version } } }"#;

async fn first_measure(app: &TestApp, token: &str) -> Value {
    app.query(token, FIRST_MEASURE, json!({})).await["measures"]["nodes"][0].clone()
}

async fn rename(app: &TestApp, token: &str, measure: &Value, title: &str) -> Value {
    let m = app
        .query(
            token,
            "mutation($id: ID!, $v: Int!, $t: String!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: $t }) { id title version } }",
            json!({ "id": measure["id"], "v": measure["version"], "t": title }),
        )
        .await;
    m["updateMeasure"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_read_from_a_standby_and_requests_that_write_from_the_primary() {
    let logged: &[&str] = &["log_statement=all", "synchronous_commit=off"];
    let cluster = Cluster::start(logged, &[("s1", &["log_statement=all"])]).await;
    let app = cluster.serve(|c| c.response_cache_mb = 0).await;
    standbys_serving(&app, 1).await;
    let viewer = app.token_for("viewer", Role::Viewer, &["klatovy"], &[]);
    let editor = app.token_for("editor", Role::Editor, &["klatovy"], &[]);

    let (p0, s0) = (cluster.primary.log().len(), cluster.standbys[0].log().len());
    for _ in 0..10 {
        assert!(first_measure(&app, &viewer).await["id"].is_string());
    }
    let (primary, standby) = (cluster.primary.log(), cluster.standbys[0].log());
    assert_eq!(
        statements_on(&primary, p0, "measure"),
        0,
        "no query read the primary"
    );
    assert!(
        statements_on(&standby, s0, "measure") >= 10,
        "each query read the standby"
    );

    let measure = first_measure(&app, &viewer).await;
    let (p1, s1) = (cluster.primary.log().len(), cluster.standbys[0].log().len());
    let renamed = rename(&app, &editor, &measure, "Přejmenované opatření").await;
    assert_eq!(renamed["title"], "Přejmenované opatření");
    let (primary, standby) = (cluster.primary.log(), cluster.standbys[0].log());
    assert!(
        primary[p1..].contains("UPDATE \"measure\""),
        "the write ran on the primary"
    );
    assert!(
        statements_on(&primary, p1, "measure") >= 2,
        "the mutation's reads ran on the primary too"
    );
    assert_eq!(
        statements_on(&standby, s1, "measure"),
        0,
        "a mutation reads no standby"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_reads_its_own_write_at_once_through_another_instance() {
    // The standby applies every change 6 s late, so a read that sees the
    // write at once did not get it from the standby by luck; 2 s behind the
    // primary, it leaves the rotation.
    let delayed: &[&str] = &["recovery_min_apply_delay=6s"];
    let cluster = Cluster::start(&["synchronous_commit=off"], &[("s1", delayed)]).await;
    let max_lag = |c: &mut kpss::Config| c.replicas.read_max_lag = Duration::from_secs(2);
    let a = cluster.serve(max_lag).await;
    let b = a.beside().await;
    standbys_serving(&b, 1).await;
    let editor = a.token_for("editor", Role::Editor, &["klatovy"], &[]);
    let viewer = a.token_for("viewer", Role::Viewer, &["klatovy"], &[]);

    let before = first_measure(&b, &viewer).await;
    // Twice: the second answer is the viewer's cached one.
    assert_eq!(first_measure(&b, &viewer).await, before);
    let renamed = rename(&a, &editor, &before, "Zapsáno na jedné instanci").await;
    assert_eq!(renamed["title"], "Zapsáno na jedné instanci");
    let written = Instant::now();

    assert_eq!(
        first_measure(&b, &editor).await["title"],
        "Zapsáno na jedné instanci",
        "the writer reads its write at once through the other instance"
    );
    assert_eq!(
        first_measure(&b, &viewer).await["title"],
        before["title"],
        "a reader that did not write is served by the delayed standby"
    );
    // More than 2 s behind: out of the rotation, so the viewer reads the
    // primary long before the standby applies the write.
    while b.db.replicas()[0].serving {
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "the lagging standby stays in rotation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        first_measure(&b, &viewer).await["title"],
        "Zapsáno na jedné instanci"
    );
    assert!(
        written.elapsed() < Duration::from_secs(6),
        "the standby had not applied it yet"
    );
    // Once it has, it serves again.
    standbys_serving(&b, 1).await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_standby_leaves_the_rotation_and_comes_back() {
    let mut cluster = Cluster::start(
        &["synchronous_commit=off"],
        &[("s1", &["log_statement=all"])],
    )
    .await;
    let app = cluster.serve(|c| c.response_cache_mb = 0).await;
    standbys_serving(&app, 1).await;
    let viewer = app.token_for("viewer", Role::Viewer, &["klatovy"], &[]);

    let started = Instant::now();
    // Eight readers of a list that keeps the database busy: when the standby
    // stops, some of them are reading from it.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (base, token) = (app.base.clone(), viewer.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut failed = Vec::new();
                let mut served = 0;
                while started.elapsed() < Duration::from_secs(5) {
                    let answer = http
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({ "query": MEASURES }))
                        .send()
                        .await;
                    let ok = match answer {
                        Ok(r) if r.status().is_success() => r
                            .json::<Value>()
                            .await
                            .is_ok_and(|v| v["data"]["measures"]["nodes"][0]["id"].is_string()),
                        _ => false,
                    };
                    if ok {
                        served += 1;
                    } else {
                        failed.push(started.elapsed());
                    }
                }
                (served, failed)
            })
        })
        .collect();
    // First the standby ends the sessions of reads under way (a statement
    // of a request, not the watcher's), as a crash of one backend would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut cut = 0;
    while cut == 0 {
        assert!(
            started.elapsed() < Duration::from_millis(1400),
            "no read under way to cut"
        );
        cut = number(
            &cluster.standbys[0],
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE usename = 'kpss_service' AND state = 'active' \
             AND query NOT LIKE '%pg_is_in_recovery%'",
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(1500) - started.elapsed()).await;
    let stopped_at = started.elapsed();
    blocking(|| cluster.standbys[0].stop());
    let mut failures = Vec::new();
    let mut served = 0;
    for r in readers {
        let (n, f) = r.await.expect("reader");
        served += n;
        failures.extend(f);
    }
    eprintln!(
        "{cut} reads cut; standby stopped at {stopped_at:?}: {served} reads served, failed at {failures:?}"
    );
    // The reads cut, and those under way on the standby when it stopped,
    // ran again on the primary; every later one went there.
    assert!(failures.is_empty(), "reads failed at {failures:?}");
    assert!(app.db.replicas().iter().all(|r| !r.serving));
    assert!(served > 20, "{served} reads served");

    blocking(|| cluster.standbys[0].start_again());
    standbys_serving(&app, 1).await;
    let from = cluster.standbys[0].log().len();
    first_measure(&app, &viewer).await;
    assert_eq!(
        statements_on(&cluster.standbys[0].log(), from, "measure"),
        1,
        "the standby serves reads again"
    );
    app.stop().await;
}

/// How long after the promotion the service may take to write again.
const FAILOVER_BOUND: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_write_survives_the_loss_of_the_primary() {
    let mut cluster = Cluster::start(&[], &[("s1", &[]), ("s2", &[])]).await;
    // Synchronous from now on (the seeding ran before there were standbys):
    // a commit returns once one of the two standbys has applied it.
    for setting in [
        "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (s1, s2)'",
        "ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
        "SELECT pg_reload_conf()",
    ] {
        postgres::sql(&cluster.primary.url, setting).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while number(
        &cluster.primary,
        "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'quorum'",
    )
    .await
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the standbys never became synchronous"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let app = cluster.serve(|_| {}).await;
    standbys_serving(&app, 2).await;
    let editor = app.token_for("editor", Role::Editor, &["klatovy"], &[]);
    let plan = app
        .query(
            &editor,
            r#"{ plans(filter: { regions: ["klatovy"] }, first: 1) { nodes { id } } }"#,
            json!({}),
        )
        .await["plans"]["nodes"][0]["id"]
        .clone();

    // Writes one priority after another, noting each acknowledged one and
    // when a write sent after the primary was killed first succeeded.
    let (base, token) = (app.base.clone(), editor.clone());
    let killed = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let written_again = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (killed_at, again, stopping) = (killed.clone(), written_again.clone(), stop.clone());
    let writer = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut acknowledged = Vec::new();
        for i in 0.. {
            if stopping.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let code = format!("F{i}");
            let sent_at = Instant::now();
            let sent = http
                .post(format!("{base}/graphql"))
                .bearer_auth(&token)
                .json(&json!({
                    "query": "mutation($p: ID!, $c: String!) { createPriority(planId: $p, input: { code: $c, title: \"Zápis před výpadkem\" }) { id } }",
                    "variables": { "p": plan, "c": code },
                }))
                .send()
                .await;
            let ok = match sent {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["data"]["createPriority"]["id"].is_string()),
                Err(_) => false,
            };
            if ok {
                acknowledged.push(code);
                if killed_at.get().is_some_and(|k| sent_at > *k) {
                    let _ = again.set(Instant::now());
                }
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    blocking(|| cluster.primary.kill());
    let _ = killed.set(Instant::now());
    // The standby that has applied the most takes over (with ANY 1, either
    // may hold the last acknowledged write).
    let mut applied = Vec::new();
    for s in &cluster.standbys {
        applied.push(number(s, "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint").await);
    }
    let new_primary = usize::from(applied[1] > applied[0]);
    postgres::sql(&cluster.standbys[new_primary].url, "SELECT pg_promote()").await;
    let promoted = Instant::now();
    while written_again.get().is_none() && promoted.elapsed() < 3 * FAILOVER_BOUND {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more writes on the new primary.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged = writer.await.expect("writer");
    let failover = written_again
        .get()
        .unwrap_or_else(|| {
            panic!(
                "no write succeeded within {:?} of the promotion ({} primary switches)",
                3 * FAILOVER_BOUND,
                app.db.primary_switches()
            )
        })
        .saturating_duration_since(promoted);

    let promoted_server = &cluster.standbys[new_primary];
    let conn = Database::connect(format!("{}/{}", promoted_server.url, cluster.db))
        .await
        .expect("connect to the new primary");
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT code FROM priority WHERE code LIKE 'F%'",
        ))
        .await
        .expect("priorities");
    let present: std::collections::HashSet<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("code"))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|c| !present.contains(*c))
        .collect();
    eprintln!(
        "{} writes acknowledged, {} lost; the service wrote again {failover:?} after the promotion",
        acknowledged.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(
        failover <= FAILOVER_BOUND,
        "writes resumed only after {failover:?}"
    );
    assert_eq!(app.db.primary_switches(), 1);
    // The change listener follows the primary: changes reach subscribers again.
    crate::live::caught_up(&app).await;
    crate::live::reader_receives_only_its_regions_changes(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replicas_nothing_leaks_no_answer_crosses_scopes_and_changes_arrive() {
    let cluster = Cluster::start(&["synchronous_commit=off"], &[("s1", &[])]).await;
    let app = cluster.serve(|_| {}).await;
    standbys_serving(&app, 1).await;
    crate::cache::answers_stay_within_their_scope_and_caller(app).await;
    let app = cluster.serve(|_| {}).await;
    standbys_serving(&app, 1).await;
    crate::live::reader_receives_only_its_regions_changes(app).await;
    let app = cluster.serve(|_| {}).await;
    standbys_serving(&app, 1).await;
    crate::generated::generated_requests_leak_nothing(app, 1_000).await;
}
