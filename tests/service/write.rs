//! The write API: the whole edit cycle, authorisation, validation,
//! optimistic concurrency and the audit log.

use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};

/// Ids of a few Klatovy records to write to.
struct Ids {
    plan: String,
    priority: String,
    measure: String,
    provider: String,
    service: String,
}

async fn klatovy(app: &TestApp) -> Ids {
    let data = app
        .query(
            &app.admin(),
            r#"{ plans(filter: { regions: ["klatovy"], kinds: [ACTION_PLAN] }) { nodes { id priorities { id measures { id } } } }
               providers(filter: { regions: ["klatovy"] }) { nodes { id services { id } } } }"#,
            json!({}),
        )
        .await;
    let plan = &data["plans"]["nodes"][0];
    let provider = &data["providers"]["nodes"][0];
    let s = |v: &Value| v.as_str().expect("id").to_owned();
    Ids {
        plan: s(&plan["id"]),
        priority: s(&plan["priorities"][0]["id"]),
        measure: s(&plan["priorities"][0]["measures"][0]["id"]),
        provider: s(&provider["id"]),
        service: s(&provider["services"][0]["id"]),
    }
}

/// The id of a new activity of `measure`.
async fn an_activity(app: &TestApp, editor: &str, measure: &str) -> String {
    app.query(editor, "mutation($m: ID!) { createActivity(measureId: $m, input: { code: \"1.1.1\", title: \"Setkání\" }) { id } }", json!({ "m": measure }))
        .await["createActivity"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The first error's code and field.
async fn error(app: &TestApp, token: &str, q: &str, vars: Value) -> (String, Option<String>) {
    let (_, body) = app.post(Some(&format!("Bearer {token}")), q, vars).await;
    let ext = &body["errors"][0]["extensions"];
    (
        ext["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {body}"))
            .to_owned(),
        ext["field"].as_str().map(str::to_owned),
    )
}

async fn the_whole_edit_cycle_works(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let created = app
        .query(
            &editor,
            "mutation($p: ID) { createPlan(input: { region: \"klatovy\", title: \"Akční plán na rok 2024\", kind: ACTION_PLAN, periodStart: 2024, periodEnd: 2024, parentId: $p }) { id version parent { kind } } }",
            json!({ "p": ids.plan }),
        )
        .await["createPlan"]
        .clone();
    assert_eq!(
        (created["version"].as_i64(), &created["parent"]["kind"]),
        (Some(1), &json!("ACTION_PLAN"))
    );
    let id = created["id"].clone();
    let read = app
        .query(
            &editor,
            "query($id: ID!) { plan(id: $id) { title region { code } sourceDocument } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["plan"],
        json!({ "title": "Akční plán na rok 2024", "region": { "code": "klatovy" }, "sourceDocument": null })
    );

    let patch = "mutation($id: ID!, $v: Int!, $p: PlanPatch!) { updatePlan(id: $id, expectedVersion: $v, patch: $p) { version title approval parent { id } } }";
    let updated = app.query(&editor, patch, json!({ "id": id, "v": 1, "p": { "approval": "Rada města Klatovy", "parentId": null } })).await;
    assert_eq!(
        updated["updatePlan"],
        json!({ "version": 2, "title": "Akční plán na rok 2024", "approval": "Rada města Klatovy", "parent": null }),
        "absent stays, null clears"
    );
    let (code, _) = error(
        &app,
        &editor,
        patch,
        json!({ "id": id, "v": 1, "p": { "title": "Jiný" } }),
    )
    .await;
    assert_eq!(code, "CONFLICT");
    let (_, body) = app
        .post(
            Some(&format!("Bearer {editor}")),
            patch,
            json!({ "id": id, "v": 1, "p": { "title": "Jiný" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 2);

    let before = app.query(&editor, "query($id: ID!) { plan(id: $id) { title kind periodStart periodEnd approval preparedBy approvedOn } }", json!({ "id": id })).await;
    let archived = app
        .query(
            &editor,
            "mutation($id: ID!) { archivePlan(id: $id, expectedVersion: 2) { archived version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        archived["archivePlan"],
        json!({ "archived": true, "version": 3 })
    );
    let listed = app.query(&editor, "{ plans(filter: { regions: [\"klatovy\"] }) { totalCount } all: plans(filter: { regions: [\"klatovy\"], includeArchived: true }) { totalCount } }", json!({})).await;
    assert_eq!(
        listed["all"]["totalCount"].as_i64().expect("n"),
        listed["plans"]["totalCount"].as_i64().expect("n") + 1
    );
    let (code, _) = error(
        &app,
        &editor,
        "mutation($id: ID!) { restorePlan(id: $id, expectedVersion: 3) { archived } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN", "restore is for admins");
    let admin = app.token(Role::Admin, &["klatovy"], &[]);
    let restored = app
        .query(
            &admin,
            "mutation($id: ID!) { restorePlan(id: $id, expectedVersion: 3) { archived version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        restored["restorePlan"],
        json!({ "archived": false, "version": 4 })
    );
    let after = app.query(&editor, "query($id: ID!) { plan(id: $id) { title kind periodStart periodEnd approval preparedBy approvedOn } }", json!({ "id": id })).await;
    assert_eq!(
        before, after,
        "archive then restore gives back the identical record"
    );

    let log = app.query(&admin, "query($id: ID) { auditLog(filter: { entity: \"Plan\", entityId: $id }) { nodes { action actor before after region { code } } } }", json!({ "id": id })).await;
    let actions: Vec<&str> = log["auditLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().expect("a"))
        .collect();
    assert_eq!(actions, ["CREATED", "UPDATED", "ARCHIVED", "RESTORED"]);
    let update = &log["auditLog"]["nodes"][1];
    assert_eq!(update["actor"], "tester");
    assert!(
        update["before"]
            .as_str()
            .expect("before")
            .contains("\"approval\":null")
            && update["after"]
                .as_str()
                .expect("after")
                .contains("Rada města Klatovy")
    );
    let (code, _) = error(&app, &editor, "{ auditLog { totalCount } }", json!({})).await;
    assert_eq!(code, "FORBIDDEN", "the audit log is for admins");
    app.stop().await;
}

async fn writes_outside_the_writable_regions_are_refused_and_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let activity = app
        .query(&app.admin(), "mutation($m: ID!) { createActivity(measureId: $m, input: { code: \"1.1.1\", title: \"Setkání\" }) { id } }", json!({ "m": ids.measure }))
        .await["createActivity"]["id"]
        .clone();
    let before = app.audit_total().await;
    let tokens = [
        (
            "viewer of klatovy",
            app.token(Role::Viewer, &["klatovy"], &[]),
        ),
        ("admin by kraj", app.token(Role::Admin, &[], &["CZ032"])),
        (
            "editor of kromeriz",
            app.token(Role::Editor, &["kromeriz"], &[]),
        ),
        ("no regions", app.token(Role::Admin, &[], &[])),
    ];
    let mutations = [
        "mutation($i: Ids!) { createPlan(input: { region: \"klatovy\", title: \"X\", kind: ACTION_PLAN, periodStart: 2024, periodEnd: 2024 }) { id } }",
        "mutation($plan: ID!) { updatePlan(id: $plan, expectedVersion: 1, patch: { title: \"X\" }) { id } }",
        "mutation($plan: ID!) { archivePlan(id: $plan, expectedVersion: 1) { id } }",
        "mutation($plan: ID!) { createPriority(planId: $plan, input: { code: \"99\", title: \"X\" }) { id } }",
        "mutation($priority: ID!) { updatePriority(id: $priority, expectedVersion: 1, patch: { title: \"X\" }) { id } }",
        "mutation($priority: ID!) { archivePriority(id: $priority, expectedVersion: 1) { id } }",
        "mutation($priority: ID!) { createMeasure(priorityId: $priority, input: { code: \"9.9\", title: \"X\" }) { id } }",
        "mutation($measure: ID!) { updateMeasure(id: $measure, expectedVersion: 1, patch: { title: \"X\" }) { id } }",
        "mutation($measure: ID!) { archiveMeasure(id: $measure, expectedVersion: 1) { id } }",
        "mutation($measure: ID!) { createActivity(measureId: $measure, input: { code: \"9.9.1\", title: \"X\" }) { id } }",
        "mutation($measure: ID!) { recordEvaluation(measureId: $measure, input: { year: 2024, status: FULFILLED }) { id } }",
        "mutation { createProvider(input: { region: \"klatovy\", name: \"X\" }) { id } }",
        "mutation($provider: ID!) { createService(providerId: $provider, input: { serviceType: RANA_PECE, capacities: [] }) { id } }",
        "mutation($service: ID!) { updateService(id: $service, expectedVersion: 1, patch: { scope: \"X\" }) { id } }",
        "mutation($service: ID!) { archiveService(id: $service, expectedVersion: 1) { id } }",
        "mutation($activity: ID!) { updateActivity(id: $activity, expectedVersion: 1, patch: { title: \"X\" }) { id } }",
        "mutation($activity: ID!) { archiveActivity(id: $activity, expectedVersion: 1) { id } }",
        "mutation($plan: ID!) { restorePlan(id: $plan, expectedVersion: 1) { id } }",
    ];
    let vars = json!({ "plan": ids.plan, "priority": ids.priority, "measure": ids.measure, "provider": ids.provider, "service": ids.service, "activity": activity });
    let only_used = |m: &str, vars: &Value| -> Value {
        let used: serde_json::Map<String, Value> = vars
            .as_object()
            .expect("vars")
            .iter()
            .filter(|(k, _)| m.contains(&format!("${k}")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(used)
    };
    // The same ids, none of which exists.
    let missing = json!({ "plan": "999999", "priority": "999999", "measure": "999999", "provider": "999999", "service": "999999", "activity": "999999" });
    for (name, token) in &tokens {
        let reads_klatovy = name.starts_with("viewer") || name.starts_with("admin by kraj");
        for m in mutations {
            let m = m.replace("($i: Ids!) ", " ");
            let (_, body) = app
                .post(Some(&format!("Bearer {token}")), &m, only_used(&m, &vars))
                .await;
            let code = body["errors"][0]["extensions"]["code"].as_str();
            if reads_klatovy || !m.contains('$') {
                // Readable but not writable, or a region named in an argument.
                assert_eq!(code, Some("FORBIDDEN"), "{name}: {m}: {body}");
                continue;
            }
            // An id of a region the caller cannot read is answered exactly
            // as an id that does not exist (NOT_FOUND; a missing parent of a
            // new record is bad input in its argument): ids leak no existence.
            assert!(
                matches!(code, Some("NOT_FOUND" | "BAD_USER_INPUT")),
                "{name}: {m}: {body}"
            );
            let (_, absent) = app
                .post(
                    Some(&format!("Bearer {token}")),
                    &m,
                    only_used(&m, &missing),
                )
                .await;
            // The same answer, but for the id the message names.
            let mut answer = body.clone();
            let message = &mut answer["errors"][0]["message"];
            let mut text = message.as_str().expect("a message").to_owned();
            for id in only_used(&m, &vars).as_object().expect("vars").values() {
                let id = id.as_str().expect("an id");
                text = text.replace(&format!(" {id}"), " 999999");
            }
            *message = Value::String(text);
            assert_eq!(answer, absent, "{name}: {m}");
        }
    }
    assert_eq!(app.audit_total().await, before, "nothing was written");
    // A plan of Kroměříž cannot implement a plan of Klatovy.
    let both = app.token(Role::Editor, &["klatovy", "kromeriz"], &[]);
    let (code, _) = error(
        &app,
        &both,
        "mutation($p: ID) { createPlan(input: { region: \"kromeriz\", title: \"X\", kind: ACTION_PLAN, periodStart: 2024, periodEnd: 2024, parentId: $p }) { id } }",
        json!({ "p": ids.plan }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");
    app.stop().await;
}

async fn invalid_input_is_refused_with_its_field_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let before = app.audit_total().await;
    let plan = |title: &str, start: i32, end: i32| json!({ "in": { "region": "klatovy", "title": title, "kind": "ACTION_PLAN", "periodStart": start, "periodEnd": end } });
    let create_plan = "mutation($in: PlanInput!) { createPlan(input: $in) { id } }";
    let create_measure = "mutation($p: ID!, $in: MeasureInput!) { createMeasure(priorityId: $p, input: $in) { id } }";
    let existing_code = app
        .query(
            &editor,
            "query($id: ID!) { measure(id: $id) { code } }",
            json!({ "id": ids.measure }),
        )
        .await["measure"]["code"]
        .clone();
    let cases = [
        (create_plan, plan("   ", 2024, 2024), "input.title"),
        (create_plan, plan("Plán", 2024, 2023), "input.periodEnd"),
        (create_plan, plan("Plán", 1989, 2024), "input.periodStart"),
        (create_plan, plan("Plán", 2024, 2101), "input.periodEnd"),
        (
            create_plan,
            plan(&"dlouhý ".repeat(200), 2024, 2024),
            "input.title",
        ),
        (create_plan, plan("<p>Plán</p>", 2024, 2024), "input.title"),
        // A right-to-left override shows a reader other text than is stored.
        (
            create_plan,
            plan("Plán \u{202E}4202", 2024, 2024),
            "input.title",
        ),
        (
            create_plan,
            json!({ "in": { "region": "nowhere", "title": "P", "kind": "ACTION_PLAN", "periodStart": 2024, "periodEnd": 2024 } }),
            "input.region",
        ),
        (
            create_plan,
            json!({ "in": { "region": "klatovy", "title": "P", "kind": "ACTION_PLAN", "periodStart": 2024, "periodEnd": 2024, "parentId": "999999" } }),
            "input.parentId",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": "9.1", "title": "M", "plannedCapacities": [{ "value": -5, "unit": "BEDS" }] } }),
            "input.plannedCapacities[0].value",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": existing_code, "title": "M" } }),
            "input.code",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": "9.2", "title": "M", "termStartYear": 2025, "termEndYear": 2024 } }),
            "input.termEndYear",
        ),
        (
            create_measure,
            json!({ "p": "999999", "in": { "code": "9.3", "title": "M" } }),
            "priorityId",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": "9.4", "title": "M", "parentId": "999999" } }),
            "input.parentId",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": "9.5", "title": "M", "targetGroups": ["senioři", " "] } }),
            "input.targetGroups[1]",
        ),
        (
            create_measure,
            json!({ "p": ids.priority, "in": { "code": "9.6", "title": "M", "description": "zvonek\u{7}" } }),
            "input.description",
        ),
    ];
    for (q, vars, field) in cases {
        let (code, got) = error(&app, &editor, q, vars.clone()).await;
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field)),
            "{vars}"
        );
    }
    // An archived parent is refused as well.
    let fresh = app
        .query(&editor, create_plan, plan("Dočasný plán", 2024, 2024))
        .await["createPlan"]["id"]
        .clone();
    app.query(
        &editor,
        "mutation($id: ID!) { archivePlan(id: $id, expectedVersion: 1) { id } }",
        json!({ "id": fresh }),
    )
    .await;
    let (code, field) = error(&app, &editor, "mutation($p: ID!) { createPriority(planId: $p, input: { code: \"1\", title: \"P\" }) { id } }", json!({ "p": fresh })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("planId"))
    );
    assert_eq!(
        app.audit_total().await,
        before + 2,
        "only the plan and its archiving were written"
    );
    // Text is stored NFC.
    let nfd = "Krome\u{030c}r\u{030c}i\u{0301}z\u{030c}";
    let created = app.query(&editor, create_plan, plan(nfd, 2024, 2024)).await;
    let title = app
        .query(
            &editor,
            "query($id: ID!) { plan(id: $id) { title } }",
            json!({ "id": created["createPlan"]["id"] }),
        )
        .await;
    assert_eq!(title["plan"]["title"], "Kroměříž");
    // A form's line breaks (`\r\n`) are stored as `\n`.
    let measure = app
        .query(
            &editor,
            "mutation($p: ID!, $in: MeasureInput!) { createMeasure(priorityId: $p, input: $in) { description } }",
            json!({ "p": ids.priority, "in": { "code": "9.7", "title": "M", "description": "první\r\n\r\ndruhý" } }),
        )
        .await;
    assert_eq!(measure["createMeasure"]["description"], "první\n\ndruhý");
    app.stop().await;
}

/// A stored value that a newer rule refuses (a text-direction character,
/// written here behind the service's back as an older version could) does
/// not lock its record: a patch of another field is refused naming it, and
/// a patch that mends it is accepted.
async fn a_patch_can_mend_a_stored_value_a_newer_rule_refuses(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let activity = an_activity(&app, &editor, &ids.measure).await;
    let cases = [
        (
            "plan",
            "title",
            &ids.plan,
            "updatePlan",
            "preparedBy: \"OSVZ\"",
        ),
        (
            "priority",
            "title",
            &ids.priority,
            "updatePriority",
            "description: \"Popis\"",
        ),
        (
            "measure",
            "output",
            &ids.measure,
            "updateMeasure",
            "risks: [\"Nedostatek financí\"]",
        ),
        (
            "activity",
            "title",
            &activity,
            "updateActivity",
            "schedule: \"2024\"",
        ),
        (
            "provider",
            "name",
            &ids.provider,
            "updateProvider",
            "ico: \"12345678\"",
        ),
        (
            "service",
            "name",
            &ids.service,
            "updateService",
            "scope: \"Klatovsko\"",
        ),
    ];
    let before = app.audit_total().await;
    for (table, column, id, mutation, other) in cases {
        let row: i64 = id.parse().expect("a numeric id");
        let version = app
            .store_unchecked(table, column, row, "Název \u{202E}obrácený")
            .await;
        let patch = |p: &str| {
            format!(
                "mutation($id: ID!, $v: Int!) {{ r: {mutation}(id: $id, expectedVersion: $v, patch: {{ {p} }}) {{ {column} version }} }}"
            )
        };
        let vars = json!({ "id": id, "v": version });
        let (code, named) = error(&app, &editor, &patch(other), vars.clone()).await;
        assert_eq!(
            (code.as_str(), named.as_deref()),
            ("BAD_USER_INPUT", Some(format!("patch.{column}").as_str())),
            "{mutation}"
        );
        let mended = app
            .query(
                &editor,
                &patch(&format!("{column}: \"Název opravený\"")),
                vars,
            )
            .await;
        assert_eq!(
            (&mended["r"][column], &mended["r"]["version"]),
            (&json!("Název opravený"), &json!(version + 1)),
            "{mutation}"
        );
    }
    assert_eq!(
        app.audit_total().await,
        before + 6,
        "only the mending patches were written"
    );
    app.stop().await;
}

async fn of_concurrent_updates_with_one_version_exactly_one_wins(b: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(b).await);
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let q = "mutation($id: ID!, $t: String!) { updateMeasure(id: $id, expectedVersion: 1, patch: { title: $t }) { title version } }";
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (app, editor, id) = (app.clone(), editor.clone(), ids.measure.clone());
            tokio::spawn(async move {
                app.post(
                    Some(&format!("Bearer {editor}")),
                    q,
                    json!({ "id": id, "t": format!("Vítěz {i}") }),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (_, body) = t.await.expect("task");
        match body["errors"][0]["extensions"]["code"].as_str() {
            None => winners.push(
                body["data"]["updateMeasure"]["title"]
                    .as_str()
                    .expect("title")
                    .to_owned(),
            ),
            Some("CONFLICT") => {
                // A loser learns the version the winner left, whether it
                // read the record before the winner's commit or after.
                assert_eq!(
                    body["errors"][0]["extensions"]["currentVersion"], 2,
                    "{body}"
                );
                conflicts += 1
            }
            Some(other) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 31));
    let now = app
        .query(
            &editor,
            "query($id: ID!) { measure(id: $id) { title version } }",
            json!({ "id": ids.measure }),
        )
        .await;
    assert_eq!(now["measure"], json!({ "title": winners[0], "version": 2 }));
    let log = app.query(&app.admin(), "query($id: ID) { auditLog(filter: { entity: \"Measure\", entityId: $id }) { totalCount } }", json!({ "id": ids.measure })).await;
    assert_eq!(log["auditLog"]["totalCount"], 1);
    // The losers' search entries went with their updates.
    let hits = app
        .query(
            &editor,
            "{ search(text: \"Vítěz\", first: 50) { kind id title } }",
            json!({}),
        )
        .await;
    let titles: Vec<&Value> = hits["search"]
        .as_array()
        .expect("hits")
        .iter()
        .filter(|h| h["kind"] == "MEASURE" && h["id"] == ids.measure)
        .map(|h| &h["title"])
        .collect();
    assert_eq!(titles.len(), 1, "{hits}");
    assert!(
        titles[0].as_str().is_some_and(|t| t.ends_with(&winners[0])),
        "{hits}"
    );
}

/// An update that read the record before another change committed, and
/// finds it changed when it writes, is refused with the version that change
/// left, not the one it read. Another connection holds the row's lock with
/// an uncommitted change until the update waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overtaken_update_answers_the_version_that_overtook_it() {
    use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
    let app = std::sync::Arc::new(TestApp::spawn(Backend::Postgres).await);
    let ids = klatovy(&app).await;
    let owner = Database::connect(app.config.owner_url().expect("owner"))
        .await
        .expect("owner connects");
    let other = owner.begin().await.expect("begin");
    other
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE measure SET version = 2, title = 'Jinak' WHERE id = $1 AND version = 1",
            [ids.measure.parse::<i64>().expect("id").into()],
        ))
        .await
        .expect("the other change");
    let pid: i32 = other
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .expect("pid")
        .and_then(|r| r.try_get("", "pid").ok())
        .expect("pid");
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let update = tokio::spawn({
        let (app, id) = (app.clone(), ids.measure.clone());
        async move {
            let q = "mutation($id: ID!) { updateMeasure(id: $id, expectedVersion: 1, patch: { title: \"Pozdě\" }) { version } }";
            app.post(Some(&format!("Bearer {editor}")), q, json!({ "id": id }))
                .await
        }
    });
    // The update has read version 1 and waits for the row.
    let waiting = format!(
        "SELECT count(*)::bigint AS n FROM pg_locks WHERE locktype = 'transactionid' \
         AND NOT granted AND transactionid = (SELECT transactionid FROM pg_locks \
         WHERE locktype = 'transactionid' AND granted AND pid = {pid})"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while owner
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            &waiting,
        ))
        .await
        .expect("pg_locks")
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the update never waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.commit().await.expect("commit");
    let (_, body) = update.await.expect("task");
    let e = &body["errors"][0];
    assert_eq!(e["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(e["extensions"]["currentVersion"], 2, "{body}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("current version 2")),
        "{body}"
    );
}

