//! Strict query-string parsing: every parameter must be known, every value well-formed.

use std::collections::BTreeMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

pub struct QueryString(BTreeMap<String, String>);

/// The page a list route answers: `page` (from 0), `per_page` (1–100, default 50) and
/// `include_totals`, as Auth0's lists take them.
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
    pub include_totals: bool,
}

impl Paging {
    /// Items before the page.
    pub fn start(&self) -> u64 {
        self.page * self.per_page
    }

    /// A page of a userbridge list as Auth0's lists answer: the items alone, or, with
    /// `include_totals` (when `total` is known), `{<name>: items, start, limit, total}`.
    pub fn answer(&self, name: &str, items: Vec<Value>, total: Option<u64>) -> Response {
        match total {
            Some(total) => Json(json!({
                name: items,
                "start": self.start(),
                "limit": self.per_page,
                "total": total,
            }))
            .into_response(),
            None => Json(items).into_response(),
        }
    }
}

/// A list route that takes only paging parameters: parses them (anything else is a 400), reads
/// the page and, with `include_totals`, the total from the store on a blocking thread, and
/// answers as [`Paging::answer`] under `name`.
pub async fn paged_list<T: Send + 'static>(
    raw: Option<&str>,
    store: std::sync::Arc<dyn userbridge_store::Store>,
    name: &str,
    page: fn(&dyn userbridge_store::Store, u64, u64) -> userbridge_store::Result<Vec<T>>,
    count: fn(&dyn userbridge_store::Store) -> userbridge_store::Result<u64>,
    render: impl Fn(&T) -> Value,
) -> ApiResult<Response> {
    let mut q = QueryString::parse(raw)?;
    let paging = q.paging()?;
    q.finish()?;
    let (start, limit, include_totals) = (paging.start(), paging.per_page, paging.include_totals);
    let (items, total) = crate::state::blocking(move || {
        let items = page(store.as_ref(), start, limit)?;
        let total = include_totals.then(|| count(store.as_ref())).transpose()?;
        Ok((items, total))
    })
    .await?;
    Ok(paging.answer(name, items.iter().map(render).collect(), total))
}

impl QueryString {
    pub fn parse(raw: Option<&str>) -> ApiResult<QueryString> {
        let mut map = BTreeMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = crate::auth::form_decode(k)
                .ok_or_else(|| ApiError::invalid_query(k, "Malformed query string"))?;
            let value = crate::auth::form_decode(v)
                .ok_or_else(|| ApiError::invalid_query(&key, "Malformed query string"))?;
            map.insert(key, value);
        }
        Ok(QueryString(map))
    }

    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    pub fn bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.take(key).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_query(key, "Expected type boolean")),
        }
    }

    pub fn integer(&mut self, key: &str, min: u64, max: u64) -> ApiResult<Option<u64>> {
        let Some(text) = self.take(key) else {
            return Ok(None);
        };
        let value: i128 = text.parse().map_err(|_| {
            ApiError::invalid_query(key, &format!("Expected type integer but found {text:?}"))
        })?;
        if value < min as i128 {
            return Err(ApiError::invalid_query(
                key,
                &format!("Value {value} is less than minimum {min}"),
            ));
        }
        if value > max as i128 {
            return Err(ApiError::invalid_query(
                key,
                &format!("Value {value} is greater than maximum {max}"),
            ));
        }
        Ok(Some(value as u64))
    }

    pub fn paging(&mut self) -> ApiResult<Paging> {
        Ok(Paging {
            page: self.integer("page", 0, u32::MAX as u64)?.unwrap_or(0),
            per_page: self.integer("per_page", 1, 100)?.unwrap_or(50),
            include_totals: self.bool("include_totals")?.unwrap_or(false),
        })
    }

    /// Rejects whatever the handler did not take.
    pub fn finish(self) -> ApiResult<()> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(key) => Err(ApiError::invalid_query(
                key,
                "Additional properties not allowed",
            )),
        }
    }
}
