//! The one versioned write path every edited kind of record shares (load in
//! scope, check the expected version, apply, audit entry, search entry of the
//! changed record, change event; one transaction, retried on a transient
//! failure). An aggregate module implements [`Editable`] for its entity
//! and describes its commands as a [`Change`] or a [`Create`].

use crate::decode::Decoded;
use crate::dialect::{self, Failure};
use crate::events::{self, Recorded as Event};
use crate::read::Stored;
use crate::scoped::Scoped;
use crate::search::{Doc, Searchable};
use crate::{Error, Result, entity::region, scope, search};
use chrono::{SubsecRound, Utc};
use kpss_domain::EntityKind;
use kpss_domain::kind::AuditAction;
use kpss_domain::region::{KrajCode, RegionCode};
use sea_orm::sea_query::{InsertStatement, SelectStatement, UpdateStatement, ValueType};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction,
    EntityTrait, Iterable, ModelTrait, QueryFilter, QuerySelect, QueryTrait, Select,
};
use serde::Serialize;
use std::future::Future;

/// Where an edited record stands: its region, version and archive flag.
pub(crate) struct Head {
    pub region: String,
    pub version: i32,
    pub archived: bool,
}

/// A kind of record the API edits.
pub(crate) trait Editable: Stored + Searchable {
    const KIND: EntityKind;
    const VERSION: Self::Column;
    const UPDATED_AT: Self::Column;
    const ARCHIVED: Self::Column;
    /// What the audit log shows and a mutation answers: the record with what it owns.
    type State: Serialize + Send + Sync;

    fn head(m: &Self::Model) -> Result<Head> {
        let get = |c: Self::Column| m.get(c);
        let bad = |e: sea_orm::sea_query::ValueTypeErr| Error::Data(format!("{e:?}"));
        Ok(Head {
            region: <String as ValueType>::try_from(get(Self::REGION)).map_err(bad)?,
            version: <i32 as ValueType>::try_from(get(Self::VERSION)).map_err(bad)?,
            archived: <bool as ValueType>::try_from(get(Self::ARCHIVED)).map_err(bad)?,
        })
    }

    /// The plan a change event names (subscribers filter by it); none by default.
    fn plan_of(
        _c: &DatabaseTransaction,
        _m: &Self::Model,
    ) -> impl Future<Output = Result<Option<i64>>> + Send {
        async { Ok(None) }
    }
    /// The state of the record whose row is `m`.
    fn state(
        c: &DatabaseTransaction,
        m: Self::Model,
    ) -> impl Future<Output = Result<Self::State>> + Send;

    /// The record that `select` finds (one row) with its state, in one
    /// statement where the kind reads both together (a row with its
    /// capacities); by default the row, then [`Editable::state`].
    fn with_state(
        c: &DatabaseTransaction,
        select: Select<Self>,
    ) -> impl Future<Output = Result<Option<(Self::Model, Self::State)>>> + Send {
        async move {
            let found = select.into_model::<Decoded<Self::Model>>().one(c).await?;
            match found {
                Some(Decoded(m)) => Ok(Some((m.clone(), Self::state(c, m).await?))),
                None => Ok(None),
            }
        }
    }

    /// The state of the updated row `updated` with the rows `before` owns,
    /// without reading them again; `None` where the record owns none (its
    /// state is then read as [`Editable::state`] reads it).
    fn with_owned_of(_before: &Self::State, _updated: &Self::Model) -> Option<Result<Self::State>> {
        None
    }

    /// The search document of the row `m` whose state is `state`, without
    /// reading what it owns again; `None` where the row alone makes it
    /// ([`Searchable::docs_of`] then does).
    fn doc_of_state(_m: Self::Model, _state: &Self::State) -> Option<Result<Doc>> {
        None
    }

    /// The columns other records' search entries show (a measure's code in
    /// its evaluations' titles): a change to one rewrites those entries
    /// too. `None`: every change does (a plan's projects are rewritten with it).
    const SHOWN_BY_DEPENDENTS: Option<&'static [Self::Column]> = Some(&[]);
}

