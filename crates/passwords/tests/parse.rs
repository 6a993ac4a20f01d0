//! `CustomHash::parse`: every rule of `user-schema.md` §5 and its error code (§8).

use serde_json::{Value, json};
use userbridge_model::{ErrorCode, RecordError};
use userbridge_passwords::{CustomHash, PasswordError};

const MD5_HEX: &str = "5f4dcc3b5aa765d61d8327deb882cf99"; // md5("password")
const BCRYPT: &str = "$2b$04$abcdefghijklmnopqrstuuyvPXIbu7xe6/CED2DzX8z6Si09MlzlW";
const ARGON2: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$x2Rr1eHd8Wd9qwDqXzqNYQ";

fn errors(value: Value) -> Vec<RecordError> {
    match CustomHash::parse(&value) {
        Ok(hash) => panic!("expected errors, parsed {hash:?} from {value}"),
        Err(errors) => {
            for e in &errors {
                assert!(e.path.starts_with("custom_password_hash"), "{e:?}");
                assert!(e.message.starts_with(&format!("{}: ", e.path)), "{e:?}");
            }
            errors
        }
    }
}

/// `(code, path)` of every error.
fn codes(value: Value) -> Vec<(ErrorCode, String)> {
    errors(value)
        .into_iter()
        .map(|e| (e.code, e.path))
        .collect()
}

fn one(value: Value) -> RecordError {
    let mut errors = errors(value);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

fn expect(value: Value, code: ErrorCode, path: &str) {
    assert_eq!(codes(value), vec![(code, path.to_string())]);
}

fn ok(value: Value) -> CustomHash {
    match CustomHash::parse(&value) {
        Ok(hash) => hash,
        Err(errors) => panic!("{value} rejected: {errors:?}"),
    }
}

fn md5(extra: Value) -> Value {
    let mut base = json!({"algorithm": "md5", "hash": {"value": MD5_HEX, "encoding": "hex"}});
    merge(&mut base, extra);
    base
}

fn merge(base: &mut Value, extra: Value) {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        for (k, v) in extra {
            match (base.get_mut(&k), v) {
                (Some(existing @ Value::Object(_)), v @ Value::Object(_)) => merge(existing, v),
                (_, v) => {
                    base.insert(k, v);
                }
            }
        }
    }
}

use ErrorCode::*;

#[test]
fn minimal_valid_records_of_every_algorithm() {
    let sha = |n: usize| "ab".repeat(n);
    let cases = [
        (
            "argon2",
            json!({"algorithm": "argon2", "hash": {"value": ARGON2}}),
        ),
        (
            "bcrypt",
            json!({"algorithm": "bcrypt", "hash": {"value": BCRYPT}}),
        ),
        (
            "hmac",
            json!({"algorithm": "hmac", "hash": {"value": sha(32), "encoding": "hex", "digest": "sha256", "key": {"value": "k"}}}),
        ),
        (
            "ldap",
            json!({"algorithm": "ldap", "hash": {"value": "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
        ),
        (
            "md4",
            json!({"algorithm": "md4", "hash": {"value": sha(16), "encoding": "hex"}}),
        ),
        (
            "md5",
            json!({"algorithm": "md5", "hash": {"value": sha(16), "encoding": "hex"}}),
        ),
        (
            "sha1",
            json!({"algorithm": "sha1", "hash": {"value": sha(20), "encoding": "hex"}}),
        ),
        (
            "sha256",
            json!({"algorithm": "sha256", "hash": {"value": sha(32), "encoding": "hex"}}),
        ),
        (
            "sha512",
            json!({"algorithm": "sha512", "hash": {"value": sha(64), "encoding": "hex"}}),
        ),
        (
            "pbkdf2",
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=1,l=4$c2FsdA$AAECAw"}}),
        ),
        (
            "scrypt",
            json!({"algorithm": "scrypt", "hash": {"value": sha(8), "encoding": "hex"}, "keylen": 8}),
        ),
    ];
    for (name, value) in cases {
        assert_eq!(ok(value).algorithm(), name);
    }
}

#[test]
fn not_an_object() {
    for value in [json!("md5"), json!(null), json!([1]), json!(3), json!(true)] {
        let e = one(value);
        assert_eq!(
            (e.code, e.path.as_str()),
            (InvalidType, "custom_password_hash")
        );
        assert!(
            e.message
                .starts_with("custom_password_hash: expected object, got "),
            "{e:?}"
        );
    }
}

#[test]
fn required_top_level_properties() {
    let errors = errors(json!({}));
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.code, e.message.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                ObjectRequired,
                "custom_password_hash.algorithm: required property missing"
            ),
            (
                ObjectRequired,
                "custom_password_hash.hash: required property missing"
            ),
        ]
    );
    expect(
        json!({"algorithm": "md5", "hash": {"encoding": "hex"}}),
        ObjectRequired,
        "custom_password_hash.hash.value",
    );
}

