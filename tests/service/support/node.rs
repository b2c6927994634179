//! The GraphQL-over-HTTP audit (`tests/http-audit`: graphql-http and a Node
//! to run it on, pinned in its `package-lock.json`), installed from npm into
//! the target folder on first use and again whenever the lock file changes.
//! `npm` itself comes from the machine (or Debian's `npm` package, installed
//! when missing and allowed). A test that cannot get it fails: it never skips.

use super::repo_path;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

static AUDIT_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The folder holding `audit.mjs` and its installed packages, `node_modules/.bin/node` included.
pub fn audit_dir() -> PathBuf {
    match AUDIT_DIR.get_or_init(install) {
        Ok(dir) => dir.clone(),
        Err(e) => panic!("the GraphQL-over-HTTP audit could not be installed: {e}"),
    }
}

fn install() -> Result<PathBuf, String> {
    let src = repo_path("tests/http-audit");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("http-audit");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lock = read(&src.join("package-lock.json"))?;
    let marker = dir.join("installed-package-lock.json");
    let installed = std::fs::read(&marker).is_ok_and(|m| m == lock)
        && dir.join("node_modules/.bin/node").exists();
    if !installed {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(src.join(file), dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
        }
        let npm = npm()?;
        let out = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("npm ci: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&marker, &lock).map_err(|e| e.to_string())?;
    }
    std::fs::copy(src.join("audit.mjs"), dir.join("audit.mjs")).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `npm` on the PATH, or installed from Debian's packages when this user may.
fn npm() -> Result<&'static str, String> {
    if runs("npm") {
        return Ok("npm");
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err(
            "npm is not installed and this user cannot install it (apt-get install npm)".into(),
        );
    }
    for args in [
        &["update", "-q"][..],
        &["install", "-y", "-q", "--no-install-recommends", "npm"][..],
    ] {
        let ok = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("apt-get {args:?} failed"));
        }
    }
    Ok("npm")
}
