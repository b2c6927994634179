//! `schema.graphql` keeps every promise of `tests/schema/baseline.graphql`.
//!
//! The breaking-change rules of graphql-js `findBreakingChanges`, in Rust, so
//! the check needs nothing from outside the repository. Additions are free;
//! see `tests/schema/README.md` for how the baseline grows.

use crate::support::repo_path;
use async_graphql::Name;
use async_graphql::parser::Positioned;
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, DirectiveDefinition, EnumValueDefinition, FieldDefinition, InputValueDefinition,
    Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use std::collections::{HashMap, HashSet};

type Fields = [Positioned<FieldDefinition>];
type Inputs = [Positioned<InputValueDefinition>];

/// Every breaking change of `new` against `old`, one line each, in `old`'s order.
fn breaking_changes(old: &str, new: &str) -> Vec<String> {
    let old = parse_schema(old).expect("the baseline SDL parses");
    let new = parse_schema(new).expect("the current SDL parses");
    let mut types = HashMap::new();
    let mut directives = HashMap::new();
    for def in &new.definitions {
        match def {
            TypeSystemDefinition::Type(t) => {
                types.insert(t.node.name.node.as_str(), &t.node);
            }
            TypeSystemDefinition::Directive(d) => {
                directives.insert(d.node.name.node.as_str(), &d.node);
            }
            TypeSystemDefinition::Schema(_) => {}
        }
    }
    let mut out = Vec::new();
    for def in &old.definitions {
        match def {
            TypeSystemDefinition::Type(old) => match types.get(old.node.name.node.as_str()) {
                Some(new) => compare_type(&old.node, new, &mut out),
                None => out.push(format!("{}: type removed", old.node.name.node)),
            },
            TypeSystemDefinition::Directive(old) => {
                match directives.get(old.node.name.node.as_str()) {
                    Some(new) => compare_directive(&old.node, new, &mut out),
                    None => out.push(format!("@{}: directive removed", old.node.name.node)),
                }
            }
            // Root operation types are not compared by graphql-js either.
            TypeSystemDefinition::Schema(_) => {}
        }
    }
    out
}

fn kind(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Scalar => "scalar",
        TypeKind::Object(_) => "object",
        TypeKind::Interface(_) => "interface",
        TypeKind::Union(_) => "union",
        TypeKind::Enum(_) => "enum",
        TypeKind::InputObject(_) => "input",
    }
}

/// Names in `old` that `new` lacks.
fn removed<'a>(
    old: impl IntoIterator<Item = &'a str>,
    new: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let new: HashSet<_> = new.into_iter().collect();
    old.into_iter().filter(|name| !new.contains(name)).collect()
}

fn names(list: &[Positioned<Name>]) -> Vec<&str> {
    list.iter().map(|n| n.node.as_str()).collect()
}

fn compare_type(old: &TypeDefinition, new: &TypeDefinition, out: &mut Vec<String>) {
    let ty = old.name.node.as_str();
    match (&old.kind, &new.kind) {
        (TypeKind::Object(o), TypeKind::Object(n)) => {
            compare_implements(ty, &names(&o.implements), &names(&n.implements), out);
            compare_fields(ty, &o.fields, &n.fields, out);
        }
        (TypeKind::Interface(o), TypeKind::Interface(n)) => {
            compare_implements(ty, &names(&o.implements), &names(&n.implements), out);
            compare_fields(ty, &o.fields, &n.fields, out);
        }
        // A client may switch over every member it was promised.
        (TypeKind::Union(o), TypeKind::Union(n)) => {
            for member in removed(names(&o.members), names(&n.members)) {
                out.push(format!("{ty}.{member}: union member removed"));
            }
        }
        (TypeKind::Enum(o), TypeKind::Enum(n)) => {
            let values = |e: &[Positioned<EnumValueDefinition>]| -> Vec<String> {
                e.iter().map(|v| v.node.value.node.to_string()).collect()
            };
            let (old, new) = (values(&o.values), values(&n.values));
            for value in removed(
                old.iter().map(String::as_str),
                new.iter().map(String::as_str),
            ) {
                out.push(format!("{ty}.{value}: enum value removed"));
            }
        }
        (TypeKind::InputObject(o), TypeKind::InputObject(n)) => {
            compare_inputs(
                &o.fields,
                &n.fields,
                |f| format!("{ty}.{f}"),
                "input field",
                out,
            );
        }
        (TypeKind::Scalar, TypeKind::Scalar) => {}
        (o, n) => out.push(format!(
            "{ty}: kind changed from {} to {}",
            kind(o),
            kind(n)
        )),
    }
}

/// Fragments on an interface stop matching once the type leaves it.
fn compare_implements(ty: &str, old: &[&str], new: &[&str], out: &mut Vec<String>) {
    for interface in removed(old.iter().copied(), new.iter().copied()) {
        out.push(format!("{ty}: no longer implements {interface}"));
    }
}

