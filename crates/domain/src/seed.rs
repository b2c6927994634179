//! The seed files: `regions.yaml` (territory) and one file per region.

use crate::error::{ValidationError, ValidationResult};
use crate::plan::PlanData;
use crate::region::{Kraj, Region, RegionCode};
use crate::service::ProviderData;
use crate::text::{self, MAX_TITLE};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    pub kraje: Vec<Kraj>,
    pub regions: Vec<Region>,
}

impl Territory {
    pub fn normalized(self) -> ValidationResult<Self> {
        let mut kraje = HashSet::new();
        for (i, k) in self.kraje.iter().enumerate() {
            text::required(&format!("kraje[{i}].name"), &k.name, MAX_TITLE)?;
            if !kraje.insert(&k.code) {
                return Err(ValidationError::new(
                    format!("kraje[{i}].code"),
                    format!("kraj `{}` is listed twice", k.code),
                ));
            }
        }
        let mut regions = HashSet::new();
        for (i, r) in self.regions.iter().enumerate() {
            text::required(&format!("regions[{i}].name"), &r.name, MAX_TITLE)?;
            if !regions.insert(&r.code) {
                return Err(ValidationError::new(
                    format!("regions[{i}].code"),
                    format!("region `{}` is listed twice", r.code),
                ));
            }
            if !kraje.contains(&r.kraj) {
                return Err(ValidationError::new(
                    format!("regions[{i}].kraj"),
                    format!("kraj `{}` is not in `kraje`", r.kraj),
                ));
            }
        }
        let kraje = self
            .kraje
            .into_iter()
            .map(|k| Kraj {
                name: text::nfc(k.name.trim()),
                ..k
            })
            .collect();
        let regions = self
            .regions
            .into_iter()
            .map(|r| Region {
                name: text::nfc(r.name.trim()),
                ..r
            })
            .collect();
        Ok(Self { kraje, regions })
    }
}

/// Everything one region's documents say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionData {
    pub region: RegionCode,
    #[serde(default)]
    pub plans: Vec<PlanData>,
    #[serde(default)]
    pub providers: Vec<ProviderData>,
}

impl RegionData {
    /// Validates every record and the references between plans.
    pub fn normalized(self) -> ValidationResult<Self> {
        let plans: Vec<PlanData> = self
            .plans
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.normalized().map_err(|e| e.under(&format!("plans[{i}]"))))
            .collect::<ValidationResult<_>>()?;
        let mut keys = HashSet::new();
        for (i, p) in plans.iter().enumerate() {
            text::required(&format!("plans[{i}].key"), &p.key, MAX_TITLE)?;
            if !keys.insert(p.key.as_str()) {
                return Err(ValidationError::new(
                    format!("plans[{i}].key"),
                    format!("plan key `{}` is used twice", p.key),
                ));
            }
        }
        for (i, p) in plans.iter().enumerate() {
            if let Some(parent) = &p.parent
                && (!keys.contains(parent.as_str()) || parent == &p.key)
            {
                return Err(ValidationError::new(
                    format!("plans[{i}].parent"),
                    format!("`{parent}` is not another plan of this file"),
                ));
            }
        }
        let providers = self
            .providers
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.normalized()
                    .map_err(|e| e.under(&format!("providers[{i}]")))
            })
            .collect::<ValidationResult<_>>()?;
        Ok(Self {
            region: self.region,
            plans,
            providers,
        })
    }
}
