//! Import jobs: the multipart upload (`management-api.md` §7.2), running one job with its
//! checkpoint saved in every batch, and the errors endpoint (§7.4).

use std::path::PathBuf;
use std::time::Instant;

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use userbridge_import::engine::{self, BatchSink, Checkpoint, FailedRecord, Summary};
use userbridge_import::reader::InputFormat;
use userbridge_import::{ImportError, ImportRequest, ImportSpec};
use userbridge_model::{Job, JobKind, JobStatus, ids, time};
use userbridge_store::{AuditEvent, ConnectionSelector, WriteTx};

use super::routes::render;
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, LiveProgress, SharedState, blocking};

const IMPORT: &[&str] = &["create:users"];
const ERRORS: &[&str] = &["create:users", "read:users"];

/// Name of the uploaded users file inside the job's directory.
pub const UPLOAD_FILE: &str = "users.upload";

fn job_dir(state: &AppState, id: &str) -> PathBuf {
    super::export::job_dir(state, id)
}

fn text_bool(part: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid_body(
            part,
            "Expected type boolean (true or false)",
        )),
    }
}

/// `POST /api/v2/jobs/users-imports`: streams the `users` part to disk (never buffered
/// whole), checks the other parts and the connection, and queues the job.
pub async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    mut multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let caller = crate::upload::authorize_upload(&state, &headers, IMPORT, &mut multipart).await?;
    let mut multipart = multipart
        .map_err(|e| ApiError::invalid_body("", &format!("Expected multipart/form-data: {e}")))?;
    // Before the upload is read: a client at its cap does not stream a file for nothing.
    let st = state.clone();
    let client_id = caller.client_id.clone();
    let capped = blocking(move || super::routes::check_job_cap(&st, &client_id)).await;
    if let Err(e) = capped {
        crate::upload::drain(&mut multipart).await;
        return Err(e);
    }
    let id = ids::new_job_id();
    let dir = job_dir(&state, &id);
    let outcome = receive(&state, &id, &dir, &mut multipart, caller.client_id).await;
    if outcome.is_err() {
        crate::upload::drain(&mut multipart).await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
    let job = outcome?;
    state.jobs_queued.notify_one();
    Ok((StatusCode::CREATED, Json(render(&state, &job))).into_response())
}

async fn receive(
    state: &SharedState,
    id: &str,
    dir: &std::path::Path,
    multipart: &mut Multipart,
    created_by: String,
) -> ApiResult<Job> {
    let limit = state.config.max_upload_bytes;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            ApiError::invalid_body("", &format!("Malformed multipart body: {}", e.body_text()))
        }
    };
    let (mut connection_id, mut upsert, mut external_id, mut send_email) =
        (None, false, None, true);
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut delimited = false;
    let mut uploaded: Option<u64> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "users" {
            delimited = field.file_name().is_some_and(names_delimited_file);
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(ApiError::from)?;
            let mut file = tokio::fs::File::create(dir.join(UPLOAD_FILE))
                .await
                .map_err(ApiError::from)?;
            let mut size: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                size += chunk.len() as u64;
                if limit > 0 && size > limit {
                    // Read the rest of this part, so the client gets the 413.
                    while let Ok(Some(_)) = field.chunk().await {}
                    return Err(too_large(limit));
                }
                file.write_all(&chunk).await.map_err(ApiError::from)?;
            }
            file.sync_all().await.map_err(ApiError::from)?;
            uploaded = Some(size);
            continue;
        }
        let value = field.text().await.map_err(malformed)?;
        match name.as_str() {
            "connection_id" => connection_id = Some(value),
            "upsert" => upsert = text_bool("upsert", &value)?,
            // A userbridge extension, as the CLI's --field: CSV/TSV column → profile path.
            "field" => {
                columns.push(userbridge_import::column_mapping(&value).ok_or_else(|| {
                    ApiError::invalid_body(
                        "field",
                        "Expected COLUMN=PATH (a CSV/TSV column mapping)",
                    )
                })?)
            }
            "send_completion_email" => send_email = text_bool("send_completion_email", &value)?,
            "external_id" => {
                if value.chars().count() > 255 {
                    return Err(ApiError::invalid_body(
                        "external_id",
                        "String is too long (255 chars max)",
                    ));
                }
                external_id = Some(value);
            }
            other => {
                return Err(ApiError::invalid_body(
                    other,
                    "Additional properties not allowed",
                ));
            }
        }
    }
    let Some(uploaded_bytes) = uploaded else {
        return Err(ApiError::invalid_body(
            "users",
            "Missing required property: users",
        ));
    };
    let connection_id = connection_id.ok_or_else(|| {
        ApiError::invalid_body("connection_id", "Missing required property: connection_id")
    })?;
    if !ids::is_connection_id(&connection_id) {
        return Err(ApiError::invalid_body(
            "connection_id",
            "String does not match pattern ^con_[A-Za-z0-9]{16}$",
        ));
    }
    let store = state.store.clone();
    let active_cap = state.config.max_active_imports;
    let id = id.to_string();
    blocking(move || {
        let connection = store.connection_by_id(&connection_id)?.ok_or_else(ApiError::connection_not_found)?;
        if active_cap > 0 {
            let active = [JobStatus::Pending, JobStatus::Processing]
                .into_iter()
                .map(|s| store.jobs_with_status(s))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .filter(|j| j.kind == JobKind::UsersImport)
                .count();
            if active >= active_cap {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    format!("There are {active_cap} active import users jobs, please wait until some of them are finished and try again"),
                ));
            }
        }
        let mut spec = json!({
            "connection_id": connection.id,
            "upsert": upsert,
            "send_completion_email": send_email,
        });
        if let Some(external_id) = external_id {
            spec["external_id"] = Value::String(external_id);
        }
        if delimited {
            spec["delimited"] = json!(true);
        }
        if !columns.is_empty() {
            spec["fields"] = json!(columns);
        }
        let job = Job {
            id,
            kind: JobKind::UsersImport,
            status: JobStatus::Pending,
            created_at: time::now(),
            connection_id: Some(connection.id),
            connection: Some(connection.name),
            spec,
            processed: 0,
            total: 0,
            status_details: None,
            result: None,
            finished_at: None,
            created_by: Some(created_by),
        };
        store.create_job(&job)?;
        let detail = json!({
            "connection": job.connection,
            "upsert": upsert,
            "bytes": uploaded_bytes,
        });
        let actor = job.created_by.as_deref().unwrap_or_default();
        crate::audit::record(
            store.as_ref(),
            AuditEvent::new(actor, "users_import.created", &job.id, detail),
        );
        Ok(job)
    })
    .await
}

