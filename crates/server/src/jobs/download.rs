//! Signed, expiring download links (`management-api.md` §9):
//! `{public_url}/exports/{id}/{file}?expires=<unix s>&signature=<hex HMAC-SHA256>`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio_util::io::ReaderStream;
use userbridge_model::{JobStatus, time};

use super::export;
use crate::error::{ApiError, ApiResult};
use crate::signing;
use crate::state::{AppState, SharedState, blocking};

/// What a link's signature covers.
fn signed_text(job_id: &str, file: &str, expires: i64) -> String {
    format!("{job_id}\n{file}\n{expires}")
}

/// A fresh link for a completed export job.
pub fn location(state: &AppState, job_id: &str, file: &str) -> String {
    let expires = time::unix_seconds() + state.config.download_link_lifetime.as_secs() as i64;
    let sig = signing::sign_hex(
        &state.signing_key,
        signed_text(job_id, file, expires).as_bytes(),
    );
    format!(
        "{}/exports/{job_id}/{file}?expires={expires}&signature={sig}",
        state.config.public_url
    )
}

#[derive(Debug, Deserialize)]
pub struct LinkParams {
    expires: Option<i64>,
    signature: Option<String>,
}

fn bad_signature() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_signature",
        "Signature expired or invalid",
    )
}

pub async fn download(
    State(state): State<SharedState>,
    Path((job_id, file)): Path<(String, String)>,
    Query(params): Query<LinkParams>,
) -> ApiResult<Response> {
    let (Some(expires), Some(sig)) = (params.expires, params.signature) else {
        return Err(bad_signature());
    };
    let signed = signed_text(&job_id, &file, expires);
    if !signing::verify_hex(&state.signing_key, signed.as_bytes(), &sig) {
        return Err(bad_signature());
    }
    if expires < time::unix_seconds() {
        return Err(bad_signature());
    }
    let store = state.store.clone();
    let id = job_id.clone();
    let job = blocking(move || Ok(store.job(&id)?)).await?;
    let job = job
        .filter(|j| j.status == JobStatus::Completed)
        .ok_or_else(ApiError::job_not_found)?;
    if export::file_name(&state, &job.spec) != file {
        return Err(ApiError::job_not_found());
    }
    let path = export::job_dir(&state, &job_id).join(&file);
    // The runner writes a regular file; anything else was put there by hand: never followed.
    let regular = tokio::fs::symlink_metadata(&path)
        .await
        .is_ok_and(|m| m.file_type().is_file());
    if !regular {
        return Err(ApiError::job_not_found());
    }
    let handle = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::job_not_found())?;
    let length = handle.metadata().await.map_err(ApiError::from)?.len();
    let mut response = Body::from_stream(ReaderStream::new(handle)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
