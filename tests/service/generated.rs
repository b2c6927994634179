//! Generated input: queries and mutations built from `schema.graphql` by a
//! seeded generator, sent with tokens of several scopes, next to malformed
//! JSON, wrong content types, non-UTF-8 bodies, huge strings and lists and
//! deep input objects. No answer may be a 5xx or INTERNAL, and none may
//! hold an object of a region its token cannot read.
//!
//! The same generated queries and mutations also go over the WebSocket,
//! under both subprotocols, with the same checks.
//!
//! The test command runs a fixed seed (5,000 requests on SQLite, 2,000 on
//! PostgreSQL, and a fifth of that over the WebSocket); `KPSS_GENERATED_RUNS=N`
//! (and `KPSS_GENERATED_SEED`) runs longer or other sequences.

use crate::support::{Backend, TestApp, repo_path};
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use kpss_domain::access::Role;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Requests of the fixed-seed run: 5,000 on SQLite, and 2,000 more on
/// PostgreSQL (whose run is slower and follows the same sequence).
fn default_runs(b: Backend) -> usize {
    match b {
        Backend::Sqlite => 5_000,
        Backend::Postgres => 2_000,
    }
}
const DEFAULT_SEED: u64 = 0x6b70_7373;
const REGIONS: [&str; 4] = ["chomutov", "karlovy-vary", "klatovy", "kromeriz"];

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone)]
struct Field {
    name: String,
    args: Vec<(String, Type)>,
    ty: Type,
}

/// The schema as the generator needs it.
#[derive(Default)]
struct Schema {
    objects: HashMap<String, Vec<Field>>,
    inputs: HashMap<String, Vec<(String, Type)>>,
    enums: HashMap<String, Vec<String>>,
}

impl Schema {
    fn load() -> Self {
        let sdl = std::fs::read_to_string(repo_path("schema.graphql")).expect("schema.graphql");
        let doc = async_graphql::parser::parse_schema(sdl).expect("SDL");
        let mut schema = Schema::default();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            let name = t.node.name.node.to_string();
            match t.node.kind {
                TypeKind::Object(o) => {
                    let fields = o
                        .fields
                        .into_iter()
                        .map(|f| Field {
                            name: f.node.name.node.to_string(),
                            args: f
                                .node
                                .arguments
                                .into_iter()
                                .map(|a| (a.node.name.node.to_string(), a.node.ty.node))
                                .collect(),
                            ty: f.node.ty.node,
                        })
                        .collect();
                    schema.objects.insert(name, fields);
                }
                TypeKind::InputObject(i) => {
                    let fields = i
                        .fields
                        .into_iter()
                        .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                        .collect();
                    schema.inputs.insert(name, fields);
                }
                TypeKind::Enum(e) => {
                    let values = e
                        .values
                        .into_iter()
                        .map(|v| v.node.value.node.to_string())
                        .collect();
                    schema.enums.insert(name, values);
                }
                _ => {}
            }
        }
        schema
    }
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(n) => n.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

struct Generator {
    rng: Rng,
    schema: Schema,
}

impl Generator {
    fn string(&mut self) -> String {
        match self.rng.below(10) {
            0 => String::new(),
            1 => "x".repeat(self.rng.below(3_000)),
            2 => "Pečovatelská služba – ščřžýáíé \u{1F600} \u{0}".into(),
            3 => "*".into(),
            4 => "KLATOVY".into(),
            5 => self.rng.below(400).to_string(),
            6 => "'; DROP TABLE plan; --".into(),
            _ => self.rng.pick(&REGIONS).to_string(),
        }
    }

