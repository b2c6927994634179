//! The write path for one kind (a priority under a plan), through the same
//! functions the API calls, on an in-memory SQLite database.

use crate::audit::{self, AuditQuery};
use crate::page::Page;
use crate::search::{self, SearchQuery};
use crate::seed::{SeedFiles, load};
use crate::{Db, Error, Scoped, plan, priority};
use kpss_domain::EntityKind;
use kpss_domain::access::{Ctx, Role};
use kpss_domain::kind::AuditAction;
use kpss_domain::patch::Patch;
use kpss_domain::plan::{PlanFields, PlanForCreate, PlanKind};
use kpss_domain::priority::Priority;
use kpss_domain::priority::{PriorityDraft, PriorityForCreate, PriorityPatch};
use kpss_domain::region::RegionCode;
use kpss_domain::value::{Period, Title};

/// Two regions of two kraje, and nothing else.
const REGIONS: &str = "kraje:
  - {code: CZ032, name: Plzeňský kraj}
  - {code: CZ042, name: Ústecký kraj}
regions:
  - {code: klatovy, name: Klatovy, kind: ORP, kraj: CZ032}
  - {code: chomutov, name: Chomutov, kind: STATUTORY_CITY, kraj: CZ042}
";

fn ctx(role: Role, region: &str) -> Ctx {
    let region = RegionCode::parse("region", region).expect("a region code");
    Ctx::from_claims(
        role.as_str().into(),
        role,
        [region].into(),
        false,
        [].into(),
    )
}

fn admin(db: &Db) -> Scoped {
    db.scoped(ctx(Role::Admin, "klatovy"))
}

/// A migrated in-memory database with the regions and one plan of klatovy.
pub(crate) async fn plan_in_klatovy() -> (Db, i64) {
    // sqlx gives `:memory:` a shared cache: every connection of the pool sees one database.
    let db = Db::connect("sqlite::memory:").await.expect("connect");
    db.migrate().await.expect("migrate");
    load(
        &db,
        &SeedFiles::BuiltIn(&[("regions.yaml", REGIONS)]),
        false,
    )
    .await
    .expect("regions");
    let fields = PlanFields::new(
        Title::name("title", "Střednědobý plán").expect("a title"),
        PlanKind::MediumTermPlan,
        Period::parse("period_start", 2025, "period_end", 2027).expect("a period"),
    );
    let cmd = PlanForCreate {
        region: RegionCode::parse("region", "klatovy").expect("code"),
        parent_id: None,
        fields,
        projects: vec![],
    };
    let plan = plan::create(&admin(&db), &cmd).await.expect("plan");
    (db, plan.id)
}

async fn create(db: &Db, plan_id: i64, title: &str) -> Priority {
    let fields = PriorityDraft {
        code: "1".into(),
        title: title.into(),
        description: None,
        group: None,
    }
    .parse()
    .expect("a priority");
    let editor = db.scoped(ctx(Role::Editor, "klatovy"));
    priority::create(&editor, &PriorityForCreate { plan_id, fields })
        .await
        .expect("created")
}

fn retitle(title: &str) -> PriorityPatch {
    PriorityPatch {
        title: Patch::Set(title.into()),
        ..Default::default()
    }
}

/// The priority's audit entries, oldest first.
async fn audit_of(db: &Db, id: i64) -> Vec<audit::Entry> {
    let q = AuditQuery {
        entity: Some(EntityKind::Priority),
        entity_id: Some(id),
        ..Default::default()
    };
    let page = Page {
        first: 100,
        after: None,
        count: false,
    };
    audit::list(&admin(db), &q, page)
        .await
        .expect("audit")
        .nodes
}

/// The ids of the current priorities whose text matches `text`.
async fn found(db: &Db, text: &str) -> Vec<i64> {
    let q = SearchQuery {
        text: text.into(),
        kinds: Some(vec![EntityKind::Priority]),
        ..Default::default()
    };
    let page = Page {
        first: 100,
        after: None,
        count: false,
    };
    let hits = search::search(&admin(db), &q, page).await.expect("search");
    hits.nodes.iter().map(|h| h.id).collect()
}

