//! The Data Import part of `/api/campaign/v1/` (`campaign-import.md` §5–§9): sniff and
//! preview, saved definitions, processes (runs in the background on the server's import
//! workers), reports, reject files and campaign tables. Every handler hands its work to the
//! campaign engine the CLI uses; nothing here reads files or converts values itself.

use std::io::Write;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;
use userbridge_campaign::delimited::{SniffOverrides, sniff_with};
use userbridge_campaign::imports::{self, ImportDefinition, Report, saved};
use userbridge_campaign::{CampaignError, DocPath, audit, tables};
use userbridge_store::{AuditEvent, ImportDefinitionRecord, ImportRunRecord, RowFilter};

use crate::auth::authorize;
use crate::campaign::{READ, WRITE, api_error, content_disposition, documents};
use crate::error::{ApiError, ApiResult};
use crate::query_string::QueryString;
use crate::state::{AppState, SharedState, blocking};

/// Process states (RUN-3).
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const FAILED: &str = "failed";
/// States in which a process still needs its definition: it cannot be deleted meanwhile.
pub const BUSY: [&str; 2] = [QUEUED, RUNNING];
pub const CANCELLED: &str = "cancelled";
/// States a process never leaves (RUN-3).
const FINAL_STATES: [&str; 5] = [
    "completed",
    "completed_with_rejects",
    "aborted",
    FAILED,
    CANCELLED,
];

/// Rows per page of `GET /tables/{name}/rows`: default and maximum.
const DEFAULT_ROWS: u64 = 50;
const MAX_ROWS: u64 = 1000;

fn json_object(body: &Bytes, allow_empty: bool) -> ApiResult<serde_json::Map<String, Value>> {
    if allow_empty && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::invalid_body("", "Expected a JSON object")),
    }
}

fn only_properties(map: &serde_json::Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(other) => Err(ApiError::invalid_body(
            other,
            "Additional properties not allowed",
        )),
        None => Ok(()),
    }
}

fn process_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "inexistent_process",
        format!("no process {id}"),
    )
}

fn table_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "inexistent_table",
        format!("no campaign table {name:?}"),
    )
}

/// `POST /api/campaign/v1/imports/sniff` `{"document": "/dir/file.csv"}`: the detected
/// encoding, dialect and column types, explained, with the first 20 rows (§6.2–§6.4).
pub async fn sniff_document(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    authorize(&state, &headers, WRITE).await?;
    let map = json_object(&body, false)?;
    only_properties(&map, &["document", "dialect"])?;
    let overrides = match map.get("dialect") {
        None => SniffOverrides::default(),
        Some(dialect) => {
            SniffOverrides::from_json(dialect).map_err(|e| ApiError::invalid_body("dialect", &e))?
        }
    };
    let path = match map.get("document") {
        Some(Value::String(s)) => DocPath::parse(s).map_err(api_error)?,
        Some(_) => return Err(ApiError::invalid_body("document", "Expected type string")),
        None => {
            return Err(ApiError::invalid_body(
                "document",
                "Missing required property: document",
            ));
        }
    };
    let docs = documents(&state);
    let sniffed = blocking(move || {
        let (info, file) = docs.open(&path).map_err(api_error)?;
        let sniffed = sniff_with(file, info.size, &overrides).map_err(|source| {
            api_error(CampaignError::Read {
                document: info.path.clone(),
                source,
            })
        })?;
        let mut json = sniffed.to_json();
        json["document"] = json!(info.path);
        Ok(json)
    })
    .await?;
    Ok(Json(sniffed).into_response())
}

fn definition_json(record: &ImportDefinitionRecord) -> ApiResult<Value> {
    saved::saved_json(record).map_err(api_error)
}

/// A definition body (create, replace): the bare definition, or a saved definition's JSON
/// as `GET` answers it, whose read-only properties are ignored (IMP-42).
fn definition_body(body: &Bytes) -> ApiResult<ImportDefinition> {
    let map = json_object(body, false)?;
    saved::parse_definition(Value::Object(map))
        .map_err(|e| ApiError::invalid_body("", &format!("Invalid import definition: {e}")))
}

