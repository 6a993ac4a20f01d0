//! Shared handling of multipart uploads.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::HeaderMap;

use crate::auth::{Caller, authorize};
use crate::error::ApiResult;
use crate::state::SharedState;

/// Reads and drops the rest of a multipart body before an error is answered, so a client that
/// is still sending gets the answer (a 413, a 400) instead of a reset connection. The route's
/// body limit bounds how much is read.
pub async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// Most bytes of a refused upload read before the refusal is answered: enough for a small
/// request to get its 401/403 rather than a reset connection, too few for a caller without
/// credentials to make the server read a large file.
const REFUSED_DRAIN_BYTES: usize = 1 << 20;

/// [`authorize`] for a route that takes a multipart upload: when the caller is refused, up to
/// [`REFUSED_DRAIN_BYTES`] of the body are read and dropped first (see [`drain`]).
pub async fn authorize_upload(
    state: &SharedState,
    headers: &HeaderMap,
    scopes: &'static [&'static str],
    multipart: &mut Result<Multipart, MultipartRejection>,
) -> ApiResult<Caller> {
    let refusal = match authorize(state, headers, scopes).await {
        Ok(caller) => return Ok(caller),
        Err(refusal) => refusal,
    };
    if let Ok(multipart) = multipart {
        let mut read = 0;
        'fields: while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = field.chunk().await {
                read += chunk.len();
                if read > REFUSED_DRAIN_BYTES {
                    break 'fields;
                }
            }
        }
    }
    Err(refusal)
}
