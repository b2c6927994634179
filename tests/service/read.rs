//! The read API: tenancy on every query, pagination, aggregates, search,
//! and batching.

use crate::seeds::{REGIONS, seed_file};
use crate::support::{Backend, TestApp};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const KRAJ_OF: &[(&str, &str)] = &[
    ("chomutov", "CZ042"),
    ("karlovy-vary", "CZ041"),
    ("klatovy", "CZ032"),
    ("kromeriz", "CZ072"),
];

fn kraj_of(region: &str) -> &'static str {
    KRAJ_OF
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, k)| *k)
        .expect("known region")
}

/// Every `region { code }` anywhere in a response.
fn region_codes(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(code)) = o.get("region").and_then(|r| r.get("code")) {
                out.insert(code.clone());
            }
            o.values().for_each(|x| region_codes(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| region_codes(x, out)),
        _ => {}
    }
}

/// One query touching every region-bearing result of the contract.
const EVERYTHING: &str = r#"{
  regions { code }
  kraje { code regions { code } }
  plans(first: 100, filter: { includeArchived: true }) { totalCount nodes { region { code } parent { region { code } }
    priorities { plan { region { code } } measures { plan { region { code } } subMeasures { plan { region { code } } } } } } }
  measures(first: 100) { totalCount nodes { plan { region { code } } } }
  providers(first: 100) { totalCount nodes { region { code } services { region { code } } } }
  services(first: 100) { totalCount nodes { region { code } provider { region { code } } } }
  capacitySummary(groupBy: [REGION, UNIT]) { region { code } total }
  evaluationSummary(groupBy: [REGION, STATUS]) { region { code } count }
  search(text: "sociálních", first: 100) { region { code } }
  searchHits(text: "služeb", first: 100, filter: { includeArchived: true }) { nodes { region { code } } }
}"#;

/// Named regions a token of each kind may read.
/// A token to test: its name, role, `regions`, `kraje`, and the regions it may read.
type Case = (
    String,
    Role,
    Vec<&'static str>,
    Vec<&'static str>,
    BTreeSet<String>,
);

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for r in REGIONS {
        let only: BTreeSet<String> = [r.to_string()].into();
        for role in [Role::Viewer, Role::Editor, Role::Admin] {
            cases.push((
                format!("{role} of {r}"),
                role,
                vec![*r],
                vec![],
                only.clone(),
            ));
        }
        cases.push((
            format!("kraj reader of {}", kraj_of(r)),
            Role::Viewer,
            vec![],
            vec![kraj_of(r)],
            only,
        ));
    }
    cases.push((
        "no regions".into(),
        Role::Admin,
        vec![],
        vec![],
        BTreeSet::new(),
    ));
    cases
}

async fn every_result_belongs_to_a_readable_region(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (name, role, regions, kraje, readable) in cases() {
        let token = app.token(role, &regions, &kraje);
        let data = app.query(&token, EVERYTHING, json!({})).await;
        let mut seen = BTreeSet::new();
        region_codes(&data, &mut seen);
        {
            let list = "regions";
            data[list].as_array().expect("list").iter().for_each(|r| {
                seen.insert(r["code"].as_str().expect("code").to_owned());
            });
        }
        assert_eq!(
            seen, readable,
            "{name}: every object belongs to a readable region, and every readable region shows"
        );
        for r in REGIONS.iter().filter(|r| !readable.contains(**r)) {
            for (q, vars) in [
                (
                    "query($r: [String!]) { plans(filter: { regions: $r }) { totalCount } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { measures(filter: { regions: $r }) { totalCount } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { providers(filter: { regions: $r }) { totalCount } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { services(filter: { regions: $r }) { totalCount } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { capacitySummary(filter: { regions: $r }, groupBy: [UNIT]) { total } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { evaluationSummary(filter: { regions: $r }, groupBy: [STATUS]) { count } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($r: [String!]) { search(text: \"plán\", regions: $r) { title } }",
                    json!({ "r": [r] }),
                ),
                (
                    "query($k: [String!]) { plans(filter: { kraje: $k }) { totalCount } }",
                    json!({ "k": [kraj_of(r)] }),
                ),
                (
                    "query($r: String!) { region(code: $r) { code } }",
                    json!({ "r": r }),
                ),
            ] {
                assert_eq!(
                    app.error_code(&token, q, vars.clone()).await,
                    "FORBIDDEN",
                    "{name}: {q} {vars}"
                );
            }
        }
    }
    app.stop().await;
}

