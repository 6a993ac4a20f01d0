//! Signed, expiring download links (`management-api.md` §9):
//! `{public_url}/exports/{id}/{file}?expires=<unix s>&signature=<hex HMAC-SHA256>`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio_util::io::ReaderStream;
use userbridge_model::{JobStatus, time};

use super::export;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState, blocking};

fn signature(key: &[u8], job_id: &str, file: &str, expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("{job_id}\n{file}\n{expires}").as_bytes());
    Some(mac)
}

/// A fresh link for a completed export job.
pub fn location(state: &AppState, job_id: &str, file: &str) -> String {
    let expires = time::unix_seconds() + state.config.download_link_lifetime.as_secs() as i64;
    let sig = signature(&state.signing_key, job_id, file, expires)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
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
    let sig = hex::decode(sig).map_err(|_| bad_signature())?;
    let mac = signature(&state.signing_key, &job_id, &file, expires).ok_or_else(bad_signature)?;
    // verify_slice compares in constant time.
    mac.verify_slice(&sig).map_err(|_| bad_signature())?;
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
