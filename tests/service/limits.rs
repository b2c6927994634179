//! Abuse limits: each is refused just over it with its contract code, before
//! anything runs (no SQL statement) and cheaply; just under it passes; the
//! heaviest legitimate reads pass with the defaults.

use crate::support::{Backend, TestApp, repo_path};
use kpss_api::Limits;
use kpss_api::limits::complexity;
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The whole tree of one plan, every field of every level.
pub const WHOLE_PLAN: &str = "query WholePlan($id: ID!) { plan(id: $id) {
  id title kind periodStart periodEnd preparedBy approval approvedOn sourceDocument archived version updatedAt
  region { code name } parent { id title }
  projects { id title implementer due dueYear }
  priorities { id code title description group archived version
    measures { ...MeasureFields subMeasures { ...MeasureFields } } } } }
fragment MeasureFields on Measure { id code title rationale description targetGroups term termStartYear
  termEndYear responsible output expectedCost { amountCzk per text } fundingSources risks plannedActivities
  plannedCapacities { form value unit text } evaluations { id year status comment recordedAt recordedBy }
  latestEvaluation { year status } archived version
  activities { ...ActivityFields subActivities { ...ActivityFields } } }
fragment ActivityFields on Activity { id code title description responsible schedule financing outputs archived version }";

/// All plans of all regions with their trees down to sub-activities.
pub const ALL_PLANS: &str = "query AllPlans { plans(first: 100) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { id title kind periodStart periodEnd region { code name }
    priorities { id code title
      measures { id code title subMeasures { id code title }
        activities { id code title subActivities { id code title } } } } } } }";

fn sdl() -> String {
    std::fs::read_to_string(repo_path("schema.graphql")).expect("schema.graphql")
}

/// The first error's code of a response body.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

/// POSTs `query` and asserts that it is refused with QUERY_TOO_COMPLEX, ran
/// no SQL statement, and did not hang (the bound is far above the time, so
/// a loaded machine does not fail it); returns the time.
async fn refused(app: &TestApp, token: &str, query: &str) -> Duration {
    let before = app.db.statements();
    let started = Instant::now();
    let (status, body) = app
        .post(Some(&format!("Bearer {token}")), query, json!({}))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    assert_eq!(
        app.db.statements(),
        before,
        "nothing ran before the refusal"
    );
    assert!(took < Duration::from_secs(5), "refusal took {took:?}");
    took
}

/// POSTs `query` and asserts that no limit refused it.
async fn passes(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app
        .post(Some(&format!("Bearer {token}")), query, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    body
}

async fn largest_plan_id(app: &TestApp) -> String {
    let data = app
        .query(
            &app.admin(),
            "{ plans(first: 100) { nodes { id priorities { id } } } }",
            json!({}),
        )
        .await;
    let largest = data["plans"]["nodes"]
        .as_array()
        .expect("plans")
        .iter()
        .max_by_key(|p| p["priorities"].as_array().map_or(0, Vec::len))
        .expect("a plan");
    largest["id"].as_str().expect("id").to_owned()
}

async fn heaviest_legitimate_reads_pass_with_the_default_limits(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let sdl = sdl();
    let max = Limits::default().max_complexity;
    for (name, query) in [("WholePlan", WHOLE_PLAN), ("AllPlans", ALL_PLANS)] {
        let cost = complexity(query, &sdl).expect("parses");
        eprintln!("{name}: complexity {cost} of at most {max}");
        assert!(cost <= max, "{name} costs {cost}");
    }
    let id = largest_plan_id(&app).await;
    let started = Instant::now();
    let data = app.query(&admin, WHOLE_PLAN, json!({ "id": id })).await;
    eprintln!("WholePlan of plan {id}: {:?}", started.elapsed());
    let priorities = data["plan"]["priorities"].as_array().expect("priorities");
    assert_eq!(
        priorities.len(),
        23,
        "the largest plan (Kroměříž 2020-2023)"
    );
    let started = Instant::now();
    let data = app.query(&admin, ALL_PLANS, json!({})).await;
    eprintln!("AllPlans: {:?}", started.elapsed());
    let nodes = data["plans"]["nodes"].as_array().expect("nodes");
    assert_eq!(
        nodes.len() as i64,
        data["plans"]["totalCount"].as_i64().expect("count")
    );
    assert!(nodes.len() >= 8, "every plan of every region");
    app.stop().await;
}

/// `kraje { regions { kraj { regions ... code } } }`, `depth` fields deep.
fn nested(depth: usize) -> String {
    let mut fields = vec!["kraje"];
    fields.extend(["regions", "kraj"].iter().cycle().take(depth - 2));
    fields.push("code");
    let open: String = fields[..depth - 1]
        .iter()
        .map(|f| format!("{f} {{ "))
        .collect();
    format!(
        "{{ {open}{}{} }}",
        fields[depth - 1],
        " }".repeat(depth - 1)
    )
}

async fn depth_aliases_and_root_fields_are_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let limits = Limits::default();

    passes(&app, &admin, &nested(limits.max_depth)).await;
    let took = refused(&app, &admin, &nested(limits.max_depth + 1)).await;
    eprintln!("depth {}: refused in {took:?}", limits.max_depth + 1);

    let aliases = |n: usize| {
        let fields: String = (0..n).map(|i| format!("s{i}: subject ")).collect();
        format!("{{ me {{ {fields} }} }}")
    };
    passes(&app, &admin, &aliases(limits.max_aliases)).await;
    let took = refused(&app, &admin, &aliases(limits.max_aliases + 1)).await;
    eprintln!("{} aliases: refused in {took:?}", limits.max_aliases + 1);

    let root_fields = |n: usize| format!("{{ {} }}", "me { subject } ".repeat(n));
    passes(&app, &admin, &root_fields(limits.max_aliases)).await;
    let took = refused(&app, &admin, &root_fields(limits.max_aliases + 1)).await;
    eprintln!(
        "{} root fields: refused in {took:?}",
        limits.max_aliases + 1
    );

    // The issue's measured abuse: 200 aliases of a wide list.
    let wide = "plans(first: 100) { nodes { priorities { measures { title } } } }";
    let abuse: String = (0..200).map(|i| format!("p{i}: {wide} ")).collect();
    let took = refused(&app, &admin, &format!("{{ {abuse} }}")).await;
    eprintln!("200 aliases of plans(first: 100): refused in {took:?}");
    app.stop().await;
}