/// A change to a stored record: an update, an archive or a restore.
pub(crate) trait Change<E: Editable>: Sync {
    fn action(&self) -> AuditAction;
    /// Checks the change against the current row (with what it owns, in
    /// `before`) and its siblings; the columns it sets.
    fn columns(
        &self,
        s: &Scoped,
        c: &DatabaseTransaction,
        current: &E::Model,
        before: &E::State,
    ) -> impl Future<Output = Result<E::ActiveModel>> + Send;
    /// Rewrites rows the record owns (capacities) after the update; whether it did.
    fn rewrite_owned(
        &self,
        _c: &DatabaseTransaction,
        _current: &E::Model,
    ) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(false) }
    }
}

/// A new record: checks its parent and siblings, inserts it, gives its id.
pub(crate) trait Create<E: Editable>: Sync {
    fn insert(
        &self,
        s: &Scoped,
        c: &DatabaseTransaction,
    ) -> impl Future<Output = Result<i64>> + Send;
}

/// Archives (`true`) or restores (`false`, for admins of the region) a record.
pub(crate) struct Archive(pub bool);

impl<E: Editable> Change<E> for Archive {
    fn action(&self) -> AuditAction {
        if self.0 {
            AuditAction::Archived
        } else {
            AuditAction::Restored
        }
    }

    async fn columns(
        &self,
        _s: &Scoped,
        _c: &DatabaseTransaction,
        _current: &E::Model,
        _before: &E::State,
    ) -> Result<E::ActiveModel> {
        let mut am = <E::ActiveModel as Default>::default();
        am.set(E::ARCHIVED, self.0.into());
        Ok(am)
    }
}

/// The versioned update: `change` applies only if the record is still at
/// version `expected`; the answer is the record's new state.
pub(crate) async fn update<E: Editable>(
    s: &Scoped,
    id: i64,
    expected: i32,
    change: &impl Change<E>,
) -> Result<E::State> {
    retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        let (after, event) = update_in(s, &txn, id, expected, change).await?;
        commit(s, txn, vec![event]).await?;
        Ok(after)
    })
    .await
}

/// [`update`] inside the caller's transaction (one of several changes that
/// commit together); the event to publish once it commits.
pub(crate) async fn update_in<E: Editable>(
    s: &Scoped,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    change: &impl Change<E>,
) -> Result<(E::State, Event)> {
    let (current, before) = load_with_state::<E>(s, txn, id).await?;
    let head = E::head(&current)?;
    if change.action() == AuditAction::Restored && !admin_of(s, &head.region)? {
        return Err(Error::Forbidden(
            "restoring is for admins of the region".into(),
        ));
    }
    check_version(head.version == expected, head.version)?;
    let mut am = change.columns(s, txn, &current, &before).await?;
    // A column set to the value it holds stays out of the UPDATE: PostgreSQL
    // would write (and compress) its long texts again.
    for c in E::Column::iter() {
        if matches!(am.get(c), ActiveValue::Set(v) | ActiveValue::Unchanged(v) if v == current.get(c))
        {
            am.not_set(c);
        }
    }
    let dependents =
        E::SHOWN_BY_DEPENDENTS.is_none_or(|columns| columns.iter().any(|c| !am.is_not_set(*c)));
    am.set(E::VERSION, (expected + 1).into());
    // Microseconds, as the databases keep it: the answer shows what is stored.
    am.set(E::UPDATED_AT, Utc::now().trunc_subsecs(6).into());
    let plan_id = E::plan_of(txn, &current).await?;
    // The row as the update leaves it, without reading it back: the update
    // runs in the change's statement.
    let mut updated = current.clone();
    for c in E::Column::iter() {
        if let ActiveValue::Set(v) = am.get(c) {
            updated.try_set(c, v)?;
        }
    }
    let update = Versioned {
        statement: E::update_many()
            .set(am)
            .filter(E::ID.eq(id))
            .filter(E::VERSION.eq(expected))
            .into_query(),
        version: (version_query::<E>, id),
    };
    let owned_rewritten = change.rewrite_owned(txn, &current).await?;
    // What the record owns is kept from `before` unless the change rewrote it.
    let kept = (!owned_rewritten)
        .then(|| E::with_owned_of(&before, &updated))
        .flatten();
    let after = match kept {
        Some(kept) => kept?,
        None => E::state(txn, updated.clone()).await?,
    };
    let doc = E::doc_of_state(updated.clone(), &after).transpose()?;
    let own_entry = search::own_entry::<E>(txn, updated, doc).await?;
    let entry = Entry {
        id,
        region: &head.region,
        plan_id,
        action: change.action(),
    };
    let writes = Writes {
        own_entry,
        update: Some(update),
    };
    let event = audit(s, txn, E::KIND, entry, Some(&before), &after, writes).await?;
    if dependents {
        search::rewrite_dependents::<E>(txn, id).await?;
    }
    Ok((after, event))
}

