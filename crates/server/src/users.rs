//! `/api/v2/users`, `/api/v2/users/{id}`, `/api/v2/users-by-email` (`management-api.md` §4).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use userbridge_model::query::{self, Sort};
use userbridge_model::{User, time};
use userbridge_store::{Conflict, StoreError, UserSearch};

use std::sync::Arc;

use userbridge_import::engine::new_user;
use userbridge_import::validate::{ValidationLimits, validate};

use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::query_string::QueryString;
use crate::state::{SharedState, blocking};

const READ: &[&str] = &["read:users"];
const CREATE: &[&str] = &["create:users"];
const UPDATE: &[&str] = &["update:users", "update:users_app_metadata"];
const DELETE: &[&str] = &["delete:users"];

use userbridge_model::user::FORBIDDEN_APP_METADATA_KEYS;

/// The profile JSON, narrowed by `fields`/`include_fields`.
fn render(user: &User, fields: &Option<(Vec<String>, bool)>) -> Value {
    let value = serde_json::to_value(user.profile()).unwrap_or(Value::Null);
    match (fields, value) {
        (Some((names, include)), Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| names.contains(k) == *include)
                .collect(),
        ),
        (_, value) => value,
    }
}

fn fields_param(q: &mut QueryString) -> ApiResult<Option<(Vec<String>, bool)>> {
    let include = q.bool("include_fields")?.unwrap_or(true);
    Ok(q.take("fields").filter(|f| !f.is_empty()).map(|f| {
        (
            f.split(',').map(|s| s.trim().to_string()).collect(),
            include,
        )
    }))
}

pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut q = QueryString::parse(raw.as_deref())?;
    let paging = q.paging()?;
    let fields = fields_param(&mut q)?;
    let query = match q.take("q") {
        Some(text) if !text.trim().is_empty() => {
            Some(query::parse(&text).map_err(|e| ApiError::invalid_query("q", &e.to_string()))?)
        }
        _ => None,
    };
    let sort = q
        .take("sort")
        .map(|s| Sort::parse(&s).map_err(|e| ApiError::invalid_query("sort", &e.to_string())))
        .transpose()?;
    let connection = q.take("connection");
    if let Some(engine) = q.take("search_engine")
        && !matches!(engine.as_str(), "v1" | "v2" | "v3")
    {
        return Err(ApiError::invalid_query(
            "search_engine",
            "must be one of v1, v2, v3",
        ));
    }
    q.bool("primary_order")?;
    q.finish()?;

    let store = state.store.clone();
    let search = UserSearch {
        query,
        connection,
        sort,
        offset: paging.start(),
        limit: paging.per_page,
    };
    let (users, total) = blocking(move || {
        let users = store.search_users(&search)?;
        let total = if paging.include_totals {
            Some(store.count_users(search.query.as_ref(), search.connection.as_deref())?)
        } else {
            None
        };
        Ok((users, total))
    })
    .await?;
    let users: Vec<Value> = users.iter().map(|u| render(u, &fields)).collect();
    Ok(match total {
        Some(total) => Json(json!({
            "start": paging.start(),
            "limit": paging.per_page,
            "length": users.len(),
            "users": users,
            "total": total,
        }))
        .into_response(),
        None => Json(users).into_response(),
    })
}

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, READ).await?;
    let mut q = QueryString::parse(raw.as_deref())?;
    let fields = fields_param(&mut q)?;
    q.finish()?;
    let store = state.store.clone();
    let user = blocking(move || Ok(store.user(&id)?)).await?;
    let user = user.ok_or_else(ApiError::user_not_found)?;
    Ok(Json(render(&user, &fields)))
}

pub async fn by_email(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, READ).await?;
    let mut q = QueryString::parse(raw.as_deref())?;
    let fields = fields_param(&mut q)?;
    let email = q
        .take("email")
        .ok_or_else(|| ApiError::invalid_query("email", "Missing required property: email"))?;
    q.finish()?;
    let email = email.trim().to_lowercase();
    let store = state.store.clone();
    let users = blocking(move || Ok(store.users_by_email(&email)?)).await?;
    Ok(Json(Value::Array(
        users.iter().map(|u| render(u, &fields)).collect(),
    )))
}

