//! Every imported record says where its document states it; nothing the
//! document does not state is stored; what the law says lives on the type.

use crate::seeds::REGIONS;
use crate::support::{Backend, TestApp, repo_path};
use kpss_domain::source::plain;
use serde_json::{Value, json};

/// The few values the documents print inflected, with the words they print;
/// each stands on a record whose `reading` says so.
const PRINTED_AS: &[(&str, &str)] = &[(
    // line 7: "Vyhodnocení krátkodobého plánu …"
    "Krátkodobý plán rozvoje sociálních služeb Statutárního města Chomutova na roky 2007/2008",
    "krátkodobého plánu rozvoje sociálních služeb Statutárního města Chomutova na roky 2007/2008",
)];

/// Text as compared with its lines: plain ([`plain`]), bullet glyphs the
/// seeds drop removed, all whitespace one space.
fn words(s: &str) -> String {
    plain(s)
        .replace(['•', '·', '▪', '◦'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What must occur in a record's main excerpt: its title or name, a
/// capacity's number (Kroměříž writes one unit as "jedné"), an evaluation's
/// first words (or, without a comment, the title of its measure).
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
    printed(&key).to_owned()
}

fn printed(value: &str) -> &str {
    PRINTED_AS
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(value, |(_, printed)| printed)
}

/// A record of a region tree: its kind, itself, its parent, and the
/// document of its plan or provider.
type Record<'a> = (String, &'a Value, &'a Value, Option<&'a str>);

/// Records of a region tree (a seed file, or as served).
fn records<'a>(
    kind: &str,
    v: &'a Value,
    parent: &'a Value,
    document: Option<&'a str>,
    out: &mut Vec<Record<'a>>,
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
    let document = v["source_document"].as_str().or(document);
    if kind != "region" {
        out.push((kind.to_owned(), v, parent, document));
    }
    for (field, child) in children {
        for c in v[*field].as_array().into_iter().flatten() {
            records(child, c, v, document, out);
        }
    }
}

/// Keys whose values are not the document's text: children, provenance,
/// codes (compared normalised), enums, dates read off text.
const NOT_TEXT: &[&str] = &[
    "plans",
    "providers",
    "projects",
    "priorities",
    "measures",
    "sub_measures",
    "evaluations",
    "activities",
    "sub_activities",
    "planned_capacities",
    "services",
    "capacities",
    "source",
    "sources",
    "reading",
    "source_document",
    "id",
    "key",
    "parent",
    "code",
    "kind",
    "status",
    "unit",
    "form",
    "network",
    "statement",
    "funding_statement",
    "financing_statement",
    "service_type",
    "approved_on",
    "issued_on",
];

/// Every text value of a value: strings, in lists and nested values too.
fn texts<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !NOT_TEXT.contains(&k.as_str()))
            .for_each(|(_, x)| texts(x, out)),
        _ => {}
    }
}

/// One range of a record: its lines' plain text and what it states.
struct Range {
    first: usize,
    last: usize,
    text: String,
    excerpt: Option<String>,
    fields: Vec<String>,
}