#[test]
fn unknown_keys_are_listed_per_object() {
    let e = one(md5(json!({"Algorithm": "md5", "extra": 1})));
    assert_eq!(
        (e.code, e.path.as_str()),
        (NotPassed, "custom_password_hash")
    );
    assert_eq!(
        e.message,
        "custom_password_hash: Algorithm, extra: additional properties not allowed"
    );

    let e = one(md5(json!({"hash": {"Value": "x"}})));
    assert_eq!(
        (e.code, e.path.as_str()),
        (NotPassed, "custom_password_hash.hash")
    );
    assert_eq!(
        e.message,
        "custom_password_hash.hash: Value: additional properties not allowed"
    );

    expect(
        md5(json!({"salt": {"value": "s", "prefix": true}})),
        NotPassed,
        "custom_password_hash.salt",
    );
    expect(
        md5(json!({"password": {"encoding": "utf8", "normalize": "nfc"}})),
        NotPassed,
        "custom_password_hash.password",
    );
    let hmac = json!({"algorithm": "hmac", "hash": {"value": "ab".repeat(20), "encoding": "hex", "digest": "sha1",
        "key": {"value": "k", "encodign": "hex"}}});
    expect(hmac, NotPassed, "custom_password_hash.hash.key");
}

#[test]
fn legacy_flat_shape() {
    let errors = errors(
        json!({"algorithm": "md5", "hash": MD5_HEX, "encoding": "hex", "salt_prefix": "abc"}),
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].code, errors[0].path.as_str()),
        (NotPassed, "custom_password_hash")
    );
    assert_eq!(
        errors[0].message,
        "custom_password_hash: encoding, salt_prefix: additional properties not allowed"
    );
    assert_eq!(
        (errors[1].code, errors[1].path.as_str()),
        (InvalidType, "custom_password_hash.hash")
    );
    assert_eq!(
        errors[1].message,
        "custom_password_hash.hash: expected an object; the legacy flat shape (salt_prefix/salt_suffix) is not supported"
    );
    // A hash of another type is a plain type error.
    let e = one(json!({"algorithm": "md5", "hash": 5}));
    assert_eq!(
        e.message,
        "custom_password_hash.hash: expected object, got integer"
    );
}

#[test]
fn wrong_types() {
    let e = one(md5(json!({"algorithm": 5})));
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            InvalidType,
            "custom_password_hash.algorithm: expected string, got integer"
        )
    );
    expect(
        md5(json!({"hash": {"value": 5}})),
        InvalidType,
        "custom_password_hash.hash.value",
    );
    expect(
        md5(json!({"hash": {"encoding": ["hex"]}})),
        InvalidType,
        "custom_password_hash.hash.encoding",
    );
    expect(
        md5(json!({"salt": "abc"})),
        InvalidType,
        "custom_password_hash.salt",
    );
    expect(
        md5(json!({"salt": {"value": null}})),
        InvalidType,
        "custom_password_hash.salt.value",
    );
    expect(
        md5(json!({"salt": {"value": "a", "encoding": 1}})),
        InvalidType,
        "custom_password_hash.salt.encoding",
    );
    expect(
        md5(json!({"salt": {"value": "a", "position": false}})),
        InvalidType,
        "custom_password_hash.salt.position",
    );
    expect(
        md5(json!({"password": "utf8"})),
        InvalidType,
        "custom_password_hash.password",
    );
    expect(
        md5(json!({"password": {"encoding": {}}})),
        InvalidType,
        "custom_password_hash.password.encoding",
    );
}