/// An update's answer is the record as stored (the service no longer reads
/// the row back), the time of the change too.
async fn an_updates_answer_is_what_a_read_finds(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let fields = "title version updatedAt";
    let ask = async |q: String| app.query(&editor, &q, json!({ "id": ids.plan })).await;
    let answer = ask(format!("mutation($id: ID!) {{ updatePlan(id: $id, expectedVersion: 1, patch: {{ title: \"Akční plán\" }}) {{ {fields} }} }}")).await;
    let read = ask(format!(
        "query($id: ID!) {{ plan(id: $id) {{ {fields} }} }}"
    ))
    .await;
    assert_eq!(answer["updatePlan"], read["plan"]);
    app.stop().await;
}

async fn evaluations_replace_per_year_and_edits_reach_the_export(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let record = "mutation($m: ID!, $s: EvaluationStatus!, $c: String) { recordEvaluation(measureId: $m, input: { year: 2023, status: $s, comment: $c }) { year status comment recordedBy } }";
    app.query(
        &editor,
        record,
        json!({ "m": ids.measure, "s": "IN_PROGRESS", "c": "Probíhá." }),
    )
    .await;
    let second = app
        .query(
            &editor,
            record,
            json!({ "m": ids.measure, "s": "FULFILLED", "c": "Splněno." }),
        )
        .await;
    assert_eq!(
        second["recordEvaluation"],
        json!({ "year": 2023, "status": "FULFILLED", "comment": "Splněno.", "recordedBy": "tester" })
    );
    let m = app.query(&editor, "query($id: ID!) { measure(id: $id) { evaluations { year status } latestEvaluation { status } } }", json!({ "id": ids.measure })).await;
    assert_eq!(
        m["measure"]["evaluations"],
        json!([{ "year": 2023, "status": "FULFILLED" }]),
        "one per year"
    );
    let log = app
        .query(
            &app.admin(),
            "{ auditLog(filter: { entity: \"Evaluation\" }) { nodes { action before } } }",
            json!({}),
        )
        .await;
    let nodes = log["auditLog"]["nodes"].as_array().expect("entries");
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes[1]["before"]
            .as_str()
            .expect("before")
            .contains("Probíhá."),
        "the replaced one stays in the audit log"
    );

    let created = app
        .query(
            &editor,
            "mutation($p: ID!) { createMeasure(priorityId: $p, input: { code: \"1.99\", title: \"Nové opatření\", plannedCapacities: [{ form: RESIDENTIAL, value: 12, unit: BEDS, text: \"12 lůžek\" }] }) { id code plannedCapacities { value unit } } }",
            json!({ "p": ids.priority }),
        )
        .await;
    assert_eq!(
        created["createMeasure"]["plannedCapacities"],
        json!([{ "value": 12, "unit": "BEDS" }])
    );
    app.query(&editor, "mutation($s: ID!) { updateService(id: $s, expectedVersion: 1, patch: { capacities: [{ value: 7, unit: CLIENTS_AT_ONCE }] }) { id } }", json!({ "s": ids.service })).await;
    let export =
        kpss_persistence::export::to_yaml(&crate::seeds::exported(&app.db, "klatovy").await)
            .expect("yaml");
    assert!(
        export.contains("Nové opatření")
            && export.contains("12 lůžek")
            && export.contains("Splněno."),
        "every edit is in the export"
    );
    assert!(export.contains("value: 7"));
    app.stop().await;
}

