//! Who may call what: clients and their secrets (`clients`), the keys that sign access
//! tokens (`keys`), the tokens themselves (`jwt`), the OAuth endpoints (`oauth`: `/oauth/token`
//! with its failure budget in `attempts`, `/.well-known/jwks.json`), and the check of every
//! API request: a bearer token, or the web page's session cookie (`web::session`).

pub mod attempts;
pub mod clients;
pub mod jwt;
pub mod keys;
pub mod oauth;

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use userbridge_model::time;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState, blocking};

pub use clients::create_client;
pub use oauth::{jwks, token};

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

/// Hex SHA-256: how web session ids are kept at rest (they are 32 random bytes, so a plain
/// hash is enough).
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
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

/// The client of a `Bearer` token, if the token is valid and its client still exists.
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
    let state = state.clone();
    blocking(move || verified_caller(&state, &token)).await
}

/// Verifies a token (blocking: a key may have to be read from the store and its file).
fn verified_caller(state: &AppState, token: &str) -> ApiResult<Caller> {
    let refused = |refusal: jwt::Refusal| {
        tracing::debug!(?refusal, "bearer token refused");
        ApiError::unauthorized(refusal.message())
    };
    let now = time::unix_seconds();
    let lifetime = state.config.token_lifetime_seconds();
    let unverified = jwt::parse(token).map_err(refused)?;
    let key = state
        .keys
        .find(state.store.as_ref(), unverified.kid())?
        .filter(|key| keys::in_retention(&key.record, lifetime, now))
        .ok_or_else(|| refused(jwt::Refusal::UnknownKey))?;
    let issuer = state.config.issuer();
    let audience = state.config.audience();
    let claims = unverified
        .verify(
            &key,
            &jwt::Expected {
                issuer: &issuer,
                audience: &audience,
                now,
            },
        )
        .map_err(refused)?;
    // A token dies with its client: one primary-key read per request.
    if state.store.client(&claims.client_id)?.is_none() {
        return Err(refused(jwt::Refusal::UnknownClient));
    }
    Ok(Caller {
        client_id: claims.client_id,
        scopes: claims.scopes,
    })
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
