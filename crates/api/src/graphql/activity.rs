//! Activities of measures and their sub-activities.

use super::*;
use kpss_persistence::activity;

by_id!(ActivityById, Activity, activity::by_ids);
children!(
    ActivitiesOf,
    Activity,
    activity::of_measures,
    |a: &kpss_domain::record::Activity| a.measure_id
);
children!(
    SubActivitiesOf,
    Activity,
    activity::sub_activities,
    |a: &kpss_domain::record::Activity| a.parent_id.unwrap_or_default()
);

#[derive(Clone)]
pub struct Activity(pub record::Activity);

#[Object]
impl Activity {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn measure(&self, ctx: &Context<'_>) -> Result<Measure> {
        loader(ctx)
            .load_one(MeasureById(self.0.measure_id))
            .await?
            .ok_or_else(|| coded(ApiError::Internal))
    }

    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Activity>> {
        match self.0.parent_id {
            Some(id) => loader(ctx).load_one(ActivityById(id)).await,
            None => Ok(None),
        }
    }

    /// e.g. "1.2.6" or "1.2.6.1"
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn responsible(&self) -> &[String] {
        &self.0.responsible
    }

    async fn schedule(&self) -> Option<&str> {
        self.0.schedule.as_deref()
    }

    async fn financing(&self) -> Option<&str> {
        self.0.financing.as_deref()
    }

    async fn outputs(&self) -> &[String] {
        &self.0.outputs
    }

    async fn sub_activities(&self, ctx: &Context<'_>) -> Result<Vec<Activity>> {
        Ok(loader(ctx)
            .load_one(SubActivitiesOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn archived(&self) -> bool {
        self.0.archived
    }

    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject)]
pub struct ActivityInput {
    parent_id: Option<ID>,
    code: String,
    title: String,
    description: Option<String>,
    responsible: Option<Vec<String>>,
    schedule: Option<String>,
    financing: Option<String>,
    outputs: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ActivityPatch {
    code: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    responsible: MaybeUndefined<Vec<String>>,
    schedule: MaybeUndefined<String>,
    financing: MaybeUndefined<String>,
    outputs: MaybeUndefined<Vec<String>>,
}

#[derive(Default)]
pub struct ActivityMutations;

#[Object]
impl ActivityMutations {
    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        measure_id: ID,
        input: ActivityInput,
    ) -> Result<Activity> {
        let cmd = ActivityForCreate {
            measure_id: super::id("measureId", &measure_id)?,
            parent_id: optional_id("input.parentId", input.parent_id.as_ref())?,
            fields: ActivityDraft {
                code: input.code,
                title: input.title,
                description: input.description,
                responsible: list(input.responsible),
                schedule: input.schedule,
                financing: input.financing,
                outputs: list(input.outputs),
            }
            .parse()
            .map_err(|e| invalid(e, "input"))?,
        };
        Ok(Activity(
            activity::create(scoped(ctx), &cmd).await.map_err(coded)?,
        ))
    }

    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        patch: ActivityPatch,
    ) -> Result<Activity> {
        let p = dom_activity::ActivityPatch {
            code: self::patch(patch.code),
            title: self::patch(patch.title),
            description: self::patch(patch.description),
            responsible: self::patch(patch.responsible),
            schedule: self::patch(patch.schedule),
            financing: self::patch(patch.financing),
            outputs: self::patch(patch.outputs),
        };
        let id = super::id("id", &id)?;
        Ok(Activity(
            activity::update(scoped(ctx), id, expected_version, &p)
                .await
                .map_err(coded)?,
        ))
    }

    async fn archive_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Activity> {
        let id = super::id("id", &id)?;
        Ok(Activity(
            activity::set_archived(scoped(ctx), id, expected_version, true)
                .await
                .map_err(coded)?,
        ))
    }
}
