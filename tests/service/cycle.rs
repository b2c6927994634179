//! The yearly cycle of a plan: a year's evaluation recorded at once, and
//! next period's action plan rolled over from the measures still to do.

use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Kroměříž's community plan 2020–2023 and its top-level measures with
/// their latest status (null: never evaluated) and sub-measures.
async fn kromeriz(app: &TestApp) -> (String, Vec<Value>) {
    let data = app
        .query(
            &app.admin(),
            r#"{ plans(filter: { regions: ["kromeriz"], kinds: [COMMUNITY_PLAN], year: 2020 }) { nodes { id periodStart periodEnd
                 priorities { measures { id latestEvaluation { status } subMeasures { id } } } } } }"#,
            json!({}),
        )
        .await;
    let plan = data["plans"]["nodes"]
        .as_array()
        .expect("plans")
        .iter()
        .find(|p| p["periodStart"] == 2020 && p["periodEnd"] == 2023)
        .expect("kp-2020-2023")
        .clone();
    let measures = plan["priorities"]
        .as_array()
        .expect("priorities")
        .iter()
        .flat_map(|p| p["measures"].as_array().expect("measures").clone())
        .collect();
    (plan["id"].as_str().expect("id").to_owned(), measures)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// The evaluations of `year` of measures, by measure: (status, version).
async fn of_year(app: &TestApp, measures: &[String], year: i64) -> Vec<Option<(String, i64)>> {
    let mut out = Vec::new();
    for m in measures {
        let data = app
            .query(
                &app.admin(),
                "query($id: ID!) { measure(id: $id) { evaluations { year status version } } }",
                json!({ "id": m }),
            )
            .await;
        out.push(
            data["measure"]["evaluations"]
                .as_array()
                .expect("evaluations")
                .iter()
                .find(|e| e["year"] == year)
                .map(|e| {
                    let status = e["status"].as_str().expect("status").to_owned();
                    (status, e["version"].as_i64().expect("version"))
                }),
        );
    }
    out
}

/// The first error's code, field and current version.
async fn error(
    app: &TestApp,
    token: &str,
    q: &str,
    vars: Value,
) -> (String, Option<String>, Value) {
    let (_, body) = app.post(Some(&format!("Bearer {token}")), q, vars).await;
    let ext = &body["errors"][0]["extensions"];
    (
        ext["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {body}"))
            .to_owned(),
        ext["field"].as_str().map(str::to_owned),
        ext["currentVersion"].clone(),
    )
}

const RECORD: &str = "mutation($plan: ID!, $year: Int!, $items: [EvaluationItemInput!]!) { recordEvaluations(planId: $plan, year: $year, items: $items) { year status comment version } }";

