//! `userbridge serve`: the HTTP server on the embedded store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use userbridge_server::auth::attempts::FailureBudget;
use userbridge_server::private_files::write_private;
use userbridge_server::web::admins;
use userbridge_server::{ServerConfig, auth};
use userbridge_store::{Store, UserScan};

use super::{open, users};
use crate::cli::ServeArgs;

/// The file holding the management client's credentials: a ready-made token request body.
pub const CLIENT_FILE: &str = "management-client.json";

/// The name of the client the first start creates.
const MANAGEMENT_CLIENT_NAME: &str = "userbridge management";

/// Users `--demo` seeds into an empty directory.
const DEMO_USERS: u64 = 10_000;

pub fn run(data_dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("USERBRIDGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let store = open(data_dir)?;
    if args.demo && store.count_scan(&UserScan::default())? == 0 {
        eprintln!("--demo: seeding {DEMO_USERS} users…");
        users::seed_users(&store, "Username-Password-Authentication", 1, DEMO_USERS)?;
    }

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_string();
        let config = ServerConfig {
            data_dir: data_dir.to_path_buf(),
            public_url: public_url.clone(),
            tenant: args.tenant.clone(),
            token_lifetime: Duration::from_secs(args.token_lifetime),
            token_failures: FailureBudget {
                per_client: args.token_failures_per_client,
                per_address: args.token_failures_per_address,
                window: Duration::from_secs(args.token_failure_window.max(1)),
            },
            session_lifetime: Duration::from_secs(args.session_lifetime),
            download_link_lifetime: Duration::from_secs(args.download_link_lifetime),
            job_retention: Duration::from_secs(args.job_retention),
            process_retention: Duration::from_secs(args.process_retention),
            job_workers: args.job_workers,
            max_upload_bytes: args.max_upload_bytes,
            max_decompressed_bytes: args.max_decompressed_bytes,
            max_active_imports: args.max_active_imports,
            import_batch_size: args.import_batch_size,
            max_document_bytes: args.max_document_bytes,
            max_jobs_per_client: args.max_jobs_per_client,
            max_body_bytes: args.max_body_bytes,
            max_json_depth: usize::from(args.max_json_depth),
            max_json_string_bytes: args.max_json_string_bytes,
            max_export_fields: args.max_export_fields,
            max_columns: args.max_columns,
            max_line_bytes: args.max_line_bytes,
            upload_idle_timeout: Duration::from_secs(args.upload_idle_timeout),
            upload_min_rate: args.upload_min_rate,
            trusted_proxies: args.trusted_proxy.clone(),
        };
        let client_file = management_client(store.as_ref(), data_dir, &config.audience())?;
        let state = userbridge_server::state(config, store.clone() as Arc<dyn Store>)?;
        let first_password = admins::create_first_admin(store.as_ref())?;

        // Before the "listening" line, so whoever waits for that one has seen these.
        println!("dashboard: {public_url}/");
        if let Some(password) = first_password {
            println!(
                "dashboard login: {} / {password} (shown once; change it with: userbridge admin reset-password)",
                admins::DEFAULT_ADMIN
            );
        }
        println!("userbridge listening on {public_url}");
        println!("management client credentials: {}", client_file.display());
        println!("get a token:");
        println!(
            "  TOKEN=$(curl -s {public_url}/oauth/token -H 'content-type: application/json' -d @{} \\\n    | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
            client_file.display()
        );
        println!(
            "then: curl -s '{public_url}/api/v2/users?per_page=5' -H \"authorization: Bearer $TOKEN\""
        );
        userbridge_server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Creates the management client on first start (or after `clients rm` removed it) and
/// keeps its credentials file current.
fn management_client(
    store: &dyn Store,
    data_dir: &Path,
    audience: &str,
) -> anyhow::Result<PathBuf> {
    let path = data_dir.join(CLIENT_FILE);
    let saved: Option<Value> = match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    // The management client holds every management scope this version knows, also when
    // the data directory was made by an older one (new routes bring new scopes).
    let scopes: Vec<String> = auth::MANAGEMENT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let known_id = match saved.as_ref().and_then(|body| body["client_id"].as_str()) {
        Some(id) => store.client(id)?.map(|client| client.client_id),
        None => None,
    };
    let mut body = match (saved, known_id) {
        (Some(body), Some(client_id)) => {
            store.set_client_scopes(&client_id, &scopes)?;
            body
        }
        _ => {
            let (client, secret) = auth::create_client(store, MANAGEMENT_CLIENT_NAME, &scopes)?;
            json!({
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": secret,
            })
        }
    };
    body["audience"] = Value::String(audience.to_string());
    write_private(&path, &serde_json::to_vec_pretty(&body)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The id of the management client, as its credentials file names it.
pub fn management_client_id(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(CLIENT_FILE)).ok()?;
    let body: Value = serde_json::from_str(&text).ok()?;
    body["client_id"].as_str().map(str::to_string)
}

/// When `client_id` is the management client, writes its new secret into its credentials
/// file; true when it was.
pub fn update_management_secret(
    data_dir: &Path,
    client_id: &str,
    secret: &str,
) -> anyhow::Result<bool> {
    if management_client_id(data_dir).as_deref() != Some(client_id) {
        return Ok(false);
    }
    let path = data_dir.join(CLIENT_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut body: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    body["client_secret"] = Value::String(secret.to_string());
    write_private(&path, &serde_json::to_vec_pretty(&body)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}
