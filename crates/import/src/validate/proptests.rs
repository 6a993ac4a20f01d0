#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;

use super::*;

// ---- arbitrary JSON, biased towards the schema's names and shapes ---------------------

const NAMES: [&str; 24] = [
    "email",
    "user_id",
    "username",
    "given_name",
    "password",
    "Password",
    "password_hash",
    "custom_password_hash",
    "hash",
    "value",
    "key",
    "salt",
    "encoding",
    "algorithm",
    "totp",
    "secret",
    "phone",
    "mfa_factors",
    "user_metadata",
    "app_metadata",
    "blocked",
    "a.b",
    "",
    "identities",
];

const STRINGS: [&str; 16] = [
    "",
    "jo@example.org",
    "JO@EXAMPLE.ORG",
    " jo@example.org",
    "\"q\"@example.org",
    "+12125550001",
    "JBTWY3DPEHPK3PNP",
    "auth0|abc",
    "auth0|",
    "google-oauth2|1",
    "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    "sha256",
    "hex",
    "a.b",
    "\u{0}",
    "😀",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(NAMES.to_vec()).prop_map(str::to_string),
        "\\PC{0,6}",
        ".{0,3}"
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(STRINGS.to_vec()).prop_map(Value::from),
        vec(any::<char>(), 0..12).prop_map(|c| Value::String(c.into_iter().collect())),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(8, 96, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((arb_key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// MFA factor arrays that are often nearly valid.
fn arb_mfa() -> impl Strategy<Value = Value> {
    let inner = prop_oneof![select(STRINGS.to_vec()).prop_map(Value::from), arb_leaf(),];
    let factor = (
        select(vec!["totp", "phone", "email", "sms"]),
        select(vec!["secret", "value", "x"]),
        inner,
    )
        .prop_map(|(kind, field, value)| json!({ kind: { field: value } }));
    prop_oneof![
        vec(factor.clone(), 0..13).prop_map(Value::Array),
        vec(prop_oneof![factor, arb_value()], 0..4).prop_map(Value::Array),
        arb_value(),
    ]
}

/// Objects whose keys are mostly the schema's properties.
fn arb_record() -> impl Strategy<Value = Value> {
    let property = prop_oneof![
        4 => select(PROPERTIES.to_vec()).prop_map(str::to_string),
        1 => select(READ_ONLY_PROPERTIES.to_vec()).prop_map(str::to_string),
        1 => arb_key(),
    ];
    let member = prop_oneof![
        (property, arb_value()),
        arb_mfa().prop_map(|v| ("mfa_factors".to_string(), v)),
    ];
    let email = option::of(prop_oneof![
        arb_email(),
        select(STRINGS.to_vec()).prop_map(str::to_string)
    ]);
    prop_oneof![
        5 => (email, vec(member, 0..6)).prop_map(|(email, members)| {
            let email = email.map(|email| ("email".to_string(), Value::String(email)));
            Value::Object(email.into_iter().chain(members).collect())
        }),
        1 => arb_value(),
    ]
}

// ---- valid records --------------------------------------------------------------------

fn arb_email() -> impl Strategy<Value = String> {
    let atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}";
    let local = vec(atom, 1..4).prop_map(|atoms| atoms.join("."));
    let label = prop_oneof![
        "[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?",
        "[a-zäöüßéçøåÄÖÜÉ]{1,8}",
        "[例え]{1,3}"
    ];
    let domain = (vec(label, 1..4), "[A-Za-z]{2,6}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")));
    (local, domain).prop_map(|(local, domain)| format!("{local}@{domain}"))
}

/// Any text of `min..=max` Unicode scalar values.
fn arb_text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 1..=max).prop_map(|chars| chars.into_iter().collect())
}

fn arb_metadata(forbid: bool) -> impl Strategy<Value = Value> {
    let key = "[A-Za-z0-9_$ -]{0,8}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,10}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(5, 48, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((key, inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    });
    vec((key, value), 0..6).prop_map(move |members| {
        Value::Object(
            members
                .into_iter()
                .filter(|(key, _)| !(forbid && FORBIDDEN_APP_METADATA_KEYS.contains(&key.as_str())))
                .collect(),
        )
    })
}

