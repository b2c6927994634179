//! Live changes: events of committed writes, filtered to the caller's
//! readable regions (and the regions it asks for).

use super::common::{caller, db, related};
use super::enums;
use super::region::Region;
use super::scalars::DateTime;
use crate::error::{Result, coded};
use async_graphql::{Context, ID, Object, Subscription as SubscriptionMacro};
use futures_util::Stream;
use kpss_persistence::events::Change;
use kpss_persistence::region as regions;
use std::collections::HashSet;
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
    ) -> Result<impl Stream<Item = PlanChange> + use<>> {
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
        let events = db.subscribe();
        Ok(futures_util::stream::unfold(
            (events, visible),
            |(mut events, visible)| async move {
                loop {
                    match events.recv().await {
                        Ok(change) if visible.contains(&change.region) => {
                            return Some((PlanChange(change), (events, visible)));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}
