//! Persisted operations. By default, Apollo's automatic persisted queries: a
//! client sends the sha256 of its document (`extensions.persistedQuery`),
//! and the document itself only when the server answers
//! `PERSISTED_QUERY_NOT_FOUND`; short GET URLs follow. With
//! `KPSS_TRUSTED_DOCUMENTS`, only the listed documents run (the
//! `persisted-documents.json` of graphql-codegen's client preset).
//!
//! The protocol runs here rather than in async-graphql's extension because
//! every transport needs the document before execution (limits, GET must
//! not run mutations, response key order). The store is a `moka` cache
//! bounded in bytes of document text; a document is kept only once it has
//! passed the limits, and only up to a size. It also keeps the documents
//! sent as text alone, under their hash, so that a text is parsed once.

use async_graphql::ServerError;
use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Bytes of document text kept for automatic persisted queries (the least
/// recently used go first).
const APQ_BYTES: u64 = 8 * 1024 * 1024;
/// The longest document kept: a longer one runs, but is not stored.
const APQ_MAX_DOCUMENT_BYTES: usize = 64 * 1024;

pub enum Documents {
    /// Any document runs; one sent with its hash is kept (see
    /// [`Documents::remember`]), so the hash alone suffices next time.
    Automatic(moka::sync::Cache<String, Arc<Kept>>),
    /// Only these documents run, by their sha256 (hex).
    Trusted(HashMap<String, Kept>),
}

/// A document kept for its hash: parsed, and its text (for the WebSocket,
/// whose engine parses the text itself).
pub struct Kept {
    doc: ExecutableDocument,
    text: String,
}

/// Why a request names no document that may run.
#[derive(Debug)]
pub enum Refusal {
    /// Apollo's signal to send the document along with its hash.
    NotFound,
    /// Not a trusted document.
    Forbidden(String),
    /// A malformed `persistedQuery` or `documentId`, or a hash that is not the query's.
    Invalid(String),
    /// The document does not parse.
    Syntax(ServerError),
}

impl Documents {
    pub fn automatic() -> Self {
        Self::Automatic(
            moka::sync::Cache::builder()
                .max_capacity(APQ_BYTES)
                .weigher(|hash: &String, kept: &Arc<Kept>| {
                    u32::try_from(hash.len() + kept.text.len()).unwrap_or(u32::MAX)
                })
                .build(),
        )
    }

    /// Keeps a document sent with its hash, once it has passed the limits,
    /// so that the hash alone suffices next time.
    pub fn remember(&self, hash: &str, query: &str, doc: &ExecutableDocument) {
        if let Self::Automatic(cache) = self
            && query.len() <= APQ_MAX_DOCUMENT_BYTES
        {
            let kept = Kept {
                doc: doc.clone(),
                text: query.to_owned(),
            };
            cache.insert(hash.to_owned(), Arc::new(kept));
        }
    }

    /// The text of the document kept for `hash`.
    pub fn text(&self, hash: &str) -> Option<String> {
        match self {
            Self::Automatic(cache) => cache.get(hash).map(|k| k.text.clone()),
            Self::Trusted(list) => list.get(hash).map(|k| k.text.clone()),
        }
    }

    /// Reads a JSON object of sha256 hash -> document; every key must be its
    /// document's sha256 and every document must parse.
    pub fn trusted_from_file(path: &Path) -> Result<Self, String> {
        let fail = |e: String| format!("KPSS_TRUSTED_DOCUMENTS {}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let list: HashMap<String, String> = serde_json::from_str(&text)
            .map_err(|e| fail(format!("not a JSON object of sha256 hash -> document: {e}")))?;
        let mut trusted = HashMap::with_capacity(list.len());
        for (hash, document) in list {
            let hash = hash.to_ascii_lowercase();
            if sha256(&document) != hash {
                return Err(fail(format!(
                    "`{hash}` is not the sha256 of its document (graphql-codegen: persistedDocuments: {{ hashAlgorithm: 'sha256' }})"
                )));
            }
            let doc = parse_query(&document)
                .map_err(|e| fail(format!("document `{hash}` does not parse: {e}")))?;
            trusted.insert(
                hash,
                Kept {
                    doc,
                    text: document,
                },
            );
        }
        Ok(Self::Trusted(trusted))
    }

    /// The document a request runs, from its `query` text and/or the hash
    /// it names; with the hash to keep it under once it has passed the
    /// limits, when it is not kept yet (a text sent without its hash is kept
    /// too, so that it is parsed once).
    pub async fn resolve(
        &self,
        query: Option<&str>,
        hash: Option<&str>,
    ) -> Result<(ExecutableDocument, Option<String>), Refusal> {
        match self {
            Self::Trusted(list) => {
                let hash = match (hash, query) {
                    (Some(h), _) => h.to_owned(),
                    (None, Some(q)) => sha256(q),
                    (None, None) => return Err(no_query()),
                };
                let doc = list.get(&hash).map(|k| k.doc.clone()).ok_or_else(|| {
                    Refusal::Forbidden(format!(
                        "this server runs only its trusted documents, and `{hash}` is not one of them"
                    ))
                })?;
                Ok((doc, None))
            }
            Self::Automatic(cache) => {
                let hash = match (hash, query) {
                    (Some(h), None) => {
                        let kept = cache.get(h).ok_or(Refusal::NotFound)?;
                        return Ok((kept.doc.clone(), None));
                    }
                    (None, Some(q)) => sha256(q),
                    (Some(h), Some(q)) => {
                        if sha256(q) != h {
                            return Err(Refusal::Invalid(
                                "the persisted query's sha256Hash is not the sha256 of the query"
                                    .into(),
                            ));
                        }
                        h.to_owned()
                    }
                    (None, None) => return Err(no_query()),
                };
                let text = query.unwrap_or_default();
                match cache.get(&hash) {
                    Some(kept) if kept.text == text => Ok((kept.doc.clone(), None)),
                    _ => {
                        let doc = parse_query(text).map_err(|e| Refusal::Syntax(e.into()))?;
                        Ok((doc, Some(hash)))
                    }
                }
            }
        }
    }
}

fn no_query() -> Refusal {
    Refusal::Invalid("the request has no `query`".into())
}

/// The hash a request names: `extensions.persistedQuery.sha256Hash` (Apollo),
/// or `documentId` (`sha256:<hex>` or `<hex>`, GraphQL over HTTP's persisted documents).
pub fn requested_hash(
    extensions: &Map<String, Value>,
    document_id: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let hash = match (extensions.get("persistedQuery"), document_id) {
        (None | Some(Value::Null), None) => return Ok(None),
        (_, Some(id)) => id.strip_prefix("sha256:").unwrap_or(id),
        (Some(pq), None) => {
            if pq.get("version").and_then(Value::as_i64) != Some(1) {
                return Err(Refusal::Invalid(
                    "only version 1 of the persistedQuery extension is supported".into(),
                ));
            }
            pq.get("sha256Hash")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Refusal::Invalid("persistedQuery needs a sha256Hash string".into())
                })?
        }
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::Invalid(
            "a persisted document's hash is 64 hexadecimal digits (sha256)".into(),
        ));
    }
    Ok(Some(hash.to_ascii_lowercase()))
}