/// A query of exactly `cost`: `plans(first: 100) { nodes { id ×k } totalCount ×r }`
/// costs 2 + 100·k + r.
fn costing(cost: u64) -> String {
    let k = (cost - 2) / 100;
    let r = (cost - 2) % 100;
    format!(
        "{{ plans(first: 100) {{ nodes {{ {}}} {}}} }}",
        "id ".repeat(k as usize),
        "totalCount ".repeat(r as usize)
    )
}

async fn complexity_multiplies_by_first_and_is_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let sdl = sdl();
    let max = Limits::default().max_complexity;
    // `first` multiplies: the same selection costs 100 times more with first: 100.
    let one = complexity("{ plans(first: 1) { nodes { id title } } }", &sdl);
    let hundred = complexity("{ plans(first: 100) { nodes { id title } } }", &sdl);
    assert_eq!((one, hundred), (Some(4), Some(202)));
    // Lists without `first` count as the assumed list size.
    let n = kpss_api::limits::ASSUMED_LIST_SIZE;
    assert_eq!(
        complexity("{ regions { plans { id } } }", &sdl),
        Some(1 + n * (1 + n))
    );
    // A variable's `first` counts as sent.
    assert_eq!(
        complexity(
            "query($n: Int = 50) { plans(first: $n) { nodes { id } } }",
            &sdl
        ),
        Some(52)
    );

    let at_limit = costing(max);
    assert_eq!(complexity(&at_limit, &sdl), Some(max));
    assert_eq!(complexity(&costing(max + 1), &sdl), Some(max + 1));
    passes(&app, &admin, &at_limit).await;
    let took = refused(&app, &admin, &costing(max + 1)).await;
    eprintln!(
        "complexity {}: refused in {took:?} ({} bytes)",
        max + 1,
        costing(max + 1).len()
    );

    // Depth alone would let a cycle through plans and measures multiply.
    let cycle = "{ plans(first: 100) { nodes { priorities { measures { plan { priorities { measures { plan { priorities { measures { title } } } } } } } } } } }";
    assert!(complexity(cycle, &sdl).expect("parses") > max);
    refused(&app, &admin, cycle).await;
    app.stop().await;
}

