//! Validation of one users-file record against Auth0's bulk-import schema
//! (`user-schema.md` §1–§8), secret masking for the job-errors endpoint
//! (`management-api.md` §7.4) and the keys of the duplicate pre-scan (§7.4).
//!
//! [`validate`] reports every schema error of a record together, each a [`RecordError`]
//! whose message begins with its path (a forbidden `app_metadata` key: with the property,
//! as §6.2 fixes the text); it never panics and walks nested values with an
//! explicit stack, so hostile input (huge strings, deep nesting) costs time linear in its
//! size and no stack.

mod email;
mod mask;
mod mfa;
mod walk;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use userbridge_model::ids::USER_ID_PREFIX;
use userbridge_model::{ErrorCode, RecordError};
use userbridge_passwords::{CustomHash, is_bcrypt};

pub use mask::{MASK, mask_secrets};

/// Default of [`ValidationLimits::metadata_max_bytes`]: 16 MiB (`user-schema.md` §3.4).
pub const METADATA_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The deepest nesting a kept JSON value (metadata, `custom_password_hash`) may have,
/// counting the value itself as level 1. A record read by serde_json's default recursion
/// limit (128) can never exceed it; deeper values built in memory are rejected with
/// `MAX_LENGTH` instead of being serialised recursively.
pub const MAX_NESTING: usize = 126;

pub use userbridge_model::user::FORBIDDEN_APP_METADATA_KEYS;

/// The record properties of the schema (`user-schema.md` §2).
pub const PROPERTIES: [&str; 17] = [
    "email",
    "email_verified",
    "phone_number",
    "phone_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "password_hash",
    "custom_password_hash",
    "app_metadata",
    "user_metadata",
    "mfa_factors",
];

/// Read-only profile attributes of an export: accepted and ignored on import (§2).
pub const READ_ONLY_PROPERTIES: [&str; 9] = [
    "created_at",
    "updated_at",
    "identities",
    "last_login",
    "last_ip",
    "logins_count",
    "last_password_reset",
    "multifactor",
    "multifactor_last_modified",
];

/// Configurable limits of record validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationLimits {
    /// Largest combined compact-JSON size of `app_metadata` + `user_metadata`, in bytes.
    pub metadata_max_bytes: usize,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        ValidationLimits {
            metadata_max_bytes: METADATA_MAX_BYTES,
        }
    }
}

/// A schema-valid record, normalised: what the engine applies. Each `Option` is `None`
/// when the property was absent from the record.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    /// Lower-cased.
    pub email: String,
    /// Without the `auth0|` prefix (one leading `auth0|` stripped, §7.5).
    pub user_id: Option<String>,
    /// Lower-cased.
    pub username: Option<String>,
    pub email_verified: Option<bool>,
    pub phone_number: Option<String>,
    pub phone_verified: Option<bool>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub blocked: Option<bool>,
    pub password_hash: Option<String>,
    /// Compact JSON as given (key order kept).
    pub custom_password_hash: Option<Box<RawValue>>,
    /// `Some(None)` = the record sets `{}` (clears on upsert); otherwise compact JSON.
    pub user_metadata: Option<Option<Box<RawValue>>>,
    /// `Some(None)` = the record sets `{}` (clears on upsert); otherwise compact JSON.
    pub app_metadata: Option<Option<Box<RawValue>>>,
    /// Compact JSON as given.
    pub mfa_factors: Option<Box<RawValue>>,
}

/// The keys that make two records the same user (§7.4), computed best-effort from a
/// possibly invalid record: `None` where the property is absent or not a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchKeys {
    /// Lower-cased.
    pub email: Option<String>,
    /// With one leading `auth0|` stripped.
    pub user_id: Option<String>,
    /// Lower-cased.
    pub username: Option<String>,
}

/// The duplicate-detection keys of a record (§7.4); nothing is validated.
pub fn match_keys(record: &Value) -> MatchKeys {
    let Value::Object(map) = record else {
        return MatchKeys::default();
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str);
    MatchKeys {
        email: text("email").map(str::to_lowercase),
        user_id: text("user_id").map(|id| strip_user_id_prefix(id).to_string()),
        username: text("username").map(str::to_lowercase),
    }
}

