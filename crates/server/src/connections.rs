//! `/api/v2/connections` (`management-api.md` §6).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use userbridge_model::Connection;

use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::query_string::QueryString;
use crate::state::{SharedState, blocking};

const READ: &[&str] = &["read:connections"];

fn render(c: &Connection) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "display_name": c.name,
        "strategy": "auth0",
        "options": {},
        "realms": [c.name],
        "enabled_clients": [],
        "is_domain_connection": false,
    })
}

fn narrowed(value: Value, fields: &Option<(Vec<String>, bool)>) -> Value {
    match (fields, value) {
        (Some((names, include)), Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| names.contains(k) == *include)
                .collect(),
        ),
        (_, v) => v,
    }
}

pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, READ).await?;
    let mut q = QueryString::parse(raw.as_deref())?;
    let page = q.integer("page", 0, u32::MAX as u64)?.unwrap_or(0);
    let per_page = q.integer("per_page", 1, 100)?.unwrap_or(50);
    let include_totals = q.bool("include_totals")?.unwrap_or(false);
    let include = q.bool("include_fields")?.unwrap_or(true);
    let fields = q.take("fields").filter(|f| !f.is_empty()).map(|f| {
        (
            f.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>(),
            include,
        )
    });
    // Every userbridge connection is a database (`auth0`) connection.
    let strategy_ok = q
        .take("strategy")
        .is_none_or(|s| s.split(',').any(|s| s.trim() == "auth0"));
    let name = q.take("name");
    let from = q.take("from");
    let take = q.integer("take", 1, 100)?;
    q.finish()?;

    let store = state.store.clone();
    let mut all = blocking(move || Ok(store.connections()?)).await?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.retain(|c| strategy_ok && name.as_ref().is_none_or(|n| *n == c.name));
    if let Some(take) = take {
        let start = from.as_ref().map_or(0, |f| {
            all.iter().position(|c| c.id > *f).unwrap_or(all.len())
        });
        let page: Vec<&Connection> = all.iter().skip(start).take(take as usize).collect();
        let mut body = json!({
            "connections": page.iter().map(|c| narrowed(render(c), &fields)).collect::<Vec<_>>()
        });
        if start + page.len() < all.len()
            && let Some(last) = page.last()
        {
            body["next"] = Value::String(last.id.clone());
        }
        return Ok(Json(body));
    }
    let total = all.len();
    let items: Vec<Value> = all
        .iter()
        .skip((page * per_page) as usize)
        .take(per_page as usize)
        .map(|c| narrowed(render(c), &fields))
        .collect();
    Ok(Json(if include_totals {
        json!({ "total": total, "start": page * per_page, "limit": per_page, "connections": items })
    } else {
        Value::Array(items)
    }))
}

pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    authorize(&state, &headers, READ).await?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.connection_by_id(&id)?)).await?;
    Ok(Json(render(
        &found.ok_or_else(ApiError::connection_not_found)?,
    )))
}
