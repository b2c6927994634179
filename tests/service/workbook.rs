//! A plan as a workbook: exported as XLSX, brought back as XLSX or ODS
//! (in base64, or uploaded in a multipart request), with the same dry run,
//! apply and problems as a YAML file, each problem at its cell.

use crate::seeds::REGIONS;
use crate::support::{Backend, TestApp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::io::{Cursor, Read, Write};

const EXPORT: &str = "query($id: ID!, $f: PlanFileFormat!) { planFile(id: $id, format: $f) }";
const IMPORT: &str = r#"mutation($r: String!, $f: PlanFileFormat!, $c: String, $dry: Boolean!, $v: Int) {
  importPlan(region: $r, format: $f, content: $c, dryRun: $dry, expectedVersion: $v) {
    applied version plan { id title }
    changes { kind code action fields { name old new } } } }"#;
const UPLOAD: &str = r#"mutation($r: String!, $file: Upload, $dry: Boolean!) {
  importPlan(region: $r, format: XLSX, file: $file, dryRun: $dry) { applied changes { action } } }"#;

/// The sheets of an exported workbook, as its parts number them.
const PLAN: usize = 2;
const PRIORITIES: usize = 4;
const MEASURES: usize = 5;
const EVALUATIONS: usize = 7;

async fn plans(app: &TestApp, region: &str) -> Vec<Value> {
    let q = r#"query($r: [String!]) { plans(filter: { regions: $r }) { nodes { id title } } }"#;
    app.query(&app.admin(), q, json!({ "r": [region] })).await["plans"]["nodes"]
        .as_array()
        .expect("plans")
        .clone()
}

async fn workbook(app: &TestApp, id: &Value) -> Vec<u8> {
    let data = app
        .query(&app.admin(), EXPORT, json!({ "id": id, "f": "XLSX" }))
        .await;
    BASE64
        .decode(data["planFile"].as_str().expect("base64"))
        .expect("base64")
}

/// An import of a workbook in base64: the whole answer.
async fn import(
    app: &TestApp,
    token: &str,
    region: &str,
    format: &str,
    bytes: &[u8],
    dry: bool,
    v: Option<i64>,
) -> Value {
    let vars = json!({ "r": region, "f": format, "c": BASE64.encode(bytes), "dry": dry, "v": v });
    app.post(Some(&format!("Bearer {token}")), IMPORT, vars)
        .await
        .1
}

