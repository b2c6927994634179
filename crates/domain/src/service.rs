//! Providers, their social services (Act No. 108/2006 Sb.) and capacities.

use crate::error::{Rule, ValidationError, ValidationResult};
use crate::patch::Patch;
use crate::region::RegionCode;
use crate::source::Provenance;
use crate::text::{self, MAX_TEXT, MAX_TITLE};
use crate::value::Title;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Provider {
    pub id: i64,
    pub region: RegionCode,
    pub name: String,
    pub ico: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Service {
    pub id: i64,
    pub region: RegionCode,
    pub provider_id: i64,
    pub service_type: ServiceType,
    pub name: Option<String>,
    pub scope: Option<String>,
    pub source: Option<Provenance>,
    pub archived: bool,
    pub version: i32,
}

/// A capacity with the record it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OwnedCapacity {
    pub owner_id: i64,
    pub capacity: Capacity,
}

crate::enum_str! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ServiceCategory {
        SocialCounselling = "SOCIAL_COUNSELLING",
        SocialCare = "SOCIAL_CARE",
        SocialPrevention = "SOCIAL_PREVENTION",
    }
}

crate::enum_str! {
    /// Forma poskytování (§ 33).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ServiceForm {
        Residential = "RESIDENTIAL",
        Outpatient = "OUTPATIENT",
        Field = "FIELD",
    }
}

crate::enum_str! {
    /// What a capacity number counts. Numbers of different units are never added.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CapacityUnit {
        ClientsAtOnce = "CLIENTS_AT_ONCE",
        Beds = "BEDS",
        InterventionsPerYear = "INTERVENTIONS_PER_YEAR",
        ClientsPerHour = "CLIENTS_PER_HOUR",
        HousingUnits = "HOUSING_UNITS",
    }
}

macro_rules! service_types {
    ($($v:ident = $s:literal, $par:literal, $cat:ident, [$($form:ident),+], $name:literal;)+) => {
        crate::enum_str! {
            /// Druh sociální služby: one value per paragraph of the Act.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
            #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
            pub enum ServiceType { $($v = $s),+ }
        }

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
            /// The forms the Act provides this type in (its paragraph's first sentence).
            pub fn legal_forms(self) -> &'static [ServiceForm] {
                match self { $(ServiceType::$v => &[$(ServiceForm::$form),+]),+ }
            }
        }
    };
}

