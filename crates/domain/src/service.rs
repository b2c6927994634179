//! Providers, their social services (Act No. 108/2006 Sb.) and capacities.

use crate::error::{ValidationError, ValidationResult};
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::Title;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceCategory {
    SocialCounselling,
    SocialCare,
    SocialPrevention,
}

crate::enum_str!(ServiceCategory {
    SocialCounselling = "SOCIAL_COUNSELLING",
    SocialCare = "SOCIAL_CARE",
    SocialPrevention = "SOCIAL_PREVENTION",
});

/// Forma poskytování (§ 33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceForm {
    Residential,
    Outpatient,
    Field,
}

crate::enum_str!(ServiceForm { Residential = "RESIDENTIAL", Outpatient = "OUTPATIENT", Field = "FIELD" });

/// What a capacity number counts. Numbers of different units are never added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityUnit {
    ClientsAtOnce,
    Beds,
    InterventionsPerYear,
    ClientsPerHour,
    HousingUnits,
}

crate::enum_str!(CapacityUnit {
    ClientsAtOnce = "CLIENTS_AT_ONCE",
    Beds = "BEDS",
    InterventionsPerYear = "INTERVENTIONS_PER_YEAR",
    ClientsPerHour = "CLIENTS_PER_HOUR",
    HousingUnits = "HOUSING_UNITS",
});

macro_rules! service_types {
    ($($v:ident = $s:literal, $par:literal, $cat:ident, $name:literal;)+) => {
        /// Druh sociální služby: one value per paragraph of the Act.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum ServiceType { $($v),+ }

        crate::enum_str!(ServiceType { $($v = $s),+ });

        impl ServiceType {
            /// Paragraph of Act No. 108/2006 Sb. ("40", "60a").
            pub fn paragraph(self) -> &'static str {
                match self { $(ServiceType::$v => $par),+ }
            }
            pub fn category(self) -> ServiceCategory {
                match self { $(ServiceType::$v => ServiceCategory::$cat),+ }
            }
            /// The official Czech name.
            pub fn name(self) -> &'static str {
                match self { $(ServiceType::$v => $name),+ }
            }
        }
    };
}

service_types! {
    OdborneSocialniPoradenstvi = "ODBORNE_SOCIALNI_PORADENSTVI", "37", SocialCounselling, "odborné sociální poradenství";
    OsobniAsistence = "OSOBNI_ASISTENCE", "39", SocialCare, "osobní asistence";
    PecovatelskaSluzba = "PECOVATELSKA_SLUZBA", "40", SocialCare, "pečovatelská služba";
    TisnovaPece = "TISNOVA_PECE", "41", SocialCare, "tísňová péče";
    PruvodcovskeAPredcitatelskeSluzby = "PRUVODCOVSKE_A_PREDCITATELSKE_SLUZBY", "42", SocialCare, "průvodcovské a předčitatelské služby";
    PodporaSamostatnehoBydleni = "PODPORA_SAMOSTATNEHO_BYDLENI", "43", SocialCare, "podpora samostatného bydlení";
    OdlehcovaciSluzby = "ODLEHCOVACI_SLUZBY", "44", SocialCare, "odlehčovací služby";
    CentraDennichSluzeb = "CENTRA_DENNICH_SLUZEB", "45", SocialCare, "centra denních služeb";
    DenniStacionare = "DENNI_STACIONARE", "46", SocialCare, "denní stacionáře";
    TydenniStacionare = "TYDENNI_STACIONARE", "47", SocialCare, "týdenní stacionáře";
    DomovyProOsobySeZdravotnimPostizenim = "DOMOVY_PRO_OSOBY_SE_ZDRAVOTNIM_POSTIZENIM", "48", SocialCare, "domovy pro osoby se zdravotním postižením";
    DomovyProSeniory = "DOMOVY_PRO_SENIORY", "49", SocialCare, "domovy pro seniory";
    DomovySeZvlastnimRezimem = "DOMOVY_SE_ZVLASTNIM_REZIMEM", "50", SocialCare, "domovy se zvláštním režimem";
    ChraneneBydleni = "CHRANENE_BYDLENI", "51", SocialCare, "chráněné bydlení";
    SocialniSluzbyVeZdravotnickychZarizenich = "SOCIALNI_SLUZBY_VE_ZDRAVOTNICKYCH_ZARIZENICH", "52", SocialCare, "sociální služby poskytované ve zdravotnických zařízeních lůžkové péče";
    RanaPece = "RANA_PECE", "54", SocialPrevention, "raná péče";
    TelefonickaKrizovaPomoc = "TELEFONICKA_KRIZOVA_POMOC", "55", SocialPrevention, "telefonická krizová pomoc";
    TlumocnickeSluzby = "TLUMOCNICKE_SLUZBY", "56", SocialPrevention, "tlumočnické služby";
    AzyloveDomy = "AZYLOVE_DOMY", "57", SocialPrevention, "azylové domy";
    DomyNaPulCesty = "DOMY_NA_PUL_CESTY", "58", SocialPrevention, "domy na půl cesty";
    KontaktniCentra = "KONTAKTNI_CENTRA", "59", SocialPrevention, "kontaktní centra";
    KrizovaPomoc = "KRIZOVA_POMOC", "60", SocialPrevention, "krizová pomoc";
    IntervencniCentra = "INTERVENCNI_CENTRA", "60a", SocialPrevention, "intervenční centra";
    NizkoprahovaDenniCentra = "NIZKOPRAHOVA_DENNI_CENTRA", "61", SocialPrevention, "nízkoprahová denní centra";
    NizkoprahovaZarizeniProDetiAMladez = "NIZKOPRAHOVA_ZARIZENI_PRO_DETI_A_MLADEZ", "62", SocialPrevention, "nízkoprahová zařízení pro děti a mládež";
    Nocleharny = "NOCLEHARNY", "63", SocialPrevention, "noclehárny";
    SluzbyNaslednePece = "SLUZBY_NASLEDNE_PECE", "64", SocialPrevention, "služby následné péče";
    SasProRodinySDetmi = "SAS_PRO_RODINY_S_DETMI", "65", SocialPrevention, "sociálně aktivizační služby pro rodiny s dětmi";
    SasProSenioryAOzp = "SAS_PRO_SENIORY_A_OZP", "66", SocialPrevention, "sociálně aktivizační služby pro seniory a osoby se zdravotním postižením";
    SocialneTerapeutickeDilny = "SOCIALNE_TERAPEUTICKE_DILNY", "67", SocialPrevention, "sociálně terapeutické dílny";
    TerapeutickeKomunity = "TERAPEUTICKE_KOMUNITY", "68", SocialPrevention, "terapeutické komunity";
    TerenniProgramy = "TERENNI_PROGRAMY", "69", SocialPrevention, "terénní programy";
    SocialniRehabilitace = "SOCIALNI_REHABILITACE", "70", SocialPrevention, "sociální rehabilitace";
}