#[test]
fn enum_mismatches() {
    for algorithm in ["MD5", "sha384", "crypt", ""] {
        let e = one(md5(json!({"algorithm": algorithm})));
        assert_eq!(
            (e.code, e.path.as_str()),
            (EnumMismatch, "custom_password_hash.algorithm")
        );
        assert_eq!(
            e.message,
            "custom_password_hash.algorithm: must be one of argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt"
        );
    }
    let e = one(md5(json!({"hash": {"encoding": "base32"}})));
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            EnumMismatch,
            "custom_password_hash.hash.encoding: must be one of base64, hex, utf8"
        )
    );
    expect(
        md5(json!({"salt": {"value": "a", "encoding": "HEX"}})),
        EnumMismatch,
        "custom_password_hash.salt.encoding",
    );
    expect(
        md5(json!({"salt": {"value": "a", "position": "middle"}})),
        EnumMismatch,
        "custom_password_hash.salt.position",
    );
    expect(
        md5(json!({"password": {"encoding": "utf-8"}})),
        EnumMismatch,
        "custom_password_hash.password.encoding",
    );
    let hmac = json!({"algorithm": "hmac", "hash": {"value": "ab".repeat(20), "encoding": "hex", "digest": "sha3-256",
        "key": {"value": "k", "encoding": "b64"}}});
    assert_eq!(
        codes(hmac),
        vec![
            (EnumMismatch, "custom_password_hash.hash.digest".into()),
            (
                EnumMismatch,
                "custom_password_hash.hash.key.encoding".into()
            )
        ]
    );
}

#[test]
fn every_password_encoding_is_accepted() {
    for encoding in ["ascii", "utf8", "utf16le", "ucs2", "latin1", "binary"] {
        ok(md5(json!({"password": {"encoding": encoding}})));
    }
    ok(md5(json!({"password": {}})));
}

