//! Abuse limits: one [`Limits`] with documented defaults, and the check
//! that measures a query's shape (nesting, depth, aliases, root
//! fields, complexity) before any resolver runs.

use crate::error::ApiError;
use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
    TypeDefinition, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ErrorExtensions, ServerError, ServerResult, Value, Variables};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Abuse limits, each set by environment or flag, with their defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Deepest field nesting of a query (introspection is bounded by complexity alone).
    #[arg(long, env = "KPSS_MAX_DEPTH", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Highest complexity of a query: each field costs 1, and a list multiplies
    /// what it holds by its `first` (or by an assumed list size).
    #[arg(long, env = "KPSS_MAX_COMPLEXITY", default_value_t = Limits::default().max_complexity)]
    pub max_complexity: u64,
    /// Most aliases, and most root fields, of one operation.
    #[arg(long, env = "KPSS_MAX_ALIASES", default_value_t = Limits::default().max_aliases)]
    pub max_aliases: usize,
    /// Most operations in one batch (a JSON array of requests).
    #[arg(long, env = "KPSS_MAX_BATCH", default_value_t = Limits::default().max_batch)]
    pub max_batch: usize,
    /// Largest request body in bytes.
    #[arg(long, env = "KPSS_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest plan file an import takes, in bytes: an upload (a multipart
    /// `file`), or a workbook unpacked eight times over; `content` in a JSON
    /// body stays within the body limit.
    #[arg(long, env = "KPSS_IMPORT_MAX_BYTES", default_value_t = Limits::default().max_import_bytes)]
    pub max_import_bytes: usize,
    /// Most rows of data in one sheet of an imported workbook.
    #[arg(long, env = "KPSS_IMPORT_MAX_ROWS", default_value_t = Limits::default().max_import_rows)]
    pub max_import_rows: usize,
    /// Longest a request may run (also PostgreSQL's `statement_timeout`), e.g. `10s`, `500ms`.
    #[arg(long, env = "KPSS_REQUEST_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub request_timeout: Duration,
    /// Operations per second of one `sub`, or of one address without a valid
    /// token (token bucket refill); 0 turns the rate limit off.
    #[arg(long, env = "KPSS_RATE_LIMIT_PER_SECOND", default_value_t = Limits::default().rate_limit_per_second)]
    pub rate_limit_per_second: u32,
    /// Operations one `sub` may send at once before the refill rate applies.
    #[arg(long, env = "KPSS_RATE_LIMIT_BURST", default_value_t = Limits::default().rate_limit_burst)]
    pub rate_limit_burst: u32,
    /// Operations of one `sub` that run at once; as many more wait (up to the
    /// request time) before RATE_LIMITED. 0 turns the cap off.
    #[arg(long, env = "KPSS_MAX_CONCURRENT_PER_SUBJECT", default_value_t = Limits::default().max_concurrent_per_subject)]
    pub max_concurrent_per_subject: usize,
    /// Largest `first` of a connection or search (the contract's 100).
    #[arg(skip = Limits::default().max_page_size)]
    pub max_page_size: usize,
    /// Whether introspection is served (set from `KPSS_ENV` and `KPSS_INTROSPECTION`).
    #[arg(skip = true)]
    pub introspection: bool,
    /// Whether `GET /graphql` serves GraphiQL (set from `KPSS_ENV` and `KPSS_GRAPHIQL`).
    #[arg(skip = true)]
    pub graphiql: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 1_000_000,
            max_aliases: 30,
            max_batch: 10,
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 10 * 1024 * 1024,
            max_import_rows: 10_000,
            request_timeout: Duration::from_secs(10),
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            max_concurrent_per_subject: 8,
            max_page_size: 100,
            introspection: true,
            graphiql: true,
        }
    }
}

/// `first` when a client gives none.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// What a list without `first` is assumed to hold, for complexity: the
/// priorities of a plan, the measures of a priority, and so on.
pub const ASSUMED_LIST_SIZE: u64 = 5;

/// Deepest bracket nesting (`{`, `[`, `(`) of a query text: the parser
/// recurses per level, so deeper texts are refused before parsing.
const MAX_NESTING: usize = 64;

/// The spec's introspection types, which the schema's SDL leaves out; their
/// lists (`fields`, `types`, ...) multiply like any other.
const INTROSPECTION_SDL: &str = "
type __Schema { types: [__Type!]! queryType: __Type! mutationType: __Type subscriptionType: __Type directives: [__Directive!]! }
type __Type { ofType: __Type fields: [__Field!] interfaces: [__Type!] possibleTypes: [__Type!] enumValues: [__EnumValue!] inputFields: [__InputValue!] }
type __Field { args: [__InputValue!]! type: __Type! }
type __InputValue { type: __Type! }
type __EnumValue { name: String! }
type __Directive { args: [__InputValue!]! }
";

