//! The user profile (`management-api.md` §5) and how a field path reads it.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::field_path::{Attribute, FieldPath, Step};
use crate::ids::USER_ID_PREFIX;

/// The top-level `app_metadata` keys Auth0 forbids (`user-schema.md` §6.2; case-sensitive).
pub const FORBIDDEN_APP_METADATA_KEYS: [&str; 18] = [
    "__tenant",
    "_id",
    "blocked",
    "clientID",
    "created_at",
    "email_verified",
    "email",
    "globalClientID",
    "global_client_id",
    "identities",
    "lastIP",
    "lastLogin",
    "loginsCount",
    "metadata",
    "multifactor_last_modified",
    "multifactor",
    "updated_at",
    "user_id",
];

/// The default `picture` of a new user: a Gravatar-style URL from the MD5 of the
/// lower-cased email (no outbound call is ever made).
pub fn gravatar_url(email: &str) -> String {
    use md5::{Digest, Md5};
    let hash = hex::encode(Md5::digest(email.to_lowercase().as_bytes()));
    format!("https://s.gravatar.com/avatar/{hash}?s=480&r=pg&d=mp")
}

/// A database connection (`management-api.md` §6.2). Every userbridge connection has
/// strategy `auth0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub name: String,
}

/// One entry of a profile's `identities` array (Auth0 shape, note `isSocial`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity<'a> {
    pub connection: &'a str,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
    pub provider: &'a str,
    pub user_id: &'a str,
}

/// A stored user. Text attributes are as stored (emails lower-cased, timestamps
/// canonical); JSON attributes are kept as compact JSON text so they can be
/// copied to an export or a response without being parsed.
#[derive(Debug, Clone, Default)]
pub struct User {
    /// `auth0|<id>`.
    pub user_id: String,
    /// Name of the user's own database connection (`identities[0].connection`).
    pub connection: Arc<str>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub phone_verified: Option<bool>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub blocked: Option<bool>,
    pub created_at: String,
    pub updated_at: String,
    pub last_login: Option<String>,
    pub last_ip: Option<String>,
    pub logins_count: Option<i64>,
    pub last_password_reset: Option<String>,
    pub multifactor_last_modified: Option<String>,
    /// A JSON object, never `{}` (an empty object is stored as absent).
    pub user_metadata: Option<Box<RawValue>>,
    pub app_metadata: Option<Box<RawValue>>,
    /// Linked identities after the user's own one: a JSON array of identity objects.
    pub linked_identities: Option<Box<RawValue>>,
    /// Secrets: stored, never returned by the API nor written by an export.
    pub password_hash: Option<String>,
    pub custom_password_hash: Option<Box<RawValue>>,
    pub mfa_factors: Option<Box<RawValue>>,
}

/// The value a field path finds in a profile, before it is rendered into a cell.
#[derive(Debug, Clone)]
pub enum FieldValue<'a> {
    /// The path leads nowhere (absent attribute, missing key, index out of range).
    Missing,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    /// A profile timestamp, canonical text; a date format may reformat it.
    Timestamp(&'a str),
    /// A whole stored JSON object or array, as compact text.
    Raw(&'a RawValue),
    /// A value found inside stored JSON (may be `null`, a number, an object…).
    Json(Value),
}

impl PartialEq for FieldValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        use FieldValue::*;
        match (self, other) {
            (Missing, Missing) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Str(a), Str(b)) | (Timestamp(a), Timestamp(b)) => a == b,
            (Raw(a), Raw(b)) => a.get() == b.get(),
            (Json(a), Json(b)) => a == b,
            _ => false,
        }
    }
}