fn arb_factors() -> impl Strategy<Value = Value> {
    let totp = option::of("[A-Z2-7]{1,32}");
    let phones = btree_set("\\+[0-9]{1,15}", 0..4);
    let emails = btree_set(arb_email(), 0..4);
    (totp, phones, emails).prop_map(|(totp, phones, emails)| {
        let mut factors: Vec<Value> = totp
            .iter()
            .map(|secret| json!({ "totp": { "secret": secret } }))
            .collect();
        factors.extend(
            phones
                .iter()
                .map(|phone| json!({ "phone": { "value": phone } })),
        );
        // Distinct once lower-cased, as the duplicate rule compares them.
        let mut seen = BTreeSet::new();
        factors.extend(
            emails
                .iter()
                .filter(|email| seen.insert(email.to_lowercase()))
                .map(|email| json!({ "email": { "value": email } })),
        );
        if factors.is_empty() {
            factors.push(json!({ "totp": { "secret": "JBTWY3DPEHPK3PNP" } }));
        }
        Value::Array(factors)
    })
}

const BCRYPTS: [&str; 3] = [
    "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    "$2y$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
];

#[derive(Debug, Clone)]
struct Input {
    email: String,
    user_id: Option<(bool, String)>,
    username: Option<String>,
    booleans: [Option<bool>; 3],
    phone_number: Option<String>,
    names: [Option<String>; 5],
    password_hash: Option<&'static str>,
    user_metadata: Option<Value>,
    app_metadata: Option<Value>,
    mfa_factors: Option<Value>,
}

prop_compose! {
    fn arb_input()(
        email in arb_email(),
        user_id in option::of((any::<bool>(), "[A-Za-z0-9_.@-]{1,40}")),
        username in option::of("[A-Za-z0-9@`^$!#.+'~_-]{1,40}".prop_filter("not an email", |u| !email::is_valid(u))),
        booleans in [option::of(any::<bool>()), option::of(any::<bool>()), option::of(any::<bool>())],
        phone_number in option::of("\\+[0-9]{1,15}"),
        names in [option::of(arb_text(150)), option::of(arb_text(150)), option::of(arb_text(150)),
                  option::of(arb_text(350)), option::of(arb_text(400))],
        password_hash in option::of(select(BCRYPTS.to_vec())),
        user_metadata in option::of(arb_metadata(false)),
        app_metadata in option::of(arb_metadata(true)),
        mfa_factors in option::of(arb_factors()),
    ) -> Input {
        Input { email, user_id, username, booleans, phone_number, names, password_hash,
                user_metadata, app_metadata, mfa_factors }
    }
}

const NAME_KEYS: [&str; 5] = ["given_name", "family_name", "name", "nickname", "picture"];
const BOOLEAN_KEYS: [&str; 3] = ["email_verified", "phone_verified", "blocked"];

impl Input {
    fn record(&self) -> Value {
        let mut record = Map::new();
        record.insert("email".into(), json!(self.email));
        if let Some((prefixed, id)) = &self.user_id {
            let id = if *prefixed {
                format!("auth0|{id}")
            } else {
                id.clone()
            };
            record.insert("user_id".into(), json!(id));
        }
        if let Some(username) = &self.username {
            record.insert("username".into(), json!(username));
        }
        for (key, value) in BOOLEAN_KEYS.iter().zip(&self.booleans) {
            if let Some(value) = value {
                record.insert(key.to_string(), json!(value));
            }
        }
        if let Some(phone) = &self.phone_number {
            record.insert("phone_number".into(), json!(phone));
        }
        for (key, value) in NAME_KEYS.iter().zip(&self.names) {
            if let Some(value) = value {
                record.insert(key.to_string(), json!(value));
            }
        }
        if let Some(hash) = self.password_hash {
            record.insert("password_hash".into(), json!(hash));
        }
        for (key, value) in [
            ("user_metadata", &self.user_metadata),
            ("app_metadata", &self.app_metadata),
            ("mfa_factors", &self.mfa_factors),
        ] {
            if let Some(value) = value {
                record.insert(key.into(), value.clone());
            }
        }
        Value::Object(record)
    }
}

