//! The GraphQL and HTTP face of KPSS: authentication, the schema, the routes.

pub mod assets;
pub mod auth;
pub mod cache;
pub mod cors;
pub mod error;
pub mod graphql;
pub mod http;
pub mod limits;
pub mod metrics;
mod order;
pub mod persisted;
pub mod rate;

pub use auth::{AuthConfig, Claims};
pub use graphql::{Limits, Schema, build_schema};
pub use http::{AppState, metrics_router, router};
