//! Strict query-string parsing: every parameter must be known, every value well-formed.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

pub struct QueryString(BTreeMap<String, String>);

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