fn raw(value: &Option<Box<RawValue>>) -> Option<&str> {
    value.as_deref().map(RawValue::get)
}

fn expected_metadata(value: &Option<Value>) -> Option<Option<String>> {
    value.as_ref().map(|v| match v {
        Value::Object(map) if map.is_empty() => None,
        other => Some(serde_json::to_string(other).unwrap()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn validate_never_panics_and_its_errors_are_well_formed(record in arb_record()) {
        let limits = ValidationLimits { metadata_max_bytes: 64 };
        for limits in [limits, ValidationLimits::default()] {
            match validate(&record, &limits) {
                Ok(valid) => {
                    let keys = match_keys(&record);
                    prop_assert_eq!(keys.email.as_deref(), Some(valid.email.as_str()));
                    prop_assert_eq!(keys.user_id, valid.user_id);
                    prop_assert_eq!(keys.username, valid.username);
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for error in &errors {
                        // Every message begins with its path (or, for forbidden app_metadata
                        // keys, with the property the spec's fixed message names).
                        let lead = if error.path.starts_with("app_metadata.") && error.code == ErrorCode::NotPassed {
                            "app_metadata"
                        } else {
                            error.path.as_str()
                        };
                        prop_assert!(error.message.starts_with(lead), "{:?}", error);
                    }
                }
            }
        }
        let masked = mask_secrets(&record);
        prop_assert_eq!(mask_secrets(&masked), masked.clone(), "masking is idempotent");
        let _ = match_keys(&record);
    }

    #[test]
    fn generated_valid_records_validate_to_their_normalised_fields(input in arb_input()) {
        let record = input.record();
        let valid = match validate(&record, &ValidationLimits::default()) {
            Ok(valid) => valid,
            Err(errors) => return Err(TestCaseError::fail(format!("{record}: {errors:#?}"))),
        };
        prop_assert_eq!(&valid.email, &input.email.to_lowercase());
        prop_assert_eq!(valid.user_id.as_ref(), input.user_id.as_ref().map(|(_, id)| id));
        prop_assert_eq!(valid.username.clone(), input.username.as_ref().map(|u| u.to_lowercase()));
        prop_assert_eq!([valid.email_verified, valid.phone_verified, valid.blocked], input.booleans);
        prop_assert_eq!(&valid.phone_number, &input.phone_number);
        prop_assert_eq!(
            [&valid.given_name, &valid.family_name, &valid.name, &valid.nickname, &valid.picture],
            [&input.names[0], &input.names[1], &input.names[2], &input.names[3], &input.names[4]]
        );
        prop_assert_eq!(valid.password_hash.as_deref(), input.password_hash);
        prop_assert!(valid.custom_password_hash.is_none());
        prop_assert_eq!(valid.user_metadata.as_ref().map(|m| raw(m).map(str::to_string)), expected_metadata(&input.user_metadata));
        prop_assert_eq!(valid.app_metadata.as_ref().map(|m| raw(m).map(str::to_string)), expected_metadata(&input.app_metadata));
        prop_assert_eq!(
            raw(&valid.mfa_factors).map(str::to_string),
            input.mfa_factors.as_ref().map(|m| serde_json::to_string(m).unwrap())
        );

        let keys = match_keys(&record);
        prop_assert_eq!(keys.email.as_deref(), Some(valid.email.as_str()));
        prop_assert_eq!(keys.user_id, valid.user_id);
        prop_assert_eq!(keys.username, valid.username);

        // Masking leaves no generated secret in place.
        let masked = mask_secrets(&record);
        if input.password_hash.is_some() {
            prop_assert_eq!(&masked["password_hash"], &json!(MASK));
        }
        if let Some(Value::Array(factors)) = &masked.get("mfa_factors") {
            for factor in factors {
                if let Some(totp) = factor.get("totp") {
                    prop_assert_eq!(&totp["secret"], &json!(MASK));
                }
            }
        }
    }
}
