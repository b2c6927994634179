//! Council documents: `GET /documents/plans/{id}.docx|.pdf` and
//! `kpss document`. The DOCX is read as a package (its `word/document.xml`
//! parsed), the PDF as text by `pdftotext`, and LibreOffice converts the
//! DOCX; the tools are Debian's, installed when missing (a test without
//! them fails). Page 1 of each PDF goes to `target/screenshots/`.

use crate::support::{Backend, TestApp, apt_install};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A Debian tool, installed with its package when missing. Blocks.
fn tool(name: &str, package: &str) -> PathBuf {
    static INSTALLED: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _one_at_a_time = INSTALLED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = PathBuf::from("/usr/bin").join(name);
    if !path.exists()
        && let Err(e) = apt_install(&[package])
    {
        panic!("{name} ({package}) is required and could not be installed: {e}");
    }
    assert!(
        path.exists(),
        "{package} installed, but {path:?} is missing"
    );
    path
}

const PLANS: &str = "{ plans(first: 20) { nodes { id title
    priorities { code title measures { ...M subMeasures { ...M subMeasures { ...M } } } } } } }
    fragment M on Measure { code title evaluations { year status } }";

/// A download: status, headers and body.
async fn download(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = app.http().get(format!("{}{path}", app.base));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.expect("request")
}

async fn bytes(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let response = download(app, Some(token), path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.expect("body").to_vec()
}

fn measures(list: &Value, out: &mut Vec<Value>) {
    for m in list.as_array().into_iter().flatten() {
        out.push(m.clone());
        measures(&m["subMeasures"], out);
    }
}

/// The headings a plan's document has for its priorities and measures, in order.
fn expected_headings(plan: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in plan["priorities"].as_array().into_iter().flatten() {
        out.push(format!("Priorita {} {}", str(&p["code"]), str(&p["title"])));
        let mut list = Vec::new();
        measures(&p["measures"], &mut list);
        for m in list {
            out.push(format!("Opatření {} {}", str(&m["code"]), str(&m["title"])));
        }
    }
    out
}

fn str(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The body of a DOCX in order: each paragraph as (its style, its text),
/// each table as ("table", its text).
fn docx_body(docx: &[u8]) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a ZIP package");
    for part in ["[Content_Types].xml", "_rels/.rels", "word/styles.xml"] {
        assert!(zip.by_name(part).is_ok(), "{part} is missing");
    }
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("word/document.xml parses");
    let body = doc
        .descendants()
        .find(|n| n.has_tag_name("body"))
        .expect("w:body");
    let text = |n: roxmltree::Node| -> String {
        n.descendants()
            .filter(|t| t.has_tag_name("t"))
            .filter_map(|t| t.text())
            .collect()
    };
    body.children()
        .filter(|n| n.is_element())
        .map(|n| {
            if n.has_tag_name("tbl") {
                return ("table".to_owned(), text(n));
            }
            let style = n
                .descendants()
                .find(|s| s.has_tag_name("pStyle"))
                .and_then(|s| {
                    s.attributes()
                        .find(|a| a.name() == "val")
                        .map(|a| a.value().to_owned())
                })
                .unwrap_or_default();
            (style, text(n))
        })
        .collect()
}

/// The text of a PDF, its runs of white space made one space.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("d.pdf");
    std::fs::write(&file, pdf).expect("write");
    let out = Command::new(tool("pdftotext", "poppler-utils"))
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn plans(app: &TestApp, token: &str) -> Vec<Value> {
    let data = app.query(token, PLANS, json!({})).await;
    data["plans"]["nodes"].as_array().expect("plans").clone()
}

/// Every seeded plan, as DOCX and PDF: the DOCX's headings are the plan's
/// priorities and measures (code and title) in its order, styled as
/// headings; the PDF's text holds every measure's title with its diacritics.
async fn every_seeded_plan_makes_both_documents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token(Role::Viewer, &["*"], &[]);
    let every = plans(&app, &token).await;
    assert!(every.len() >= 4, "{every:?}");
    for plan in &every {
        let id = str(&plan["id"]);
        let expected = expected_headings(plan);
        let docx = bytes(&app, &token, &format!("/documents/plans/{id}.docx")).await;
        let headings: Vec<String> = docx_body(&docx)
            .into_iter()
            .filter(|(style, text)| {
                style.starts_with("Heading")
                    && (text.starts_with("Priorita ") || text.starts_with("Opatření "))
            })
            .map(|(_, text)| text)
            .collect();
        assert_eq!(headings, expected, "plan {id}");

        let pdf = bytes(&app, &token, &format!("/documents/plans/{id}.pdf")).await;
        assert!(pdf.starts_with(b"%PDF-"));
        let text = tokio::task::spawn_blocking(move || pdf_text(&pdf))
            .await
            .expect("pdftotext");
        assert!(text.contains(str(&plan["title"])), "plan {id}: {text}");
        for heading in expected {
            let heading = heading.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                text.contains(&heading),
                "plan {id}: `{heading}` not in the PDF"
            );
        }
    }
    app.stop().await;
}

