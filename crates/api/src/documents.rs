//! A plan's council document (DOCX or PDF), as `GET /documents/plans/…`
//! and `kpss document` make it: the plan read in the caller's scope
//! (`export::plan`), rendered by `kpss-documents` on the blocking pool,
//! at most as many at once as the machine has cores.

use crate::error::ApiError;
use kpss_documents::{Format, Input, Options};
use kpss_domain::value::{Date, Year};
use kpss_persistence::Scoped;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Renders at once, across all callers: rendering is CPU work, and the
/// blocking pool would otherwise take every core from the requests.
static RENDERS: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
});

/// Which document of which plan.
#[derive(Debug, Clone)]
pub struct Request {
    pub plan_id: i64,
    pub format: Format,
    /// The evaluation of this year instead of the plan.
    pub evaluation: Option<i32>,
    /// An appendix with each record's source lines.
    pub sources: bool,
}

/// A made document and the file name it is offered under.
pub struct Made {
    pub bytes: Vec<u8>,
    pub file_name: String,
}

/// The document, or `NOT_FOUND` for a plan that is missing or that the
/// caller may not read (the same answer: the caller learns nothing more).
pub async fn make(scoped: &Scoped, r: &Request, today: Date) -> Result<Made, ApiError> {
    if let Some(year) = r.evaluation {
        Year::parse("evaluation", year)?;
    }
    let export = kpss_persistence::export::plan(scoped, r.plan_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no plan {}", r.plan_id)))?;
    let file_name = format!(
        "{}.{}",
        kpss_documents::model::file_stem(&export.plan, r.evaluation),
        r.format.extension()
    );
    let options = Options {
        evaluation: r.evaluation,
        sources: r.sources,
        generated: today,
    };
    let format = r.format;
    // The permit goes with the work: a request that timed out still holds
    // its place until its rendering ends.
    let permit = RENDERS
        .acquire()
        .await
        .map_err(|_| ApiError::ServiceUnavailable("the server is stopping".into()))?;
    let rendered = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let input = Input {
            region: &export.region.name,
            plan: &export.plan,
            source_lines: &export.source_lines,
        };
        kpss_documents::render(&input, &options, format)
    })
    .await;
    match rendered {
        Ok(Ok(bytes)) => Ok(Made { bytes, file_name }),
        Ok(Err(e)) => {
            tracing::error!(error = %e, plan = r.plan_id, "document not rendered");
            Err(ApiError::Internal)
        }
        Err(e) => {
            tracing::error!(error = %e, plan = r.plan_id, "document rendering panicked");
            Err(ApiError::Internal)
        }
    }
}

/// Today in the server's time zone, as the footer states it.
pub fn today() -> Result<Date, ApiError> {
    use chrono::Datelike;
    let d = chrono::Local::now().date_naive();
    Date::new("today", d.year(), d.month(), d.day()).map_err(|_| ApiError::Internal)
}

/// `attachment` with the Czech name (RFC 6266 `filename*`, RFC 5987
/// encoding) and a plain ASCII one for clients that know only `filename`.
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '/' => '_',
            c if c.is_ascii_graphic() || c == ' ' => c,
            c if c.is_control() => '_',
            '–' | '—' => '-',
            c => {
                let folded = kpss_domain::text::fold(&c.to_string());
                let folded = if c.is_uppercase() {
                    folded.to_uppercase()
                } else {
                    folded
                };
                match folded.chars().next() {
                    Some(f) if f.is_ascii_alphanumeric() => f,
                    _ => '_',
                }
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_czech_file_name_is_offered_encoded_and_in_ascii() {
        assert_eq!(
            content_disposition("Akční plán na rok 2023.pdf"),
            "attachment; filename=\"Akcni plan na rok 2023.pdf\"; filename*=UTF-8''Ak%C4%8Dn%C3%AD%20pl%C3%A1n%20na%20rok%202023.pdf"
        );
        assert_eq!(
            content_disposition("Vyhodnocení 2023 – \"Plán\"/Ř.docx"),
            "attachment; filename=\"Vyhodnoceni 2023 - _Plan__R.docx\"; filename*=UTF-8''Vyhodnocen%C3%AD%202023%20%E2%80%93%20%22Pl%C3%A1n%22%2F%C5%98.docx"
        );
    }
}