/// Fields of objects and interfaces: clients read them, so they may only get stricter.
fn compare_fields(ty: &str, old: &Fields, new: &Fields, out: &mut Vec<String>) {
    for old in old {
        let (old, field) = (&old.node, old.node.name.node.as_str());
        let Some(new) = new.iter().find(|f| f.node.name.node == field) else {
            out.push(format!("{ty}.{field}: field removed"));
            continue;
        };
        let new = &new.node;
        if !safe_type_change(&old.ty.node, &new.ty.node, true) {
            out.push(format!(
                "{ty}.{field}: type changed from {} to {}",
                old.ty.node, new.ty.node
            ));
        }
        let path = |arg: &str| format!("{ty}.{field}({arg}:)");
        compare_inputs(&old.arguments, &new.arguments, path, "argument", out);
    }
}

/// Arguments and input fields: clients send them, so they may only get looser,
/// and nothing new may be required (old queries do not send it).
fn compare_inputs(
    old: &Inputs,
    new: &Inputs,
    path: impl Fn(&str) -> String,
    what: &str,
    out: &mut Vec<String>,
) {
    for old in old {
        let (old, name) = (&old.node, old.node.name.node.as_str());
        match new.iter().find(|i| i.node.name.node == name) {
            None => out.push(format!("{}: {what} removed", path(name))),
            Some(new) if !safe_type_change(&old.ty.node, &new.node.ty.node, false) => {
                out.push(format!(
                    "{}: type changed from {} to {}",
                    path(name),
                    old.ty.node,
                    new.node.ty.node
                ));
            }
            Some(_) => {}
        }
    }
    for new in new {
        let (new, name) = (&new.node, new.node.name.node.as_str());
        let required = !new.ty.node.nullable && new.default_value.is_none();
        if required && !old.iter().any(|i| i.node.name.node == name) {
            out.push(format!("{}: required {what} added", path(name)));
        }
    }
}

/// Output (`output = true`) may become non-null, input may become nullable;
/// the named type and every list wrapper must stay.
fn safe_type_change(old: &Type, new: &Type, output: bool) -> bool {
    let nullability = if output {
        old.nullable || !new.nullable
    } else {
        !old.nullable || new.nullable
    };
    nullability
        && match (&old.base, &new.base) {
            (BaseType::Named(o), BaseType::Named(n)) => o == n,
            (BaseType::List(o), BaseType::List(n)) => safe_type_change(o, n, output),
            _ => false,
        }
}

fn compare_directive(old: &DirectiveDefinition, new: &DirectiveDefinition, out: &mut Vec<String>) {
    let d = old.name.node.as_str();
    compare_inputs(
        &old.arguments,
        &new.arguments,
        |a| format!("@{d}({a}:)"),
        "argument",
        out,
    );
    for loc in &old.locations {
        if !new.locations.iter().any(|l| l.node == loc.node) {
            out.push(format!("@{d}: location {:?} removed", loc.node));
        }
    }
    if old.is_repeatable && !new.is_repeatable {
        out.push(format!("@{d}: no longer repeatable"));
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).expect(rel)
}

#[test]
fn schema_keeps_the_baseline() {
    let changes = breaking_changes(
        &read("tests/schema/baseline.graphql"),
        &read("schema.graphql"),
    );
    assert!(
        changes.is_empty(),
        "schema.graphql breaks {} promise(s) of tests/schema/baseline.graphql \
         (a breaking change needs an issue that asks for it):\n{}",
        changes.len(),
        changes.join("\n")
    );
}

/// A check on the raw text, so a parser that yields nothing cannot pass vacuously.
#[test]
fn schema_graphql_defines_every_baseline_type() {
    let baseline = parse_schema(read("tests/schema/baseline.graphql")).expect("baseline parses");
    let schema = read("schema.graphql");
    let defined: HashSet<(&str, &str)> = schema
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect();
    let mut types = 0;
    for def in &baseline.definitions {
        if let TypeSystemDefinition::Type(t) = def {
            let keyword = match kind(&t.node.kind) {
                "object" => "type",
                other => other,
            };
            let name = t.node.name.node.as_str();
            assert!(
                defined.contains(&(keyword, name)),
                "schema.graphql lacks `{keyword} {name}`"
            );
            types += 1;
        }
    }
    assert!(types >= 10, "the baseline holds only {types} types");
    assert!(defined.contains(&("type", "Query")));
}

/// Small schemas that show the checker catches each rule and lets additions through.
mod rules {
    use super::breaking_changes;