/// A year's evaluations are recorded all at once or not at all; a bad item
/// is named by its place in the list.
async fn a_years_evaluations_are_recorded_all_or_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (plan, measures) = kromeriz(&app).await;
    let m: Vec<String> = measures.iter().take(3).map(id).collect();
    let editor = app.token(Role::Editor, &["kromeriz"], &[]);
    let audited = app.audit_total().await;
    let item = |m: &str, status: &str| json!({ "measureId": m, "status": status });
    let items = json!([
        { "measureId": m[0], "status": "FULFILLED", "comment": "Hotovo" },
        item(&m[1], "IN_PROGRESS"),
        { "measureId": m[2], "status": "NOT_FULFILLED", "expectedVersion": 0 },
    ]);
    let done = app
        .query(
            &editor,
            RECORD,
            json!({ "plan": plan, "year": 2030, "items": items }),
        )
        .await;
    assert_eq!(
        done["recordEvaluations"],
        json!([
            { "year": 2030, "status": "FULFILLED", "comment": "Hotovo", "version": 1 },
            { "year": 2030, "status": "IN_PROGRESS", "comment": null, "version": 1 },
            { "year": 2030, "status": "NOT_FULFILLED", "comment": null, "version": 1 },
        ]),
        "in the order given"
    );
    assert_eq!(
        app.audit_total().await,
        audited + 3,
        "one entry per evaluation"
    );
    let recorded = of_year(&app, &m, 2030).await;

    // A stale version of one item: nothing of the call is written.
    let items = json!([
        { "measureId": m[0], "status": "PARTIALLY_FULFILLED", "expectedVersion": 1 },
        { "measureId": m[1], "status": "FULFILLED", "expectedVersion": 0 },
    ]);
    let (code, field, current) = error(
        &app,
        &editor,
        RECORD,
        json!({ "plan": plan, "year": 2030, "items": items }),
    )
    .await;
    assert_eq!(
        (code.as_str(), field.as_deref(), current),
        ("CONFLICT", Some("items[1].expectedVersion"), json!(1))
    );
    assert_eq!(of_year(&app, &m, 2030).await, recorded, "nothing written");

    // An unknown measure, a measure of another plan, a measure listed twice.
    let other = app
        .query(
            &app.admin(),
            "{ measures(filter: { regions: [\"klatovy\"] }, first: 1) { nodes { id } } }",
            json!({}),
        )
        .await["measures"]["nodes"][0]["id"]
        .clone();
    let admin = app.token(Role::Admin, &["*"], &[]);
    for (bad, token) in [
        (json!("999999"), &editor),
        (other, &admin),
        (json!(m[0]), &editor),
    ] {
        let items = json!([item(&m[0], "FULFILLED"), item(&m[1], "FULFILLED"), { "measureId": bad, "status": "UNKNOWN" }]);
        let (code, field, _) = error(
            &app,
            token,
            RECORD,
            json!({ "plan": plan, "year": 2031, "items": items }),
        )
        .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("items[2].measureId")),
            "{bad}"
        );
    }
    assert_eq!(
        of_year(&app, &m, 2031).await,
        [None, None, None],
        "nothing written"
    );
    let (code, field, _) = error(
        &app,
        &editor,
        RECORD,
        json!({ "plan": plan, "year": 2031, "items": [item(&m[0], "FULFILLED"), { "measureId": m[1], "status": "FULFILLED", "comment": "x".repeat(50_001) }] }),
    )
    .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("items[1].comment"))
    );
    assert_eq!(
        app.audit_total().await,
        audited + 3,
        "failed calls audit nothing"
    );

    let klatovy = app.token(Role::Editor, &["klatovy"], &["CZ072"]);
    let (code, ..) = error(
        &app,
        &klatovy,
        RECORD,
        json!({ "plan": plan, "year": 2031, "items": [item(&m[0], "FULFILLED")] }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");
    app.stop().await;
}

const ROLL_OVER: &str = "mutation($id: ID!, $start: Int!, $end: Int!, $include: [EvaluationStatus!]) { rollOverPlan(id: $id, periodStart: $start, periodEnd: $end, include: $include) {
    id title kind periodStart periodEnd region { code }
    priorities { measures { carriedFrom { id } source { firstLine } evaluations { year } plannedCapacities { value }
                 subMeasures { carriedFrom { id } } } } } }";

/// Ids of the measures a rolled-over plan carries, and the sub-measures' sources.
fn carried(plan: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut top, mut subs) = (BTreeSet::new(), BTreeSet::new());
    for p in plan["priorities"].as_array().expect("priorities") {
        let measures = p["measures"].as_array().expect("measures");
        assert!(
            !measures.is_empty(),
            "a priority without measures is not copied"
        );
        for m in measures {
            assert_eq!(
                (&m["source"], &m["evaluations"]),
                (&json!(null), &json!([])),
                "copies are new records"
            );
            top.insert(id(&m["carriedFrom"]));
            for s in m["subMeasures"].as_array().expect("subMeasures") {
                subs.insert(id(&s["carriedFrom"]));
            }
        }
    }
    (top, subs)
}

