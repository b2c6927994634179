//! `kpss-ceiling FILE ADDR`: answers every POST /graphql with the bytes of
//! FILE as `application/json`, and GET /readyz with 200.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(addr)) = (args.next(), args.next()) else {
        eprintln!("usage: kpss-ceiling FILE ADDR");
        std::process::exit(2);
    };
    let body: &'static [u8] = std::fs::read(&file).expect("read FILE").leak();
    let app = Router::new()
        .route(
            "/graphql",
            post(move || async move { ([(CONTENT_TYPE, "application/json")], body) }),
        )
        .route("/readyz", get(|| async { "ready" }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind ADDR");
    axum::serve(listener, app).await.expect("serve");
}