/// The ranges a record names (a seed's `source` or `sources`, or served
/// `sources`), each read from its document in `seeds/sources/`.
fn ranges(r: &Value, document: Option<&str>) -> Result<Vec<Range>, String> {
    let list: Vec<&Value> = match (&r["source"], &r["sources"]) {
        (Value::Null, Value::Array(a)) => a.iter().collect(),
        (Value::Null, _) => vec![],
        (one, Value::Null) => vec![one],
        _ => return Err("has both `source` and `sources`".into()),
    };
    list.into_iter()
        .map(|s| {
            let doc = s["document"].as_str().or(document).ok_or("no document")?;
            let content = std::fs::read_to_string(repo_path(&format!("seeds/sources/{doc}")))
                .map_err(|e| format!("{doc}: {e}"))?;
            let (first, last) = (
                s["first_line"].as_u64().ok_or("no first_line")? as usize,
                s["last_line"].as_u64().ok_or("no last_line")? as usize,
            );
            let lines: Vec<&str> = content
                .lines()
                .skip(first - 1)
                .take(last + 1 - first)
                .collect();
            let text = plain(&lines.join("\n"));
            if s["text"].as_str().is_some_and(|served| served != text) {
                return Err(format!("served text is not lines {first}–{last}"));
            }
            Ok(Range {
                first,
                last,
                text,
                excerpt: s["excerpt"].as_str().map(str::to_owned),
                fields: s["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
            })
        })
        .collect()
}

/// Whether `value` stands in the ranges: each of its paragraphs in one of them.
fn stands_in(value: &str, ranges: &[&Range]) -> bool {
    let texts: Vec<String> = ranges.iter().map(|r| words(&r.text)).collect();
    value
        .split("\n\n")
        .map(words)
        .filter(|p| !p.is_empty())
        .all(|p| texts.iter().any(|t| t.contains(&p)))
}

/// What does not hold in one record: empty when every text value stands in
/// its lines and every further range states the fields it names.
fn problems_of(kind: &str, r: &Value, parent: &Value, document: Option<&str>) -> Vec<String> {
    let ranges = match ranges(r, document) {
        Ok(ranges) => ranges,
        Err(e) => return vec![e],
    };
    let Some(main) = ranges.first() else {
        return vec!["names no lines".into()];
    };
    let mut out = Vec::new();
    let key = key(kind, r, parent);
    let excerpt = main.excerpt.as_deref().unwrap_or(&main.text);
    if !main.text.contains(excerpt) {
        out.push(format!("excerpt not in lines {}–{}", main.first, main.last));
    }
    if !words(excerpt).contains(&words(&key)) {
        out.push(format!("`{key}` is not in its excerpt"));
    }
    let all: Vec<&Range> = ranges.iter().collect();
    let mut values = Vec::new();
    texts(r, &mut values);
    for value in values {
        // An inflected value holds in its printed form, on a record that says so.
        let as_printed = if r["reading"].is_string() {
            printed(value)
        } else {
            value
        };
        if !stands_in(as_printed, &all) {
            out.push(format!("`{value}` is in none of its lines"));
        }
    }
    for range in &ranges[1..] {
        for field in &range.fields {
            if r[field].is_null() {
                out.push(format!(
                    "lines {}–{} state `{field}`, which it has not",
                    range.first, range.last
                ));
            }
            if NOT_TEXT.contains(&field.as_str()) {
                continue; // a date or an enum read off the lines
            }
            // Its value stands in these lines (a paragraph of it at least), the
            // rest in the main range.
            let mut stated = Vec::new();
            texts(&r[field], &mut stated);
            if !stated.iter().all(|v| {
                stands_in(v, &[main, range]) && v.split("\n\n").any(|p| stands_in(p, &[range]))
            }) {
                out.push(format!(
                    "`{field}` is not in lines {}–{}",
                    range.first, range.last
                ));
            }
        }
    }
    out
}

/// Checks every record of a region tree: how many, and what does not hold.
fn check(region: &str, tree: &Value) -> (usize, Vec<Vec<String>>) {
    let mut all = Vec::new();
    records("region", tree, &Value::Null, None, &mut all);
    let failing = all
        .iter()
        .map(|(kind, r, parent, document)| {
            let key = key(kind, r, parent);
            problems_of(kind, r, parent, *document)
                .into_iter()
                .map(|p| format!("{region}: {kind} `{key}`: {p}"))
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect();
    (all.len(), failing)
}

/// Every region's tree checked; prints the count, fails on any record that does not hold.
fn assert_every_record_holds(trees: &[(&str, Value)], what: &str) {
    let (mut count, mut problems) = (0, Vec::new());
    for (region, tree) in trees {
        let (n, p) = check(region, tree);
        count += n;
        problems.extend(p);
    }
    println!("{} of {count} {what} records hold", count - problems.len());
    assert!(count > 400, "{count} records");
    assert!(problems.is_empty(), "{}", problems.concat().join("\n"));
}

#[test]
fn every_value_of_the_seed_files_stands_in_the_lines_its_record_names() {
    let trees: Vec<(&str, Value)> = REGIONS
        .iter()
        .map(|region| {
            let path = repo_path(&format!("seeds/{region}.yaml"));
            let text = std::fs::read_to_string(path).expect("seed file");
            (*region, serde_norway::from_str(&text).expect("YAML"))
        })
        .collect();
    assert_every_record_holds(&trees, "seed");
}

async fn every_served_value_stands_in_the_lines_its_record_names(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut trees = Vec::new();
    for region in REGIONS {
        trees.push((*region, crate::seeds::region_tree(&app, region).await));
    }
    assert_every_record_holds(&trees, "served");
    app.stop().await;
}

async fn no_capacity_has_a_form_its_line_does_not_state(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut problems = Vec::new();
    for region in REGIONS {
        let tree = crate::seeds::region_tree(&app, region).await;
        let mut all = Vec::new();
        records("region", &tree, &Value::Null, None, &mut all);
        for (_, c, _, _) in all.iter().filter(|(k, ..)| k == "capacity") {
            let stem = match c["form"].as_str() {
                None => continue,
                Some("RESIDENTIAL") => "pobyt",
                Some("OUTPATIENT") => "ambulant",
                Some(_) => "terénn",
            };
            let excerpt = c["sources"][0]["excerpt"].as_str().unwrap_or_default();
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

/// Račín's 23 beds are one stated capacity (both lines that mention it are
/// its sources); the 50 beds of 8.1 are a lower bound. Nothing adds them twice.
async fn a_stated_capacity_counts_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let q = r#"{ measures(filter: { regions: ["kromeriz"] }, first: 100) { nodes {
        code plannedCapacities { value atLeast unit text sources { firstLine } } } } }"#;
    let nodes = app.query(&app.admin(), q, json!({})).await["measures"]["nodes"].take();
    let beds: Vec<&Value> = nodes
        .as_array()
        .expect("nodes")
        .iter()
        .flat_map(|m| m["plannedCapacities"].as_array().expect("capacities"))
        .filter(|c| c["unit"] == "BEDS")
        .collect();
    let total: i64 = beds
        .iter()
        .map(|c| c["value"].as_i64().expect("value"))
        .sum();
    assert_eq!(total, 73, "Kroměříž's planned beds: {beds:?}");
    let racin: Vec<_> = beds
        .iter()
        .filter(|c| c["text"].as_str().is_some_and(|t| t.contains("Račín")))
        .collect();
    assert_eq!(racin.len(), 1, "{racin:?}");
    assert_eq!(
        racin[0]["sources"],
        json!([{ "firstLine": 159 }, { "firstLine": 197 }])
    );
    let fifty = beds.iter().find(|c| c["value"] == 50).expect("50 beds");
    assert_eq!(fifty["atLeast"], true);
    assert!(fifty["text"].as_str().expect("text").contains("minimálně"));
    app.stop().await;
}

/// "žádné" is a statement that there is none, not an item; no region stores
/// a none-like word as a list entry.
async fn a_statement_of_none_is_no_item(b: Backend) {
    let app = TestApp::spawn(b).await;
    let none_like = |s: &str| {
        let s = s.trim().to_lowercase();
        [
            "žádné", "žádný", "žádná", "není", "nejsou", "nic", "-", "–", "0",
        ]
        .contains(&s.as_str())
    };
    fn lists<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| match x {
                Value::String(s) => out.push(s),
                other => lists(other, out),
            }),
            Value::Object(o) => o.values().for_each(|x| lists(x, out)),
            _ => {}
        }
    }
    for region in REGIONS {
        let tree = crate::seeds::region_tree(&app, region).await;
        let mut items = Vec::new();
        lists(&tree, &mut items);
        let found: Vec<_> = items.into_iter().filter(|s| none_like(s)).collect();
        assert!(found.is_empty(), "{region}: {found:?}");
    }
    let q = r#"{ measures(filter: { regions: ["karlovy-vary"], code: "1.2" }) { nodes {
        activities { code financingItems financingStatement } } } }"#;
    assert_eq!(
        app.query(&app.admin(), q, json!({})).await["measures"]["nodes"][0]["activities"][0],
        json!({ "code": "1.2.1", "financingItems": [], "financingStatement": "NONE" })
    );
    app.stop().await;
}