#[test]
fn utf8_only_algorithms() {
    let cases = [
        ("argon2", ARGON2.to_string()),
        ("bcrypt", BCRYPT.to_string()),
        ("ldap", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".to_string()),
        ("pbkdf2", "$pbkdf2-sha256$i=1,l=4$c2FsdA$AAECAw".to_string()),
    ];
    for (algorithm, value) in cases {
        ok(json!({"algorithm": algorithm, "hash": {"value": value, "encoding": "utf8"}}));
        for encoding in ["hex", "base64"] {
            let e = one(
                json!({"algorithm": algorithm, "hash": {"value": value, "encoding": encoding}}),
            );
            assert_eq!(
                (e.code, e.path.as_str()),
                (EnumMismatch, "custom_password_hash.hash.encoding")
            );
            assert_eq!(
                e.message,
                format!("custom_password_hash.hash.encoding: must be utf8 for {algorithm}")
            );
        }
    }
}

#[test]
fn binary_algorithms_need_hex_or_base64() {
    for algorithm in ["md4", "md5", "sha1", "sha256", "sha512", "hmac", "scrypt"] {
        let mut value = json!({"algorithm": algorithm, "hash": {"value": "00"}});
        if algorithm == "hmac" {
            merge(
                &mut value,
                json!({"hash": {"digest": "md5", "key": {"value": "k"}}}),
            );
        }
        if algorithm == "scrypt" {
            merge(&mut value, json!({"keylen": 1}));
        }
        expect(
            value.clone(),
            ObjectRequired,
            "custom_password_hash.hash.encoding",
        );
        merge(&mut value, json!({"hash": {"encoding": "utf8"}}));
        let e = one(value);
        assert_eq!(
            (e.code, e.path.as_str()),
            (EnumMismatch, "custom_password_hash.hash.encoding")
        );
        assert_eq!(
            e.message,
            format!("custom_password_hash.hash.encoding: must be hex or base64 for {algorithm}")
        );
    }
}

#[test]
fn hex_and_base64_values() {
    ok(md5(json!({"hash": {"value": MD5_HEX.to_uppercase()}})));
    ok(md5(
        json!({"hash": {"value": "X03MO1qnZdYdgyfeuILPmQ==", "encoding": "base64"}}),
    ));
    ok(md5(
        json!({"hash": {"value": "X03MO1qnZdYdgyfeuILPmQ", "encoding": "base64"}}),
    ));
    ok(md5(
        json!({"hash": {"value": "-_-_-_-_-_-_-_-_-_-_-w==", "encoding": "base64"}}),
    ));
    for (value, encoding) in [
        (&MD5_HEX[1..], "hex"),
        ("5f4dcc3b5aa765d61d8327deb882cf9g", "hex"),
        ("5f4dcc3b 5aa765d61d8327deb882cf9", "hex"),
        ("X03MO1qnZdYdgyfeuILP*Q==", "base64"),
        ("X03MO1qnZdYdgyfeuILPmQ==\n", "base64"),
    ] {
        let e = one(md5(json!({"hash": {"value": value, "encoding": encoding}})));
        assert_eq!(
            (e.code, e.path.as_str()),
            (Format, "custom_password_hash.hash.value"),
            "{value}"
        );
    }
}

#[test]
fn digest_lengths() {
    for (algorithm, bytes) in [
        ("md4", 16),
        ("md5", 16),
        ("sha1", 20),
        ("sha256", 32),
        ("sha512", 64),
    ] {
        ok(
            json!({"algorithm": algorithm, "hash": {"value": "00".repeat(bytes), "encoding": "hex"}}),
        );
        for wrong in [bytes - 1, bytes + 1, 0] {
            let e = one(
                json!({"algorithm": algorithm, "hash": {"value": "00".repeat(wrong), "encoding": "hex"}}),
            );
            assert_eq!(
                (e.code, e.path.as_str()),
                (Format, "custom_password_hash.hash.value")
            );
            assert!(
                e.message.contains(&format!("decodes to {wrong} bytes")),
                "{e:?}"
            );
        }
    }
}

#[test]
fn salt_objects() {
    ok(md5(json!({"salt": {"value": "abc"}})));
    ok(md5(
        json!({"salt": {"value": "00ff", "encoding": "hex", "position": "suffix"}}),
    ));
    ok(md5(
        json!({"salt": {"value": "-_8", "encoding": "base64", "position": "prefix"}}),
    ));
    ok(md5(json!({"salt": {"value": ""}})));
    expect(
        md5(json!({"salt": {}})),
        ObjectRequired,
        "custom_password_hash.salt.value",
    );
    expect(
        md5(json!({"salt": {"value": "0g", "encoding": "hex"}})),
        Format,
        "custom_password_hash.salt.value",
    );
    expect(
        md5(json!({"salt": {"value": "a", "encoding": "base64"}})),
        Format,
        "custom_password_hash.salt.value",
    );
    ok(
        json!({"algorithm": "bcrypt", "hash": {"value": BCRYPT}, "salt": {"value": "x", "position": "suffix"}}),
    );
    ok(
        json!({"algorithm": "scrypt", "hash": {"value": "00", "encoding": "hex"}, "keylen": 1, "salt": {"value": "x"}}),
    );
}

#[test]
fn salt_forbidden_for_argon2_ldap_pbkdf2() {
    for (algorithm, value) in [
        ("argon2", ARGON2),
        ("ldap", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="),
        ("pbkdf2", "$pbkdf2-sha256$i=1,l=4$c2FsdA$AAECAw"),
    ] {
        let e =
            one(json!({"algorithm": algorithm, "hash": {"value": value}, "salt": {"value": "s"}}));
        assert_eq!(
            (e.code, e.path.as_str()),
            (NotPassed, "custom_password_hash.salt")
        );
        assert_eq!(
            e.message,
            format!("custom_password_hash.salt: not allowed for {algorithm}")
        );
    }
}

#[test]
fn hmac_rules() {
    let base = || {
        json!({"algorithm": "hmac", "hash": {"value": "ab".repeat(20), "encoding": "hex", "digest": "sha1",
            "key": {"value": "6b6579", "encoding": "hex"}}})
    };
    ok(base());
    for (digest, bytes) in [
        ("md4", 16),
        ("md5", 16),
        ("ripemd160", 20),
        ("sha1", 20),
        ("sha224", 28),
        ("sha256", 32),
        ("sha384", 48),
        ("sha512", 64),
        ("whirlpool", 64),
    ] {
        let mut value = base();
        merge(
            &mut value,
            json!({"hash": {"digest": digest, "value": "ab".repeat(bytes)}}),
        );
        ok(value.clone());
        merge(
            &mut value,
            json!({"hash": {"value": "ab".repeat(bytes + 1)}}),
        );
        expect(value, Format, "custom_password_hash.hash.value");
    }
    let mut value = base();
    if let Some(h) = value["hash"].as_object_mut() {
        h.remove("digest");
    }
    expect(value, ObjectRequired, "custom_password_hash.hash.digest");
    let mut value = base();
    if let Some(h) = value["hash"].as_object_mut() {
        h.remove("key");
    }
    expect(value, ObjectRequired, "custom_password_hash.hash.key");
    let mut value = base();
    value["hash"]["key"] = json!({"encoding": "hex"});
    expect(value, ObjectRequired, "custom_password_hash.hash.key.value");
    let mut value = base();
    value["hash"]["key"] = json!("key");
    expect(value, InvalidType, "custom_password_hash.hash.key");
    let mut value = base();
    value["hash"]["key"] = json!({"value": "6b657", "encoding": "hex"});
    expect(value, Format, "custom_password_hash.hash.key.value");
    let mut value = base();
    value["hash"]["key"] = json!({"value": ""});
    ok(value);
    let mut value = base();
    value["salt"] = json!({"value": "pepper", "position": "suffix"});
    ok(value);
}

#[test]
fn hmac_properties_only_with_hmac() {
    let e = one(md5(json!({"hash": {"digest": "md5"}})));
    assert_eq!(
        (e.code, e.path.as_str()),
        (NotPassed, "custom_password_hash.hash.digest")
    );
    assert_eq!(
        e.message,
        "custom_password_hash.hash.digest: not allowed for md5 (hmac only)"
    );
    expect(
        md5(json!({"hash": {"key": {"value": "k"}}})),
        NotPassed,
        "custom_password_hash.hash.key",
    );
    assert_eq!(
        codes(
            json!({"algorithm": "bcrypt", "hash": {"value": BCRYPT, "digest": "bogus", "key": 5}})
        ),
        vec![
            (NotPassed, "custom_password_hash.hash.digest".into()),
            (NotPassed, "custom_password_hash.hash.key".into())
        ]
    );
}

fn scrypt(extra: Value) -> Value {
    let mut base = json!({"algorithm": "scrypt", "hash": {"value": "00".repeat(32), "encoding": "hex"}, "keylen": 32});
    merge(&mut base, extra);
    base
}

#[test]
fn scrypt_parameters() {
    ok(scrypt(json!({})));
    ok(scrypt(
        json!({"cost": 2, "blockSize": 1, "parallelization": 1}),
    ));
    ok(scrypt(
        json!({"cost": 1024, "blockSize": 16, "parallelization": 4}),
    ));
    ok(scrypt(json!({"keylen": 32.0, "cost": 4096.0})));
    let mut value = scrypt(json!({}));
    if let Some(o) = value.as_object_mut() {
        o.remove("keylen");
    }
    expect(value, ObjectRequired, "custom_password_hash.keylen");

    let e = one(scrypt(json!({"keylen": 0})));
    assert_eq!(
        (e.code, e.message.as_str()),
        (Minimum, "custom_password_hash.keylen: must be ≥ 1")
    );
    expect(
        scrypt(json!({"keylen": -3})),
        Minimum,
        "custom_password_hash.keylen",
    );
    expect(
        scrypt(json!({"cost": 1})),
        Minimum,
        "custom_password_hash.cost",
    );
    expect(
        scrypt(json!({"cost": 0})),
        Minimum,
        "custom_password_hash.cost",
    );
    expect(
        scrypt(json!({"cost": -16})),
        Minimum,
        "custom_password_hash.cost",
    );
    let e = one(scrypt(json!({"cost": 1000})));
    assert_eq!(
        (e.code, e.message.as_str()),
        (Format, "custom_password_hash.cost: must be a power of two")
    );
    expect(
        scrypt(json!({"blockSize": 0})),
        Minimum,
        "custom_password_hash.blockSize",
    );
    expect(
        scrypt(json!({"parallelization": 0})),
        Minimum,
        "custom_password_hash.parallelization",
    );
    expect(
        scrypt(json!({"parallelization": -1.0})),
        Minimum,
        "custom_password_hash.parallelization",
    );

    expect(
        scrypt(json!({"keylen": "32"})),
        InvalidType,
        "custom_password_hash.keylen",
    );
    let e = one(scrypt(json!({"keylen": 31.5})));
    assert_eq!(
        e.message,
        "custom_password_hash.keylen: expected integer, got number"
    );
    expect(
        scrypt(json!({"cost": null})),
        InvalidType,
        "custom_password_hash.cost",
    );

    expect(
        scrypt(json!({"blockSize": 4_294_967_296_u64})),
        Maximum,
        "custom_password_hash.blockSize",
    );
    expect(
        scrypt(json!({"parallelization": 1e30})),
        Maximum,
        "custom_password_hash.parallelization",
    );
    expect(
        scrypt(json!({"keylen": 137_438_953_441_u64})),
        Maximum,
        "custom_password_hash.keylen",
    );
    expect(
        scrypt(json!({"blockSize": 1 << 15, "parallelization": 1 << 15})),
        Maximum,
        "custom_password_hash.parallelization",
    );
    expect(
        scrypt(json!({"blockSize": 1, "cost": 1 << 16})),
        Maximum,
        "custom_password_hash.cost",
    );
    ok(scrypt(json!({"blockSize": 1, "cost": 1 << 15})));

    let e = one(scrypt(json!({"keylen": 16})));
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            Format,
            "custom_password_hash.hash.value: decodes to 32 bytes but keylen is 16"
        )
    );
}