    /// A GraphQL literal for `ty` (sometimes of the wrong type).
    fn literal(&mut self, ty: &Type, depth: usize) -> String {
        if ty.nullable && self.rng.chance(10) {
            return "null".into();
        }
        if self.rng.chance(3) {
            return self
                .rng
                .pick(&["1", "\"x\"", "[]", "{}", "true", "-1.5"])
                .to_string();
        }
        if let BaseType::List(inner) = &ty.base {
            let n = if self.rng.chance(3) {
                2_000
            } else {
                self.rng.below(4)
            };
            let items: Vec<String> = (0..n).map(|_| self.literal(inner, depth + 2)).collect();
            return format!("[{}]", items.join(", "));
        }
        let name = named(ty).to_owned();
        match name.as_str() {
            "Int" => self
                .rng
                .pick(&[
                    "0",
                    "1",
                    "20",
                    "100",
                    "101",
                    "-1",
                    "2147483647",
                    "99999999999",
                ])
                .to_string(),
            "Float" => self
                .rng
                .pick(&["0.5", "-1", "1e308", "12000.0"])
                .to_string(),
            "Boolean" => self.rng.pick(&["true", "false"]).to_string(),
            "ID" => format!(
                "\"{}\"",
                self.rng.pick(&[
                    "1",
                    "2",
                    "5",
                    "8",
                    "20",
                    "50",
                    "150",
                    "x",
                    "-1",
                    "99999999999999999999"
                ])
            ),
            "String" | "Date" | "DateTime" => {
                let s = match name.as_str() {
                    "Date" => self
                        .rng
                        .pick(&["2024-01-31", "2024-02-30", "x"])
                        .to_string(),
                    "DateTime" => self
                        .rng
                        .pick(&["2024-01-31T10:00:00Z", "yesterday"])
                        .to_string(),
                    _ => self.string(),
                };
                serde_json::to_string(&s).expect("json string")
            }
            other if self.schema.enums.contains_key(other) => {
                let values = &self.schema.enums[other];
                if self.rng.chance(5) {
                    "NOT_A_VALUE".into()
                } else {
                    values[self.rng.below(values.len())].clone()
                }
            }
            other if self.schema.inputs.contains_key(other) => {
                if depth > 4 {
                    return "{}".into();
                }
                let fields: Vec<(String, Type)> = self.schema.inputs[other]
                    .iter()
                    .map(|(n, t)| (n.clone(), t.clone()))
                    .collect();
                let mut parts = vec![];
                for (n, t) in &fields {
                    if !t.nullable || self.rng.chance(50) {
                        parts.push(format!("{n}: {}", self.literal(t, depth + 1)));
                    }
                }
                format!("{{ {} }}", parts.join(", "))
            }
            _ => "null".into(),
        }
    }

    /// A selection of `type_name`, with `__typename`, and a region's code
    /// wherever an object has one (for the tenancy check).
    fn selection(&mut self, type_name: &str, depth: usize) -> String {
        let Some(fields) = self.schema.objects.get(type_name) else {
            return String::new();
        };
        let count = fields.len();
        let mut picked: Vec<usize> = (0..1 + self.rng.below(4))
            .map(|_| self.rng.below(count))
            .collect();
        picked.sort_unstable();
        picked.dedup();
        let mut out = vec!["__typename".to_owned()];
        if type_name == "Region" {
            out.push("code".into());
        } else if fields.iter().any(|f| f.name == "region") {
            out.push("region { code }".into());
        }
        for i in picked {
            let (name, args, ty) = {
                let f = &self.schema.objects[type_name][i];
                (f.name.clone(), f.args.clone(), f.ty.clone())
            };
            if out.iter().any(|o| o.starts_with(&name)) {
                continue;
            }
            let args = self.arguments(&args);
            let inner = named(&ty).to_owned();
            if self.schema.objects.contains_key(&inner) {
                if depth >= 5 {
                    continue;
                }
                let sub = self.selection(&inner, depth + 1);
                out.push(format!("{name}{args} {{ {sub} }}"));
            } else {
                out.push(format!("{name}{args}"));
            }
        }
        out.join(" ")
    }

