//! Czech search: relevance of what people type (`tests/search/relevance.yaml`),
//! highlights, archived records, tenancy, per-record index updates, paging
//! and bad input; the same records found on SQLite and PostgreSQL.

use crate::support::{Backend, TestApp, repo_path};
use kpss_domain::access::Role;
use kpss_domain::analysis;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct Case {
    text: String,
    regions: Option<Vec<String>>,
    kind: String,
    region: String,
    title: String,
}

fn cases() -> Vec<Case> {
    let path = repo_path("tests/search/relevance.yaml");
    let text = std::fs::read_to_string(&path).expect("relevance cases");
    serde_norway::from_str(&text).expect("relevance.yaml")
}

const HITS: &str = "query($t: String!, $f: SearchFilter, $n: Int, $a: String) {
  searchHits(text: $t, filter: $f, first: $n, after: $a) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { kind id archived title snippet highlights { start end } region { code } } } }";

async fn hits(app: &TestApp, token: &str, text: &str, filter: Value, first: i32) -> Value {
    let data = app
        .query(token, HITS, json!({ "t": text, "f": filter, "n": first }))
        .await;
    data["searchHits"].clone()
}

fn nodes(hits: &Value) -> &Vec<Value> {
    hits["nodes"].as_array().expect("nodes")
}

/// The text each highlight marks in its snippet.
fn marked(hit: &Value) -> Vec<String> {
    let chars: Vec<char> = hit["snippet"].as_str().expect("snippet").chars().collect();
    hit["highlights"]
        .as_array()
        .expect("highlights")
        .iter()
        .map(|h| {
            let (a, b) = (
                h["start"].as_u64().expect("start"),
                h["end"].as_u64().expect("end"),
            );
            chars[a as usize..b as usize].iter().collect()
        })
        .collect()
}

/// Every case's record is among the first 5 hits: recall@5 must be 100 %.
async fn relevance_cases_are_found_in_the_first_five(b: Backend) {
    let app = TestApp::spawn(b).await;
    let national = app.token(Role::Viewer, &["*"], &[]);
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let (mut found, mut reciprocal, mut misses) = (0, 0.0, Vec::new());
    for c in &cases {
        let filter = json!({ "regions": c.regions });
        let h = hits(&app, &national, &c.text, filter, 5).await;
        let rank = nodes(&h).iter().position(|n| {
            n["kind"] == c.kind.as_str()
                && n["region"]["code"] == c.region.as_str()
                && n["title"] == c.title.as_str()
        });
        match rank {
            Some(r) => {
                found += 1;
                reciprocal += 1.0 / (r + 1) as f64;
            }
            None => misses.push(format!("{:?}: {:?}", c.text, h)),
        }
    }
    let n = cases.len() as f64;
    println!(
        "relevance on {b:?}: {} cases, recall@5 {:.1} %, MRR {:.3}",
        cases.len(),
        100.0 * found as f64 / n,
        reciprocal / n
    );
    assert!(misses.is_empty(), "missed:\n{}", misses.join("\n"));
    app.stop().await;
}

/// Each highlight marks a word the query looks for, inflected as the text has it.
async fn highlights_point_at_the_matched_words(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let query = analysis::query("azylový dům");
    let h = hits(&app, &admin, "azylový dům", json!(null), 20).await;
    assert!(!nodes(&h).is_empty());
    for hit in nodes(&h) {
        let words = marked(hit);
        assert!(!words.is_empty(), "{hit}");
        for w in &words {
            let t = analysis::tokens(w);
            assert!(
                t.len() == 1 && query.iter().any(|q| q.marks(&t[0])),
                "{w:?} in {hit}"
            );
        }
    }
    let stems: BTreeSet<String> = marked(&nodes(&h)[0])
        .iter()
        .flat_map(|w| analysis::tokens(w))
        .map(|t| t.term)
        .collect();
    assert_eq!(stems, BTreeSet::from(["azyl".to_owned(), "dom".to_owned()]));
    // Offsets count Unicode scalar values: "Alzheimerovou chorobou" after Czech letters.
    let h = hits(&app, &admin, "Alzheimerova choroba", json!(null), 5).await;
    assert_eq!(marked(&nodes(&h)[0]), ["Alzheimerovou", "chorobou"]);
    app.stop().await;
}

