//! Clients, the client-credentials token endpoint, and the check of every API request: a
//! bearer token, or the web page's session cookie (`web::session`).
//!
//! Access tokens are opaque random strings; only their SHA-256 is stored. (Signed JWTs
//! with published keys are the security issue's work; SDKs treat tokens as opaque.)

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use userbridge_model::{ids, time};
use userbridge_store::{AccessToken, Client, Store};

use crate::error::{ApiError, ApiResult, OAuthError};
use crate::state::{SharedState, blocking};

/// Every Management API scope a userbridge route checks, plus the ones clients may
/// hold without any route requiring them.
pub const MANAGEMENT_SCOPES: [&str; 10] = [
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "update:users_app_metadata",
    "read:connections",
    "create:passwords_checking_job",
    "campaign:read",
    "campaign:write",
    "read:logs",
];

/// Hex SHA-256, for secrets and tokens at rest.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two hex digests.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new client with the given scopes; returns it and its secret (shown once).
pub fn create_client(
    store: &dyn Store,
    name: &str,
    scopes: &[&str],
) -> userbridge_store::Result<(Client, String)> {
    let secret = ids::new_secret();
    let client = Client {
        client_id: ids::new_client_id(),
        name: name.to_string(),
        secret_hash: digest(&secret),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        created_at: time::now(),
    };
    store.create_client(&client)?;
    Ok((client, secret))
}

/// Who is calling: the client and the scopes its token carries.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Checks the caller and that it holds any of `scopes` (`management-api.md` §2.2–2.3).
/// The caller is the bearer token's client or, when there is no `Authorization` header, the
/// dashboard admin of the `ub_session` cookie (holding every management scope).
pub async fn authorize(
    state: &SharedState,
    headers: &HeaderMap,
    scopes: &'static [&'static str],
) -> ApiResult<Caller> {
    let caller = match headers.get(header::AUTHORIZATION) {
        Some(value) => bearer_caller(state, value).await?,
        None => match crate::web::session::session_cookie(headers) {
            Some(session_id) => crate::web::session::caller(state, session_id).await?,
            None => return Err(ApiError::unauthorized("Missing authentication")),
        },
    };
    if !scopes
        .iter()
        .any(|s| caller.scopes.iter().any(|have| have == s))
    {
        return Err(ApiError::insufficient_scope(scopes));
    }
    Ok(caller)
}

/// The client of a `Bearer` token, if the token is known and live.
async fn bearer_caller(state: &SharedState, value: &header::HeaderValue) -> ApiResult<Caller> {
    let value = value.to_str().map_err(|_| ApiError::bad_auth_header())?;
    let token = match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim().to_string()
        }
        _ => return Err(ApiError::bad_auth_header()),
    };
    let store = state.store.clone();
    let found = blocking(move || Ok(store.token(&digest(&token))?)).await?;
    let Some(found) = found else {
        return Err(ApiError::unauthorized("Invalid token"));
    };
    if found.expires_at <= time::unix_seconds() {
        return Err(ApiError::unauthorized(
            "Expired token received for JSON Web Token validation",
        ));
    }
    Ok(Caller {
        client_id: found.client_id,
        scopes: found.scopes,
    })
}

/// `POST /oauth/token`: JSON or form body; secret in the body or HTTP Basic.
pub async fn token(State(state): State<SharedState>, headers: HeaderMap, body: String) -> Response {
    match issue_token(&state, &headers, &body).await {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

fn parse_params(
    headers: &HeaderMap,
    body: &str,
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let bad = || {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is malformed",
        )
    };
    if is_json {
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(bad()),
        }
    } else {
        let mut map = serde_json::Map::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(
                form_decode(k).ok_or_else(bad)?,
                Value::String(form_decode(v).ok_or_else(bad)?),
            );
        }
        Ok(map)
    }
}

/// Decodes one `application/x-www-form-urlencoded` component.
pub(crate) fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn issue_token(
    state: &SharedState,
    headers: &HeaderMap,
    body: &str,
) -> Result<Value, OAuthError> {
    let params = parse_params(headers, body)?;
    let text = |name: &str| params.get(name).and_then(Value::as_str).map(str::to_string);
    let missing = |name: &str| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Missing required parameter: {name}"),
        )
    };
    let grant_type = text("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(a, b)| (form_decode(a), form_decode(b)))
        })
        .and_then(|(a, b)| Some((a?, b?)));
    let (client_id, client_secret) = match (text("client_id"), text("client_secret"), basic) {
        (Some(id), Some(secret), _) => (id, secret),
        (_, _, Some(pair)) => pair,
        (None, _, None) => return Err(missing("client_id")),
        (Some(_), None, None) => return Err(missing("client_secret")),
    };
    let audience = text("audience").ok_or_else(|| missing("audience"))?;

    let store = state.store.clone();
    let lookup_id = client_id.clone();
    let client = tokio::task::spawn_blocking(move || store.client(&lookup_id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let denied = || OAuthError::new(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    let client = client.ok_or_else(denied)?;
    if !same_digest(&client.secret_hash, &digest(&client_secret)) {
        return Err(denied());
    }
    if audience != state.config.audience() {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!("Service not found: {audience}"),
        ));
    }
    let granted: Vec<String> = match text("scope") {
        Some(asked) if !asked.trim().is_empty() => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_string).collect();
            let missing: Vec<&str> = asked
                .iter()
                .filter(|s| !client.scopes.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(OAuthError::new(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    format!("Client has not been granted scopes: {}", missing.join(" ")),
                ));
            }
            asked
        }
        _ => client.scopes.clone(),
    };
    let token = ids::new_secret();
    let lifetime = state.config.token_lifetime.as_secs() as i64;
    let record = AccessToken {
        client_id: client.client_id.clone(),
        scopes: granted.clone(),
        expires_at: time::unix_seconds() + lifetime,
    };
    let store = state.store.clone();
    let hash = digest(&token);
    tokio::task::spawn_blocking(move || {
        let _ = store.purge_tokens(time::unix_seconds());
        store.insert_token(&hash, &record)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error",
        )
    })?;
    Ok(json!({
        "access_token": token,
        "scope": granted.join(" "),
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}
