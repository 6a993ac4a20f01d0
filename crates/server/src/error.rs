//! The two error bodies the server speaks: the Management API's
//! `{statusCode, error, message, errorCode}` (`management-api.md` §3) and OAuth's
//! `{error, error_description}` on `/oauth/token` (§2.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Management API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Omitted on 401 (Auth0), which carries `attributes.error` instead.
    pub error_code: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            error_code: Some(code),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            error_code: None,
        }
    }

    pub fn bad_auth_header() -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: "Bad HTTP authentication header format".into(),
            error_code: None,
        }
    }

    pub fn insufficient_scope(scopes: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("Insufficient scope, expected any of: {}", scopes.join(",")),
        )
    }

    /// 400 `invalid_body`, Auth0's wording: `Payload validation error: '<what>' on property <p>`.
    pub fn invalid_body(property: &str, problem: &str) -> ApiError {
        let message = if property.is_empty() {
            format!("Payload validation error: '{problem}'")
        } else {
            format!("Payload validation error: '{problem}' on property {property}")
        };
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    pub fn invalid_query(property: &str, problem: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query_string",
            format!("Query validation error: '{problem}' on property {property}"),
        )
    }

    pub fn invalid_uri(property: &str, problem: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            format!("Path validation error: '{problem}' on property {property}"),
        )
    }

    pub fn user_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "inexistent_user",
            "The user does not exist.",
        )
    }

    pub fn connection_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "inexistent_connection",
            "The connection does not exist.",
        )
    }

    pub fn job_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "inexistent_job",
            "The job does not exist.",
        )
    }

    pub fn user_exists() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "auth0_idp_error",
            "The user already exists.",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
        )
    }
}

impl<E: std::error::Error> From<E> for ApiError {
    /// Unexpected failures become a 500; the cause is logged, never sent.
    fn from(err: E) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let body = match self.error_code {
            Some(code) => json!({
                "statusCode": self.status.as_u16(),
                "error": reason,
                "message": self.message,
                "errorCode": code,
            }),
            None if self.status == StatusCode::UNAUTHORIZED => json!({
                "statusCode": 401,
                "error": reason,
                "message": self.message,
                "attributes": { "error": self.message },
            }),
            None => json!({
                "statusCode": self.status.as_u16(),
                "error": reason,
                "message": self.message,
            }),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.message.replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An error of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Seconds, for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 429: the failure budget of a client or an address is spent (`auth::attempts`).
    pub fn too_many_attempts(retry_after: u64) -> Self {
        OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("Too many failed attempts; retry in {retry_after} seconds"),
            )
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
