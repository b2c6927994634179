//! GraphQL enums: the contract's spellings over the domain's enums.

// The variants spell the contract's values (COMMUNITY_PLAN, SOCIAL_CARE, ...).
#![allow(clippy::enum_variant_names)]

use async_graphql::parser::types::Field;
use async_graphql::registry::{MetaEnumValue, MetaType, MetaTypeId, Registry};
use async_graphql::resolver_utils::{EnumItem, EnumType, enum_value, parse_enum};
use async_graphql::{
    ContextSelectionSet, Enum, InputType, InputValueResult, OutputType, Positioned, ServerResult,
    Value,
};
use kpss_domain::EntityKind;
use std::borrow::Cow;
use std::sync::LazyLock;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::access::Role")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::region::RegionKind")]
pub enum RegionKind {
    /// Správní obvod obce s rozšířenou působností (ORP)
    #[graphql(name = "ORP")]
    Orp,
    /// Statutární město
    StatutoryCity,
    /// Kraj
    Kraj,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::plan::PlanKind")]
pub enum PlanKind {
    /// Komunitní plán sociálních služeb
    CommunityPlan,
    /// Střednědobý plán rozvoje sociálních služeb
    MediumTermPlan,
    /// Akční plán
    ActionPlan,
    /// Plán práce
    WorkPlan,
    /// Krátkodobý plán (rozvoje sociálních služeb)
    ShortTermPlan,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::evaluation::EvaluationStatus")]
pub enum EvaluationStatus {
    /// splněn / naplněn
    Fulfilled,
    /// částečně splněn
    PartiallyFulfilled,
    /// naplňován / je naplňován průběžně
    InProgress,
    /// nesplněn
    NotFulfilled,
    /// the source gives no status
    Unknown,
}

/// Forma poskytování sociální služby (§ 33 zákona č. 108/2006 Sb.)
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::service::ServiceForm")]
pub enum ServiceForm {
    /// pobytová
    Residential,
    /// ambulantní
    Outpatient,
    /// terénní
    Field,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::service::CapacityUnit")]
pub enum CapacityUnit {
    /// okamžitá kapacita: klienti v jednom okamžiku
    ClientsAtOnce,
    /// lůžka
    Beds,
    /// intervence za rok
    InterventionsPerYear,
    /// klienti za hodinu
    ClientsPerHour,
    /// bytové jednotky
    HousingUnits,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::service::ServiceCategory")]
pub enum ServiceCategory {
    /// sociální poradenství
    SocialCounselling,
    /// služby sociální péče
    SocialCare,
    /// služby sociální prevence
    SocialPrevention,
}

/// Druh sociální služby podle zákona č. 108/2006 Sb., o sociálních službách.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::service::ServiceType")]
pub enum ServiceType {
    /// § 37 odborné sociální poradenství
    #[graphql(name = "ODBORNE_SOCIALNI_PORADENSTVI")]
    OdborneSocialniPoradenstvi,
    /// § 39 osobní asistence
    #[graphql(name = "OSOBNI_ASISTENCE")]
    OsobniAsistence,
    /// § 40 pečovatelská služba
    #[graphql(name = "PECOVATELSKA_SLUZBA")]
    PecovatelskaSluzba,
    /// § 41 tísňová péče
    #[graphql(name = "TISNOVA_PECE")]
    TisnovaPece,
    /// § 42 průvodcovské a předčitatelské služby
    #[graphql(name = "PRUVODCOVSKE_A_PREDCITATELSKE_SLUZBY")]
    PruvodcovskeAPredcitatelskeSluzby,
    /// § 43 podpora samostatného bydlení
    #[graphql(name = "PODPORA_SAMOSTATNEHO_BYDLENI")]
    PodporaSamostatnehoBydleni,
    /// § 44 odlehčovací služby
    #[graphql(name = "ODLEHCOVACI_SLUZBY")]
    OdlehcovaciSluzby,
    /// § 45 centra denních služeb
    #[graphql(name = "CENTRA_DENNICH_SLUZEB")]
    CentraDennichSluzeb,
    /// § 46 denní stacionáře
    #[graphql(name = "DENNI_STACIONARE")]
    DenniStacionare,
    /// § 47 týdenní stacionáře
    #[graphql(name = "TYDENNI_STACIONARE")]
    TydenniStacionare,
    /// § 48 domovy pro osoby se zdravotním postižením
    #[graphql(name = "DOMOVY_PRO_OSOBY_SE_ZDRAVOTNIM_POSTIZENIM")]
    DomovyProOsobySeZdravotnimPostizenim,
    /// § 49 domovy pro seniory
    #[graphql(name = "DOMOVY_PRO_SENIORY")]
    DomovyProSeniory,
    /// § 50 domovy se zvláštním režimem
    #[graphql(name = "DOMOVY_SE_ZVLASTNIM_REZIMEM")]
    DomovySeZvlastnimRezimem,
    /// § 51 chráněné bydlení
    #[graphql(name = "CHRANENE_BYDLENI")]
    ChraneneBydleni,
    /// § 52 sociální služby poskytované ve zdravotnických zařízeních lůžkové péče
    #[graphql(name = "SOCIALNI_SLUZBY_VE_ZDRAVOTNICKYCH_ZARIZENICH")]
    SocialniSluzbyVeZdravotnickychZarizenich,
    /// § 54 raná péče
    #[graphql(name = "RANA_PECE")]
    RanaPece,
    /// § 55 telefonická krizová pomoc
    #[graphql(name = "TELEFONICKA_KRIZOVA_POMOC")]
    TelefonickaKrizovaPomoc,
    /// § 56 tlumočnické služby
    #[graphql(name = "TLUMOCNICKE_SLUZBY")]
    TlumocnickeSluzby,
    /// § 57 azylové domy
    #[graphql(name = "AZYLOVE_DOMY")]
    AzyloveDomy,
    /// § 58 domy na půl cesty
    #[graphql(name = "DOMY_NA_PUL_CESTY")]
    DomyNaPulCesty,
    /// § 59 kontaktní centra
    #[graphql(name = "KONTAKTNI_CENTRA")]
    KontaktniCentra,
    /// § 60 krizová pomoc
    #[graphql(name = "KRIZOVA_POMOC")]
    KrizovaPomoc,
    /// § 60a intervenční centra
    #[graphql(name = "INTERVENCNI_CENTRA")]
    IntervencniCentra,
    /// § 61 nízkoprahová denní centra
    #[graphql(name = "NIZKOPRAHOVA_DENNI_CENTRA")]
    NizkoprahovaDenniCentra,
    /// § 62 nízkoprahová zařízení pro děti a mládež
    #[graphql(name = "NIZKOPRAHOVA_ZARIZENI_PRO_DETI_A_MLADEZ")]
    NizkoprahovaZarizeniProDetiAMladez,
    /// § 63 noclehárny
    #[graphql(name = "NOCLEHARNY")]
    Nocleharny,
    /// § 64 služby následné péče
    #[graphql(name = "SLUZBY_NASLEDNE_PECE")]
    SluzbyNaslednePece,
    /// § 65 sociálně aktivizační služby pro rodiny s dětmi
    #[graphql(name = "SAS_PRO_RODINY_S_DETMI")]
    SasProRodinySDetmi,
    /// § 66 sociálně aktivizační služby pro seniory a osoby se zdravotním postižením
    #[graphql(name = "SAS_PRO_SENIORY_A_OZP")]
    SasProSenioryAOzp,
    /// § 67 sociálně terapeutické dílny
    #[graphql(name = "SOCIALNE_TERAPEUTICKE_DILNY")]
    SocialneTerapeutickeDilny,
    /// § 68 terapeutické komunity
    #[graphql(name = "TERAPEUTICKE_KOMUNITY")]
    TerapeutickeKomunity,
    /// § 69 terénní programy
    #[graphql(name = "TERENNI_PROGRAMY")]
    TerenniProgramy,
    /// § 70 sociální rehabilitace
    #[graphql(name = "SOCIALNI_REHABILITACE")]
    SocialniRehabilitace,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    remote = "kpss_persistence::summary::CapacityDim",
    name = "CapacityDimension"
)]
pub enum CapacityDimension {
    Kraj,
    Region,
    Provider,
    ServiceType,
    Form,
    Unit,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    remote = "kpss_persistence::summary::EvaluationDim",
    name = "EvaluationDimension"
)]
pub enum EvaluationDimension {
    Kraj,
    Region,
    Plan,
    Year,
    Status,
}

/// What a search hit is: one value for each of the domain's kinds, so a
/// new kind is a value here without a line of its own.
#[derive(Copy, Clone, Eq, PartialEq)]
pub struct SearchHitKind(pub EntityKind);

impl EnumType for SearchHitKind {
    fn items() -> &'static [EnumItem<Self>] {
        static ITEMS: LazyLock<Vec<EnumItem<SearchHitKind>>> = LazyLock::new(|| {
            EntityKind::ALL
                .iter()
                .map(|&k| EnumItem {
                    name: k.hit_name(),
                    value: SearchHitKind(k),
                })
                .collect()
        });
        &ITEMS
    }
}

impl SearchHitKind {
    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_input_type::<Self, _>(MetaTypeId::Enum, |_| MetaType::Enum {
            name: "SearchHitKind".into(),
            description: None,
            enum_values: Self::items()
                .iter()
                .map(|item| (item.name.to_owned(), enum_item(item.name)))
                .collect(),
            visible: None,
            inaccessible: false,
            tags: Vec::new(),
            rust_typename: Some(std::any::type_name::<Self>()),
            directive_invocations: Vec::new(),
            requires_scopes: Vec::new(),
        })
    }
}

