//! What a change did, from the database to the
//! subscription payload. GraphQL shows them as strings with these spellings.

use crate::EntityKind;
use crate::region::RegionCode;
use crate::value::Timestamp;
use serde::{Deserialize, Serialize};

crate::enum_str! {
    /// What a change did to its record.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(try_from = "String", into = "&'static str")]
    pub enum AuditAction {
        Created = "CREATED",
        Updated = "UPDATED",
        Archived = "ARCHIVED",
        Restored = "RESTORED",
    }
}

/// One change in the audit log: who did what to which record, and the record
/// before and after (JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub region: RegionCode,
    pub entity: EntityKind,
    pub entity_id: i64,
    pub action: AuditAction,
    pub before: Option<String>,
    pub after: Option<String>,
}

macro_rules! string_conversions {
    ($($t:ident),+) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
        impl From<$t> for &'static str {
            fn from(v: $t) -> Self {
                v.as_str()
            }
        }
    )+};
}

string_conversions!(EntityKind, AuditAction);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_actions_keep_their_spellings() {
        assert_eq!("Measure".parse::<EntityKind>(), Ok(EntityKind::Measure));
        assert!("measure".parse::<EntityKind>().is_err());
        assert_eq!(AuditAction::Restored.as_str(), "RESTORED");
        let json = serde_json_like(EntityKind::Service);
        assert_eq!(json, "Service");
    }

    #[test]
    fn every_kind_has_its_own_hit_name() {
        for k in EntityKind::ALL {
            assert_eq!(EntityKind::from_hit_name(k.hit_name()), Some(*k));
        }
        assert_eq!(EntityKind::Project.hit_name(), "PROJECT");
        assert_eq!(EntityKind::from_hit_name("Project"), None);
    }

    fn serde_json_like(k: EntityKind) -> &'static str {
        k.into()
    }
}