/// What rests on a reading says so, and what the documents state about
/// themselves is served.
async fn readings_and_statements_about_the_plans_are_served(b: Backend) {
    let app = TestApp::spawn(b).await;
    let q = r#"query($r: [String!]) { plans(filter: { regions: $r }) { nodes {
        title documentTitle notes reading sources { firstLine fields } } } }"#;
    let plans = |r: &'static str| {
        let app = &app;
        async move {
            app.query(&app.admin(), q, json!({ "r": [r] })).await["plans"]["nodes"]
                .as_array()
                .expect("nodes")
                .clone()
        }
    };
    let chomutov = plans("chomutov").await;
    let plan_2009 = chomutov
        .iter()
        .find(|p| p["title"] == "Plán pro rok 2009")
        .expect("2009");
    assert!(
        plan_2009["reading"]
            .as_str()
            .expect("reading")
            .contains("dvakrát")
    );
    assert!(
        chomutov.iter().all(|p| p["reading"].is_string()),
        "{chomutov:?}"
    );
    let kromeriz = &plans("kromeriz").await[0];
    assert!(
        kromeriz["documentTitle"]
            .as_str()
            .expect("title")
            .starts_with("Vyhodnocení")
    );
    assert_eq!(kromeriz["notes"].as_array().expect("notes").len(), 2);
    let kv = plans("karlovy-vary").await;
    assert!(
        kv.iter()
            .any(|p| p["notes"].as_array().is_some_and(|n| !n.is_empty()))
    );
    let q = r#"{ measures(filter: { regions: ["klatovy"], code: "1.3" }) { nodes {
        title alternativeTitle sources { fields } } } }"#;
    let m = app.query(&app.admin(), q, json!({})).await["measures"]["nodes"][0].take();
    assert_eq!(
        m["alternativeTitle"],
        "Podpora a rozvoj Komunitního centra Dotek"
    );
    assert_ne!(m["title"], m["alternativeTitle"]);
    assert_eq!(m["sources"][1]["fields"], json!(["alternative_title"]));
    app.stop().await;
}

