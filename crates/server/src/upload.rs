//! Shared handling of multipart uploads.

use axum::extract::Multipart;

/// Reads and drops the rest of a multipart body before an error is answered, so a client that
/// is still sending gets the answer (a 413, a 400) instead of a reset connection. The route's
/// body limit bounds how much is read.
pub async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}
