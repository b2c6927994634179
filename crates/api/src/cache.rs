//! Answers of queries, reused while the data they show is unchanged.
//!
//! An answer is stored under its request (document, operation, variables)
//! and the caller's effective scope (role and granted regions), with the
//! data version of the caller's readable regions as read before it ran. It
//! is reused only when that version, read again from the database for the
//! new request, is the same: a write on any instance commits a new version,
//! so the very next read anywhere runs afresh. Only answers without errors
//! are stored, and none that shows who the caller is (`me`).

use axum::body::Bytes;
use kpss_domain::access::{Ctx, Grant};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Key = [u8; 32];

pub struct ResponseCache {
    /// `None` when the cache is off (0 MB).
    entries: Option<moka::sync::Cache<Key, Arc<Cached>>>,
}

pub struct Cached {
    pub version: i64,
    pub body: Bytes,
}

/// What a request asks for, as the cache tells requests apart.
pub struct Request<'a> {
    pub query: Option<&'a str>,
    pub hash: Option<&'a str>,
    pub operation_name: Option<&'a str>,
    pub variables: &'a Map<String, Value>,
}

impl ResponseCache {
    /// A cache of at most `megabytes` of answers; 0 turns it off.
    pub fn new(megabytes: u64) -> Self {
        let entries = (megabytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(megabytes * 1024 * 1024)
                .weigher(|_: &Key, c: &Arc<Cached>| {
                    u32::try_from(c.body.len() + 96).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { entries }
    }

    pub fn is_on(&self) -> bool {
        self.entries.is_some()
    }

    /// The key of `request` asked by `ctx`: everything an answer depends on
    /// apart from the data (the subject only through `me`, never stored).
    pub fn key(ctx: &Ctx, request: &Request<'_>) -> Key {
        let mut h = Sha256::new();
        h.update(ctx.role.as_str());
        for grant in [&ctx.read, &ctx.write, &ctx.admin] {
            hash_grant(&mut h, grant);
        }
        for part in [request.query, request.hash, request.operation_name] {
            // A length before each part, so that no two requests run together alike.
            let part = part.unwrap_or_default();
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.update(serde_json::to_vec(request.variables).unwrap_or_default());
        h.finalize().into()
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        self.entries.as_ref()?.get(key)
    }

    pub fn put(&self, key: Key, version: i64, body: Bytes) {
        if let Some(entries) = &self.entries {
            entries.insert(key, Arc::new(Cached { version, body }));
        }
    }
}

fn hash_grant(h: &mut Sha256, g: &Grant) {
    h.update([u8::from(g.all)]);
    for code in g.regions.iter().map(|r| r.as_str()) {
        h.update(code);
        h.update(",");
    }
    h.update(";");
    for code in g.kraje.iter().map(|k| k.as_str()) {
        h.update(code);
        h.update(",");
    }
    h.update("|");
}

/// Set by a resolver whose answer is the caller's own (`me`): such an
/// answer is not stored.
#[derive(Default)]
pub struct Personal(AtomicBool);

impl Personal {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_marked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