/// `GET /api/campaign/v1/import-definitions`: every saved definition, by name.
pub async fn list_definitions(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let store = state.store.clone();
    let records = blocking(move || Ok(store.import_definitions()?)).await?;
    let list = records
        .iter()
        .map(definition_json)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "definitions": list })).into_response())
}

/// `POST /api/campaign/v1/import-definitions`: the body is the definition the engine runs;
/// it is validated like the CLI's (400 `invalid_import` naming the entry) before saving.
/// 409 `import_exists` when another definition has the name (ignoring case).
pub async fn create_definition(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let definition = definition_body(&body)?;
    let docs = documents(&state);
    let store = state.store.clone();
    let saved = blocking(move || {
        let saved = saved::create(store.as_ref(), &docs, &definition).map_err(api_error)?;
        let event = audit::definition_saved(&caller.client_id, "created", &saved);
        crate::audit::record(store.as_ref(), event);
        Ok(saved)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(definition_json(&saved)?)).into_response())
}

/// `GET /api/campaign/v1/import-definitions/{id}`.
pub async fn get_definition(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let store = state.store.clone();
    let record = blocking(move || {
        store
            .import_definition(&id)?
            .ok_or_else(|| api_error(CampaignError::ImportNotFound { id }))
    })
    .await?;
    Ok(Json(definition_json(&record)?).into_response())
}

/// `PUT /api/campaign/v1/import-definitions/{id}`: replaces the definition with the body
/// (validated as on create), keeping id and `created_at`; the version goes up by one.
pub async fn replace_definition(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let definition = definition_body(&body)?;
    let docs = documents(&state);
    let store = state.store.clone();
    let saved = blocking(move || {
        let saved = saved::replace(store.as_ref(), &docs, &id, &definition).map_err(api_error)?;
        let event = audit::definition_saved(&caller.client_id, "replaced", &saved);
        crate::audit::record(store.as_ref(), event);
        Ok(saved)
    })
    .await?;
    Ok(Json(definition_json(&saved)?).into_response())
}