/// Creates a record through `cmd`; the answer is its state.
pub(crate) async fn create<E: Editable>(s: &Scoped, cmd: &impl Create<E>) -> Result<E::State> {
    retrying(move || async move {
        let (txn, _turn) = s.begin_write().await?;
        let (_, after, event) = create_in(s, &txn, cmd).await?;
        commit(s, txn, vec![event]).await?;
        Ok(after)
    })
    .await
}

/// [`create`] inside the caller's transaction: the new id, its state, and
/// the event to publish once it commits.
pub(crate) async fn create_in<E: Editable>(
    s: &Scoped,
    txn: &DatabaseTransaction,
    cmd: &impl Create<E>,
) -> Result<(i64, E::State, Event)> {
    let id = cmd.insert(s, txn).await?;
    let (after, event) = created::<E>(s, txn, id).await?;
    Ok((id, after, event))
}

/// Records the creation of the new record `id` within `txn`: its state and
/// the event to publish once it commits.
pub(crate) async fn created<E: Editable>(
    s: &Scoped,
    txn: &DatabaseTransaction,
    id: i64,
) -> Result<(E::State, Event)> {
    let m = E::find().filter(E::ID.eq(id)).one(txn).await?;
    let m = m.ok_or_else(|| Error::NotFound(format!("new record {id} is gone")))?;
    let plan_id = E::plan_of(txn, &m).await?;
    let region = E::head(&m)?.region;
    let own_entry = search::own_entry::<E>(txn, m.clone(), None).await?;
    let after = E::state(txn, m).await?;
    let entry = Entry {
        id,
        region: &region,
        plan_id,
        action: AuditAction::Created,
    };
    let writes = Writes {
        own_entry,
        update: None,
    };
    let event = audit(s, txn, E::KIND, entry, None, &after, writes).await?;
    search::rewrite_dependents::<E>(txn, id).await?;
    Ok((after, event))
}

/// One audited change.
pub(crate) struct Entry<'a> {
    pub id: i64,
    pub region: &'a str,
    pub plan_id: Option<i64>,
    pub action: AuditAction,
}

/// A record's update that applies only while the record is at the version
/// it was read at, and how to query the record's version (a function and
/// the id: built only to answer an update that another change overtook).
pub(crate) struct Versioned {
    pub statement: UpdateStatement,
    pub version: (fn(i64) -> SelectStatement, i64),
}

fn version_query<E: Editable>(id: i64) -> SelectStatement {
    E::find()
        .select_only()
        .column(E::VERSION)
        .filter(E::ID.eq(id))
        .into_query()
}

/// The statements a change runs with its audit entry: the record's own
/// search entry (from `search::own_entry`) and its update, where it has one.
pub(crate) struct Writes {
    pub own_entry: InsertStatement,
    pub update: Option<Versioned>,
}

/// What a change leaves in its transaction besides what the record owns
/// and its dependents' search entries: `writes`, its audit entry, the
/// region's data version, the queued change event (returned, to publish
/// after the commit). CONFLICT when the update finds the record at another
/// version.
pub(crate) async fn audit<S: Serialize>(
    s: &Scoped,
    txn: &DatabaseTransaction,
    entity: EntityKind,
    entry: Entry<'_>,
    before: Option<&S>,
    after: &S,
    writes: Writes,
) -> Result<Event> {
    let change = events::Change {
        region: RegionCode::parse("region", entry.region)?,
        plan_id: entry.plan_id,
        entity,
        entity_id: entry.id,
        action: entry.action,
        actor: s.ctx().subject.clone(),
        at: Utc::now().timestamp(),
    };
    let entry = crate::audit::entry(
        &change,
        before.map(to_json).transpose()?,
        Some(to_json(after)?),
    );
    let Writes { own_entry, update } = writes;
    let (statement, version) = update.map(|u| (u.statement, u.version)).unzip();
    if let Some(recorded) = events::record(txn, change, statement, own_entry, entry).await? {
        return Ok(recorded);
    }
    // The update found no row: another change committed after the record
    // was read (PostgreSQL's next statement sees it); the answer names its version.
    let (query, id) =
        version.ok_or_else(|| Error::Data("a change without an update found no row".into()))?;
    let row = txn.query_one(&query(id)).await?;
    let now = row.map(|r| r.try_get_by_index::<i32>(0)).transpose()?;
    Err(conflict(now.ok_or_else(|| {
        Error::NotFound(format!("record {id} is gone"))
    })?))
}