#[test]
fn scrypt_parameters_only_with_scrypt() {
    let errors = errors(md5(
        json!({"keylen": 32, "cost": 3, "blockSize": 8, "parallelization": 0}),
    ));
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.code, e.message.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                NotPassed,
                "custom_password_hash.keylen: not allowed for md5 (scrypt only)"
            ),
            (
                NotPassed,
                "custom_password_hash.cost: not allowed for md5 (scrypt only)"
            ),
            (
                NotPassed,
                "custom_password_hash.blockSize: not allowed for md5 (scrypt only)"
            ),
            (
                NotPassed,
                "custom_password_hash.parallelization: not allowed for md5 (scrypt only)"
            ),
        ]
    );
}

#[test]
fn bcrypt_values() {
    for prefix in ["$2a$", "$2b$", "$2y$"] {
        ok(json!({"algorithm": "bcrypt", "hash": {"value": BCRYPT.replace("$2b$", prefix)}}));
    }
    for bad in [
        BCRYPT.replace("$2b$", "$2x$"),
        BCRYPT.replace("$2b$", "$2$4"),
        BCRYPT.replace("$04$", "$03$"),
        BCRYPT.replace("$04$", "$4$0"),
        BCRYPT[..59].to_string(),
        "$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq".to_string(),
    ] {
        expect(
            json!({"algorithm": "bcrypt", "hash": {"value": bad}}),
            Format,
            "custom_password_hash.hash.value",
        );
    }
}