const RECORD: &str = "mutation($m: ID!, $y: Int!, $s: EvaluationStatus!, $v: Int) { recordEvaluation(measureId: $m, input: { year: $y, status: $s }, expectedVersion: $v) { year status version } }";

/// A measure's evaluations as (year, status, version).
async fn evaluations(app: &TestApp, token: &str, measure: &str) -> Value {
    app.query(
        token,
        "query($id: ID!) { measure(id: $id) { evaluations { year status version } } }",
        json!({ "id": measure }),
    )
    .await["measure"]["evaluations"]
        .clone()
}

/// An evaluation starts at version 1 and each replacement raises it; an
/// expected version must be the current one (0: none yet), else CONFLICT
/// with the current version, and nothing changes.
async fn evaluation_versions_guard_replacements(b: Backend) {
    let app = TestApp::spawn(b).await;
    let m = klatovy(&app).await.measure;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let record = |y: i32, s: &str, v: Option<i32>| json!({ "m": m, "y": y, "s": s, "v": v });
    let conflict = async |vars: Value| {
        let (_, body) = app
            .post(Some(&format!("Bearer {editor}")), RECORD, vars)
            .await;
        let ext = &body["errors"][0]["extensions"];
        (ext["code"].clone(), ext["currentVersion"].clone())
    };
    let done = app
        .query(&editor, RECORD, record(2031, "IN_PROGRESS", None))
        .await;
    assert_eq!(done["recordEvaluation"]["version"], 1);
    let done = app
        .query(&editor, RECORD, record(2031, "FULFILLED", None))
        .await;
    assert_eq!(done["recordEvaluation"]["version"], 2, "a replacement");

    let done = app
        .query(&editor, RECORD, record(2032, "IN_PROGRESS", Some(0)))
        .await;
    assert_eq!(done["recordEvaluation"]["version"], 1, "0: none yet");
    assert_eq!(
        conflict(record(2032, "FULFILLED", Some(0))).await,
        (json!("CONFLICT"), json!(1))
    );

    let audited = app.audit_total().await;
    let before = evaluations(&app, &editor, &m).await;
    assert_eq!(
        conflict(record(2031, "NOT_FULFILLED", Some(1))).await,
        (json!("CONFLICT"), json!(2)),
        "a stale version"
    );
    assert_eq!(
        conflict(record(2033, "NOT_FULFILLED", Some(1))).await,
        (json!("CONFLICT"), json!(0)),
        "none exists"
    );
    assert_eq!(evaluations(&app, &editor, &m).await, before);
    assert_eq!(app.audit_total().await, audited);
    let done = app
        .query(&editor, RECORD, record(2031, "NOT_FULFILLED", Some(2)))
        .await;
    assert_eq!(
        done["recordEvaluation"],
        json!({ "year": 2031, "status": "NOT_FULFILLED", "version": 3 })
    );
    app.stop().await;
}

