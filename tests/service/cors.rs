//! CORS: browser frontends of the configured origins may call the API;
//! other origins get no CORS headers (so the browser withholds the answer).

use crate::support::{Backend, TestApp};
use reqwest::Method;

const ALLOWED: &str = "https://plany.example.cz";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http()
        .request(Method::OPTIONS, format!("{}/graphql", app.base))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("sent")
}

async fn post_from(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http()
        .post(format!("{}/graphql", app.base))
        .header("Origin", origin)
        .bearer_auth(app.admin())
        .json(&serde_json::json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .expect("sent")
}

fn allow_origin(res: &reqwest::Response) -> Option<&str> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().expect("ascii"))
}

#[tokio::test]
async fn configured_origins_get_cors_headers_and_others_do_not() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c, _| {
        c.cors_origins = Some(format!("{ALLOWED}, https://kraj.example.cz"));
    })
    .await;
    let res = preflight(&app, ALLOWED).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(allow_origin(&res), Some(ALLOWED));
    let h = res.headers();
    let methods = h["access-control-allow-methods"].to_str().expect("ascii");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = h["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "tokens travel in a header, never in cookies"
    );

    let res = post_from(&app, ALLOWED).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allow_origin(&res), Some(ALLOWED));
    // A multipart request (a plan file's upload) is answered to the origin alike.
    let boundary = "cors-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n\
         {{\"query\": \"{{ me {{ role }} }}\"}}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n--{boundary}--\r\n"
    );
    let res = app
        .http()
        .post(format!("{}/graphql", app.base))
        .header("Origin", ALLOWED)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .bearer_auth(app.admin())
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(allow_origin(&res), Some(ALLOWED));
    let answer: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(answer["data"]["me"]["role"], "ADMIN", "{answer}");

    for other in ["https://evil.example.com", "http://localhost:5173"] {
        assert_eq!(allow_origin(&preflight(&app, other).await), None, "{other}");
        assert_eq!(allow_origin(&post_from(&app, other).await), None, "{other}");
    }
    app.stop().await;
}

#[tokio::test]
async fn localhost_is_allowed_by_default_except_in_production() {
    let dev = TestApp::spawn(Backend::Sqlite).await;
    for origin in ["http://localhost:5173", "http://localhost"] {
        assert_eq!(allow_origin(&preflight(&dev, origin).await), Some(origin));
    }
    assert_eq!(
        allow_origin(&preflight(&dev, "http://localhost.evil.example").await),
        None
    );
    assert_eq!(allow_origin(&preflight(&dev, ALLOWED).await), None);
    dev.stop().await;

    let production = TestApp::spawn_with(Backend::Sqlite, |c, _| {
        c.environment = kpss::Environment::Production;
    })
    .await;
    let origin = "http://localhost:5173";
    assert_eq!(allow_origin(&preflight(&production, origin).await), None);
    assert_eq!(allow_origin(&post_from(&production, origin).await), None);
    production.stop().await;
}

#[tokio::test]
async fn malformed_origins_are_refused_at_start() {
    let (mut config, _dir) = crate::support::fresh_config(Backend::Sqlite).await;
    for bad in [
        "plany.example.cz",
        "https://plany.example.cz/app",
        "*, https://a.example.cz",
    ] {
        config.cors_origins = Some(bad.into());
        assert!(config.cors_origins().is_err(), "{bad}");
    }
    config.cors_origins = Some("*".into());
    assert_eq!(
        config.cors_origins().expect("any"),
        kpss_api::cors::Origins::Any
    );
}
