//! Territory: kraje (NUTS 3) and regions (tenants).

use crate::error::{Rule, ValidationError, ValidationResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A region's slug (`klatovy`, `karlovy-vary`): the tenant's id in tokens and the API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(field: &str, s: &str) -> ValidationResult<Self> {
        let valid = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                Rule::NotRegionCode(s.to_owned()),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A kraj's NUTS 3 code (`CZ032`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KrajCode(String);

impl KrajCode {
    pub fn parse(field: &str, s: &str) -> ValidationResult<Self> {
        let b = s.as_bytes();
        if b.len() == 5 && s.starts_with("CZ0") && b[3..].iter().all(u8::is_ascii_digit) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(field, Rule::NotKrajCode(s.to_owned())))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! code_conversions {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = ValidationError;
            fn try_from(s: String) -> ValidationResult<Self> {
                Self::parse("", &s)
            }
        }
        impl From<$t> for String {
            fn from(c: $t) -> String {
                c.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
code_conversions!(RegionCode);
code_conversions!(KrajCode);

crate::enum_str! {
    /// What kind of territory a region's plans cover.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum RegionKind {
        /// Správní obvod obce s rozšířenou působností.
        Orp = "ORP",
        /// Statutární město.
        StatutoryCity = "STATUTORY_CITY",
        /// A kraj's own plans.
        Kraj = "KRAJ",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kraj {
    pub code: KrajCode,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
    pub kind: RegionKind,
    pub kraj: KrajCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes_are_lowercase_slugs() {
        assert!(RegionCode::parse("r", "karlovy-vary").is_ok());
        for bad in ["Klatovy", "*", "", "kroměříž", "-a", "a b"] {
            assert!(RegionCode::parse("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kraj_codes_are_nuts3() {
        assert!(KrajCode::parse("k", "CZ041").is_ok());
        for bad in ["cz041", "CZ04", "CZ0411", "SK041", "*"] {
            assert!(KrajCode::parse("k", bad).is_err(), "{bad}");
        }
    }
}
