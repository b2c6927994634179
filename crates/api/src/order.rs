//! Response keys in selection-set order (the GraphQL spec's "Serialized Map
//! Ordering"). async-graphql 7 resolves sibling fields concurrently
//! (`FuturesUnordered` in `resolver_utils::container`) and inserts each one
//! as it completes, so `{ plans { … } me { … } }` may come back with `me`
//! first. The HTTP layer puts the keys back in the order of the document.

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition,
    Selection, SelectionSet,
};
use async_graphql::{InputType, Name, Positioned, Value, Variables};
use std::collections::HashMap;

/// Fragments nest at most this deep (validation has already refused cycles;
/// this only keeps a bug from recursing forever).
const MAX_FRAGMENT_NESTING: usize = 64;

/// The response keys of a selection set in order, each with the order of its own selection.
#[derive(Debug, Default)]
pub struct KeyOrder(Vec<(Name, KeyOrder)>);

/// The operation a request runs: the named one, or the only one.
pub fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
}

impl KeyOrder {
    /// The order of `operation`'s response (`None` when the document has no such operation).
    pub fn of(
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Option<Self> {
        let op = operation(doc, operation_name)?;
        let walk = Walk {
            fragments: &doc.fragments,
            variables,
        };
        Some(Self::build(&[&op.selection_set.node], &walk))
    }

    /// Merges the selection sets that answer one response key (CollectFields
    /// of the spec): keys in order of first appearance, fragments in place.
    fn build(sets: &[&SelectionSet], walk: &Walk<'_>) -> Self {
        let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
        for set in sets {
            collect(set, walk, &mut keys, 0);
        }
        Self(
            keys.into_iter()
                .map(|(key, subs)| {
                    let order = Self::build(&subs, walk);
                    (key, order)
                })
                .collect(),
        )
    }

    /// Reorders an object (or each object of a list) to this order, recursively.
    /// Keys this order does not know keep their place after the known ones.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|v| self.apply(v)),
            Value::Object(map) if !self.0.is_empty() => {
                // Most maps come back in order: those are left as they are.
                let mut expected = self.0.iter().map(|(name, _)| name);
                if !map.keys().all(|key| expected.any(|name| name == key)) {
                    let rank = |key: &Name| self.0.iter().position(|(name, _)| name == key);
                    map.sort_by_cached_key(|key, _| rank(key).unwrap_or(usize::MAX));
                }
                for (key, inner) in &self.0 {
                    if let Some(v) = map.get_mut(key) {
                        inner.apply(v);
                    }
                }
            }
            _ => {}
        }
    }
}

fn collect<'a>(
    set: &'a SelectionSet,
    walk: &Walk<'a>,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
    for selection in &set.items {
        if skipped(selection.node.directives(), walk.variables) {
            continue;
        }
        match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let sub = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key.clone(), vec![sub])),
                }
            }
            Selection::FragmentSpread(spread) if depth < MAX_FRAGMENT_NESTING => {
                if let Some(fragment) = walk.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, walk, keys, depth + 1);
                }
            }
            Selection::InlineFragment(inline) if depth < MAX_FRAGMENT_NESTING => {
                collect(&inline.node.selection_set.node, walk, keys, depth + 1);
            }
            _ => {}
        }
    }
}

/// `@skip` / `@include`, decided exactly as async-graphql decides them.
fn skipped(directives: &[Positioned<Directive>], variables: &Variables) -> bool {
    directives.iter().any(|d| {
        let include = match d.node.name.node.as_str() {
            "skip" => false,
            "include" => true,
            _ => return false,
        };
        d.node.get_argument("if").is_some_and(|condition| {
            let value = condition
                .node
                .clone()
                .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                .unwrap_or_default();
            let value: bool = InputType::parse(Some(value)).unwrap_or_default();
            include != value
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, response: serde_json::Value) -> String {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let vars = Variables::from_json(serde_json::json!({ "no": false }));
        let mut value = Value::from_json(response).unwrap();
        KeyOrder::of(&doc, None, &vars).unwrap().apply(&mut value);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn keys_follow_fields_aliases_and_fragments() {
        let q = "query { b: x { z y } ...F a @include(if: $no) c: x { ... on X { w } y } a } fragment F on Q { d }";
        let out = ordered(
            q,
            serde_json::json!({ "a": 1, "d": 2, "c": { "y": 4, "w": 3 }, "b": [{ "y": 5, "z": 6 }] }),
        );
        assert_eq!(
            out,
            r#"{"b":[{"z":6,"y":5}],"d":2,"c":{"w":3,"y":4},"a":1}"#
        );
    }

    #[test]
    fn a_map_in_order_still_has_its_inner_maps_ordered() {
        let out = ordered(
            "{ a { y z } b }",
            serde_json::json!({ "a": [{ "y": 1, "z": 2 }, { "z": 3, "y": 4 }], "b": 5 }),
        );
        assert_eq!(out, r#"{"a":[{"y":1,"z":2},{"y":4,"z":3}],"b":5}"#);
    }
}
