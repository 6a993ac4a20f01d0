#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use userbridge_model::ErrorCode::*;

use super::*;

const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

fn check(record: &Value) -> Result<ValidRecord, Vec<RecordError>> {
    validate(record, &ValidationLimits::default())
}

fn ok(record: Value) -> ValidRecord {
    match check(&record) {
        Ok(valid) => valid,
        Err(errors) => panic!("{record} should be valid, got {errors:#?}"),
    }
}

fn errors(record: Value) -> Vec<RecordError> {
    match check(&record) {
        Ok(valid) => panic!("{record} should be invalid, got {valid:#?}"),
        Err(errors) => errors,
    }
}

fn err(code: ErrorCode, path: &str, message: &str) -> RecordError {
    RecordError {
        code,
        message: message.to_string(),
        path: path.to_string(),
    }
}

/// The record fails with exactly this one error.
#[track_caller]
fn only(record: Value, code: ErrorCode, path: &str, message: &str) {
    assert_eq!(errors(record), vec![err(code, path, message)]);
}

/// A valid record plus `key: value`.
fn with(key: &str, value: Value) -> Value {
    let mut record = json!({ "email": "jo@example.org" });
    record[key] = value;
    record
}

fn raw(value: &Option<Box<RawValue>>) -> Option<&str> {
    value.as_deref().map(RawValue::get)
}

/// A value nested `depth` containers deep: `{"k":{"k":…{"k":"leaf"}…}}`.
fn nested(depth: usize) -> Value {
    let mut value = json!("leaf");
    for _ in 0..depth {
        // Not `json!`: it would serialise (recursively) the value it wraps.
        let mut map = Map::new();
        map.insert("k".to_string(), value);
        value = Value::Object(map);
    }
    value
}

/// Drops a value of any depth without recursion (serde_json's own drop recurses).
fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(mut value) = stack.pop() {
        match &mut value {
            Value::Object(map) => stack.extend(std::mem::take(map).into_iter().map(|(_, v)| v)),
            Value::Array(items) => stack.append(items),
            _ => {}
        }
    }
}

// ---- the record as a whole ------------------------------------------------------------

#[test]
fn a_record_that_is_not_an_object_is_invalid_type_at_the_root() {
    for (record, got) in [
        (json!([1]), "array"),
        (json!("x"), "string"),
        (json!(null), "null"),
    ] {
        only(
            record,
            InvalidType,
            "",
            &format!("expected object, got {got}"),
        );
    }
}

#[test]
fn unknown_properties_are_one_not_passed_error_listing_every_key() {
    only(
        json!({ "email": "jo@example.org", "Id": "x", "Given Name": "Jo" }),
        NotPassed,
        "",
        "Id, Given Name: additional properties not allowed",
    );
    // A plaintext password is an unknown property too.
    only(
        with("password", json!("hunter2")),
        NotPassed,
        "",
        "password: additional properties not allowed",
    );
}

#[test]
fn read_only_profile_attributes_are_accepted_and_ignored() {
    let mut record = json!({ "email": "jo@example.org" });
    for (i, key) in READ_ONLY_PROPERTIES.iter().enumerate() {
        record[*key] = json!([i, { "any": "thing" }]);
    }
    let valid = ok(record);
    assert_eq!(valid.email, "jo@example.org");
}

#[test]
fn all_errors_of_a_record_are_reported_together() {
    let record = json!({
        "Id": 1,
        "blocked": "no",
        "given_name": "",
        "phone_number": "555",
        "user_metadata": { "a.b": 1 },
        "mfa_factors": [],
    });
    assert_eq!(
        errors(record),
        vec![
            err(NotPassed, "", "Id: additional properties not allowed"),
            err(ObjectRequired, "email", "email: required property missing"),
            err(
                InvalidType,
                "blocked",
                "blocked: expected boolean, got string"
            ),
            err(MinLength, "given_name", "given_name: must not be empty"),
            err(
                Pattern,
                "phone_number",
                r"phone_number: must match ^\+[0-9]{1,15}$"
            ),
            err(
                Format,
                r#"user_metadata["a.b"]"#,
                r#"user_metadata["a.b"]: key must not contain ".""#
            ),
            err(
                ArrayLengthShort,
                "mfa_factors",
                "mfa_factors: must contain at least 1 item"
            ),
        ]
    );
}