/// 8 first records of one measure and year at once: without a version they
/// all succeed, one after another (one evaluation, versions 1 to 8); with
/// `expectedVersion: 0` exactly one wins and the others are CONFLICT.
async fn concurrent_first_evaluations_of_a_year_queue(b: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(b).await);
    let m = klatovy(&app).await.measure;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let all_at_once = async |year: i32, v: Option<i32>| {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (app, editor, m) = (app.clone(), editor.clone(), m.clone());
                tokio::spawn(async move {
                    let vars = json!({ "m": m, "y": year, "s": "IN_PROGRESS", "v": v });
                    app.post(Some(&format!("Bearer {editor}")), RECORD, vars)
                        .await
                        .1
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    };

    let mut versions: Vec<i64> = all_at_once(2034, None)
        .await
        .iter()
        .map(|body| {
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["recordEvaluation"]["version"]
                .as_i64()
                .expect("version")
        })
        .collect();
    versions.sort();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());

    let (mut won, mut conflicts) = (0, 0);
    for body in all_at_once(2035, Some(0)).await {
        let ext = &body["errors"][0]["extensions"];
        match ext["code"].as_str() {
            None => won += 1,
            Some("CONFLICT") => {
                assert_eq!(ext["currentVersion"], 1, "{body}");
                conflicts += 1;
            }
            Some(other) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((won, conflicts), (1, 7));

    let years: Vec<(i64, i64)> = evaluations(&app, &editor, &m)
        .await
        .as_array()
        .expect("evaluations")
        .iter()
        .filter_map(|e| Some((e["year"].as_i64()?, e["version"].as_i64()?)))
        .filter(|(y, _)| *y >= 2034)
        .collect();
    assert_eq!(years, [(2035, 1), (2034, 8)], "one evaluation per year");
}

/// A code is unique among a parent's current records: a change to a code
/// in use is refused under `patch.code` and changes nothing; an archived
/// record's code is free, and a change that keeps a code never clashes.
async fn codes_stay_unique_among_current_siblings_through_updates(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let create = "mutation($p: ID!, $c: String!) { createMeasure(priorityId: $p, input: { code: $c, title: \"M\" }) { id version } }";
    let update = "mutation($id: ID!, $v: Int!, $patch: MeasurePatch!) { updateMeasure(id: $id, expectedVersion: $v, patch: $patch) { code version } }";
    let archive =
        "mutation($id: ID!, $v: Int!) { archiveMeasure(id: $id, expectedVersion: $v) { version } }";
    let mut made = vec![];
    for code in ["9.1", "9.2"] {
        let m = app
            .query(&editor, create, json!({ "p": ids.priority, "c": code }))
            .await["createMeasure"]
            .clone();
        made.push((m["id"].clone(), m["version"].as_i64().expect("version")));
    }
    let [(first, first_version), (second, second_version)] = [made[0].clone(), made[1].clone()];
    let before = app.audit_total().await;
    let taken = json!({ "id": second, "v": second_version, "patch": { "code": "9. 1" } });
    let (code, field) = error(&app, &editor, update, taken.clone()).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("patch.code"))
    );
    assert_eq!(app.audit_total().await, before, "nothing was written");
    let first_version = app
        .query(&editor, archive, json!({ "id": first, "v": first_version }))
        .await["archiveMeasure"]["version"]
        .clone();
    let renamed = app.query(&editor, update, taken).await;
    assert_eq!(
        renamed["updateMeasure"]["code"], "9. 1",
        "an archived record's code is free"
    );
    // The archived record keeps its code through a change of another field.
    let kept = json!({ "id": first, "v": first_version, "patch": { "output": "zpráva" } });
    let kept = app.query(&editor, update, kept).await;
    assert_eq!(kept["updateMeasure"]["code"], "9.1");
    app.stop().await;
}