/// Rolling over Kroměříž's 2020–2023 plan carries the measures not yet
/// fulfilled (or those `include` names), each pointing back to its source.
async fn a_plan_rolls_over_into_next_periods_action_plan(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (plan, measures) = kromeriz(&app).await;
    let status = |m: &Value| {
        m["latestEvaluation"]["status"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned()
    };
    let expected = |keep: &dyn Fn(&str) -> bool| -> (BTreeSet<String>, BTreeSet<String>) {
        let chosen: Vec<&Value> = measures.iter().filter(|m| keep(&status(m))).collect();
        let subs = chosen
            .iter()
            .flat_map(|m| m["subMeasures"].as_array().expect("subs").iter().map(id))
            .collect();
        (chosen.iter().map(|m| id(m)).collect(), subs)
    };
    let open = expected(&|s| s != "FULFILLED");
    let fulfilled = expected(&|s| s == "FULFILLED");
    assert!(
        !open.0.is_empty() && !fulfilled.0.is_empty(),
        "the plan has both"
    );

    let editor = app.token(Role::Editor, &["kromeriz"], &[]);
    let audited = app.audit_total().await;
    let rolled = app
        .query(
            &editor,
            ROLL_OVER,
            json!({ "id": plan, "start": 2024, "end": 2024 }),
        )
        .await["rollOverPlan"]
        .clone();
    assert_eq!(
        (
            &rolled["title"],
            &rolled["kind"],
            &rolled["periodStart"],
            &rolled["region"]["code"]
        ),
        (
            &json!("Akční plán na rok 2024"),
            &json!("ACTION_PLAN"),
            &json!(2024),
            &json!("kromeriz")
        )
    );
    assert_eq!(
        carried(&rolled),
        open,
        "every measure not fulfilled, and only those"
    );
    let priorities = rolled["priorities"].as_array().expect("priorities").len() as i64;
    let copies = (open.0.len() + open.1.len()) as i64;
    assert_eq!(
        app.audit_total().await,
        audited + 1 + priorities + copies,
        "one CREATED entry per record (Kroměříž's measures have no activities)"
    );

    let only = app
        .query(
            &editor,
            ROLL_OVER,
            json!({ "id": plan, "start": 2024, "end": 2025, "include": ["FULFILLED"] }),
        )
        .await["rollOverPlan"]
        .clone();
    assert_eq!(only["title"], "Akční plán na roky 2024–2025");
    assert_eq!(carried(&only), fulfilled);

    // Klatovy's editor reading Zlínský kraj may not write Kroměříž; one
    // that cannot read it finds no such plan.
    let reader = app.token(Role::Editor, &["klatovy"], &["CZ072"]);
    let vars = json!({ "id": plan, "start": 2024, "end": 2024 });
    let (code, ..) = error(&app, &reader, ROLL_OVER, vars.clone()).await;
    assert_eq!(code, "FORBIDDEN");
    let klatovy = app.token(Role::Editor, &["klatovy"], &[]);
    let (code, ..) = error(&app, &klatovy, ROLL_OVER, vars.clone()).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, field, _) = error(
        &app,
        &editor,
        ROLL_OVER,
        json!({ "id": plan, "start": 2025, "end": 2024 }),
    )
    .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("periodEnd"))
    );
    app.stop().await;
}

