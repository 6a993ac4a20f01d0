//! Test vectors from independent implementations (Python's hashlib/hmac on OpenSSL, bcrypt,
//! argon2-cffi, passlib): see `tests/vectors/make_vectors.py`, which wrote `vectors.json`.

use serde_json::Value;
use userbridge_passwords::{CustomHash, is_bcrypt, verify_bcrypt};

const VECTORS: &str = include_str!("vectors/vectors.json");

fn vectors() -> Vec<Value> {
    match serde_json::from_str::<Value>(VECTORS) {
        Ok(Value::Array(items)) => items,
        other => panic!("vectors.json is not an array: {other:?}"),
    }
}

fn field<'a>(vector: &'a Value, key: &str) -> &'a str {
    vector[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector without {key}: {vector}"))
}

#[test]
fn every_vector_parses_verifies_and_rejects_the_wrong_password() {
    let vectors = vectors();
    assert!(vectors.len() > 100, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    for vector in &vectors {
        let description = field(vector, "description");
        let password = field(vector, "password");
        let wrong = field(vector, "wrong_password");
        let credential = &vector["credential"];
        let outcome = if let Some(hash) = credential["password_hash"].as_str() {
            if !is_bcrypt(hash) {
                failures.push(format!("{description}: is_bcrypt is false"));
                continue;
            }
            (verify_bcrypt(hash, password), verify_bcrypt(hash, wrong))
        } else {
            match CustomHash::parse(&credential["custom_password_hash"]) {
                Ok(hash) => {
                    assert!(hash.can_verify(), "{description}");
                    (hash.verify(password), hash.verify(wrong))
                }
                Err(errors) => {
                    failures.push(format!("{description}: parse failed: {errors:?}"));
                    continue;
                }
            }
        };
        match outcome {
            (Ok(true), Ok(false)) => {}
            other => failures.push(format!("{description}: (right, wrong) = {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_algorithm() {
    let vectors = vectors();
    let algorithms: std::collections::BTreeSet<&str> = vectors
        .iter()
        .filter_map(|v| v["credential"]["custom_password_hash"]["algorithm"].as_str())
        .collect();
    let expected = [
        "argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "pbkdf2", "scrypt", "sha1", "sha256",
        "sha512",
    ];
    assert_eq!(algorithms.into_iter().collect::<Vec<_>>(), expected);
    assert!(
        vectors
            .iter()
            .any(|v| v["credential"]["password_hash"].is_string())
    );
}