async fn nesting_batches_and_fragments_are_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let auth = format!("Bearer {admin}");
    let limits = Limits::default();

    // Brackets are counted before parsing: 64 are parsed, 65 are not.
    let list = |n: usize| {
        format!(
            "{{ search(text: \"x\", regions: {}\"a\"{}) {{ title }} }}",
            "[".repeat(n - 2),
            "]".repeat(n - 2)
        )
    };
    let (_, body) = app.post(Some(&auth), &list(64), json!({})).await;
    assert_eq!(
        code(&body),
        "BAD_USER_INPUT",
        "parsed, then refused by type: {body}"
    );
    refused(&app, &admin, &list(65)).await;
    let started = Instant::now();
    let deep = format!("{{ me {} }}", "{ a ".repeat(200_000));
    refused(&app, &admin, &deep).await;
    eprintln!("200,000 nested braces: refused in {:?}", started.elapsed());

    // Fragments spread twice per level are measured once each (no blow-up).
    let mut fragments = String::from("fragment F0 on Viewer { subject }\n");
    for i in 1..40 {
        fragments.push_str(&format!(
            "fragment F{i} on Viewer {{ ...F{} ...F{} }}\n",
            i - 1,
            i - 1
        ));
    }
    let started = Instant::now();
    let (_, body) = app
        .post(
            Some(&auth),
            &format!("{{ me {{ ...F39 }} }}\n{fragments}"),
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    eprintln!("2^39 fragment spreads: refused in {:?}", started.elapsed());
    let (_, body) = app
        .post(
            Some(&auth),
            "{ me { ...A } } fragment A on Viewer { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "a fragment cycle: {body}");

    // Batches: at most max_batch operations.
    let batch = |n: usize| {
        let ops: Vec<Value> = (0..n)
            .map(|_| json!({ "query": "{ me { subject } }" }))
            .collect();
        serde_json::to_vec(&ops).expect("json")
    };
    let (status, _, body) = app
        .post_raw(Some(&auth), "application/json", batch(limits.max_batch))
        .await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(status, 200);
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(limits.max_batch),
        "{body}"
    );
    let before = app.db.statements();
    let (status, _, body) = app
        .post_raw(Some(&auth), "application/json", batch(limits.max_batch + 1))
        .await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_COMPLEX"), "{body}");
    assert_eq!(app.db.statements(), before);
    app.stop().await;
}

async fn body_size_is_limited_with_a_graphql_error(b: Backend) {
    let app = TestApp::spawn(b).await;
    let auth = format!("Bearer {}", app.admin());
    let max = Limits::default().max_body_bytes;
    // A valid request padded with JSON whitespace to exactly `len` bytes.
    let padded = |len: usize| {
        let mut body = br#"{"query":"{ me { subject } }"}"#.to_vec();
        body.resize(len, b' ');
        body
    };
    let (status, _, body) = app
        .post_raw(Some(&auth), "application/json", padded(max))
        .await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["subject"], "tester");
    let started = Instant::now();
    let (status, headers, body) = app
        .post_raw(Some(&auth), "application/json", padded(max + 1))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 413);
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_slice(&body).expect("a GraphQL JSON error body");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    eprintln!("{} byte body: 413 in {took:?}", max + 1);
    // The rest of the body is left unread, and so is a refused caller's: the
    // answer closes its connection and says so; the next request gets a new one.
    assert_eq!(headers["connection"], "close");
    let (status, headers, _) = app.post_raw(None, "application/json", padded(max)).await;
    assert_eq!(status, 401);
    assert_eq!(headers["connection"], "close");
    let (status, _, _) = app
        .post_raw(Some(&auth), "application/json", padded(100))
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// The request timeout cuts a request off, answering SERVICE_UNAVAILABLE.
async fn a_request_over_its_time_is_service_unavailable(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    let admin = app.admin();
    app.query(&admin, ALL_PLANS, json!({})).await;
    app.restart_with(|c| c.limits.request_timeout = Duration::from_millis(1))
        .await;
    let started = Instant::now();
    let (status, body) = app
        .post(Some(&format!("Bearer {admin}")), ALL_PLANS, json!({}))
        .await;
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert!(status == 503 || status == 200, "{status}");
    assert!(started.elapsed() < Duration::from_secs(2));
    app.stop().await;
}

