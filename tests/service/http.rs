//! GraphQL over HTTP: response keys in selection-set order, batching with a
//! limit, GET for queries only, media types and status codes.

use crate::support::{Backend, TestApp, key_order};
use serde_json::{Value, json};

/// POSTs a body as it is; returns the status, the headers and the body text.
async fn post_raw(
    app: &TestApp,
    accept: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let res = app
        .http()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(app.admin())
        .header("Accept", accept)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

async fn get_raw(app: &TestApp, query: &[(&str, &str)], token: Option<&str>) -> reqwest::Response {
    let mut req = app.http().get(format!("{}/graphql", app.base)).query(query);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request sent")
}

/// Slow fields first, fast ones after: an engine that writes keys as their
/// fields complete puts `me` before `plans` and `totalCount` before `nodes`.
async fn response_keys_follow_the_selection_set(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases = [
        (
            "{ plans { nodes { title kind } totalCount } me { role } }",
            "{data{plans{nodes[{title,kind}],totalCount},me{role}}}",
        ),
        (
            "{ plans(first: 50) { nodes { title region { kraj { regions { code } name code } code } id } pageInfo { hasNextPage } } me { subject role } }",
            "{data{plans{nodes[{title,region{kraj{regions[{code}],name,code},code},id}],pageInfo{hasNextPage}},me{subject,role}}}",
        ),
        (
            "{ all: plans(first: 50) { nodes { id } } me { role } few: plans(first: 1) { totalCount } z: regions { code } a: regions { name } }",
            "{data{all{nodes[{id}]},me{role},few{totalCount},z[{code}],a[{name}]}}",
        ),
        (
            "query Q { plans(first: 50) { nodes { ...Bits region { code ... on Region { name } } } } ...Me regions { code } }
             fragment Bits on Plan { title id }
             fragment Me on Query { me { ... { subject } role } }",
            "{data{plans{nodes[{title,id,region{code,name}}]},me{subject,role},regions[{code}]}}",
        ),
    ];
    for (query, expected) in cases {
        let (status, _, body) =
            post_raw(&app, "application/json", &json!({ "query": query })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(key_order(&body), expected, "{query}");
    }
    app.stop().await;
}

on_both_databases!(response_keys_follow_the_selection_set);

#[tokio::test]
async fn batches_run_in_order_up_to_the_limit() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, _| c.limits.max_batch = 3).await;
    let one = json!({ "query": "{ me { role } }" });
    let two = json!({ "query": "query R($c: String!) { region(code: $c) { name } }", "variables": { "c": "klatovy" } });
    let bad = json!({ "query": "{ nope }" });
    let (status, _, body) = post_raw(&app, "application/json", &json!([one, two, bad])).await;
    assert_eq!(status, 200, "{body}");
    let answers: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answers[0]["data"]["me"]["role"], "ADMIN");
    assert_eq!(answers[1]["data"]["region"]["name"], "Klatovy");
    assert_eq!(
        answers[2]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert!(answers[2].get("data").is_none(), "{body}");

    // Too many is a shape limit; none at all is not a request.
    for (batch, code) in [
        (json!([one, one, one, one]), "QUERY_TOO_COMPLEX"),
        (json!([]), "BAD_USER_INPUT"),
    ] {
        let (status, _, body) = post_raw(&app, "application/json", &batch).await;
        assert_eq!(status, 400, "{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(body["errors"][0]["extensions"]["code"], code);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("1 to 3 operations")),
            "{body}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn get_runs_queries_never_mutations_and_serves_graphiql_without_a_query() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin();
    for accept in ["text/html", "application/json", "*/*"] {
        let res = app
            .http()
            .get(format!("{}/graphql", app.base))
            .header("Accept", accept)
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200);
        assert!(
            res.text().await.expect("body").contains("graphiql"),
            "{accept}"
        );
    }

    let res = get_raw(
        &app,
        &[
            (
                "query",
                "query R($c: String!) { region(code: $c) { code name } me { role } }",
            ),
            ("variables", r#"{"c":"kromeriz"}"#),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["vary"]
            .to_str()
            .expect("vary")
            .contains("authorization"),
        "answers vary by token"
    );
    let body = res.text().await.expect("body");
    assert_eq!(key_order(&body), "{data{region{code,name},me{role}}}");
    assert!(body.contains("Kroměříž"), "{body}");

    let mutation = "mutation { archivePlan(id: \"1\", expectedVersion: 1) { version } }";
    let res = get_raw(&app, &[("query", mutation)], Some(&admin)).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let data = app
        .query(
            &admin,
            "{ plan(id: \"1\") { archived version } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["plan"],
        json!({ "archived": false, "version": 1 }),
        "nothing ran"
    );

    let res = get_raw(&app, &[("query", "{ me { role } }")], None).await;
    assert_eq!(res.status(), 401);
    let res = get_raw(
        &app,
        &[("query", "{ me { role } }"), ("variables", "[1]")],
        Some(&admin),
    )
    .await;
    assert_eq!(res.status(), 400);
    app.stop().await;
}

/// The pages and their files come from the binary: the dashboard at `/`,
/// GraphiQL at `/graphql`, each page with a policy that admits this origin
/// only, every file with a validator.
#[tokio::test]
async fn pages_and_their_files_are_served_from_the_binary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let get = |path: &str, etag: Option<&str>| {
        let mut req = app.http().get(format!("{}{path}", app.base));
        if let Some(tag) = etag {
            req = req.header("If-None-Match", tag);
        }
        req.send()
    };
    for (path, marker) in [
        ("/", "/assets/dashboard/app.js"),
        ("/graphql", "/assets/vendor/graphiql.min.js"),
    ] {
        let res = get(path, None).await.expect("sent");
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        assert!(res.text().await.expect("body").contains(marker), "{path}");
    }
    for (path, kind) in [
        ("/assets/dashboard/app.js", "text/javascript"),
        ("/assets/dashboard/app.css", "text/css"),
        ("/assets/vendor/graphiql.min.js", "text/javascript"),
        ("/assets/vendor/react.production.min.js", "text/javascript"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let res = get(path, None).await.expect("sent");
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(kind),
            "{path}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let tag = res.headers()["etag"].to_str().expect("ascii").to_owned();
        let again = get(path, Some(&tag)).await.expect("sent");
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(
            get(path, Some("\"other\"")).await.expect("sent").status(),
            200
        );
    }
    // Pages only at their own addresses (with their policies); no other files.
    for path in [
        "/assets/dashboard/index.html",
        "/assets/vendor/refresh.sh",
        "/assets/../Cargo.toml",
        "/assets/",
    ] {
        assert_eq!(get(path, None).await.expect("sent").status(), 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn request_errors_have_no_data_and_their_status_follows_the_media_type() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let invalid = json!({ "query": "{ regions { nope } }" });
    let (status, headers, body) =
        post_raw(&app, "application/graphql-response+json", &invalid).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/graphql-response+json"),
    );
    let parsed: Value = serde_json::from_str(&body).expect("JSON");
    assert!(parsed.get("data").is_none(), "{body}");
    assert_eq!(parsed["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let (status, headers, body) = post_raw(&app, "application/json", &invalid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        serde_json::from_str::<Value>(&body)
            .expect("JSON")
            .get("data")
            .is_none()
    );

    // A field error is not a request error: data is there, status 200.
    let (status, _, body) = post_raw(
        &app,
        "application/graphql-response+json",
        &json!({ "query": "{ region(code: \"Nope\") { code } me { role } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let parsed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(parsed["data"]["me"]["role"], "ADMIN");
    assert_eq!(parsed["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let res = app
        .http()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(app.admin())
        .header("Content-Type", "text/plain")
        .body(r#"{"query":"{ me { role } }"}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 415);
    app.stop().await;
}

/// GraphQL answers are the caller's: no cache stores them and no browser
/// sniffs their type, over POST and GET alike.
#[tokio::test]
async fn answers_are_not_stored_and_not_sniffed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, posted, _) = post_raw(
        &app,
        "application/json",
        &json!({ "query": "{ me { role } }" }),
    )
    .await;
    let got = get_raw(&app, &[("query", "{ me { role } }")], Some(&app.admin())).await;
    let unauthenticated = get_raw(&app, &[("query", "{ me { role } }")], None).await;
    assert_eq!(unauthenticated.status(), 401);
    for headers in [&posted, got.headers(), unauthenticated.headers()] {
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    app.stop().await;
}

/// With `KPSS_METRICS_TOKEN`, `/metrics` answers only that bearer token.
#[tokio::test]
async fn metrics_need_their_token_when_one_is_set() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, _| {
        c.metrics_token = Some("metrics-token-metrics-token".to_owned().into());
    })
    .await;
    let metrics = |token: Option<&'static str>| {
        let mut req = app.http().get(format!("{}/metrics", app.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.expect("request sent");
            (res.status().as_u16(), res.text().await.expect("body"))
        }
    };
    assert_eq!(metrics(None).await.0, 401);
    assert_eq!(metrics(Some("wrong")).await.0, 401);
    let (status, text) = metrics(Some("metrics-token-metrics-token")).await;
    assert_eq!(status, 200);
    assert!(text.contains("kpss_db_statements_total"), "{text}");
    app.stop().await;
}

/// With `KPSS_METRICS_LISTEN`, `/metrics` is served there and not on the
/// service's address.
#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, _| {
        c.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let (status, _) = app.get("/metrics").await;
    assert_eq!(status, 404);
    let own = app.metrics_addr().expect("a metrics address");
    assert_ne!(own.to_string(), app.base.trim_start_matches("http://"));
    let res = app
        .http()
        .get(format!("http://{own}/metrics"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    assert!(text.contains("kpss_db_statements_total"), "{text}");
    app.stop().await;
}
