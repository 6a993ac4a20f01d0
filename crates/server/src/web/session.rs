//! Sign-in of dashboard admins: `POST /web/login`, `GET /web/session`, `POST /web/logout`,
//! the `ub_session` cookie, and the CSRF rule every state-changing cookie request obeys.
//!
//! A session id is 32 random bytes (hex) that only the browser holds, in an `HttpOnly`,
//! `SameSite=Strict` cookie; the store keeps its SHA-256. Its CSRF token is derived from it
//! (HMAC under the server's signing key), so checking one needs no database read.

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use userbridge_model::time;
use userbridge_store::{AuditEvent, WebSession};

use crate::auth::{Caller, MANAGEMENT_SCOPES, digest};
use crate::error::{ApiError, ApiResult};
use crate::signing;
use crate::state::{AppState, SharedState, blocking};
use crate::web::admins;

/// Name of the session cookie.
pub const COOKIE: &str = "ub_session";

/// Header carrying the CSRF token of the session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The one state-changing route without a session yet, hence without a CSRF token.
pub const LOGIN_PATH: &str = "/web/login";

/// Prefix of a session caller's `client_id` (`dashboard:<username>`).
const CALLER_PREFIX: &str = "dashboard:";

/// The value of the `ub_session` cookie, if the request carries one (the first one).
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The CSRF token of a session: hex HMAC-SHA256 of `csrf:<session id>`.
pub fn csrf_token(key: &[u8], session_id: &str) -> String {
    signing::sign_hex(key, csrf_message(session_id).as_bytes())
}

/// True when `presented` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(key: &[u8], session_id: &str, presented: &str) -> bool {
    signing::verify_hex(key, csrf_message(session_id).as_bytes(), presented)
}

fn csrf_message(session_id: &str) -> String {
    format!("csrf:{session_id}")
}

fn invalid_session() -> ApiError {
    ApiError::unauthorized("Invalid session")
}

fn invalid_csrf() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_csrf_token",
        "Missing or invalid CSRF token",
    )
}

/// The live session of this id; 401 `Invalid session` when it is unknown or expired.
async fn live_session(state: &SharedState, session_id: &str) -> ApiResult<WebSession> {
    let store = state.store.clone();
    let key = digest(session_id);
    let session = blocking(move || Ok(store.web_session(&key)?)).await?;
    session
        .filter(|s| s.expires_at > time::unix_seconds())
        .ok_or_else(invalid_session)
}

/// The caller a session cookie stands for: its admin, holding every management scope.
pub(crate) async fn caller(state: &SharedState, session_id: &str) -> ApiResult<Caller> {
    let session = live_session(state, session_id).await?;
    Ok(Caller {
        client_id: format!("{CALLER_PREFIX}{}", session.username),
        scopes: MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect(),
    })
}

/// Middleware on the whole router: a state-changing request authenticated by the session
/// cookie (no `Authorization` header) must carry that session's CSRF token, or its handler
/// never runs. Bearer clients are not concerned: a browser cannot be made to send their
/// header to another site.
pub async fn require_csrf(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let allowed = safe
        || request.uri().path() == LOGIN_PATH
        || headers.contains_key(header::AUTHORIZATION)
        || session_cookie(headers).is_none_or(|session_id| {
            headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|token| csrf_matches(&state.signing_key, session_id, token))
        });
    if allowed {
        next.run(request).await
    } else {
        invalid_csrf().into_response()
    }
}

/// The origin (`scheme://host[:port]`, lower case, default port left out) of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let host = match authority.strip_suffix(default_port) {
        Some(host) if !default_port.is_empty() => host,
        _ => authority.as_str(),
    };
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// A login from a page of another origin is refused (login CSRF); requests without an
/// `Origin` header (non-browser clients, same-origin GETs) pass.
fn check_origin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let expected = origin_of(&state.config.public_url);
    let presented = origin.to_str().ok().and_then(origin_of);
    if presented.is_some() && presented == expected {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_origin",
            "Cross-origin request refused",
        ))
    }
}

/// The `Set-Cookie` value for a session id (`None`: clear the cookie).
fn cookie_header(state: &AppState, session_id: Option<&str>) -> Option<HeaderValue> {
    let secure = state
        .config
        .public_url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    let (value, max_age) = match session_id {
        Some(id) => (id, state.config.session_lifetime.as_secs()),
        None => ("", 0),
    };
    let mut cookie =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).ok()
}

