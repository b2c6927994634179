//! Node tools the tests run: a folder of the repository with its
//! `package.json` and `package-lock.json` (packages, and a Node to run them
//! on, pinned in the lock file), copied into the target folder and installed
//! there from npm on first use and again whenever the lock file changes.
//! `npm` itself comes from the machine (or Debian's `npm` package, installed
//! when missing and allowed). A test that cannot get it fails: it never skips.

use super::repo_path;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Installed folders by their path in the repository (one install at a time).
static INSTALLED: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);

/// The copy of the repository's folder `rel` with its packages installed
/// (`node_modules/.bin/node` included). Blocks: call it from a blocking thread.
pub fn installed(rel: &str) -> PathBuf {
    let mut all = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let result = all
        .get_or_insert_with(HashMap::new)
        .entry(rel.to_owned())
        .or_insert_with(|| install(rel));
    match result {
        Ok(dir) => dir.clone(),
        Err(e) => panic!("{rel} could not be installed: {e}"),
    }
}

/// The GraphQL-over-HTTP audit.
pub fn audit_dir() -> PathBuf {
    installed("tests/http-audit")
}

fn install(rel: &str) -> Result<PathBuf, String> {
    let src = repo_path(rel);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(rel.replace('/', "-"));
    copy_tree(&src, &dir)?;
    let lock = read(&src.join("package-lock.json"))?;
    let marker = dir.join("installed-package-lock.json");
    let installed = std::fs::read(&marker).is_ok_and(|m| m == lock)
        && dir.join("node_modules/.bin/node").exists();
    if !installed {
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
    Ok(dir)
}

/// Copies the files of `src` over those of `dst`, but for installed packages
/// and build output.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    for entry in std::fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().unwrap_or_default();
        if name == "node_modules" || name == "dist" {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &dst.join(name))?;
        } else {
            std::fs::copy(&path, dst.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
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
    if !runs("npm") {
        super::apt_install(&["npm"])?;
    }
    Ok("npm")
}
