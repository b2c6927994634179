//! Who may read and write which regions, as a token's claims grant it.

use crate::region::{KrajCode, RegionCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

crate::enum_str! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        Viewer = "viewer",
        Editor = "editor",
        Admin = "admin",
    }
}

/// A set of regions: every region, or those named plus those of the named kraje.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Grant {
    pub all: bool,
    pub regions: BTreeSet<RegionCode>,
    pub kraje: BTreeSet<KrajCode>,
}

impl Grant {
    pub fn is_empty(&self) -> bool {
        !self.all && self.regions.is_empty() && self.kraje.is_empty()
    }

    /// Whether a region of kraj `kraj` is in the grant.
    pub fn covers(&self, region: &RegionCode, kraj: &KrajCode) -> bool {
        self.names(region) || self.kraje.contains(kraj)
    }

    /// Whether the grant holds `region` without its kraj: all regions, or
    /// this one by name.
    pub fn names(&self, region: &RegionCode) -> bool {
        self.all || self.regions.contains(region)
    }
}

/// The caller: who it is and what it may touch. Every persistence call takes
/// one, so no query can run without a tenant scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub subject: String,
    pub role: Role,
    pub read: Grant,
    pub write: Grant,
    /// Regions whose audit log and archived records this caller administers.
    pub admin: Grant,
}

impl Ctx {
    /// The scope of a token: `regions` read (and write for editors and admins);
    /// `kraje` only ever read. `"*"` in `regions` means every region.
    pub fn from_claims(
        subject: String,
        role: Role,
        regions: BTreeSet<RegionCode>,
        all_regions: bool,
        kraje: BTreeSet<KrajCode>,
    ) -> Self {
        let own = Grant {
            all: all_regions,
            regions,
            kraje: BTreeSet::new(),
        };
        let read = Grant {
            kraje,
            ..own.clone()
        };
        let write = if role >= Role::Editor {
            own.clone()
        } else {
            Grant::default()
        };
        let admin = if role == Role::Admin {
            own
        } else {
            Grant::default()
        };
        Self {
            subject,
            role,
            read,
            write,
            admin,
        }
    }

    /// A scope that reads and writes everything: for the operator's own
    /// commands (seed, export) run on the server, never for a token.
    pub fn system(subject: &str) -> Self {
        let all = Grant {
            all: true,
            ..Grant::default()
        };
        Self {
            subject: subject.to_owned(),
            role: Role::Admin,
            read: all.clone(),
            write: all.clone(),
            admin: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse("", s).unwrap()
    }
    fn kraj(s: &str) -> KrajCode {
        KrajCode::parse("", s).unwrap()
    }

    #[test]
    fn kraje_grant_reads_but_never_writes() {
        let ctx = Ctx::from_claims(
            "a".into(),
            Role::Admin,
            BTreeSet::new(),
            false,
            [kraj("CZ032")].into(),
        );
        assert!(ctx.read.covers(&code("klatovy"), &kraj("CZ032")));
        assert!(!ctx.write.covers(&code("klatovy"), &kraj("CZ032")));
        assert!(!ctx.admin.covers(&code("klatovy"), &kraj("CZ032")));
    }

    #[test]
    fn viewers_never_write() {
        let ctx = Ctx::from_claims(
            "v".into(),
            Role::Viewer,
            [code("klatovy")].into(),
            false,
            BTreeSet::new(),
        );
        assert!(ctx.read.covers(&code("klatovy"), &kraj("CZ032")));
        assert!(ctx.write.is_empty());
    }

    #[test]
    fn editors_write_their_regions_only() {
        let ctx = Ctx::from_claims(
            "e".into(),
            Role::Editor,
            [code("klatovy")].into(),
            false,
            BTreeSet::new(),
        );
        assert!(ctx.write.covers(&code("klatovy"), &kraj("CZ032")));
        assert!(!ctx.write.covers(&code("kromeriz"), &kraj("CZ072")));
        assert!(ctx.admin.is_empty());
    }

    #[test]
    fn a_token_without_regions_sees_nothing() {
        let ctx = Ctx::from_claims(
            "n".into(),
            Role::Admin,
            BTreeSet::new(),
            false,
            BTreeSet::new(),
        );
        assert!(ctx.read.is_empty() && ctx.write.is_empty());
    }
}