#[test]
fn a_full_valid_record_is_normalised() {
    let valid = ok(json!({
        "email": "Jo.Nordmann@Example.ORG",
        "email_verified": true,
        "phone_number": "+4712345678",
        "phone_verified": false,
        "user_id": "auth0|Legacy-42",
        "username": "Jo_Nordmann",
        "given_name": "Jo",
        "family_name": "Nordmann",
        "name": "Jo Nordmann",
        "nickname": "jo",
        "picture": "https://example.org/jo.png",
        "blocked": false,
        "password_hash": BCRYPT,
        "user_metadata": { "theme": "dark" },
        "app_metadata": {},
        "mfa_factors": [{ "totp": { "secret": "JBTWY3DPEHPK3PNP" } }],
        "created_at": "2020-01-01T00:00:00.000Z",
    }));
    assert_eq!(valid.email, "jo.nordmann@example.org");
    assert_eq!(valid.email_verified, Some(true));
    assert_eq!(valid.phone_number.as_deref(), Some("+4712345678"));
    assert_eq!(valid.phone_verified, Some(false));
    assert_eq!(valid.user_id.as_deref(), Some("Legacy-42"));
    assert_eq!(valid.username.as_deref(), Some("jo_nordmann"));
    assert_eq!(valid.given_name.as_deref(), Some("Jo"));
    assert_eq!(valid.family_name.as_deref(), Some("Nordmann"));
    assert_eq!(valid.name.as_deref(), Some("Jo Nordmann"));
    assert_eq!(valid.nickname.as_deref(), Some("jo"));
    assert_eq!(valid.picture.as_deref(), Some("https://example.org/jo.png"));
    assert_eq!(valid.blocked, Some(false));
    assert_eq!(valid.password_hash.as_deref(), Some(BCRYPT));
    assert!(valid.custom_password_hash.is_none());
    assert_eq!(
        valid.user_metadata.as_ref().map(raw),
        Some(Some(r#"{"theme":"dark"}"#))
    );
    assert!(matches!(valid.app_metadata, Some(None)));
    assert_eq!(
        raw(&valid.mfa_factors),
        Some(r#"[{"totp":{"secret":"JBTWY3DPEHPK3PNP"}}]"#)
    );
}

#[test]
fn absent_properties_are_none() {
    let valid = ok(json!({ "email": "jo@example.org" }));
    assert!(valid.user_id.is_none() && valid.username.is_none() && valid.email_verified.is_none());
    assert!(valid.user_metadata.is_none() && valid.app_metadata.is_none());
    assert!(valid.password_hash.is_none() && valid.custom_password_hash.is_none());
    assert!(valid.mfa_factors.is_none() && valid.blocked.is_none() && valid.picture.is_none());
}

// ---- email ----------------------------------------------------------------------------

#[test]
fn email_is_required() {
    only(
        json!({ "given_name": "Jo" }),
        ObjectRequired,
        "email",
        "email: required property missing",
    );
}

#[test]
fn email_must_be_a_string() {
    only(
        json!({ "email": 5 }),
        InvalidType,
        "email",
        "email: expected string, got number",
    );
}

#[test]
fn email_syntax() {
    let valid = [
        "jo@example.org",
        "a@b.co",
        "first.last+tag@sub.example.co.uk",
        "!#$%&'*+-/=?^_`{|}~@example.org",
        r#""jo nordmann"@example.org"#,
        r#""a@b"@example.org"#,
        r#""quoted\"quote"@example.org"#,
        "jo@bücher.example",
        "jo@xn--bcher-kva.example",
        "jo@例え.テスト",
        "jo@a-b.example",
    ];
    for email in valid {
        assert!(email::is_valid(email), "{email} should be valid");
        ok(json!({ "email": email }));
    }
    let long_local = format!("{}@example.org", "a".repeat(65));
    let long_total = format!(
        "{}@{}.example.org",
        "a".repeat(64),
        vec!["b".repeat(60); 4].join(".")
    );
    let long_label = format!("jo@{}.org", "b".repeat(64));
    let invalid = [
        "",
        "jo",
        "@example.org",
        "jo@",
        "jo@@example.org",
        "jo@ex@ample.org",
        "jo@localhost",
        " jo@example.org",
        "jo@example.org ",
        "jo@example.org\n",
        "jo nordmann@example.org",
        ".jo@example.org",
        "jo.@example.org",
        "j..o@example.org",
        "jö@example.org",
        "jo@.example.org",
        "jo@example.org.",
        "jo@example..org",
        "jo@-example.org",
        "jo@example-.org",
        "jo@exa_mple.org",
        "jo@[192.168.0.1]",
        "jo@192.168.0.1",
        "jo@exa😀mple.org",
        r#""unterminated@example.org"#,
        r#""a"b@example.org"#,
        &long_local,
        &long_total,
        &long_label,
    ];
    for email in invalid {
        assert!(!email::is_valid(email), "{email:?} should be invalid");
        only(
            json!({ "email": email }),
            Format,
            "email",
            "email: not a valid email address",
        );
    }
    // The bounds themselves are fine.
    let max_local = format!("{}@example.org", "a".repeat(64));
    assert!(email::is_valid(&max_local));
    let max_total = format!(
        "{}@{}.org",
        "a".repeat(64),
        vec!["b".repeat(61); 3].join(".")
    );
    assert_eq!(max_total.len(), 254);
    assert!(email::is_valid(&max_total));
    assert!(!email::is_valid(&format!("{max_total}g")));
}

#[test]
fn email_is_lower_cased() {
    assert_eq!(
        ok(json!({ "email": "Jo@BÜCHER.Example" })).email,
        "jo@bücher.example"
    );
}

#[test]
fn a_huge_email_is_rejected_quickly() {
    let huge = format!("{}@example.org", "a".repeat(10 << 20));
    let record = json!({ "email": huge });
    let started = Instant::now();
    let result = check(&record);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        result.unwrap_err(),
        vec![err(Format, "email", "email: not a valid email address")]
    );
}

// ---- booleans -------------------------------------------------------------------------

#[test]
fn booleans_must_be_booleans() {
    only(
        with("blocked", json!("true")),
        InvalidType,
        "blocked",
        "blocked: expected boolean, got string",
    );
    only(
        with("email_verified", json!(1)),
        InvalidType,
        "email_verified",
        "email_verified: expected boolean, got number",
    );
    only(
        with("phone_verified", json!(null)),
        InvalidType,
        "phone_verified",
        "phone_verified: expected boolean, got null",
    );
    assert_eq!(ok(with("blocked", json!(true))).blocked, Some(true));
}

// ---- username -------------------------------------------------------------------------

#[test]
fn username_length_is_1_to_128() {
    only(
        with("username", json!("")),
        MinLength,
        "username",
        "username: must not be empty",
    );
    only(
        with("username", json!("a".repeat(129))),
        MaxLength,
        "username",
        "username: longer than 128 characters",
    );
    assert_eq!(
        ok(with("username", json!("A".repeat(128)))).username,
        Some("a".repeat(128))
    );
}

#[test]
fn username_charset() {
    let message = "username: may contain only letters a-z, digits and @`^$!-#.+'~_";
    for bad in ["jo nordmann", "jøran", "jo/nordmann", "jo\u{0}", "jo,n"] {
        only(with("username", json!(bad)), Format, "username", message);
    }
    let valid = ok(with("username", json!("Jo.N@`^$!-#+'~_9")));
    assert_eq!(valid.username.as_deref(), Some("jo.n@`^$!-#+'~_9"));
}

#[test]
fn username_must_not_be_an_email_address() {
    only(
        with("username", json!("jo@example.org")),
        Format,
        "username",
        "username: must not be an email address",
    );
    // An @ alone does not make an email address.
    assert_eq!(
        ok(with("username", json!("jo@home"))).username.as_deref(),
        Some("jo@home")
    );
}

#[test]
fn username_must_be_a_string() {
    only(
        with("username", json!(["jo"])),
        InvalidType,
        "username",
        "username: expected string, got array",
    );
}

// ---- names, nickname, picture ---------------------------------------------------------

#[test]
fn profile_strings_are_counted_in_characters() {
    for (key, max) in [
        ("given_name", 150),
        ("family_name", 150),
        ("name", 150),
        ("nickname", 350),
        ("picture", 2048),
    ] {
        only(
            with(key, json!("")),
            MinLength,
            key,
            &format!("{key}: must not be empty"),
        );
        // Multi-byte characters count once each.
        let at_max = "é".repeat(max);
        let valid = ok(with(key, json!(at_max)));
        let kept = match key {
            "given_name" => valid.given_name,
            "family_name" => valid.family_name,
            "name" => valid.name,
            "nickname" => valid.nickname,
            _ => valid.picture,
        };
        assert_eq!(kept.as_deref(), Some(at_max.as_str()));
        only(
            with(key, json!("😀".repeat(max + 1))),
            MaxLength,
            key,
            &format!("{key}: longer than {max} characters"),
        );
        only(
            with(key, json!(7)),
            InvalidType,
            key,
            &format!("{key}: expected string, got number"),
        );
    }
    // Any UTF-8, control characters included.
    ok(with("given_name", json!("\u{0}\n\t")));
}

#[test]
fn a_10_mb_given_name_is_rejected_quickly() {
    let record = with("given_name", json!("x".repeat(10 << 20)));
    let started = Instant::now();
    let result = check(&record);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        result.unwrap_err(),
        vec![err(
            MaxLength,
            "given_name",
            "given_name: longer than 150 characters"
        )]
    );
}

// ---- phone ----------------------------------------------------------------------------

#[test]
fn phone_number_must_match_the_e164_pattern() {
    for bad in [
        "",
        "+",
        "12125550001",
        "+1 212 555",
        "+1234567890123456",
        "+12a",
        "++1",
        "+١٢٣",
    ] {
        only(
            with("phone_number", json!(bad)),
            Pattern,
            "phone_number",
            r"phone_number: must match ^\+[0-9]{1,15}$",
        );
    }
    for good in ["+1", "+123456789012345"] {
        assert_eq!(
            ok(with("phone_number", json!(good)))
                .phone_number
                .as_deref(),
            Some(good)
        );
    }
}

// ---- user_id --------------------------------------------------------------------------

#[test]
fn user_id_loses_one_auth0_prefix() {
    assert_eq!(
        ok(with("user_id", json!("auth0|abc123")))
            .user_id
            .as_deref(),
        Some("abc123")
    );
    assert_eq!(
        ok(with("user_id", json!("abc123"))).user_id.as_deref(),
        Some("abc123")
    );
    assert_eq!(
        ok(with("user_id", json!("Auth0-x"))).user_id.as_deref(),
        Some("Auth0-x")
    );
}

#[test]
fn user_id_of_another_connection_kind_is_rejected() {
    let message = "user_id: only database-connection ids can be imported";
    for bad in ["google-oauth2|1234", "auth0|auth0|abc", "a\u{7}b", "ab\n"] {
        only(with("user_id", json!(bad)), Format, "user_id", message);
    }
}

#[test]
fn user_id_length_is_1_to_255_after_stripping() {
    only(
        with("user_id", json!("")),
        MinLength,
        "user_id",
        "user_id: must not be empty",
    );
    only(
        with("user_id", json!("auth0|")),
        MinLength,
        "user_id",
        "user_id: must not be empty",
    );
    only(
        with("user_id", json!("x".repeat(256))),
        MaxLength,
        "user_id",
        "user_id: longer than 255 characters",
    );
    let max = "ü".repeat(255);
    assert_eq!(
        ok(with("user_id", json!(format!("auth0|{max}")))).user_id,
        Some(max)
    );
    only(
        with("user_id", json!(42)),
        InvalidType,
        "user_id",
        "user_id: expected string, got number",
    );
}

// ---- metadata -------------------------------------------------------------------------

#[test]
fn metadata_must_be_objects() {
    only(
        with("user_metadata", json!(["a"])),
        InvalidType,
        "user_metadata",
        "user_metadata: expected object, got array",
    );
    only(
        with("app_metadata", json!(null)),
        InvalidType,
        "app_metadata",
        "app_metadata: expected object, got null",
    );
}

#[test]
fn metadata_keys_must_not_contain_dots_at_any_depth() {
    let record = json!({
        "email": "jo@example.org",
        "user_metadata": {
            "a.b": 1,
            "prefs": { "ok": true, "x.y": { "deeper.still": [] } },
            "list": [0, { "in.array": 1 }, [{ "nested.array": 2 }]],
            "q\"uote.d": 3,
        },
        "app_metadata": { "roles": [{ "v.1": "admin" }] },
    });
    let problem = r#"key must not contain ".""#;
    let expected: Vec<RecordError> = [
        r#"user_metadata["a.b"]"#,
        r#"user_metadata.prefs["x.y"]"#,
        r#"user_metadata.prefs["x.y"]["deeper.still"]"#,
        r#"user_metadata.list[1]["in.array"]"#,
        r#"user_metadata.list[2][0]["nested.array"]"#,
        r#"user_metadata["q\"uote.d"]"#,
        r#"app_metadata.roles[0]["v.1"]"#,
    ]
    .into_iter()
    .map(|path| err(Format, path, &format!("{path}: {problem}")))
    .collect();
    assert_eq!(errors(record), expected);
    // Dots in values are fine, and so is `$`.
    ok(with(
        "user_metadata",
        json!({ "$site": "a.b.c", "list": ["x.y"] }),
    ));
}

#[test]
fn metadata_is_kept_as_compact_json_in_the_given_key_order() {
    let valid = ok(json!({
        "email": "jo@example.org",
        "user_metadata": { "z": 1, "a": { "y": [1, 2.5, "ü\n"], "b": null } },
        "app_metadata": { "roles": ["admin"], "plan": "pro" },
    }));
    assert_eq!(
        valid.user_metadata.as_ref().map(raw),
        Some(Some(r#"{"z":1,"a":{"y":[1,2.5,"ü\n"],"b":null}}"#))
    );
    assert_eq!(
        valid.app_metadata.as_ref().map(raw),
        Some(Some(r#"{"roles":["admin"],"plan":"pro"}"#))
    );
}

#[test]
fn empty_metadata_clears() {
    let valid = ok(json!({ "email": "jo@example.org", "user_metadata": {}, "app_metadata": {} }));
    assert!(matches!(valid.user_metadata, Some(None)));
    assert!(matches!(valid.app_metadata, Some(None)));
}

#[test]
fn forbidden_app_metadata_keys_are_not_passed() {
    for key in FORBIDDEN_APP_METADATA_KEYS {
        only(
            with("app_metadata", json!({ "plan": "pro", key: 1 })),
            NotPassed,
            &format!("app_metadata.{key}"),
            &format!("app_metadata: forbidden attribute \"{key}\""),
        );
    }
    // Case-sensitive, top level only, app_metadata only.
    ok(with(
        "app_metadata",
        json!({ "Blocked": 1, "EMAIL": 2, "nested": { "blocked": true } }),
    ));
    ok(with(
        "user_metadata",
        json!({ "blocked": true, "user_id": "x" }),
    ));
    // All of them at once: one error each, in record order.
    let all: Map<String, Value> = FORBIDDEN_APP_METADATA_KEYS
        .iter()
        .map(|k| (k.to_string(), json!(1)))
        .collect();
    assert_eq!(errors(with("app_metadata", Value::Object(all))).len(), 18);
}

#[test]
fn metadata_size_limit_blames_the_property_that_pushes_it_over() {
    // {"k":"aaaaaaaaaa"} is 18 bytes.
    let big = json!({ "k": "aaaaaaaaaa" });
    let limits = ValidationLimits {
        metadata_max_bytes: 30,
    };
    let run = |record: Value| validate(&record, &limits);

    let record = json!({ "email": "jo@example.org", "user_metadata": big, "app_metadata": big });
    assert_eq!(
        run(record).unwrap_err(),
        vec![err(
            MaxLength,
            "app_metadata",
            "app_metadata: app_metadata and user_metadata together exceed 30 bytes"
        )]
    );
    let record = json!({ "email": "jo@example.org", "app_metadata": big, "user_metadata": big });
    assert_eq!(
        run(record).unwrap_err(),
        vec![err(
            MaxLength,
            "user_metadata",
            "user_metadata: app_metadata and user_metadata together exceed 30 bytes"
        )]
    );
    // One alone can be too large.
    let huge = json!({ "k": "a".repeat(40) });
    let record = json!({ "email": "jo@example.org", "user_metadata": huge, "app_metadata": {} });
    assert_eq!(run(record).unwrap_err()[0].path, "user_metadata");
    // Exactly at the limit is fine; `{}` adds nothing.
    let limits = ValidationLimits {
        metadata_max_bytes: 36,
    };
    let record = json!({ "email": "jo@example.org", "user_metadata": big, "app_metadata": big });
    assert!(validate(&record, &limits).is_ok());
    assert_eq!(
        ValidationLimits::default().metadata_max_bytes,
        16 * 1024 * 1024
    );
}

#[test]
fn metadata_nesting_is_limited_and_walked_without_recursion() {
    // At the limit: fine (the record itself is one more level, as serde_json's reader allows).
    let record = with("user_metadata", nested(MAX_NESTING));
    let text = serde_json::to_string(&record).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok());
    ok(record);
    only(
        with("user_metadata", nested(MAX_NESTING + 1)),
        MaxLength,
        "user_metadata",
        "user_metadata: nested deeper than 126 levels",
    );
    // Far deeper than any stack could recurse, on a small stack.
    let deep = with("app_metadata", nested(200_000));
    let deep = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let result = check(&deep);
            let masked = mask_secrets(&deep);
            let keys = match_keys(&deep);
            (result.map(|_| ()), deep, masked, keys)
        })
        .unwrap()
        .join()
        .unwrap();
    let (result, deep, masked, keys) = deep;
    assert_eq!(
        result.unwrap_err(),
        vec![err(
            MaxLength,
            "app_metadata",
            "app_metadata: nested deeper than 126 levels"
        )]
    );
    assert_eq!(keys.email.as_deref(), Some("jo@example.org"));
    dismantle(deep);
    dismantle(masked);
}

// ---- password_hash / custom_password_hash ---------------------------------------------

#[test]
fn password_hash_is_checked_by_the_passwords_crate() {
    assert_eq!(
        ok(with("password_hash", json!(BCRYPT)))
            .password_hash
            .as_deref(),
        Some(BCRYPT)
    );
    only(
        with("password_hash", json!({ "value": BCRYPT })),
        InvalidType,
        "password_hash",
        "password_hash: expected string, got object",
    );
    // Whatever `is_bcrypt` rejects is FORMAT (the stub accepts everything for now).
    for candidate in ["not a hash", "$2a$10$short", "$1$abc$def"] {
        let result = check(&with("password_hash", json!(candidate)));
        if is_bcrypt(candidate) {
            assert!(result.is_ok());
        } else {
            assert_eq!(
                result.unwrap_err(),
                vec![err(
                    Format,
                    "password_hash",
                    "password_hash: not a valid bcrypt hash"
                )]
            );
        }
    }
}

#[test]
fn password_hash_and_custom_password_hash_exclude_each_other() {
    let mut record = with("password_hash", json!(BCRYPT));
    record["custom_password_hash"] = spec_examples()[2]["custom_password_hash"].clone();
    only(
        record,
        NotPassed,
        "",
        "password_hash, custom_password_hash: only one of them may be given",
    );
}

#[test]
fn custom_password_hash_errors_come_from_custom_hash_parse() {
    let candidates = [
        json!({ "algorithm": "md5", "hash": "5f4dcc3b5aa765d61d8327deb882cf99", "salt_prefix": "x" }),
        json!({ "algorithm": "rot13", "hash": { "value": "x" } }),
        json!("not an object"),
        json!({ "algorithm": "sha256", "hash": { "value": "zz", "encoding": "hex" }, "extra": 1 }),
    ];
    for value in candidates {
        let result = check(&with("custom_password_hash", value.clone()));
        match CustomHash::parse(&value) {
            Ok(_) => {
                let valid = result.unwrap();
                assert_eq!(
                    raw(&valid.custom_password_hash),
                    Some(serde_json::to_string(&value).unwrap().as_str())
                );
            }
            Err(expected) => assert_eq!(result.unwrap_err(), expected),
        }
    }
}

/// The three valid records of `user-schema.md` §5.4.
fn spec_examples() -> Vec<Value> {
    let text = r#"[
      {
        "email": "ola.nordmann@example.org",
        "custom_password_hash": {
          "algorithm": "scrypt",
          "hash": { "value": "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5", "encoding": "hex" },
          "salt": { "value": "s4lt", "encoding": "utf8" },
          "keylen": 32,
          "cost": 4096
        }
      },
      {
        "email": "kari.nordmann@example.org",
        "custom_password_hash": {
          "algorithm": "hmac",
          "hash": {
            "value": "qZTOrD58qwQtPN/IgddfTV0NAvM=",
            "encoding": "base64",
            "digest": "sha1",
            "key": { "value": "6b6579", "encoding": "hex" }
          }
        }
      },
      {
        "email": "per.hansen@example.org",
        "custom_password_hash": {
          "algorithm": "sha256",
          "hash": { "value": "9f2792e92746a08c7955dae87ecb8d62f2eac2e478b81891d347c303cc902ab0", "encoding": "hex" },
          "salt": { "value": "abc", "position": "prefix" }
        }
      }
    ]"#;
    match serde_json::from_str(text).unwrap() {
        Value::Array(records) => records,
        _ => unreachable!(),
    }
}

#[test]
fn the_spec_example_records_are_valid_and_kept_verbatim() {
    let expected = [
        r#"{"algorithm":"scrypt","hash":{"value":"6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5","encoding":"hex"},"salt":{"value":"s4lt","encoding":"utf8"},"keylen":32,"cost":4096}"#,
        r#"{"algorithm":"hmac","hash":{"value":"qZTOrD58qwQtPN/IgddfTV0NAvM=","encoding":"base64","digest":"sha1","key":{"value":"6b6579","encoding":"hex"}}}"#,
        r#"{"algorithm":"sha256","hash":{"value":"9f2792e92746a08c7955dae87ecb8d62f2eac2e478b81891d347c303cc902ab0","encoding":"hex"},"salt":{"value":"abc","position":"prefix"}}"#,
    ];
    for (record, expected) in spec_examples().iter().zip(expected) {
        let valid = ok(record.clone());
        assert_eq!(valid.email, record["email"]);
        assert_eq!(raw(&valid.custom_password_hash), Some(expected));
        assert!(valid.password_hash.is_none());
    }
}

// ---- mfa_factors ----------------------------------------------------------------------

fn mfa(factors: Value) -> Value {
    with("mfa_factors", factors)
}

#[test]
fn mfa_factors_must_be_an_array_of_1_to_10() {
    only(
        mfa(json!({ "totp": {} })),
        InvalidType,
        "mfa_factors",
        "mfa_factors: expected array, got object",
    );
    only(
        mfa(json!([])),
        ArrayLengthShort,
        "mfa_factors",
        "mfa_factors: must contain at least 1 item",
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({ "phone": { "value": format!("+4712345{i:03}") } }))
        .collect();
    only(
        mfa(json!(eleven)),
        ArrayLengthLong,
        "mfa_factors",
        "mfa_factors: more than 10 items",
    );
    ok(mfa(json!(eleven[..10])));
}

#[test]
fn an_mfa_item_must_be_an_object() {
    only(
        mfa(json!(["totp"])),
        InvalidType,
        "mfa_factors[0]",
        "mfa_factors[0]: expected object, got string",
    );
}

#[test]
fn an_mfa_item_needs_one_of_the_kinds() {
    let factors =
        json!([{ "phone": { "value": "+4712345678" } }, { "email": { "value": "a@b.co" } }, {}]);
    only(
        mfa(factors),
        AnyOfMissing,
        "mfa_factors[2]",
        "mfa_factors[2]: must contain one of totp, phone, email",
    );
}

#[test]
fn an_mfa_item_with_two_kinds_is_not_passed() {
    let factors =
        json!([{ "totp": { "secret": "JBTWY3DPEHPK3PNP" }, "phone": { "value": "+4712345678" } }]);
    only(
        mfa(factors),
        NotPassed,
        "mfa_factors[0]",
        "mfa_factors[0]: must contain exactly one of totp, phone, email",
    );
}

#[test]
fn unknown_keys_in_an_mfa_factor_are_not_passed() {
    let factors = json!([{ "totp": { "secret": "JBTWY3DPEHPK3PNP" }, "sms": {} }]);
    only(
        mfa(factors),
        NotPassed,
        "mfa_factors[0]",
        "mfa_factors[0]: additional properties not allowed: sms",
    );
    let factors = json!([{ "totp": { "secret": "JBTWY3DPEHPK3PNP", "issuer": "x", "digits": 6 } }]);
    only(
        mfa(factors),
        NotPassed,
        "mfa_factors[0].totp",
        "mfa_factors[0].totp: additional properties not allowed: issuer, digits",
    );
}

#[test]
fn mfa_factor_values_are_required() {
    for (kind, field) in [("totp", "secret"), ("phone", "value"), ("email", "value")] {
        let path = format!("mfa_factors[0].{kind}.{field}");
        only(
            mfa(json!([{ kind: {} }])),
            ObjectRequired,
            &path,
            &format!("{path}: required property missing"),
        );
        only(
            mfa(json!([{ kind: { field: 1 } }])),
            InvalidType,
            &path,
            &format!("{path}: expected string, got number"),
        );
        only(
            mfa(json!([{ kind: "x" }])),
            InvalidType,
            &format!("mfa_factors[0].{kind}"),
            &format!("mfa_factors[0].{kind}: expected object, got string"),
        );
    }
}

#[test]
fn totp_secrets_are_unpadded_base32() {
    for bad in [
        "",
        "jbtwy3dpehpk3pnp",
        "JBTWY3DPEHPK3PN=",
        "JBTW Y3DP",
        "ABC018",
    ] {
        only(
            mfa(json!([{ "totp": { "secret": bad } }])),
            Pattern,
            "mfa_factors[0].totp.secret",
            "mfa_factors[0].totp.secret: must match ^[A-Z2-7]+$",
        );
    }
}

#[test]
fn mfa_phone_values_match_the_e164_pattern() {
    only(
        mfa(json!([{ "email": { "value": "a@b.co" } }, { "phone": { "value": "0047 1234" } }])),
        Pattern,
        "mfa_factors[1].phone.value",
        r"mfa_factors[1].phone.value: must match ^\+[0-9]{1,15}$",
    );
}

#[test]
fn mfa_email_values_are_email_addresses() {
    only(
        mfa(json!([{ "email": { "value": "not an address" } }])),
        Format,
        "mfa_factors[0].email.value",
        "mfa_factors[0].email.value: not a valid email address",
    );
}

#[test]
fn mfa_factors_that_cannot_be_stored_together_fail() {
    let totp = json!({ "totp": { "secret": "JBTWY3DPEHPK3PNP" } });
    let other_totp = json!({ "totp": { "secret": "ABCDEFGH" } });
    only(
        mfa(json!([totp, other_totp])),
        MfaFactorsFailed,
        "mfa_factors",
        "mfa_factors: more than one totp factor",
    );
    let factors = json!([
        { "phone": { "value": "+4712345678" } },
        { "email": { "value": "Jo@Example.org" } },
        { "phone": { "value": "+4712345678" } },
        { "email": { "value": "jo@example.ORG" } },
        { "phone": { "value": "+4787654321" } },
    ]);
    assert_eq!(
        errors(mfa(factors)),
        vec![
            err(
                MfaFactorsFailed,
                "mfa_factors",
                "mfa_factors: items 0 and 2 are the same phone factor"
            ),
            err(
                MfaFactorsFailed,
                "mfa_factors",
                "mfa_factors: items 1 and 3 are the same email factor"
            ),
        ]
    );
    // Only factors that are valid one by one are compared.
    let factors = json!([totp, { "totp": { "secret": "bad" } }]);
    assert_eq!(errors(mfa(factors)).len(), 1);
}

#[test]
fn valid_mfa_factors_are_kept_as_given() {
    let factors = json!([
        { "totp": { "secret": "JBTWY3DPEHPK3PNP" } },
        { "phone": { "value": "+12125550001" } },
        { "email": { "value": "MFA@example.com" } },
    ]);
    let valid = ok(mfa(factors.clone()));
    assert_eq!(
        raw(&valid.mfa_factors),
        Some(serde_json::to_string(&factors).unwrap().as_str())
    );
}

// ---- mask_secrets ---------------------------------------------------------------------

#[test]
fn mask_secrets_hides_every_secret_kind() {
    let secrets = [
        "PWHASHSECRET",
        "HASHVALUESECRET",
        "HMACKEYSECRET",
        "SALTSECRET",
        "TOTPSECRETONE",
        "TOTPSECRETTWO",
        "PLAINTEXTTOP",
        "PLAINTEXTDEEP",
        "PLAINTEXTCASE",
        "PLAINTEXTOBJ",
    ];
    let record = json!({
        "email": "Jo@Example.org",
        "user_id": "auth0|abc",
        "password_hash": "PWHASHSECRET",
        "password": "PLAINTEXTTOP",
        "custom_password_hash": {
            "algorithm": "hmac",
            "hash": {
                "value": "HASHVALUESECRET",
                "encoding": "base64",
                "digest": "sha1",
                "key": { "value": "HMACKEYSECRET", "encoding": "utf8" }
            },
            "salt": { "value": "SALTSECRET", "position": "suffix" },
            "password": { "encoding": "utf8" }
        },
        "mfa_factors": [
            { "totp": { "secret": "TOTPSECRETONE" } },
            { "phone": { "value": "+4712345678" } },
            { "totp": { "secret": "TOTPSECRETTWO" } }
        ],
        "user_metadata": {
            "old": [{ "login": { "password": "PLAINTEXTDEEP" } }],
            "Password": "PLAINTEXTCASE",
            "PASSWORD": { "v": "PLAINTEXTOBJ" }
        }
    });
    let before = record.clone();
    let masked = mask_secrets(&record);
    assert_eq!(record, before, "the input is untouched");
    let text = serde_json::to_string(&masked).unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} survived in {text}");
    }
    let expected = json!({
        "email": "Jo@Example.org",
        "user_id": "auth0|abc",
        "password_hash": MASK,
        "password": MASK,
        "custom_password_hash": {
            "algorithm": "hmac",
            "hash": {
                "value": MASK,
                "encoding": "base64",
                "digest": "sha1",
                "key": { "value": MASK, "encoding": "utf8" }
            },
            "salt": { "value": MASK, "position": "suffix" },
            "password": MASK
        },
        "mfa_factors": [
            { "totp": { "secret": MASK } },
            { "phone": { "value": "+4712345678" } },
            { "totp": { "secret": MASK } }
        ],
        "user_metadata": {
            "old": [{ "login": { "password": MASK } }],
            "Password": MASK,
            "PASSWORD": MASK
        }
    });
    assert_eq!(masked, expected);
    // Key order is kept.
    assert_eq!(text, serde_json::to_string(&expected).unwrap());
}

