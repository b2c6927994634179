//! The code's structure: no two modules of a crate import each other,
//! directly or through others. A module may use its parent's items and its
//! parent may use its own submodules' (a module made of files); any other
//! circle fails the test, which names each module of it and those of the
//! circle it imports.

use crate::support::repo_path;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module's path in its crate: `["graphql", "activity"]`; the root is empty.
type Module = Vec<String>;

/// The `.rs` files below `dir`, by module path, without test modules.
fn modules(src: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    for entry in fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            modules(src, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path
            .strip_prefix(src)
            .expect("below src")
            .with_extension("");
        let mut module: Module = rel.iter().map(|s| s.to_string_lossy().into()).collect();
        if matches!(
            module.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            module.pop();
        }
        if module.iter().any(|s| s == "tests") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a source file");
        // Tests come last in a file, behind `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code: Vec<&str> = code
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect();
        out.insert(module, code.join("\n"));
    }
}

/// The paths a use tree names (`a::{b, c::d}` -> `a::b`, `a::c::d`), read
/// from the start of `s`.
fn use_tree(s: &str, prefix: &[String], out: &mut Vec<Module>) -> usize {
    let mut path = prefix.to_vec();
    let mut i = 0;
    let b = s.as_bytes();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                let taken = use_tree(&s[i..], &path, out);
                // `*`, or anything else no path starts with, is passed over.
                i += taken.max(s[i..].chars().next().map_or(1, char::len_utf8));
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return i + 1;
                }
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let segment = &s[start..i];
        if !segment.is_empty() && segment != "self" {
            path.push(segment.to_owned());
        }
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The modules `module`'s code names through `crate::…` and `super::…`,
/// other than its own ancestors and submodules.
fn imports(module: &Module, code: &str, all: &BTreeMap<Module, String>) -> BTreeSet<Module> {
    let mut paths = Vec::new();
    for (at, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut named = Vec::new();
        use_tree(&code[at..], &[], &mut named);
        for p in named {
            let (mut base, rest) = match p.first().map(String::as_str) {
                Some("crate") => (Vec::new(), &p[1..]),
                _ => (module[..module.len().saturating_sub(1)].to_vec(), &p[1..]),
            };
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            paths.push(base);
        }
    }
    // Each path names the deepest module it reaches.
    paths
        .into_iter()
        .filter_map(|p| {
            (1..=p.len())
                .rev()
                .map(|k| p[..k].to_vec())
                .find(|m| all.contains_key(m))
        })
        .filter(|t| !t.is_empty() && !module.is_empty())
        .filter(|t| !t.starts_with(module) && !module.starts_with(t))
        .collect()
}

/// The circles of `edges`: its strongly connected parts of more than one module.
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for t in edges.get(&m).into_iter().flatten() {
                if seen.insert(t.clone()) {
                    todo.push(t.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&Module, BTreeSet<Module>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<Module>> = Vec::new();
    for (m, r) in &reached {
        let circle: Vec<Module> = r
            .iter()
            .filter(|t| reached.get(t).is_some_and(|back| back.contains(*m)))
            .cloned()
            .collect();
        if circle.len() > 1 && !out.iter().any(|c| c.contains(m)) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let mut crates: Vec<_> = fs::read_dir(repo_path("crates"))
        .expect("crates")
        .map(|e| e.expect("an entry").path().join("src"))
        .collect();
    crates.push(repo_path("src"));
    let mut found = Vec::new();
    let mut read = 0;
    for src in crates {
        let mut all = BTreeMap::new();
        modules(&src, &src, &mut all);
        read += all.len();
        let edges: BTreeMap<Module, BTreeSet<Module>> = all
            .iter()
            .map(|(m, code)| (m.clone(), imports(m, code, &all)))
            .collect();
        for circle in circles(&edges) {
            let ties: Vec<String> = circle
                .iter()
                .map(|m| {
                    let to: Vec<String> = edges[m]
                        .iter()
                        .filter(|t| circle.contains(t))
                        .map(|t| t.join("::"))
                        .collect();
                    format!("{} -> {}", m.join("::"), to.join(", "))
                })
                .collect();
            found.push(format!("{}: {}", src.display(), ties.join("; ")));
        }
    }
    assert!(read > 80, "read {read} modules");
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The reading itself: a circle through `use crate::{…}`, `super::` and a
/// path in code is found; a module using its parent, or its own child, is not one.
#[test]
fn the_reader_finds_a_circle() {
    let all: BTreeMap<Module, String> = [
        (
            vec!["a".into()],
            "use crate::{b::{self, X}, Result};".into(),
        ),
        (vec!["b".into()], "fn f() { crate::c::g() }".into()),
        (vec!["c".into()], "use super::a::Y;".into()),
        (vec!["d".into()], "mod e; use e::Z;".into()),
        (vec!["d".into(), "e".into()], "use super::W;".into()),
    ]
    .into();
    let edges: BTreeMap<Module, BTreeSet<Module>> = all
        .iter()
        .map(|(m, code)| (m.clone(), imports(m, code, &all)))
        .collect();
    let found = circles(&edges);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].len(), 3, "{found:?}");
    assert!(edges[&vec!["d".to_owned()]].is_empty());
}
