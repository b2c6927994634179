//! Live changes: events of committed writes, filtered to the caller's
//! readable regions (and the regions it asks for).

use super::common::{caller, db, related};
use super::enums;
use super::region::Region;
use super::scalars::DateTime;
use crate::error::{ApiError, Result, coded};
use crate::metrics::Metrics;
use async_graphql::{Context, ID, Object, Subscription as SubscriptionMacro};
use futures_util::Stream;
use kpss_domain::region::RegionCode;
use kpss_persistence::events::Change;
use kpss_persistence::region as regions;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

pub struct PlanChange(Change);

#[Object]
impl PlanChange {
    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        related(ctx, self.0.region.clone()).await
    }

    async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(ID::from)
    }

    async fn entity(&self) -> &str {
        self.0.entity.as_str()
    }

    async fn entity_id(&self) -> ID {
        self.0.entity_id.into()
    }

    async fn action(&self) -> Result<enums::ChangeAction> {
        Ok(self.0.action.into())
    }

    async fn actor(&self) -> &str {
        &self.0.actor
    }

    async fn at(&self) -> DateTime {
        DateTime::from_secs(self.0.at)
    }
}

pub struct Subscription;

#[SubscriptionMacro]
impl Subscription {
    /// Changes in the visible regions (all of them when `regions` is absent). Over graphql-transport-ws; the token goes in the connection_init payload as {"Authorization": "Bearer ..."}.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        regions: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<PlanChange>> + use<>> {
        let db = db(ctx);
        // A handle of its own, dropped before the stream starts, so that a
        // long-lived subscription holds no database transaction.
        let scoped = db.scoped(caller(ctx).clone());
        let wanted = regions::filter(&scoped, regions.as_deref(), None, "regions")
            .await
            .map_err(coded)?;
        let visible: HashSet<_> = regions::list(&scoped)
            .await
            .map_err(coded)?
            .into_iter()
            .filter(|r| wanted.as_ref().is_none_or(|g| g.covers(&r.code, &r.kraj)))
            .map(|r| r.code)
            .collect();
        let metrics = ctx.data::<Arc<Metrics>>()?.clone();
        Ok(live(db.subscribe(), visible, metrics))
    }
}

/// The changes of `events` in the `visible` regions. A subscriber that fell
/// so far behind that changes were dropped for it is told so, with
/// SERVICE_UNAVAILABLE, and its stream ends: it reads the data again and
/// subscribes anew, instead of missing changes unknowingly.
fn live(
    events: Receiver<Change>,
    visible: HashSet<RegionCode>,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = Result<PlanChange>> {
    let open = Some((events, visible, metrics));
    futures_util::stream::unfold(open, |open| async move {
        let (mut events, visible, metrics) = open?;
        loop {
            match events.recv().await {
                Ok(change) if visible.contains(&change.region) => {
                    return Some((Ok(PlanChange(change)), Some((events, visible, metrics))));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind; its stream ends");
                    metrics.subscription_behind();
                    let e = ApiError::ServiceUnavailable(format!(
                        "this subscription fell behind and missed {missed} changes; \
                         read the data again and subscribe anew"
                    ));
                    return Some((Err(coded(e)), None));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use kpss_domain::EntityKind;
    use kpss_domain::kind::AuditAction;

    fn change(region: &str, entity_id: i64) -> Change {
        Change {
            region: RegionCode::parse("region", region).expect("code"),
            plan_id: None,
            entity: EntityKind::Measure,
            entity_id,
            action: AuditAction::Updated,
            actor: "a".into(),
            at: 0,
        }
    }

    fn ids(items: &[Result<PlanChange>]) -> Vec<Option<i64>> {
        items
            .iter()
            .map(|i| i.as_ref().ok().map(|c| c.0.entity_id))
            .collect()
    }

    #[tokio::test]
    async fn a_subscriber_gets_its_regions_changes_in_order() {
        let (tx, rx) = tokio::sync::broadcast::channel(8);
        let visible = HashSet::from([RegionCode::parse("r", "klatovy").expect("code")]);
        let stream = live(rx, visible, Arc::default());
        for (region, id) in [("klatovy", 1), ("kromeriz", 2), ("klatovy", 3)] {
            tx.send(change(region, id)).expect("send");
        }
        drop(tx);
        let items: Vec<_> = stream.collect().await;
        assert_eq!(ids(&items), [Some(1), Some(3)]);
    }

    #[tokio::test]
    async fn a_subscriber_that_missed_changes_is_told_and_its_stream_ends() {
        let (tx, rx) = tokio::sync::broadcast::channel(2);
        let visible = HashSet::from([RegionCode::parse("r", "klatovy").expect("code")]);
        let stream = live(rx, visible, Arc::default());
        for id in 1..=5 {
            tx.send(change("klatovy", id)).expect("send");
        }
        let items: Vec<_> = stream.collect().await;
        assert_eq!(ids(&items), [None], "one error, then the end");
        let Err(e) = &items[0] else { unreachable!() };
        assert!(e.message.contains("missed 3 changes"), "{}", e.message);
        let code = e.extensions.as_ref().and_then(|x| x.get("code"));
        assert_eq!(
            code,
            Some(&async_graphql::Value::from("SERVICE_UNAVAILABLE"))
        );
    }
}
