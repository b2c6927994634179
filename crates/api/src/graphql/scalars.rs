//! Scalars of the schema: dates and points in time.

use async_graphql::{Scalar, ScalarType, Value};

/// A calendar date, ISO 8601 (`2009-09-18`).
pub struct Date(pub kpss_domain::value::Date);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(s) => kpss_domain::value::Date::parse_iso("date", s)
                .map(Date)
                .map_err(|e| async_graphql::InputValueError::custom(e.message())),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A point in time, RFC 3339 in UTC (`2026-11-23T10:00:00Z`).
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

impl DateTime {
    pub fn from_secs(secs: i64) -> Self {
        Self(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }
}

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| DateTime(d.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    async_graphql::InputValueError::custom("expected an RFC 3339 date-time")
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}