async fn rate_limit_answers_429_with_retry_after(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| {
        c.limits.rate_limit_per_second = 1;
        c.limits.rate_limit_burst = 3;
    })
    .await;
    let script = format!("Bearer {}", app.token(Role::Viewer, &["klatovy"], &[]));
    let started = Instant::now();
    let mut statuses = vec![];
    for _ in 0..10 {
        let (status, headers, body) = app
            .post_raw(
                Some(&script),
                "application/json",
                br#"{"query":"{ me { subject } }"}"#.to_vec(),
            )
            .await;
        if status == 429 {
            let body: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(code(&body), "RATE_LIMITED", "{body}");
            let retry: u64 = headers["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
        }
        statuses.push(status);
    }
    let elapsed = started.elapsed().as_secs();
    let passed = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert_eq!(&statuses[..3], [200, 200, 200], "the burst passes");
    // The burst, plus one token per second that went by.
    assert!(passed <= 3 + elapsed + 1, "{statuses:?} in {elapsed} s");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Each subject has its own bucket.
    let other = app.token_for("another-script", Role::Viewer, &["kromeriz"], &[]);
    app.query(&other, "{ me { subject } }", json!({})).await;
    let (_, metrics) = app.get("/metrics").await;
    assert!(metrics.contains("kpss_rate_limited_total "), "{metrics}");
    app.stop().await;
}

/// The rate counts operations: each entry of a batch and each operation of
/// a socket takes a token; requests without a valid token take their
/// address's tokens, and are refused with 429 once those are gone.
async fn the_rate_counts_operations_and_addresses_without_a_token(b: Backend) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn_with(b, |c, _| {
        c.limits.rate_limit_per_second = 1;
        c.limits.rate_limit_burst = 3;
    })
    .await;
    let me = json!({ "query": "{ me { subject } }" });
    let batch = serde_json::to_vec(&json!([me, me, me, me, me])).expect("json");
    let script = format!("Bearer {}", app.token(Role::Viewer, &["klatovy"], &[]));
    let (status, _, body) = app.post_raw(Some(&script), "application/json", batch).await;
    assert_eq!(status, 200);
    let answers: Value = serde_json::from_slice(&body).expect("json");
    let codes: Vec<&Value> = answers
        .as_array()
        .expect("a batch answer")
        .iter()
        .map(|a| &a["errors"][0]["extensions"]["code"])
        .collect();
    assert_eq!(codes[..3], [&Value::Null; 3], "{answers}");
    assert_eq!(codes[4], "RATE_LIMITED", "{answers}");

    // No valid token: 401 while the address has tokens, then 429.
    let mut statuses = vec![];
    for _ in 0..5 {
        let (status, headers, _) = app
            .post_raw(
                Some("Bearer not-a-token"),
                "application/json",
                me.to_string().into_bytes(),
            )
            .await;
        if status == 429 {
            assert!(headers.contains_key("retry-after"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");

    // A socket's operations take their subject's tokens too.
    let editor = app.token_for("socket-user", Role::Viewer, &["klatovy"], &[]);
    let mut ws = crate::live::connect(&app.base, &editor).await;
    assert_eq!(
        crate::live::next_json(&mut ws).await["type"],
        "connection_ack"
    );
    let mut refused = 0;
    for i in 0..5 {
        let id = format!("q{i}");
        let subscribe =
            json!({ "id": id, "type": "subscribe", "payload": { "query": "{ me { subject } }" } });
        ws.send(Message::Text(subscribe.to_string().into()))
            .await
            .expect("send");
        let answer = crate::live::next_json(&mut ws).await;
        assert_eq!(answer["id"], id.as_str(), "{answer}");
        if answer["type"] == "error" {
            assert_eq!(
                *crate::live::error_code("graphql-transport-ws", &answer),
                "RATE_LIMITED"
            );
            refused += 1;
        } else {
            assert_eq!(answer["payload"]["data"]["me"]["subject"], "socket-user");
            let complete = crate::live::next_json(&mut ws).await;
            assert_eq!(complete["type"], "complete", "{complete}");
        }
    }
    assert!(refused >= 1, "5 operations against a burst of 3");
    app.stop().await;
}

/// A query over the WebSocket runs within the request time, as over HTTP.
async fn a_websocket_operation_over_its_time_is_service_unavailable(b: Backend) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut app = TestApp::spawn(b).await;
    app.restart_with(|c| c.limits.request_timeout = Duration::from_millis(1))
        .await;
    let mut ws = crate::live::connect(&app.base, &app.admin()).await;
    assert_eq!(
        crate::live::next_json(&mut ws).await["type"],
        "connection_ack"
    );
    let subscribe = json!({ "id": "all", "type": "subscribe", "payload": { "query": ALL_PLANS } });
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("send");
    let answer = crate::live::next_json(&mut ws).await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{answer}"
    );
    app.stop().await;
}

/// One subject's operations beyond its cap wait for a place (as many as
/// the cap), and beyond that are refused at once with 429 and Retry-After,
/// while another subject is served. A table lock holds the first operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_callers_operations_beyond_its_cap_wait_or_are_refused() {
    use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
    let app = TestApp::spawn_with(Backend::Postgres, |c, _| {
        c.limits.max_concurrent_per_subject = 1;
        c.response_cache_mb = 0;
    })
    .await;
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner connects");
    let lock = owner.begin().await.expect("begin");
    lock.execute_unprepared("LOCK TABLE plan IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let app = std::sync::Arc::new(app);
    let busy = format!(
        "Bearer {}",
        app.token_for("busy", Role::Viewer, &["*"], &[])
    );
    let held = tokio::spawn({
        let (app, busy) = (app.clone(), busy.clone());
        async move { app.post(Some(&busy), ALL_PLANS, json!({})).await }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    // Tests share the server: only a wait for this database's plan table counts.
    let not_granted = "SELECT count(*)::bigint AS n FROM pg_locks WHERE NOT granted \
        AND relation = 'plan'::regclass \
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    loop {
        let waiting = owner
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                not_granted,
            ))
            .await
            .expect("pg_locks")
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the first query never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Two more of the same subject: one waits for the place, one is refused at once.
    let mut more = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (app, busy) = (app.clone(), busy.clone());
        more.spawn(async move {
            let body = br#"{"query":"{ me { subject } }"}"#.to_vec();
            app.post_raw(Some(&busy), "application/json", body).await
        });
    }
    let started = Instant::now();
    let (status, headers, body) = more.join_next().await.expect("one").expect("joined");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"), "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Another subject is served at once.
    let other = app.token_for("other", Role::Viewer, &["klatovy"], &[]);
    let data = app.query(&other, "{ me { subject } }", json!({})).await;
    assert_eq!(data["me"]["subject"], "other");
    assert!(started.elapsed() < Duration::from_secs(1));
    // The lock gone, the first one finishes and the waiting one is served.
    lock.rollback().await.expect("unlock");
    let (status, body) = held.await.expect("held request");
    assert_eq!((status, code(&body)), (200, "none"), "{body}");
    let (status, _, body) = more.join_next().await.expect("the other").expect("joined");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["subject"], "busy");
}