async fn records_of_unreadable_regions_are_null_by_id(b: Backend) {
    let app = TestApp::spawn(b).await;
    let all = app
        .query(
            &app.admin(),
            "{ plans(first: 100) { nodes { id region { code } priorities { measures { id } } } } }",
            json!({}),
        )
        .await;
    let klatovy = app.token(Role::Viewer, &["klatovy"], &[]);
    for plan in all["plans"]["nodes"].as_array().expect("plans") {
        let own = plan["region"]["code"] == "klatovy";
        let got = app
            .query(
                &klatovy,
                "query($id: ID!) { plan(id: $id) { id } }",
                json!({ "id": plan["id"] }),
            )
            .await;
        assert_eq!(got["plan"].is_null(), !own, "{plan}");
        if let Some(m) = plan["priorities"][0]["measures"][0]["id"].as_str() {
            let got = app
                .query(
                    &klatovy,
                    "query($id: ID!) { measure(id: $id) { id } }",
                    json!({ "id": m }),
                )
                .await;
            assert_eq!(got["measure"].is_null(), !own);
        }
    }
    let missing = app
        .query(
            &klatovy,
            "{ plan(id: \"999999\") { id } measure(id: \"999999\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        missing,
        json!({ "plan": null, "measure": null }),
        "an unknown id looks like an unreadable one"
    );
    app.stop().await;
}

async fn filters_name_regions_by_the_contract(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.token(Role::Viewer, &["klatovy", "kromeriz"], &[]);
    let q = "query($r: [String!], $k: [String!]) { plans(filter: { regions: $r, kraje: $k }) { totalCount nodes { region { code } } } }";
    for bad in [
        json!({ "r": ["*"] }),
        json!({ "r": ["Klatovy"] }),
        json!({ "r": ["no-such"] }),
        json!({ "k": ["CZ999"] }),
        json!({ "k": ["cz032"] }),
    ] {
        assert_eq!(
            app.error_code(&token, q, bad.clone()).await,
            "BAD_USER_INPUT",
            "{bad}"
        );
    }
    assert_eq!(
        app.query(&token, q, json!({ "r": [] })).await["plans"]["totalCount"],
        0,
        "an empty list matches nothing"
    );
    let both = app
        .query(&token, q, json!({ "r": ["klatovy"], "k": ["CZ072"] }))
        .await;
    let mut seen = BTreeSet::new();
    region_codes(&both, &mut seen);
    assert_eq!(
        seen,
        ["klatovy".to_string(), "kromeriz".to_string()].into(),
        "regions OR kraje"
    );
    app.stop().await;
}