/// The sha256 of `text` in lower-case hexadecimal, as hashes are named.
fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text sent without its hash is parsed once and kept under its hash,
    /// which then names it too.
    #[tokio::test]
    async fn a_text_is_parsed_once() {
        let documents = Documents::automatic();
        let q = "{ regions { code } }";
        let (doc, to_keep) = documents.resolve(Some(q), None).await.expect("parses");
        let hash = to_keep.expect("not kept yet");
        assert_eq!(hash, format!("{:x}", Sha256::digest(q)));
        documents.remember(&hash, q, &doc);
        let (again, to_keep) = documents.resolve(Some(q), None).await.expect("kept");
        assert!(to_keep.is_none());
        assert_eq!(format!("{again:?}"), format!("{doc:?}"));
        assert!(documents.resolve(None, Some(&hash)).await.is_ok());
        let other = "{ regions { name } }";
        assert!(
            documents
                .resolve(Some(other), None)
                .await
                .expect("parses")
                .1
                .is_some()
        );
    }

    #[test]
    fn the_store_is_bounded_in_bytes_and_per_document() {
        let documents = Documents::automatic();
        let Documents::Automatic(cache) = &documents else {
            panic!("automatic");
        };
        // 150 texts of 60 KiB: 9 MiB offered, 8 MiB kept at most (a
        // document weighs its text; one parsed document stands for all).
        let doc = parse_query("{ me { role } }").expect("parses");
        for i in 0..150 {
            let query = format!("{i}{}", "x".repeat(60 * 1024));
            documents.remember(&format!("{i:064}"), &query, &doc);
        }
        cache.run_pending_tasks();
        let kept = cache.weighted_size();
        assert!(kept <= APQ_BYTES && kept > APQ_BYTES / 2, "{kept}");
        // A document over the per-document cap is not kept at all.
        let long = "x".repeat(APQ_MAX_DOCUMENT_BYTES + 1);
        documents.remember("long", &long, &doc);
        cache.run_pending_tasks();
        assert!(cache.get("long").is_none());
    }
}
