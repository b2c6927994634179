//! Subscriptions over graphql-transport-ws: authenticated in
//! connection_init, scoped to readable regions, closed when the token expires,
//! and shared between service instances through PostgreSQL.

use crate::support::{Backend, TestApp};
use futures_util::{SinkExt, StreamExt};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(base: &str, token: &str) -> Socket {
    connect_with(base, token, "graphql-transport-ws").await
}

/// A socket of the given subprotocol (`graphql-transport-ws`, or the legacy
/// `graphql-ws`), with `connection_init` sent.
pub async fn connect_with(base: &str, token: &str, protocol: &str) -> Socket {
    let mut req = format!("{}/graphql/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into()))
        .await
        .expect("send");
    ws
}

/// The code of an operation's `error` message: graphql-transport-ws sends
/// the list of errors, the legacy protocol the one error.
pub fn error_code<'a>(protocol: &str, answer: &'a Value) -> &'a Value {
    assert_eq!(answer["type"], "error", "{answer}");
    match protocol {
        "graphql-ws" => &answer["payload"]["extensions"]["code"],
        _ => &answer["payload"][0]["extensions"]["code"],
    }
}

pub async fn next_json(ws: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
        {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                // Keep-alives of either protocol.
                if !["ping", "pong", "ka"].contains(&v["type"].as_str().unwrap_or_default()) {
                    return v;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return json!({ "close": frame.map(|f| u16::from(f.code)) });
            }
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// The subscriptions listening for changes in the service at `base`.
async fn subscribers(base: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("kpss_change_subscribers ")?.parse().ok())
        .expect("kpss_change_subscribers in /metrics")
}

async fn subscribe(base: &str, token: &str) -> Socket {
    subscribe_to(base, token, "region { code } entity action actor").await
}

/// A subscription to the `fields` of each change.
async fn subscribe_to(base: &str, token: &str, fields: &str) -> Socket {
    let before = subscribers(base).await;
    let mut ws = connect(base, token).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    let query = format!("subscription {{ changes {{ {fields} }} }}");
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .expect("send");
    // Nothing is written before the subscription listens.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while subscribers(base).await <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription listens within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ws
}

/// Waits until the change listener has forwarded every change committed so
/// far (after a failover it catches up on those whose notifications were
/// lost): it forwards in order, so a change made now arrives after them.
pub async fn caught_up(app: &TestApp) {
    let idle = subscribers(&app.base).await;
    let mut ws = subscribe(&app.base, &app.token(Role::Viewer, &["kromeriz"], &[])).await;
    create_provider(app, "kromeriz").await;
    while next_json(&mut ws).await["payload"]["data"]["changes"]["entity"] != "Provider" {}
    ws.close(None).await.expect("close");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while subscribers(&app.base).await > idle {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription ends within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn create_provider(app: &TestApp, region: &str) {
    let editor = app.token(Role::Editor, &[region], &[]);
    app.query(&editor, "mutation($r: String!) { createProvider(input: { region: $r, name: \"Nový poskytovatel\" }) { id } }", json!({ "r": region })).await;
}

/// A subscriber that falls so far behind that changes were dropped for it
/// (a roll-over writes one change per record at once; the instance keeps 4
/// here) is told how many it missed, with SERVICE_UNAVAILABLE, its
/// subscription completes, and `/metrics` counts it.
async fn a_subscriber_that_falls_behind_is_told_and_completed(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.subscription_buffer = 4).await;
    let mut ws = subscribe(&app.base, &app.admin()).await;
    let rolled = roll_over_klatovy(&app).await;
    assert!(
        !rolled["rollOverPlan"]["priorities"]
            .as_array()
            .expect("priorities")
            .is_empty()
    );
    let told = loop {
        let message = next_json(&mut ws).await;
        assert_eq!(message["type"], "next", "{message}");
        if message["payload"]["errors"].is_array() {
            break message;
        }
    };
    let error = &told["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{told}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("missed")),
        "{told}"
    );
    assert_eq!(next_json(&mut ws).await["type"], "complete");
    assert_eq!(app.counter("kpss_subscriptions_behind_total").await, 1.0);
    app.stop().await;
}

/// A Klatovy editor rolls the region's first action plan over to 2031
/// (a change per record it copies, committed at once).
async fn roll_over_klatovy(app: &TestApp) -> Value {
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let plan = app
        .query(
            &editor,
            "{ plans(filter: { regions: [\"klatovy\"], kinds: [ACTION_PLAN] }) { nodes { id } } }",
            json!({}),
        )
        .await["plans"]["nodes"][0]["id"]
        .clone();
    app.query(
        &editor,
        "mutation($id: ID!) { rollOverPlan(id: $id, periodStart: 2031, periodEnd: 2031) { priorities { id } } }",
        json!({ "id": plan }),
    )
    .await
}

/// A Klatovy editor evaluates the region's first measure for `year` (a new evaluation).
async fn record_evaluation(app: &TestApp, year: i32) {
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let measure = app
        .query(
            &editor,
            "{ measures(filter: { regions: [\"klatovy\"] }, first: 1) { nodes { id } } }",
            json!({}),
        )
        .await["measures"]["nodes"][0]["id"]
        .clone();
    app.query(&editor, "mutation($m: ID!, $y: Int!) { recordEvaluation(measureId: $m, input: { year: $y, status: IN_PROGRESS }) { id } }", json!({ "m": measure, "y": year })).await;
}

async fn a_reader_receives_only_its_regions_changes(b: Backend) {
    reader_receives_only_its_regions_changes(TestApp::spawn(b).await).await;
}

/// The checks of [`a_reader_receives_only_its_regions_changes`] on `app`.
pub async fn reader_receives_only_its_regions_changes(app: TestApp) {
    let mut ws = subscribe(&app.base, &app.token(Role::Viewer, &["klatovy"], &[])).await;
    create_provider(&app, "kromeriz").await;
    create_provider(&app, "klatovy").await;
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "next", "{event}");
    assert_eq!(
        event["payload"]["data"]["changes"],
        json!({ "region": { "code": "klatovy" }, "entity": "Provider", "action": "CREATED", "actor": "tester" }),
        "Kroměříž's change never arrives"
    );
    app.stop().await;
}

/// A change names the plan of its record (through the audit log on PostgreSQL).
async fn a_change_names_its_plan(b: Backend) {
    let app = TestApp::spawn(b).await;
    let viewer = app.token(Role::Viewer, &["klatovy"], &[]);
    let mut ws = subscribe_to(&app.base, &viewer, "entity planId").await;
    record_evaluation(&app, 2038).await;
    let plan = app
        .query(
            &viewer,
            "{ measures(filter: { regions: [\"klatovy\"] }, first: 1) { nodes { plan { id } } } }",
            json!({}),
        )
        .await["measures"]["nodes"][0]["plan"]["id"]
        .clone();
    assert!(plan.is_string(), "{plan}");
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"],
        json!({ "entity": "Evaluation", "planId": plan })
    );
    app.stop().await;
}