/// An uploaded file name that says CSV or TSV (`.csv`, `.tsv`, either `.gz`-compressed).
fn names_delimited_file(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.ends_with(".csv") || name.ends_with(".tsv")
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("Payload too large: the users file exceeds {limit} bytes"),
    )
}

/// Saves each batch's errors and the job's checkpoint in the batch's transaction.
struct JobSink<'a> {
    state: &'a AppState,
    job: Job,
    started: Instant,
}

impl BatchSink for JobSink<'_> {
    fn batch(
        &mut self,
        tx: &mut dyn WriteTx,
        checkpoint: &Checkpoint,
        failed: &[FailedRecord],
    ) -> userbridge_import::Result<()> {
        let errors: Vec<(u64, String)> = failed
            .iter()
            .map(|f| serde_json::to_string(f).map(|body| (f.index, body)))
            .collect::<Result<_, _>>()
            .map_err(|e| ImportError::Io(e.into()))?;
        tx.add_job_errors(&self.job.id, &errors)?;
        self.job.processed = checkpoint.processed;
        self.job.total = checkpoint.summary.total;
        self.job.result = Some(json!(checkpoint.summary));
        tx.update_job(&self.job)?;
        Ok(())
    }

    fn progress(&mut self, done: u64, total: u64) -> bool {
        let live = LiveProgress {
            started: self.started,
            done,
            total,
        };
        self.state.set_live_progress(&self.job.id, Some(live));
        true
    }
}

/// Runs (or resumes) an import job on the current blocking thread.
pub fn run(state: &AppState, job: &Job) -> Result<Summary, String> {
    let connection_id = job
        .spec
        .get("connection_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut request = ImportRequest::new(
        job_dir(state, &job.id).join(UPLOAD_FILE),
        ConnectionSelector::Id(connection_id.to_string()),
    );
    request.upsert = job
        .spec
        .get("upsert")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    request.max_decompressed_bytes = state.config.max_decompressed_bytes;
    request.max_record_bytes = state.config.max_line_bytes;
    request.max_record_depth = state.config.max_json_depth;
    request.batch_size = state.config.import_batch_size;
    // Auth0 takes a JSON array; userbridge also takes NDJSON and, for the web page's Import
    // tab, CSV/TSV with the same column mappings as the CLI's --field (`field` parts).
    request.columns = job
        .spec
        .get("fields")
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default();
    let spec = ImportSpec::validate(&request, state.store.as_ref()).map_err(details)?;
    // Anything not JSON would be read as CSV: only a file named .csv/.tsv is taken as one,
    // so stray bytes fail with a reason instead of "completing" with no users.
    let named_delimited = job.spec.get("delimited").and_then(Value::as_bool) == Some(true);
    if !named_delimited
        && !matches!(
            spec.detected.format,
            InputFormat::JsonArray | InputFormat::Ndjson
        )
    {
        return Err("The users file must contain a JSON array or NDJSON objects (or be named .csv or .tsv).".into());
    }
    let from = Checkpoint {
        processed: job.processed,
        summary: job
            .result
            .clone()
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default(),
    };
    let mut sink = JobSink {
        state,
        job: job.clone(),
        started: Instant::now(),
    };
    engine::run(state.store.as_ref(), &spec, from, &mut sink).map_err(details)
}

/// `status_details` of a failed import job.
fn details(err: ImportError) -> String {
    match err {
        ImportError::Read(e) => format!("Failed to parse users file when importing users: {e}"),
        other => other.to_string(),
    }
}

/// `GET /api/v2/jobs/{id}/errors`.
pub async fn errors(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, ERRORS).await?;
    if !ids::is_job_id(&id) {
        return Err(ApiError::invalid_uri(
            "id",
            "String does not match pattern ^job_[A-Za-z0-9]{16}$",
        ));
    }
    let store = state.store.clone();
    let (job, errors) = blocking(move || {
        let job = store.job(&id)?.ok_or_else(ApiError::job_not_found)?;
        let errors = store.job_errors(&id)?;
        Ok((job, errors))
    })
    .await?;
    if job.kind != JobKind::UsersImport {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            "Job errors are only available for users_import jobs.",
        ));
    }
    match job.status {
        JobStatus::Expired => Err(ApiError::job_not_found()),
        JobStatus::Failed => Ok(Json(render(&state, &job)).into_response()),
        _ => {
            // The elements are stored as JSON text: join them without re-parsing.
            let body = format!("[{}]", errors.join(","));
            Ok((
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response())
        }
    }
}