/// Commits the changes of `txn`, then publishes their events.
pub(crate) async fn commit(s: &Scoped, txn: DatabaseTransaction, events: Vec<Event>) -> Result<()> {
    txn.commit().await?;
    crate::replicas::wrote(s).await;
    events::committed(s.db(), events).await;
    Ok(())
}

fn to_json(v: &impl Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Data(format!("cannot encode a record: {e}")))
}

/// Runs `attempt` again, up to a few times, when it failed transiently
/// (a serialization failure, a deadlock, a busy database).
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    const ATTEMPTS: u32 = 8;
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Err(Error::Db(e)) if n < ATTEMPTS && dialect::failure(&e) == Failure::Transient => {
                tracing::debug!(attempt = n, error = %e, "transient write failure; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(5 * n))).await;
            }
            other => return other,
        }
    }
}

fn check_version(ok: bool, current: i32) -> Result<()> {
    if ok { Ok(()) } else { Err(conflict(current)) }
}

fn conflict(current: i32) -> Error {
    Error::Conflict {
        current_version: current,
        field: None,
    }
}

/// The row of `id` in the caller's read scope.
fn in_scope<E: Editable>(s: &Scoped, id: i64) -> Select<E> {
    E::find()
        .filter(E::ID.eq(id))
        .filter(scope::condition(&s.ctx().read, E::REGION))
}

/// The row of `id` if the caller may read it: a record it cannot read is
/// as one that does not exist (ids leak no existence).
async fn readable<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    id: i64,
) -> Result<Option<E::Model>> {
    Ok(in_scope::<E>(s, id)
        .into_model::<Decoded<E::Model>>()
        .one(c)
        .await?
        .map(|d| d.0))
}

/// The row of `id` for a change: in the caller's read scope and region
/// writable. A record the caller cannot read is NOT_FOUND exactly as a
/// missing one (ids leak no existence); FORBIDDEN is for one it can read
/// but not change.
pub(crate) async fn load<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    id: i64,
) -> Result<E::Model> {
    let m = readable::<E>(s, c, id)
        .await?
        .ok_or_else(|| missing::<E>(id))?;
    writable_region::<E>(s, c, &m).await?;
    Ok(m)
}

/// [`load`] with the record's state (what it owns), read with the row
/// where the kind can ([`Editable::with_state`]).
async fn load_with_state<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    id: i64,
) -> Result<(E::Model, E::State)> {
    let found = E::with_state(c, in_scope::<E>(s, id)).await?;
    let (m, state) = found.ok_or_else(|| missing::<E>(id))?;
    writable_region::<E>(s, c, &m).await?;
    Ok((m, state))
}

fn missing<E: Editable>(id: i64) -> Error {
    Error::NotFound(format!(
        "there is no {} {id}",
        E::KIND.as_str().to_lowercase()
    ))
}

/// Whether the caller may write the region of the row `m`.
async fn writable_region<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    m: &E::Model,
) -> Result<()> {
    let region = RegionCode::parse("region", &E::head(m)?.region)?;
    // A region the token names needs no lookup of its kraj.
    if s.ctx().write.names(&region) {
        return Ok(());
    }
    writable(s, c, region.as_str()).await
}

/// The parent a new record hangs under: like [`load`], but a missing or
/// archived parent is bad input in `field`.
pub(crate) async fn parent<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    id: i64,
    field: &str,
) -> Result<E::Model> {
    let m = load::<E>(s, c, id).await.map_err(|e| match e {
        Error::NotFound(m) => Error::invalid(field, m),
        e => e,
    })?;
    if E::head(&m)?.archived {
        return Err(Error::invalid(
            field,
            format!("{} {id} is archived", E::KIND.as_str().to_lowercase()),
        ));
    }
    Ok(m)
}

