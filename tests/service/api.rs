//! The GraphQL API over HTTP: authentication, tenancy, errors.

use crate::support::{self, Backend, TestApp, codes};
use kpss_domain::access::Role;
use serde_json::json;

const REGIONS_QUERY: &str = "{ me { subject role } regions { code name kind kraj { code name } } }";

async fn admin_sees_all_four_regions_in_czech_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app.query(&app.admin(), REGIONS_QUERY, json!({})).await;
    assert_eq!(data["me"], json!({ "subject": "tester", "role": "ADMIN" }));
    // Czech collation: "Ch" sorts after "H", so Chomutov before the K names only because ch < k.
    assert_eq!(
        codes(&data["regions"]),
        ["chomutov", "karlovy-vary", "klatovy", "kromeriz"]
    );
    let kromeriz = &data["regions"][3];
    assert_eq!(kromeriz["name"], "Kroměříž");
    assert_eq!(kromeriz["kind"], "ORP");
    assert_eq!(
        kromeriz["kraj"],
        json!({ "code": "CZ072", "name": "Zlínský kraj" })
    );
    assert_eq!(data["regions"][0]["kind"], "STATUTORY_CITY");
    app.stop().await;
}

async fn requests_without_a_valid_token_are_401_and_run_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let expired = {
        let auth = app.config.auth().expect("auth");
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({ "sub": "x", "exp": now - 3600, "iss": "kpss", "aud": "kpss-api", "role": "admin", "regions": ["*"] });
        let _ = auth;
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(support::SECRET.as_bytes()),
        )
        .expect("encode")
    };
    let forged = {
        let claims = json!({ "sub": "x", "exp": jsonwebtoken::get_current_timestamp() + 600, "iss": "kpss", "aud": "kpss-api", "role": "admin", "regions": ["*"] });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-0123456"),
        )
        .expect("encode")
    };
    let cases = [
        None,
        Some("Bearer".to_owned()),
        Some("Basic dXNlcjpwYXNz".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {}", "a".repeat(9000))),
    ];
    for auth in cases {
        let (status, body) = app.post(auth.as_deref(), REGIONS_QUERY, json!({})).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{auth:?}"
        );
        assert!(body.get("data").is_none(), "nothing is executed: {body}");
    }
    app.stop().await;
}

async fn kraj_token_sees_only_the_regions_of_its_kraj(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.token(Role::Viewer, &[], &["CZ032"]);
    let data = app.query(&token, "{ regions { code } kraje { code regions { code } } me { regions { code } writableRegions { code } } }", json!({})).await;
    assert_eq!(codes(&data["regions"]), ["klatovy"]);
    assert_eq!(codes(&data["kraje"]), ["CZ032"]);
    assert_eq!(codes(&data["kraje"][0]["regions"]), ["klatovy"]);
    assert_eq!(codes(&data["me"]["regions"]), ["klatovy"]);
    assert_eq!(codes(&data["me"]["writableRegions"]), Vec::<String>::new());
    // Even an admin's kraje claim never grants writes.
    let admin_by_kraj = app.token(Role::Admin, &[], &["CZ032"]);
    let data = app
        .query(
            &admin_by_kraj,
            "{ me { writableRegions { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&data["me"]["writableRegions"]), Vec::<String>::new());
    app.stop().await;
}

async fn editor_writes_only_its_own_regions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.token(Role::Editor, &["kromeriz"], &["CZ032"]);
    let data = app
        .query(
            &token,
            "{ me { role regions { code } writableRegions { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["role"], "EDITOR");
    assert_eq!(codes(&data["me"]["regions"]), ["klatovy", "kromeriz"]);
    assert_eq!(codes(&data["me"]["writableRegions"]), ["kromeriz"]);
    let viewer = app.token(Role::Viewer, &["kromeriz"], &[]);
    let data = app
        .query(&viewer, "{ me { writableRegions { code } } }", json!({}))
        .await;
    assert_eq!(codes(&data["me"]["writableRegions"]), Vec::<String>::new());
    app.stop().await;
}

async fn a_token_without_regions_sees_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.token(Role::Admin, &[], &[]);
    let data = app
        .query(
            &token,
            "{ regions { code } kraje { code } me { regions { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "regions": [], "kraje": [], "me": { "regions": [] } })
    );
    app.stop().await;
}