/// The introspection query of graphql-js 16 (the one GraphiQL sends).
const GRAPHIQL_INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name }
  subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description
  args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue }
  interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
  kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

async fn introspection_and_graphiql_are_off_in_production(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let data = app.query(&admin, GRAPHIQL_INTROSPECTION, json!({})).await;
    assert!(
        data["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.len() > 50)
    );
    let misspelled = "{ plans { totalCont } }";
    let (_, body) = app
        .post(Some(&format!("Bearer {admin}")), misspelled, json!({}))
        .await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    app.stop().await;

    let app = TestApp::spawn_with(b, |c, _| c.environment = kpss::Environment::Production).await;
    // Suggestions would tell the schema that introspection hides.
    let (_, body) = app
        .post(
            Some(&format!("Bearer {}", app.admin())),
            misspelled,
            json!({}),
        )
        .await;
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    let (_, body) = app
        .post(
            Some(&format!("Bearer {}", app.admin())),
            GRAPHIQL_INTROSPECTION,
            json!({}),
        )
        .await;
    assert!(
        body["data"].is_null() || body["data"]["__schema"].is_null(),
        "{body}"
    );
    assert_eq!(app.get("/graphql").await.0, 404);
    assert_eq!(app.get("/assets/vendor/graphiql.min.js").await.0, 404);
    assert_eq!(app.get("/assets/graphiql/setup.js").await.0, 404);
    // The dashboard stays: it is a client like any other.
    assert_eq!(app.get("/").await.0, 200);
    assert_eq!(app.get("/assets/dashboard/app.js").await.0, 200);
    app.stop().await;

    let app = TestApp::spawn_with(b, |c, _| {
        c.environment = kpss::Environment::Production;
        c.introspection = Some(kpss::Switch::On);
        c.graphiql = Some(kpss::Switch::On);
    })
    .await;
    app.query(&app.admin(), GRAPHIQL_INTROSPECTION, json!({}))
        .await;
    assert_eq!(app.get("/graphql").await.0, 200);
    assert_eq!(app.get("/assets/vendor/graphiql.min.js").await.0, 200);
    app.stop().await;
}

on_both_databases!(
    heaviest_legitimate_reads_pass_with_the_default_limits,
    depth_aliases_and_root_fields_are_limited,
    complexity_multiplies_by_first_and_is_limited,
    nesting_batches_and_fragments_are_limited,
    body_size_is_limited_with_a_graphql_error,
    a_request_over_its_time_is_service_unavailable,
    rate_limit_answers_429_with_retry_after,
    the_rate_counts_operations_and_addresses_without_a_token,
    a_websocket_operation_over_its_time_is_service_unavailable,
    introspection_and_graphiql_are_off_in_production,
);

/// The WebSocket refuses what HTTP refuses under either subprotocol
/// (`subscribe` of graphql-transport-ws, `start` of the legacy graphql-ws),
/// and a message over the body limit closes the socket.
async fn websocket_operations_get_the_http_limits(b: Backend) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn(b).await;
    let deep = "subscription { changes { region { kraj { regions { kraj { regions { kraj { regions { kraj { regions { kraj { regions { code } } } } } } } } } } } } }";
    let aliases: String = (0..40).map(|i| format!("a{i}: me {{ role }} ")).collect();
    let aliases = format!("{{ {aliases} }}");
    for (protocol, kind) in [
        ("graphql-transport-ws", "subscribe"),
        ("graphql-ws", "start"),
    ] {
        let mut ws = crate::live::connect_with(&app.base, &app.admin(), protocol).await;
        assert_eq!(
            crate::live::next_json(&mut ws).await["type"],
            "connection_ack"
        );
        for query in [deep, aliases.as_str()] {
            let id = format!("{kind}-{}", query.len());
            let start = json!({ "id": id, "type": kind, "payload": { "query": query } });
            ws.send(Message::Text(start.to_string().into()))
                .await
                .expect("send");
            let answer = crate::live::next_json(&mut ws).await;
            assert_eq!(answer["type"], "error", "{kind}: {answer}");
            assert_eq!(answer["id"], id.as_str());
            assert_eq!(
                *crate::live::error_code(protocol, &answer),
                "QUERY_TOO_COMPLEX",
                "{kind}: {answer}"
            );
        }
        // Over the body limit (1 MiB): the socket closes with 1009 (message too big).
        let huge = "x".repeat(app.config.limits.max_body_bytes + 1);
        let start = json!({ "id": "huge", "type": kind, "payload": { "query": huge } });
        let _ = ws.send(Message::Text(start.to_string().into())).await;
        assert_eq!(
            crate::live::next_json(&mut ws).await,
            json!({ "close": 1009 })
        );
    }
    app.stop().await;
}