/// A capacity: one number in one unit, for one form where the source says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    #[serde(default)]
    pub form: Option<ServiceForm>,
    pub value: i32,
    pub unit: CapacityUnit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The largest capacity of one service: far above any real one, and low
/// enough that sums over thousands of services stay within a GraphQL Int.
pub const MAX_CAPACITY: i32 = 1_000_000;

impl Capacity {
    pub fn normalized(self) -> ValidationResult<Self> {
        if self.value < 0 {
            return Err(ValidationError::new(
                "value",
                format!("capacity {} is negative", self.value),
            ));
        }
        if self.value > MAX_CAPACITY {
            return Err(ValidationError::new(
                "value",
                format!("capacity {} is over {MAX_CAPACITY}", self.value),
            ));
        }
        Ok(Self {
            text: text::optional("text", self.text.as_deref(), MAX_TEXT)?,
            ..self
        })
    }
}

/// Capacities as listed, each checked (`field[i]` names a bad one).
pub fn capacities(field: &str, list: Vec<Capacity>) -> ValidationResult<Vec<Capacity>> {
    list.into_iter()
        .enumerate()
        .map(|(i, c)| {
            c.normalized()
                .map_err(|e| e.under(&format!("{field}[{i}]")))
        })
        .collect()
}

/// IČO: eight digits.
pub fn ico(field: &str, s: &str) -> ValidationResult<String> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            format!("`{s}` is not an IČO (8 digits)"),
        ))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderFields {
    pub name: Title,
    /// IČO, only where the source states it.
    pub ico: Option<String>,
}

impl ProviderFields {
    pub fn parse(name: &str, ico_text: Option<&str>) -> ValidationResult<Self> {
        Ok(Self {
            name: Title::name("name", name)?,
            ico: ico_text.map(|i| ico("ico", i)).transpose()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderForCreate {
    pub region: RegionCode,
    pub fields: ProviderFields,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFields {
    pub service_type: ServiceType,
    /// The source's own name of the service.
    pub name: Option<String>,
    pub scope: Option<String>,
    pub capacities: Vec<Capacity>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDraft {
    pub service_type: ServiceType,
    pub name: Option<String>,
    pub scope: Option<String>,
    pub capacities: Vec<Capacity>,
}

impl ServiceDraft {
    pub fn parse(self) -> ValidationResult<ServiceFields> {
        Ok(ServiceFields {
            service_type: self.service_type,
            name: text::optional("name", self.name.as_deref(), MAX_TITLE)?,
            scope: text::optional("scope", self.scope.as_deref(), MAX_TITLE)?,
            capacities: capacities("capacities", self.capacities)?,
        })
    }
}

impl ServiceFields {
    pub fn draft(&self) -> ServiceDraft {
        ServiceDraft {
            service_type: self.service_type,
            name: self.name.clone(),
            scope: self.scope.clone(),
            capacities: self.capacities.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceForCreate {
    pub provider_id: i64,
    pub fields: ServiceFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServicePatch {
    pub service_type: Patch<ServiceType>,
    pub capacities: Patch<Vec<Capacity>>,
    pub scope: Patch<String>,
}

impl ServicePatch {
    pub fn apply(self, current: &ServiceFields) -> ValidationResult<ServiceFields> {
        let mut d = current.draft();
        self.service_type
            .apply_required("service_type", &mut d.service_type)?;
        self.capacities.apply_list(&mut d.capacities);
        self.scope.apply(&mut d.scope);
        d.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_33_service_types_have_paragraph_and_name() {
        assert_eq!(ServiceType::ALL.len(), 33);
        assert_eq!(ServiceType::IntervencniCentra.paragraph(), "60a");
        assert_eq!(
            ServiceType::PecovatelskaSluzba.name(),
            "pečovatelská služba"
        );
        assert_eq!(
            ServiceType::OdborneSocialniPoradenstvi.category(),
            ServiceCategory::SocialCounselling
        );
        assert_eq!(
            ServiceType::SocialniRehabilitace.category(),
            ServiceCategory::SocialPrevention
        );
    }

    #[test]
    fn negative_capacity_is_rejected() {
        let c = Capacity {
            form: None,
            value: -1,
            unit: CapacityUnit::Beds,
            text: None,
        };
        assert_eq!(c.normalized().unwrap_err().field, "value");
    }

    #[test]
    fn ico_is_eight_digits() {
        assert!(ico("i", "00255661").is_ok());
        assert!(ico("i", "2556").is_err());
    }
}