#[test]
fn mask_secrets_hides_secrets_in_misshapen_records() {
    let record = json!({
        "password_hash": { "nested": "PWHASHSECRET" },
        "custom_password_hash": { "hash": "LEGACYHASH", "salt_prefix": "LEGACYSALTA", "salt_suffix": "LEGACYSALTB", "salt": "BARESALT" },
        "mfa_factors": [{ "totp": "BARETOTP" }, "STRINGFACTOR", null, { "totp": { "secret": 12345 } }],
    });
    let text = serde_json::to_string(&mask_secrets(&record)).unwrap();
    for secret in [
        "PWHASHSECRET",
        "LEGACY",
        "BARESALT",
        "BARETOTP",
        "STRINGFACTOR",
        "12345",
    ] {
        assert!(!text.contains(secret), "{secret} survived in {text}");
    }
    assert!(text.contains("null"));
    let record = json!({ "custom_password_hash": "FLATSECRET", "mfa_factors": { "totp": { "secret": "OBJTOTP" } } });
    let text = serde_json::to_string(&mask_secrets(&record)).unwrap();
    assert!(
        !text.contains("FLATSECRET") && !text.contains("OBJTOTP"),
        "{text}"
    );
    // Records that are not objects come back as they are (with passwords masked).
    assert_eq!(mask_secrets(&json!("x")), json!("x"));
    assert_eq!(
        mask_secrets(&json!([{ "password": "p" }])),
        json!([{ "password": MASK }])
    );
}

