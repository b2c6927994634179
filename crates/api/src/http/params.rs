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
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The parameters of one GraphQL-over-HTTP request.
#[derive(Default)]
pub(super) struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub document_id: Option<String>,
    pub variables: Map<String, Value>,
    pub extensions: Map<String, Value>,
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
