//! `mfa_factors` (`user-schema.md` §6.1).

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;
use userbridge_model::ErrorCode;

use super::{BAD_EMAIL, Checker, PHONE_PATTERN, email, is_phone_number};

const MIN_ITEMS: usize = 1;
const MAX_ITEMS: usize = 10;
const KINDS: [&str; 3] = ["totp", "phone", "email"];

/// One factor that is valid on its own.
struct Factor<'v> {
    index: usize,
    kind: &'v str,
    /// The value that makes two factors of a kind the same (emails lower-cased).
    value: String,
}

/// Validates the array and keeps it as compact JSON.
pub(crate) fn mfa_factors(
    cx: &mut Checker<'_>,
    path: &str,
    value: &Value,
) -> Option<Box<RawValue>> {
    let Value::Array(items) = value else {
        cx.type_error(path, "array", value);
        return None;
    };
    let before = cx.error_count();
    if items.len() < MIN_ITEMS {
        cx.error(
            ErrorCode::ArrayLengthShort,
            path,
            format_args!("must contain at least {MIN_ITEMS} item"),
        );
    } else if items.len() > MAX_ITEMS {
        cx.error(
            ErrorCode::ArrayLengthLong,
            path,
            format_args!("more than {MAX_ITEMS} items"),
        );
    }
    let factors: Vec<Factor<'_>> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| factor(cx, &format!("{path}[{index}]"), index, item))
        .collect();

    // Factors that are valid one by one but cannot be stored together.
    if factors.iter().filter(|f| f.kind == "totp").count() > 1 {
        cx.error(
            ErrorCode::MfaFactorsFailed,
            path,
            "more than one totp factor",
        );
    }
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for later in factors.iter().filter(|f| f.kind != "totp") {
        if let Some(first) = seen.get(&(later.kind, later.value.as_str())) {
            cx.error(
                ErrorCode::MfaFactorsFailed,
                path,
                format_args!(
                    "items {} and {} are the same {} factor",
                    first, later.index, later.kind
                ),
            );
        } else {
            seen.insert((later.kind, later.value.as_str()), later.index);
        }
    }

    if cx.error_count() > before {
        return None;
    }
    cx.compact(path, value)
}

/// One item: an object with exactly one of `totp`, `phone`, `email`.
fn factor<'v>(
    cx: &mut Checker<'_>,
    path: &str,
    index: usize,
    item: &'v Value,
) -> Option<Factor<'v>> {
    let map = cx.object(path, item)?;
    let before = cx.error_count();
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|key| !KINDS.contains(key))
        .collect();
    if !unknown.is_empty() {
        cx.error(
            ErrorCode::NotPassed,
            path,
            format_args!("additional properties not allowed: {}", unknown.join(", ")),
        );
    }
    let kinds: Vec<(&'v str, &'v Value)> = map
        .iter()
        .filter(|(key, _)| KINDS.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    match kinds.len() {
        0 => cx.error(
            ErrorCode::AnyOfMissing,
            path,
            "must contain one of totp, phone, email",
        ),
        1 => {}
        _ => cx.error(
            ErrorCode::NotPassed,
            path,
            "must contain exactly one of totp, phone, email",
        ),
    }
    let mut found = None;
    for (kind, inner) in kinds {
        if let Some(value) = factor_value(cx, &format!("{path}.{kind}"), kind, inner) {
            found = Some(Factor { index, kind, value });
        }
    }
    if cx.error_count() > before {
        None
    } else {
        found
    }
}

/// `{ "secret": … }` for totp, `{ "value": … }` for phone and email.
fn factor_value(cx: &mut Checker<'_>, path: &str, kind: &str, inner: &Value) -> Option<String> {
    let map = cx.object(path, inner)?;
    let field = if kind == "totp" { "secret" } else { "value" };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|key| *key != field)
        .collect();
    if !unknown.is_empty() {
        cx.error(
            ErrorCode::NotPassed,
            path,
            format_args!("additional properties not allowed: {}", unknown.join(", ")),
        );
    }
    let field_path = format!("{path}.{field}");
    let Some(value) = map.get(field) else {
        cx.error(
            ErrorCode::ObjectRequired,
            &field_path,
            "required property missing",
        );
        return None;
    };
    let text = cx.string(&field_path, value)?;
    let valid = match kind {
        "totp" => {
            let ok = is_base32(text);
            if !ok {
                cx.error(ErrorCode::Pattern, &field_path, "must match ^[A-Z2-7]+$");
            }
            ok
        }
        "phone" => {
            let ok = is_phone_number(text);
            if !ok {
                cx.error(ErrorCode::Pattern, &field_path, PHONE_PATTERN);
            }
            ok
        }
        _ => {
            let ok = email::is_valid(text);
            if !ok {
                cx.error(ErrorCode::Format, &field_path, BAD_EMAIL);
            }
            ok
        }
    };
    (valid && unknown.is_empty()).then(|| {
        if kind == "email" {
            text.to_lowercase()
        } else {
            text.to_string()
        }
    })
}

/// `^[A-Z2-7]+$`: un-padded upper-case Base32.
fn is_base32(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}
