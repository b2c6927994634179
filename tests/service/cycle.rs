//! The yearly cycle of a plan: a year's evaluation recorded at once.

use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};

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

async fn audit_total(app: &TestApp) -> i64 {
    app.query(&app.admin(), "{ auditLog { totalCount } }", json!({}))
        .await["auditLog"]["totalCount"]
        .as_i64()
        .expect("count")
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
    let audited = audit_total(&app).await;
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
        audit_total(&app).await,
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
        audit_total(&app).await,
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

on_both_databases!(a_years_evaluations_are_recorded_all_or_nothing);
