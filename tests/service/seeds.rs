//! The data set: everything the seed files say is stored and comes back
//! out exactly, with the counts of the documents.

use crate::support::{Backend, TestApp, fresh_config, repo_path};
use kpss_domain::access::Ctx;
use kpss_domain::region::RegionCode;
use kpss_domain::seed::RegionData;
use kpss_persistence::{Db, export, seed};
use sea_orm::ConnectionTrait;

pub const REGIONS: &[&str] = &["chomutov", "karlovy-vary", "klatovy", "kromeriz"];

pub fn seed_file(region: &str) -> RegionData {
    let path = repo_path(&format!("seeds/{region}.yaml"));
    let text = std::fs::read_to_string(&path).expect("seed file");
    seed::parse::<RegionData>(&path, &text)
        .expect("parses")
        .normalized()
        .expect("valid")
}

async fn seeded(b: Backend) -> (Db, tempfile::TempDir) {
    let (config, dir) = fresh_config(b).await;
    (
        kpss::prepare_database(&config).await.expect("prepared"),
        dir,
    )
}

/// A region's plans (ids) and providers; each plan's tree is `PLAN_TREE`
/// (a whole region in one query is over the complexity limit).
const REGION_TREE: &str = r#"query($r: String!) { region(code: $r) { plans { id }
  providers { name ico ...Pv services { serviceType name scope ...Sv
    capacities { ...C } } } } }
fragment S on SourceRef { document firstLine lastLine text excerpt fields }
fragment Pv on Provider { sources { ...S } reading }
fragment Sv on Service { sources { ...S } reading }
fragment C on Capacity { form value atLeast unit text networkShares { network value }
  sources { ...S } reading }"#;

const PLAN_TREE: &str = r#"query($id: ID!) { plan(id: $id) {
  id key: id title documentTitle kind periodStart periodEnd preparedBy approval
  approvedOn mission vision implementation issued issuedOn notes
  sourceDocument sources { ...S } reading parent { id }
  projects { title implementer due dueYear sources { ...S } reading }
  priorities { code title description group sources { ...S } reading
    measures { ...M subMeasures { ...M } } } } }
fragment S on SourceRef { document firstLine lastLine text excerpt fields }
fragment C on Capacity { form value atLeast unit text networkShares { network value }
  sources { ...S } reading }
fragment M on Measure { code title alternativeTitle rationale description targetGroups term
  termStartYear termEndYear responsible output
  expectedCost { statement amountCzk per text }
  fundingSources fundingStatement risks plannedActivities
  plannedCapacities { ...C } priorityTitle
  evaluations { year status comment sources { ...S } reading }
  sources { ...S } reading
  activities { ...A subActivities { ...A } } }
fragment A on Activity { code title description responsible scheduleItems
  financingItems financingStatement outputs sources { ...S } reading }"#;

/// A region's whole tree as the API serves it, keys in snake case as the
/// seed files spell them (renamed here: aliases would count against the
/// query's alias limit).
pub async fn region_tree(app: &TestApp, region: &str) -> serde_json::Value {
    fn snake(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => o
                .into_iter()
                .map(|(k, v)| {
                    let key = k.chars().fold(String::new(), |mut out, c| {
                        if c.is_ascii_uppercase() {
                            out.push('_');
                        }
                        out.push(c.to_ascii_lowercase());
                        out
                    });
                    (key, snake(v))
                })
                .collect(),
            serde_json::Value::Array(a) => a.into_iter().map(snake).collect(),
            other => other,
        }
    }
    let admin = app.admin();
    let mut tree = app
        .query(&admin, REGION_TREE, serde_json::json!({ "r": region }))
        .await["region"]
        .take();
    for plan in tree["plans"].as_array_mut().expect("plans") {
        *plan = app.query(&admin, PLAN_TREE, plan.clone()).await["plan"].take();
    }
    snake(tree)
}

/// A served range in the seed format: the lines, the excerpt where it is not
/// all of them, its document where it is not the record's, its fields.
fn seed_range(r: &serde_json::Value, document: &serde_json::Value) -> serde_json::Value {
    let mut seed =
        serde_json::json!({ "first_line": r["first_line"], "last_line": r["last_line"] });
    if r["excerpt"] != r["text"] {
        seed["excerpt"] = r["excerpt"].clone();
    }
    if r["document"] != *document {
        seed["document"] = r["document"].clone();
    }
    if r["fields"].as_array().is_some_and(|f| !f.is_empty()) {
        seed["fields"] = r["fields"].clone();
    }
    seed
}