async fn region_by_code_is_forbidden_when_unreadable_and_null_when_unknown(b: Backend) {
    let app = TestApp::spawn(b).await;
    let klatovy = app.token(Role::Viewer, &["klatovy"], &[]);
    let q = "query($c: String!) { region(code: $c) { code name kraj { code } } }";
    let data = app.query(&klatovy, q, json!({ "c": "klatovy" })).await;
    assert_eq!(
        data["region"],
        json!({ "code": "klatovy", "name": "Klatovy", "kraj": { "code": "CZ032" } })
    );
    assert_eq!(
        app.error_code(&klatovy, q, json!({ "c": "kromeriz" }))
            .await,
        "FORBIDDEN"
    );
    let (_, body) = app
        .post(
            Some(&format!("Bearer {klatovy}")),
            q,
            json!({ "c": "kromeriz" }),
        )
        .await;
    assert!(
        !body.to_string().contains("Kroměříž"),
        "an error never quotes an unreadable record: {body}"
    );
    assert_eq!(
        app.query(&klatovy, q, json!({ "c": "no-such-region" }))
            .await["region"],
        json!(null)
    );
    for malformed in ["*", "Klatovy", "KLATOVY", ""] {
        assert_eq!(
            app.error_code(&klatovy, q, json!({ "c": malformed })).await,
            "BAD_USER_INPUT",
            "{malformed}"
        );
    }
    app.stop().await;
}

async fn service_types_list_the_33_legal_types(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app
        .query(
            &app.admin(),
            "{ serviceTypes { code name paragraph category } }",
            json!({}),
        )
        .await;
    let types = data["serviceTypes"].as_array().expect("list");
    assert_eq!(types.len(), 33);
    assert!(types.contains(&json!({ "code": "INTERVENCNI_CENTRA", "name": "intervenční centra", "paragraph": "60a", "category": "SOCIAL_PREVENTION" })));
    assert!(types.contains(&json!({ "code": "PECOVATELSKA_SLUZBA", "name": "pečovatelská služba", "paragraph": "40", "category": "SOCIAL_CARE" })));
    app.stop().await;
}

async fn malformed_queries_get_contract_error_codes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin();
    assert_eq!(
        app.error_code(&admin, "{ regionz { code } }", json!({}))
            .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(&admin, "{ regions { code ", json!({})).await,
        "BAD_USER_INPUT"
    );
    let deep = format!(
        "{{ {} }}",
        "kraje { regions { kraj { ".repeat(8) + "code" + &" } } }".repeat(8)
    );
    assert_eq!(
        app.error_code(&admin, &deep, json!({})).await,
        "QUERY_TOO_COMPLEX"
    );
    app.stop().await;
}

async fn health_readiness_and_metrics_answer(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(app.get("/readyz").await.0, 200);
    let _ = app
        .query(
            &app.admin(),
            "query Regions { regions { code } }",
            json!({}),
        )
        .await;
    let _ = app
        .error_code(&app.admin(), "{ regionz { code } }", json!({}))
        .await;
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"kpss_graphql_requests_total{operation="Regions",outcome="ok"} 1"#,
        r#"kpss_graphql_requests_total{operation="-",outcome="BAD_USER_INPUT"} 1"#,
        r#"kpss_graphql_errors_total{code="BAD_USER_INPUT"} 1"#,
        r#"kpss_graphql_request_duration_seconds_count{operation="Regions",outcome="ok"} 1"#,
        r#"kpss_db_connections{state="idle"}"#,
        "kpss_db_statements_total ",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let (status, page) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(page.contains("graphiql"), "GraphiQL page");
    app.stop().await;
}

/// The audit filter's entity kind is one of the kinds the log records; any
/// other name is bad input, not an empty page.
async fn audit_filter_names_a_known_entity_kind(b: Backend) {
    let app = TestApp::spawn(b).await;
    let q = "query($e: String) { auditLog(filter: { entity: $e }) { totalCount } }";
    let data = app.query(&app.admin(), q, json!({ "e": "Measure" })).await;
    assert_eq!(data["auditLog"]["totalCount"], json!(0));
    for unknown in ["measure", "Risk", ""] {
        assert_eq!(
            app.error_code(&app.admin(), q, json!({ "e": unknown }))
                .await,
            "BAD_USER_INPUT",
            "{unknown:?}"
        );
    }
    app.stop().await;
}

on_both_databases!(
    audit_filter_names_a_known_entity_kind,
    admin_sees_all_four_regions_in_czech_order,
    requests_without_a_valid_token_are_401_and_run_nothing,
    kraj_token_sees_only_the_regions_of_its_kraj,
    editor_writes_only_its_own_regions,
    a_token_without_regions_sees_nothing,
    region_by_code_is_forbidden_when_unreadable_and_null_when_unknown,
    service_types_list_the_33_legal_types,
    malformed_queries_get_contract_error_codes,
    health_readiness_and_metrics_answer,
);
