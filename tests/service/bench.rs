//! `bench/run.sh --smoke`: the load harness runs end to end with this build's
//! binary (SQLite and PostgreSQL, every operation at one connection for about
//! a second) and prints a row for each. It fails, never skips, when wrk or
//! PostgreSQL cannot be had.

use crate::support::{apt_install, repo_path};
use std::path::Path;
use std::process::Command;

const OPERATIONS: [&str; 7] = [
    "regions", "plan", "measures", "search", "capacity", "update", "mix",
];

#[test]
fn the_smoke_run_of_the_load_harness_answers_every_operation_on_both_databases() {
    let mut missing = vec![];
    if Command::new("wrk").arg("-v").output().is_err() {
        missing.push("wrk");
    }
    let postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| Path::new(&v.path()).join("bin/postgres").exists())
    });
    if !postgres {
        missing.push("postgresql");
    }
    if !missing.is_empty() {
        apt_install(&missing).unwrap_or_else(|e| panic!("the load harness needs {missing:?}: {e}"));
    }
    let out = Command::new("bash")
        .arg(repo_path("bench/run.sh"))
        .arg("--smoke")
        .env("KPSS_BIN", env!("CARGO_BIN_EXE_kpss"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!(
        "status {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    for db in ["SQLite", "PostgreSQL"] {
        for op in OPERATIONS {
            let row = format!("| {db} | kpss | {op} | 1 | ");
            assert!(
                stdout.lines().any(|l| l.starts_with(&row)),
                "no row {row:?} in the table\n{report}"
            );
        }
    }
}