service_types! {
    OdborneSocialniPoradenstvi = "ODBORNE_SOCIALNI_PORADENSTVI", "37", SocialCounselling, [Outpatient, Field], "odborné sociální poradenství";
    OsobniAsistence = "OSOBNI_ASISTENCE", "39", SocialCare, [Field], "osobní asistence";
    PecovatelskaSluzba = "PECOVATELSKA_SLUZBA", "40", SocialCare, [Field, Outpatient], "pečovatelská služba";
    TisnovaPece = "TISNOVA_PECE", "41", SocialCare, [Field], "tísňová péče";
    PruvodcovskeAPredcitatelskeSluzby = "PRUVODCOVSKE_A_PREDCITATELSKE_SLUZBY", "42", SocialCare, [Field, Outpatient], "průvodcovské a předčitatelské služby";
    PodporaSamostatnehoBydleni = "PODPORA_SAMOSTATNEHO_BYDLENI", "43", SocialCare, [Field], "podpora samostatného bydlení";
    OdlehcovaciSluzby = "ODLEHCOVACI_SLUZBY", "44", SocialCare, [Field, Outpatient, Residential], "odlehčovací služby";
    CentraDennichSluzeb = "CENTRA_DENNICH_SLUZEB", "45", SocialCare, [Outpatient], "centra denních služeb";
    DenniStacionare = "DENNI_STACIONARE", "46", SocialCare, [Outpatient], "denní stacionáře";
    TydenniStacionare = "TYDENNI_STACIONARE", "47", SocialCare, [Residential], "týdenní stacionáře";
    DomovyProOsobySeZdravotnimPostizenim = "DOMOVY_PRO_OSOBY_SE_ZDRAVOTNIM_POSTIZENIM", "48", SocialCare, [Residential], "domovy pro osoby se zdravotním postižením";
    DomovyProSeniory = "DOMOVY_PRO_SENIORY", "49", SocialCare, [Residential], "domovy pro seniory";
    DomovySeZvlastnimRezimem = "DOMOVY_SE_ZVLASTNIM_REZIMEM", "50", SocialCare, [Residential], "domovy se zvláštním režimem";
    ChraneneBydleni = "CHRANENE_BYDLENI", "51", SocialCare, [Residential], "chráněné bydlení";
    SocialniSluzbyVeZdravotnickychZarizenich = "SOCIALNI_SLUZBY_VE_ZDRAVOTNICKYCH_ZARIZENICH", "52", SocialCare, [Residential], "sociální služby poskytované ve zdravotnických zařízeních lůžkové péče";
    RanaPece = "RANA_PECE", "54", SocialPrevention, [Field, Outpatient], "raná péče";
    TelefonickaKrizovaPomoc = "TELEFONICKA_KRIZOVA_POMOC", "55", SocialPrevention, [Field], "telefonická krizová pomoc";
    TlumocnickeSluzby = "TLUMOCNICKE_SLUZBY", "56", SocialPrevention, [Field, Outpatient], "tlumočnické služby";
    AzyloveDomy = "AZYLOVE_DOMY", "57", SocialPrevention, [Residential], "azylové domy";
    DomyNaPulCesty = "DOMY_NA_PUL_CESTY", "58", SocialPrevention, [Residential], "domy na půl cesty";
    KontaktniCentra = "KONTAKTNI_CENTRA", "59", SocialPrevention, [Outpatient, Field], "kontaktní centra";
    KrizovaPomoc = "KRIZOVA_POMOC", "60", SocialPrevention, [Field, Outpatient, Residential], "krizová pomoc";
    IntervencniCentra = "INTERVENCNI_CENTRA", "60a", SocialPrevention, [Residential, Outpatient, Field], "intervenční centra";
    NizkoprahovaDenniCentra = "NIZKOPRAHOVA_DENNI_CENTRA", "61", SocialPrevention, [Outpatient, Field], "nízkoprahová denní centra";
    NizkoprahovaZarizeniProDetiAMladez = "NIZKOPRAHOVA_ZARIZENI_PRO_DETI_A_MLADEZ", "62", SocialPrevention, [Outpatient, Field], "nízkoprahová zařízení pro děti a mládež";
    Nocleharny = "NOCLEHARNY", "63", SocialPrevention, [Outpatient], "noclehárny";
    SluzbyNaslednePece = "SLUZBY_NASLEDNE_PECE", "64", SocialPrevention, [Outpatient, Residential], "služby následné péče";
    SasProRodinySDetmi = "SAS_PRO_RODINY_S_DETMI", "65", SocialPrevention, [Field, Outpatient], "sociálně aktivizační služby pro rodiny s dětmi";
    SasProSenioryAOzp = "SAS_PRO_SENIORY_A_OZP", "66", SocialPrevention, [Outpatient, Field], "sociálně aktivizační služby pro seniory a osoby se zdravotním postižením";
    SocialneTerapeutickeDilny = "SOCIALNE_TERAPEUTICKE_DILNY", "67", SocialPrevention, [Outpatient], "sociálně terapeutické dílny";
    TerapeutickeKomunity = "TERAPEUTICKE_KOMUNITY", "68", SocialPrevention, [Residential], "terapeutické komunity";
    TerenniProgramy = "TERENNI_PROGRAMY", "69", SocialPrevention, [Field], "terénní programy";
    SocialniRehabilitace = "SOCIALNI_REHABILITACE", "70", SocialPrevention, [Field, Outpatient, Residential], "sociální rehabilitace";
}

crate::enum_str! {
    /// A network of the kraj's social services a capacity can be part of.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Network {
        /// základní síť
        Basic = "BASIC",
        /// rozvojová síť
        Development = "DEVELOPMENT",
    }
}

/// The part of a capacity that the document places in one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkShare {
    pub network: Network,
    pub value: i32,
}

/// A capacity: one number in one unit, for one form where the source says,
/// with the shares of it in the kraj's networks where the source states them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub form: Option<ServiceForm>,
    pub value: i32,
    /// `value` is a lower bound ("minimálně 50 lůžek"), not an exact figure.
    pub at_least: bool,
    pub unit: CapacityUnit,
    pub text: Option<String>,
    pub network_shares: Vec<NetworkShare>,
    /// Where an imported capacity comes from; none for one sent by a client.
    pub source: Option<Provenance>,
}