/// The evaluation of a year: each measure's table states its status as the
/// dashboard labels it, and a summary counts them per priority.
async fn an_evaluation_shows_each_status_and_a_summary(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token(Role::Viewer, &["*"], &[]);
    let label = |s: &str| match s {
        "FULFILLED" => "splněno",
        "PARTIALLY_FULFILLED" => "částečně splněno",
        "IN_PROGRESS" => "průběžně plněno",
        "NOT_FULFILLED" => "nesplněno",
        _ => "stav neuveden",
    };
    let mut evaluated = 0;
    for plan in plans(&app, &token).await {
        let id = str(&plan["id"]);
        let mut all = Vec::new();
        for p in plan["priorities"].as_array().into_iter().flatten() {
            measures(&p["measures"], &mut all);
        }
        let mut years: Vec<i64> = all
            .iter()
            .flat_map(|m| m["evaluations"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["year"].as_i64())
            .collect();
        years.sort();
        years.dedup();
        for year in years {
            let path = format!("/documents/plans/{id}.docx?evaluation={year}");
            let body = docx_body(&bytes(&app, &token, &path).await);
            assert_eq!(body[0].1, format!("Vyhodnocení plnění za rok {year}"));
            let summary = body
                .iter()
                .position(|(s, t)| s == "Heading1" && *t == format!("Souhrn plnění za rok {year}"))
                .expect("a summary");
            assert_eq!(body[summary + 1].0, "table");
            for m in &all {
                let Some(e) = m["evaluations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["year"].as_i64() == Some(year))
                else {
                    continue;
                };
                let heading = format!("Opatření {} {}", str(&m["code"]), str(&m["title"]));
                let at = body
                    .iter()
                    .position(|(s, t)| s.starts_with("Heading") && *t == heading)
                    .unwrap_or_else(|| panic!("{heading} in plan {id}"));
                let (kind, table) = &body[at + 1];
                assert_eq!(kind, "table");
                let stated = format!("Stav plnění {year}{}", label(str(&e["status"])));
                assert!(table.contains(&stated), "{heading}: {table}");
                evaluated += 1;
            }
            let pdf = bytes(
                &app,
                &token,
                &format!("/documents/plans/{id}.pdf?evaluation={year}"),
            )
            .await;
            let text = tokio::task::spawn_blocking(move || pdf_text(&pdf))
                .await
                .expect("pdftotext");
            assert!(text.contains(&format!("Souhrn plnění za rok {year}")));
        }
    }
    assert!(evaluated > 50, "{evaluated} evaluations");
    app.stop().await;
}

/// A plan of a region the caller may not read answers exactly as a plan
/// that does not exist; so do a bad file name and a format not made.
async fn an_unreadable_plan_is_the_same_404_as_a_missing_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let national = app.token(Role::Viewer, &["*"], &[]);
    let every = plans(&app, &national).await;
    let kromeriz = app.token(Role::Viewer, &["kromeriz"], &[]);
    let readable = plans(&app, &kromeriz).await;
    let other = every
        .iter()
        .find(|p| !readable.contains(p))
        .expect("a plan of another region");
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let cache = response.headers().get("cache-control").cloned();
        let body: Value = response.json().await.expect("JSON");
        (status, cache, body)
    };
    let id = str(&other["id"]);
    let unreadable =
        answer(download(&app, Some(&kromeriz), &format!("/documents/plans/{id}.pdf")).await).await;
    let missing =
        answer(download(&app, Some(&kromeriz), "/documents/plans/999999.pdf").await).await;
    assert_eq!(unreadable.0, 404);
    assert_eq!(unreadable.2["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // The same but for the id the message repeats.
    let without_id = |v: &Value| v.to_string().replace(id, "N").replace("999999", "N");
    assert_eq!(without_id(&unreadable.2), without_id(&missing.2));
    assert_eq!((unreadable.0, &unreadable.1), (missing.0, &missing.1));

    let mine = str(&readable[0]["id"]);
    for bad in [format!("{mine}.txt"), mine.to_owned(), "x.pdf".to_owned()] {
        let r = download(&app, Some(&kromeriz), &format!("/documents/plans/{bad}")).await;
        assert_eq!(r.status(), 404, "{bad}");
    }
    let r = download(
        &app,
        Some(&kromeriz),
        &format!("/documents/plans/{mine}.pdf?evaluation=1066"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = download(&app, None, &format!("/documents/plans/{mine}.pdf")).await;
    assert_eq!(r.status(), 401);
    app.stop().await;
}

on_both_databases!(
    every_seeded_plan_makes_both_documents,
    an_evaluation_shows_each_status_and_a_summary,
    an_unreadable_plan_is_the_same_404_as_a_missing_one,
);

/// The download names its file in Czech (RFC 6266), lets a page on another
/// origin read that name, and is kept by no cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_names_its_czech_file_for_browsers() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, _| {
        c.cors_origins = Some("https://plany.example.cz".into());
    })
    .await;
    let token = app.token(Role::Viewer, &["*"], &[]);
    let plan = plans(&app, &token)
        .await
        .into_iter()
        .find(|p| str(&p["title"]) == "Akční plán na rok 2023")
        .expect("Klatovy's action plan");
    let response = app
        .http()
        .get(format!(
            "{}/documents/plans/{}.pdf?evaluation=2023&sources=true",
            app.base,
            str(&plan["id"])
        ))
        .bearer_auth(&token)
        .header("origin", "https://plany.example.cz")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["cache-control"], "private, no-store");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"Vyhodnoceni 2023 - Akcni plan na rok 2023.pdf\"; \
         filename*=UTF-8''Vyhodnocen%C3%AD%202023%20%E2%80%93%20Ak%C4%8Dn%C3%AD%20pl%C3%A1n%20na%20rok%202023.pdf"
    );
    let exposed = h["access-control-expose-headers"].to_str().expect("ascii");
    assert!(exposed.contains("content-disposition"), "{exposed}");
    // The appendix quotes the source document's lines.
    let pdf = response.bytes().await.expect("body").to_vec();
    let text = tokio::task::spawn_blocking(move || pdf_text(&pdf))
        .await
        .expect("pdftotext");
    assert!(text.contains("Příloha: zdroje"), "{text}");
    assert!(text.contains("klatovy-akcni-plan-2023.txt"), "{text}");
    app.stop().await;
}

