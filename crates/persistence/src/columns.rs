//! How domain values sit in columns: enums as their contract spelling, lists
//! as JSON arrays in text (which reads the same on SQLite and PostgreSQL),
//! dates as dates, source lines as integers.

use crate::{Error, Result};
use chrono::NaiveDate;
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