fn changed(import: &Value) -> Vec<Value> {
    import["data"]["importPlan"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{import}"))
        .iter()
        .filter(|c| c["action"] != "UNCHANGED")
        .cloned()
        .collect()
}

/// The locations of a refused import's problems (and that it was refused so).
fn locations(answer: &Value) -> Vec<String> {
    let e = &answer["errors"][0];
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    e["extensions"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|p| {
            let message = p["message"].as_str().expect("message");
            assert!(!message.is_ascii(), "a message in Czech: {message}");
            p["location"].as_str().expect("location").to_owned()
        })
        .collect()
}

/// The workbook with one cell of sheet `sheet` (its part's number) replaced:
/// by a text, or by a formula with its cached value.
fn set_cell(xlsx: &[u8], sheet: usize, cell: &str, content: Content) -> Vec<u8> {
    let part = format!("xl/worksheets/sheet{sheet}.xml");
    rezip(xlsx, |name, data| {
        if name != part {
            return data;
        }
        let xml = String::from_utf8(data).expect("XML");
        let new = match content {
            Content::Text(t) => format!(
                r#"<c r="{cell}" t="inlineStr"><is><t>{}</t></is></c>"#,
                t.replace('&', "&amp;").replace('<', "&lt;")
            ),
            Content::Formula(f, v) => format!(r#"<c r="{cell}"><f>{f}</f><v>{v}</v></c>"#),
        };
        let xml = match xml.find(&format!(r#"<c r="{cell}""#)) {
            Some(start) => {
                let open = start + xml[start..].find('>').expect("tag");
                let end = if xml.as_bytes()[open - 1] == b'/' {
                    open + 1
                } else {
                    open + xml[open..].find("</c>").expect("cell end") + 4
                };
                format!("{}{new}{}", &xml[..start], &xml[end..])
            }
            None => {
                let row: String = cell.chars().filter(char::is_ascii_digit).collect();
                let start = xml.find(&format!(r#"<row r="{row}""#)).expect("row");
                let open = start + xml[start..].find('>').expect("row tag") + 1;
                format!("{}{new}{}", &xml[..open], &xml[open..])
            }
        };
        xml.into_bytes()
    })
}

#[derive(Clone, Copy)]
enum Content<'a> {
    Text(&'a str),
    Formula(&'a str, &'a str),
}

/// A zip with each part passed through `f`.
fn rezip(bytes: &[u8], f: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).expect("part");
        let name = part.name().expect("name").into_owned();
        let mut data = Vec::new();
        part.read_to_end(&mut data).expect("read");
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start");
        out.write_all(&f(&name, data)).expect("write");
    }
    out.finish().expect("zip").into_inner()
}

/// A small ODS (an OpenDocument spreadsheet: a zip with its `mimetype`,
/// `content.xml` and manifest): each sheet's rows of cells, whole numbers as numbers.
fn ods(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>"#,
    );
    for (name, rows) in sheets {
        xml.push_str(&format!(r#"<table:table table:name="{name}">"#));
        for row in *rows {
            xml.push_str("<table:table-row>");
            for cell in *row {
                if cell.is_empty() {
                    xml.push_str("<table:table-cell/>");
                } else if cell.parse::<i64>().is_ok() {
                    xml.push_str(&format!(
                        r#"<table:table-cell office:value-type="float" office:value="{cell}"><text:p>{cell}</text:p></table:table-cell>"#
                    ));
                } else {
                    xml.push_str(&format!(
                        r#"<table:table-cell office:value-type="string"><text:p>{cell}</text:p></table:table-cell>"#
                    ));
                }
            }
            xml.push_str("</table:table-row>");
        }
        xml.push_str("</table:table>");
    }
    xml.push_str("</office:spreadsheet></office:body></office:document-content>");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file("mimetype", stored).expect("start");
    out.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .expect("write");
    out.start_file("content.xml", zip::write::SimpleFileOptions::default())
        .expect("start");
    out.write_all(xml.as_bytes()).expect("write");
    out.start_file(
        "META-INF/manifest.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("start");
    out.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
    )
    .expect("write");
    out.finish().expect("zip").into_inner()
}

/// The sheet Plán of a new plan of Klatovy for 2026.
const PLAN_2026: (&str, &[&[&str]]) = (
    "Plán",
    &[
        &["Území", "Název", "Druh", "Od roku", "Do roku"],
        &[
            "klatovy",
            "Akční plán na rok 2026",
            "ACTION_PLAN",
            "2026",
            "2026",
        ],
    ],
);

/// A new plan of Klatovy for 2026: one priority, one measure, one evaluation.
fn new_plan_ods(priority_codes: [&str; 2], status: &str) -> Vec<u8> {
    let [first, second] = priority_codes;
    ods(&[
        PLAN_2026,
        (
            "Priority",
            &[
                &["Skupina", "Kód", "Název"],
                &["", first, "Dostupné služby"],
                &["", second, "Informovanost"],
            ],
        ),
        (
            "Opatření",
            &[
                &[
                    "Skupina",
                    "Priorita",
                    "Nadřazené opatření",
                    "Kód",
                    "Název",
                    "Cílové skupiny",
                ],
                &["", first, "", "1.1", "Terénní služby v obcích", "senioři"],
            ],
        ),
        (
            "Hodnocení",
            &[
                &["Skupina", "Priorita", "Opatření", "Rok", "Stav", "Komentář"],
                &["", first, "1.1", "2026", status, "začíná"],
            ],
        ),
    ])
}

async fn every_plan_comes_back_unchanged(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let mut count = 0;
    for region in REGIONS {
        for p in plans(&app, region).await {
            let bytes = workbook(&app, &p["id"]).await;
            let dry = import(&app, &admin, region, "XLSX", &bytes, true, None).await;
            assert_eq!(dry["data"]["importPlan"]["plan"]["id"], p["id"], "{dry}");
            assert_eq!(
                changed(&dry),
                Vec::<Value>::new(),
                "{region} {}",
                p["title"]
            );
            count += 1;
        }
    }
    assert_eq!(count, 8, "every seeded plan");
    app.stop().await;
}

/// Kroměříž's plan with three cells changed: a priority's title, a
/// measure's term, an evaluation's comment.
async fn three_cells_are_listed_then_applied_and_audited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let plan = &plans(&app, "kromeriz").await[0];
    let yaml = app
        .query(&admin, EXPORT, json!({ "id": plan["id"], "f": "YAML" }))
        .await;
    let tree: Value =
        serde_norway::from_str(yaml["planFile"].as_str().expect("YAML")).expect("YAML");
    let pr = &tree["plans"][0]["priorities"][0];
    let m = &pr["measures"][0];
    let code = m["code"].as_str().expect("code");
    let year = m["evaluations"][0]["year"].as_i64().expect("year");

    let mut bytes = workbook(&app, &plan["id"]).await;
    bytes = set_cell(
        &bytes,
        PRIORITIES,
        "C2",
        Content::Text("Informovanost o službách"),
    );
    bytes = set_cell(&bytes, MEASURES, "I2", Content::Text("Prosinec 2024"));
    bytes = set_cell(
        &bytes,
        EVALUATIONS,
        "F2",
        Content::Text("Vyhodnoceno skupinou."),
    );

    let audit_before = app.audit_total().await;
    let dry = import(&app, &admin, "kromeriz", "XLSX", &bytes, true, None).await;
    assert_eq!(
        changed(&dry),
        [
            json!({ "kind": "Priority", "code": pr["code"], "action": "CHANGED", "fields": [
                { "name": "title", "old": pr["title"], "new": "Informovanost o službách" }] }),
            json!({ "kind": "Measure", "code": code, "action": "CHANGED", "fields": [
                { "name": "term", "old": m["term"], "new": "Prosinec 2024" }] }),
            json!({ "kind": "Evaluation", "code": format!("{code}/{year}"), "action": "CHANGED",
                "fields": [{ "name": "comment", "old": m["evaluations"][0]["comment"],
                "new": "Vyhodnoceno skupinou." }] }),
        ]
    );
    assert_eq!(
        app.audit_total().await,
        audit_before,
        "a dry run writes nothing"
    );

    let version = dry["data"]["importPlan"]["version"].as_i64();
    let applied = import(&app, &admin, "kromeriz", "XLSX", &bytes, false, version).await;
    assert_eq!(applied["data"]["importPlan"]["applied"], true, "{applied}");
    let q = r#"query($id: ID!) { plan(id: $id) { priorities { title measures { term evaluations { comment } } } } }"#;
    let served = app.query(&admin, q, json!({ "id": plan["id"] })).await;
    let pr = &served["plan"]["priorities"][0];
    assert_eq!(pr["title"], "Informovanost o službách");
    assert_eq!(pr["measures"][0]["term"], "Prosinec 2024");
    assert_eq!(
        pr["measures"][0]["evaluations"][0]["comment"],
        "Vyhodnoceno skupinou."
    );
    assert_eq!(
        app.audit_total().await,
        audit_before + 3,
        "one entry per record"
    );
    let q = r#"{ auditLog(first: 3) { nodes { entity actor } } }"#;
    let log = app.query(&admin, q, json!({})).await;
    let entities: Vec<&str> = log["auditLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["entity"].as_str().expect("entity"))
        .collect();
    let mut entities = entities;
    entities.sort_unstable();
    assert_eq!(entities, ["Evaluation", "Measure", "Priority"], "{log}");
    app.stop().await;
}

/// An ODS file creates a new plan with its records; a missing sheet
/// (Projekty, Kapacity, Aktivity) leaves nothing out.
async fn an_ods_file_creates_a_plan(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    let file = new_plan_ods(["1", "2"], "IN_PROGRESS");
    let dry = import(&app, &admin, "klatovy", "ODS", &file, true, None).await;
    let created: Vec<(String, String)> = changed(&dry)
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().expect("kind").to_owned(),
                c["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let created: Vec<(&str, &str)> = created
        .iter()
        .map(|(k, c)| (k.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        created,
        [
            ("Plan", ""),
            ("Priority", "1"),
            ("Measure", "1.1"),
            ("Evaluation", "1.1/2026"),
            ("Priority", "2"),
        ]
    );
    let applied = import(&app, &admin, "klatovy", "ODS", &file, false, None).await;
    let id = &applied["data"]["importPlan"]["plan"]["id"];
    let q = r#"query($id: ID!) { plan(id: $id) { title priorities { code measures { targetGroups evaluations { year status comment } } } } }"#;
    let served = app.query(&admin, q, json!({ "id": id })).await;
    assert_eq!(served["plan"]["title"], "Akční plán na rok 2026");
    assert_eq!(
        served["plan"]["priorities"][0]["measures"][0],
        json!({ "targetGroups": ["senioři"], "evaluations": [
            { "year": 2026, "status": "IN_PROGRESS", "comment": "začíná" }] })
    );
    // The same file again: nothing to change.
    let again = import(&app, &admin, "klatovy", "ODS", &file, true, None).await;
    assert_eq!(changed(&again), Vec::<Value>::new());
    // Without the column of target groups and the sheet of evaluations, both
    // stay as they are; an empty cell clears its field.
    let measures = |groups: &'static str| -> Vec<u8> {
        ods(&[
            PLAN_2026,
            (
                "Priority",
                &[
                    &["Skupina", "Kód", "Název"],
                    &["", "1", "Dostupné služby"],
                    &["", "2", "Informovanost"],
                ],
            ),
            (
                "Opatření",
                if groups.is_empty() {
                    &[
                        &[
                            "Skupina",
                            "Priorita",
                            "Nadřazené opatření",
                            "Kód",
                            "Název",
                            "Cílové skupiny",
                        ],
                        &["", "1", "", "1.1", "Terénní služby v obcích", ""],
                    ]
                } else {
                    &[
                        &["Skupina", "Priorita", "Nadřazené opatření", "Kód", "Název"],
                        &["", "1", "", "1.1", "Terénní služby v obcích"],
                    ]
                },
            ),
        ])
    };
    let kept = import(
        &app,
        &admin,
        "klatovy",
        "ODS",
        &measures("kept"),
        true,
        None,
    )
    .await;
    assert_eq!(changed(&kept), Vec::<Value>::new(), "{kept}");
    let cleared = import(&app, &admin, "klatovy", "ODS", &measures(""), true, None).await;
    assert_eq!(
        changed(&cleared),
        [
            json!({ "kind": "Measure", "code": "1.1", "action": "CHANGED", "fields": [
            { "name": "targetGroups", "old": "[\"senioři\"]", "new": null }] })
        ]
    );
    app.stop().await;
}

/// Each bad file answers every problem at its cell (or `file`), in Czech,
/// and writes nothing; a region the caller cannot write is FORBIDDEN.
async fn a_bad_workbook_changes_nothing_and_names_its_cells(b: Backend) {
    let max = 200_000;
    let app = TestApp::spawn_with(b, |c, _| c.limits.max_import_bytes = max).await;
    let admin = app.admin();
    let plan = &plans(&app, "kromeriz").await[0];
    let good = workbook(&app, &plan["id"]).await;
    assert!(good.len() < max, "the plan's workbook is within the limit");
    // A part that unpacks to 100 times the limit (declared so in the archive).
    let bomb = {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        out.start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("start");
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..(100 * max / zeros.len() + 1) {
            out.write_all(&zeros).expect("write");
        }
        out.finish().expect("zip").into_inner()
    };
    assert!(bomb.len() < max, "{}", bomb.len());
    let cases: Vec<(&str, &str, Vec<u8>, Vec<&str>)> = vec![
        (
            "a wrong type in a cell",
            "XLSX",
            set_cell(&good, PLAN, "E2", Content::Text("loni")),
            vec!["Plán!E2"],
        ),
        (
            "a formula where a number belongs",
            "XLSX",
            set_cell(&good, PLAN, "E2", Content::Formula("2019+1", "2020")),
            vec!["Plán!E2"],
        ),
        (
            "an unknown status",
            "XLSX",
            set_cell(&good, EVALUATIONS, "E2", Content::Text("HOTOVO")),
            vec!["Hodnocení!E2"],
        ),
        (
            "a plan of another region",
            "XLSX",
            set_cell(&good, PLAN, "A2", Content::Text("klatovy")),
            vec!["Plán!A2"],
        ),
        (
            "an empty title and a period ending before it starts",
            "XLSX",
            set_cell(
                &set_cell(&good, PRIORITIES, "C3", Content::Text(" ")),
                PLAN,
                "F2",
                Content::Text("2019"),
            ),
            vec!["Plán!F2", "Priority!C3"],
        ),
        (
            "one code twice",
            "ODS",
            new_plan_ods(["1", "1"], "FULFILLED"),
            vec!["Priority!B3"],
        ),
        (
            "an unknown status in an ODS",
            "ODS",
            new_plan_ods(["1", "2"], "hotovo"),
            vec!["Hodnocení!E2"],
        ),
        (
            "a file over the size limit",
            "XLSX",
            vec![b'x'; max + 1],
            vec!["file"],
        ),
        ("a zip bomb", "XLSX", bomb, vec!["file"]),
        ("an empty file", "XLSX", vec![], vec!["file"]),
        (
            "not a workbook",
            "ODS",
            b"region: kromeriz\n".to_vec(),
            vec!["file"],
        ),
        (
            "a truncated workbook",
            "XLSX",
            good[..1000].to_vec(),
            vec!["file"],
        ),
    ];
    let before = app.audit_total().await;
    for (what, format, bytes, expected) in cases {
        let region = if format == "ODS" {
            "klatovy"
        } else {
            "kromeriz"
        };
        let answer = import(&app, &admin, region, format, &bytes, false, None).await;
        assert_eq!(locations(&answer), expected, "{what}: {answer}");
    }
    assert_eq!(app.audit_total().await, before, "nothing written");

    let klatovy = app.token(Role::Editor, &["klatovy"], &[]);
    let answer = import(&app, &klatovy, "kromeriz", "XLSX", &good, true, None).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
    let answer = app
        .post(
            Some(&format!("Bearer {admin}")),
            EXPORT,
            json!({ "id": plan["id"], "f": "ODS" }),
        )
        .await
        .1;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    app.stop().await;
}

/// A multipart request's body: the operation, its map, and one file.
fn multipart(query: &str, variables: Value, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "kpss-test-boundary-7d1c";
    let operations = json!({ "query": query, "variables": variables }).to_string();
    let mut body = Vec::new();
    for (name, content) in [
        ("operations", operations.as_bytes()),
        ("map", br#"{ "0": ["variables.file"] }"#.as_slice()),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"plan.xlsx\"\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, auth: Option<&str>, query: &str, file: &[u8]) -> (u16, Value) {
    let vars = json!({ "r": "kromeriz", "file": null, "dry": true });
    let (content_type, body) = multipart(query, vars, file);
    let (status, _, body) = app.post_raw(auth, &content_type, body).await;
    (status, serde_json::from_slice(&body).expect("JSON"))
}

/// An upload runs the same pipeline as any request: a dry run works, a file
/// over the limit is a problem at `file` (far over it, 413), no token is 401.
async fn a_plan_is_uploaded_in_a_multipart_request(b: Backend) {
    let max = 200_000;
    let app = TestApp::spawn_with(b, |c, _| c.limits.max_import_bytes = max).await;
    let admin = format!("Bearer {}", app.admin());
    let plan = &plans(&app, "kromeriz").await[0];
    let bytes = workbook(&app, &plan["id"]).await;

    let (status, answer) = upload(&app, Some(&admin), UPLOAD, &bytes).await;
    assert_eq!(status, 200, "{answer}");
    let actions = answer["data"]["importPlan"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(!actions.is_empty() && actions.iter().all(|c| c["action"] == "UNCHANGED"));

    let (_, answer) = upload(&app, Some(&admin), UPLOAD, &vec![b'x'; max + 1]).await;
    assert_eq!(locations(&answer), ["file"], "{answer}");
    let far_over = vec![b'x'; max + app.config.limits.max_body_bytes + 1];
    let (status, answer) = upload(&app, Some(&admin), UPLOAD, &far_over).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        answer["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );

    let (status, answer) = upload(&app, None, UPLOAD, &bytes).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // A JSON body cannot name a file it does not carry.
    let vars = json!({ "r": "kromeriz", "file": "#__graphql_file__:0", "dry": true });
    let (_, answer) = app.post(Some(&admin), UPLOAD, vars).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    app.stop().await;
}

fn sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Trusted-only mode runs a listed upload and refuses any other.
#[tokio::test]
async fn trusted_only_mode_refuses_an_unlisted_upload() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, dir| {
        let file = dir.join("persisted-documents.json");
        std::fs::write(&file, json!({ sha256(UPLOAD): UPLOAD }).to_string()).expect("write");
        c.trusted_documents = Some(file);
    })
    .await;
    let admin = format!("Bearer {}", app.admin());
    let plan = &plans_trusted(&app).await;
    let bytes = BASE64
        .decode(plan.as_str().expect("base64"))
        .expect("base64");
    let (status, answer) = upload(&app, Some(&admin), UPLOAD, &bytes).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["data"]["importPlan"]["changes"].is_array(),
        "{answer}"
    );
    let unlisted = UPLOAD.replace("applied", "applied version");
    let (_, answer) = upload(&app, Some(&admin), &unlisted, &bytes).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
    app.stop().await;
}

/// A workbook of Kroměříž's plan, read straight from the database (in
/// trusted-only mode no other query runs).
async fn plans_trusted(app: &TestApp) -> Value {
    let s = app.db.scoped(kpss_domain::access::Ctx::system("test"));
    let region = kpss_domain::region::RegionCode::parse("r", "kromeriz").expect("code");
    let data = kpss_persistence::export::region(&s, &region)
        .await
        .expect("export");
    let bytes = kpss_workbook::plan(&region, &data.plans[0]).expect("workbook");
    Value::from(BASE64.encode(bytes))
}

/// `GET /templates/akcni-plan.xlsx` serves the checked-in template, which is
/// what the code makes (`kpss template --out docs/templates/akcni-plan.xlsx`).
#[tokio::test]
async fn the_template_is_served_and_checked_in_as_the_code_makes_it() {
    let made = kpss_workbook::template().expect("template");
    let checked_in =
        std::fs::read(crate::support::repo_path("docs/templates/akcni-plan.xlsx")).expect("file");
    assert!(
        made == checked_in,
        "docs/templates/akcni-plan.xlsx differs from what the code makes: \
         run `cargo run -- template --out docs/templates/akcni-plan.xlsx`"
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app
        .http()
        .get(format!("{}/templates/akcni-plan.xlsx", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(res.bytes().await.expect("body").as_ref() == made.as_slice());
    app.stop().await;
}

crate::on_both_databases!(
    every_plan_comes_back_unchanged,
    three_cells_are_listed_then_applied_and_audited,
    an_ods_file_creates_a_plan,
    a_bad_workbook_changes_nothing_and_names_its_cells,
    a_plan_is_uploaded_in_a_multipart_request,
);
