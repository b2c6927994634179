//! The GraphQL and HTTP face of KPSS: authentication, the schema, the routes.

pub mod assets;
pub mod auth;
pub mod cache;
mod claims;
pub mod cors;
pub mod documents;
pub mod error;
mod execution;
pub mod graphql;
pub mod http;
mod key_set;
pub mod limits;
pub mod metrics;
pub mod oidc;
mod order;
pub mod persisted;
pub mod plan_files;
pub mod rate;

pub use auth::AuthConfig;
pub use claims::Claims;
pub use execution::Guarded;
pub use graphql::{Schema, build_schema, sdl};
pub use http::{AppState, Shared, metrics_router, router};
pub use limits::Limits;