    fn arguments(&mut self, args: &[(String, Type)]) -> String {
        let mut given = vec![];
        for (n, t) in args {
            if !t.nullable || self.rng.chance(60) {
                given.push(format!("{n}: {}", self.literal(t, 0)));
            }
        }
        if given.is_empty() {
            String::new()
        } else {
            format!("({})", given.join(", "))
        }
    }

    fn operation(&mut self) -> String {
        let root = if self.rng.chance(30) {
            "Mutation"
        } else {
            "Query"
        };
        let fields: Vec<Field> = self.schema.objects[root].clone();
        let mut parts = vec![];
        for i in 0..1 + self.rng.below(3) {
            let Field { name, args, ty } = self.rng.pick(&fields).clone();
            let args = self.arguments(&args);
            let inner = named(&ty).to_owned();
            let sub = if self.schema.objects.contains_key(&inner) {
                format!(" {{ {} }}", self.selection(&inner, 1))
            } else {
                String::new()
            };
            parts.push(format!("f{i}: {name}{args}{sub}"));
        }
        let keyword = if root == "Mutation" {
            "mutation"
        } else {
            "query"
        };
        format!("{keyword} {{ {} }}", parts.join(" "))
    }

    /// One request: a content type and a body, mostly a generated operation.
    fn request(&mut self) -> (&'static str, Vec<u8>) {
        let json = "application/json";
        match self.rng.below(100) {
            0..=3 => {
                let mut body =
                    serde_json::to_vec(&json!({ "query": self.operation() })).expect("json");
                body.truncate(self.rng.below(body.len()));
                (json, body)
            }
            4..=6 => {
                let ct = *self.rng.pick(&[
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "",
                ]);
                (
                    ct,
                    serde_json::to_vec(&json!({ "query": self.operation() })).expect("json"),
                )
            }
            7..=9 => {
                let mut body = br#"{"query":"{ search(text: \""#.to_vec();
                body.extend((0..64).map(|_| 0x80 | self.rng.below(64) as u8));
                body.extend_from_slice(br#"\") { title } }"}"#);
                (json, body)
            }
            10..=12 => {
                // Deep input objects, as variables and as literals.
                let depth = 50 + self.rng.below(500);
                let mut deep = json!("klatovy");
                for _ in 0..depth {
                    deep = json!({ "regions": deep });
                }
                let body = json!({ "query": "query($f: PlanFilter) { plans(filter: $f) { totalCount } }", "variables": { "f": deep } });
                (json, serde_json::to_vec(&body).expect("json"))
            }
            13..=14 => {
                let n = self.rng.below(60);
                let literal = format!("{}\"klatovy\"{}", "{ regions: ".repeat(n), " }".repeat(n));
                let body =
                    json!({ "query": format!("{{ plans(filter: {literal}) {{ totalCount }} }}") });
                (json, serde_json::to_vec(&body).expect("json"))
            }
            15..=17 => {
                let regions: Vec<&str> = (0..50_000).map(|i| REGIONS[i % 4]).collect();
                let body = json!({ "query": "query($r: [String!]) { providers(filter: { regions: $r }) { totalCount nodes { region { code } } } }", "variables": { "r": regions } });
                (json, serde_json::to_vec(&body).expect("json"))
            }
            18..=20 => {
                let ops: Vec<Value> = (0..1 + self.rng.below(12))
                    .map(|_| json!({ "query": self.operation() }))
                    .collect();
                (json, serde_json::to_vec(&ops).expect("json"))
            }
            21 => (json, vec![b'['; 100_000]),
            22..=23 => {
                // Huge strings, just under and over the body limit.
                let text = "ř".repeat(500_000 + self.rng.below(100_000));
                let body = if self.rng.chance(50) {
                    json!({ "query": "query($t: String!) { search(text: $t) { title } }", "variables": { "t": text } })
                } else {
                    json!({ "query": "mutation($t: String!) { createPlan(input: { region: \"klatovy\", title: $t, kind: ACTION_PLAN, periodStart: 2024, periodEnd: 2024 }) { id } }", "variables": { "t": text } })
                };
                (json, serde_json::to_vec(&body).expect("json"))
            }
            _ => (
                json,
                serde_json::to_vec(&json!({ "query": self.operation() })).expect("json"),
            ),
        }
    }
}

/// Every region code of an object of `value` that tells its region.
fn regions_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("__typename").and_then(Value::as_str) == Some("Region")
                && let Some(code) = map.get("code").and_then(Value::as_str)
            {
                out.push(code.to_owned());
            }
            if let Some(code) = map
                .get("region")
                .and_then(|r| r.get("code"))
                .and_then(Value::as_str)
            {
                out.push(code.to_owned());
            }
            map.values().for_each(|v| regions_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| regions_in(v, out)),
        _ => {}
    }
}

