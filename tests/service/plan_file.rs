//! A plan as a file: exported, imported with a dry run that lists exactly
//! what changes, applied in one transaction, refused when stale or bad.

use crate::seeds::REGIONS;
use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};

const EXPORT: &str = "query($id: ID!) { planFile(id: $id, format: YAML) }";
const IMPORT: &str = r#"mutation($r: String!, $c: String, $dry: Boolean!, $v: Int, $archive: Boolean! = false) {
  importPlan(region: $r, format: YAML, content: $c, dryRun: $dry, expectedVersion: $v, archiveMissing: $archive) {
    applied version plan { id title }
    changes { kind code action fields { name old new } } } }"#;

async fn plans(app: &TestApp, region: &str) -> Vec<Value> {
    let q = r#"query($r: [String!]) { plans(filter: { regions: $r }) { nodes { id title } } }"#;
    app.query(&app.admin(), q, json!({ "r": [region] })).await["plans"]["nodes"]
        .as_array()
        .expect("plans")
        .clone()
}

async fn file(app: &TestApp, id: &Value) -> String {
    app.query(&app.admin(), EXPORT, json!({ "id": id })).await["planFile"]
        .as_str()
        .expect("file")
        .to_owned()
}

async fn import(
    app: &TestApp,
    token: &str,
    region: &str,
    content: &str,
    dry: bool,
    v: Option<i64>,
) -> Value {
    let vars = json!({ "r": region, "c": content, "dry": dry, "v": v });
    app.query(token, IMPORT, vars).await["importPlan"].take()
}

/// The errors of an import that must fail.
async fn refused(
    app: &TestApp,
    token: &str,
    region: &str,
    content: &str,
    dry: bool,
    v: Option<i64>,
) -> Value {
    let vars = json!({ "r": region, "c": content, "dry": dry, "v": v });
    let (_, body) = app
        .post(Some(&format!("Bearer {token}")), IMPORT, vars)
        .await;
    assert!(
        body["data"].is_null() || body["data"]["importPlan"].is_null(),
        "{body}"
    );
    body["errors"][0].clone()
}

fn actions(import: &Value) -> Vec<&str> {
    import["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["action"].as_str().expect("action"))
        .collect()
}

async fn every_plan_comes_back_unchanged(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let mut count = 0;
    for region in REGIONS {
        for p in plans(&app, region).await {
            let text = file(&app, &p["id"]).await;
            let dry = import(&app, &admin, region, &text, true, None).await;
            assert_eq!(dry["applied"], false);
            assert_eq!(
                dry["plan"]["id"], p["id"],
                "{region}: the file names its plan"
            );
            let changed: Vec<_> = dry["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .filter(|c| c["action"] != "UNCHANGED")
                .collect();
            assert!(changed.is_empty(), "{region} {}: {changed:?}", p["title"]);
            assert!(!actions(&dry).is_empty());
            count += 1;
        }
    }
    assert_eq!(count, 8, "every seeded plan");
    app.stop().await;
}

/// Kroměříž's plan with a priority's title, a measure's term and an
/// evaluation's comment changed in the file.
async fn three_changes_are_listed_then_applied_and_audited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let plan = &plans(&app, "kromeriz").await[0];
    let mut tree: Value = serde_norway::from_str(&file(&app, &plan["id"]).await).expect("YAML");
    let pr = &mut tree["plans"][0]["priorities"][0];
    let old_title = pr["title"].as_str().expect("title").to_owned();
    pr["title"] = json!("Informovanost o sociálních službách");
    let m = &mut pr["measures"][0];
    let (code, old_term) = (m["code"].clone(), m["term"].clone());
    m["term"] = json!("Prosinec 2024");
    m["evaluations"][0]["comment"] = json!("Vyhodnoceno na setkání pracovních skupin.");
    let text = serde_norway::to_string(&tree).expect("YAML");

    let audit_before = app.audit_total().await;
    let dry = import(&app, &admin, "kromeriz", &text, true, None).await;
    let changed: Vec<&Value> = dry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] != "UNCHANGED")
        .collect();
    assert_eq!(
        changed,
        [
            &json!({ "kind": "Priority", "code": "1", "action": "CHANGED", "fields": [
                { "name": "title", "old": old_title, "new": "Informovanost o sociálních službách" }] }),
            &json!({ "kind": "Measure", "code": code, "action": "CHANGED", "fields": [
                { "name": "term", "old": old_term, "new": "Prosinec 2024" }] }),
            &json!({ "kind": "Evaluation", "code": format!("{}/2023", code.as_str().expect("code")),
                "action": "CHANGED", "fields": [{ "name": "comment",
                "old": changed[2]["fields"][0]["old"], "new": "Vyhodnoceno na setkání pracovních skupin." }] }),
        ]
    );
    assert_eq!(
        app.audit_total().await,
        audit_before,
        "a dry run writes nothing"
    );

    let applied = import(
        &app,
        &admin,
        "kromeriz",
        &text,
        false,
        dry["version"].as_i64(),
    )
    .await;
    assert_eq!(applied["applied"], true);
    assert!(applied["version"].as_i64() > dry["version"].as_i64());
    let q = r#"query($id: ID!) { plan(id: $id) { priorities { title measures { term evaluations { comment } } } } }"#;
    let served = app.query(&admin, q, json!({ "id": plan["id"] })).await;
    let pr = &served["plan"]["priorities"][0];
    assert_eq!(pr["title"], "Informovanost o sociálních službách");
    assert_eq!(pr["measures"][0]["term"], "Prosinec 2024");
    assert_eq!(
        pr["measures"][0]["evaluations"][0]["comment"],
        "Vyhodnoceno na setkání pracovních skupin."
    );
    assert_eq!(
        app.audit_total().await,
        audit_before + 3,
        "one entry per changed record"
    );
    let again = import(&app, &admin, "kromeriz", &text, true, None).await;
    assert!(actions(&again).iter().all(|a| *a == "UNCHANGED"));
    app.stop().await;
}