/// A served `sources` in the seed format (`source` for one range, else
/// `sources`); a provider's document becomes its `source_document`.
fn as_seed_sources(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            // `sources` holds `source` first (the provenance test checks that).
            let ranges = o.remove("sources").unwrap_or_default();
            if let Some([main, ..]) = ranges.as_array().map(Vec::as_slice) {
                let document = &main["document"];
                if o.contains_key("services") {
                    o.insert("source_document".into(), document.clone());
                }
                let mut seed: Vec<_> = ranges
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| seed_range(r, document))
                    .collect();
                if seed.len() == 1 {
                    o.insert("source".into(), seed.remove(0));
                } else {
                    o.insert("sources".into(), serde_json::Value::Array(seed));
                }
            }
            // The seed names a funding statement only where the list does not tell.
            for key in ["funding_statement", "financing_statement"] {
                if matches!(
                    o.get(key).and_then(|s| s.as_str()),
                    Some("STATED" | "NOT_STATED")
                ) {
                    o.remove(key);
                }
            }
            o.values_mut().for_each(as_seed_sources);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(as_seed_sources),
        _ => {}
    }
}

/// A region as the GraphQL API serves it, in the seed format: plan keys and
/// parents mapped back to the seed's keys (plans keep their order), sources
/// as the seed records them.
pub async fn through_graphql(app: &TestApp, region: &str) -> RegionData {
    let mut data = region_tree(app, region).await;
    let seed = seed_file(region);
    let key_of: std::collections::HashMap<String, String> = data["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .zip(&seed.plans)
        .map(|(p, s)| (p["id"].as_str().expect("id").to_owned(), s.key.clone()))
        .collect();
    for p in data["plans"].as_array_mut().expect("plans") {
        let o = p.as_object_mut().expect("plan");
        o.remove("id");
        let parent = o
            .remove("parent")
            .and_then(|v| v["id"].as_str().map(|id| key_of[id].clone()));
        o.insert("parent".into(), serde_json::json!(parent));
        let key = key_of[o["key"].as_str().expect("key")].clone();
        o.insert("key".into(), key.into());
    }
    as_seed_sources(&mut data);
    data["region"] = region.into();
    let mut out: RegionData = serde_json::from_value(data).expect("the seed format");
    for p in &mut out.plans {
        p.priorities
            .iter_mut()
            .flat_map(|pr| &mut pr.measures)
            .for_each(|m| {
                m.evaluations.reverse();
                m.sub_measures
                    .iter_mut()
                    .for_each(|s| s.evaluations.reverse());
            });
    }
    out
}

/// The seed with its providers in the API's Czech order of names.
fn as_served(mut d: RegionData) -> RegionData {
    d.providers
        .sort_by_key(|p| kpss_domain::collation::sort_key(&p.name));
    d
}

async fn the_api_serves_every_seed_value(b: Backend) {
    let app = TestApp::spawn(b).await;
    for region in REGIONS {
        assert_eq!(
            through_graphql(&app, region).await,
            as_served(seed_file(region)),
            "{region}"
        );
    }
    app.stop().await;
}

crate::on_both_databases!(the_api_serves_every_seed_value);

pub async fn exported(db: &Db, region: &str) -> RegionData {
    let code = RegionCode::parse("region", region).expect("code");
    export::region(&db.scoped(Ctx::system("test")), &code)
        .await
        .expect("export")
}

async fn export_gives_back_every_seed_file_exactly(b: Backend) {
    let (db, _dir) = seeded(b).await;
    for region in REGIONS {
        let out = exported(&db, region).await;
        assert_eq!(
            out,
            seed_file(region),
            "{region}: export differs from the seed"
        );
        // And the written YAML reads back to the same data.
        let yaml = export::to_yaml(&out).expect("yaml");
        let again: RegionData =
            seed::parse(std::path::Path::new("export.yaml"), &yaml).expect("re-parse");
        assert_eq!(
            again.normalized().expect("valid"),
            out,
            "{region}: YAML round trip"
        );
    }
}

crate::on_both_databases!(export_gives_back_every_seed_file_exactly);

fn plan<'a>(data: &'a RegionData, key: &str) -> &'a kpss_domain::seed::PlanData {
    data.plans
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("plan {key}"))
}