/// Walks a connection page by page; returns the ids in order.
async fn walk(app: &TestApp, token: &str, field: &str, first: usize) -> (Vec<String>, i64) {
    let q = format!(
        "query($after: String) {{ {field}(first: {first}, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}"
    );
    let (mut ids, mut after) = (Vec::new(), Value::Null);
    loop {
        let data = app.query(token, &q, json!({ "after": after })).await;
        let conn = &data[field];
        let total = conn["totalCount"].as_i64().expect("total");
        let page: Vec<String> = conn["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id").to_owned())
            .collect();
        assert!(page.len() <= first);
        ids.extend(page);
        if !conn["pageInfo"]["hasNextPage"].as_bool().expect("bool") {
            break (ids, total);
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

async fn cursors_walk_every_record_exactly_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    for (field, first) in [
        ("plans", 3),
        ("measures", 7),
        ("providers", 5),
        ("services", 10),
    ] {
        let (ids, total) = walk(&app, &admin, field, first).await;
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{field}: no record twice");
        assert_eq!(ids.len() as i64, total, "{field}: every record once");
        assert!(total > first as i64, "{field}: more than one page");
    }
    assert_eq!(
        app.error_code(&admin, "{ plans(first: 101) { totalCount } }", json!({}))
            .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(&admin, "{ plans(first: -1) { totalCount } }", json!({}))
            .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(
            &admin,
            "{ plans(after: \"garbage\") { totalCount } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    let provider_cursor = app
        .query(
            &admin,
            "{ providers(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await["providers"]["pageInfo"]["endCursor"]
        .clone();
    assert_eq!(
        app.error_code(
            &admin,
            "query($a: String) { plans(after: $a) { totalCount } }",
            json!({ "a": provider_cursor })
        )
        .await,
        "BAD_USER_INPUT"
    );
    app.stop().await;
}

async fn capacity_summary_matches_the_seed_files(b: Backend) {
    let app = TestApp::spawn(b).await;
    // (region, service type, unit) -> (total, the services summed)
    type Sums = BTreeMap<(String, String, String), (i64, BTreeSet<(usize, usize)>)>;
    let mut expected: Sums = BTreeMap::new();
    for region in REGIONS {
        for (pi, p) in seed_file(region).providers.iter().enumerate() {
            for (si, s) in p.services.iter().enumerate() {
                for c in &s.capacities {
                    let e = expected
                        .entry((
                            region.to_string(),
                            s.service_type.to_string(),
                            c.unit.to_string(),
                        ))
                        .or_default();
                    e.0 += i64::from(c.value);
                    e.1.insert((pi, si));
                }
            }
        }
    }
    let data = app
        .query(&app.token(Role::Viewer, &["*"], &[]), "{ capacitySummary(groupBy: [REGION, SERVICE_TYPE, UNIT]) { region { code } serviceType unit total services } }", json!({}))
        .await;
    let got: BTreeMap<(String, String, String), (i64, usize)> = data["capacitySummary"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let key = (
                g["region"]["code"].as_str().expect("r").to_owned(),
                g["serviceType"].as_str().expect("t").to_owned(),
                g["unit"].as_str().expect("u").to_owned(),
            );
            (
                key,
                (
                    g["total"].as_i64().expect("total"),
                    g["services"].as_u64().expect("n") as usize,
                ),
            )
        })
        .collect();
    let expected: BTreeMap<_, _> = expected
        .into_iter()
        .map(|(k, (total, services))| (k, (total, services.len())))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        got[&("klatovy".into(), "DOMOVY_PRO_SENIORY".into(), "BEDS".into())],
        (191, 2),
        "164 + 27 beds"
    );

    // Beds and clients are never added: UNIT is always a dimension.
    let units = app
        .query(
            &app.admin(),
            "{ capacitySummary(groupBy: []) { unit total } }",
            json!({}),
        )
        .await;
    let units: Vec<&str> = units["capacitySummary"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["unit"].as_str().expect("unit"))
        .collect();
    assert_eq!(
        units.len(),
        units.iter().collect::<BTreeSet<_>>().len(),
        "one group per unit: {units:?}"
    );
    app.stop().await;
}

/// Per region and status, the measures (sub-measures too) of the seeds whose
/// evaluation of `year`, or latest without one, has that status.
fn seeded_statuses(year: Option<i32>) -> BTreeMap<(String, String), i64> {
    fn count(
        m: &kpss_domain::seed::MeasureData,
        region: &str,
        year: Option<i32>,
        out: &mut BTreeMap<(String, String), i64>,
    ) {
        let counted = match year {
            Some(y) => m.evaluations.iter().find(|e| e.year == y),
            None => m.evaluations.iter().max_by_key(|e| e.year),
        };
        if let Some(e) = counted {
            *out.entry((region.to_owned(), e.status.to_string()))
                .or_default() += 1;
        }
        m.sub_measures
            .iter()
            .for_each(|s| count(s, region, year, out));
    }
    let mut out = BTreeMap::new();
    for region in REGIONS {
        for p in seed_file(region).plans {
            for pr in p.priorities {
                pr.measures
                    .iter()
                    .for_each(|m| count(m, region, year, &mut out));
            }
        }
    }
    out
}

async fn evaluation_summary_counts_latest_statuses(b: Backend) {
    let app = TestApp::spawn(b).await;
    const SUMMARY: &str = "query($y: Int) { evaluationSummary(filter: { year: $y }, groupBy: [REGION, STATUS]) { region { code } status count } }";
    let summary = |year: Option<i32>| {
        let app = &app;
        async move {
            let data = app.query(&app.admin(), SUMMARY, json!({ "y": year })).await;
            data["evaluationSummary"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| {
                    (
                        (
                            g["region"]["code"].as_str().expect("r").to_owned(),
                            g["status"].as_str().expect("s").to_owned(),
                        ),
                        g["count"].as_i64().expect("n"),
                    )
                })
                .collect::<BTreeMap<(String, String), i64>>()
        }
    };
    let got = summary(None).await;
    assert_eq!(got, seeded_statuses(None));
    // A year counts that year's evaluations, not the latest ones.
    let year = 2008;
    let of_year = seeded_statuses(Some(year));
    assert!(!of_year.is_empty() && of_year != got, "{of_year:?}");
    assert_eq!(summary(Some(year)).await, of_year);
    // A later evaluation of a measure counts instead of its earlier one.
    let admin = app.admin();
    let region = got
        .keys()
        .next()
        .expect("a region with evaluations")
        .0
        .clone();
    let listed = app
        .query(
            &admin,
            "query($r: [String!]) { measures(filter: { regions: $r }, first: 100) { nodes { id evaluations { year status } } } }",
            json!({ "r": [region] }),
        )
        .await;
    let (id, earlier) = listed["measures"]["nodes"]
        .as_array()
        .expect("measures")
        .iter()
        .find_map(|m| {
            let e = m["evaluations"].as_array()?.first()?;
            Some((m["id"].clone(), e["status"].as_str()?.to_owned()))
        })
        .expect("a measure with an evaluation");
    let later = if earlier == "NOT_FULFILLED" {
        "FULFILLED"
    } else {
        "NOT_FULFILLED"
    };
    app.query(
        &admin,
        "mutation($id: ID!, $s: EvaluationStatus!) { recordEvaluation(measureId: $id, input: { year: 2030, status: $s }) { id } }",
        json!({ "id": id, "s": later }),
    )
    .await;
    let mut moved = got.clone();
    let key = |status: &str| (region.clone(), status.to_owned());
    *moved.get_mut(&key(&earlier)).expect("the earlier status") -= 1;
    moved.retain(|_, n| *n > 0);
    *moved.entry(key(later)).or_default() += 1;
    assert_eq!(summary(None).await, moved);
    assert_eq!(summary(Some(year)).await, of_year);
    // The measures' status filter takes the same latest evaluation.
    for status in [earlier.as_str(), later] {
        let found = app
            .query(
                &admin,
                "query($r: [String!], $s: EvaluationStatus) { measures(filter: { regions: $r, status: $s }) { totalCount } }",
                json!({ "r": [region], "s": status }),
            )
            .await;
        let counted = moved.get(&key(status)).copied().unwrap_or(0);
        assert_eq!(found["measures"]["totalCount"], counted, "{status}");
    }
    app.stop().await;
}

async fn search_ignores_case_and_diacritics(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let hits = app
        .query(
            &admin,
            "{ search(text: \"pecovatelska\", first: 50) { kind title snippet region { code } } }",
            json!({}),
        )
        .await;
    let hits = hits["search"].as_array().expect("hits");
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(
            // Every inflected form: pečovatelská, pečovatelské, pečovatelskou, ...
            |h| kpss_domain::text::fold(h["snippet"].as_str().expect("s")).contains("pecovatelsk")
        ),
        "{hits:?}"
    );
    let hits = app
        .query(
            &admin,
            "{ search(text: \"KROMERIZ\", first: 50) { kind title region { code } } }",
            json!({}),
        )
        .await;
    let hits = hits["search"].as_array().expect("hits");
    assert!(hits.iter().any(|h| h["kind"] == "PLAN" && h["title"].as_str().expect("t").contains("Kroměřížsku")), "{hits:?}");
    let clementas = app
        .query(
            &admin,
            "{ search(text: \"clementas\") { kind title snippet } }",
            json!({}),
        )
        .await;
    let clementas = clementas["search"].as_array().expect("hits");
    assert_eq!(
        (&clementas[0]["kind"], &clementas[0]["title"]),
        (&json!("PROVIDER"), &json!("Clementas Janovice, s.r.o.")),
        "a title hit ranks first"
    );
    assert!(
        clementas[1..]
            .iter()
            .all(|h| h["snippet"].as_str().expect("s").contains("Clementas")),
        "{clementas:?}"
    );
    // A reader of Klatovy finds nothing of Kroměříž.
    let klatovy = app.token(Role::Viewer, &["klatovy"], &[]);
    let hits = app
        .query(
            &klatovy,
            "{ search(text: \"KROMERIZ\", first: 50) { region { code } } }",
            json!({}),
        )
        .await;
    assert!(
        hits["search"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["region"]["code"] == "klatovy")
    );
    // The same folding in the measure and provider filters.
    let m = app.query(&admin, "{ measures(filter: { text: \"BEZBARIEROVE\" }) { nodes { title } } providers(filter: { name: \"tichy SVET\" }) { nodes { name } } }", json!({})).await;
    assert!(
        !m["measures"]["nodes"].as_array().expect("m").is_empty(),
        "{m}"
    );
    assert_eq!(
        m["providers"]["nodes"],
        json!([{ "name": "Tichý svět, o. p. s." }])
    );
    app.stop().await;
}

/// The nested tree below costs one statement per level (15 levels:
/// the page and its count, then each relation), however many plans and
/// measures the caller sees; a query per parent would cost hundreds.
async fn nested_queries_are_batched(b: Backend) {
    // Without the response cache, so that the same question runs twice.
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    const TREE: &str = "{ plans(first: 100) { nodes { title region { code kraj { code } } parent { title } projects { title }
        priorities { code measures { code latestEvaluation { status } evaluations { year } plannedCapacities { value }
          subMeasures { code latestEvaluation { status } activities { code } } activities { code subActivities { code } } } } } } }";
    let mut counts = HashMap::new();
    for (name, token) in [
        ("one region", app.token(Role::Viewer, &["chomutov"], &[])),
        ("all regions", app.admin()),
        ("all regions, busy machine", app.admin()),
    ] {
        // Both cores spinning: no timing may change how keys are batched.
        let busy = Arc::new(AtomicBool::new(name.ends_with("busy machine")));
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let busy = busy.clone();
                std::thread::spawn(move || {
                    while busy.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        let before = app.db.statements();
        let data = app.query(&token, TREE, json!({})).await;
        let measures = data.to_string().matches("\"latestEvaluation\"").count();
        busy.store(false, Ordering::Relaxed);
        spinners
            .into_iter()
            .for_each(|s| s.join().expect("spinner"));
        counts.insert(name, (app.db.statements() - before, measures));
        println!(
            "{name}: {} statements for {measures} measures and sub-measures",
            app.db.statements() - before
        );
    }
    let (one, all) = (counts["one region"], counts["all regions"]);
    assert!(
        all.1 >= 150 && all.1 > one.1,
        "more measures with all regions: {counts:?}"
    );
    // One statement per relation and level, whatever the number of parents
    // and however busy the machine: the plan page (no count: `totalCount`
    // is not asked for; on PostgreSQL also the scope of the request's
    // transaction), then
    // region + projects + priorities, kraj + measures, evaluations +
    // capacities + sub-measures + activities, and the sub-measures'
    // evaluations + activities. All regions add the plans' parents and the
    // activities' sub-activities, which Chomutov's plans do not have.
    let around = match b {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    assert_eq!(one.0, around + 3 + 2 + 4 + 2, "one region: {counts:?}");
    assert_eq!(all.0, around + 4 + 2 + 4 + 3, "all regions: {counts:?}");
    assert_eq!(counts["all regions, busy machine"], all, "{counts:?}");
    app.stop().await;
}

/// A list counts its records only when `totalCount` is asked for: one
/// statement more, and the count is the list's.
async fn a_total_is_counted_only_when_asked(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    let admin = app.admin();
    let list = |total: &str| {
        format!(
            "{{ measures(first: 100, filter: {{ regions: [\"klatovy\"] }}) {{ {total} pageInfo {{ hasNextPage }} nodes {{ id }} }} }}"
        )
    };
    let mut statements = vec![];
    let mut data = Value::Null;
    for query in [list(""), list("totalCount")] {
        let before = app.db.statements();
        data = app.query(&admin, &query, json!({})).await;
        statements.push(app.db.statements() - before);
    }
    assert_eq!(statements[1], statements[0] + 1, "{statements:?}");
    let m = &data["measures"];
    assert_eq!(m["pageInfo"]["hasNextPage"], false, "{m}");
    let nodes = m["nodes"].as_array().expect("nodes").len();
    assert!(nodes > 0);
    assert_eq!(m["totalCount"], nodes, "{m}");
    app.stop().await;
}

/// A filter's regions cost no statement of their own on PostgreSQL: the
/// statement that opens the request's transaction and sets its scope reads
/// them. Another field of the same request finds the scope set, also when
/// the filter named no region.
async fn a_filters_regions_come_with_the_scope(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    let token = app.token(Role::Viewer, &["klatovy"], &[]);
    let run = async |q: &str| {
        let before = app.db.statements();
        let data = app.query(&token, q, json!({})).await;
        (app.db.statements() - before, data)
    };
    let (filtered, klatovy) =
        run("{ measures(first: 100, filter: { regions: [\"klatovy\"] }) { nodes { id } } }").await;
    let (unfiltered, all) = run("{ measures(first: 100) { nodes { id } } }").await;
    let lookup = match b {
        Backend::Sqlite => 1,
        Backend::Postgres => 0,
    };
    assert_eq!(filtered, unfiltered + lookup);
    assert_eq!(
        klatovy, all,
        "a Klatovy viewer reads Klatovy's measures only"
    );
    assert!(
        !all["measures"]["nodes"]
            .as_array()
            .expect("nodes")
            .is_empty()
    );
    let (_, both) = run(
        "{ none: measures(filter: { regions: [] }) { nodes { id } } all: measures(first: 100) { nodes { id } } }",
    )
    .await;
    assert_eq!(both["none"]["nodes"], json!([]));
    assert_eq!(both["all"], all["measures"]);
    app.stop().await;
}

/// A list reads a long text or list only when its nodes select it (by name,
/// alias or fragment); what it shows equals the record read by id, which
/// reads everything.
async fn a_list_shows_every_field_it_selects_as_the_record_holds_it(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    let admin = app.admin();
    const FIELDS: &str = "rationale description targetGroups responsible output
        expectedCost { amountCzk per text statement } fundingSources risks plannedActivities priorityTitle";
    let by_id = |id: &Value| {
        let query = format!("query($id: ID!) {{ measure(id: $id) {{ {FIELDS} }} }}");
        let (app, admin, id) = (&app, &admin, id.clone());
        async move { app.query(admin, &query, json!({ "id": id })).await["measure"].clone() }
    };
    let region = |r: &str| format!("filter: {{ regions: [{r}] }}, first: 100");
    let full = app
        .query(
            &admin,
            &format!(
                "{{ measures({}) {{ nodes {{ id {FIELDS} }} }} }}",
                region("\"klatovy\", \"kromeriz\"")
            ),
            json!({}),
        )
        .await;
    let nodes = full["measures"]["nodes"].as_array().expect("nodes");
    for field in ["rationale", "expectedCost", "targetGroups", "risks"] {
        let stated = |v: &Value| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty());
        assert!(
            nodes.iter().any(|n| stated(&n[field])),
            "no {field} in {full}"
        );
    }
    for n in nodes {
        let mut listed = n.clone();
        listed.as_object_mut().expect("node").remove("id");
        assert_eq!(listed, by_id(&n["id"]).await, "measure {}", n["id"]);
    }
    // One text through a fragment, one under an alias, the others not asked.
    let some = app
        .query(
            &admin,
            &format!(
                "{{ measures({}) {{ nodes {{ id ...F why: rationale }} }} }} fragment F on Measure {{ targetGroups }}",
                region("\"klatovy\"")
            ),
            json!({}),
        )
        .await;
    let nodes = some["measures"]["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().any(|n| n["why"].is_string()), "{some}");
    assert!(
        nodes
            .iter()
            .any(|n| n["targetGroups"].as_array().is_some_and(|g| !g.is_empty()))
    );
    for n in nodes {
        let record = by_id(&n["id"]).await;
        assert_eq!(n["why"], record["rationale"]);
        assert_eq!(n["targetGroups"], record["targetGroups"]);
    }
    app.stop().await;
}

/// A list whose records select at most one relation resolves their fields
/// in order, and one whose records select none resolves them one record
/// after another (the cheaper ways); through a fragment it takes the
/// library's concurrent way. Both give the same answer with the same statements.
async fn lists_answer_alike_in_order_and_concurrently(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    let admin = app.admin();
    for (list, on, fields) in [
        ("regions", "Region", "code name"),
        ("regions", "Region", "code name kraj { code }"),
        (
            "measures(first: 100) { nodes",
            "Measure",
            "code title evaluations { year status }",
        ),
        (
            "plans(first: 100) { nodes",
            "Plan",
            "title priorities { code measures { code activities { code subActivities { code } } } }",
        ),
    ] {
        let close = if list.ends_with("nodes") { "}" } else { "" };
        let mut answers = vec![];
        for query in [
            format!("{{ {list} {{ {fields} }} {close} }}"),
            format!("{{ {list} {{ ...F }} {close} }} fragment F on {on} {{ {fields} }}"),
        ] {
            let before = app.db.statements();
            let data = app.query(&admin, &query, json!({})).await;
            answers.push((app.db.statements() - before, data));
        }
        let listed = answers[0].1.to_string().matches("\"code\"").count();
        assert!(listed >= 4, "{}", answers[0].1);
        assert_eq!(answers[0], answers[1], "{list}");
    }
    app.stop().await;
}

/// A region's plans and providers, read for every region at once, are the
/// ones the lists give when filtered to the region.
async fn every_regions_plans_and_providers_are_its_own(b: Backend) {
    let app = TestApp::spawn_with(b, |c, _| c.response_cache_mb = 0).await;
    let admin = app.admin();
    let ids = |v: &Value| {
        let mut ids: Vec<String> = v
            .as_array()
            .expect("a list")
            .iter()
            .map(|n| n["id"].as_str().expect("an id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let regions = app
        .query(
            &admin,
            "{ regions { code plans { id } providers { id } } }",
            json!({}),
        )
        .await;
    let regions = regions["regions"].as_array().expect("regions").clone();
    assert!(regions.len() >= 4);
    let mut held = 0;
    for r in &regions {
        let listed = app
            .query(
                &admin,
                "query($r: [String!]) { plans(first: 100, filter: { regions: $r }) { nodes { id } }
                  providers(first: 100, filter: { regions: $r }) { nodes { id } } }",
                json!({ "r": [r["code"]] }),
            )
            .await;
        for field in ["plans", "providers"] {
            assert_eq!(
                ids(&r[field]),
                ids(&listed[field]["nodes"]),
                "{} {field}",
                r["code"]
            );
            held += ids(&r[field]).len();
        }
    }
    assert!(held > regions.len(), "the seeds hold plans and providers");
    app.stop().await;
}

on_both_databases!(
    every_regions_plans_and_providers_are_its_own,
    lists_answer_alike_in_order_and_concurrently,
    a_list_shows_every_field_it_selects_as_the_record_holds_it,
    a_total_is_counted_only_when_asked,
    a_filters_regions_come_with_the_scope,
    every_result_belongs_to_a_readable_region,
    records_of_unreadable_regions_are_null_by_id,
    filters_name_regions_by_the_contract,
    cursors_walk_every_record_exactly_once,
    capacity_summary_matches_the_seed_files,
    evaluation_summary_counts_latest_statuses,
    search_ignores_case_and_diacritics,
    nested_queries_are_batched,
);

/// Providers are listed in Czech order of their names, across pages
/// ("Charita Sušice" after "HEWER", "Člověk v tísni" after "Clementas").
async fn providers_come_in_czech_order_across_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let q = "query($after: String) { providers(first: 4, after: $after) { pageInfo { hasNextPage endCursor } nodes { name } } }";
    let (mut names, mut after) = (Vec::new(), Value::Null);
    loop {
        let data = app.query(&app.admin(), q, json!({ "after": after })).await;
        names.extend(
            data["providers"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["name"].as_str().expect("name").to_owned()),
        );
        if data["providers"]["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = data["providers"]["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| kpss_domain::collation::sort_key(n));
    assert_eq!(names, sorted);
    let at = |n: &str| {
        names
            .iter()
            .position(|x| x == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert!(at("HEWER, z.s.") < at("Charita Sušice") && at("Charita Sušice") < at("Ledovec, z.s."));
    assert!(at("Clementas Janovice, s.r.o.") < at("Člověk v tísni, o.p.s."));
    assert_eq!(names.len(), 32, "every provider once");

    // Names whose keys a linguistic database collation would reorder
    // (spaces, punctuation, case): the database must keep the Rust order.
    let editor = app.token(Role::Editor, &["chomutov"], &[]);
    for name in [
        "Ab", "A b", "A-c", "AB", "a c", "Á b", "Ch a", "C h", "ch", "H", "Z", "1 A",
    ] {
        app.query(&editor, "mutation($n: String!) { createProvider(input: { region: \"chomutov\", name: $n }) { id } }", json!({ "n": name })).await;
    }
    let listed = app
        .query(
            &editor,
            "{ providers(first: 100, filter: { regions: [\"chomutov\"] }) { nodes { name } } }",
            json!({}),
        )
        .await;
    let listed: Vec<String> = listed["providers"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["name"].as_str().expect("name").to_owned())
        .collect();
    let mut expected = listed.clone();
    expected.sort_by_key(|n| kpss_domain::collation::sort_key(n));
    assert_eq!(listed, expected);
    app.stop().await;
}

on_both_databases!(providers_come_in_czech_order_across_pages);
