//! Values parsed once, where they enter (an API input, a seed file): code
//! past a constructor trusts the type.

use crate::error::{Rule, ValidationError, ValidationResult};
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since the Unix epoch, UTC (the API formats it as DateTime).
pub type Timestamp = i64;

/// Years a plan, term or evaluation may name.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

/// A year within [`YEARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Year(i32);

impl Year {
    pub fn parse(field: &str, y: i32) -> ValidationResult<Self> {
        if YEARS.contains(&y) {
            Ok(Self(y))
        } else {
            Err(ValidationError::new(field, Rule::YearOutside(y)))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// From `start` to `end`, both years in range, the end not before the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Year,
    pub end: Year,
}

impl Period {
    pub fn parse(
        start_field: &str,
        start: i32,
        end_field: &str,
        end: i32,
    ) -> ValidationResult<Self> {
        let (start, end) = (
            Year::parse(start_field, start)?,
            Year::parse(end_field, end)?,
        );
        if end < start {
            return Err(ValidationError::new(
                end_field,
                Rule::EndsBefore {
                    end: end.0,
                    start: start.0,
                },
            ));
        }
        Ok(Self { start, end })
    }
}

/// A required text shown as a heading: trimmed, NFC, plain, non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    /// A title of up to [`MAX_TEXT`] characters (measures and activities have long ones).
    pub fn parse(field: &str, s: &str) -> ValidationResult<Self> {
        text::required(field, s, MAX_TEXT).map(Self)
    }

    /// A name of up to [`MAX_TITLE`] characters (plans, providers).
    pub fn name(field: &str, s: &str) -> ValidationResult<Self> {
        text::required(field, s, MAX_TITLE).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code as the document prints it (`1.2`, `B 3`, `1. 2`), unique among siblings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code(String);

impl Code {
    pub fn parse(field: &str, s: &str) -> ValidationResult<Self> {
        text::required(field, s, MAX_TITLE).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as lookups and sorting compare it: no space after a dot
    /// (`1. 2` and `1.2` are the same code; `1.4 a` keeps its space).
    pub fn normalized(&self) -> String {
        normalized_code(&self.0)
    }
}

/// See [`Code::normalized`]; also for codes a client looks up.
pub fn normalized_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_dot = false;
    for c in s.trim().chars() {
        if after_dot && c.is_whitespace() {
            continue;
        }
        after_dot = c == '.';
        out.push(c);
    }
    out
}

/// A calendar date with a year in [`YEARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    pub fn new(field: &str, year: i32, month: u32, day: u32) -> ValidationResult<Self> {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if (1..=days).contains(&day) && YEARS.contains(&year) {
            Ok(Self { year, month, day })
        } else {
            Err(ValidationError::new(
                field,
                Rule::NotADate { day, month, year },
            ))
        }
    }

    /// `2009-09-18`.
    pub fn parse_iso(field: &str, s: &str) -> ValidationResult<Self> {
        let bad = || ValidationError::new(field, Rule::NotIsoDate(s.to_owned()));
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else {
            return Err(bad());
        };
        Self::new(field, y, m, d).map_err(|_| bad())
    }

    /// A date as Czech documents write it: `31. 5. 2022`, `18.9.2009`.
    pub fn parse_czech(field: &str, s: &str) -> ValidationResult<Self> {
        let bad = || ValidationError::new(field, Rule::NotCzechDate(s.to_owned()));
        let parts: Vec<&str> = s.trim().split('.').map(str::trim).collect();
        let [d, m, y] = parts.as_slice() else {
            return Err(bad());
        };
        let (Ok(d), Ok(m), Ok(y)) = (d.parse(), m.parse(), y.parse()) else {
            return Err(bad());
        };
        Self::new(field, y, m, d)
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        self.month
    }
    pub fn day(self) -> u32 {
        self.day
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl TryFrom<String> for Date {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse_iso("date", &s).map_err(|e| e.message())
    }
}

impl From<Date> for String {
    fn from(d: Date) -> Self {
        d.to_string()
    }
}

/// An amount of money in whole Czech crowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "i64")]
pub struct AmountCzk(i64);

impl AmountCzk {
    pub fn new(field: &str, czk: i64) -> ValidationResult<Self> {
        if czk >= 0 {
            Ok(Self(czk))
        } else {
            Err(ValidationError::new(field, Rule::Negative))
        }
    }

    /// An amount a client sends as a number: whole crowns, not negative.
    pub fn from_number(field: &str, czk: f64) -> ValidationResult<Self> {
        if czk.is_finite() && czk.fract() == 0.0 && (0.0..9e15).contains(&czk) {
            Ok(Self(czk as i64))
        } else {
            Err(ValidationError::new(
                field,
                Rule::NotWholeCrowns(czk.to_string()),
            ))
        }
    }

