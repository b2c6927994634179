//! The parameters of a GraphQL-over-HTTP request (a JSON body, or a GET
//! query string) and what the request accepts in return.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};
use std::collections::HashMap;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of the answer: `application/graphql-response+json` when
/// the client accepts it, `application/json` otherwise (also for `*/*` and
/// no `Accept` at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    Json,
    GraphqlResponse,
}

pub(super) fn accepted(headers: &HeaderMap) -> Media {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let graphql = accept.split(',').any(|range| {
        range
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON))
    });
    if graphql {
        Media::GraphqlResponse
    } else {
        Media::Json
    }
}

pub(super) fn is_json_body(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
}

/// A GraphQL multipart request (files beside the operation).
pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
}

fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
}

/// The parameters of one GraphQL-over-HTTP request.
#[derive(Default)]
pub(super) struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub document_id: Option<String>,
    pub variables: Map<String, Value>,
    pub extensions: Map<String, Value>,
    /// The files of a multipart request, in the order its variables name them.
    pub uploads: Vec<async_graphql::UploadValue>,
}

impl Params {
    /// From a JSON body; a parameter of the wrong type is an error.
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut o) = value else {
            return Err("a GraphQL request is a JSON object".into());
        };
        let mut take = |key: &str| o.remove(key).filter(|v| !v.is_null());
        let string = |key: &str, v: Option<Value>| match v {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{key}` must be a string")),
        };
        let object = |key: &str, v: Option<Value>| match v {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(format!("`{key}` must be an object")),
        };
        Ok(Self {
            query: string("query", take("query"))?,
            operation_name: string("operationName", take("operationName"))?,
            document_id: string("documentId", take("documentId"))?,
            variables: object("variables", take("variables"))?,
            extensions: object("extensions", take("extensions"))?,
            uploads: Vec::new(),
        })
    }

    /// From one operation of a multipart request (the GraphQL multipart
    /// request spec, parsed by async-graphql), with its files.
    pub fn from_multipart(r: async_graphql::Request) -> Result<Self, String> {
        fn json(v: &impl serde::Serialize) -> Result<Map<String, Value>, String> {
            match serde_json::to_value(v) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(Value::Null) => Ok(Map::new()),
                _ => Err("`variables` and `extensions` must be objects".to_owned()),
            }
        }
        Ok(Self {
            query: Some(r.query.clone()).filter(|q| !q.is_empty()),
            operation_name: r.operation_name.clone(),
            document_id: None,
            variables: json(&r.variables)?,
            extensions: json(&r.extensions)?,
            uploads: r.uploads,
        })
    }

    /// From a GET query string, where `variables` and `extensions` are JSON text.
    pub fn from_query_string(mut q: HashMap<String, String>) -> Result<Self, String> {
        let mut json = |key: &str| match q.remove(key) {
            None => Ok(Map::new()),
            Some(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(Value::Null) => Ok(Map::new()),
                _ => Err(format!("`{key}` must be a JSON object")),
            },
        };
        let (variables, extensions) = (json("variables")?, json("extensions")?);
        Ok(Self {
            query: q.remove("query"),
            operation_name: q.remove("operationName"),
            document_id: q.remove("documentId"),
            variables,
            extensions,
            uploads: Vec::new(),
        })
    }
}

/// The name of a document that starts with a named operation
/// (`query Name ...`), for logs and metrics when the request names none.
fn operation_name(query: &str) -> Option<&str> {
    let mut rest = query.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    while let Some(comment) = rest.strip_prefix('#') {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, r)| r)
            .trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    }
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|k| rest.strip_prefix(k))?;
    let name = rest.trim_start();
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0 && name.len() < rest.len()).then(|| &name[..end])
}

/// The operation a request names, or the name its document starts with.
pub(super) fn operation_of(params: &Params) -> Option<String> {
    params.operation_name.clone().or_else(|| {
        params
            .query
            .as_deref()
            .and_then(operation_name)
            .map(str::to_owned)
    })
}

/// What async-graphql puts in a variable that a multipart file fills.
const UPLOAD_PREFIX: &str = "#__graphql_file__:";

/// Whether every file a request's variables name is one of its `count`
/// files (async-graphql's `Upload` would panic on any other).
pub(super) fn uploads_fit(variables: &Map<String, Value>, count: usize) -> bool {
    fn fits(v: &Value, count: usize) -> bool {
        match v {
            Value::String(s) => s
                .strip_prefix(UPLOAD_PREFIX)
                .is_none_or(|i| i.parse::<usize>().is_ok_and(|i| i < count)),
            Value::Array(a) => a.iter().all(|v| fits(v, count)),
            Value::Object(o) => o.values().all(|v| fits(v, count)),
            _ => true,
        }
    }
    variables.values().all(|v| fits(v, count))
}

/// A NUL in a query's text, raw or as a string escape.
pub(super) fn has_nul(query: &str) -> bool {
    query.contains('\0') || query.contains("\\u0000") || query.contains("\\u{0}")
}

pub(super) fn has_nul_value(variables: &Map<String, Value>) -> bool {
    fn any(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(any),
            Value::Object(o) => o.values().any(any),
            _ => false,
        }
    }
    variables.values().any(any)
}