/// graphql-transport-ws as its specification says: another protocol's
/// message type or an unknown one closes with 4400, an id already running
/// with 4409; and one socket runs at most 16 operations at once.
async fn websocket_messages_follow_their_protocol(b: Backend) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn(b).await;
    let subscribe = |id: &str| {
        let m = json!({ "id": id, "type": "subscribe", "payload": { "query": "subscription { changes { entity } }" } });
        Message::Text(m.to_string().into())
    };
    for (message, code) in [
        (
            json!({ "id": "1", "type": "start", "payload": { "query": "{ me { role } }" } }),
            4400,
        ),
        (json!({ "type": "hello" }), 4400),
    ] {
        let mut ws = crate::live::connect(&app.base, &app.admin()).await;
        assert_eq!(
            crate::live::next_json(&mut ws).await["type"],
            "connection_ack"
        );
        ws.send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
        assert_eq!(
            crate::live::next_json(&mut ws).await,
            json!({ "close": code }),
            "{message}"
        );
    }
    let mut ws = crate::live::connect(&app.base, &app.admin()).await;
    assert_eq!(
        crate::live::next_json(&mut ws).await["type"],
        "connection_ack"
    );
    for i in 0..16 {
        ws.send(subscribe(&format!("s{i}"))).await.expect("send");
    }
    ws.send(subscribe("s16")).await.expect("send");
    let answer = crate::live::next_json(&mut ws).await;
    assert_eq!(answer["id"], "s16", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "RATE_LIMITED",
        "{answer}"
    );
    // A completed operation frees its place.
    let complete = json!({ "id": "s0", "type": "complete" });
    ws.send(Message::Text(complete.to_string().into()))
        .await
        .expect("send");
    assert_eq!(
        crate::live::next_json(&mut ws).await,
        json!({ "id": "s0", "type": "complete" })
    );
    ws.send(subscribe("s16")).await.expect("send");
    ws.send(subscribe("s16")).await.expect("send");
    assert_eq!(
        crate::live::next_json(&mut ws).await,
        json!({ "close": 4409 })
    );
    app.stop().await;
}

on_both_databases!(
    websocket_operations_get_the_http_limits,
    websocket_messages_follow_their_protocol
);