impl User {
    /// Makes `self` equal to `other`, reusing `self`'s string buffers (no allocation once
    /// the buffers are large enough): how a pipeline recycles its batches of users.
    pub fn copy_from(&mut self, other: &User) {
        self.user_id.clone_from(&other.user_id);
        self.connection.clone_from(&other.connection);
        self.email.clone_from(&other.email);
        self.email_verified = other.email_verified;
        self.username.clone_from(&other.username);
        self.phone_number.clone_from(&other.phone_number);
        self.phone_verified = other.phone_verified;
        self.given_name.clone_from(&other.given_name);
        self.family_name.clone_from(&other.family_name);
        self.name.clone_from(&other.name);
        self.nickname.clone_from(&other.nickname);
        self.picture.clone_from(&other.picture);
        self.blocked = other.blocked;
        self.created_at.clone_from(&other.created_at);
        self.updated_at.clone_from(&other.updated_at);
        self.last_login.clone_from(&other.last_login);
        self.last_ip.clone_from(&other.last_ip);
        self.logins_count = other.logins_count;
        self.last_password_reset
            .clone_from(&other.last_password_reset);
        self.multifactor_last_modified
            .clone_from(&other.multifactor_last_modified);
        self.user_metadata.clone_from(&other.user_metadata);
        self.app_metadata.clone_from(&other.app_metadata);
        self.linked_identities.clone_from(&other.linked_identities);
        self.password_hash.clone_from(&other.password_hash);
        self.custom_password_hash
            .clone_from(&other.custom_password_hash);
        self.mfa_factors.clone_from(&other.mfa_factors);
    }

    /// The id after `auth0|`.
    pub fn user_id_suffix(&self) -> &str {
        self.user_id
            .strip_prefix(USER_ID_PREFIX)
            .unwrap_or(&self.user_id)
    }

