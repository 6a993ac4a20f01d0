//! Limits every request shares, applied before any handler runs (issue 6):
//!
//! * a request body that sends nothing for `--upload-idle-timeout` is cut off, and the
//!   request is answered 408 whatever its handler made of the broken body (the handlers
//!   remove what a failed upload left, so nothing stays on disk);
//! * a body that is not multipart (uploads have their own caps) is read up to
//!   `--max-body-bytes` (413 beyond), and when it is JSON, checked for nesting depth
//!   (`--max-json-depth`) and string length (`--max-json-string-bytes`) before it is parsed
//!   (400): a handler never parses a hostile body;
//! * a 413 from an extractor (plain text) is answered in Auth0's body shape.
//!
//! Errors use the Management API body, except on `/oauth/…`, which speaks OAuth's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::{ApiError, OAuthError};
use crate::state::SharedState;

/// A request body that fails once it has been waited on for `idle` without a byte arriving,
/// or when, over `idle` of waiting, fewer than `min_rate` bytes a second arrived (a trickle).
struct IdleTimeout {
    inner: Body,
    idle: Duration,
    /// Armed while the reader waits for data; `None` between reads, so a handler that reads
    /// late is not blamed on the client.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: Arc<AtomicBool>,
    min_rate: u64,
    /// The current rate window: time spent waiting on the client and bytes it sent.
    waiting_since: Option<tokio::time::Instant>,
    waited: Duration,
    window_bytes: u64,
}

impl IdleTimeout {
    fn new(inner: Body, idle: Duration, min_rate: u64, timed_out: Arc<AtomicBool>) -> IdleTimeout {
        IdleTimeout {
            inner,
            idle,
            deadline: None,
            timed_out,
            min_rate,
            waiting_since: None,
            waited: Duration::ZERO,
            window_bytes: 0,
        }
    }

    /// Counts a frame that arrived; false when the window that just closed was too slow.
    fn fast_enough(&mut self, bytes: u64) -> bool {
        if let Some(since) = self.waiting_since.take() {
            self.waited += since.elapsed();
        }
        self.window_bytes += bytes;
        if self.min_rate == 0 || self.waited < self.idle {
            return true;
        }
        let wanted = self.min_rate.saturating_mul(self.waited.as_secs().max(1));
        let fast = self.window_bytes >= wanted;
        self.waited = Duration::ZERO;
        self.window_bytes = 0;
        fast
    }
}

impl HttpBody for IdleTimeout {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline = None;
                let bytes = match &frame {
                    Some(Ok(f)) => f.data_ref().map_or(0, |d| d.len() as u64),
                    _ => 0,
                };
                if !this.fast_enough(bytes) {
                    this.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(axum::Error::new(
                        "the request body arrived too slowly",
                    ))));
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if this.waiting_since.is_none() {
                    this.waiting_since = Some(tokio::time::Instant::now());
                }
                let idle = this.idle;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.timed_out.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(axum::Error::new("the request body stalled"))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// One limit refused: the status, the Auth0 `errorCode` (or OAuth `error`) and the message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn into_response(self, oauth: bool) -> Response {
        if oauth {
            let error = match self.status {
                StatusCode::BAD_REQUEST => "invalid_request",
                _ => self.code,
            };
            OAuthError::new(self.status, error, self.message).into_response()
        } else {
            ApiError::new(self.status, self.code, self.message).into_response()
        }
    }
}

fn too_large(limit: u64) -> Refusal {
    Refusal {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "payload_too_large",
        message: format!("Payload too large: the request body exceeds {limit} bytes"),
    }
}

fn stalled(idle: Duration) -> Refusal {
    Refusal {
        status: StatusCode::REQUEST_TIMEOUT,
        code: "request_timeout",
        message: format!(
            "Request timeout: the request body sent nothing for {} seconds, or trickled slower \
             than the minimum upload rate",
            idle.as_secs()
        ),
    }
}

fn invalid_json(problem: String) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_body",
        message: format!("Payload validation error: '{problem}'"),
    }
}

/// Multipart bodies are uploads: streamed by their handlers under their own caps.
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// Checks the nesting depth and string lengths of a JSON text without parsing it (one pass,
/// no recursion). Anything that is not JSON is left for the handler's parser to refuse.
pub(crate) fn check_json(text: &[u8], max_depth: usize, max_string: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            if in_string && i + 1 - string_start > max_string {
                return Err(format!(
                    "a string starting at byte {string_start} is longer than {max_string} bytes"
                ));
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i + 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(format!(
                        "JSON nested deeper than {max_depth} levels (at byte {i})"
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The middleware: see the module documentation.
pub async fn limit_requests(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let config = &state.config;
    let oauth = request.uri().path().starts_with("/oauth/");
    let timed_out = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let body = IdleTimeout::new(
        body,
        config.upload_idle_timeout,
        config.upload_min_rate,
        timed_out.clone(),
    );
    let request = if is_multipart(&parts.headers) {
        Request::from_parts(parts, Body::new(body))
    } else {
        let bytes = match read_capped(body, config.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(refusal) => {
                let refusal = match timed_out.load(Ordering::Relaxed) {
                    true => stalled(config.upload_idle_timeout),
                    false => refusal,
                };
                return refusal.into_response(oauth);
            }
        };
        let looks_like_json = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['));
        if looks_like_json
            && let Err(problem) =
                check_json(&bytes, config.max_json_depth, config.max_json_string_bytes)
        {
            return invalid_json(problem).into_response(oauth);
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    let response = next.run(request).await;
    if timed_out.load(Ordering::Relaxed) {
        return stalled(config.upload_idle_timeout).into_response(oauth);
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        // An extractor's plain-text refusal (a multipart body on a JSON route).
        return too_large(config.max_body_bytes).into_response(oauth);
    }
    response
}

/// The whole body, refused past `limit` bytes (or when it fails or stalls).
async fn read_capped(mut body: IdleTimeout, limit: u64) -> Result<Bytes, Refusal> {
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message: "Payload validation error: 'the request body could not be read'".into(),
        })?;
        if let Ok(data) = frame.into_data() {
            if (buffer.len() + data.len()) as u64 > limit {
                return Err(too_large(limit));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::check_json;

    #[test]
    fn json_depth_and_strings_are_checked_without_parsing() {
        assert!(check_json(br#"{"a":[1,{"b":"c"}]}"#, 3, 10).is_ok());
        let deep = format!("{}{}", "[".repeat(4), "]".repeat(4));
        assert!(check_json(deep.as_bytes(), 4, 10).is_ok());
        let err = check_json(deep.as_bytes(), 3, 10).unwrap_err();
        assert!(err.contains("deeper than 3 levels"), "{err}");
        // Brackets inside strings do not count; escaped quotes do not end a string.
        assert!(check_json(br#"["[[[[", "a\"[[["]"#, 1, 10).is_ok());
        let err = check_json(br#"{"k": "12345678901"}"#, 5, 10).unwrap_err();
        assert!(err.contains("longer than 10 bytes"), "{err}");
        assert!(check_json(br#"{"k": "1234567890"}"#, 5, 10).is_ok());
        // A million levels: one pass, no recursion.
        let bomb = "[".repeat(1 << 20);
        assert!(check_json(bomb.as_bytes(), 64, 10).is_err());
    }
}