/// The largest capacity of one service: far above any real one, and low
/// enough that sums over thousands of services stay within a GraphQL Int.
pub const MAX_CAPACITY: i32 = 1_000_000;

impl Capacity {
    pub fn normalized(self) -> ValidationResult<Self> {
        if self.value < 0 {
            return Err(ValidationError::new(
                "value",
                Rule::CapacityNegative(self.value),
            ));
        }
        if self.value > MAX_CAPACITY {
            return Err(ValidationError::new(
                "value",
                Rule::CapacityOver {
                    value: self.value,
                    max: MAX_CAPACITY,
                },
            ));
        }
        let mut networks = std::collections::HashSet::new();
        for (i, share) in self.network_shares.iter().enumerate() {
            if !(0..=self.value).contains(&share.value) || !networks.insert(share.network) {
                return Err(ValidationError::new(
                    format!("network_shares[{i}]"),
                    Rule::ShareOutside(self.value),
                ));
            }
        }
        if self.network_shares.iter().map(|s| s.value).sum::<i32>() > self.value {
            return Err(ValidationError::new(
                "network_shares",
                Rule::SharesOver(self.value),
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
        Err(ValidationError::new(field, Rule::NotIco(s.to_owned())))
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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderPatch {
    pub name: Patch<String>,
    pub ico: Patch<String>,
}

impl ProviderPatch {
    /// Sets the patched fields in the stored `name` and `ico` and validates
    /// the result once, so a patch can mend a stored value a newer rule refuses.
    pub fn apply(self, name: String, ico: Option<String>) -> ValidationResult<ProviderFields> {
        let name = self.name.required("name", name)?;
        let ico = self.ico.optional(ico);
        ProviderFields::parse(&name, ico.as_deref())
    }
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
    pub name: Patch<String>,
    pub capacities: Patch<Vec<Capacity>>,
    pub scope: Patch<String>,
}

impl ServicePatch {
    /// Sets the patched fields in the stored content `d` and validates the
    /// result once, so a patch can mend a stored value a newer rule refuses.
    pub fn apply(self, mut d: ServiceDraft) -> ValidationResult<ServiceFields> {
        self.service_type
            .apply_required("service_type", &mut d.service_type)?;
        self.name.apply(&mut d.name);
        self.capacities.apply_list(&mut d.capacities);
        self.scope.apply(&mut d.scope);
        d.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_the_forms_of_its_paragraph() {
        use ServiceForm::*;
        assert!(ServiceType::ALL.iter().all(|t| !t.legal_forms().is_empty()));
        assert_eq!(ServiceType::DomovyProSeniory.legal_forms(), [Residential]);
        assert_eq!(ServiceType::Nocleharny.legal_forms(), [Outpatient]);
        assert_eq!(ServiceType::OsobniAsistence.legal_forms(), [Field]);
        assert_eq!(
            ServiceType::OdlehcovaciSluzby.legal_forms(),
            [Field, Outpatient, Residential]
        );
    }

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
            at_least: false,
            unit: CapacityUnit::Beds,
            text: None,
            network_shares: vec![],
            source: None,
        };
        assert_eq!(c.clone().normalized().unwrap_err().field, "value");
        let share = |network, value| NetworkShare { network, value };
        let shared = |shares| Capacity {
            value: 229,
            network_shares: shares,
            ..c.clone()
        };
        assert!(
            shared(vec![
                share(Network::Basic, 17),
                share(Network::Development, 50)
            ])
            .normalized()
            .is_ok()
        );
        assert!(
            shared(vec![
                share(Network::Basic, 200),
                share(Network::Development, 50)
            ])
            .normalized()
            .is_err()
        );
        assert!(
            shared(vec![share(Network::Basic, 1), share(Network::Basic, 2)])
                .normalized()
                .is_err()
        );
    }

    #[test]
    fn ico_is_eight_digits() {
        assert!(ico("i", "00255661").is_ok());
        assert!(ico("i", "2556").is_err());
    }
}
