//! The last step of the admission pipeline (`http::pipeline`): the schema
//! wrapped as the executor both transports run. HTTP calls [`Guarded::run`];
//! the WebSocket protocol runs its operations through the same executor. It
//! is not an engine extension: with any extension the engine builds resolve
//! information and boxes a future for every field of every answer.

use crate::error::ApiError;
use crate::graphql::Schema;
use crate::limits::Limits;
use crate::order;
use crate::rate::FairShare;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ErrorExtensions, Executor, Request, Response};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use kpss_domain::access::Ctx;
use std::any::TypeId;
use std::sync::Arc;
use std::time::Duration;

/// Every query and mutation on every transport takes a place among the
/// caller's running operations (waiting for one at most the request time),
/// then runs within the request time; a panic in a resolver is a bug, and
/// its client gets INTERNAL, never the panic. Subscriptions live long and
/// hold no place (a socket runs few of them).
#[derive(Clone)]
pub struct Guarded {
    schema: Schema,
    fair: Arc<FairShare>,
    timeout: Duration,
}

impl Guarded {
    pub fn new(schema: Schema, limits: &Limits) -> Self {
        Self {
            schema,
            fair: Arc::new(FairShare::new(limits.max_concurrent_per_subject)),
            timeout: limits.request_timeout,
        }
    }

    /// Runs a query or mutation of `subject`.
    pub async fn run(&self, subject: &str, request: Request) -> Response {
        self.guard(subject, self.schema.execute(request)).await
    }

    async fn guard(&self, subject: &str, operation: impl Future<Output = Response>) -> Response {
        match self.within(subject, operation).await {
            Ok(response) => response,
            Err(e) => {
                let e = e.extend().into_server_error(async_graphql::Pos::default());
                Response::from_errors(vec![e])
            }
        }
    }

    /// Runs `work` of `subject` as an operation: in a place among the
    /// subject's running operations, within the request time, a panic
    /// answered as `INTERNAL` (GraphQL operations, and documents).
    pub async fn within<T>(
        &self,
        subject: &str,
        work: impl Future<Output = T>,
    ) -> Result<T, ApiError> {
        let _place = self.fair.enter(subject, self.timeout).await?;
        let run = std::panic::AssertUnwindSafe(work).catch_unwind();
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(_)) => {
                tracing::error!("a resolver panicked");
                Err(ApiError::Internal)
            }
            Err(_) => Err(ApiError::ServiceUnavailable(format!(
                "the request took longer than {:?}",
                self.timeout
            ))),
        }
    }
}

/// The caller a request's data names ("" when none does).
fn subject_of(data: Option<&Data>) -> String {
    data.and_then(|d| d.get(&TypeId::of::<Ctx>()))
        .and_then(|c| c.downcast_ref::<Ctx>())
        .map_or_else(String::new, |c| c.subject.clone())
}

impl Executor for Guarded {
    async fn execute(&self, request: Request) -> Response {
        let subject = subject_of(Some(&request.data));
        self.run(&subject, request).await
    }

    /// The WebSocket protocols run every operation as a stream: a query or
    /// mutation is a stream of one answer, and takes its place and time.
    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let name = request.operation_name.clone();
        let kind = request
            .parsed_query()
            .ok()
            .and_then(|doc| order::operation(doc, name.as_deref()).map(|op| op.ty));
        if !matches!(kind, Some(OperationType::Query | OperationType::Mutation)) {
            // Subscriptions, and documents the engine answers with an error.
            return Executor::execute_stream(&self.schema, request, session_data);
        }
        let subject = subject_of(session_data.as_deref());
        let this = self.clone();
        futures_util::stream::once(async move {
            let mut answers = Executor::execute_stream(&this.schema, request, session_data);
            let answer = answers.next().map(Option::unwrap_or_default);
            this.guard(&subject, answer).await
        })
        .boxed()
    }
}
