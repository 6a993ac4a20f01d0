//! The userbridge HTTP server: an Auth0-compatible Management API (`/oauth/token`,
//! `/api/v2/…`), the campaign API, the job runner, signed downloads, and the web page
//! (`web`: embedded files, admin sign-in, cookie sessions, CSRF, security headers).
//!
//! Handlers parse and check a request, then hand it to the same engines the CLI uses.

pub mod audit;
pub mod auth;
pub mod campaign;
pub mod campaign_imports;
pub mod client_address;
pub mod connections;
pub mod error;
pub mod jobs;
mod limits;
pub mod private_files;
mod query_string;
mod signing;
pub mod state;
mod upload;
pub mod users;
pub mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{MethodRouter, get, post};
use rand::RngCore;
use tokio::net::TcpListener;
use userbridge_store::Store;

pub use state::{AppState, ServerConfig, SharedState};

/// Errors while starting the server or setting up its dashboard admins.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] userbridge_store::StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("cannot hash the password: {0}")]
    PasswordHash(#[from] bcrypt::BcryptError),
    #[error("the password must have at least {0} characters")]
    PasswordTooShort(usize),
    #[error("invalid admin username {0:?}: 1-64 ASCII letters, digits, '.', '_', '-' or '@'")]
    InvalidUsername(String),
    #[error("cannot generate a signing key: {0}")]
    KeyGeneration(rsa::Error),
    #[error("signing key {path}: {reason} (a new key: userbridge keys rotate)")]
    KeyFile { path: String, reason: String },
    #[error("there is no current signing key (make one with: userbridge keys rotate)")]
    NoSigningKey,
    #[error("cannot hash the client secret: {0}")]
    SecretHash(#[from] argon2::password_hash::Error),
    #[error("unknown scope {0:?}; known scopes: {known}", known = auth::MANAGEMENT_SCOPES.join(" "))]
    UnknownScope(String),
    #[error("a client needs at least one scope")]
    NoScopes,
    #[error("invalid client name {0:?}: 1-128 characters, no control characters")]
    InvalidClientName(String),
    #[error("no client has the id {0:?}")]
    UnknownClient(String),
    #[error("no signing key has the kid {0:?} (see: userbridge keys ls)")]
    UnknownKey(String),
    #[error(
        "{0} is the current signing key: rotate first (userbridge keys rotate), then revoke it"
    )]
    CurrentKeyRevoked(String),
}

/// The settings key of the download-link signing key.
const SIGNING_KEY: &str = "download_signing_key";

/// Builds the shared state: loads (or creates) the download-link key and the token signing
/// key, and requeues jobs a previous process left unfinished.
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
    auth::keys::ensure_current(store.as_ref(), &config.data_dir)?;
    let keys = auth::keys::KeyRing::new(&config.data_dir);
    // Fails now, not at the first token request, when a key file is missing or damaged.
    keys.current(store.as_ref())?;
    let import_workers = config.job_workers.max(1);
    let secret_checks = std::thread::available_parallelism().map_or(1, |n| n.get());
    let state = Arc::new(AppState {
        attempts: auth::attempts::FailureLimiter::new(config.token_failures),
        // Guessing an admin's password is guessing a secret too: the same budget.
        sign_in_attempts: auth::attempts::FailureLimiter::new(config.token_failures),
        config,
        store,
        signing_key,
        keys,
        secret_checks: tokio::sync::Semaphore::new(secret_checks),
        jobs_queued: tokio::sync::Notify::new(),
        live: Mutex::new(Default::default()),
        import_workers: Arc::new(tokio::sync::Semaphore::new(import_workers)),
        processes: Mutex::new(HashMap::new()),
        table_turns: Mutex::new(HashMap::new()),
    });
    jobs::runner::requeue_interrupted(&state)?;
    campaign_imports::fail_interrupted(&state)?;
    Ok(state)
}

/// Every route of the server, with the security headers and the CSRF rule on all of them.
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
    let body_limit =
        DefaultBodyLimit::max(usize::try_from(state.config.max_body_bytes).unwrap_or(usize::MAX));
    let mut router = Router::new();
    for (path, method_router) in routes(upload_limit, documents_limit) {
        router = router.route(path, method_router);
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::session::require_csrf,
        ))
        // Every route's body: JSON and form bodies up to `max_body_bytes` (the upload routes
        // set their own limit above), stalled bodies cut off, hostile JSON refused unparsed.
        .layer(body_limit)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::limit_requests,
        ))
        // Outermost, so every answer carries them, the CSRF refusal included.
        .layer(middleware::map_response(web::headers::add_security_headers))
        .with_state(state)
}