#[test]
fn ldap_values() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    for (scheme, size, salted) in [
        ("MD5", 16, false),
        ("SMD5", 16, true),
        ("SHA", 20, false),
        ("SSHA", 20, true),
        ("SHA256", 32, false),
        ("SSHA256", 32, true),
        ("SHA384", 48, false),
        ("SSHA384", 48, true),
        ("SHA512", 64, false),
        ("SSHA512", 64, true),
    ] {
        let bytes = size + if salted { 4 } else { 0 };
        for written in [scheme.to_string(), scheme.to_lowercase()] {
            let value = format!("{{{written}}}{}", b64(&vec![9u8; bytes]));
            ok(json!({"algorithm": "ldap", "hash": {"value": value}}));
        }
        if !salted {
            let value = format!("{{{scheme}}}{}", b64(&vec![9u8; bytes + 1]));
            expect(
                json!({"algorithm": "ldap", "hash": {"value": value}}),
                Format,
                "custom_password_hash.hash.value",
            );
        }
    }
    for bad in [
        "{CRYPT}$1$salt$hash",
        "{SSHA1}AAAA",
        "W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
        "{SHA}AAAA",
        "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g*",
    ] {
        expect(
            json!({"algorithm": "ldap", "hash": {"value": bad}}),
            Format,
            "custom_password_hash.hash.value",
        );
    }
    let e = one(json!({"algorithm": "ldap", "hash": {"value": "{crypt}abc"}}));
    assert_eq!(
        e.message,
        "custom_password_hash.hash.value: the {CRYPT} scheme is not supported"
    );
}