/// The session's JSON (`/web/login`, `/web/session`): who is signed in, and the CSRF token
/// the page sends back on state-changing requests. Never cached.
fn session_body(state: &AppState, session_id: &str, username: &str) -> Response {
    let body = json!({
        "username": username,
        "csrf_token": csrf_token(&state.signing_key, session_id),
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// `POST /web/login`.
pub async fn login(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    check_origin(&state, &headers)?;
    let credentials: Credentials = serde_json::from_str(&body)
        .map_err(|e| ApiError::invalid_body("", &format!("Invalid JSON: {e}")))?;
    // Refused before the bcrypt check: a flood of guesses costs the server almost nothing.
    let address =
        crate::client_address::client_address(&state.config.trusted_proxies, peer, &headers);
    let attempt = match state
        .sign_in_attempts
        .admit(Some(&credentials.username), address)
    {
        Ok(attempt) => attempt,
        Err(retry_after) => return Ok(too_many_attempts(retry_after)),
    };
    let mut id = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    let session_id = hex::encode(id);
    let session = WebSession {
        username: credentials.username,
        created_at: time::now(),
        expires_at: time::unix_seconds().saturating_add(
            i64::try_from(state.config.session_lifetime.as_secs()).unwrap_or(i64::MAX),
        ),
    };
    let store = state.store.clone();
    let key = digest(&session_id);
    let signed_in = blocking(move || {
        let store = store.as_ref();
        let known = admins::check_password(store, &session.username, &credentials.password)?;
        if known {
            store.create_web_session(&key, &session)?;
        }
        // Who tried, from where; never the password.
        let (actor, action) = match known {
            true => (
                format!("{CALLER_PREFIX}{}", session.username),
                "admin.signed_in",
            ),
            false => ("anonymous".to_string(), "admin.sign_in_failed"),
        };
        let detail = json!({ "address": address.to_string() });
        crate::audit::record(
            store,
            AuditEvent::new(&actor, action, &session.username, detail),
        );
        Ok(known.then_some(session.username))
    })
    .await?;
    let Some(username) = signed_in else {
        state.sign_in_attempts.failed(attempt);
        return Err(ApiError::unauthorized("Wrong username or password"));
    };
    state.sign_in_attempts.succeeded(attempt);
    let mut response = session_body(&state, &session_id, &username);
    if let Some(cookie) = cookie_header(&state, Some(&session_id)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// 429 in Auth0's body shape, with `Retry-After` (seconds).
fn too_many_attempts(retry_after: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("Too many failed sign-ins; retry in {retry_after} seconds"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// `GET /web/session`: who the cookie signs in, with the CSRF token; 401 otherwise.
pub async fn current(State(state): State<SharedState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(session_id) = session_cookie(&headers) else {
        return Err(ApiError::unauthorized("Missing authentication"));
    };
    let session = live_session(&state, session_id).await?;
    Ok(session_body(&state, session_id, &session.username))
}

/// `POST /web/logout`: ends the session (if any) and clears the cookie.
pub async fn logout(State(state): State<SharedState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(session_id) = session_cookie(&headers) {
        let store = state.store.clone();
        let key = digest(session_id);
        blocking(move || Ok(store.delete_web_session(&key)?)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = cookie_header(&state, None) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn csrf_token_matches_only_its_session() {
        let token = csrf_token(KEY, "session-a");
        assert_eq!(token.len(), 64);
        assert!(csrf_matches(KEY, "session-a", &token));
        assert!(csrf_matches(KEY, "session-a", &token.to_uppercase()));
        assert!(!csrf_matches(KEY, "session-b", &token));
        assert!(!csrf_matches(b"another key", "session-a", &token));
        assert!(!csrf_matches(KEY, "session-a", &token[..62]));
        assert!(!csrf_matches(KEY, "session-a", &format!("{token}00")));
        assert!(!csrf_matches(KEY, "session-a", ""));
        assert!(!csrf_matches(KEY, "session-a", "not hex"));
        let mut flipped = token.into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!csrf_matches(
            KEY,
            "session-a",
            &String::from_utf8(flipped).unwrap()
        ));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        assert_eq!(session_cookie(&headers), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; ub_session=abc ; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("xub_session=abc"));
        assert_eq!(session_cookie(&headers), None);
        headers.append(header::COOKIE, HeaderValue::from_static("ub_session=def"));
        assert_eq!(session_cookie(&headers), Some("def"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080"),
            Some("http://127.0.0.1:8080".into())
        );
        assert_eq!(
            origin_of("HTTPS://Example.COM:443/base/"),
            Some("https://example.com".into())
        );
        assert_eq!(
            origin_of("http://example.com:80"),
            Some("http://example.com".into())
        );
        assert_eq!(
            origin_of("https://example.com:80"),
            Some("https://example.com:80".into())
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("http://"), None);
    }
}