/// A measure (or sub-measure) by its code path, e.g. `["7.1", "7.1 a"]`.
fn measure<'a>(
    plan: &'a kpss_domain::seed::PlanData,
    group: Option<&str>,
    path: &[&str],
) -> &'a kpss_domain::seed::MeasureData {
    let mut found = plan
        .priorities
        .iter()
        .filter(|p| group.is_none() || p.group.as_deref() == group)
        .flat_map(|p| &p.measures)
        .find(|m| m.code == path[0])
        .unwrap_or_else(|| panic!("measure {}", path[0]));
    for code in &path[1..] {
        found = found
            .sub_measures
            .iter()
            .find(|m| m.code == *code)
            .unwrap_or_else(|| panic!("sub-measure {code}"));
    }
    found
}

fn service<'a>(
    data: &'a RegionData,
    provider: &str,
    ty: ServiceType,
) -> &'a kpss_domain::seed::ServiceData {
    let p = data
        .providers
        .iter()
        .find(|p| p.name == provider)
        .unwrap_or_else(|| panic!("provider {provider}"));
    p.services
        .iter()
        .find(|s| s.service_type == ty)
        .unwrap_or_else(|| panic!("{provider}: {ty}"))
}

fn caps(s: &kpss_domain::seed::ServiceData) -> Vec<(Option<ServiceForm>, i32, CapacityUnit)> {
    s.capacities
        .iter()
        .map(|c| (c.form, c.value, c.unit))
        .collect()
}

use kpss_domain::evaluation::EvaluationStatus;
use kpss_domain::measure::Statement;
use kpss_domain::plan::PlanKind;
use kpss_domain::service::{CapacityUnit, Network, ServiceForm, ServiceType};

/// Values read off the source documents by hand (file and line in each comment),
/// checked against what the database gives back.
async fn spot_checks_against_the_documents(b: Backend) {
    let app = TestApp::spawn(b).await;
    // The same checks on what the repositories export and on what the GraphQL API serves.
    for source in ["export", "graphql"] {
        let mut data = std::collections::HashMap::new();
        for region in REGIONS {
            let d = if source == "export" {
                exported(&app.db, region).await
            } else {
                through_graphql(&app, region).await
            };
            data.insert(*region, d);
        }
        spot_checks(&data);
    }
    app.stop().await;
}