    /// The first amount a Czech text states: `2 774 600,- Kč`, `100 mil Kč`,
    /// `1,5 mil. Kč`, `10 000 Kč / setkání`. `None` when it states none.
    pub fn parse_czech(s: &str) -> Option<Self> {
        let chars: Vec<char> = s.chars().collect();
        let start = chars.iter().position(char::is_ascii_digit)?;
        let mut whole = String::new();
        let mut fraction = String::new();
        let mut i = start;
        // Digits, with spaces (also no-break) between groups of three.
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                whole.push(c);
            } else if matches!(c, ' ' | '\u{a0}' | '\u{202f}')
                && chars
                    .get(i + 1..i + 4)
                    .is_some_and(|g| g.iter().all(char::is_ascii_digit))
            {
            } else {
                break;
            }
            i += 1;
        }
        if chars.get(i) == Some(&',') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                fraction.push(chars[i]);
                i += 1;
            }
        }
        let rest: String = chars[i..].iter().collect::<String>().to_lowercase();
        let rest = rest.trim_start_matches([',', '-', ' ', '\u{a0}']);
        let multiplier: i64 = if rest.starts_with("mld") {
            1_000_000_000
        } else if rest.starts_with("mil") {
            1_000_000
        } else if rest.starts_with("tis") {
            1_000
        } else {
            1
        };
        let after_unit = rest
            .trim_start_matches(|c: char| c.is_alphabetic() && c != 'k')
            .trim_start_matches(['.', ' ', '\u{a0}']);
        if !after_unit.starts_with("kč") {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let scale = 10i64.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().ok()?
        };
        let amount = whole
            .checked_mul(multiplier)?
            .checked_add(fraction.checked_mul(multiplier)? / scale)?;
        Some(Self(amount))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Read from any number (a seed file's integer, a JSON float) that is whole crowns.
impl TryFrom<f64> for AmountCzk {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        Self::from_number("amount_czk", v).map_err(|e| e.message())
    }
}

impl From<AmountCzk> for i64 {
    fn from(a: AmountCzk) -> Self {
        a.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_the_documents_write_them() {
        let czk = |s| AmountCzk::parse_czech(s).map(AmountCzk::get);
        assert_eq!(czk("2 774 600,- Kč"), Some(2_774_600));
        assert_eq!(czk("100 mil Kč"), Some(100_000_000));
        assert_eq!(czk("20 mil. Kč"), Some(20_000_000));
        assert_eq!(czk("1,5 mil. Kč"), Some(1_500_000));
        assert_eq!(czk("10 000 Kč / setkání"), Some(10_000));
        assert_eq!(czk("30\u{a0}000 Kč ročně"), Some(30_000));
        assert_eq!(czk("0 Kč"), Some(0));
        assert_eq!(czk("Nelze specifikovat"), None);
        assert_eq!(czk("2 pracovníci"), None);
    }

    #[test]
    fn amounts_sent_as_numbers_are_whole_crowns() {
        assert_eq!(
            AmountCzk::from_number("a", 2_774_600.0).map(AmountCzk::get),
            Ok(2_774_600)
        );
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY] {
            assert!(AmountCzk::from_number("a", bad).is_err(), "{bad}");
        }
        assert!(AmountCzk::new("a", -1).is_err());
    }

    #[test]
    fn dates_as_the_documents_write_them() {
        assert_eq!(
            Date::parse_czech("d", "31. 5. 2022").map(|d| d.to_string()),
            Ok("2022-05-31".into())
        );
        assert_eq!(
            Date::parse_czech("d", "18.9.2009").map(|d| d.to_string()),
            Ok("2009-09-18".into())
        );
        assert_eq!(
            Date::parse_czech("d", "3. 9. 2008").map(|d| d.to_string()),
            Ok("2008-09-03".into())
        );
        for bad in [
            "31. 6. 2022",
            "29. 2. 2023",
            "1. 1. 1989",
            "září 2009",
            "1. 2022",
        ] {
            assert!(Date::parse_czech("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iso_dates_are_checked() {
        assert!(Date::parse_iso("d", "2009-09-18").is_ok());
        assert!(Date::parse_iso("d", "2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "18.9.2009",
            "2009-13-01",
            "1890-01-01",
            "2009-9-18",
        ] {
            assert!(Date::parse_iso("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn years_and_periods() {
        assert!(Year::parse("y", 2101).is_err());
        assert!(Year::parse("y", 1989).is_err());
        assert_eq!(Year::parse("y", 2100).map(Year::get), Ok(2100));
        assert_eq!(Period::parse("s", 2023, "e", 2020).unwrap_err().field, "e");
        assert!(Period::parse("s", 2019, "e", 2023).is_ok());
    }

    #[test]
    fn titles_and_codes_are_plain_nfc_text() {
        assert_eq!(
            Title::parse("t", "  Pec\u{30c}ovatelská  ").map(|t| t.as_str().to_owned()),
            Ok("Pečovatelská".into())
        );
        assert!(Title::parse("t", " ").is_err());
        assert!(Title::name("t", "<b>Plán</b>").is_err());
        assert!(Title::name("t", &"x".repeat(MAX_TITLE + 1)).is_err());
        assert_eq!(
            Code::parse("c", "1. 2").map(|c| c.as_str().to_owned()),
            Ok("1. 2".into())
        );
        let normal = |s| Code::parse("c", s).map(|c| c.normalized());
        assert_eq!(normal("1. 2"), Ok("1.2".into()));
        assert_eq!(normal("1.2"), Ok("1.2".into()));
        assert_eq!(normal("1.4 a"), Ok("1.4 a".into()));
        assert_eq!(normal("1.2.6.1"), Ok("1.2.6.1".into()));
    }
}
