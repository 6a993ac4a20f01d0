//! Server configuration and the state every handler shares.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use userbridge_campaign::imports::RunControl;
use userbridge_store::Store;

use crate::auth::attempts::{FailureBudget, FailureLimiter};
use crate::auth::keys::KeyRing;

/// Everything the server needs to know, already validated by the binary.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// Base URL clients use, without a trailing slash (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Tenant name: export file names.
    pub tenant: String,
    pub token_lifetime: Duration,
    /// Failed token requests allowed per client and per address (`auth::attempts`).
    pub token_failures: FailureBudget,
    /// How long a dashboard sign-in (web session) lasts.
    pub session_lifetime: Duration,
    /// How long a download link stays valid.
    pub download_link_lifetime: Duration,
    /// How long a finished job's data (export file) is kept.
    pub job_retention: Duration,
    /// How long a finished campaign import process, its report and reject file stay listed
    /// (RUN-7), counted from when it was started.
    pub process_retention: Duration,
    /// Export/import jobs running at once.
    pub job_workers: usize,
    /// Largest users file an import upload may send; 0 = unlimited.
    pub max_upload_bytes: u64,
    /// Largest decompressed users file (a gzip bomb stops here).
    pub max_decompressed_bytes: u64,
    /// Operator cap on pending + processing import jobs (429 beyond it); 0 = no cap.
    pub max_active_imports: usize,
    /// Users per import transaction (and per saved checkpoint).
    pub import_batch_size: usize,
    /// Largest document the Documents area accepts, in bytes; 0 = unlimited.
    pub max_document_bytes: u64,
    /// Export and import jobs one client may have pending or processing (429 beyond); 0 = no
    /// cap.
    pub max_jobs_per_client: usize,
    /// Largest request body of the routes that take JSON or a form (uploads have their own
    /// caps), in bytes.
    pub max_body_bytes: u64,
    /// Deepest nesting of arrays and objects in a JSON request body.
    pub max_json_depth: usize,
    /// Longest string (its JSON text, in bytes) in a JSON request body.
    pub max_json_string_bytes: usize,
    /// Most fields an export job may ask for.
    pub max_export_fields: usize,
    /// Most fields in one row of a delimited file a campaign run reads.
    pub max_columns: usize,
    /// Longest line (record) of a file an import job or a campaign run reads, in bytes.
    pub max_line_bytes: usize,
    /// An upload (any request body) that sends nothing for this long is answered 408 and
    /// what it sent is removed.
    pub upload_idle_timeout: Duration,
    /// Slowest body accepted (bytes per second over each `upload_idle_timeout` of waiting;
    /// 0: none), so a trickle of a byte now and then cannot hold a request open for ever.
    pub upload_min_rate: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`client_address`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl ServerConfig {
    /// The Management API audience, with its trailing slash.
    pub fn audience(&self) -> String {
        format!("{}/api/v2/", self.public_url)
    }

    /// The `iss` of our tokens: the public URL with a trailing slash, as Auth0's
    /// `https://<tenant>/`.
    pub fn issuer(&self) -> String {
        format!("{}/", self.public_url)
    }

    pub fn token_lifetime_seconds(&self) -> i64 {
        i64::try_from(self.token_lifetime.as_secs()).unwrap_or(i64::MAX)
    }

    pub fn jobs_dir(&self) -> PathBuf {
        self.data_dir.join("jobs")
    }
}

/// `floor(100 × done / total)`, held below 100 until the job is really complete.
pub fn percentage_done(done: u64, total: u64) -> u64 {
    (done * 100).checked_div(total).map_or(0, |p| p.min(99))
}

/// Progress of a job that is running in this process.
#[derive(Debug, Clone, Copy)]
pub struct LiveProgress {
    pub started: Instant,
    pub done: u64,
    pub total: u64,
}

impl LiveProgress {
    /// Remaining records at the average rate so far, rounded up; 0 when unknown.
    pub fn seconds_left(&self) -> u64 {
        let elapsed = self.started.elapsed().as_secs_f64();
        if self.done == 0 || elapsed <= 0.0 {
            return 0;
        }
        let rate = self.done as f64 / elapsed;
        (self.total.saturating_sub(self.done) as f64 / rate).ceil() as u64
    }
}

pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    /// Key for download-link signatures.
    pub signing_key: Vec<u8>,
    /// The key pairs that sign and verify access tokens.
    pub keys: KeyRing,
    /// The failure budget of the token endpoint.
    pub attempts: FailureLimiter,
    /// The failure budget of dashboard sign-ins (per username and per address).
    pub sign_in_attempts: FailureLimiter,
    /// Client-secret checks (argon2id) running at once: one per core.
    pub secret_checks: tokio::sync::Semaphore,
    /// Wakes the job runner when a job is queued.
    pub jobs_queued: Notify,
    pub live: Mutex<HashMap<String, LiveProgress>>,
    /// Campaign import processes running at once (`job_workers` permits).
    pub import_workers: Arc<tokio::sync::Semaphore>,
    /// Cancel switch and live progress of every queued or running campaign import process.
    pub processes: Mutex<HashMap<String, Arc<RunControl>>>,
    /// Per campaign table (lower-cased): the turn of the process queued last on it; the next
    /// one waits until it is over (RUN-1).
    pub table_turns: Mutex<HashMap<String, tokio::sync::oneshot::Receiver<()>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The control of a queued or running process.
    pub fn process_control(&self, id: &str) -> Option<Arc<RunControl>> {
        self.processes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn set_process_control(&self, id: &str, control: Option<Arc<RunControl>>) {
        let mut processes = self.processes.lock().unwrap_or_else(|p| p.into_inner());
        match control {
            Some(c) => processes.insert(id.to_string(), c),
            None => processes.remove(id),
        };
    }

    pub fn live_progress(&self, job_id: &str) -> Option<LiveProgress> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(job_id)
            .copied()
    }

    pub fn set_live_progress(&self, job_id: &str, progress: Option<LiveProgress>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        match progress {
            Some(p) => live.insert(job_id.to_string(), p),
            None => live.remove(job_id),
        };
    }
}

pub type SharedState = Arc<AppState>;

/// Runs blocking store work off the async executor.
pub async fn blocking<T, F>(f: F) -> crate::error::ApiResult<T>
where
    F: FnOnce() -> crate::error::ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(crate::error::ApiError::from)?
}