pub fn too_complex(message: impl Into<String>) -> ServerError {
    ApiError::TooComplex(message.into())
        .extend()
        .into_server_error(async_graphql::Pos::default())
}

/// The output type of one field of the schema, as far as cost is concerned.
#[derive(Debug)]
struct FieldType {
    named: String,
    list: bool,
    paginated: bool,
}

/// Field types by type name and field name, read from the schema's SDL.
#[derive(Debug, Default)]
pub struct Types(HashMap<String, HashMap<String, FieldType>>);

impl Types {
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = HashMap::new();
        for source in [sdl, INTROSPECTION_SDL] {
            let Ok(doc) = async_graphql::parser::parse_schema(source) else {
                continue;
            };
            for def in doc.definitions {
                if let TypeSystemDefinition::Type(t) = def {
                    let TypeDefinition { name, kind, .. } = t.node;
                    let fields = match kind {
                        TypeKind::Object(o) => o.fields,
                        TypeKind::Interface(i) => i.fields,
                        _ => continue,
                    };
                    let fields = fields
                        .into_iter()
                        .map(|f| {
                            let f = f.node;
                            let (named, list) = named_type(&f.ty.node.base);
                            let paginated = f.arguments.iter().any(|a| a.node.name.node == "first");
                            (
                                f.name.node.to_string(),
                                FieldType {
                                    named,
                                    list,
                                    paginated,
                                },
                            )
                        })
                        .collect();
                    types.insert(name.node.to_string(), fields);
                }
            }
        }
        Self(types)
    }

    fn field(&self, on: &str, name: &str) -> Option<&FieldType> {
        self.0.get(on)?.get(name)
    }
}

fn named_type(base: &BaseType) -> (String, bool) {
    match base {
        BaseType::Named(n) => (n.to_string(), false),
        BaseType::List(inner) => (named_type(&inner.base).0, true),
    }
}

/// The measured shape of a selection.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    cost: u64,
    depth: usize,
    aliases: usize,
    fields: usize,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.aliases += other.aliases;
        self.fields += other.fields;
    }
}

/// One walk over an operation; each fragment is measured once per page size,
/// so the walk stays linear in the size of the text.
struct Walk<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    types: &'a Types,
    max_page_size: u64,
    measured: HashMap<(&'a str, &'a str, Option<u64>), Shape>,
    entered: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, on: &'a str, page: Option<u64>) -> Shape {
        let mut shape = Shape::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(f) => {
                    shape.add(self.field(&f.node, on, page));
                }
                Selection::InlineFragment(i) => {
                    let on = i
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(on, |c| c.node.on.node.as_str());
                    shape.add(self.selection_set(&i.node.selection_set.node, on, page));
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    shape.add(self.fragment(name, on, page));
                }
            }
        }
        shape
    }

    fn fragment(&mut self, name: &'a str, on: &'a str, page: Option<u64>) -> Shape {
        if let Some(shape) = self.measured.get(&(name, on, page)) {
            return *shape;
        }
        // A cycle or an unknown fragment: validation refuses it afterwards.
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Shape::default();
        };
        if !self.entered.insert(name) {
            return Shape::default();
        }
        let fragment_on = fragment.node.type_condition.node.on.node.as_str();
        let shape = self.selection_set(&fragment.node.selection_set.node, fragment_on, page);
        self.entered.remove(name);
        self.measured.insert((name, on, page), shape);
        shape
    }

    fn field(&mut self, field: &'a Field, on: &'a str, page: Option<u64>) -> Shape {
        let name = field.name.node.as_str();
        let def = self.types.field(on, name);
        let first = def.filter(|d| d.paginated).map(|_| self.first(field));
        let inner = self.selection_set(
            &field.selection_set.node,
            def.map_or("", |d| d.named.as_str()),
            first,
        );
        let times = match def {
            Some(d) if d.list && !field.selection_set.node.items.is_empty() => {
                first.or(page).unwrap_or(ASSUMED_LIST_SIZE)
            }
            _ => 1,
        };
        let introspection = name.starts_with("__");
        Shape {
            cost: inner.cost.saturating_mul(times).saturating_add(1),
            depth: if introspection { 0 } else { inner.depth + 1 },
            aliases: inner.aliases + usize::from(field.alias.is_some()),
            fields: 1,
        }
    }

    /// A variable's value as sent, or its default in the operation.
    fn variable(&self, name: &async_graphql::Name) -> Option<Value> {
        self.variables.get(name).cloned().or_else(|| {
            self.operation
                .variable_definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
        })
    }

    /// The `first` a field asks for (a literal or a variable), at most the page size.
    fn first(&self, field: &Field) -> u64 {
        let value = field.get_argument("first").and_then(|v| {
            v.node
                .clone()
                .into_const_with(|var| self.variable(&var).ok_or(()))
                .ok()
        });
        let first = match value {
            None | Some(Value::Null) => i64::from(DEFAULT_PAGE_SIZE),
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(_) => 0,
        };
        (first.max(0) as u64).min(self.max_page_size)
    }
}