pub async fn delete(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    authorize(&state, &headers, DELETE).await?;
    let store = state.store.clone();
    blocking(move || Ok(store.delete_user(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    authorize(&state, &headers, CREATE).await?;
    let body = parse_object(&body)?;
    const ALLOWED: &[&str] = &[
        "connection",
        "email",
        "password",
        "user_id",
        "username",
        "email_verified",
        "phone_verified",
        "blocked",
        "verify_email",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
        "phone_number",
        "user_metadata",
        "app_metadata",
    ];
    check_allowed(&body, ALLOWED)?;
    let connection_name = string(&body, "connection")?.ok_or_else(|| {
        ApiError::invalid_body("connection", "Missing required property: connection")
    })?;
    let password = string(&body, "password")?;
    if let Some(p) = &password
        && (p.is_empty() || p.len() > 72)
    {
        return Err(ApiError::invalid_body(
            "password",
            "String length must be 1 to 72 bytes",
        ));
    }
    boolean(&body, "verify_email")?;
    // The profile itself follows the bulk-import schema: one validator, and one set of
    // defaults (name, nickname, picture), for users created here and users imported.
    let mut profile = body;
    for key in ["connection", "password", "verify_email"] {
        profile.remove(key);
    }
    let valid =
        validate(&Value::Object(profile), &ValidationLimits::default()).map_err(|errors| {
            let first = errors.first();
            ApiError::invalid_body(
                first.map_or("", |e| e.path.as_str()),
                first.map_or("invalid user", |e| e.message.as_str()),
            )
        })?;
    let mut user = new_user(valid, None, &Arc::from(""), &time::now());

    let store = state.store.clone();
    let user = blocking(move || {
        let connection = store.connection_by_name(&connection_name)?.ok_or_else(|| {
            ApiError::invalid_body(
                "connection",
                &format!("The connection does not exist: {connection_name}"),
            )
        })?;
        if let Some(p) = password {
            user.password_hash = Some(bcrypt::hash(p, 10)?);
        }
        user.connection = connection.name.as_str().into();
        match store.insert_users(&connection.id, std::slice::from_ref(&user)) {
            Err(StoreError::Conflict(_)) => Err(ApiError::user_exists()),
            other => other.map_err(ApiError::from),
        }?;
        Ok(user)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(render(&user, &None))).into_response())
}

pub async fn patch(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> ApiResult<Json<Value>> {
    let body = parse_object(&body)?;
    // Auth0: update:users_app_metadata is enough for a metadata-only change.
    let metadata_only = body
        .keys()
        .all(|k| k == "app_metadata" || k == "user_metadata")
        && !body.is_empty();
    let caller = authorize(&state, &headers, UPDATE).await?;
    if !metadata_only && !caller.scopes.iter().any(|s| s == "update:users") {
        return Err(ApiError::insufficient_scope(&["update:users"]));
    }
    const ALLOWED: &[&str] = &[
        "blocked",
        "email_verified",
        "email",
        "phone_number",
        "phone_verified",
        "user_metadata",
        "app_metadata",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
        "verify_email",
        "verify_phone_number",
        "password",
        "connection",
        "client_id",
        "username",
    ];
    check_allowed(&body, ALLOWED)?;
    if body.is_empty() {
        return Err(ApiError::invalid_body("", "Payload must not be empty"));
    }
    let password = string(&body, "password")?;
    let store = state.store.clone();
    let user = blocking(move || {
        let mut user = store.user(&id)?.ok_or_else(ApiError::user_not_found)?;
        let before = render(&user, &None);
        if let Some(email) = string(&body, "email")? {
            let email = checked_email(&email)?;
            if user.email.as_deref() != Some(email.as_str()) {
                user.email = Some(email);
                user.email_verified = false;
            }
        }
        if let Some(v) = boolean(&body, "email_verified")? {
            user.email_verified = v;
        }
        if let Some(v) = boolean(&body, "blocked")? {
            user.blocked = Some(v);
        }
        if let Some(v) = boolean(&body, "phone_verified")? {
            user.phone_verified = Some(v);
        }
        boolean(&body, "verify_email")?;
        boolean(&body, "verify_phone_number")?;
        string(&body, "connection")?;
        string(&body, "client_id")?;
        apply_profile_fields(&mut user, &body)?;
        if let Some(username) = string(&body, "username")? {
            user.username = Some(checked_username(&username)?);
        }
        user.user_metadata = merged(user.user_metadata.take(), metadata(&body, "user_metadata")?)?;
        user.app_metadata = merged(user.app_metadata.take(), metadata(&body, "app_metadata")?)?;
        if let Some(p) = password {
            if p.is_empty() || p.len() > 72 {
                return Err(ApiError::invalid_body(
                    "password",
                    "String length must be 1 to 72 bytes",
                ));
            }
            user.password_hash = Some(bcrypt::hash(p, 10)?);
        }
        if render(&user, &None) != before {
            user.updated_at = time::now();
        }
        match store.update_user(&user) {
            Err(StoreError::Conflict(Conflict::Email | Conflict::Username | Conflict::UserId)) => {
                Err(ApiError::user_exists())
            }
            other => other.map_err(ApiError::from),
        }?;
        Ok(user)
    })
    .await?;
    Ok(Json(render(&user, &None)))
}

/// Root-level merge (`management-api.md` §4.4): each key replaces, `null` deletes, `{}` clears.
fn merged(
    stored: Option<Box<RawValue>>,
    patch: Option<Option<Box<RawValue>>>,
) -> ApiResult<Option<Box<RawValue>>> {
    let Some(patch) = patch else {
        return Ok(stored);
    };
    let Some(patch) = patch else { return Ok(None) };
    let patch: Map<String, Value> = serde_json::from_str(patch.get())?;
    let mut map: Map<String, Value> = match &stored {
        Some(raw) => serde_json::from_str(raw.get())?,
        None => Map::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            map.shift_remove(&key);
        } else {
            map.insert(key, value);
        }
    }
    to_raw(map)
}

fn to_raw(map: Map<String, Value>) -> ApiResult<Option<Box<RawValue>>> {
    if map.is_empty() {
        return Ok(None);
    }
    Ok(Some(RawValue::from_string(serde_json::to_string(&map)?)?))
}

fn parse_object(body: &str) -> ApiResult<Map<String, Value>> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_body("", "Expected type object")),
        Err(e) => Err(ApiError::invalid_body("", &format!("Invalid JSON: {e}"))),
    }
}