fn spot_checks(data: &std::collections::HashMap<&str, RegionData>) {
    use CapacityUnit::*;
    use ServiceForm::*;

    // Klatovy, klatovy-akcni-plan-2023.txt
    let k = &data["klatovy"];
    let ap = plan(k, "ap-2023");
    assert_eq!(
        (ap.kind, ap.period_start, ap.period_end),
        (PlanKind::ActionPlan, 2023, 2023)
    );
    assert_eq!(
        ap.parent.as_deref(),
        Some("kp-2023-2025"),
        "the action plan implements the community plan"
    );
    assert_eq!(
        ap.approved_on.map(|d| d.to_string()).as_deref(),
        Some("2022-05-31"),
        "line 20: schváleny na řídicí skupině 31. 5. 2022"
    );
    assert_eq!(plan(k, "kp-2023-2025").period_end, 2025);
    // line 267-268: the capacity list of measure 7.1 a
    // Line 267 states no form for the home's beds; the law's form is ServiceTypeInfo.legalForms.
    let clementas = service(
        k,
        "Clementas Janovice, s.r.o.",
        ServiceType::DomovySeZvlastnimRezimem,
    );
    assert_eq!(caps(clementas), [(None, 229, Beds)]);
    assert_eq!(
        clementas.capacities[0]
            .network_shares
            .iter()
            .map(|s| (s.network, s.value))
            .collect::<Vec<_>>(),
        [(Network::Basic, 17), (Network::Development, 50)],
        "line 108: v základní síti 17 lůžek a v rozvojové síti 50 lůžek"
    );
    let ds = service(
        k,
        "Městský ústav sociálních služeb Klatovy",
        ServiceType::DomovyProSeniory,
    );
    assert_eq!(caps(ds), [(None, 164, Beds)], "line 270 states no form");
    let line = ds.capacities[0].source.as_ref().expect("source");
    assert_eq!(
        (line.first_line, line.excerpt.as_deref()),
        (270, Some("164 lůžek"))
    );
    assert_eq!(ap.issued.as_deref(), Some("Klatovy 2022"), "line 16");
    assert_eq!(ap.issued_on, None, "a year is not a date");
    assert_eq!(
        caps(service(
            k,
            "Městský ústav sociálních služeb Klatovy",
            ServiceType::Nocleharny
        ))[0]
            .1,
        11
    );
    assert_eq!(
        caps(service(
            k,
            "Centrum pro dětský sluch Tamtam, o.p.s.",
            ServiceType::RanaPece
        )),
        [(Some(Field), 140, ClientsAtOnce)]
    );
    assert_eq!(
        caps(service(
            k,
            "Domus – centrum pro rodinu",
            ServiceType::SasProRodinySDetmi
        )),
        [
            (Some(Outpatient), 6, ClientsAtOnce),
            (Some(Field), 12, ClientsAtOnce)
        ]
    );
    let och = caps(service(
        k,
        "Oblastní charita Klatovy",
        ServiceType::OdborneSocialniPoradenstvi,
    ));
    assert!(
        och.contains(&(Some(Field), 250, InterventionsPerYear))
            && och.contains(&(Some(Outpatient), 50, InterventionsPerYear)),
        "roční 250 / 50 intervencí"
    );
    assert_eq!(
        caps(service(
            k,
            "Správa uprchlických zařízení Ministerstva vnitra ČR",
            ServiceType::OdborneSocialniPoradenstvi
        )),
        [
            (Some(Outpatient), 2, ClientsPerHour),
            (Some(Field), 1, ClientsPerHour)
        ]
    );
    assert_eq!(
        caps(service(
            k,
            "Oblastní charita Klatovy",
            ServiceType::NizkoprahovaZarizeniProDetiAMladez
        )),
        [
            (Some(Outpatient), 35, ClientsAtOnce),
            (Some(Field), 60, ClientsAtOnce)
        ]
    );
    assert_eq!(
        service(k, "Tichý svět, o. p. s.", ServiceType::TlumocnickeSluzby)
            .scope
            .as_deref(),
        Some("v Plz. kraji")
    );
    assert_eq!(
        caps(service(
            k,
            "VIDA z.s.",
            ServiceType::OdborneSocialniPoradenstvi
        )),
        [(Some(Field), 1, ClientsAtOnce)],
        "line 273, the last provider"
    );
    // line 200-203: 23 flats planned in Plánice
    let planice = measure(ap, None, &["4.1", "4.1 a"]);
    assert_eq!(
        planice
            .planned_capacities
            .iter()
            .map(|c| (c.value, c.unit))
            .collect::<Vec<_>>(),
        [(23, HousingUnits)]
    );
    assert_eq!(planice.responsible, ["Město Plánice"]);
    assert_eq!(planice.term.as_deref(), Some("2023, 2024"));

    // Kroměříž, kromeriz-vyhodnoceni-2020-2023.txt
    let kr = &data["kromeriz"];
    let kp = &kr.plans[0];
    assert_eq!(
        (kp.kind, kp.period_start, kp.period_end),
        (PlanKind::CommunityPlan, 2020, 2023)
    );
    let system = Some("SYSTÉMOVÉ PRIORITY A OPATŘENÍ");
    let m14 = measure(kp, system, &["1. 4"]);
    let cost = m14.expected_cost.as_ref().expect("cost");
    assert_eq!(
        (
            cost.amount_czk.map(i64::from),
            cost.per.as_deref(),
            cost.text.as_str()
        ),
        (Some(10_000), Some("setkání"), "10 000 Kč / setkání"),
        "line 40"
    );
    let m22 = measure(kp, system, &["2. 2"]);
    assert_eq!(
        m22.expected_cost
            .as_ref()
            .and_then(|c| c.amount_czk)
            .map(i64::from),
        Some(30_000),
        "line 64"
    );
    assert_eq!(m22.term.as_deref(), Some("2020 - 2023"));
    assert_eq!(m22.responsible, ["Poskytovatelé sociálních služeb"]);
    let m81 = measure(kp, system, &["8.1"]);
    assert_eq!(
        m81.expected_cost
            .as_ref()
            .map(|c| (c.amount_czk.map(i64::from), c.text.as_str())),
        Some((Some(100_000_000), "100 mil Kč")),
        "line 156"
    );
    assert!(
        m81.planned_capacities
            .iter()
            .any(|c| (c.value, c.unit) == (50, Beds)),
        "minimálně 50 lůžek is planned, not a service"
    );
    assert_eq!(m81.evaluations[0].year, 2023);
    assert_eq!(
        m81.evaluations[0].status,
        EvaluationStatus::InProgress,
        "line 159: Výstup je naplňován."
    );
    assert!(
        m81.evaluations[0]
            .comment
            .as_deref()
            .is_some_and(|c| c.contains("Račín s kapacitou 23 lůžek"))
    );
    assert_eq!(
        kp.issued.as_deref(),
        Some("Aktualizace prosinec 2023"),
        "line 7"
    );
    let m12s = measure(kp, system, &["1. 2"]);
    assert_eq!(
        (
            m12s.funding_sources.as_slice(),
            m12s.funding_statement,
            m12s.expected_cost
                .as_ref()
                .map(|c| (c.statement, c.amount_czk.map(i64::from)))
        ),
        (
            &[][..],
            Some(Statement::None),
            Some((Statement::None, Some(0)))
        ),
        "line 20-21: PŘEDPOKLÁDANÉ NÁKLADY 0, ZDROJ KRYTÍ NÁKLADŮ 0"
    );
    let osv = Some("PRACOVNÍ SKUPINA OSOBY OHROŽENÉ SOCIÁLNÍM VYLOUČENÍM");
    let crisis = measure(kp, osv, &["1. 1"]);
    assert_eq!(
        (crisis.funding_sources.len(), crisis.funding_statement),
        (0, Some(Statement::NotSpecifiable)),
        "line 327: Nelze specifikovat"
    );
    assert_eq!(
        crisis.responsible,
        [
            "Město Kroměříž",
            "Poskytovatelé sociálních služeb",
            "Jiný subjekt"
        ],
        "line 324: one entry per body"
    );
    let shelter = measure(kp, osv, &["1.2"]);
    assert_eq!(
        shelter.priority_title.as_deref(),
        Some("Zajištění přechodného bydlení pro osoby v krizové životní situaci"),
        "line 333 prints the priority's other title"
    );
    assert_eq!(
        shelter.funding_sources,
        [
            "Dotace MPSV",
            "Dotace obcí v ORP Kroměříž",
            "Dotační tituly EU",
            "Úhrady od klientů"
        ],
        "line 339"
    );
    assert_eq!(shelter.source.as_ref().map(|s| s.first_line), Some(333));
    let m12 = measure(kp, None, &["1.2"]);
    assert_eq!(
        m12.output.as_deref(),
        Some("Sociální bydlení pro rodiny s dětmi v SO ORP Kroměříž"),
        "line 227"
    );
    assert_eq!(
        m12.expected_cost
            .as_ref()
            .map(|c| (c.amount_czk, c.text.as_str())),
        Some((None, "Nelze specifikovat"))
    );
    assert_eq!(
        m12.risks.first().map(String::as_str),
        Some("Nezájem ze strany obcí a měst")
    );
    assert!(
        kr.providers.is_empty(),
        "the evaluation lists no provider capacities"
    );

    // Chomutov, chomutov-vyhodnoceni-2007-2008-plan-2009.txt
    let ch = &data["chomutov"];
    let st = plan(ch, "kratkodoby-plan-2007-2008");
    assert_eq!(
        (st.kind, st.period_start, st.period_end),
        (PlanKind::ShortTermPlan, 2007, 2008)
    );
    assert_eq!(
        st.priorities[0].title,
        "Cílené vytváření finančních prostředků pro udržení a rozvoj sociálních služeb",
        "line 17"
    );
    let m112 = measure(st, None, &["1.1", "1.1.2"]);
    assert_eq!(
        m112.expected_cost
            .as_ref()
            .and_then(|c| c.amount_czk)
            .map(i64::from),
        Some(2_774_600),
        "line 24: 2 774 600,- Kč"
    );
    assert_eq!(
        m112.evaluations[0].status,
        EvaluationStatus::Unknown,
        "the tick marks were lost"
    );
    assert_eq!(st.projects.len(), 5, "lines 203-207");
    let p = &st.projects[2];
    assert_eq!(
        (
            p.title.as_str(),
            p.implementer.as_deref(),
            p.due.as_deref(),
            p.due_year
        ),
        (
            "Vybudování poradenského centra pro děti a mládež zaměřeného na sociální prevenci",
            Some("o.s. Kuprospěchu"),
            Some("rok 2008"),
            Some(2008)
        )
    );
    assert_eq!(
        plan(ch, "plan-2009").prepared_by.as_deref(),
        Some("Kateřina Pecháčková"),
        "line 211"
    );
    let p2009 = plan(ch, "plan-2009");
    assert_eq!(
        (
            p2009.approved_on,
            p2009.issued.as_deref(),
            p2009.issued_on.map(|d| d.to_string()).as_deref()
        ),
        (None, Some("Chomutov 3. 9. 2008"), Some("2008-09-03")),
        "line 209 dates the document; it states no approval date"
    );
    let approval = plan(ch, "plan-2009").approval.clone().unwrap_or_default();
    assert!(
        approval.contains("Mgr. Tölgová Alena") && approval.contains("manažerka projektu"),
        "the last lines, 213-214: {approval}"
    );

    // The last lines of the others: Kroměříž's last evaluation (line 405), Klatovy's last measure (7.2).
    let last = measure(
        &kr.plans[0],
        Some("PRACOVNÍ SKUPINA OSOBY OHROŽENÉ SOCIÁLNÍM VYLOUČENÍM"),
        &["5.1"],
    );
    assert_eq!(
        last.evaluations[0].status,
        EvaluationStatus::NotFulfilled,
        "line 405: Výstup nesplněn."
    );
    assert!(
        last.evaluations[0]
            .comment
            .as_deref()
            .is_some_and(|c| c.ends_with("pracovníky sociálního odboru Zlínského kraje."))
    );
    let komise = measure(plan(k, "ap-2023"), None, &["7.2"]);
    assert_eq!(
        (komise.term.as_deref(), komise.responsible.as_slice()),
        (Some("2023, 2024"), &["Město Klatovy".to_owned()][..])
    );

    // Karlovarský kraj, karlovarsky-kraj-plan-prace-2011-2012.txt
    let kv = &data["karlovy-vary"];
    let sp = plan(kv, "sp-2009-2013");
    assert_eq!(
        (sp.kind, sp.period_start, sp.period_end),
        (PlanKind::MediumTermPlan, 2009, 2013)
    );
    assert!(
        sp.approval
            .as_deref()
            .is_some_and(|a| a.contains("RK 702/09/08") && a.contains("ZK 239/09/08")),
        "line 7"
    );
    assert_eq!(
        sp.mission.as_deref(),
        Some(
            "Komunitním plánováním přispět ke zvýšení kvality života občanů v Karlovarském kraji."
        ),
        "line 15"
    );
    assert!(
        sp.vision
            .as_deref()
            .is_some_and(|v| v.starts_with("Karlovarský kraj nabízí svým občanům funkční síť")),
        "line 19"
    );
    let wp = plan(kv, "pp-2011-2012");
    let carried = wp.implementation.as_deref().unwrap_or_default();
    assert!(
        carried.starts_with("Za realizaci Plánu práce odpovídá odbor sociálních věcí")
            && carried
                .ends_with("Zpráva bude rovněž předložena k projednání Radě Karlovarského kraje."),
        "lines 1129, 1132: {carried}"
    );
    let info = wp.priorities[2]
        .measures
        .iter()
        .find(|m| m.code == "3.3")
        .expect("3.3")
        .activities[0]
        .clone();
    assert_eq!(
        info.financing_items,
        [
            "vlastní zdroje (rozpočet Karlovarského kraje)",
            "vnější zdroje (ESF, státní rozpočet ČR)"
        ],
        "activity 3.3.1: one entry per line"
    );
    assert_eq!(
        (
            wp.kind,
            wp.parent.as_deref(),
            wp.approved_on.map(|d| d.to_string()).as_deref()
        ),
        (PlanKind::WorkPlan, Some("sp-2009-2013"), Some("2011-05-16")),
        "line 1127: RK 498/05/11 ze dne 16.5.2011"
    );
    let inspekce = &wp.priorities[0]
        .measures
        .iter()
        .find(|m| m.code == "1.2")
        .expect("1.2")
        .activities[1];
    assert_eq!(
        (inspekce.code.as_str(), inspekce.title.as_str()),
        ("1.2.2", "Inspekce poskytování sociálních služeb"),
        "line 149"
    );
    assert_eq!(
        inspekce.responsible,
        [
            "odbor sociálních věcí – pracovníci odpovědní za inspekce poskytování sociálních služeb",
            "spolupráce s externími odborníky"
        ],
        "lines 158-160"
    );
    assert!(
        inspekce
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Inspekční tým tvoří vždy 3 členové")),
        "line 155"
    );
    let vzdelavani = wp.priorities[0]
        .measures
        .iter()
        .find(|m| m.code == "1.2")
        .expect("1.2")
        .activities
        .iter()
        .find(|a| a.code == "1.2.6")
        .expect("1.2.6");
    assert_eq!(
        vzdelavani
            .sub_activities
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        ["1.2.6.1", "1.2.6.2", "1.2.6.3", "1.2.6.4"]
    );
    assert!(
        vzdelavani.sub_activities[0]
            .title
            .starts_with("Vzdělávání pracovníků v přímé péči"),
        "line 264"
    );
}