/// The record a sub-record hangs under (a sub-measure's measure, a
/// sub-activity's activity): current and `of_the_same` parent; FORBIDDEN
/// when it is a readable record of another region, bad input in
/// `input.parent_id` otherwise (`what` says what it must be), also when the
/// caller cannot read it.
pub(crate) async fn upper<E: Editable>(
    s: &Scoped,
    c: &DatabaseTransaction,
    id: i64,
    region: &str,
    of_the_same: impl Fn(&E::Model) -> bool,
    what: &str,
) -> Result<()> {
    let kind = E::KIND.as_str().to_lowercase();
    let elsewhere = || {
        Error::Forbidden(format!(
            "a {kind} can only hang under a {kind} of its own region"
        ))
    };
    match readable::<E>(s, c, id).await? {
        Some(m) if of_the_same(&m) && !E::head(&m)?.archived => Ok(()),
        Some(m) if E::head(&m)?.region != region => Err(elsewhere()),
        _ => Err(Error::invalid(
            "input.parent_id",
            format!("{kind} {id} is not {what}"),
        )),
    }
}

/// Whether the caller may write region `code`.
pub(crate) async fn writable(s: &Scoped, c: &DatabaseTransaction, code: &str) -> Result<()> {
    let r = region::Entity::find_by_id(code)
        .one(c)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no region `{code}`")))?;
    let (region, kraj) = (
        RegionCode::parse("region", &r.code)?,
        KrajCode::parse("kraj", &r.kraj_code)?,
    );
    let ctx = s.ctx();
    if ctx.write.covers(&region, &kraj) {
        Ok(())
    } else {
        // The code is only named to a caller that may read the region.
        let which = if ctx.read.covers(&region, &kraj) {
            format!("region `{code}`")
        } else {
            "that region".to_owned()
        };
        Err(Error::Forbidden(format!(
            "this token may not change {which}"
        )))
    }
}

/// A region for a new top-level record (plan, provider): it must exist and be writable.
pub(crate) async fn region_for_create(
    s: &Scoped,
    c: &DatabaseTransaction,
    code: &RegionCode,
) -> Result<()> {
    if region::Entity::find_by_id(code.as_str())
        .one(c)
        .await?
        .is_none()
    {
        return Err(Error::invalid(
            "input.region",
            format!("there is no region `{code}`"),
        ));
    }
    writable(s, c, code.as_str()).await
}

fn admin_of(s: &Scoped, region: &str) -> Result<bool> {
    let region = RegionCode::parse("region", region)?;
    let admin = &s.ctx().admin;
    Ok(admin.all || admin.regions.contains(&region))
}

/// A code is unique among the current (not archived) `siblings`, this record
/// aside (`this`: a change, whose code comes in `patch.code`; none: a new
/// record, in `input.code`).
pub(crate) async fn check_code<E: Editable>(
    c: &DatabaseTransaction,
    siblings: Condition,
    code_col: E::Column,
    code: &str,
    this: Option<i64>,
) -> Result<()> {
    let mut q = E::find()
        .select_only()
        .column(E::ID)
        .filter(siblings)
        .filter(E::ARCHIVED.eq(false))
        .filter(code_col.eq(code));
    if let Some(id) = this {
        q = q.filter(E::ID.ne(id));
    }
    if q.into_tuple::<i64>().one(c).await?.is_some() {
        let field = if this.is_some() {
            "patch.code"
        } else {
            "input.code"
        };
        return Err(Error::invalid(
            field,
            format!("the code `{code}` is already used there"),
        ));
    }
    Ok(())
}

/// Next position among `siblings` (appended at the end).
pub(crate) async fn next_position<E: Stored>(
    c: &DatabaseTransaction,
    siblings: Condition,
) -> Result<usize> {
    let max: Option<Option<i32>> = E::find()
        .filter(siblings)
        .select_only()
        .column_as(E::ORDER.max(), "m")
        .into_tuple()
        .one(c)
        .await?;
    Ok(max.flatten().map_or(0, |m| m as usize + 1))
}

#[cfg(test)]
pub(crate) mod tests;