/// Validates one record (any JSON value: a non-object is `INVALID_TYPE` at path `""`).
/// Returns every schema error of the record together (§8); never panics, on any input.
pub fn validate(
    record: &Value,
    limits: &ValidationLimits,
) -> Result<ValidRecord, Vec<RecordError>> {
    let Value::Object(map) = record else {
        return Err(vec![RecordError::new(
            ErrorCode::InvalidType,
            "",
            format_args!("expected object, got {}", type_name(record)),
        )]);
    };
    let mut cx = Checker::new(limits);
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|key| !PROPERTIES.contains(key) && !READ_ONLY_PROPERTIES.contains(key))
        .collect();
    if !unknown.is_empty() {
        cx.error(
            ErrorCode::NotPassed,
            "",
            format_args!("{}: additional properties not allowed", unknown.join(", ")),
        );
    }
    if !map.contains_key("email") {
        cx.error(
            ErrorCode::ObjectRequired,
            "email",
            "required property missing",
        );
    }
    if map.contains_key("password_hash") && map.contains_key("custom_password_hash") {
        cx.error(
            ErrorCode::NotPassed,
            "",
            "password_hash, custom_password_hash: only one of them may be given",
        );
    }

    let mut email = None;
    let mut out = ValidRecord::empty();
    for (key, value) in map {
        let key = key.as_str();
        match key {
            "email" => email = cx.email(key, value),
            "email_verified" => out.email_verified = cx.boolean(key, value),
            "phone_number" => out.phone_number = cx.phone(key, value),
            "phone_verified" => out.phone_verified = cx.boolean(key, value),
            "user_id" => out.user_id = cx.user_id(key, value),
            "username" => out.username = cx.username(key, value),
            "given_name" | "family_name" | "name" => {
                let text = cx.bounded_string(key, value, 150);
                match key {
                    "given_name" => out.given_name = text,
                    "family_name" => out.family_name = text,
                    _ => out.name = text,
                }
            }
            "nickname" => out.nickname = cx.bounded_string(key, value, 350),
            "picture" => out.picture = cx.bounded_string(key, value, 2048),
            "blocked" => out.blocked = cx.boolean(key, value),
            "password_hash" => out.password_hash = cx.password_hash(key, value),
            "custom_password_hash" => {
                out.custom_password_hash = cx.custom_password_hash(key, value)
            }
            "user_metadata" => out.user_metadata = cx.metadata(key, value),
            "app_metadata" => out.app_metadata = cx.metadata(key, value),
            "mfa_factors" => out.mfa_factors = mfa::mfa_factors(&mut cx, key, value),
            _ => {} // read-only attributes are ignored; unknown keys are reported above
        }
    }

    match email {
        Some(email) if cx.errors.is_empty() => {
            out.email = email;
            Ok(out)
        }
        _ => {
            if cx.errors.is_empty() {
                // Unreachable: an absent or invalid email always leaves an error.
                cx.error(
                    ErrorCode::ObjectRequired,
                    "email",
                    "required property missing",
                );
            }
            Err(cx.errors)
        }
    }
}

impl ValidRecord {
    fn empty() -> Self {
        ValidRecord {
            email: String::new(),
            user_id: None,
            username: None,
            email_verified: None,
            phone_number: None,
            phone_verified: None,
            given_name: None,
            family_name: None,
            name: None,
            nickname: None,
            picture: None,
            blocked: None,
            password_hash: None,
            custom_password_hash: None,
            user_metadata: None,
            app_metadata: None,
            mfa_factors: None,
        }
    }
}

/// `id` without one leading `auth0|` (§7.5).
fn strip_user_id_prefix(id: &str) -> &str {
    id.strip_prefix(USER_ID_PREFIX).unwrap_or(id)
}

/// The JSON type of a value, as error messages name it.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// True when `text` has more than `max` Unicode scalar values; looks at no more than the
/// first `max + 1` characters, so a huge string costs nothing.
fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().nth(max).is_some()
}

