//! How domain values sit in columns: enums as their contract spelling, lists
//! as JSON arrays in text (which reads the same on SQLite and PostgreSQL),
//! dates as dates, source lines as integers.

use crate::{Error, Result};
use chrono::NaiveDate;
use kpss_domain::source::{Provenance, SourceRef};
use kpss_domain::value::Date;

pub(crate) fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse().map_err(Error::Data)
}

pub(crate) fn read_list(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| Error::Data(format!("stored list is not JSON: {e}")))
}

pub(crate) fn write_list(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(|e| Error::Data(format!("cannot encode a list: {e}")))
}

pub(crate) fn to_date(d: Date) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(d.year(), d.month(), d.day())
        .ok_or_else(|| Error::Data(format!("{d} is not a date")))
}

pub(crate) fn from_date(d: NaiveDate) -> Result<Date> {
    use chrono::Datelike;
    Ok(Date::new("date", d.year(), d.month(), d.day())?)
}

pub(crate) fn line(l: Option<u32>) -> Option<i32> {
    l.and_then(|l| i32::try_from(l).ok())
}

pub(crate) fn source_line(l: Option<i32>) -> Option<u32> {
    l.and_then(|l| u32::try_from(l).ok())
}

/// A record's provenance from its columns; none for a record created
/// through the API.
pub(crate) fn provenance(
    document: &Option<String>,
    first: Option<i32>,
    last: Option<i32>,
    text: &Option<String>,
    excerpt: &Option<String>,
    more: &Option<String>,
    reading: &Option<String>,
) -> Result<Option<Provenance>> {
    let main = (|| {
        Some(SourceRef {
            document: document.clone()?,
            first_line: source_line(first)?,
            last_line: source_line(last)?,
            text: text.clone()?,
            excerpt: excerpt.clone()?,
            fields: vec![],
        })
    })();
    let Some(main) = main else { return Ok(None) };
    let more = match more {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| Error::Data(format!("stored source ranges are not JSON: {e}")))?,
        None => vec![],
    };
    Ok(Some(Provenance {
        main,
        more,
        reading: reading.clone(),
    }))
}

/// The provenance columns of a row (`source!` reads them, `set_source!` writes them).
pub(crate) struct SourceColumns {
    pub document: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
    pub text: Option<String>,
    pub excerpt: Option<String>,
    pub more: Option<String>,
    pub reading: Option<String>,
}

impl SourceColumns {
    pub fn of(p: Option<&Provenance>) -> Self {
        let s = p.map(|p| &p.main);
        Self {
            document: s.map(|s| s.document.clone()),
            first: s.and_then(|s| line(Some(s.first_line))),
            last: s.and_then(|s| line(Some(s.last_line))),
            text: s.map(|s| s.text.clone()),
            excerpt: s.map(|s| s.excerpt.clone()),
            more: p
                .filter(|p| !p.more.is_empty())
                .and_then(|p| serde_json::to_string(&p.more).ok()),
            reading: p.and_then(|p| p.reading.clone()),
        }
    }
}

/// The provenance of a row of any sourced table.
macro_rules! source {
    ($m:expr) => {
        crate::columns::provenance(
            &$m.source_document,
            $m.source_line,
            $m.source_last_line,
            &$m.source_text,
            &$m.source_excerpt,
            &$m.source_more,
            &$m.reading,
        )?
    };
}

/// Sets the provenance columns of an active model of any sourced table.
macro_rules! set_source {
    ($am:ident, $src:expr) => {{
        let s = crate::columns::SourceColumns::of($src);
        $am.source_document = sea_orm::ActiveValue::Set(s.document);
        $am.source_line = sea_orm::ActiveValue::Set(s.first);
        $am.source_last_line = sea_orm::ActiveValue::Set(s.last);
        $am.source_text = sea_orm::ActiveValue::Set(s.text);
        $am.source_excerpt = sea_orm::ActiveValue::Set(s.excerpt);
        $am.source_more = sea_orm::ActiveValue::Set(s.more);
        $am.reading = sea_orm::ActiveValue::Set(s.reading);
    }};
}
