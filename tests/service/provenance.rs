//! Every imported record says where its document states it; nothing the
//! document does not state is stored; what the law says lives on the type.

use crate::seeds::REGIONS;
use crate::support::{Backend, TestApp, repo_path};
use kpss_domain::source::plain;
use serde_json::{Value, json};

/// The few titles the document prints inflected, with the words it prints.
const PRINTED_AS: &[(&str, &str)] = &[(
    // line 7: "Vyhodnocení krátkodobého plánu …"
    "Krátkodobý plán rozvoje sociálních služeb Statutárního města Chomutova na roky 2007/2008",
    "krátkodobého plánu rozvoje sociálních služeb Statutárního města Chomutova na roky 2007/2008",
)];

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What must occur in a record's excerpt: its title or name, a capacity's
/// number (Kroměříž writes one unit as "jedné"), an evaluation's first words
/// (or, without a comment, the title of its measure).
fn key(kind: &str, record: &Value, parent: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let key = match kind {
        "capacity" => match record["value"].as_i64() {
            Some(1) if record["text"].as_str().is_some_and(|t| t.contains("jedné")) => {
                "jedné".into()
            }
            v => v.unwrap_or_default().to_string(),
        },
        "evaluation" => match record["comment"].as_str() {
            Some(c) => c
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect(),
            None => text(&parent["title"]),
        },
        "provider" => text(&record["name"]),
        "service" => text(&record["name"]),
        _ => text(&record["title"]),
    };
    PRINTED_AS
        .iter()
        .find(|(title, _)| *title == key)
        .map_or(key, |(_, printed)| (*printed).to_owned())
}

/// Records of a served region tree, each with its kind and parent.
fn records<'a>(
    kind: &str,
    v: &'a Value,
    parent: &'a Value,
    out: &mut Vec<(String, &'a Value, &'a Value)>,
) {
    let children: &[(&str, &str)] = match kind {
        "region" => &[("plans", "plan"), ("providers", "provider")],
        "plan" => &[("projects", "project"), ("priorities", "priority")],
        "priority" => &[("measures", "measure")],
        "measure" => &[
            ("sub_measures", "measure"),
            ("evaluations", "evaluation"),
            ("activities", "activity"),
            ("planned_capacities", "capacity"),
        ],
        "activity" => &[("sub_activities", "activity")],
        "provider" => &[("services", "service")],
        "service" => &[("capacities", "capacity")],
        _ => &[],
    };
    if kind != "region" {
        out.push((kind.to_owned(), v, parent));
    }
    for (field, child) in children {
        for c in v[*field].as_array().into_iter().flatten() {
            records(child, c, v, out);
        }
    }
}

async fn served(app: &TestApp, region: &str) -> Value {
    crate::seeds::region_tree(app, region).await
}

async fn every_imported_record_names_the_lines_that_state_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut problems = Vec::new();
    for region in REGIONS {
        let tree = served(&app, region).await;
        let mut all = Vec::new();
        records("region", &tree, &Value::Null, &mut all);
        let mut sourced = 0;
        for (kind, r, parent) in &all {
            let s = &r["source"];
            if s.is_null() {
                problems.push(format!(
                    "{region}: a {kind} has no source: {}",
                    key(kind, r, parent)
                ));
                continue;
            }
            sourced += 1;
            let doc = std::fs::read_to_string(repo_path(&format!(
                "seeds/sources/{}",
                s["document"].as_str().expect("document")
            )))
            .expect("the document ships in seeds/sources");
            let (first, last) = (
                s["first_line"].as_u64().expect("first") as usize,
                s["last_line"].as_u64().expect("last") as usize,
            );
            let lines: Vec<&str> = doc.lines().skip(first - 1).take(last + 1 - first).collect();
            let text = s["text"].as_str().expect("text");
            let excerpt = s["excerpt"].as_str().expect("excerpt");
            let key = key(kind, r, parent);
            if plain(&lines.join("\n")) != text {
                problems.push(format!(
                    "{region}: {kind} {key}: text is not lines {first}–{last}"
                ));
            }
            if !text.contains(excerpt) {
                problems.push(format!("{region}: {kind} {key}: excerpt not in its lines"));
            }
            if !words(excerpt).contains(&words(&key)) {
                problems.push(format!(
                    "{region}: {kind} `{key}` is not in its excerpt `{excerpt}`"
                ));
            }
        }
        assert_eq!(sourced, all.len(), "{region}: records with provenance");
        assert!(!all.is_empty());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}