/// A roll-over copies a measure's content, activities and planned
/// capacities, not its evaluations or provenance.
async fn a_roll_over_copies_content_and_activities(b: Backend) {
    let app = TestApp::spawn(b).await;
    let editor = app.token(Role::Editor, &["klatovy"], &[]);
    let plan = app
        .query(&editor, "mutation { createPlan(input: { region: \"klatovy\", title: \"KPSS\", kind: COMMUNITY_PLAN, periodStart: 2022, periodEnd: 2024 }) { id } }", json!({}))
        .await["createPlan"]["id"]
        .clone();
    let priority = app
        .query(&editor, "mutation($p: ID!) { createPriority(planId: $p, input: { code: \"1\", title: \"Senioři\" }) { id } }", json!({ "p": plan }))
        .await["createPriority"]["id"]
        .clone();
    let measure = app
        .query(
            &editor,
            "mutation($p: ID!) { createMeasure(priorityId: $p, input: { code: \"1.1\", title: \"Domov\", alternativeTitle: \"Nový domov\", fundingStatement: NOT_SPECIFIABLE, expectedCost: { text: \"10 000 Kč\", amountCzk: 10000 }, plannedCapacities: [{ value: 50, atLeast: true, unit: BEDS, networkShares: [{ network: BASIC, value: 20 }] }] }) { id } }",
            json!({ "p": priority }),
        )
        .await["createMeasure"]["id"]
        .clone();
    let activity = app
        .query(&editor, "mutation($m: ID!) { createActivity(measureId: $m, input: { code: \"1.1.1\", title: \"Projekt\", financingStatement: NONE }) { id } }", json!({ "m": measure }))
        .await["createActivity"]["id"]
        .clone();
    app.query(&editor, "mutation($m: ID!, $a: ID) { createActivity(measureId: $m, input: { parentId: $a, code: \"1.1.1.1\", title: \"Stavba\", scheduleItems: [\"2025\"] }) { id } }", json!({ "m": measure, "a": activity }))
        .await;
    app.query(&editor, "mutation($m: ID!) { recordEvaluation(measureId: $m, input: { year: 2024, status: IN_PROGRESS }) { id } }", json!({ "m": measure }))
        .await;
    a_refused_stored_value_stops_the_roll_over_until_mended(
        &app, &editor, &plan, &measure, &activity,
    )
    .await;
    let shape = "priorities { code title measures { code title alternativeTitle fundingStatement expectedCost { amountCzk text }
                 plannedCapacities { value atLeast unit networkShares { network value } }
                 activities { code title financingStatement subActivities { code title scheduleItems } } } }";
    let rolled = app
        .query(&editor, &format!("mutation($id: ID!) {{ rollOverPlan(id: $id, periodStart: 2025, periodEnd: 2025, title: \"AP 2025\") {{ title parent {{ id }} {shape} }} }}"), json!({ "id": plan }))
        .await["rollOverPlan"]
        .clone();
    let source = app
        .query(
            &editor,
            &format!("query($id: ID!) {{ plan(id: $id) {{ {shape} }} }}"),
            json!({ "id": plan }),
        )
        .await["plan"]
        .clone();
    assert_eq!(
        (&rolled["title"], &rolled["parent"]),
        (&json!("AP 2025"), &json!(null))
    );
    assert_eq!(rolled["priorities"], source["priorities"]);
    assert_eq!(
        rolled["priorities"][0]["measures"][0]["activities"][0]["subActivities"][0]["title"],
        "Stavba"
    );
    app.stop().await;
}

/// A copied record holding a value a newer rule refuses (a text-direction
/// character, written behind the service's back as an older version could)
/// makes the roll-over `BAD_USER_INPUT` naming that record, and write
/// nothing; once an update mends it, the roll-over goes through.
async fn a_refused_stored_value_stops_the_roll_over_until_mended(
    app: &TestApp,
    editor: &str,
    plan: &Value,
    measure: &Value,
    activity: &Value,
) {
    let roll_over =
        "mutation($id: ID!) { rollOverPlan(id: $id, periodStart: 2025, periodEnd: 2025) { id } }";
    let cases = [
        ("measure", "output", measure, "updateMeasure"),
        ("activity", "title", activity, "updateActivity"),
    ];
    for (table, column, id, update) in cases {
        let row: i64 = id.as_str().and_then(|i| i.parse().ok()).expect("an id");
        let version = app
            .store_unchecked(table, column, row, "Název \u{202E}obrácený")
            .await;
        let audited = app.audit_total().await;
        let (code, field, _) = error(app, editor, roll_over, json!({ "id": plan })).await;
        assert_eq!(
            (code.as_str(), field),
            ("BAD_USER_INPUT", Some(format!("{table} {row}.{column}")))
        );
        assert_eq!(app.audit_total().await, audited, "nothing is written");
        app.query(
            editor,
            &format!("mutation($id: ID!, $v: Int!) {{ {update}(id: $id, expectedVersion: $v, patch: {{ {column}: \"Název\" }}) {{ id }} }}"),
            json!({ "id": id, "v": version }),
        )
        .await;
    }
}

on_both_databases!(
    a_years_evaluations_are_recorded_all_or_nothing,
    a_plan_rolls_over_into_next_periods_action_plan,
    a_roll_over_copies_content_and_activities,
);