/// Every path the server answers, with its handlers. `docs/security.md` lists every method of
/// each with what it requires (a scope, a session, a signed link, nothing); a test keeps the
/// two equal, so a route cannot be added without saying who may call it.
pub fn routes(
    upload_limit: DefaultBodyLimit,
    documents_limit: DefaultBodyLimit,
) -> Vec<(&'static str, MethodRouter<SharedState>)> {
    let mut routes = vec![
        ("/", get(web::assets::index)),
        ("/assets/{file}", get(web::assets::asset)),
        (web::session::LOGIN_PATH, post(web::session::login)),
        ("/web/session", get(web::session::current)),
        ("/web/logout", post(web::session::logout)),
        ("/web/export-defaults", get(jobs::routes::export_defaults)),
        ("/oauth/token", post(auth::token)),
        ("/.well-known/jwks.json", get(auth::jwks)),
        ("/api/v2/users", get(users::list).post(users::create)),
        (
            "/api/v2/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        ),
        ("/api/v2/users-by-email", get(users::by_email)),
        ("/api/v2/connections", get(connections::list)),
        ("/api/v2/connections/{id}", get(connections::get)),
        ("/api/v2/jobs", get(jobs::routes::list)),
        ("/api/v2/audit-log", get(audit::list)),
        (
            "/api/v2/jobs/users-exports",
            post(jobs::routes::create_export),
        ),
        (
            "/api/v2/jobs/users-imports",
            post(jobs::import::create).layer(upload_limit),
        ),
        ("/api/v2/jobs/{id}", get(jobs::routes::get)),
        ("/api/v2/jobs/{id}/errors", get(jobs::import::errors)),
        ("/exports/{id}/{file}", get(jobs::download::download)),
    ];
    routes.extend(campaign_routes(documents_limit));
    routes
}

/// The path of every route, as [`routes`] registers them (`{id}` and such for parameters).
pub fn route_paths() -> Vec<&'static str> {
    routes(DefaultBodyLimit::disable(), DefaultBodyLimit::disable())
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// Every route under `/api/campaign/v1/` (the OpenAPI document must describe each; a test
/// checks it).
pub fn campaign_routes(
    documents_limit: DefaultBodyLimit,
) -> Vec<(&'static str, MethodRouter<SharedState>)> {
    use campaign_imports as imports;
    vec![
        (
            "/api/campaign/v1/documents",
            get(campaign::get).delete(campaign::delete),
        ),
        (
            "/api/campaign/v1/documents/directories",
            post(campaign::mkdir),
        ),
        (
            "/api/campaign/v1/documents/upload",
            post(campaign::upload).layer(documents_limit),
        ),
        ("/api/campaign/v1/documents/content", get(campaign::content)),
        ("/api/campaign/v1/documents/move", post(campaign::rename)),
        (
            "/api/campaign/v1/imports/sniff",
            post(imports::sniff_document),
        ),
        (
            "/api/campaign/v1/import-definitions",
            get(imports::list_definitions).post(imports::create_definition),
        ),
        (
            "/api/campaign/v1/import-definitions/{id}",
            get(imports::get_definition)
                .put(imports::replace_definition)
                .delete(imports::delete_definition),
        ),
        (
            "/api/campaign/v1/import-definitions/{id}/duplicate",
            post(imports::duplicate_definition),
        ),
        (
            "/api/campaign/v1/import-definitions/{id}/runs",
            post(imports::start_run),
        ),
        ("/api/campaign/v1/processes", get(imports::list_processes)),
        ("/api/campaign/v1/processes/{id}", get(imports::get_process)),
        (
            "/api/campaign/v1/processes/{id}/cancel",
            post(imports::cancel_process),
        ),
        (
            "/api/campaign/v1/processes/{id}/report",
            get(imports::get_report),
        ),
        (
            "/api/campaign/v1/processes/{id}/rejects",
            get(imports::get_rejects),
        ),
        ("/api/campaign/v1/tables", get(imports::list_tables)),
        ("/api/campaign/v1/tables/{name}", get(imports::get_table)),
        (
            "/api/campaign/v1/tables/{name}/rows",
            get(imports::table_rows),
        ),
        (
            "/api/campaign/v1/tables/{name}/export",
            get(imports::export_table),
        ),
        ("/api/campaign/v1/openapi.json", get(imports::openapi)),
    ]
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
    tokio::spawn(campaign_imports::resume_queued(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Io {
            context: "serving HTTP".into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

    use std::collections::BTreeSet;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    fn config(dir: &std::path::Path) -> ServerConfig {
        ServerConfig {
            data_dir: dir.to_path_buf(),
            public_url: "http://127.0.0.1:1".into(),
            tenant: "test".into(),
            token_lifetime: Duration::from_secs(60),
            token_failures: auth::attempts::FailureBudget {
                per_client: 10,
                per_address: 30,
                window: Duration::from_secs(60),
            },
            session_lifetime: Duration::from_secs(60),
            download_link_lifetime: Duration::from_secs(60),
            job_retention: Duration::from_secs(60),
            process_retention: Duration::from_secs(60),
            job_workers: 1,
            max_upload_bytes: 0,
            max_decompressed_bytes: 1 << 20,
            max_active_imports: 0,
            import_batch_size: 100,
            max_document_bytes: 0,
            max_jobs_per_client: 0,
            max_body_bytes: 1 << 20,
            max_json_depth: 64,
            max_json_string_bytes: 1 << 16,
            max_export_fields: 100,
            trusted_proxies: Vec::new(),
            max_columns: 1000,
            max_line_bytes: 1 << 20,
            upload_idle_timeout: Duration::from_secs(30),
            upload_min_rate: 1024,
        }
    }

    /// RUN-6: a process left `running` is `failed`, "interrupted by restart", at start.
    #[test]
    fn running_process_fails_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(userbridge_store::SqliteStore::open(dir.path()).unwrap());
        let record = userbridge_store::ImportRunRecord {
            id: "run_interrupted00000".into(),
            definition_id: "def_x".into(),
            definition_version: 1,
            state: "running".into(),
            started_at: String::new(),
            report: String::new(),
            dry_run: false,
            document: None,
            message: None,
        };
        store.save_import_run(&record).unwrap();
        state(config(dir.path()), store.clone()).unwrap();
        let saved = store.import_run(&record.id).unwrap().unwrap();
        assert_eq!(saved.state, "failed");
        assert_eq!(saved.message.as_deref(), Some("interrupted by restart"));
    }

    /// Every method of every route registered under `/api/campaign/v1/` is described by the
    /// OpenAPI document, and the document describes nothing else: the router is probed with
    /// each method (405 = not registered), so neither side can drift.
    #[tokio::test]
    async fn openapi_describes_every_campaign_route() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(userbridge_store::SqliteStore::open(dir.path()).unwrap());
        let config = config(dir.path());
        let app = router(state(config, store).unwrap());
        let doc: serde_json::Value = serde_json::from_str(campaign_imports::OPENAPI).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(|m| (path.clone(), m.to_uppercase()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut registered = BTreeSet::new();
        for (path, _) in campaign_routes(DefaultBodyLimit::disable()) {
            assert!(path.starts_with("/api/campaign/v1/"), "{path}");
            let concrete = path.replace("{id}", "x").replace("{name}", "x");
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&concrete)
                    .body(Body::empty())
                    .unwrap();
                let status = app.clone().oneshot(request).await.unwrap().status();
                if status != StatusCode::METHOD_NOT_ALLOWED {
                    assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
                    registered.insert((path.to_string(), method.as_str().to_string()));
                }
            }
        }
        assert_eq!(registered, documented);
        // Every operation but the document itself requires a bearer token with a scope.
        for (path, method) in &registered {
            let op = &doc["paths"][path][method.to_lowercase()];
            let scope = op["security"][0]["bearerAuth"][0].as_str();
            match path.as_str() {
                "/api/campaign/v1/openapi.json" => assert_eq!(scope, None),
                _ if method == "GET" => assert_eq!(scope, Some("campaign:read"), "{path}"),
                _ => assert_eq!(scope, Some("campaign:write"), "{method} {path}"),
            }
        }
    }
}