    /// The user's own database identity, `identities[0]`.
    pub fn own_identity(&self) -> Identity<'_> {
        Identity {
            connection: &self.connection,
            is_social: false,
            provider: "auth0",
            user_id: self.user_id_suffix(),
        }
    }

    /// `multifactor` as Auth0 shows it: `["guardian"]` when factors exist.
    pub fn multifactor(&self) -> Option<[&'static str; 1]> {
        self.mfa_factors.as_ref().map(|_| ["guardian"])
    }

    /// Reads one attribute at the top level of the profile.
    pub fn attribute(&self, attribute: Attribute) -> FieldValue<'_> {
        fn text(v: &Option<String>) -> FieldValue<'_> {
            v.as_deref().map_or(FieldValue::Missing, FieldValue::Str)
        }
        fn time(v: &Option<String>) -> FieldValue<'_> {
            v.as_deref()
                .map_or(FieldValue::Missing, FieldValue::Timestamp)
        }
        fn raw(v: &Option<Box<RawValue>>) -> FieldValue<'_> {
            v.as_deref().map_or(FieldValue::Missing, FieldValue::Raw)
        }
        fn flag(v: Option<bool>) -> FieldValue<'static> {
            v.map_or(FieldValue::Missing, FieldValue::Bool)
        }
        match attribute {
            Attribute::AppMetadata => raw(&self.app_metadata),
            Attribute::Blocked => flag(self.blocked),
            Attribute::CreatedAt => FieldValue::Timestamp(&self.created_at),
            Attribute::Email => text(&self.email),
            Attribute::EmailVerified => FieldValue::Bool(self.email_verified),
            Attribute::FamilyName => text(&self.family_name),
            Attribute::GivenName => text(&self.given_name),
            Attribute::Identities => FieldValue::Json(self.identities_json()),
            Attribute::LastIp => text(&self.last_ip),
            Attribute::LastLogin => time(&self.last_login),
            Attribute::LastPasswordReset => time(&self.last_password_reset),
            Attribute::LoginsCount => self
                .logins_count
                .map_or(FieldValue::Missing, FieldValue::Int),
            Attribute::Multifactor => match self.multifactor() {
                Some(list) => FieldValue::Json(Value::from(list.to_vec())),
                None => FieldValue::Missing,
            },
            Attribute::MultifactorLastModified => time(&self.multifactor_last_modified),
            Attribute::Name => text(&self.name),
            Attribute::Nickname => text(&self.nickname),
            Attribute::PhoneNumber => text(&self.phone_number),
            Attribute::PhoneVerified => flag(self.phone_verified),
            Attribute::Picture => text(&self.picture),
            Attribute::UpdatedAt => FieldValue::Timestamp(&self.updated_at),
            Attribute::UserId => FieldValue::Str(&self.user_id),
            Attribute::UserMetadata => raw(&self.user_metadata),
            Attribute::Username => text(&self.username),
        }
    }

    /// Follows a field path through the profile (`user-schema.md` §9.2).
    pub fn resolve(&self, path: &FieldPath) -> FieldValue<'_> {
        let steps = path.steps();
        let Some((first, rest)) = steps.split_first() else {
            return self.attribute(path.root());
        };
        // identities[0] is built from columns, not parsed: it is on the hot path of
        // the default field list (`identities[0].connection`).
        if path.root() == Attribute::Identities && *first == Step::Index(0) {
            let own = self.own_identity();
            return match rest {
                [] => FieldValue::Json(serde_json::to_value(own).unwrap_or(Value::Null)),
                [Step::Key(k)] => match k.as_str() {
                    "connection" => FieldValue::Str(&self.connection),
                    "provider" => FieldValue::Str("auth0"),
                    "user_id" => FieldValue::Str(self.user_id_suffix()),
                    "isSocial" => FieldValue::Bool(false),
                    _ => FieldValue::Missing,
                },
                _ => FieldValue::Missing,
            };
        }
        let root = match self.attribute(path.root()) {
            FieldValue::Raw(raw) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(v) => v,
                Err(_) => return FieldValue::Missing,
            },
            FieldValue::Json(v) => v,
            _ => return FieldValue::Missing,
        };
        let mut current = &root;
        for step in steps {
            let next = match (step, current) {
                (Step::Key(k), Value::Object(map)) => map.get(k),
                (Step::Index(i), Value::Array(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(v) => current = v,
                None => return FieldValue::Missing,
            }
        }
        FieldValue::Json(current.clone())
    }

    /// The whole `identities` array: the own identity, then linked ones.
    pub fn identities_json(&self) -> Value {
        let mut items = vec![serde_json::to_value(self.own_identity()).unwrap_or(Value::Null)];
        if let Some(raw) = &self.linked_identities
            && let Ok(Value::Array(linked)) = serde_json::from_str::<Value>(raw.get())
        {
            items.extend(linked);
        }
        Value::Array(items)
    }

    /// The profile as the API returns it: every exportable attribute that is set,
    /// keys in alphabetical order, secrets never included.
    pub fn profile(&self) -> Profile<'_> {
        Profile {
            app_metadata: self.app_metadata.as_deref(),
            blocked: self.blocked,
            created_at: &self.created_at,
            email: self.email.as_deref(),
            email_verified: self.email_verified,
            family_name: self.family_name.as_deref(),
            given_name: self.given_name.as_deref(),
            identities: Identities(self),
            last_ip: self.last_ip.as_deref(),
            last_login: self.last_login.as_deref(),
            last_password_reset: self.last_password_reset.as_deref(),
            logins_count: self.logins_count,
            multifactor: self.multifactor(),
            multifactor_last_modified: self.multifactor_last_modified.as_deref(),
            name: self.name.as_deref(),
            nickname: self.nickname.as_deref(),
            phone_number: self.phone_number.as_deref(),
            phone_verified: self.phone_verified,
            picture: self.picture.as_deref(),
            updated_at: &self.updated_at,
            user_id: &self.user_id,
            user_metadata: self.user_metadata.as_deref(),
            username: self.username.as_deref(),
        }
    }
}

/// Serialises `identities` without building an intermediate `Value`.
#[derive(Debug)]
pub struct Identities<'a>(&'a User);

impl Serialize for Identities<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let linked: Vec<&RawValue> = match &self.0.linked_identities {
            Some(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
            None => Vec::new(),
        };
        let mut seq = serializer.serialize_seq(Some(1 + linked.len()))?;
        seq.serialize_element(&self.0.own_identity())?;
        for item in linked {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// The API view of a user (see [`User::profile`]).
#[derive(Debug, Serialize)]
pub struct Profile<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    pub created_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<&'a str>,
    pub identities: Identities<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_password_reset: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multifactor: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multifactor_last_modified: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<&'a str>,
    pub updated_at: &'a str,
    pub user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
}

/// A profile and the user's secrets: what `userbridge export --include-secrets` writes (an
/// offline backup that imports back with its hashes). Never served by the API.
#[derive(Debug, Serialize)]
pub struct ProfileWithSecrets<'a> {
    #[serde(flatten)]
    pub profile: Profile<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_password_hash: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_factors: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<&'a str>,
}