/// `^\+[0-9]{1,15}$`.
pub(crate) fn is_phone_number(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

pub(crate) const PHONE_PATTERN: &str = r"must match ^\+[0-9]{1,15}$";
pub(crate) const BAD_EMAIL: &str = "not a valid email address";

/// Characters of a username besides ASCII letters and digits (§3.2).
const USERNAME_SYMBOLS: &str = "@`^$!-#.+'~_";

/// The errors of one record under construction, and the metadata size so far.
pub(crate) struct Checker<'l> {
    errors: Vec<RecordError>,
    limits: &'l ValidationLimits,
    metadata_bytes: usize,
    metadata_too_large: bool,
}

impl<'l> Checker<'l> {
    fn new(limits: &'l ValidationLimits) -> Self {
        Checker {
            errors: Vec::new(),
            limits,
            metadata_bytes: 0,
            metadata_too_large: false,
        }
    }

    pub(crate) fn error(&mut self, code: ErrorCode, path: &str, problem: impl std::fmt::Display) {
        self.errors.push(RecordError::new(code, path, problem));
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub(crate) fn type_error(&mut self, path: &str, expected: &str, value: &Value) {
        self.error(
            ErrorCode::InvalidType,
            path,
            format_args!("expected {expected}, got {}", type_name(value)),
        );
    }

    pub(crate) fn string<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.type_error(path, "string", other);
                None
            }
        }
    }

    pub(crate) fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.type_error(path, "object", other);
                None
            }
        }
    }

    fn boolean(&mut self, path: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.type_error(path, "boolean", other);
                None
            }
        }
    }

    /// A string of 1..=`max` characters (§3.3).
    fn bounded_string(&mut self, path: &str, value: &Value, max: usize) -> Option<String> {
        let text = self.string(path, value)?;
        self.check_length(path, text, max).then(|| text.to_string())
    }

    fn check_length(&mut self, path: &str, text: &str, max: usize) -> bool {
        if text.is_empty() {
            self.error(ErrorCode::MinLength, path, "must not be empty");
            false
        } else if longer_than(text, max) {
            self.error(
                ErrorCode::MaxLength,
                path,
                format_args!("longer than {max} characters"),
            );
            false
        } else {
            true
        }
    }

    /// §3.1; lower-cased.
    fn email(&mut self, path: &str, value: &Value) -> Option<String> {
        let text = self.string(path, value)?;
        if email::is_valid(text) {
            Some(text.to_lowercase())
        } else {
            self.error(ErrorCode::Format, path, BAD_EMAIL);
            None
        }
    }

    fn phone(&mut self, path: &str, value: &Value) -> Option<String> {
        let text = self.string(path, value)?;
        if is_phone_number(text) {
            Some(text.to_string())
        } else {
            self.error(ErrorCode::Pattern, path, PHONE_PATTERN);
            None
        }
    }

    /// §7.5: one leading `auth0|` stripped, then 1–255 characters without `|` or controls.
    fn user_id(&mut self, path: &str, value: &Value) -> Option<String> {
        let id = strip_user_id_prefix(self.string(path, value)?);
        if !self.check_length(path, id, 255) {
            return None;
        }
        if id.contains('|') || id.chars().any(char::is_control) {
            self.error(
                ErrorCode::Format,
                path,
                "only database-connection ids can be imported",
            );
            return None;
        }
        Some(id.to_string())
    }

    /// §3.2: 1–128 characters of the username alphabet, not an email address; lower-cased.
    fn username(&mut self, path: &str, value: &Value) -> Option<String> {
        let text = self.string(path, value)?;
        if !self.check_length(path, text, 128) {
            return None;
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || USERNAME_SYMBOLS.contains(c))
        {
            self.error(
                ErrorCode::Format,
                path,
                format_args!("may contain only letters a-z, digits and {USERNAME_SYMBOLS}"),
            );
            return None;
        }
        if email::is_valid(text) {
            self.error(ErrorCode::Format, path, "must not be an email address");
            return None;
        }
        Some(text.to_ascii_lowercase())
    }

    /// §4: a bcrypt string (the format rules belong to the passwords crate).
    fn password_hash(&mut self, path: &str, value: &Value) -> Option<String> {
        let text = self.string(path, value)?;
        if is_bcrypt(text) {
            Some(text.to_string())
        } else {
            self.error(ErrorCode::Format, path, "not a valid bcrypt hash");
            None
        }
    }

    /// §5: delegated to [`CustomHash::parse`]; kept as compact JSON.
    fn custom_password_hash(&mut self, path: &str, value: &Value) -> Option<Box<RawValue>> {
        match CustomHash::parse(value) {
            Ok(_) => self.compact(path, value),
            Err(errors) => {
                self.errors.extend(errors);
                None
            }
        }
    }

    /// §3.4: an object whose keys at any depth hold no `.`; `app_metadata` without the
    /// forbidden keys of §6.2; both metadata together within the size limit.
    fn metadata(&mut self, path: &str, value: &Value) -> Option<Option<Box<RawValue>>> {
        let map = self.object(path, value)?;
        let before = self.errors.len();
        let scan = walk::scan(value, path, true);
        for key_path in scan.dotted_keys {
            self.error(ErrorCode::Format, &key_path, r#"key must not contain ".""#);
        }
        if path == "app_metadata" {
            for key in map
                .keys()
                .filter(|key| FORBIDDEN_APP_METADATA_KEYS.contains(&key.as_str()))
            {
                // The spec fixes this message (§6.2): it names the property, not the path.
                self.errors.push(RecordError {
                    code: ErrorCode::NotPassed,
                    message: format!("app_metadata: forbidden attribute \"{key}\""),
                    path: format!("app_metadata.{key}"),
                });
            }
        }
        if scan.too_deep {
            self.too_deep(path);
            return None;
        }
        if map.is_empty() {
            // `{}` clears the metadata: it adds nothing to the stored size.
            return (self.errors.len() == before).then_some(None);
        }
        let text = self.serialize(path, value)?;
        self.metadata_bytes = self.metadata_bytes.saturating_add(text.len());
        if self.metadata_bytes > self.limits.metadata_max_bytes && !self.metadata_too_large {
            self.metadata_too_large = true;
            self.error(
                ErrorCode::MaxLength,
                path,
                format_args!(
                    "app_metadata and user_metadata together exceed {} bytes",
                    self.limits.metadata_max_bytes
                ),
            );
        }
        if self.errors.len() > before {
            return None;
        }
        self.raw(path, text).map(Some)
    }

    /// `value` as compact JSON, after checking its nesting depth iteratively.
    pub(crate) fn compact(&mut self, path: &str, value: &Value) -> Option<Box<RawValue>> {
        if walk::scan(value, path, false).too_deep {
            self.too_deep(path);
            return None;
        }
        let text = self.serialize(path, value)?;
        self.raw(path, text)
    }

    fn too_deep(&mut self, path: &str) {
        self.error(
            ErrorCode::MaxLength,
            path,
            format_args!("nested deeper than {MAX_NESTING} levels"),
        );
    }

    /// Only for values whose depth was checked: serde_json serialises recursively.
    fn serialize(&mut self, path: &str, value: &Value) -> Option<String> {
        match serde_json::to_string(value) {
            Ok(text) => Some(text),
            Err(error) => {
                self.error(
                    ErrorCode::Format,
                    path,
                    format_args!("cannot be serialised: {error}"),
                );
                None
            }
        }
    }

    fn raw(&mut self, path: &str, text: String) -> Option<Box<RawValue>> {
        match RawValue::from_string(text) {
            Ok(raw) => Some(raw),
            Err(error) => {
                self.error(
                    ErrorCode::Format,
                    path,
                    format_args!("cannot be serialised: {error}"),
                );
                None
            }
        }
    }
}

/// The linked identities of a whole-profile export (`identities[1..]`), kept on import so
/// that an export imports back with nothing lost (userbridge choice). The first identity is
/// the user's own and is rebuilt from the target connection. Entries that do not look like
/// identities (an object with string `connection`, `provider` and `user_id`) are ignored,
/// as every read-only attribute is.
pub fn linked_identities(record: &Value) -> Option<Box<RawValue>> {
    let items = record.get("identities")?.as_array()?;
    let linked: Vec<&Value> = items
        .iter()
        .skip(1)
        .filter(|item| {
            ["connection", "provider", "user_id"]
                .iter()
                .all(|key| item.get(key).is_some_and(Value::is_string))
        })
        .collect();
    if linked.is_empty() {
        return None;
    }
    RawValue::from_string(serde_json::to_string(&linked).ok()?).ok()
}
