//! The last step of the admission pipeline (`http::pipeline`), as an engine
//! extension: the engine runs WebSocket operations itself, and its `execute`
//! hook runs for them as for HTTP (its `request` hook does not).

use crate::error::ApiError;
use crate::limits::Limits;
use crate::rate::FairShare;
use async_graphql::ErrorExtensions;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use futures_util::FutureExt;
use kpss_domain::access::Ctx;
use std::sync::Arc;
use std::time::Duration;

/// The last step of every query and mutation on every transport: a place
/// among the caller's running operations (waiting for one at most the
/// request time), then execution within the request time; a panic in a
/// resolver is a bug, and its client gets INTERNAL, never the panic.
/// Subscriptions live long and hold no place (a socket runs few of them).
#[derive(Clone)]
pub struct Execution {
    fair: Arc<FairShare>,
    timeout: Duration,
}

impl Execution {
    pub fn new(limits: &Limits) -> Self {
        Self {
            fair: Arc::new(FairShare::new(limits.max_concurrent_per_subject)),
            timeout: limits.request_timeout,
        }
    }
}

impl ExtensionFactory for Execution {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for Execution {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        let refused = |e: ApiError| {
            let e = e.extend().into_server_error(async_graphql::Pos::default());
            async_graphql::Response::from_errors(vec![e])
        };
        let subject = ctx.data_opt::<Ctx>().map_or("", |c| c.subject.as_str());
        let _place = match self.fair.enter(subject, self.timeout).await {
            Ok(place) => place,
            Err(e) => return refused(e),
        };
        let run = std::panic::AssertUnwindSafe(next.run(ctx, operation_name)).catch_unwind();
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => {
                tracing::error!("a resolver panicked");
                refused(ApiError::Internal)
            }
            Err(_) => refused(ApiError::ServiceUnavailable(format!(
                "the request took longer than {:?}",
                self.timeout
            ))),
        }
    }
}