on_both_databases!(
    the_whole_edit_cycle_works,
    writes_outside_the_writable_regions_are_refused_and_change_nothing,
    invalid_input_is_refused_with_its_field_and_changes_nothing,
    of_concurrent_updates_with_one_version_exactly_one_wins,
    an_updates_answer_is_what_a_read_finds,
    evaluations_replace_per_year_and_edits_reach_the_export,
    evaluation_versions_guard_replacements,
    concurrent_first_evaluations_of_a_year_queue,
    codes_stay_unique_among_current_siblings_through_updates,
    a_patch_can_mend_a_stored_value_a_newer_rule_refuses,
);

/// Every update and archive mutation: success with the current version, then
/// CONFLICT (with the current version) when the same version is sent again.
async fn every_update_checks_the_version(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let activity = json!(an_activity(&app, &editor, &ids.measure).await);
    let cases = [
        (
            "updatePlan",
            "mutation($id: ID!, $v: Int!) { r: updatePlan(id: $id, expectedVersion: $v, patch: { preparedBy: \"OSVZ\" }) { version } }",
            json!(ids.plan),
        ),
        (
            "updatePriority",
            "mutation($id: ID!, $v: Int!) { r: updatePriority(id: $id, expectedVersion: $v, patch: { description: \"Popis\" }) { version } }",
            json!(ids.priority),
        ),
        (
            "updateMeasure",
            "mutation($id: ID!, $v: Int!) { r: updateMeasure(id: $id, expectedVersion: $v, patch: { risks: [\"Nedostatek financí\"] }) { version } }",
            json!(ids.measure),
        ),
        (
            "updateActivity",
            "mutation($id: ID!, $v: Int!) { r: updateActivity(id: $id, expectedVersion: $v, patch: { schedule: \"2024\" }) { version } }",
            activity.clone(),
        ),
        (
            "updateService",
            "mutation($id: ID!, $v: Int!) { r: updateService(id: $id, expectedVersion: $v, patch: { scope: \"v Plz. kraji\" }) { version } }",
            json!(ids.service),
        ),
        (
            "archiveActivity",
            "mutation($id: ID!, $v: Int!) { r: archiveActivity(id: $id, expectedVersion: $v) { version } }",
            activity,
        ),
        (
            "archiveService",
            "mutation($id: ID!, $v: Int!) { r: archiveService(id: $id, expectedVersion: $v) { version } }",
            json!(ids.service),
        ),
        (
            "archiveMeasure",
            "mutation($id: ID!, $v: Int!) { r: archiveMeasure(id: $id, expectedVersion: $v) { version } }",
            json!(ids.measure),
        ),
        (
            "archivePriority",
            "mutation($id: ID!, $v: Int!) { r: archivePriority(id: $id, expectedVersion: $v) { version } }",
            json!(ids.priority),
        ),
        (
            "archivePlan",
            "mutation($id: ID!, $v: Int!) { r: archivePlan(id: $id, expectedVersion: $v) { version } }",
            json!(ids.plan),
        ),
    ];
    let mut versions = std::collections::HashMap::new();
    for (name, q, id) in cases {
        // Ids are per kind: key the versions by kind and id.
        let key = format!(
            "{}:{id}",
            name.trim_start_matches("update")
                .trim_start_matches("archive")
        );
        let v = *versions.entry(key.clone()).or_insert(1);
        let done = app.query(&editor, q, json!({ "id": id, "v": v })).await;
        assert_eq!(done["r"]["version"], v + 1, "{name}");
        versions.insert(key, v + 1);
        let (_, body) = app
            .post(
                Some(&format!("Bearer {editor}")),
                q,
                json!({ "id": id, "v": v }),
            )
            .await;
        let ext = &body["errors"][0]["extensions"];
        assert_eq!(
            (&ext["code"], &ext["currentVersion"]),
            (&json!("CONFLICT"), &json!(v + 1)),
            "{name}: {body}"
        );
    }
    app.stop().await;
}