#[tokio::test]
async fn create_gives_version_1_an_audit_entry_a_search_entry_and_an_event() {
    let (db, plan_id) = plan_in_klatovy().await;
    let mut events = db.subscribe();
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    assert_eq!((p.version, p.archived), (1, false));

    let audit = audit_of(&db, p.id).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::Created);
    assert_eq!(audit[0].actor, "editor");
    assert!(audit[0].before.is_none());
    assert!(
        audit[0]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("Dostupné bydlení"))
    );

    assert_eq!(found(&db, "bydlení").await, [p.id]);

    let e = events.try_recv().expect("an event");
    assert_eq!(
        (e.entity, e.entity_id, e.action),
        (EntityKind::Priority, p.id, AuditAction::Created)
    );
    assert_eq!((e.region.as_str(), e.plan_id), ("klatovy", Some(plan_id)));
}

#[tokio::test]
async fn update_at_the_current_version_bumps_it_and_audits_before_and_after() {
    let (db, plan_id) = plan_in_klatovy().await;
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    let editor = db.scoped(ctx(Role::Editor, "klatovy"));
    let mut events = db.subscribe();
    let q = priority::update(&editor, p.id, 1, &retitle("Podpora rodin"))
        .await
        .expect("updated");
    assert_eq!((q.version, q.title.as_str()), (2, "Podpora rodin"));

    let audit = audit_of(&db, p.id).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].action, AuditAction::Updated);
    assert!(
        audit[1]
            .before
            .as_deref()
            .is_some_and(|b| b.contains("Dostupné bydlení"))
    );
    assert!(
        audit[1]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("Podpora rodin"))
    );

    assert_eq!(found(&db, "rodin").await, [p.id]);
    assert!(found(&db, "bydlení").await.is_empty());
    assert_eq!(
        events.try_recv().expect("an event").action,
        AuditAction::Updated
    );
}

#[tokio::test]
async fn an_updates_answer_is_the_record_as_stored() {
    let (db, plan_id) = plan_in_klatovy().await;
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    let editor = db.scoped(ctx(Role::Editor, "klatovy"));
    let answer = priority::update(&editor, p.id, 1, &retitle("Podpora rodin"))
        .await
        .expect("updated");
    let stored = priority::by_ids(&editor, &[p.id]).await.expect("read");
    assert_eq!([answer], stored.as_slice());
}

#[tokio::test]
async fn update_at_a_stale_version_is_a_conflict_and_changes_nothing() {
    let (db, plan_id) = plan_in_klatovy().await;
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    let editor = db.scoped(ctx(Role::Editor, "klatovy"));
    priority::update(&editor, p.id, 1, &retitle("Podpora rodin"))
        .await
        .expect("updated");
    let mut events = db.subscribe();
    let err = priority::update(&editor, p.id, 1, &retitle("Senioři"))
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            Error::Conflict {
                current_version: 2,
                ..
            }
        ),
        "{err:?}"
    );

    let now = priority::by_ids(&editor, &[p.id]).await.expect("read");
    assert_eq!(
        (now[0].version, now[0].title.as_str()),
        (2, "Podpora rodin")
    );
    assert_eq!(audit_of(&db, p.id).await.len(), 2);
    assert!(found(&db, "senioři").await.is_empty());
    assert!(events.try_recv().is_err(), "no event");
}

#[tokio::test]
async fn archive_and_restore_flip_archived_bump_the_version_and_audit_each() {
    let (db, plan_id) = plan_in_klatovy().await;
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    let admin = admin(&db);

    let archived = priority::set_archived(&admin, p.id, 1, true)
        .await
        .expect("archived");
    assert_eq!((archived.version, archived.archived), (2, true));
    // Search leaves archived records out unless asked for them.
    assert!(found(&db, "bydlení").await.is_empty());

    let restored = priority::set_archived(&admin, p.id, 2, false)
        .await
        .expect("restored");
    assert_eq!((restored.version, restored.archived), (3, false));
    assert_eq!(found(&db, "bydlení").await, [p.id]);

    let actions: Vec<AuditAction> = audit_of(&db, p.id).await.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Created,
            AuditAction::Archived,
            AuditAction::Restored
        ]
    );
}