/// `DELETE /api/campaign/v1/import-definitions/{id}`: 204; 409 `import_in_use` while one of
/// its processes is queued or running. Past processes stay readable.
pub async fn delete_definition(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let store = state.store.clone();
    blocking(move || {
        saved::delete(store.as_ref(), &id, &BUSY).map_err(api_error)?;
        let event = audit::definition_deleted(&caller.client_id, &id);
        crate::audit::record(store.as_ref(), event);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/campaign/v1/import-definitions/{id}/duplicate` `{"name": "…"}` (optional;
/// default `"<name> (copy)"`): 201 with the new definition, version 1.
pub async fn duplicate_definition(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let map = json_object(&body, true)?;
    only_properties(&map, &["name"])?;
    let name = match map.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::invalid_body("name", "Expected type string")),
    };
    let store = state.store.clone();
    let saved = blocking(move || {
        let saved = saved::duplicate(store.as_ref(), &id, name.as_deref()).map_err(api_error)?;
        let event = audit::definition_saved(&caller.client_id, "duplicated", &saved);
        crate::audit::record(store.as_ref(), event);
        Ok(saved)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(definition_json(&saved)?)).into_response())
}

/// A process as the API shows it: `progress` while it is queued or running (RUN-4),
/// `report` once it has one.
fn process_json(state: &AppState, record: &ImportRunRecord) -> Value {
    let mut json = json!({
        "id": record.id,
        "definition": record.definition_id,
        "definition_version": record.definition_version,
        "state": record.state,
        "dry_run": record.dry_run,
        "created_at": record.started_at,
        "document": record.document,
    });
    if let Some(message) = &record.message {
        json["message"] = json!(message);
    }
    if matches!(record.state.as_str(), QUEUED | RUNNING)
        && let Some(control) = state.process_control(&record.id)
    {
        json["progress"] = json!(control.progress());
        json["cancel_requested"] = json!(control.is_cancelled());
    }
    if let Ok(report) = serde_json::from_str::<Value>(&record.report) {
        json["report"] = report;
    }
    json
}

/// `POST /api/campaign/v1/import-definitions/{id}/runs` `{"document": "/d/f.csv",
/// "dry_run": false}` (both optional): queues a process and answers 201 at once; the run
/// happens on the import workers.
pub async fn start_run(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let map = json_object(&body, true)?;
    only_properties(&map, &["document", "dry_run"])?;
    let document = match map.get("document") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(DocPath::parse(s).map_err(api_error)?.to_string()),
        Some(_) => return Err(ApiError::invalid_body("document", "Expected type string")),
    };
    let dry_run = match map.get("dry_run") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid_body("dry_run", "Expected type boolean")),
    };
    let store = state.store.clone();
    let actor = caller.client_id.clone();
    let record = blocking(move || {
        let Some(definition) = store.import_definition(&id)? else {
            return Err(api_error(CampaignError::ImportNotFound { id }));
        };
        let record = ImportRunRecord {
            id: imports::new_run_id(),
            definition_id: id,
            // The version now; `execute` records the one it loads, should it change first.
            definition_version: definition.version,
            state: QUEUED.to_string(),
            started_at: userbridge_model::time::now(),
            report: String::new(),
            dry_run,
            document,
            message: None,
        };
        store.save_import_run(&record)?;
        let event = audit::run_started(&actor, &record.id, &record.definition_id, dry_run);
        crate::audit::record(store.as_ref(), event);
        Ok((record, target_table(&definition)))
    })
    .await?;
    let (record, table) = record;
    spawn_process(state.clone(), record.clone(), table, caller.client_id);
    Ok((StatusCode::CREATED, Json(process_json(&state, &record))).into_response())
}

/// The target table of a saved definition, lower-cased (table names compare ignoring case).
fn target_table(definition: &ImportDefinitionRecord) -> Option<String> {
    let parsed: ImportDefinition = serde_json::from_str(&definition.definition).ok()?;
    Some(parsed.target.table.to_lowercase())
}

/// Runs a queued process in the background: after the processes queued before it on the same
/// table have finished (RUN-1: one at a time per table, in the order they were queued), once
/// an import worker is free. `actor` started it; its end is recorded in the audit log in
/// that name.
pub fn spawn_process(
    state: SharedState,
    record: ImportRunRecord,
    table: Option<String>,
    actor: String,
) {
    state.set_process_control(&record.id, Some(imports::RunControl::new()));
    // The turn is taken now, synchronously, so turns follow creation order: this process
    // waits for the previous one's sender to be dropped, and leaves its own for the next.
    let (done, turn) = tokio::sync::oneshot::channel::<()>();
    let previous = table.and_then(|table| {
        state
            .table_turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(table, turn)
    });
    tokio::spawn(async move {
        if let Some(previous) = previous {
            // Err: the previous process is over (its sender was dropped), the usual case.
            let _ = previous.await;
        }
        let Ok(permit) = state.import_workers.clone().acquire_owned().await else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            execute(&state, record, &actor);
            drop(done);
        })
        .await;
    });
}