#[test]
fn argon2_and_pbkdf2_values() {
    for bad in [
        ARGON2.replace("argon2id", "argon2"),
        ARGON2.replace("v=19", "v=16"),
        ARGON2.replace("m=64", "m=4"),
        ARGON2.replace(",p=1", ""),
        ARGON2.replace("$c2FsdHNhbHQ", "$c2FsdA"),
        "$argon2id$v=19$m=64,t=1,p=1".to_string(),
    ] {
        expect(
            json!({"algorithm": "argon2", "hash": {"value": bad}}),
            Format,
            "custom_password_hash.hash.value",
        );
    }
    ok(json!({"algorithm": "argon2", "hash": {"value": ARGON2.replace("v=19$", "")}}));
    ok(json!({"algorithm": "argon2", "hash": {"value": ARGON2.replace("argon2id", "argon2i")}}));
    ok(json!({"algorithm": "argon2", "hash": {"value": ARGON2.replace("argon2id", "argon2d")}}));
    for bad in [
        "$pbkdf2-sha3-256$i=1,l=4$c2FsdA$AAECAw",
        "$pbkdf2-SHA256$i=1,l=4$c2FsdA$AAECAw",
        "$pbkdf2-sha256$i=1,l=5$c2FsdA$AAECAw",
        "$pbkdf2-sha256$i=1,l=4$c2FsdA$AAECAw==",
        "$pbkdf2-sha256$rounds=1$c2FsdA$AAECAw",
        "pbkdf2_sha256$1$salt$hash",
    ] {
        expect(
            json!({"algorithm": "pbkdf2", "hash": {"value": bad}}),
            Format,
            "custom_password_hash.hash.value",
        );
    }
}

#[test]
fn all_33_pbkdf2_digest_names() {
    let names = "RSA-MD4 RSA-MD5 RSA-MDC2 RSA-RIPEMD160 RSA-SHA1 RSA-SHA1-2 RSA-SHA224 RSA-SHA256 RSA-SHA384 \
        RSA-SHA512 md4 md4WithRSAEncryption md5 md5WithRSAEncryption mdc2 mdc2WithRSA ripemd ripemd160 \
        ripemd160WithRSA rmd160 sha1 sha1WithRSAEncryption sha224 sha224WithRSAEncryption sha256 \
        sha256WithRSAEncryption sha384 sha384WithRSAEncryption sha512 sha512WithRSAEncryption ssl3-md5 \
        ssl3-sha1 whirlpool";
    let names: Vec<&str> = names.split_whitespace().collect();
    assert_eq!(names.len(), 33);
    for name in names {
        let hash = ok(
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-{name}$i=1,l=4$c2FsdA$AAECAw")}}),
        );
        assert_eq!(
            hash.can_verify(),
            !name.to_lowercase().contains("mdc2"),
            "{name}"
        );
    }
}

