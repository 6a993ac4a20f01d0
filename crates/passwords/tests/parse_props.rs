//! `CustomHash::parse` never panics, and every error it reports is well formed, whatever JSON
//! it is given.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use userbridge_passwords::CustomHash;

const KEYS: &[&str] = &[
    "algorithm",
    "hash",
    "value",
    "encoding",
    "digest",
    "key",
    "salt",
    "position",
    "password",
    "keylen",
    "cost",
    "blockSize",
    "parallelization",
    "salt_prefix",
    "",
];

const STRINGS: &[&str] = &[
    "argon2",
    "bcrypt",
    "hmac",
    "ldap",
    "md4",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "pbkdf2",
    "scrypt",
    "hex",
    "base64",
    "utf8",
    "latin1",
    "utf16le",
    "ascii",
    "prefix",
    "suffix",
    "ripemd160",
    "whirlpool",
    "5f4dcc3b5aa765d61d8327deb882cf99",
    "X03MO1qnZdYdgyfeuILPmQ==",
    "-_-_",
    "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9gAAAA=",
    "{CRYPT}x",
    "{}",
    "{",
    "$2b$04$abcdefghijklmnopqrstuuyvPXIbu7xe6/CED2DzX8z6Si09MlzlW",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$x2Rr1eHd8Wd9qwDqXzqNYQ",
    "$argon2i$m=8,t=1,p=1$$",
    "$pbkdf2-sha256$i=1,l=4$c2FsdA$AAECAw",
    "$pbkdf2-mdc2$$$",
    "$$$$$",
    "$pbkdf2-sha1$l=0$x$y",
    "é€😀",
    "",
];

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(2),
            Just(16),
            Just(32),
            Just(1 << 31),
            Just(1 << 32)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ]
    .boxed()
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Values shaped like a `custom_password_hash`, so that deep rules run too.
fn shaped() -> impl Strategy<Value = Value> {
    let s = || {
        prop_oneof![3 => prop::sample::select(STRINGS).prop_map(Value::from), 1 => leaf()].boxed()
    };
    let inner = || {
        (s(), s(), s(), prop::option::of(s()))
            .prop_map(|(value, encoding, extra, position)| {
                let mut m = Map::new();
                m.insert("value".into(), value);
                m.insert("encoding".into(), encoding);
                if let Some(p) = position {
                    m.insert("position".into(), p);
                }
                if extra.is_null() {
                    m.insert("x".into(), extra);
                }
                Value::Object(m)
            })
            .boxed()
    };
    (
        s(),
        inner(),
        prop::option::of(s()),
        prop::option::of(inner()),
        prop::option::of(inner()),
        prop::option::of(leaf()),
    )
        .prop_map(|(algorithm, mut hash, digest, key, salt, keylen)| {
            if let Value::Object(h) = &mut hash {
                if let Some(d) = digest {
                    h.insert("digest".into(), d);
                }
                if let Some(k) = key {
                    h.insert("key".into(), k);
                }
            }
            let mut m = Map::new();
            m.insert("algorithm".into(), algorithm);
            m.insert("hash".into(), hash);
            if let Some(salt) = salt {
                m.insert("salt".into(), salt);
            }
            if let Some(keylen) = keylen {
                m.insert("keylen".into(), keylen);
            }
            Value::Object(m)
        })
}

fn check(value: &Value) {
    match CustomHash::parse(value) {
        Ok(hash) => {
            // Cheap algorithms only: the expensive ones' cost comes from the input.
            if matches!(
                hash.algorithm(),
                "hmac" | "ldap" | "md4" | "md5" | "sha1" | "sha256" | "sha512"
            ) {
                let _ = hash.verify("password");
                let _ = hash.verify("é€😀");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.path.starts_with("custom_password_hash"), "{e:?}");
                assert!(e.message.starts_with(&format!("{}: ", e.path)), "{e:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_json(value in json()) {
        check(&value);
    }

    #[test]
    fn parse_never_panics_on_hash_shaped_json(value in shaped()) {
        check(&value);
    }
}