/// A code that must never be answered.
fn internal(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("code").and_then(Value::as_str) == Some("INTERNAL")
                || map.values().any(internal)
        }
        Value::Array(items) => items.iter().any(internal),
        _ => false,
    }
}

async fn generated_requests_get_no_5xx_no_internal_and_no_foreign_region(b: Backend) {
    generated_requests_leak_nothing(TestApp::spawn(b).await, default_runs(b)).await;
}

/// Sends `runs` generated requests (`KPSS_GENERATED_RUNS` overrides) to
/// `app`: none gets a 5xx, an INTERNAL error or a region its token cannot read.
pub async fn generated_requests_leak_nothing(app: TestApp, runs: usize) {
    let runs = std::env::var("KPSS_GENERATED_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(runs);
    let seed = std::env::var("KPSS_GENERATED_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    // The service's own account of a failure (it never shows one to clients).
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("kpss_api=warn")
        .try_init();
    let tokens: Vec<(Option<String>, HashSet<&str>)> = vec![
        (Some(app.admin()), REGIONS.into_iter().collect()),
        (
            Some(app.token(Role::Editor, &["klatovy"], &[])),
            ["klatovy"].into(),
        ),
        (
            Some(app.token(Role::Viewer, &[], &["CZ072"])),
            ["kromeriz"].into(),
        ),
        (
            Some(app.token(Role::Admin, &["chomutov"], &["CZ032"])),
            ["chomutov", "klatovy"].into(),
        ),
        (Some(app.token(Role::Viewer, &[], &[])), HashSet::new()),
        (None, HashSet::new()),
        (Some("not-a-token".into()), HashSet::new()),
    ];
    let max_body = app.config.limits.max_body_bytes;
    let mut generator = Generator {
        rng: Rng(seed),
        schema: Schema::load(),
    };
    let started = Instant::now();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut previous = String::new();
    for i in 0..runs {
        let (token, readable) = generator.rng.pick(&tokens).clone();
        let (content_type, body) = generator.request();
        let auth = token.map(|t| format!("Bearer {t}"));
        let shown = || String::from_utf8_lossy(&body[..body.len().min(2_000)]).into_owned();
        let sent = app
            .try_post_raw(auth.as_deref(), content_type, body.clone())
            .await;
        let (status, _, answer) = match sent {
            Ok(answer) => answer,
            // A body over the limit may be cut off before it is all sent.
            Err(e) if body.len() > max_body => {
                *statuses.entry(413).or_default() += 1;
                eprintln!("#{i}: {} byte body cut off: {e}", body.len());
                continue;
            }
            Err(e) => panic!(
                "#{i} (seed {seed}): no answer ({e:?}) for {}\nafter {previous}",
                shown()
            ),
        };
        *statuses.entry(status).or_default() += 1;
        previous = format!("HTTP {status}: {}", shown());
        assert!(
            status < 500,
            "#{i} (seed {seed}): HTTP {status} for {}",
            shown()
        );
        let answer: Value = serde_json::from_slice(&answer)
            .unwrap_or_else(|e| panic!("#{i}: not JSON ({e}) for {}", shown()));
        assert!(
            !internal(&answer),
            "#{i} (seed {seed}): INTERNAL: {answer} for {}",
            shown()
        );
        let mut seen = vec![];
        regions_in(&answer, &mut seen);
        for code in seen {
            assert!(
                readable.contains(code.as_str()),
                "#{i} (seed {seed}): {code} shown to a token of {readable:?}: {}",
                shown()
            );
        }
    }
    let mut statuses: Vec<_> = statuses.into_iter().collect();
    statuses.sort_unstable();
    eprintln!(
        "{runs} generated requests (seed {seed}) in {:?}: statuses {statuses:?}",
        started.elapsed()
    );
    app.stop().await;
}

/// The generated queries and mutations over the WebSocket: each token of a
/// valid scope opens one socket per subprotocol; every operation ends with
/// `complete` or `error`, and no message holds INTERNAL or a foreign region.
async fn generated_operations_over_the_websocket_leak_nothing(b: Backend) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let runs = std::env::var("KPSS_GENERATED_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| default_runs(b))
        / 5;
    let seed = std::env::var("KPSS_GENERATED_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let app = TestApp::spawn(b).await;
    let scopes: Vec<(String, HashSet<&str>)> = vec![
        (app.admin(), REGIONS.into_iter().collect()),
        (
            app.token(Role::Editor, &["klatovy"], &[]),
            ["klatovy"].into(),
        ),
        (
            app.token(Role::Viewer, &[], &["CZ072"]),
            ["kromeriz"].into(),
        ),
        (
            app.token(Role::Admin, &["chomutov"], &["CZ032"]),
            ["chomutov", "klatovy"].into(),
        ),
        (app.token(Role::Viewer, &[], &[]), HashSet::new()),
    ];
    let protocols = [
        ("graphql-transport-ws", "subscribe"),
        ("graphql-ws", "start"),
    ];
    let mut sockets = vec![];
    for (token, readable) in &scopes {
        for (protocol, start) in protocols {
            let mut ws = crate::live::connect_with(&app.base, token, protocol).await;
            let ack = crate::live::next_json(&mut ws).await;
            assert_eq!(ack["type"], "connection_ack", "{ack}");
            sockets.push((ws, protocol, start, readable));
        }
    }
    let mut generator = Generator {
        rng: Rng(seed),
        schema: Schema::load(),
    };
    let started = Instant::now();
    let mut ended: HashMap<String, usize> = HashMap::new();
    for i in 0..runs {
        let which = generator.rng.below(sockets.len());
        let query = generator.operation();
        let (ws, protocol, start, readable) = &mut sockets[which];
        let id = format!("op{i}");
        let message = json!({ "id": id, "type": *start, "payload": { "query": query } });
        ws.send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
        loop {
            let answer = crate::live::next_json(ws).await;
            assert_eq!(
                answer["id"],
                id.as_str(),
                "#{i} {protocol}: {answer} for {query}"
            );
            assert!(
                !internal(&answer),
                "#{i} (seed {seed}) {protocol}: INTERNAL: {answer} for {query}"
            );
            let mut seen = vec![];
            regions_in(&answer, &mut seen);
            for code in seen {
                assert!(
                    readable.contains(code.as_str()),
                    "#{i} (seed {seed}) {protocol}: {code} shown to a token of {readable:?}: {query}"
                );
            }
            let kind = answer["type"].as_str().unwrap_or_default().to_owned();
            if kind == "complete" || kind == "error" {
                *ended.entry(format!("{protocol} {kind}")).or_default() += 1;
                break;
            }
        }
    }
    eprintln!(
        "{runs} generated operations over the WebSocket (seed {seed}) in {:?}: {ended:?}",
        started.elapsed()
    );
    app.stop().await;
}

on_both_databases!(
    generated_requests_get_no_5xx_no_internal_and_no_foreign_region,
    generated_operations_over_the_websocket_leak_nothing
);