fn check_allowed(body: &Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_body(
            &unknown.join(", "),
            "Additional properties not allowed",
        ))
    }
}

fn string(body: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_body(key, "Expected type string")),
    }
}

fn boolean(body: &Map<String, Value>, key: &str) -> ApiResult<Option<bool>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid_body(key, "Expected type boolean")),
    }
}

/// `Some(None)` when the body clears the metadata (`{}`), `None` when absent.
fn metadata(body: &Map<String, Value>, key: &str) -> ApiResult<Option<Option<Box<RawValue>>>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Object(map)) => {
            check_metadata_keys(map, key)?;
            if key == "app_metadata"
                && let Some(bad) = map
                    .keys()
                    .find(|k| FORBIDDEN_APP_METADATA_KEYS.contains(&k.as_str()))
            {
                return Err(ApiError::invalid_body(
                    &format!("app_metadata.{bad}"),
                    &format!("app_metadata: forbidden attribute \"{bad}\""),
                ));
            }
            Ok(Some(to_raw(map.clone())?))
        }
        Some(_) => Err(ApiError::invalid_body(key, "Expected type object")),
    }
}

/// Metadata keys must not contain `.` at any depth (Auth0's rule).
fn check_metadata_keys(map: &Map<String, Value>, path: &str) -> ApiResult<()> {
    for (key, value) in map {
        let here = format!("{path}.{key}");
        if key.contains('.') {
            return Err(ApiError::invalid_body(
                &here,
                "Metadata keys must not contain '.'",
            ));
        }
        match value {
            Value::Object(inner) => check_metadata_keys(inner, &here)?,
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        check_metadata_keys(inner, &here)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn apply_profile_fields(user: &mut User, body: &Map<String, Value>) -> ApiResult<()> {
    for (key, max, slot) in [
        ("given_name", 150, &mut user.given_name),
        ("family_name", 150, &mut user.family_name),
        ("name", 150, &mut user.name),
        ("nickname", 350, &mut user.nickname),
        ("picture", 2048, &mut user.picture),
    ] {
        if let Some(value) = string(body, key)? {
            let len = value.chars().count();
            if len == 0 || len > max {
                return Err(ApiError::invalid_body(
                    key,
                    &format!("String length must be 1 to {max} characters"),
                ));
            }
            *slot = Some(value);
        }
    }
    if let Some(phone) = string(body, "phone_number")? {
        let digits = phone.strip_prefix('+').unwrap_or("");
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid_body(
                "phone_number",
                "String does not match pattern ^\\+[0-9]{1,15}$",
            ));
        }
        user.phone_number = Some(phone);
    }
    Ok(())
}

/// Lower-cased, syntax-checked email (`user-schema.md` §3.1).
pub fn checked_email(email: &str) -> ApiResult<String> {
    let bad = || ApiError::invalid_body("email", "Object didn't pass validation for format email");
    if email.len() > 254 || email.trim() != email {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    let valid = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(bad())
    }
}

fn checked_username(username: &str) -> ApiResult<String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "@`^$!-#.+'~_".contains(c);
    if username.is_empty() || username.len() > 128 || !username.chars().all(ok_char) {
        return Err(ApiError::invalid_body(
            "username",
            "String does not match the username rules",
        ));
    }
    if checked_email(username).is_ok() {
        return Err(ApiError::invalid_body(
            "username",
            "A username must not be an email address",
        ));
    }
    Ok(username.to_lowercase())
}