/// Puts back on the workers every process a previous server left queued, in creation order.
pub async fn resume_queued(state: SharedState) {
    let store = state.store.clone();
    let queued = tokio::task::spawn_blocking(move || -> userbridge_store::Result<Vec<_>> {
        let mut queued = Vec::new();
        for record in store.import_runs_with_state(QUEUED)? {
            let table = store
                .import_definition(&record.definition_id)?
                .and_then(|d| target_table(&d));
            queued.push((record, table));
        }
        Ok(queued)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    for (record, table) in queued {
        // Who queued it is in the audit log's `campaign_import.started`; the restart resumes it.
        spawn_process(state.clone(), record, table, "server".to_string());
    }
}

/// RUN-7: finished processes started before the retention period are forgotten, with their
/// reject files (their reports go with them). Queued and running ones are never touched.
pub fn forget_old_processes(state: &AppState) -> userbridge_store::Result<usize> {
    let retention = i64::try_from(state.config.process_retention.as_millis()).unwrap_or(i64::MAX);
    let cutoff = userbridge_model::time::format_millis(
        chrono::Utc::now()
            .timestamp_millis()
            .saturating_sub(retention),
    );
    let docs = documents(state);
    let mut forgotten = 0;
    for final_state in FINAL_STATES {
        for record in state.store.import_runs_with_state(final_state)? {
            if record.started_at.as_str() >= cutoff.as_str() {
                continue;
            }
            let reject_file = serde_json::from_str::<Report>(&record.report)
                .ok()
                .and_then(|r| r.reject_file)
                .and_then(|path| DocPath::parse(&path).ok());
            if let Some(path) = reject_file
                && let Err(e) = docs.delete(&path, false)
                && !matches!(e, CampaignError::NotFound { .. })
            {
                tracing::warn!(process = %record.id, error = %e, "cannot delete an old reject file");
                continue; // kept listed, so the file is not orphaned; tried again next time
            }
            if state.store.delete_import_run(&record.id)? {
                forgotten += 1;
            }
        }
    }
    Ok(forgotten)
}

/// RUN-6: a process left `running` by a previous server is `failed`, "interrupted by
/// restart" (nothing was committed: the run applies in one transaction).
pub fn fail_interrupted(state: &AppState) -> userbridge_store::Result<usize> {
    let running = state.store.import_runs_with_state(RUNNING)?;
    for mut record in running.iter().cloned() {
        tracing::warn!(process = %record.id, "import process interrupted by a restart");
        record.state = FAILED.to_string();
        record.message = Some("interrupted by restart".to_string());
        state.store.save_import_run(&record)?;
    }
    Ok(running.len())
}

/// Runs one process with the engine, exactly as `userbridge campaign imports run` does.
fn execute(state: &AppState, mut record: ImportRunRecord, actor: &str) {
    let control = state.process_control(&record.id).unwrap_or_default();
    finish_process(state, &mut record, &control);
    state.set_process_control(&record.id, None);
    if record.state == QUEUED {
        return; // cancelled before it started: the cancel is its record
    }
    let event = match serde_json::from_str::<Report>(&record.report) {
        Ok(report) => audit::run_finished(actor, &report),
        Err(_) => audit::run_ended(actor, &record.id, &record.state),
    };
    crate::audit::record(state.store.as_ref(), event);
}

fn finish_process(state: &AppState, record: &mut ImportRunRecord, control: &imports::RunControl) {
    // queued → running only if nobody cancelled it first (the cancel makes the same move
    // from queued, so exactly one of the two wins).
    match state
        .store
        .transition_import_run(&record.id, QUEUED, RUNNING, None)
    {
        Ok(true) => record.state = RUNNING.to_string(),
        Ok(false) => return, // cancelled while queued: its state is final
        Err(e) => {
            tracing::error!(process = %record.id, error = %e, "cannot start import process");
            return;
        }
    }
    let mut used_version = None;
    let outcome = (|| -> Result<Report, CampaignError> {
        let saved = state
            .store
            .import_definition(&record.definition_id)?
            .ok_or(CampaignError::ImportNotFound {
                id: record.definition_id.clone(),
            })?;
        let mut definition: ImportDefinition = serde_json::from_str(&saved.definition)
            .map_err(|e| CampaignError::Internal(format!("unreadable definition: {e}")))?;
        if let Some(document) = &record.document {
            definition.document = document.clone();
        }
        let docs = documents(state);
        used_version = Some(saved.version);
        let mut valid = definition.validate(state.store.as_ref(), &docs)?;
        valid.version = Some(saved.version);
        valid.id = Some(saved.id);
        imports::run_with(
            state.store.as_ref(),
            &docs,
            &valid,
            record.dry_run,
            record.id.clone(),
            control,
        )
    })();
    if let Some(version) = used_version {
        record.definition_version = version;
    }
    match outcome.and_then(|report| {
        serde_json::to_string_pretty(&report)
            .map(|json| (report.state.clone(), json))
            .map_err(|e| CampaignError::Internal(e.to_string()))
    }) {
        Ok((state_name, json)) => {
            tracing::info!(process = %record.id, state = %state_name, "import process finished");
            record.state = state_name;
            record.report = json;
        }
        Err(CampaignError::Cancelled) => {
            tracing::info!(process = %record.id, "import process cancelled");
            record.state = CANCELLED.to_string();
            record.message = Some(CampaignError::Cancelled.to_string());
        }
        Err(e) => {
            tracing::warn!(process = %record.id, error = %e, "import process failed");
            record.state = FAILED.to_string();
            record.message = Some(e.to_string());
        }
    }
    if let Err(e) = state.store.save_import_run(record) {
        tracing::error!(process = %record.id, error = %e, "cannot save import process outcome");
    }
}

async fn load_process(state: &SharedState, id: String) -> ApiResult<ImportRunRecord> {
    let store = state.store.clone();
    blocking(move || store.import_run(&id)?.ok_or_else(|| process_not_found(&id))).await
}

/// `GET /api/campaign/v1/processes?definition={id}`: the processes of one definition,
/// oldest first.
pub async fn list_processes(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let definition = query.take("definition").ok_or_else(|| {
        ApiError::invalid_query("definition", "Missing required property: definition")
    })?;
    query.finish()?;
    let store = state.store.clone();
    let records = blocking(move || Ok(store.import_runs(&definition)?)).await?;
    let list: Vec<Value> = records.iter().map(|r| process_json(&state, r)).collect();
    Ok(Json(json!({ "processes": list })).into_response())
}

/// `GET /api/campaign/v1/processes/{id}`: state, and the report once finished.
pub async fn get_process(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let record = load_process(&state, id).await?;
    Ok(Json(process_json(&state, &record)).into_response())
}

/// `POST /api/campaign/v1/processes/{id}/cancel` (RUN-5): a queued process becomes
/// `cancelled` at once; a running one is interrupted, rolls back and becomes `cancelled`
/// shortly after (202 with the process as it is now). 409 for a finished process.
pub async fn cancel_process(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let mut record = load_process(&state, id).await?;
    let control = match record.state.as_str() {
        QUEUED | RUNNING => state.process_control(&record.id),
        _ => None,
    };
    let Some(control) = control else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "process_finished",
            format!(
                "process {} is {} and cannot be cancelled",
                record.id, record.state
            ),
        ));
    };
    control.cancel();
    let store = state.store.clone();
    let event = AuditEvent::new(
        &caller.client_id,
        "campaign_import.cancelled",
        &record.id,
        json!({ "state": record.state }),
    );
    blocking(move || {
        crate::audit::record(store.as_ref(), event);
        Ok(())
    })
    .await?;
    if record.state == QUEUED {
        let store = state.store.clone();
        let id = record.id.clone();
        let cancelled = blocking(move || {
            Ok(store.transition_import_run(
                &id,
                QUEUED,
                CANCELLED,
                Some("cancelled before it started"),
            )?)
        })
        .await?;
        if cancelled {
            record.state = CANCELLED.to_string();
            record.message = Some("cancelled before it started".to_string());
            return Ok(Json(process_json(&state, &record)).into_response());
        }
        // It started in the meantime: the run sees the flag and rolls back.
        record.state = RUNNING.to_string();
    }
    let mut json = process_json(&state, &record);
    // Said even when the run has already stopped on the flag (its control is gone then).
    json["cancel_requested"] = json!(true);
    Ok((StatusCode::ACCEPTED, Json(json)).into_response())
}

