//! `POST /api/v2/jobs/users-exports`, `GET /api/v2/jobs/{id}` (`management-api.md` §7), and
//! `GET /api/v2/jobs`, a userbridge extension (the page's history of jobs).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use userbridge_export::ExportSpec;
use userbridge_model::{Job, JobKind, JobStatus, ids, time};
use userbridge_store::AuditEvent;

use super::{download, export};
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::query_string::paged_list;
use crate::state::{SharedState, blocking};

const EXPORT: &[&str] = &["read:users"];
const STATUS: &[&str] = &["create:users", "read:users"];

pub async fn create_export(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, EXPORT).await?;
    let body: Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::invalid_body("", &format!("Invalid JSON: {e}")))?;
    let (request, format_name) = export::parse_body(&body, &state.config.tenant)?;
    let max_fields = state.config.max_export_fields;
    if request.fields.len() > max_fields {
        return Err(ApiError::invalid_body(
            "fields",
            &format!(
                "Array is too long ({} items, {max_fields} max)",
                request.fields.len()
            ),
        ));
    }
    let st = state.clone();
    let job = blocking(move || {
        let spec = ExportSpec::validate(&request, st.store.as_ref()).map_err(export::api_error)?;
        check_job_cap(&st, &caller.client_id)?;
        let job = Job {
            id: ids::new_job_id(),
            kind: JobKind::UsersExport,
            status: JobStatus::Pending,
            created_at: time::now(),
            connection_id: spec.connection_id.clone(),
            connection: spec.connection_name.clone(),
            spec: export::spec_json(&body, &format_name, &spec),
            processed: 0,
            total: 0,
            status_details: None,
            result: None,
            finished_at: None,
            created_by: Some(caller.client_id.clone()),
        };
        st.store.create_job(&job)?;
        let detail = json!({
            "format": format_name,
            "fields": spec.columns.as_ref().map_or(0, Vec::len),
            "connection": spec.connection_name,
            "limit": spec.limit,
        });
        crate::audit::record(
            st.store.as_ref(),
            AuditEvent::new(&caller.client_id, "users_export.created", &job.id, detail),
        );
        Ok(job)
    })
    .await?;
    state.jobs_queued.notify_one();
    Ok((StatusCode::CREATED, Json(render(&state, &job))).into_response())
}

/// `GET /web/export-defaults` (a userbridge extension for the page's "Add Default Fields"):
/// the columns a CSV/TSV export gets when it names none, from the engine's own list.
pub async fn export_defaults(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, EXPORT).await?;
    let fields: Vec<Value> = userbridge_export::DEFAULT_FIELDS
        .iter()
        .map(|(name, export_as)| json!({"name": name, "export_as": export_as}))
        .collect();
    Ok(Json(json!({ "fields": fields })))
}

/// 429 when `client_id` already has `--max-jobs-per-client` export and import jobs pending or
/// processing (Auth0's shape for too many import jobs, applied to every job of one client).
pub(crate) fn check_job_cap(state: &crate::state::AppState, client_id: &str) -> ApiResult<()> {
    let cap = state.config.max_jobs_per_client;
    if cap == 0 {
        return Ok(());
    }
    let active = state.store.count_active_jobs_by(client_id)?;
    if active >= cap as u64 {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "This client has {active} active jobs (at most {cap}), please wait until some of them are finished and try again"
            ),
        ));
    }
    Ok(())
}

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, STATUS).await?;
    if !ids::is_job_id(&id) {
        return Err(ApiError::invalid_uri(
            "id",
            "String does not match pattern ^job_[A-Za-z0-9]{16}$",
        ));
    }
    let store = state.store.clone();
    let job = blocking(move || Ok(store.job(&id)?)).await?;
    let job = job.ok_or_else(ApiError::job_not_found)?;
    Ok(Json(render(&state, &job)))
}

/// `GET /api/v2/jobs?page&per_page&include_totals`: every job, newest first, each as
/// `GET /api/v2/jobs/{id}` shows it; a plain array, or with totals, as the users list.
pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, STATUS).await?;
    paged_list(
        raw.as_deref(),
        state.store.clone(),
        "jobs",
        |store, start, limit| store.jobs_page(start, limit),
        |store| store.count_jobs(),
        |job| render(&state, job),
    )
    .await
}

/// The job as `GET /api/v2/jobs/{id}` shows it (§7.3), with a fresh download link.
pub fn render(state: &crate::state::AppState, job: &Job) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(job.id));
    out.insert("type".into(), json!(job.kind.as_str()));
    out.insert("status".into(), json!(job.status.as_str()));
    out.insert("created_at".into(), json!(job.created_at));
    if let (Some(id), Some(name)) = (&job.connection_id, &job.connection) {
        out.insert("connection_id".into(), json!(id));
        out.insert("connection".into(), json!(name));
    }
    if job.status == JobStatus::Expired {
        if let Some(v) = job.spec.get("external_id") {
            out.insert("external_id".into(), v.clone());
        }
        return Value::Object(out);
    }
    let echoed: &[&str] = match job.kind {
        JobKind::UsersExport => &["format", "limit", "fields", "options"],
        JobKind::UsersImport => &["upsert", "external_id", "send_completion_email"],
    };
    for key in echoed {
        if let Some(v) = job.spec.get(*key) {
            out.insert((*key).into(), v.clone());
        }
    }
    // Imports show their summary when complete, and when a failure came after some users.
    if job.kind == JobKind::UsersImport
        && (job.status == JobStatus::Completed
            || (job.status == JobStatus::Failed && job.processed > 0))
        && let Some(summary) = &job.result
    {
        out.insert("summary".into(), summary.clone());
    }
    match job.status {
        JobStatus::Processing => {
            let (done, total, seconds_left) = match state.live_progress(&job.id) {
                Some(live) => (live.done, live.total, live.seconds_left()),
                None => (job.processed, job.total, 0),
            };
            let percentage = crate::state::percentage_done(done, total);
            out.insert("percentage_done".into(), json!(percentage));
            out.insert("time_left_seconds".into(), json!(seconds_left));
        }
        JobStatus::Completed if job.kind == JobKind::UsersExport => {
            let file = export::file_name(state, &job.spec);
            out.insert(
                "location".into(),
                json!(download::location(state, &job.id, &file)),
            );
        }
        JobStatus::Failed => {
            out.insert(
                "status_details".into(),
                json!(job.status_details.as_deref().unwrap_or("Internal error.")),
            );
        }
        _ => {}
    }
    Value::Object(out)
}