/// Per region, what the documents hold (how each was counted: seeds/README.md).
const COUNTS: &[(&str, [i64; 12])] = &[
    // plans, priorities, measures, sub-measures, activities, sub-activities, evaluations, projects, providers, services, capacities, planned capacities
    ("chomutov", [2, 8, 23, 66, 0, 0, 37, 5, 1, 0, 0, 0]),
    ("karlovy-vary", [3, 9, 16, 0, 27, 4, 0, 0, 6, 6, 0, 0]),
    ("klatovy", [2, 7, 20, 11, 0, 0, 0, 0, 25, 51, 64, 1]),
    ("kromeriz", [1, 23, 33, 0, 0, 0, 33, 0, 0, 0, 0, 5]),
];

async fn each_region_holds_what_its_document_counts(b: Backend) {
    let (config, _dir) = fresh_config(b).await;
    kpss::prepare_database(&config).await.expect("prepared");
    let conn = sea_orm::Database::connect(&config.owner_url().expect("url"))
        .await
        .expect("connect");
    let queries = [
        "SELECT COUNT(*) FROM plan WHERE region_code = $1 AND archived = false",
        "SELECT COUNT(*) FROM priority WHERE region_code = $1 AND archived = false",
        "SELECT COUNT(*) FROM measure WHERE region_code = $1 AND archived = false AND parent_id IS NULL",
        "SELECT COUNT(*) FROM measure WHERE region_code = $1 AND archived = false AND parent_id IS NOT NULL",
        "SELECT COUNT(*) FROM activity WHERE region_code = $1 AND archived = false AND parent_id IS NULL",
        "SELECT COUNT(*) FROM activity WHERE region_code = $1 AND archived = false AND parent_id IS NOT NULL",
        "SELECT COUNT(*) FROM evaluation WHERE region_code = $1",
        "SELECT COUNT(*) FROM plan_project WHERE region_code = $1",
        "SELECT COUNT(*) FROM provider WHERE region_code = $1 AND archived = false",
        "SELECT COUNT(*) FROM service WHERE region_code = $1 AND archived = false",
        "SELECT COUNT(*) FROM capacity WHERE region_code = $1 AND service_id IS NOT NULL",
        "SELECT COUNT(*) FROM capacity WHERE region_code = $1 AND measure_id IS NOT NULL",
    ];
    for (region, expected) in COUNTS {
        let mut got = [0i64; 12];
        for (i, q) in queries.iter().enumerate() {
            let backend = conn.get_database_backend();
            let sql = if backend == sea_orm::DbBackend::Sqlite {
                q.replace("$1", "?")
            } else {
                q.to_string()
            };
            let row = conn
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    backend,
                    sql,
                    [(*region).into()],
                ))
                .await
                .expect("query")
                .expect("row");
            got[i] = row.try_get_by_index::<i64>(0).expect("count");
        }
        assert_eq!(
            &got, expected,
            "{region}: plans, priorities, measures, sub-measures, activities, sub-activities, evaluations, projects, providers, services, capacities, planned capacities"
        );
    }
}