fn report_of(record: &ImportRunRecord) -> ApiResult<Report> {
    if record.report.is_empty() {
        return Err(match record.state.as_str() {
            QUEUED | RUNNING => ApiError::new(
                StatusCode::CONFLICT,
                "process_not_finished",
                format!("process {} is {}", record.id, record.state),
            ),
            _ => ApiError::new(
                StatusCode::NOT_FOUND,
                "inexistent_report",
                format!(
                    "process {} has no report ({})",
                    record.id,
                    record.message.as_deref().unwrap_or(&record.state)
                ),
            ),
        });
    }
    Ok(serde_json::from_str(&record.report)?)
}

/// `GET /api/campaign/v1/processes/{id}/report`: the report (§8.1); 409 while the process
/// has not finished, 404 when it failed without one.
pub async fn get_report(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let record = load_process(&state, id).await?;
    Ok(Json(report_of(&record)?).into_response())
}

/// `GET /api/campaign/v1/processes/{id}/rejects`: the reject file (text/csv); 404 when the
/// run rejected nothing.
pub async fn get_rejects(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let record = load_process(&state, id).await?;
    let report = report_of(&record)?;
    let Some(path) = report.reject_file else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "inexistent_rejects",
            format!("process {} rejected no rows", record.id),
        ));
    };
    let path = DocPath::parse(&path).map_err(api_error)?;
    crate::campaign::document_download(&state, path, "text/csv; charset=utf-8").await
}