on_both_databases!(every_update_checks_the_version);

/// A plan's parent and a page's cursor naming a record the caller cannot read
/// are answered exactly as ones naming no record (ids leak no existence).
async fn unreadable_parents_and_cursors_answer_as_missing_ones(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = |region: &str| {
        format!(
            "{{ plans(filter: {{ regions: [\"{region}\"] }}, first: 1) {{ nodes {{ id version }} }} providers(filter: {{ regions: [\"{region}\"] }}, first: 1) {{ nodes {{ id }} }} }}"
        )
    };
    let karlovy_vary = app
        .query(&app.admin(), &ids("karlovy-vary"), json!({}))
        .await;
    let klatovy = app.query(&app.admin(), &ids("klatovy"), json!({})).await;
    let id = |data: &Value, list: &str| {
        data[list]["nodes"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let (unreadable_plan, unreadable_provider) =
        (id(&karlovy_vary, "plans"), id(&karlovy_vary, "providers"));
    let bearer = format!("Bearer {}", app.token(Role::Editor, &["klatovy"], &[]));
    let cursor = |id: &str| -> String {
        format!("provider:{id}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let cases = [
        (
            "mutation($p: ID) { createPlan(input: { region: \"klatovy\", title: \"X\", kind: ACTION_PLAN, periodStart: 2024, periodEnd: 2024, parentId: $p }) { id } }",
            json!({ "p": unreadable_plan }),
            json!({ "p": "999999" }),
            unreadable_plan.as_str(),
        ),
        (
            "mutation($id: ID!, $v: Int!, $p: ID) { updatePlan(id: $id, expectedVersion: $v, patch: { parentId: $p }) { id } }",
            json!({ "id": id(&klatovy, "plans"), "v": klatovy["plans"]["nodes"][0]["version"], "p": unreadable_plan }),
            json!({ "id": id(&klatovy, "plans"), "v": klatovy["plans"]["nodes"][0]["version"], "p": "999999" }),
            unreadable_plan.as_str(),
        ),
        (
            "query($a: String) { providers(first: 3, after: $a) { nodes { name } } }",
            json!({ "a": cursor(&unreadable_provider) }),
            json!({ "a": cursor("999999") }),
            unreadable_provider.as_str(),
        ),
    ];
    for (q, unreadable, missing, unreadable_id) in cases {
        let (_, answer) = app.post(Some(&bearer), q, unreadable).await;
        let (_, expected) = app.post(Some(&bearer), q, missing).await;
        let answer = answer
            .to_string()
            .replace(&format!(" {unreadable_id}\""), " 999999\"");
        assert_eq!(answer, expected.to_string(), "{q}");
    }
    app.stop().await;
}

on_both_databases!(unreadable_parents_and_cursors_answer_as_missing_ones);

/// A provider's actions in the audit log, oldest first.
async fn provider_log(app: &TestApp, id: &str) -> Vec<String> {
    let log = app
        .query(
            &app.admin(),
            "query($id: ID) { auditLog(filter: { entity: \"Provider\", entityId: $id }) { nodes { action } } }",
            json!({ "id": id }),
        )
        .await;
    log["auditLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// Providers are updated (absent keeps, null clears) and archived, each
/// change from the version read and audited.
async fn providers_are_updated_and_archived(b: Backend) {
    let app = TestApp::spawn(b).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let created = app
        .query(
            &editor,
            "mutation { createProvider(input: { region: \"klatovy\", name: \"Charita Klatovy\", ico: \"12345678\" }) { id version ico archived } }",
            json!({}),
        )
        .await["createProvider"]
        .clone();
    assert_eq!(
        (&created["version"], &created["ico"], &created["archived"]),
        (&json!(1), &json!("12345678"), &json!(false))
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let update = "mutation($id: ID!, $v: Int!, $p: ProviderPatch!) { updateProvider(id: $id, expectedVersion: $v, patch: $p) { name ico version } }";
    let renamed = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 1, "p": { "name": "Oblastní charita Klatovy" } }),
        )
        .await;
    assert_eq!(
        renamed["updateProvider"],
        json!({ "name": "Oblastní charita Klatovy", "ico": "12345678", "version": 2 }),
        "absent stays"
    );
    let cleared = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 2, "p": { "ico": null } }),
        )
        .await;
    assert_eq!(
        cleared["updateProvider"],
        json!({ "name": "Oblastní charita Klatovy", "ico": null, "version": 3 }),
        "null clears"
    );
    let (_, body) = app
        .post(
            Some(&format!("Bearer {editor}")),
            update,
            json!({ "id": id, "v": 2, "p": { "name": "Jiná" } }),
        )
        .await;
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(
        (&ext["code"], &ext["currentVersion"]),
        (&json!("CONFLICT"), &json!(3))
    );
    for (p, field) in [
        (json!({ "ico": "123" }), "patch.ico"),
        (json!({ "name": null }), "patch.name"),
    ] {
        let (code, f) = error(&app, &editor, update, json!({ "id": id, "v": 3, "p": p })).await;
        assert_eq!(
            (code.as_str(), f.as_deref()),
            ("BAD_USER_INPUT", Some(field))
        );
    }
    let viewer = app.token(Role::Viewer, &["klatovy"], &[]);
    let (code, _) = error(
        &app,
        &viewer,
        update,
        json!({ "id": id, "v": 3, "p": { "name": "X" } }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");

    let count = "{ providers(filter: { regions: [\"klatovy\"] }) { totalCount } }";
    let listed = |data: Value| data["providers"]["totalCount"].as_i64().expect("count");
    let before = listed(app.query(&editor, count, json!({})).await);
    let archive = "mutation($id: ID!, $v: Int!) { archiveProvider(id: $id, expectedVersion: $v) { archived version } }";
    let archived = app
        .query(&editor, archive, json!({ "id": id, "v": 3 }))
        .await;
    assert_eq!(
        archived["archiveProvider"],
        json!({ "archived": true, "version": 4 })
    );
    assert_eq!(
        listed(app.query(&editor, count, json!({})).await),
        before - 1
    );
    let (_, body) = app
        .post(
            Some(&format!("Bearer {editor}")),
            archive,
            json!({ "id": id, "v": 3 }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["currentVersion"], 4,
        "{body}"
    );
    assert_eq!(
        provider_log(&app, &id).await,
        ["CREATED", "UPDATED", "UPDATED", "ARCHIVED"]
    );
    app.stop().await;
}

on_both_databases!(providers_are_updated_and_archived);

/// A plan's projects are written with the plan: the list whole, in order;
/// null or [] clears it; an absent list stays; a bad project changes nothing.
async fn projects_are_written_with_their_plan(b: Backend) {
    let app = TestApp::spawn(b).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let project = |title: &str| json!({ "title": title, "implementer": "Město Klatovy", "due": "rok 2025", "dueYear": 2025 });
    let created = app
        .query(
            &editor,
            "mutation($p: [PlanProjectInput!]) { createPlan(input: { region: \"klatovy\", title: \"Plán\", kind: ACTION_PLAN, periodStart: 2025, periodEnd: 2025, projects: $p }) { id projects { title implementer due dueYear source { firstLine } } } }",
            json!({ "p": [project("Nízkoprahové centrum"), project("Chráněné bydlení Luby")] }),
        )
        .await["createPlan"]
        .clone();
    assert_eq!(
        created["projects"],
        json!([
            { "title": "Nízkoprahové centrum", "implementer": "Město Klatovy", "due": "rok 2025", "dueYear": 2025, "source": null },
            { "title": "Chráněné bydlení Luby", "implementer": "Město Klatovy", "due": "rok 2025", "dueYear": 2025, "source": null },
        ])
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let update = "mutation($id: ID!, $v: Int!, $p: PlanPatch!) { updatePlan(id: $id, expectedVersion: $v, patch: $p) { version projects { title } } }";
    let titles = |data: &Value| -> Vec<String> {
        data["updatePlan"]["projects"]
            .as_array()
            .expect("projects")
            .iter()
            .map(|p| p["title"].as_str().expect("title").to_owned())
            .collect()
    };
    let replaced = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 1, "p": { "projects": [{ "title": "Sociální šatník" }, project("Nízkoprahové centrum")] } }),
        )
        .await;
    assert_eq!(
        titles(&replaced),
        ["Sociální šatník", "Nízkoprahové centrum"]
    );
    let kept = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 2, "p": { "title": "Akční plán" } }),
        )
        .await;
    assert_eq!(
        titles(&kept),
        ["Sociální šatník", "Nízkoprahové centrum"],
        "absent stays"
    );
    let (code, field) = error(
        &app,
        &editor,
        update,
        json!({ "id": id, "v": 3, "p": { "projects": [project("A"), { "title": "B", "dueYear": 3000 }] } }),
    )
    .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("patch.projects[1].dueYear"))
    );
    let search = "{ search(text: \"šatník\", regions: [\"klatovy\"]) { kind } }";
    let hits = app.query(&editor, search, json!({})).await;
    assert_eq!(hits["search"], json!([{ "kind": "PROJECT" }]));
    let cleared = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 3, "p": { "projects": null } }),
        )
        .await;
    assert_eq!(
        (titles(&cleared), &cleared["updatePlan"]["version"]),
        (vec![], &json!(4))
    );
    let hits = app.query(&editor, search, json!({})).await;
    assert_eq!(hits["search"], json!([]), "a removed project is not found");
    app.query(
        &editor,
        update,
        json!({ "id": id, "v": 4, "p": { "projects": [project("C")] } }),
    )
    .await;
    let emptied = app
        .query(
            &editor,
            update,
            json!({ "id": id, "v": 5, "p": { "projects": [] } }),
        )
        .await;
    assert!(titles(&emptied).is_empty());

    let log = app
        .query(
            &app.admin(),
            "query($id: ID) { auditLog(filter: { entity: \"Plan\", entityId: $id }) { nodes { action before after } } }",
            json!({ "id": id }),
        )
        .await;
    let nodes = log["auditLog"]["nodes"].as_array().expect("entries");
    assert_eq!(nodes.len(), 6, "created and five updates");
    let replacement = &nodes[1];
    assert!(
        replacement["before"]
            .as_str()
            .expect("before")
            .contains("Chráněné bydlení Luby")
            && replacement["after"]
                .as_str()
                .expect("after")
                .contains("Sociální šatník"),
        "the audit entry shows the lists: {replacement}"
    );
    app.stop().await;
}