    const BASE: &str = r#"
type Query {
  plan(id: ID!, first: Int): Plan
  plans: [Plan!]!
}
interface Node { id: ID! }
type Plan implements Node {
  id: ID!
  title: String!
  note: String
  status: PlanStatus!
}
type Region { code: String! }
union Hit = Plan | Region
enum PlanStatus { DRAFT PUBLISHED }
input PlanInput { name: String! memo: String }
directive @cached(ttl: Int) on FIELD_DEFINITION
"#;

    /// `BASE` with its one occurrence of `from` replaced by `to`.
    fn edit(from: &str, to: &str) -> String {
        assert_eq!(
            BASE.matches(from).count(),
            1,
            "`{from}` occurs once in BASE"
        );
        BASE.replace(from, to)
    }

    fn changes(from: &str, to: &str) -> Vec<String> {
        breaking_changes(BASE, &edit(from, to))
    }

    #[test]
    fn the_same_schema_has_no_breaking_change() {
        assert!(breaking_changes(BASE, BASE).is_empty());
    }

    #[test]
    fn removed_type() {
        let new = edit("type Region { code: String! }\n", "").replace(" | Region", "");
        assert_eq!(
            breaking_changes(BASE, &new),
            ["Region: type removed", "Hit.Region: union member removed"]
        );
    }

    #[test]
    fn changed_kind() {
        assert_eq!(
            changes("enum PlanStatus { DRAFT PUBLISHED }", "scalar PlanStatus"),
            ["PlanStatus: kind changed from enum to scalar"]
        );
    }

    #[test]
    fn removed_field() {
        assert_eq!(
            changes("  note: String\n", ""),
            ["Plan.note: field removed"]
        );
    }

    #[test]
    fn loosened_output() {
        assert_eq!(
            changes("title: String!", "title: String"),
            ["Plan.title: type changed from String! to String"]
        );
    }

    #[test]
    fn changed_output_named_type_or_list() {
        assert_eq!(
            changes("note: String", "note: Int"),
            ["Plan.note: type changed from String to Int"]
        );
        assert_eq!(
            changes("plans: [Plan!]!", "plans: Plan!"),
            ["Query.plans: type changed from [Plan!]! to Plan!"]
        );
    }

    #[test]
    fn removed_argument() {
        assert_eq!(
            changes("plan(id: ID!, first: Int)", "plan(id: ID!)"),
            ["Query.plan(first:): argument removed"]
        );
    }

    #[test]
    fn new_required_argument() {
        assert_eq!(
            changes("first: Int)", "first: Int, kind: String!)"),
            ["Query.plan(kind:): required argument added"]
        );
    }

    #[test]
    fn tightened_argument() {
        assert_eq!(
            changes("first: Int)", "first: Int!)"),
            ["Query.plan(first:): type changed from Int to Int!"]
        );
    }

    #[test]
    fn removed_input_field() {
        assert_eq!(
            changes(" memo: String }", " }"),
            ["PlanInput.memo: input field removed"]
        );
    }

    #[test]
    fn new_required_input_field() {
        assert_eq!(
            changes("memo: String }", "memo: String code: Int! }"),
            ["PlanInput.code: required input field added"]
        );
    }

    #[test]
    fn removed_enum_value() {
        assert_eq!(
            changes("DRAFT PUBLISHED", "PUBLISHED"),
            ["PlanStatus.DRAFT: enum value removed"]
        );
    }

    #[test]
    fn removed_union_member() {
        assert_eq!(
            changes("Plan | Region", "Plan"),
            ["Hit.Region: union member removed"]
        );
    }

    #[test]
    fn removed_interface() {
        assert_eq!(
            changes("Plan implements Node {", "Plan {"),
            ["Plan: no longer implements Node"]
        );
    }

    #[test]
    fn removed_directive() {
        assert_eq!(
            changes("directive @cached(ttl: Int) on FIELD_DEFINITION\n", ""),
            ["@cached: directive removed"]
        );
    }

    #[test]
    fn safe_changes_are_not_reported() {
        for (from, to) in [
            // added type, field, optional argument, defaulted required argument
            ("type Region {", "type Kraj { id: ID }\ntype Region {"),
            ("  note: String\n", "  note: String\n  summary: String\n"),
            ("first: Int)", "first: Int, after: String)"),
            ("first: Int)", "first: Int, limit: Int! = 10)"),
            // output tightened
            ("note: String", "note: String!"),
            ("Int): Plan\n", "Int): Plan!\n"),
            // argument and input field loosened, optional input field added
            ("plan(id: ID!", "plan(id: ID"),
            ("name: String!", "name: String"),
            ("memo: String }", "memo: String kind: String }"),
            // added enum value and union member
            ("DRAFT PUBLISHED", "DRAFT PUBLISHED ARCHIVED"),
            ("Plan | Region", "Plan | Region | Query"),
        ] {
            let found = changes(from, to);
            assert!(found.is_empty(), "`{from}` -> `{to}` is safe: {found:?}");
        }
    }
}