crate::on_both_databases!(each_region_holds_what_its_document_counts);

crate::on_both_databases!(spot_checks_against_the_documents);

/// Every text in the seed files is already clean: NFC, trimmed, no markup,
/// no tabs or table rules left from the PDF conversion.
#[test]
fn seed_files_hold_clean_text() {
    fn walk(v: &serde_json::Value, path: &str, problems: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => {
                let checks = [
                    (kpss_domain::text::nfc(s) != *s, "not NFC"),
                    (s.trim() != s, "untrimmed"),
                    (s.contains('\t'), "tab"),
                    (s.contains("---"), "table rule"),
                    (s.contains("  "), "double space"),
                    (s.contains("\n\n\n"), "more than one blank line"),
                    (s.lines().any(|l| l.trim() != l), "untrimmed line"),
                    (
                        kpss_domain::text::optional("", Some(s), usize::MAX).is_err(),
                        "HTML tag",
                    ),
                ];
                problems.extend(
                    checks
                        .iter()
                        .filter(|(bad, _)| *bad)
                        .map(|(_, what)| format!("{path}: {what}: {s:?}")),
                );
            }
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), problems)),
            serde_json::Value::Object(o) => o
                .iter()
                .for_each(|(k, x)| walk(x, &format!("{path}.{k}"), problems)),
            _ => {}
        }
    }
    let mut problems = Vec::new();
    for region in REGIONS {
        let text =
            std::fs::read_to_string(repo_path(&format!("seeds/{region}.yaml"))).expect("seed");
        let value: serde_json::Value = serde_norway::from_str(&text).expect("yaml");
        walk(&value, region, &mut problems);
        assert!(!text.contains('<'), "{region}: a '<' is left");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Amounts and dates agree with the text they come from: an expected cost's
/// amount is the amount its text states (`2 774 600,- Kč`, `100 mil Kč`), and
/// an approval date is a date its approval text states (`31. 5. 2022`).
#[test]
fn amounts_and_dates_are_the_ones_their_texts_state() {
    use kpss_domain::value::{AmountCzk, Date};
    fn dates_in(text: &str) -> Vec<Date> {
        let chars: Vec<char> = text.chars().collect();
        let mut found = Vec::new();
        for start in 0..chars.len() {
            if !chars[start].is_ascii_digit() || (start > 0 && chars[start - 1].is_ascii_digit()) {
                continue;
            }
            for end in (start + 6..=chars.len().min(start + 12)).rev() {
                let candidate: String = chars[start..end].iter().collect();
                if let Ok(d) = Date::parse_czech("", &candidate) {
                    found.push(d);
                    break;
                }
            }
        }
        found
    }
    fn costs<'a>(
        m: &'a kpss_domain::seed::MeasureData,
        out: &mut Vec<&'a kpss_domain::measure::Cost>,
    ) {
        out.extend(m.expected_cost.as_ref());
        m.sub_measures.iter().for_each(|s| costs(s, out));
    }
    let (mut amounts, mut dates) = (0, 0);
    for region in REGIONS {
        let text =
            std::fs::read_to_string(repo_path(&format!("seeds/{region}.yaml"))).expect("seed");
        let data: RegionData = serde_norway::from_str(&text).expect("seed format");
        for p in &data.plans {
            let mut found = Vec::new();
            p.priorities
                .iter()
                .flat_map(|pr| &pr.measures)
                .for_each(|m| costs(m, &mut found));
            for c in found {
                let stated = AmountCzk::parse_czech(&c.text).or_else(|| {
                    c.text
                        .parse::<i64>()
                        .ok()
                        .and_then(|n| AmountCzk::new("", n).ok())
                });
                assert_eq!(c.amount_czk, stated, "{region}: {:?}", c.text);
                amounts += usize::from(stated.is_some());
            }
            if let Some(on) = p.approved_on {
                let approval = p.approval.as_deref().unwrap_or_default();
                assert!(
                    dates_in(approval).contains(&on),
                    "{region} {}: {on} is not in {approval:?}",
                    p.key
                );
                dates += 1;
            }
        }
    }
    assert!(
        amounts >= 10 && dates >= 4,
        "{amounts} amounts, {dates} dates checked"
    );
}
