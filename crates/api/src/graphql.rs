//! The GraphQL schema. Types are written by hand and wrap domain values;
//! every resolver reads through the persistence layer with the caller's scope.

use crate::error::{ApiError, Result, coded};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, EmptyMutation, EmptySubscription, Enum, Object};
use kpss_domain::access::Ctx;
use kpss_domain::region::{self as dom, KrajCode, RegionCode};
use kpss_domain::service as svc;
use kpss_persistence::{Db, region as store};
use std::collections::HashMap;

pub type Schema = async_graphql::Schema<Query, EmptyMutation, EmptySubscription>;

/// Abuse limits, in one place, with their defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest selection nesting a query may have.
    pub max_depth: usize,
    /// Highest complexity (one point per field, lists multiplied) a query may have.
    pub max_complexity: usize,
    /// Largest `first` of a connection.
    pub max_page_size: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 5_000,
            max_page_size: 100,
            max_body_bytes: 256 * 1024,
        }
    }
}

pub fn build_schema(db: Db, limits: &Limits) -> Schema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .finish()
}

/// Per-request data: the caller's scope and the loaders that batch by key.
pub fn request_data(db: &Db, ctx: Ctx) -> (Ctx, DataLoader<Loaders>) {
    (
        ctx.clone(),
        DataLoader::new(
            Loaders {
                db: db.clone(),
                ctx,
            },
            tokio::spawn,
        ),
    )
}

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Ctx {
    // The HTTP layer attaches a Ctx to every request before executing it.
    ctx.data_unchecked::<Ctx>()
}

fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

fn loader<'a>(ctx: &'a Context<'_>) -> &'a DataLoader<Loaders> {
    ctx.data_unchecked::<DataLoader<Loaders>>()
}

// ---------------------------------------------------------------- enums

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    remote = "kpss_domain::access::Role",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
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

// ---------------------------------------------------------------- loaders

/// Batches lookups by key within one request (no query per parent).
pub struct Loaders {
    db: Db,
    ctx: Ctx,
}

impl Loader<KrajCode> for Loaders {
    type Value = Kraj;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[KrajCode]) -> Result<HashMap<KrajCode, Kraj>> {
        let kraje = store::kraje_by_codes(&self.db, &self.ctx, keys)
            .await
            .map_err(coded)?;
        Ok(kraje
            .into_iter()
            .map(|k| (k.code.clone(), Kraj(k)))
            .collect())
    }
}

/// Visible regions of a kraj, keyed by the kraj.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RegionsOf(KrajCode);

impl Loader<RegionsOf> for Loaders {
    type Value = Vec<Region>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[RegionsOf]) -> Result<HashMap<RegionsOf, Vec<Region>>> {
        let kraje: Vec<KrajCode> = keys.iter().map(|k| k.0.clone()).collect();
        let regions = store::in_kraje(&self.db, &self.ctx, &kraje)
            .await
            .map_err(coded)?;
        let mut by_kraj: HashMap<RegionsOf, Vec<Region>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for r in regions {
            by_kraj
                .entry(RegionsOf(r.kraj.clone()))
                .or_default()
                .push(Region(r));
        }
        Ok(by_kraj)
    }
}

// ---------------------------------------------------------------- objects

pub struct Query;

#[Object]
impl Query {
    /// The caller as its token presents it.
    async fn me(&self, ctx: &Context<'_>) -> Viewer {
        Viewer(caller(ctx).clone())
    }

    /// Kraje with at least one region visible to the caller.
    async fn kraje(&self, ctx: &Context<'_>) -> Result<Vec<Kraj>> {
        let kraje = store::kraje(db(ctx), caller(ctx)).await.map_err(coded)?;
        Ok(kraje.into_iter().map(Kraj).collect())
    }

    /// Regions (tenants) visible to the caller, ordered by Czech collation of name.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let regions = store::list(db(ctx), caller(ctx)).await.map_err(coded)?;
        Ok(regions.into_iter().map(Region).collect())
    }

    /// One region; null when it does not exist, error FORBIDDEN when it is not visible.
    async fn region(&self, ctx: &Context<'_>, code: String) -> Result<Option<Region>> {
        let code = RegionCode::parse("code", &code).map_err(coded)?;
        Ok(store::get(db(ctx), caller(ctx), &code)
            .await
            .map_err(coded)?
            .map(Region))
    }

    /// The legal classification of social services.
    async fn service_types(&self) -> Vec<ServiceTypeInfo> {
        svc::ServiceType::ALL
            .iter()
            .map(|t| ServiceTypeInfo(*t))
            .collect()
    }
}

pub struct Viewer(Ctx);

#[Object]
impl Viewer {
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// Regions this caller may read.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let regions = store::list(db(ctx), &self.0).await.map_err(coded)?;
        Ok(regions.into_iter().map(Region).collect())
    }

    /// Regions this caller may change.
    async fn writable_regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let regions = store::list(db(ctx), &self.0).await.map_err(coded)?;
        Ok(regions
            .into_iter()
            .filter(|r| self.0.write.covers(&r.code, &r.kraj))
            .map(Region)
            .collect())
    }
}

#[derive(Clone)]
pub struct Kraj(dom::Kraj);

#[Object]
impl Kraj {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Visible regions of this kraj.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        Ok(loader(ctx)
            .load_one(RegionsOf(self.0.code.clone()))
            .await?
            .unwrap_or_default())
    }
}

#[derive(Clone)]
pub struct Region(dom::Region);

#[Object]
impl Region {
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> RegionKind {
        self.0.kind.into()
    }

    async fn kraj(&self, ctx: &Context<'_>) -> Result<Kraj> {
        // A visible region's kraj is always visible.
        loader(ctx)
            .load_one(self.0.kraj.clone())
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }
}

pub struct ServiceTypeInfo(svc::ServiceType);

#[Object]
impl ServiceTypeInfo {
    async fn code(&self) -> ServiceType {
        self.0.into()
    }

    /// Official Czech name.
    async fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Paragraph of the Act, e.g. "40" or "60a".
    async fn paragraph(&self) -> &'static str {
        self.0.paragraph()
    }

    async fn category(&self) -> ServiceCategory {
        self.0.category().into()
    }
}

/// The schema as SDL, for `kpss schema` and the drift test.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
