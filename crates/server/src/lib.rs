//! The userbridge HTTP server: an Auth0-compatible Management API (`/oauth/token`,
//! `/api/v2/…`), the job runner and signed downloads.
//!
//! Handlers parse and check a request, then hand it to the same engines the CLI uses.

pub mod auth;
pub mod campaign;
pub mod connections;
pub mod error;
pub mod jobs;
mod query_string;
pub mod state;
mod upload;
pub mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use rand::RngCore;
use tokio::net::TcpListener;
use userbridge_store::Store;

pub use state::{AppState, ServerConfig, SharedState};

/// Errors while starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] userbridge_store::StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// The settings key of the download-link signing key.
const SIGNING_KEY: &str = "download_signing_key";

/// Builds the shared state: loads (or creates) the signing key and requeues jobs a
/// previous process left unfinished.
pub fn state(config: ServerConfig, store: Arc<dyn Store>) -> Result<SharedState, ServerError> {
    let signing_key = match store
        .setting(SIGNING_KEY)?
        .and_then(|k| hex::decode(k).ok())
    {
        Some(key) => key,
        None => {
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            store.set_setting(SIGNING_KEY, &hex::encode(&key))?;
            key
        }
    };
    let state = Arc::new(AppState {
        config,
        store,
        signing_key,
        jobs_queued: tokio::sync::Notify::new(),
        live: Mutex::new(Default::default()),
    });
    jobs::runner::requeue_interrupted(&state)?;
    Ok(state)
}

/// Every route of the server.
pub fn router(state: SharedState) -> Router {
    // The upload handler counts bytes itself and answers 413 in Auth0's shape; the body
    // limit only has to let a maximal file (plus multipart framing) through.
    let upload_limit = match state.config.max_upload_bytes {
        0 => DefaultBodyLimit::disable(),
        max => DefaultBodyLimit::max(
            usize::try_from(max.saturating_add(1 << 20)).unwrap_or(usize::MAX),
        ),
    };
    // Documents count bytes per file themselves (413 in Auth0's shape); the request as a
    // whole may carry one maximal document plus multipart framing.
    let documents_limit = match state.config.max_document_bytes {
        0 => DefaultBodyLimit::disable(),
        max => DefaultBodyLimit::max(
            usize::try_from(max.saturating_add(1 << 20)).unwrap_or(usize::MAX),
        ),
    };
    Router::new()
        .route("/oauth/token", post(auth::token))
        .route(
            "/api/campaign/v1/documents",
            get(campaign::get).delete(campaign::delete),
        )
        .route(
            "/api/campaign/v1/documents/directories",
            post(campaign::mkdir),
        )
        .route(
            "/api/campaign/v1/documents/upload",
            post(campaign::upload).layer(documents_limit),
        )
        .route("/api/campaign/v1/documents/content", get(campaign::content))
        .route("/api/campaign/v1/documents/move", post(campaign::rename))
        .route("/api/v2/users", get(users::list).post(users::create))
        .route(
            "/api/v2/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route("/api/v2/users-by-email", get(users::by_email))
        .route("/api/v2/connections", get(connections::list))
        .route("/api/v2/connections/{id}", get(connections::get))
        .route(
            "/api/v2/jobs/users-exports",
            post(jobs::routes::create_export),
        )
        .route(
            "/api/v2/jobs/users-imports",
            post(jobs::import::create).layer(upload_limit),
        )
        .route("/api/v2/jobs/{id}", get(jobs::routes::get))
        .route("/api/v2/jobs/{id}/errors", get(jobs::import::errors))
        .route("/exports/{id}/{file}", get(jobs::download::download))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> error::ApiError {
    error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "Not Found")
}

/// Serves on `listener` until `shutdown` resolves, with the job runner in the background.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    tokio::spawn(jobs::runner::run(state.clone()));
    tokio::spawn(jobs::runner::expire_loop(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Io {
            context: "serving HTTP".into(),
            source,
        })
}
