//! Debian's Chromium for the browser tests, installed with apt-get when
//! missing (no browser download of a test tool's own). A test that cannot
//! get it fails: it never skips.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CHROMIUM: &str = "/usr/bin/chromium";

static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The browser's executable. Blocks: call it from a blocking thread.
pub fn path() -> PathBuf {
    let result = INSTALLED.get_or_init(|| {
        if !Path::new(CHROMIUM).exists() {
            super::apt_install(&["chromium"])?;
        }
        if Path::new(CHROMIUM).exists() {
            Ok(PathBuf::from(CHROMIUM))
        } else {
            Err(format!("chromium installed, but {CHROMIUM} is missing"))
        }
    });
    match result {
        Ok(p) => p.clone(),
        Err(e) => {
            panic!("Chromium is required for the browser tests and could not be provided: {e}")
        }
    }
}