#[tokio::test]
async fn a_caller_that_cannot_read_the_region_finds_nothing_one_that_only_reads_is_forbidden() {
    let (db, plan_id) = plan_in_klatovy().await;
    let p = create(&db, plan_id, "Dostupné bydlení").await;
    let patch = retitle("Podpora rodin");

    let stranger = db.scoped(ctx(Role::Editor, "chomutov"));
    for id in [p.id, p.id + 1000] {
        let err = priority::update(&stranger, id, 1, &patch)
            .await
            .expect_err("not theirs");
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        assert_eq!(err.to_string(), format!("there is no priority {id}"));
    }

    let viewer = db.scoped(ctx(Role::Viewer, "klatovy"));
    let err = priority::update(&viewer, p.id, 1, &patch)
        .await
        .expect_err("read only");
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert_eq!(audit_of(&db, p.id).await.len(), 1, "nothing changed");
}

/// Callers of one scope share version reads, and each still sees every
/// write committed before it asked: 8 writers and 8 readers at once, each
/// reader checking after every write it saw acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_version_reads_see_every_write_acknowledged_before_they_ask() {
    let (db, plan_id) = plan_in_klatovy().await;
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let priority = create(&db, plan_id, "Priorita").await;
    let editor = db.scoped(ctx(Role::Editor, "klatovy"));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (db, editor, acknowledged) = (db.clone(), editor.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                // Writers of one record retry on a conflict until theirs lands.
                loop {
                    let current = priority::by_ids(&admin(&db), &[priority.id])
                        .await
                        .expect("read")[0]
                        .version;
                    let title = retitle(&format!("Priorita {w}-{i}"));
                    match priority::update(&editor, priority.id, current, &title).await {
                        Err(Error::Conflict { .. }) => continue,
                        done => {
                            done.expect("updated");
                            break;
                        }
                    }
                }
                let seen = crate::version::of(&admin(&db)).await.expect("version");
                acknowledged.fetch_max(seen, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    for _ in 0..8 {
        let (db, acknowledged) = (db.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let before = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
                let now = crate::version::of(&admin(&db)).await.expect("version");
                assert!(
                    now >= before,
                    "a version read gave {now} after {before} was seen"
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = crate::version::of(&admin(&db)).await.expect("version");
    assert!(last >= 80, "80 writes raised the version to {last}");
}

/// A handle whose request asks for no provenance reads none of its columns;
/// the source lines are never read with the rows.
#[tokio::test]
async fn reads_leave_the_provenance_unread_when_asked_to() {
    use crate::entity::measure;
    use crate::stored::Stored;
    use sea_orm::{DbBackend, QueryTrait};
    let (db, _) = plan_in_klatovy().await;
    let s = admin(&db);
    let sql = |s: &Scoped| {
        measure::Entity::readable(s)
            .build(DbBackend::Sqlite)
            .to_string()
    };
    let shown = sql(&s);
    assert!(shown.contains(r#""measure"."source_excerpt""#), "{shown}");
    assert!(shown.contains(r#""measure"."reading""#), "{shown}");
    assert!(!shown.contains(r#""measure"."source_text""#), "{shown}");
    s.leave_provenance_unread();
    let unread = sql(&s);
    for column in [
        "source_document",
        "source_line",
        "source_excerpt",
        "source_more",
        "reading",
    ] {
        assert!(
            !unread.contains(&format!(r#""measure"."{column}""#)),
            "{unread}"
        );
    }
    assert!(unread.contains(r#""measure"."title""#), "{unread}");
}