on_both_databases!(projects_are_written_with_their_plan);

/// A service's own name is written like its other fields.
async fn service_names_are_written(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = klatovy(&app).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let created = app
        .query(
            &editor,
            "mutation($p: ID!) { createService(providerId: $p, input: { serviceType: NOCLEHARNY, name: \"Noclehárna Klatovy\", capacities: [] }) { id name } }",
            json!({ "p": ids.provider }),
        )
        .await["createService"]
        .clone();
    assert_eq!(created["name"], "Noclehárna Klatovy");
    let update = "mutation($id: ID!, $v: Int!, $p: ServicePatch!) { updateService(id: $id, expectedVersion: $v, patch: $p) { name scope } }";
    let kept = app
        .query(
            &editor,
            update,
            json!({ "id": created["id"], "v": 1, "p": { "scope": "Klatovy" } }),
        )
        .await;
    assert_eq!(
        kept["updateService"],
        json!({ "name": "Noclehárna Klatovy", "scope": "Klatovy" })
    );
    let cleared = app
        .query(
            &editor,
            update,
            json!({ "id": created["id"], "v": 2, "p": { "name": null } }),
        )
        .await;
    assert_eq!(
        cleared["updateService"],
        json!({ "name": null, "scope": "Klatovy" })
    );
    app.stop().await;
}

on_both_databases!(service_names_are_written);