#[test]
fn unknown_algorithm_still_checks_what_it_can() {
    assert_eq!(
        codes(
            json!({"algorithm": "crc32", "hash": {"value": "zz", "encoding": "hex", "digest": "nope"},
            "salt": {"value": "x", "encoding": "hex"}, "keylen": 0})
        ),
        vec![
            (EnumMismatch, "custom_password_hash.algorithm".into()),
            (EnumMismatch, "custom_password_hash.hash.digest".into()),
            (Format, "custom_password_hash.salt.value".into()),
            (Minimum, "custom_password_hash.keylen".into()),
            (Format, "custom_password_hash.hash.value".into()),
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let value = json!({
        "algorithm": "hmac",
        "hash": {"value": "not hex", "encoding": "hex", "extra": 1, "key": {"value": 7}},
        "salt": {"value": "s", "position": "after"},
        "password": {"encoding": "utf32"},
        "keylen": 16,
        "salt_suffix": "x",
    });
    assert_eq!(
        codes(value),
        vec![
            (NotPassed, "custom_password_hash".into()),
            (NotPassed, "custom_password_hash.hash".into()),
            (ObjectRequired, "custom_password_hash.hash.digest".into()),
            (InvalidType, "custom_password_hash.hash.key.value".into()),
            (EnumMismatch, "custom_password_hash.salt.position".into()),
            (
                EnumMismatch,
                "custom_password_hash.password.encoding".into()
            ),
            (NotPassed, "custom_password_hash.keylen".into()),
            (Format, "custom_password_hash.hash.value".into()),
        ]
    );
}

#[test]
fn verification_limits_and_unsupported_digests() {
    let mdc2 =
        ok(json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-mdc2$i=1,l=4$c2FsdA$AAECAw"}}));
    assert!(matches!(
        mdc2.verify("x"),
        Err(PasswordError::Unsupported(_))
    ));

    let huge = ok(scrypt(json!({"cost": 1 << 20, "blockSize": 8})));
    assert!(matches!(
        huge.verify("x"),
        Err(PasswordError::ResourceLimit(_))
    ));
    let huge =
        ok(json!({"algorithm": "argon2", "hash": {"value": ARGON2.replace("m=64", "m=2097152")}}));
    assert!(matches!(
        huge.verify("x"),
        Err(PasswordError::ResourceLimit(_))
    ));

    assert!(matches!(
        userbridge_passwords::verify_bcrypt("$2b$04$short", "x"),
        Err(PasswordError::Malformed(_))
    ));
}

#[test]
fn unrepresentable_passwords_do_not_verify() {
    // Whatever the digest, "€" has no latin1 byte.
    let latin1 = ok(md5(
        json!({"hash": {"value": "b6ae9eb7e6e2da4f71b3ab6e7e5fe4b5"}, "password": {"encoding": "latin1"}}),
    ));
    assert!(matches!(latin1.verify("€"), Ok(false)));
    let ascii = ok(md5(json!({"password": {"encoding": "ascii"}})));
    assert!(matches!(ascii.verify("password"), Ok(true)));
    assert!(matches!(ascii.verify("pässword"), Ok(false)));
}

#[test]
fn debug_output_hides_hash_bytes() {
    let hash = ok(md5(json!({"salt": {"value": "pepper"}})));
    let debug = format!("{hash:?}");
    assert!(
        !debug.contains("5f4dcc") && !debug.contains("95, 77") && !debug.contains("pepper"),
        "{debug}"
    );
    let bcrypt = ok(json!({"algorithm": "bcrypt", "hash": {"value": BCRYPT}}));
    assert!(!format!("{bcrypt:?}").contains("abcdefgh"));
}