// ---- match_keys -----------------------------------------------------------------------

#[test]
fn match_keys_are_normalised() {
    let keys = match_keys(&json!({
        "email": "Jo@Example.ORG",
        "user_id": "auth0|Abc",
        "username": "Jo_N",
        "given_name": "ignored",
    }));
    assert_eq!(
        keys,
        MatchKeys {
            email: Some("jo@example.org".into()),
            user_id: Some("Abc".into()),
            username: Some("jo_n".into()),
        }
    );
    // Best effort on invalid records: no validation, one prefix stripped, non-strings are None.
    let keys = match_keys(
        &json!({ "email": " Not An Email ", "user_id": "auth0|auth0|x", "username": 5 }),
    );
    assert_eq!(keys.email.as_deref(), Some(" not an email "));
    assert_eq!(keys.user_id.as_deref(), Some("auth0|x"));
    assert_eq!(keys.username, None);
    assert_eq!(match_keys(&json!({})), MatchKeys::default());
    assert_eq!(match_keys(&json!(["jo@example.org"])), MatchKeys::default());
}

#[test]
fn match_keys_agree_with_validate() {
    let record = json!({ "email": "Jo@Example.org", "user_id": "auth0|X1", "username": "JoN" });
    let valid = ok(record.clone());
    let keys = match_keys(&record);
    assert_eq!(keys.email.as_deref(), Some(valid.email.as_str()));
    assert_eq!(keys.user_id, valid.user_id);
    assert_eq!(keys.username, valid.username);
}