impl User {
    /// `profile` with this user's secrets (password hashes, MFA factors) after it.
    pub fn with_secrets<'a>(&'a self, profile: Profile<'a>) -> ProfileWithSecrets<'a> {
        ProfileWithSecrets {
            profile,
            custom_password_hash: self.custom_password_hash.as_deref(),
            mfa_factors: self.mfa_factors.as_deref(),
            password_hash: self.password_hash.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Option<Box<RawValue>> {
        Some(RawValue::from_string(text.to_string()).unwrap())
    }

    fn jane() -> User {
        User {
            user_id: "auth0|abc".into(),
            connection: "Username-Password-Authentication".into(),
            email: Some("jane@example.com".into()),
            created_at: "2024-03-01T09:15:27.412Z".into(),
            updated_at: "2024-03-01T09:15:27.412Z".into(),
            user_metadata: raw(r#"{"z":1,"consent":{"given":true},"a.b":"dot","roles":["x","y"]}"#),
            linked_identities: raw(
                r#"[{"connection":"google-oauth2","isSocial":true,"provider":"google-oauth2","user_id":"42"}]"#,
            ),
            password_hash: Some("$2b$10$secret".into()),
            ..User::default()
        }
    }

    fn at(user: &User, path: &str) -> FieldValue<'static> {
        match user.resolve(&FieldPath::parse(path).unwrap()) {
            FieldValue::Json(v) => FieldValue::Json(v),
            FieldValue::Str(s) => FieldValue::Json(Value::from(s)),
            FieldValue::Timestamp(s) => FieldValue::Json(Value::from(s)),
            FieldValue::Raw(r) => FieldValue::Json(serde_json::from_str(r.get()).unwrap()),
            FieldValue::Bool(b) => FieldValue::Bool(b),
            FieldValue::Int(i) => FieldValue::Int(i),
            FieldValue::Missing => FieldValue::Missing,
        }
    }

    #[test]
    fn paths_resolve_as_documented() {
        let u = jane();
        assert_eq!(
            at(&u, "user_metadata.consent.given"),
            FieldValue::Json(Value::Bool(true))
        );
        assert_eq!(
            at(&u, r#"user_metadata["a.b"]"#),
            FieldValue::Json("dot".into())
        );
        assert_eq!(
            at(&u, "user_metadata.roles[1]"),
            FieldValue::Json("y".into())
        );
        assert_eq!(at(&u, "user_metadata.roles[2]"), FieldValue::Missing);
        assert_eq!(at(&u, "user_metadata.z.deeper"), FieldValue::Missing);
        assert_eq!(at(&u, "app_metadata.anything"), FieldValue::Missing);
        assert_eq!(
            at(&u, "identities[0].connection"),
            FieldValue::Json("Username-Password-Authentication".into())
        );
        assert_eq!(
            at(&u, "identities[0].user_id"),
            FieldValue::Json("abc".into())
        );
        assert_eq!(
            at(&u, "identities[1].provider"),
            FieldValue::Json("google-oauth2".into())
        );
        assert_eq!(at(&u, "email_verified"), FieldValue::Bool(false));
        assert_eq!(at(&u, "given_name"), FieldValue::Missing);
    }

    #[test]
    fn secrets_come_only_with_secrets() {
        let user = jane();
        let text = serde_json::to_string(&user.with_secrets(user.profile())).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["password_hash"], "$2b$10$secret");
        assert_eq!(v["user_metadata"]["z"], 1);
        assert_eq!(v["email"], "jane@example.com");
        assert!(v.get("mfa_factors").is_none());
    }

    #[test]
    fn profile_keeps_metadata_order_and_hides_secrets() {
        let text = serde_json::to_string(&jane().profile()).unwrap();
        assert!(
            text.contains(r#""user_metadata":{"z":1,"consent":{"given":true}"#),
            "{text}"
        );
        assert!(!text.contains("secret"));
        assert!(!text.contains("password"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["identities"].as_array().unwrap().len(), 2);
        assert_eq!(v["identities"][0]["isSocial"], Value::Bool(false));
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