/// What a person sees and a word processor opens: page 1 of the plan and
/// of its evaluation as pictures, and LibreOffice converting the DOCX of
/// the largest plan without an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_open_in_libreoffice_and_render_as_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token(Role::Viewer, &["*"], &[]);
    let plan = plans(&app, &token)
        .await
        .into_iter()
        .find(|p| str(&p["title"]) == "Akční plán na rok 2023")
        .expect("Klatovy's action plan");
    let id = str(&plan["id"]).to_owned();
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshots dir");
    let dir = tempfile::tempdir().expect("dir");
    for (name, query) in [("plan", ""), ("evaluation", "?evaluation=2023")] {
        let pdf = bytes(&app, &token, &format!("/documents/plans/{id}.pdf{query}")).await;
        let file = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&file, pdf).expect("write");
        let png = screenshots.join(format!("document-{name}"));
        let out = Command::new(tool("pdftoppm", "poppler-utils"))
            .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&file)
            .arg(&png)
            .output()
            .expect("pdftoppm runs");
        assert!(out.status.success(), "{out:?}");
        let written = std::fs::metadata(png.with_extension("png")).expect("a PNG");
        assert!(written.len() > 1000);
    }
    let docx = bytes(&app, &token, &format!("/documents/plans/{id}.docx")).await;
    let file = dir.path().join("plan.docx");
    std::fs::write(&file, docx).expect("write");
    let converted = convert(&file, dir.path()).await;
    let text = tokio::task::spawn_blocking(move || pdf_text(&converted))
        .await
        .expect("pdftotext");
    // LibreOffice laid out the headings, the tables and the footer's fields.
    assert!(text.contains("Opatření 1.1 Podpora služeb"), "{text}");
    assert!(text.contains("Vygenerováno z KPSS API dne"), "{text}");
    assert!(text.contains("strana 2 z "), "{text}");
    app.stop().await;
}

/// The DOCX converted to PDF by LibreOffice headless.
async fn convert(docx: &Path, dir: &Path) -> Vec<u8> {
    let (docx, dir) = (docx.to_owned(), dir.to_owned());
    tokio::task::spawn_blocking(move || {
        let soffice = tool("soffice", "libreoffice-writer-nogui");
        let out = Command::new(soffice)
            .args([
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
            ])
            .arg(&dir)
            .arg(&docx)
            // Its profile in the test's folder: nothing of the user's is read or written.
            .env("HOME", &dir)
            .output()
            .expect("soffice runs");
        assert!(out.status.success(), "{out:?}");
        std::fs::read(docx.with_extension("pdf")).expect("LibreOffice wrote a PDF")
    })
    .await
    .expect("soffice thread")
}

/// `kpss document` writes the document to a file only its owner can read.
#[test]
fn the_document_command_writes_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("dir");
    let kpss = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kpss"));
        cmd.env_remove("DATABASE_URL")
            .env_remove("KPSS_JWT_SECRET")
            .env("KPSS_LOG", "warn")
            .env("KPSS_DATA_DIR", data.path());
        cmd
    };
    let seeded = kpss().arg("seed").output().expect("kpss seed");
    assert!(seeded.status.success(), "{seeded:?}");
    let out = data.path().join("plan.docx");
    let made = kpss()
        .args(["document", "1", "--format", "docx", "--out"])
        .arg(&out)
        .output()
        .expect("kpss document");
    assert!(made.status.success(), "{made:?}");
    let mode = std::fs::metadata(&out).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let body = docx_body(&std::fs::read(&out).expect("read"));
    assert!(body.iter().any(|(s, _)| s == "Heading1"), "{body:?}");

    let missing = kpss()
        .args(["document", "999999", "--format", "pdf", "--out"])
        .arg(data.path().join("none.pdf"))
        .output()
        .expect("kpss document");
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no plan 999999"),
        "{missing:?}"
    );
}