/// New records are created under their parents, missing ones archived only when asked.
async fn new_records_are_created_and_missing_ones_archived_when_asked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let plan = plans(&app, "klatovy")
        .await
        .into_iter()
        .find(|p| p["title"] == "Akční plán na rok 2023")
        .expect("plan");
    let mut tree: Value = serde_norway::from_str(&file(&app, &plan["id"]).await).expect("YAML");
    let priorities = tree["plans"][0]["priorities"]
        .as_array_mut()
        .expect("priorities");
    let dropped = priorities.pop().expect("a priority");
    priorities[0]["measures"]
        .as_array_mut()
        .expect("measures")
        .push(
            json!({ "code": "1.99", "title": "Nové opatření", "evaluations": [
            { "year": 2024, "status": "IN_PROGRESS" }] }),
        );
    let text = serde_norway::to_string(&tree).expect("YAML");

    let kept = import(&app, &admin, "klatovy", &text, true, None).await;
    let created: Vec<_> = kept["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] == "CREATED")
        .map(|c| {
            (
                c["kind"].as_str().expect("kind"),
                c["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(created, [("Measure", "1.99"), ("Evaluation", "1.99/2024")]);
    assert!(!actions(&kept).contains(&"ARCHIVED"));

    let vars =
        json!({ "r": "klatovy", "c": text, "dry": false, "v": kept["version"], "archive": true });
    let applied = app.query(&admin, IMPORT, vars).await["importPlan"].take();
    let archived: Vec<_> = applied["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] == "ARCHIVED")
        .map(|c| {
            (
                c["kind"].as_str().expect("kind"),
                c["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        archived,
        [("Priority", dropped["code"].as_str().expect("code"))]
    );
    let q = r#"query($id: ID!) { plan(id: $id) { priorities { code measures { code evaluations { year status } } } } }"#;
    let served = app.query(&admin, q, json!({ "id": plan["id"] })).await;
    let served = &served["plan"]["priorities"];
    assert!(
        served
            .as_array()
            .expect("priorities")
            .iter()
            .all(|p| p["code"] != dropped["code"])
    );
    let new = served[0]["measures"]
        .as_array()
        .expect("measures")
        .iter()
        .find(|m| m["code"] == "1.99")
        .expect("the new measure");
    assert_eq!(
        new["evaluations"],
        json!([{ "year": 2024, "status": "IN_PROGRESS" }])
    );
    app.stop().await;
}

async fn a_stale_apply_is_a_conflict(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let plan = &plans(&app, "kromeriz").await[0];
    let text = file(&app, &plan["id"]).await;
    let dry = import(&app, &admin, "kromeriz", &text, true, None).await;
    let q = r#"{ measures(filter: { regions: ["kromeriz"] }, first: 1) { nodes { id version } } }"#;
    let m = app.query(&admin, q, json!({})).await["measures"]["nodes"][0].take();
    app.query(
        &admin,
        r#"mutation($id: ID!, $v: Int!) { updateMeasure(id: $id, expectedVersion: $v, patch: { term: "2025" }) { version } }"#,
        json!({ "id": m["id"], "v": m["version"] }),
    )
    .await;
    let err = refused(
        &app,
        &admin,
        "kromeriz",
        &text,
        false,
        dry["version"].as_i64(),
    )
    .await;
    assert_eq!(err["extensions"]["code"], "CONFLICT", "{err}");
    assert!(err["extensions"]["currentVersion"].as_i64() > dry["version"].as_i64());
    app.stop().await;
}

/// Each bad file answers every problem with its location, and writes nothing.
async fn a_bad_file_changes_nothing_and_names_its_problems(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let plan = &plans(&app, "kromeriz").await[0];
    let good = file(&app, &plan["id"]).await;
    let tree: Value = serde_norway::from_str(&good).expect("YAML");
    let edited = |f: &dyn Fn(&mut Value)| {
        let mut t = tree.clone();
        f(&mut t);
        serde_norway::to_string(&t).expect("YAML")
    };
    let twice = edited(&|t| {
        let m = t["plans"][0]["priorities"][0]["measures"][0].clone();
        t["plans"][0]["priorities"][0]["measures"]
            .as_array_mut()
            .expect("measures")
            .push(m);
    });
    let two_problems = edited(&|t| {
        t["plans"][0]["priorities"][1]["title"] = json!("");
        t["plans"][0]["period_end"] = json!(1999);
    });
    let copy = format!(
        "plans[0].priorities[0].measures[{}].code",
        tree["plans"][0]["priorities"][0]["measures"]
            .as_array()
            .expect("measures")
            .len()
    );
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "a wrong type",
            edited(&|t| t["plans"][0]["period_start"] = json!("loni")),
            vec!["plans[0].period_start"],
        ),
        (
            "an unknown status",
            edited(&|t| {
                t["plans"][0]["priorities"][0]["measures"][0]["evaluations"][0]["status"] =
                    json!("HOTOVO")
            }),
            vec!["plans[0].priorities[0].measures[0].evaluations[0].status"],
        ),
        ("a code twice", twice, vec![&copy]),
        (
            "a plan of another region",
            edited(&|t| t["region"] = json!("klatovy")),
            vec!["region"],
        ),
        (
            "two problems",
            two_problems,
            vec!["plans[0].period_end", "plans[0].priorities[1].title"],
        ),
        ("an empty file", String::new(), vec!["file"]),
    ];
    let before = app.audit_total().await;
    for (what, content, locations) in cases {
        let err = refused(&app, &admin, "kromeriz", &content, false, None).await;
        assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{what}: {err}");
        let found: Vec<&str> = err["extensions"]["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: {err}"))
            .iter()
            .map(|p| p["location"].as_str().expect("location"))
            .collect();
        assert_eq!(found, locations, "{what}: {err}");
    }
    assert_eq!(app.audit_total().await, before, "nothing written");
    app.stop().await;
}

async fn an_import_keeps_to_the_callers_regions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let plan = &plans(&app, "kromeriz").await[0];
    let text = file(&app, &plan["id"]).await;
    let klatovy = app.token(Role::Editor, &["klatovy"], &[]);
    for dry in [true, false] {
        let err = refused(&app, &klatovy, "kromeriz", &text, dry, None).await;
        assert_eq!(err["extensions"]["code"], "FORBIDDEN", "{err}");
    }
    let viewer = app.token(Role::Viewer, &["kromeriz"], &[]);
    let err = refused(&app, &viewer, "kromeriz", &text, true, None).await;
    assert_eq!(err["extensions"]["code"], "FORBIDDEN", "{err}");
    let (_, body) = app
        .post(
            Some(&format!("Bearer {klatovy}")),
            EXPORT,
            json!({ "id": plan["id"] }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    app.stop().await;
}

crate::on_both_databases!(
    every_plan_comes_back_unchanged,
    three_changes_are_listed_then_applied_and_audited,
    new_records_are_created_and_missing_ones_archived_when_asked,
    a_stale_apply_is_a_conflict,
    a_bad_file_changes_nothing_and_names_its_problems,
    an_import_keeps_to_the_callers_regions,
);