fn enum_item(name: &str) -> MetaEnumValue {
    MetaEnumValue {
        name: name.to_owned(),
        description: None,
        deprecation: Default::default(),
        visible: None,
        inaccessible: false,
        tags: Vec::new(),
        directive_invocations: Vec::new(),
    }
}

impl InputType for SearchHitKind {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        "SearchHitKind".into()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Self::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        parse_enum(value.unwrap_or_default())
    }

    fn to_value(&self) -> Value {
        enum_value(*self)
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }
}

impl OutputType for SearchHitKind {
    fn type_name() -> Cow<'static, str> {
        "SearchHitKind".into()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Self::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _: &ContextSelectionSet<'_>,
        _: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(self.to_value())
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::kind::AuditAction")]
pub enum ChangeAction {
    Created,
    Updated,
    Archived,
    Restored,
}

/// What a document says about a list or a cost.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::measure::Statement")]
pub enum Statement {
    /// It names sources / an amount.
    Stated,
    /// It says there are none, or zero ("0").
    None,
    /// It says they cannot be specified ("Nelze specifikovat").
    NotSpecifiable,
    /// It says nothing.
    NotStated,
}

/// A network of the kraj's social services.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kpss_domain::service::Network")]
pub enum Network {
    /// základní síť
    Basic,
    /// rozvojová síť
    Development,
}
