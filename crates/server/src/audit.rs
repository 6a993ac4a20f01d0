//! The audit log over HTTP: `GET /api/v2/audit-log` (a userbridge extension, scope
//! `read:logs`), and [`record`], which every handler that starts a job or a run, or changes
//! documents and definitions, calls once its change is made.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use userbridge_store::{AuditEvent, Store};

use crate::auth::authorize;
use crate::error::ApiResult;
use crate::query_string::paged_list;
use crate::state::SharedState;

const READ: &[&str] = &["read:logs"];

/// Appends `event` to the audit log. The change it records is already made, so a failure
/// to record is logged (as an error) rather than undoing or failing the request.
pub fn record(store: &dyn Store, event: AuditEvent) {
    if let Err(e) = store.record_audit(&event) {
        tracing::error!(action = %event.action, target = %event.target, error = %e,
            "cannot record an audit event");
    }
}

fn event_json(event: &AuditEvent) -> Value {
    json!({
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    })
}

/// `GET /api/v2/audit-log?page&per_page&include_totals`: newest first; an array, or with
/// `include_totals=true` `{"events", "start", "limit", "total"}`, as the jobs list.
pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    paged_list(
        raw.as_deref(),
        state.store.clone(),
        "events",
        |store, start, limit| store.audit_events(start, limit),
        |store| store.count_audit_events(),
        event_json,
    )
    .await
}