/// A query that asks where records come from gets it however it asks (any
/// of the fields, an alias, a fragment, on any record of the tree); one that
/// asks none gets the same records; an edit that asks none keeps the source.
async fn provenance_is_read_when_any_field_asks_for_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let tree = |selection: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let q = format!(
                r#"query {{ plans(filter: {{ regions: ["chomutov"] }}) {{ nodes {{ id title
                   priorities {{ code measures {{ code title evaluations {{ year comment }} }} }} {selection} }} }} }}"#
            );
            app.query(admin, &q, json!({})).await["plans"]["nodes"].take()
        }
    };
    let none = tree("").await;
    let plan_of = |nodes: &serde_json::Value, field: &str| nodes[0][field].clone();
    for (selection, field) in [
        ("reading", "reading"),
        ("sourceDocument", "sourceDocument"),
        ("s: source { firstLine }", "s"),
        ("sources { firstLine }", "sources"),
        ("... on Plan { source { firstLine } }", "source"),
    ] {
        let asked = tree(selection).await;
        assert!(
            !plan_of(&asked, field).is_null() && plan_of(&asked, field) != json!([]),
            "{selection}: {asked}"
        );
        let mut without = asked.clone();
        for plan in without.as_array_mut().expect("plans") {
            plan.as_object_mut().expect("plan").remove(field);
        }
        assert_eq!(without, none, "{selection}: the rest is the same");
    }
    // Asked on a record deep in the tree, through a fragment spread.
    let q = r#"{ plans(filter: { regions: ["chomutov"] }) { nodes { priorities { measures { ...M } } } } }
               fragment M on Measure { source { firstLine } }"#;
    let deep = app.query(&admin, q, json!({})).await;
    let first = &deep["plans"]["nodes"][0]["priorities"][0]["measures"][0];
    assert!(first["source"]["firstLine"].is_i64(), "{deep}");

    let q = r#"{ measures(filter: { regions: ["kromeriz"], code: "1.4" }) { nodes { id version source { firstLine excerpt } } } }"#;
    let m = app.query(&admin, q, json!({})).await["measures"]["nodes"][0].take();
    app.query(
        &admin,
        r#"mutation($id: ID!, $v: Int!) { updateMeasure(id: $id, expectedVersion: $v, patch: { title: "Jiný název" }) { id title } }"#,
        json!({ "id": m["id"], "v": m["version"] }),
    )
    .await;
    let after = app.query(&admin, q, json!({})).await["measures"]["nodes"][0].take();
    assert_eq!(
        after["source"], m["source"],
        "an edit that asks for no source keeps it"
    );
    app.stop().await;
}

crate::on_both_databases!(
    every_served_value_stands_in_the_lines_its_record_names,
    a_stated_capacity_counts_once,
    a_statement_of_none_is_no_item,
    readings_and_statements_about_the_plans_are_served,
    no_capacity_has_a_form_its_line_does_not_state,
    every_service_type_has_the_forms_of_the_act,
    a_measure_is_found_by_its_code_as_printed_or_normalised,
    an_edit_keeps_the_source_and_a_new_record_has_none,
    provenance_is_read_when_any_field_asks_for_it,
    statements_and_shares_that_do_not_fit_are_bad_input,
);