/// `GET /api/campaign/v1/tables`: every campaign table with columns, key and row count.
pub async fn list_tables(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let store = state.store.clone();
    let list = blocking(move || Ok(store.campaign_tables()?)).await?;
    let list: Vec<Value> = list.iter().map(tables::describe).collect();
    Ok(Json(json!({ "tables": list })).into_response())
}

/// `GET /api/campaign/v1/tables/{name}`.
pub async fn get_table(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let store = state.store.clone();
    let table = blocking(move || {
        store
            .campaign_table(&name)?
            .ok_or_else(|| table_not_found(&name))
    })
    .await?;
    Ok(Json(tables::describe(&table)).into_response())
}

/// `GET /api/campaign/v1/tables/{name}/rows?limit=&offset=&where=COL=VALUE|COL~VALUE`: a
/// page of rows in insertion order, one JSON value per column.
pub async fn table_rows(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let limit = query.integer("limit", 0, MAX_ROWS)?.unwrap_or(DEFAULT_ROWS);
    let offset = query.integer("offset", 0, i64::MAX as u64)?.unwrap_or(0);
    let filter = query
        .take("where")
        .map(|w| RowFilter::parse(&w))
        .transpose()
        .map_err(|e| ApiError::invalid_query("where", &e))?;
    query.finish()?;
    let store = state.store.clone();
    let body = blocking(move || {
        let table = store
            .campaign_table(&name)?
            .ok_or_else(|| table_not_found(&name))?;
        if let Some(f) = &filter
            && !table
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&f.column))
        {
            return Err(ApiError::invalid_query(
                "where",
                &format!("table {} has no column {:?}", table.name, f.column),
            ));
        }
        let rows = store.campaign_rows(&table.name, filter.as_ref(), offset, limit)?;
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let rows: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| r.iter().map(tables::json_cell).collect())
            .collect();
        Ok(json!({
            "table": table.name,
            "columns": columns,
            "offset": offset,
            "limit": limit,
            "total": table.rows,
            "rows": rows,
        }))
    })
    .await?;
    Ok(Json(body).into_response())
}

/// A blocking writer into an in-memory pipe whose other end is the response body.
struct PipeWriter {
    runtime: tokio::runtime::Handle,
    pipe: tokio::io::DuplexStream,
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.runtime.block_on(self.pipe.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.runtime.block_on(self.pipe.flush())
    }
}

/// `GET /api/campaign/v1/tables/{name}/export?format=csv|tsv`: the whole table, streamed
/// through the export writer (formula protection included) as the CLI's `tables export`.
pub async fn export_table(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let format_text = query.take("format").unwrap_or_else(|| "csv".to_string());
    let format =
        tables::export_format(&format_text).map_err(|e| ApiError::invalid_query("format", &e))?;
    query.finish()?;
    let store = state.store.clone();
    let table = blocking(move || {
        store
            .campaign_table(&name)?
            .ok_or_else(|| table_not_found(&name))
    })
    .await?;
    let (writer_end, reader_end) = tokio::io::duplex(64 * 1024);
    let runtime = tokio::runtime::Handle::current();
    let store = state.store.clone();
    let exported = table.clone();
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::with_capacity(
            64 * 1024,
            PipeWriter {
                runtime,
                pipe: writer_end,
            },
        );
        if let Err(e) = tables::export(store.as_ref(), &exported, format, out) {
            tracing::warn!(table = %exported.name, error = %e, "table export stopped");
        }
    });
    let mut response = Body::from_stream(ReaderStream::new(reader_end)).into_response();
    let extension = format_text.to_ascii_lowercase();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match extension.as_str() {
            "tsv" => "text/tab-separated-values; charset=utf-8",
            _ => "text/csv; charset=utf-8",
        }),
    );
    if let Ok(value) =
        HeaderValue::from_str(&content_disposition(&format!("{}.{extension}", table.name)))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The OpenAPI 3.0 description of `/api/campaign/v1/` (hand-written; a test checks that it
/// names every registered route).
pub const OPENAPI: &str = include_str!("campaign_openapi.json");

/// `GET /api/campaign/v1/openapi.json` (public, like any API description).
pub async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
