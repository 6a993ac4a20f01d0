//! The OAuth endpoints: `POST /oauth/token` (client credentials, `management-api.md` §2.1)
//! and `GET /.well-known/jwks.json` (the public keys that verify its tokens).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use userbridge_model::time;

use super::clients::{self, SecretCheck};
use super::{form_decode, jwt, keys};
use crate::error::{ApiResult, OAuthError};
use crate::state::{AppState, SharedState, blocking};

/// `POST /oauth/token`: JSON or form body; secret in the body or HTTP Basic.
pub async fn token(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match issue_token(&state, peer, &headers, &body).await {
        Ok(body) => {
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /.well-known/jwks.json`: every key that may verify a live token, current first or
/// not (order carries no meaning), each with its `kid`.
pub async fn jwks(State(state): State<SharedState>) -> ApiResult<Response> {
    let keys_state = state.clone();
    let keys = blocking(move || Ok(keys_state.keys.refresh(keys_state.store.as_ref())?)).await?;
    let lifetime = state.config.token_lifetime_seconds();
    let now = time::unix_seconds();
    let keys: Vec<&Value> = keys
        .iter()
        .filter(|key| keys::in_retention(&key.record, lifetime, now))
        .map(|key| key.jwk())
        .collect();
    let mut response = Json(json!({ "keys": keys })).into_response();
    // Short, so verifiers see a rotation soon; they also refetch on an unknown kid.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
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

/// `client_id:client_secret` of an HTTP Basic header, each part form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(raw).ok()?;
    let (id, secret) = pair.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn internal() -> OAuthError {
    OAuthError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "Internal error",
    )
}

async fn issue_token(
    state: &SharedState,
    peer: SocketAddr,
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
    let (client_id, client_secret) = match (
        text("client_id"),
        text("client_secret"),
        basic_credentials(headers),
    ) {
        (Some(id), Some(secret), _) => (id, secret),
        (_, _, Some(pair)) => pair,
        (None, _, None) => return Err(missing("client_id")),
        (Some(_), None, None) => return Err(missing("client_secret")),
    };
    let audience = text("audience").ok_or_else(|| missing("audience"))?;

    let store = state.store.clone();
    let lookup_id = client_id.clone();
    let client = blocking(move || Ok(store.client(&lookup_id)?))
        .await
        .map_err(|_| internal())?;
    // Refused here, a flood of wrong secrets never reaches argon2.
    let attempt = state
        .attempts
        .admit(
            client.as_ref().map(|c| c.client_id.as_str()),
            crate::client_address::client_address(&state.config.trusted_proxies, peer, headers),
        )
        .map_err(OAuthError::too_many_attempts)?;
    let check = {
        // At most one argon2 check per core at a time: memory (19 MiB each) and CPU stay
        // bounded whatever the number of addresses sending.
        let _permit = state
            .secret_checks
            .acquire()
            .await
            .map_err(|_| internal())?;
        let stored = client
            .as_ref()
            .map(|c| (c.client_id.clone(), c.secret_hash.clone()));
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || {
            let hash = stored.as_ref().map(|(_, hash)| hash.as_str());
            let check = clients::check_secret(hash, &client_secret);
            if let (SecretCheck::RightButLegacy, Some((id, _))) = (check, &stored) {
                // The secret is known to be right: keep it as argon2id from now on. A
                // failure here only leaves the old hash for the next request.
                let rehashed = clients::hash_secret(&client_secret)
                    .and_then(|hash| Ok(store.set_client_secret_hash(id, &hash)?));
                if let Err(e) = rehashed {
                    tracing::warn!(error = %e, "cannot rehash a client secret");
                }
            }
            check
        })
        .await
        .map_err(|_| internal())?
    };
    let denied = || OAuthError::new(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    let client = match (client, check) {
        (Some(client), SecretCheck::Right | SecretCheck::RightButLegacy) => client,
        _ => {
            state.attempts.failed(attempt);
            return Err(denied());
        }
    };
    state.attempts.succeeded(attempt);
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
    let lifetime = state.config.token_lifetime_seconds();
    let signing_state = state.clone();
    let scopes = granted.clone();
    let access_token = blocking(move || {
        Ok(sign(
            &signing_state,
            &client.client_id,
            &scopes,
            time::unix_seconds(),
        )?)
    })
    .await
    .map_err(|_| internal())?;
    Ok(json!({
        "access_token": access_token,
        "scope": granted.join(" "),
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}

/// A token for `client_id` signed by the current key (blocking: store read, RSA signature).
fn sign(
    state: &AppState,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<String, crate::ServerError> {
    let key = state.keys.current(state.store.as_ref())?;
    let issuer = state.config.issuer();
    let audience = state.config.audience();
    Ok(jwt::encode(
        &key,
        &jwt::NewToken {
            issuer: &issuer,
            audience: &audience,
            client_id,
            scopes,
            issued_at: now,
            expires_at: now.saturating_add(state.config.token_lifetime_seconds()),
        },
    ))
}