async fn bad_and_expired_tokens_close_the_socket(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut ws = connect(&app.base, "garbage").await;
    assert_eq!(next_json(&mut ws).await, json!({ "close": 4401 }));
    let short = {
        let auth = app.config.auth().expect("auth");
        let regions = ["klatovy".to_owned()];
        auth.issue(&kpss_api::auth::TokenRequest {
            subject: "short",
            role: Role::Viewer,
            regions: &regions,
            kraje: &[],
            ttl_secs: 2,
        })
        .expect("token")
    };
    let mut ws = subscribe(&app.base, &short).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({ "close": 4401 }),
        "closed when the token expires"
    );
    app.stop().await;
}

crate::on_both_databases!(
    a_reader_receives_only_its_regions_changes,
    a_subscriber_that_falls_behind_is_told_and_completed,
    a_change_names_its_plan,
    bad_and_expired_tokens_close_the_socket
);

/// Two service instances on one PostgreSQL database: a change written through
/// one reaches a subscriber of the other (LISTEN/NOTIFY), after commit; so
/// does every one of concurrent changes, which share notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_cross_instances_through_postgresql() {
    let writer = TestApp::spawn(Backend::Postgres).await;
    let url = writer.config.database_url.clone();
    // The second instance shares the first one's database.
    let reader = TestApp::spawn_with(Backend::Postgres, move |c, _| c.database_url = url).await;
    let token = reader.token(Role::Viewer, &["klatovy"], &[]);
    let mut ws = subscribe_to(&reader.base, &token, "region { code } entity entityId").await;
    create_provider(&writer, "klatovy").await;
    let event = next_json(&mut ws).await;
    assert_eq!(
        event["payload"]["data"]["changes"]["region"]["code"], "klatovy",
        "{event}"
    );
    const AT_ONCE: usize = 24;
    futures_util::future::join_all((0..AT_ONCE).map(|_| create_provider(&writer, "klatovy"))).await;
    let mut ids = std::collections::BTreeSet::new();
    while ids.len() < AT_ONCE {
        let event = next_json(&mut ws).await;
        let change = &event["payload"]["data"]["changes"];
        assert_eq!(change["entity"], "Provider", "{event}");
        assert!(
            ids.insert(change["entityId"].to_string()),
            "delivered once: {event}"
        );
    }
    writer.stop().await;
    reader.stop().await;
}