async fn no_capacity_has_a_form_its_line_does_not_state(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut problems = Vec::new();
    for region in REGIONS {
        let tree = served(&app, region).await;
        let mut all = Vec::new();
        records("region", &tree, &Value::Null, &mut all);
        for (_, c, _) in all.iter().filter(|(k, _, _)| k == "capacity") {
            let stem = match c["form"].as_str() {
                None => continue,
                Some("RESIDENTIAL") => "pobyt",
                Some("OUTPATIENT") => "ambulant",
                Some(_) => "terénn",
            };
            let excerpt = c["source"]["excerpt"].as_str().unwrap_or_default();
            if !excerpt.to_lowercase().contains(stem) {
                problems.push(format!(
                    "{region}: {} {} `{excerpt}`",
                    c["form"], c["value"]
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "forms not stated:\n{}",
        problems.join("\n")
    );
    app.stop().await;
}

async fn every_service_type_has_the_forms_of_the_act(b: Backend) {
    let app = TestApp::spawn(b).await;
    let types = app
        .query(
            &app.admin(),
            "{ serviceTypes { code paragraph legalForms } }",
            json!({}),
        )
        .await["serviceTypes"]
        .take();
    let types = types.as_array().expect("types");
    assert_eq!(types.len(), 33);
    assert!(
        types
            .iter()
            .all(|t| !t["legalForms"].as_array().expect("forms").is_empty())
    );
    let forms = |code: &str| {
        types
            .iter()
            .find(|t| t["code"] == code)
            .map(|t| t["legalForms"].clone())
            .unwrap_or_default()
    };
    assert_eq!(forms("DOMOVY_PRO_SENIORY"), json!(["RESIDENTIAL"]), "§ 49");
    assert_eq!(forms("NOCLEHARNY"), json!(["OUTPATIENT"]), "§ 63");
    assert_eq!(forms("TERENNI_PROGRAMY"), json!(["FIELD"]), "§ 69");
    assert_eq!(
        forms("ODLEHCOVACI_SLUZBY"),
        json!(["FIELD", "OUTPATIENT", "RESIDENTIAL"]),
        "§ 44"
    );
    app.stop().await;
}

async fn a_measure_is_found_by_its_code_as_printed_or_normalised(b: Backend) {
    let app = TestApp::spawn(b).await;
    let q = r#"query($c: String!) { measures(filter: { regions: ["kromeriz"], code: $c }) {
        nodes { code normalizedCode priority { group } } } }"#;
    let printed = app.query(&app.admin(), q, json!({ "c": "1. 2" })).await;
    let normal = app.query(&app.admin(), q, json!({ "c": "1.2" })).await;
    assert_eq!(printed, normal);
    let codes: Vec<&str> = printed["measures"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["code"].as_str().expect("code"))
        .collect();
    assert!(
        codes.contains(&"1. 2") && codes.contains(&"1.2"),
        "{codes:?}"
    );
    assert!(
        printed["measures"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["normalizedCode"] == "1.2")
    );
    app.stop().await;
}

async fn an_edit_keeps_the_source_and_a_new_record_has_none(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let m = app
        .query(
            &admin,
            r#"{ measures(filter: { regions: ["kromeriz"], code: "1.4" }) { nodes { id version source { firstLine excerpt } } } }"#,
            json!({}),
        )
        .await["measures"]["nodes"][0]
        .take();
    let updated = app
        .query(
            &admin,
            r#"mutation($id: ID!, $v: Int!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: "Nový název" }) {
                 title source { firstLine excerpt } plan { id } } }"#,
            json!({ "id": m["id"], "v": m["version"] }),
        )
        .await["updateMeasure"]
        .take();
    assert_eq!(
        updated["source"], m["source"],
        "the source stays after an edit"
    );
    let audit = app
        .query(
            &admin,
            r#"query($id: ID!) { auditLog(filter: { entity: "Measure", entityId: $id }) { nodes { action } } }"#,
            json!({ "id": m["id"] }),
        )
        .await;
    assert_eq!(audit["auditLog"]["nodes"][0]["action"], "UPDATED");
    let created = app
        .query(
            &admin,
            r#"mutation { createPlan(input: { region: "kromeriz", title: "Akční plán 2024", kind: ACTION_PLAN,
                 periodStart: 2024, periodEnd: 2024, issued: "Kroměříž 2024" }) { source { firstLine } issued issuedOn } }"#,
            json!({}),
        )
        .await["createPlan"]
        .take();
    assert_eq!(
        created,
        json!({ "source": null, "issued": "Kroměříž 2024", "issuedOn": null })
    );
    app.stop().await;
}

async fn statements_and_shares_that_do_not_fit_are_bad_input(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let priority = app
        .query(&admin, r#"{ plans(filter: { regions: ["klatovy"], kinds: [ACTION_PLAN] }) { nodes { priorities { id } } } }"#, json!({}))
        .await["plans"]["nodes"][0]["priorities"][0]["id"]
        .take();
    let create = r#"mutation($p: ID!, $i: MeasureInput!) { createMeasure(priorityId: $p, input: $i) { id } }"#;
    for (input, field) in [
        (
            json!({ "code": "9.9", "title": "T", "fundingStatement": "STATED" }),
            "input.fundingStatement",
        ),
        (
            json!({ "code": "9.9", "title": "T", "fundingSources": ["MPSV"], "fundingStatement": "NONE" }),
            "input.fundingStatement",
        ),
        (
            json!({ "code": "9.9", "title": "T", "expectedCost": { "statement": "NOT_SPECIFIABLE", "amountCzk": 5, "text": "x" } }),
            "input.expectedCost.statement",
        ),
        (
            json!({ "code": "9.9", "title": "T", "plannedCapacities": [{ "value": 10, "unit": "BEDS",
            "networkShares": [{ "network": "BASIC", "value": 11 }] }] }),
            "input.plannedCapacities[0].networkShares[0]",
        ),
    ] {
        let (_, body) = app
            .post(
                Some(&format!("Bearer {admin}")),
                create,
                json!({ "p": priority, "i": input }),
            )
            .await;
        let ext = &body["errors"][0]["extensions"];
        assert_eq!(
            (ext["code"].as_str(), ext["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{body}"
        );
    }
    app.stop().await;
}

crate::on_both_databases!(
    every_imported_record_names_the_lines_that_state_it,
    no_capacity_has_a_form_its_line_does_not_state,
    every_service_type_has_the_forms_of_the_act,
    a_measure_is_found_by_its_code_as_printed_or_normalised,
    an_edit_keeps_the_source_and_a_new_record_has_none,
    statements_and_shares_that_do_not_fit_are_bad_input,
);
