//! The server's multipart uploads driven through the real axum router: the users-imports
//! upload (`POST /api/v2/jobs/users-imports`) and the campaign documents upload
//! (`POST /api/campaign/v1/documents/upload`), with the fuzz input as the multipart body.
//!
//! Input: byte 0 picks the route (bit 0) and the boundary (bit 1: fixed `FUZZBOUNDARY`, or
//! taken from the input: byte 1 is its length, then its bytes); the rest is the body. The
//! text `con_0000000000000000` in the body is replaced by the real connection's id (same
//! length), so that seeds can reach a complete import job.
//!
//! Asserts: the server answers every request with a 2xx or 4xx status (a 5xx or any other
//! status is a finding) and never panics; a document just uploaded can be deleted again.
//!
//! `USERBRIDGE_FUZZ_VERBOSE=1` prints every answer (to check what seeds reach).
//!
//! One state (store in a temporary data directory, a client and its token) is built once
//! per process; successful uploads are cleaned up so the data directory stays small.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;
use userbridge_server::{ServerConfig, auth};
use userbridge_store::{SqliteStore, Store};

const PLACEHOLDER: &[u8] = b"con_0000000000000000";
const IMPORTS: &str = "/api/v2/jobs/users-imports";
const DOCUMENTS: &str = "/api/campaign/v1/documents";

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Router,
    token: String,
    connection_id: String,
    data_dir: std::path::PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Kept for the whole process (libFuzzer exits without running destructors).
        let data_dir = tempfile::Builder::new()
            .prefix("userbridge-fuzz-")
            .tempdir()
            .expect("a temporary data directory")
            .keep();
        let store = Arc::new(SqliteStore::open(&data_dir).expect("the store opens"));
        // A new store has its default database connection.
        let connection = store
            .connections()
            .expect("the connections")
            .into_iter()
            .next()
            .expect("a connection");
        let (client, secret) =
            auth::create_client(
                store.as_ref(),
                "fuzz",
                &auth::MANAGEMENT_SCOPES.map(String::from),
            )
                .expect("a client");
        let config = ServerConfig {
            data_dir: data_dir.clone(),
            public_url: "http://127.0.0.1:1".into(),
            tenant: "fuzz".into(),
            token_lifetime: Duration::from_secs(365 * 24 * 3600),
            download_link_lifetime: Duration::from_secs(60),
            job_retention: Duration::from_secs(60),
            process_retention: Duration::from_secs(60),
            job_workers: 1,
            // Small caps, so that the 413 paths are reachable from small inputs.
            max_upload_bytes: 2048,
            max_decompressed_bytes: 1 << 20,
            max_active_imports: 0,
            import_batch_size: 100,
            max_document_bytes: 2048,
            token_failures: auth::attempts::FailureBudget {
                per_client: 1_000_000,
                per_address: 1_000_000,
                window: Duration::from_secs(60),
            },
            session_lifetime: Duration::from_secs(60),
            max_jobs_per_client: 0,
            max_body_bytes: 1 << 20,
            max_json_depth: 64,
            max_json_string_bytes: 1 << 16,
            max_export_fields: 100,
            max_columns: 1000,
            max_line_bytes: 1 << 20,
            upload_idle_timeout: Duration::from_secs(30),
            upload_min_rate: 0,
            trusted_proxies: Vec::new(),
        };
        let state = userbridge_server::state(config.clone(), store).expect("the state");
        let app = userbridge_server::router(state);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}&audience={}",
            client.client_id,
            percent_encode(&config.audience())
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            // The token endpoint budgets failures per address: say which one this is.
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                1,
            ))))
            .body(Body::from(body))
            .expect("a token request");
        let (status, body) = runtime.block_on(send(&app, request));
        assert_eq!(status, StatusCode::OK, "token: {body}");
        let token = body["access_token"].as_str().expect("a token").to_string();
        Harness {
            runtime,
            app,
            token,
            connection_id: connection.id,
            data_dir,
        }
    })
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the response body reads");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every byte but unreserved ASCII as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let (boundary, body): (&[u8], &[u8]) = if mode & 0x02 == 0 {
        (b"FUZZBOUNDARY", rest)
    } else {
        let [len, rest @ ..] = rest else {
            return;
        };
        let len = usize::from(*len).min(rest.len());
        rest.split_at(len)
    };
    let h = harness();
    let mut body = body.to_vec();
    let mut at = 0;
    while let Some(i) = body[at..]
        .windows(PLACEHOLDER.len())
        .position(|w| w == PLACEHOLDER)
    {
        let start = at + i;
        body[start..start + PLACEHOLDER.len()].copy_from_slice(h.connection_id.as_bytes());
        at = start + PLACEHOLDER.len();
    }
    let mut content_type = b"multipart/form-data; boundary=".to_vec();
    content_type.extend_from_slice(boundary);
    let imports = mode & 0x01 == 0;
    let uri = if imports {
        IMPORTS.to_string()
    } else {
        format!("{DOCUMENTS}/upload?path=/&on_conflict=replace")
    };
    let Ok(request) = Request::builder()
        .method(Method::POST)
        .uri(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", h.token))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
    else {
        return; // the boundary is not a valid header value: no request to send
    };
    let (status, answer) = h.runtime.block_on(send(&h.app, request));
    if std::env::var_os("USERBRIDGE_FUZZ_VERBOSE").is_some() {
        eprintln!("{uri}: {status} {answer}");
    }
    assert!(
        status.is_success() || status.is_client_error(),
        "{uri}: {status} {answer}"
    );
    if !status.is_success() {
        return;
    }
    if imports {
        // The job stays pending (no runner); drop its upload so the directory stays small.
        let _ = std::fs::remove_dir_all(h.data_dir.join("jobs"));
        return;
    }
    let documents = answer["documents"].as_array().cloned().unwrap_or_default();
    assert!(
        !documents.is_empty(),
        "{status} without documents: {answer}"
    );
    for doc in documents {
        let path = doc["path"].as_str().expect("a stored document has a path");
        let request = Request::builder()
            .method(Method::DELETE)
            .uri(format!("{DOCUMENTS}?path={}", percent_encode(path)))
            .header(header::AUTHORIZATION, format!("Bearer {}", h.token))
            .body(Body::empty())
            .expect("a delete request");
        let (status, answer) = h.runtime.block_on(send(&h.app, request));
        assert!(status.is_success(), "delete {path:?}: {status} {answer}");
    }
});