/// An archived measure, and the evaluations of it, are found only with `includeArchived`.
async fn archived_records_are_found_only_when_asked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    // Two evaluations mention Račín, and one measure plans its beds.
    let before = hits(&app, &admin, "Račín", json!(null), 10).await;
    assert_eq!(before["totalCount"], 3, "{before}");
    let m = nodes(
        &hits(
            &app,
            &admin,
            "Alzheimerova choroba",
            json!({ "kinds": ["MEASURE"] }),
            1,
        )
        .await,
    )[0]
    .clone();
    let measure = app
        .query(
            &admin,
            "query($id: ID!) { measure(id: $id) { version } }",
            json!({ "id": m["id"] }),
        )
        .await;
    app.query(
        &admin,
        "mutation($id: ID!, $v: Int!) { archiveMeasure(id: $id, expectedVersion: $v) { archived } }",
        json!({ "id": m["id"], "v": measure["measure"]["version"] }),
    )
    .await;
    let after = hits(&app, &admin, "Račín", json!(null), 10).await;
    assert_eq!(
        after["totalCount"], 1,
        "the measure and its evaluation are gone: {after}"
    );
    assert!(nodes(&after).iter().all(|n| n["title"] != m["title"]));
    let old = app
        .query(
            &admin,
            "{ search(text: \"Alzheimerova choroba\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(old["search"], json!([]));
    let asked = hits(
        &app,
        &admin,
        "Račín",
        json!({ "includeArchived": true }),
        10,
    )
    .await;
    assert_eq!(asked["totalCount"], 3, "{asked}");
    let archived: Vec<&str> = nodes(&asked)
        .iter()
        .filter(|n| n["archived"] == true)
        .map(|n| n["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(archived.len(), 2, "{asked}");
    assert!(archived.contains(&"MEASURE") && archived.contains(&"EVALUATION"));
    app.stop().await;
}

/// A Klatovy token gets no Kroměříž hit, in the nodes or in the count.
async fn a_klatovy_token_never_gets_a_kromeriz_hit(b: Backend) {
    let app = TestApp::spawn(b).await;
    let klatovy = app.token(Role::Viewer, &["klatovy"], &[]);
    let admin = app.admin();
    for text in ["Račín", "Kroměříž", "sociálních služeb", "domov"] {
        let mine = hits(&app, &klatovy, text, json!(null), 100).await;
        assert!(
            nodes(&mine)
                .iter()
                .all(|n| n["region"]["code"] == "klatovy"),
            "{mine}"
        );
        let all_of_klatovy = hits(&app, &admin, text, json!({ "regions": ["klatovy"] }), 100).await;
        assert_eq!(mine["totalCount"], all_of_klatovy["totalCount"], "{text}");
        let old = app
            .query(
                &klatovy,
                "query($t: String!) { search(text: $t, first: 100) { region { code } } }",
                json!({ "t": text }),
            )
            .await;
        assert!(
            old["search"]
                .as_array()
                .expect("hits")
                .iter()
                .all(|n| n["region"]["code"] == "klatovy")
        );
    }
    assert_eq!(
        hits(&app, &klatovy, "Račín", json!(null), 10).await["totalCount"],
        0
    );
    let code = app
        .error_code(
            &klatovy,
            HITS,
            json!({ "t": "Račín", "f": { "regions": ["kromeriz"] } }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code = app
        .error_code(
            &klatovy,
            HITS,
            json!({ "t": "Račín", "f": { "kraje": ["CZ072"] } }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    app.stop().await;
}

/// Every hit of `text` for `token` and `filter`, page after page, as "kind id region", in order.
async fn every_hit(app: &TestApp, token: &str, text: &str, filter: Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .query(
                token,
                HITS,
                json!({ "t": text, "f": filter, "n": 100, "a": after }),
            )
            .await["searchHits"]
            .clone();
        found.extend(
            nodes(&page)
                .iter()
                .map(|n| format!("{} {} {}", n["kind"], n["id"], n["region"]["code"])),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            return found;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// A region's token, a kraj's token and a filter of regions or kraje find
/// every hit of theirs, in the order of a national search: on SQLite the
/// full-text index matches the regions with the words, and must leave none out.
async fn scoped_searches_find_every_hit_of_their_regions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let klatovy = app.token(Role::Viewer, &["klatovy"], &[]);
    let plzensky = app.token(Role::Viewer, &[], &["CZ032"]);
    let two = app.token(Role::Viewer, &["klatovy"], &["CZ072"]);
    for text in ["sociálních služeb", "domov", "senior", "Račín"] {
        let national = every_hit(&app, &admin, text, json!(null)).await;
        let of = |regions: &[&str]| -> Vec<String> {
            national
                .iter()
                .filter(|h| regions.iter().any(|r| h.ends_with(&format!(" \"{r}\""))))
                .cloned()
                .collect()
        };
        assert!(!of(&["klatovy", "kromeriz"]).is_empty(), "{text}");
        let callers = [
            (&klatovy, json!(null), of(&["klatovy"])),
            (&plzensky, json!(null), of(&["klatovy"])),
            (&two, json!(null), of(&["klatovy", "kromeriz"])),
            (&two, json!({ "kraje": ["CZ072"] }), of(&["kromeriz"])),
            (
                &admin,
                json!({ "regions": ["chomutov", "klatovy"] }),
                of(&["chomutov", "klatovy"]),
            ),
        ];
        for (token, filter, expected) in callers {
            let found = every_hit(&app, token, text, filter.clone()).await;
            assert_eq!(found, expected, "{text} {filter}");
        }
    }
    app.stop().await;
}

/// A service's new capacity text, an evaluation's comment and a measure's new
/// title are found right after the write; other records keep their entries.
async fn writes_update_the_entries_of_their_records(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let entries = async || {
        let c = sea_orm::Database::connect(
            app.config
                .owner_database_url
                .as_deref()
                .or(app.config.database_url.as_deref())
                .expect("url"),
        )
        .await
        .expect("connect");
        use sea_orm::ConnectionTrait;
        let rows = c
            .query_all_raw(sea_orm::Statement::from_string(
                c.get_database_backend(),
                "SELECT id, kind, entity_id, title || ' ' || body_terms FROM search_entry ORDER BY id",
            ))
            .await
            .expect("entries");
        rows.iter()
            .map(|r| {
                (
                    r.try_get_by_index::<i64>(0).expect("id"),
                    r.try_get_by_index::<String>(1).expect("kind"),
                    r.try_get_by_index::<i64>(2).expect("entity"),
                    r.try_get_by_index::<String>(3).expect("text"),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    let first = entries().await;
    let service = nodes(
        &hits(
            &app,
            &admin,
            "tlumočnické služby",
            json!({ "kinds": ["SERVICE"] }),
            1,
        )
        .await,
    )[0]
    .clone();
    let version = app
        .query(
            &admin,
            "{ services(first: 100) { nodes { id version } } }",
            json!({}),
        )
        .await["services"]["nodes"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["id"] == service["id"])
        .expect("the service")["version"]
        .clone();
    app.query(
        &admin,
        "mutation($id: ID!, $v: Int!) { updateService(id: $id, expectedVersion: $v, patch: { capacities: [{ value: 3, unit: CLIENTS_AT_ONCE, text: \"tři tlumočníci v Sušici\" }] }) { id } }",
        json!({ "id": service["id"], "v": version }),
    )
    .await;
    let found = hits(&app, &admin, "Sušice tlumočník", json!(null), 5).await;
    assert_eq!(nodes(&found)[0]["id"], service["id"], "{found}");
    assert_eq!(marked(&nodes(&found)[0]), ["tlumočníci", "Sušici"]);

    let m = nodes(
        &hits(
            &app,
            &admin,
            "krizové byty",
            json!({ "kinds": ["MEASURE"] }),
            1,
        )
        .await,
    )[0]
    .clone();
    app.query(
        &admin,
        "mutation($id: ID!) { recordEvaluation(measureId: $id, input: { year: 2030, status: PARTIALLY_FULFILLED, comment: \"Byt v Nýrsku pronajat obci.\" }) { id } }",
        json!({ "id": m["id"] }),
    )
    .await;
    let found = hits(
        &app,
        &admin,
        "nyrsko",
        json!({ "kinds": ["EVALUATION"] }),
        5,
    )
    .await;
    assert_eq!(found["totalCount"], 1, "{found}");
    assert_eq!(
        nodes(&found)[0]["title"],
        format!(
            "Vyhodnocení 2030, opatření {}",
            m["title"]
                .as_str()
                .expect("t")
                .split(' ')
                .next()
                .expect("code")
        )
    );

    let last = entries().await;
    let changed: Vec<_> = first
        .symmetric_difference(&last)
        .map(|(_, k, _, _)| k.as_str())
        .collect();
    // The service's entry rewritten (its old and new text), the evaluation's added: nothing else.
    assert_eq!(
        changed.iter().filter(|k| **k == "SERVICE").count(),
        2,
        "{changed:?}"
    );
    assert_eq!(
        changed.iter().filter(|k| **k == "EVALUATION").count(),
        1,
        "{changed:?}"
    );
    assert_eq!(changed.len(), 3, "{changed:?}");

    // An edit of the measure that its evaluations' entries do not show
    // replaces the measure's entry only; a new code rewrites theirs too.
    let edit = |patch: Value| update_measure(&app, &admin, &m["id"], patch);
    edit(json!({ "output": "Jeden byt navíc." })).await;
    let edited = entries().await;
    let changed: Vec<_> = last
        .symmetric_difference(&edited)
        .map(|(_, k, _, _)| k.as_str())
        .collect();
    assert_eq!(changed, ["MEASURE", "MEASURE"], "{changed:?}");
    edit(json!({ "code": "9.9" })).await;
    let found = hits(
        &app,
        &admin,
        "nyrsko",
        json!({ "kinds": ["EVALUATION"] }),
        5,
    )
    .await;
    assert_eq!(
        nodes(&found)[0]["title"],
        "Vyhodnocení 2030, opatření 9.9",
        "{found}"
    );
    app.stop().await;
}

/// Pages follow one another without overlap; the count stays.
async fn search_hits_page_with_cursors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let all = hits(&app, &admin, "sociálních služeb", json!(null), 10).await;
    let first = hits(&app, &admin, "sociálních služeb", json!(null), 5).await;
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let next = app
        .query(
            &admin,
            HITS,
            json!({ "t": "sociálních služeb", "n": 5, "a": first["pageInfo"]["endCursor"] }),
        )
        .await["searchHits"]
        .clone();
    assert_eq!(next["totalCount"], all["totalCount"]);
    let ids = |v: &Value| {
        nodes(v)
            .iter()
            .map(|n| (n["kind"].clone(), n["id"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!([ids(&first), ids(&next)].concat(), ids(&all));
    let kinds = hits(
        &app,
        &admin,
        "Račín",
        json!({ "kinds": ["EVALUATION"] }),
        10,
    )
    .await;
    assert_eq!(kinds["totalCount"], 2);
    assert!(nodes(&kinds).iter().all(|n| n["kind"] == "EVALUATION"));
    app.stop().await;
}

/// Bad input answers BAD_USER_INPUT with the field; nothing reaches a client as INTERNAL.
async fn bad_search_input_is_a_clear_error(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let many = "slovo "
        .repeat(analysis::MAX_TERMS + 1)
        .split(' ')
        .enumerate()
        .map(|(i, w)| format!("{w}{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    for (vars, field) in [
        (json!({ "t": "domov", "n": 1000 }), "first"),
        (json!({ "t": "domov", "a": "nonsense" }), "after"),
        (json!({ "t": "x".repeat(2000) }), "text"),
        (json!({ "t": many }), "text"),
        (
            json!({ "t": "domov", "f": { "regions": ["Klatovy"] } }),
            "filter.regions[0]",
        ),
    ] {
        let (_, body) = app
            .post(Some(&format!("Bearer {admin}")), HITS, vars.clone())
            .await;
        let e = &body["errors"][0]["extensions"];
        assert_eq!(
            (e["code"].as_str(), e["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{vars} -> {body}"
        );
    }
    // A kind is spelled as search spells it, not as the audit log does.
    let plan = json!({ "t": "domov", "f": { "kinds": ["Plan"] } });
    assert_eq!(app.error_code(&admin, HITS, plan).await, "BAD_USER_INPUT");
    // Whatever the punctuation, a query is words or nothing.
    for text in [
        "\"",
        "\"\"\"",
        "*",
        "'\\",
        "-- ; DROP",
        "NEAR(",
        "a:*",
        "!&|<->",
        "…",
    ] {
        let h = hits(&app, &admin, text, json!(null), 5).await;
        assert!(h["totalCount"].as_i64().is_some(), "{text}: {h}");
    }
    app.stop().await;
}

/// Updates measure `id` with `patch` at its current version.
async fn update_measure(app: &TestApp, token: &str, id: &Value, patch: Value) {
    let v = app
        .query(
            token,
            "query($id: ID!) { measure(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await["measure"]["version"]
        .clone();
    app.query(
        token,
        "mutation($id: ID!, $v: Int!, $p: MeasurePatch!) { updateMeasure(id: $id, expectedVersion: $v, patch: $p) { id } }",
        json!({ "id": id, "v": v, "p": patch }),
    )
    .await;
}

/// A measure's entry shows its planned capacities' texts: after the write
/// that sets them, and after a later write that keeps them (whose entry is
/// made from the state the write already read).
async fn a_measure_entry_keeps_its_capacity_texts_through_other_edits(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let m = app
        .query(
            &admin,
            "{ measures(first: 1, filter: { regions: [\"klatovy\"] }) { nodes { id } } }",
            json!({}),
        )
        .await["measures"]["nodes"][0]
        .clone();
    let update = |patch: Value| update_measure(&app, &admin, &m["id"], patch);
    let found = async || {
        let h = hits(
            &app,
            &admin,
            "kvetoucikaktus",
            json!({ "kinds": ["MEASURE"] }),
            5,
        )
        .await;
        nodes(&h)
            .iter()
            .map(|n| n["id"].clone())
            .collect::<Vec<_>>()
    };
    assert!(found().await.is_empty());
    update(json!({ "plannedCapacities": [
        { "value": 2, "unit": "BEDS", "text": "kvetoucikaktus" },
        { "value": 3, "unit": "CLIENTS_AT_ONCE", "text": "modrykaktus" },
    ] }))
    .await;
    assert_eq!(found().await, [m["id"].clone()]);
    update(json!({ "output": "Jiný výstup." })).await;
    assert_eq!(found().await, [m["id"].clone()]);
    // The later write read the capacities with the row: the audit entry
    // shows both, in order, before and after.
    let log = app
        .query(
            &admin,
            "query($id: ID) { auditLog(filter: { entity: \"Measure\", entityId: $id }) { nodes { before after } } }",
            json!({ "id": m["id"] }),
        )
        .await;
    let last = log["auditLog"]["nodes"]
        .as_array()
        .and_then(|n| n.last())
        .expect("entries");
    for state in [&last["before"], &last["after"]] {
        let state = state.as_str().expect("a state");
        let (first, second) = (state.find("kvetoucikaktus"), state.find("modrykaktus"));
        assert!(first.is_some() && first < second, "{state}");
    }
    app.stop().await;
}

on_both_databases!(
    a_measure_entry_keeps_its_capacity_texts_through_other_edits,
    relevance_cases_are_found_in_the_first_five,
    highlights_point_at_the_matched_words,
    archived_records_are_found_only_when_asked,
    a_klatovy_token_never_gets_a_kromeriz_hit,
    scoped_searches_find_every_hit_of_their_regions,
    writes_update_the_entries_of_their_records,
    search_hits_page_with_cursors,
    bad_search_input_is_a_clear_error,
);

/// The same query finds the same records, and counts them the same, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_find_the_same_records() {
    let (sqlite, postgres) = tokio::join!(
        TestApp::spawn(Backend::Sqlite),
        TestApp::spawn(Backend::Postgres)
    );
    let record = |n: &Value| format!("{} {} {}", n["kind"], n["region"]["code"], n["title"]);
    for c in cases() {
        let mut found = Vec::new();
        for app in [&sqlite, &postgres] {
            let h = hits(
                app,
                &app.admin(),
                &c.text,
                json!({ "regions": c.regions }),
                100,
            )
            .await;
            let mut records: Vec<String> = nodes(&h).iter().map(record).collect();
            records.sort();
            found.push((h["totalCount"].clone(), records));
        }
        assert_eq!(found[0], found[1], "{}", c.text);
    }
    sqlite.stop().await;
    postgres.stop().await;
}