/// The limits with what checking them needs: the schema's field types.
/// Checked in the transport (HTTP and WebSocket) rather than in a schema
/// extension, which would add a hook to every field's resolution.
pub struct QueryLimits {
    limits: Limits,
    types: Types,
}

impl QueryLimits {
    /// The limits, measuring costs by the field types of `sdl` (the schema's).
    pub fn new(limits: Limits, sdl: &str) -> Self {
        Self {
            limits,
            types: Types::from_sdl(sdl),
        }
    }

    /// Refuses, before parsing, a text nested deeper than any real query.
    pub fn check_nesting(&self, query: &str) -> ServerResult<()> {
        if nesting(query) > MAX_NESTING {
            return Err(too_complex(format!(
                "the query is nested more than {MAX_NESTING} brackets deep"
            )));
        }
        Ok(())
    }

    /// Refuses a parsed document over a limit.
    pub fn check_document(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
    ) -> ServerResult<()> {
        check(doc, variables, &self.types, &self.limits)
    }
}

impl std::ops::Deref for QueryLimits {
    type Target = Limits;

    fn deref(&self) -> &Limits {
        &self.limits
    }
}

/// Checks every operation of a parsed document against the limits.
fn check(
    doc: &ExecutableDocument,
    variables: &Variables,
    types: &Types,
    limits: &Limits,
) -> ServerResult<()> {
    for (_, operation) in doc.operations.iter() {
        let root = match operation.node.ty {
            async_graphql::parser::types::OperationType::Query => "Query",
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
        };
        let mut walk = Walk {
            doc,
            operation: &operation.node,
            variables,
            types,
            max_page_size: limits.max_page_size as u64,
            measured: HashMap::new(),
            entered: HashSet::new(),
        };
        let shape = walk.selection_set(&operation.node.selection_set.node, root, None);
        if shape.depth > limits.max_depth {
            return Err(too_complex(format!(
                "the query is {} fields deep; at most {} are allowed",
                shape.depth, limits.max_depth
            )));
        }
        if shape.aliases > limits.max_aliases {
            return Err(too_complex(format!(
                "the query has {} aliases; at most {} are allowed",
                shape.aliases, limits.max_aliases
            )));
        }
        if shape.fields > limits.max_aliases {
            return Err(too_complex(format!(
                "the operation has {} root fields; at most {} are allowed",
                shape.fields, limits.max_aliases
            )));
        }
        if shape.cost > limits.max_complexity {
            return Err(too_complex(format!(
                "the query's complexity is {}; at most {} is allowed",
                shape.cost, limits.max_complexity
            )));
        }
    }
    Ok(())
}

/// The complexity of the one operation of `query` (for tests and for
/// choosing the default), or None when it does not parse.
pub fn complexity(query: &str, sdl: &str) -> Option<u64> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let types = Types::from_sdl(sdl);
    let (_, operation) = doc.operations.iter().next()?;
    let mut walk = Walk {
        doc: &doc,
        operation: &operation.node,
        variables: &Variables::default(),
        types: &types,
        max_page_size: Limits::default().max_page_size as u64,
        measured: HashMap::new(),
        entered: HashSet::new(),
    };
    Some(
        walk.selection_set(&operation.node.selection_set.node, "Query", None)
            .cost,
    )
}

/// The deepest bracket nesting outside strings and comments.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' if chars.next_if_eq(&'"').is_some() => {
                if chars.next_if_eq(&'"').is_none() {
                    continue; // ""
                }
                // A block string runs to the next """.
                let mut quotes = 0;
                for c in chars.by_ref() {
                    quotes = if c == '"' { quotes + 1 } else { 0 };
                    if quotes == 3 {
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c == '"' || c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: Limits,
    }

    #[test]
    fn command_line_defaults_are_the_documented_defaults() {
        let parsed = Cli::parse_from(["kpss"]).limits;
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Limits::default()));
    }

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(nesting("{ a { b } }"), 2);
        assert_eq!(nesting(r#"{ a(x: "{{{[[") { b } } # {{{{"#), 2);
        assert_eq!(nesting("{ a(x: \"\"\" {{{ \" \"\"\") }"), 2);
        assert_eq!(nesting(&"[".repeat(100)), 100);
    }
}