/// Any role may send `NOTIFY kpss_audit`: a replayed change, the number of
/// one already delivered or of one to come reach no subscriber; the next
/// real change arrives as the next event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifications_reach_no_subscriber() {
    use sea_orm::{ConnectionTrait, Database};
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut ws = subscribe(&app.base, &app.token(Role::Viewer, &["klatovy"], &[])).await;
    create_provider(&app, "klatovy").await;
    let created = json!({ "region": { "code": "klatovy" }, "entity": "Provider", "action": "CREATED", "actor": "tester" });
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"],
        created
    );

    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    let row = owner
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT id, after FROM audit_entry ORDER BY id DESC LIMIT 1",
        ))
        .await
        .expect("the audit entry")
        .expect("a row");
    let id: i64 = row.try_get_by_index(0).expect("id");
    let record: String = row.try_get_by_index(1).expect("after");
    let service = app.config.database_url.as_deref().expect("service url");
    let stranger = Database::connect(crate::support::postgres::stranger(service).await)
        .await
        .expect("the stranger logs in");
    for payload in [record, id.to_string(), (id + 1).to_string(), String::new()] {
        stranger
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_notify('kpss_audit', $1)",
                [payload.into()],
            ))
            .await
            .expect("anyone may notify");
    }

    record_evaluation(&app, 2036).await;
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"],
        json!({ "region": { "code": "klatovy" }, "entity": "Evaluation", "action": "CREATED", "actor": "tester" }),
        "the forged notifications brought nothing"
    );
    app.stop().await;
}

/// Numbers are drawn before commit, so a change may commit after one with a
/// higher number has been delivered: it still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_after_a_later_numbered_one_still_arrives() {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut ws = subscribe(&app.base, &app.token(Role::Viewer, &["klatovy"], &[])).await;
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner");
    // A write that has drawn its number and not committed yet.
    let slow = owner.begin().await.expect("begin");
    slow.execute_unprepared(
        "INSERT INTO audit_entry (at, actor, region_code, entity, entity_id, action) \
         VALUES (now(), 'slow', 'klatovy', 'Provider', 1, 'CREATED')",
    )
    .await
    .expect("insert");
    create_provider(&app, "klatovy").await;
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"]["actor"],
        "tester"
    );
    slow.execute_unprepared("NOTIFY kpss_audit")
        .await
        .expect("notify");
    slow.commit().await.expect("commit");
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"]["actor"],
        "slow"
    );
    app.stop().await;
}

/// An instance with no subscription reads none of the changes it is told
/// of (a write costs it nothing), a forged number does not lead it astray,
/// and its first subscriber gets exactly the changes from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_subscribers_reads_no_changes() {
    use sea_orm::{ConnectionTrait, Database};
    let writer = TestApp::spawn(Backend::Postgres).await;
    let url = writer.config.database_url.clone();
    let reader = TestApp::spawn_with(Backend::Postgres, move |c, _| c.database_url = url).await;
    let before = reader.db.statements();
    for _ in 0..5 {
        create_provider(&writer, "klatovy").await;
    }
    // Time for the notifications to arrive (the listener read every change within it before).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        reader.db.statements(),
        before,
        "no statement for changes nobody awaits"
    );
    // A forged number far ahead is not believed: later changes still arrive.
    let service = reader.config.database_url.as_deref().expect("service url");
    let stranger = Database::connect(crate::support::postgres::stranger(service).await)
        .await
        .expect("the stranger logs in");
    stranger
        .execute_unprepared("SELECT pg_notify('kpss_audit', '999999999')")
        .await
        .expect("anyone may notify");
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Changes that share notifications: a roll-over's (one commit) and
    // concurrent writers'. Each is noted, unread, so none comes later.
    let before = reader.db.statements();
    roll_over_klatovy(&writer).await;
    futures_util::future::join_all((0..8).map(|_| create_provider(&writer, "klatovy"))).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        reader.db.statements(),
        before,
        "changes that share a notification are noted unread"
    );

    let mut ws = subscribe(&reader.base, &reader.token(Role::Viewer, &["klatovy"], &[])).await;
    record_evaluation(&writer, 2037).await;
    assert_eq!(
        next_json(&mut ws).await["payload"]["data"]["changes"]["entity"],
        "Evaluation",
        "the first event is the first change after the subscription, not an earlier one"
    );
    writer.stop().await;
    reader.stop().await;
}
