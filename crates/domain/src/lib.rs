//! The KPSS domain: what a community plan of social services is made of,
//! and the rules every record obeys. Pure: no I/O, no database or GraphQL types.

/// An enum stored as text, each variant with its exact spelling of the
/// contract: the enum, `as_str()`, `FromStr` and `Display`.
#[macro_export]
macro_rules! enum_str {
    (
        $(#[$m:meta])*
        $vis:vis enum $t:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }
    ) => {
        $(#[$m])*
        $vis enum $t { $($(#[$vm])* $v),+ }

        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s),+ }
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok($t::$v),)+ _ => Err(format!("`{s}` is not a valid {}", stringify!($t))) }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod access;
pub mod activity;
pub mod analysis;
pub mod collation;
pub mod error;
pub mod evaluation;
pub mod kind;
pub mod measure;
pub mod patch;
pub mod plan;
pub mod priority;
pub mod region;
pub mod seed;
pub mod service;
pub mod source;
pub mod text;
pub mod value;

pub use error::{Rule, ValidationError, ValidationResult};

/// The kinds of record, from one list: the enum, the spelling the audit log
/// and change events use (`as_str`) and the one of search hits (`hit_name`).
macro_rules! kinds {
    ($($v:ident = $name:literal, $hit:literal;)+) => {
        enum_str! {
            /// The kinds of record: what the audit log and change events name
            /// and what a search hit is. In the order search shows them.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
            #[serde(try_from = "String", into = "&'static str")]
            pub enum EntityKind { $($v = $name),+ }
        }

        impl EntityKind {
            /// Its name as a search hit's kind.
            pub fn hit_name(self) -> &'static str {
                match self { $(EntityKind::$v => $hit),+ }
            }

            /// The kind whose search hit's name is `s`.
            pub fn from_hit_name(s: &str) -> Option<Self> {
                match s { $($hit => Some(EntityKind::$v),)+ _ => None }
            }
        }
    };
}

// A new aggregate adds its module above and its kind here (at the end: the
// order is the schema's).
kinds! {
    Plan = "Plan", "PLAN";
    Priority = "Priority", "PRIORITY";
    Measure = "Measure", "MEASURE";
    Activity = "Activity", "ACTIVITY";
    Provider = "Provider", "PROVIDER";
    Service = "Service", "SERVICE";
    Evaluation = "Evaluation", "EVALUATION";
    Project = "Project", "PROJECT";
}
