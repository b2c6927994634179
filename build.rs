//! Builds the seed files into the binary (`$OUT_DIR/seeds.rs`: a list of
//! path and `include_str!`), so that `kpss serve` loads them from any folder.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let seeds = root.join("seeds");
    // A directory: cargo looks at every file under it.
    println!("cargo::rerun-if-changed=seeds");
    let mut files = yaml_and_sources(&seeds);
    files.sort();
    let entries: String = files
        .iter()
        .map(|rel| {
            let path = seeds.join(rel);
            format!(
                "    ({rel:?}, include_str!({:?})),\n",
                path.display().to_string()
            )
        })
        .collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("seeds.rs"), format!("&[\n{entries}]\n")).expect("write seeds.rs");
}

/// What the loader reads: the top-level YAML files and `sources/*`.
fn yaml_and_sources(seeds: &Path) -> Vec<String> {
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect()
    };
    let yaml = names(seeds).into_iter().filter(|n| n.ends_with(".yaml"));
    let sources = names(&seeds.join("sources"))
        .into_iter()
        .map(|n| format!("sources/{n}"));
    yaml.chain(sources).collect()
}
