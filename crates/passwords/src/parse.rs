//! `custom_password_hash` validation (§5, codes of §8): every problem is reported, each at
//! the path of the offending value, with a message that begins with that path.

use std::fmt::Display;

use serde_json::{Map, Value};
use userbridge_model::{ErrorCode, RecordError};

use crate::digests::HashFn;
use crate::encoding::{PasswordEncoding, ValueEncoding};
use crate::formats::{is_bcrypt, parse_argon2, parse_ldap, parse_pbkdf2};
use crate::{Algorithm, CustomHash, Position, Salt, Scheme, Secret};

const ROOT: &str = "custom_password_hash";
const HASH: &str = "custom_password_hash.hash";
const HASH_VALUE: &str = "custom_password_hash.hash.value";
const HASH_ENCODING: &str = "custom_password_hash.hash.encoding";
const HASH_DIGEST: &str = "custom_password_hash.hash.digest";
const HASH_KEY: &str = "custom_password_hash.hash.key";
const SALT: &str = "custom_password_hash.salt";
const PASSWORD: &str = "custom_password_hash.password";

const TOP_KEYS: &[&str] = &[
    "algorithm",
    "hash",
    "salt",
    "password",
    "keylen",
    "cost",
    "blockSize",
    "parallelization",
];
const HASH_KEYS: &[&str] = &["value", "encoding", "digest", "key"];
const KEY_KEYS: &[&str] = &["value", "encoding"];
const SALT_KEYS: &[&str] = &["value", "encoding", "position"];
const PASSWORD_KEYS: &[&str] = &["encoding"];

/// §5.3: the message for the flat shape of older Auth0 docs (`hash` a string).
pub(crate) const LEGACY_SHAPE: &str =
    "expected an object; the legacy flat shape (salt_prefix/salt_suffix) is not supported";

const POSITIONS: &[(&str, Position)] =
    &[("prefix", Position::Prefix), ("suffix", Position::Suffix)];

/// RFC 7914: dkLen ≤ (2³² − 1)·32.
const SCRYPT_MAX_KEYLEN: u64 = 0xFFFF_FFFF * 32;
const SCRYPT_DEFAULT_COST: u64 = 16_384;
const SCRYPT_DEFAULT_BLOCK_SIZE: u64 = 8;
const SCRYPT_DEFAULT_PARALLELIZATION: u64 = 1;

/// The state of an optional property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field<T> {
    Absent,
    /// Present but wrong (already reported).
    Invalid,
    Valid(T),
}

impl<T> Field<T> {
    fn valid(self) -> Option<T> {
        match self {
            Field::Valid(v) => Some(v),
            _ => None,
        }
    }

    /// The value, the default when absent, `None` when invalid.
    fn or_default(self, default: T) -> Option<T> {
        match self {
            Field::Valid(v) => Some(v),
            Field::Absent => Some(default),
            Field::Invalid => None,
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(parent: &str, key: &str) -> String {
    format!("{parent}.{key}")
}

fn names<T>(table: &[(&str, T)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

#[derive(Default)]
struct Errors(Vec<RecordError>);

impl Errors {
    fn push(&mut self, code: ErrorCode, path: &str, problem: impl Display) {
        self.0.push(RecordError::new(code, path, problem));
    }

    fn missing(&mut self, path: &str) {
        self.push(ErrorCode::ObjectRequired, path, "required property missing");
    }

    fn wrong_type(&mut self, path: &str, expected: &str, got: &Value) {
        self.push(
            ErrorCode::InvalidType,
            path,
            format!("expected {expected}, got {}", type_name(got)),
        );
    }

    /// `NOT_PASSED` listing every key of `object` outside `allowed`, at the object's path.
    fn unknown_keys(&mut self, object: &Map<String, Value>, allowed: &[&str], path: &str) {
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        if !unknown.is_empty() {
            self.push(
                ErrorCode::NotPassed,
                path,
                format!("{}: additional properties not allowed", unknown.join(", ")),
            );
        }
    }

    fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.wrong_type(path, "object", value);
        }
        object
    }

    fn string<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        parent: &str,
    ) -> Field<&'a str> {
        match object.get(key) {
            None => Field::Absent,
            Some(Value::String(s)) => Field::Valid(s),
            Some(other) => {
                self.wrong_type(&join(parent, key), "string", other);
                Field::Invalid
            }
        }
    }

    fn required_string<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        parent: &str,
    ) -> Option<&'a str> {
        let field = self.string(object, key, parent);
        if field == Field::Absent {
            self.missing(&join(parent, key));
        }
        field.valid()
    }

    fn enumerated<T: Copy>(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        parent: &str,
        table: &[(&str, T)],
    ) -> Field<T> {
        match self.string(object, key, parent) {
            Field::Valid(s) => match table.iter().find(|(n, _)| *n == s) {
                Some(&(_, v)) => Field::Valid(v),
                None => {
                    self.push(
                        ErrorCode::EnumMismatch,
                        &join(parent, key),
                        format!("must be one of {}", names(table)),
                    );
                    Field::Invalid
                }
            },
            Field::Absent => Field::Absent,
            Field::Invalid => Field::Invalid,
        }
    }

    /// An integer in `min..=max` (a JSON number with an integral value counts).
    fn integer(&mut self, value: &Value, path: &str, min: u64, max: u64) -> Field<u64> {
        let Value::Number(n) = value else {
            self.wrong_type(path, "integer", value);
            return Field::Invalid;
        };
        // `None` = negative, `Some(None)` = above u64::MAX.
        let magnitude: Option<Option<u64>> = if let Some(u) = n.as_u64() {
            Some(Some(u))
        } else if n.is_i64() {
            None
        } else {
            match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 => {
                    if f < 0.0 {
                        None
                    } else if f >= 18_446_744_073_709_551_616.0 {
                        Some(None)
                    } else {
                        // Exact: an integral f64 in 0..2^64.
                        Some(Some(f as u64))
                    }
                }
                _ => {
                    self.wrong_type(path, "integer", value);
                    return Field::Invalid;
                }
            }
        };
        match magnitude {
            Some(Some(v)) if v < min => {
                self.push(ErrorCode::Minimum, path, format!("must be ≥ {min}"));
                Field::Invalid
            }
            None => {
                self.push(ErrorCode::Minimum, path, format!("must be ≥ {min}"));
                Field::Invalid
            }
            Some(Some(v)) if v <= max => Field::Valid(v),
            _ => {
                self.push(ErrorCode::Maximum, path, format!("must be ≤ {max}"));
                Field::Invalid
            }
        }
    }

    /// `{value, encoding}` of `hash.key` and `salt`: the decoded bytes when valid.
    fn encoded_value(&mut self, object: &Map<String, Value>, parent: &str) -> Option<Vec<u8>> {
        let value = self.required_string(object, "value", parent);
        let encoding = self.enumerated(object, "encoding", parent, ValueEncoding::NAMES);
        let (value, encoding) = (value?, encoding.or_default(ValueEncoding::Utf8)?);
        match encoding.decode(value) {
            Ok(bytes) => Some(bytes),
            Err(problem) => {
                self.push(ErrorCode::Format, &join(parent, "value"), problem);
                None
            }
        }
    }
}

/// Which `hash.encoding`s an algorithm takes (§5.3).
fn utf8_only(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Argon2 | Algorithm::Bcrypt | Algorithm::Ldap | Algorithm::Pbkdf2
    )
}

/// Algorithms that may not have a `salt` object (§5.3).
fn salt_forbidden(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Argon2 | Algorithm::Ldap | Algorithm::Pbkdf2
    )
}

/// Resolved scrypt parameters.
struct ScryptParams {
    keylen: Option<u64>,
    log_n: Option<u8>,
    r: Option<u32>,
    p: Option<u32>,
}

pub(crate) fn parse(value: &Value) -> Result<CustomHash, Vec<RecordError>> {
    let mut e = Errors::default();
    let Some(top) = value.as_object() else {
        e.wrong_type(ROOT, "object", value);
        return Err(e.0);
    };
    e.unknown_keys(top, TOP_KEYS, ROOT);

    let algorithm = match top.get("algorithm") {
        None => {
            e.missing(&join(ROOT, "algorithm"));
            None
        }
        Some(_) => e
            .enumerated(top, "algorithm", ROOT, Algorithm::NAMES)
            .valid(),
    };
    let is = |a: Algorithm| algorithm == Some(a);
    let other_than = |a: Algorithm| algorithm.is_some_and(|x| x != a);
    let name = algorithm.map_or("", Algorithm::name);

    let hash = match top.get("hash") {
        None => {
            e.missing(HASH);
            None
        }
        Some(Value::String(_)) => {
            e.push(ErrorCode::InvalidType, HASH, LEGACY_SHAPE);
            None
        }
        Some(v) => e.object(v, HASH),
    };

    // hash.* except the value's format, which needs everything else.
    let mut hash_value = None;
    let mut hash_encoding = Field::Absent;
    let mut digest = None;
    let mut key = None;
    if let Some(h) = hash {
        e.unknown_keys(h, HASH_KEYS, HASH);
        hash_value = e.required_string(h, "value", HASH);
        hash_encoding = e.enumerated(h, "encoding", HASH, ValueEncoding::NAMES);
        match h.get("digest") {
            Some(_) if other_than(Algorithm::Hmac) => {
                e.push(
                    ErrorCode::NotPassed,
                    HASH_DIGEST,
                    format!("not allowed for {name} (hmac only)"),
                );
            }
            None if is(Algorithm::Hmac) => e.missing(HASH_DIGEST),
            _ => digest = e.enumerated(h, "digest", HASH, HashFn::HMAC_NAMES).valid(),
        }
        match h.get("key") {
            Some(_) if other_than(Algorithm::Hmac) => {
                e.push(
                    ErrorCode::NotPassed,
                    HASH_KEY,
                    format!("not allowed for {name} (hmac only)"),
                );
            }
            None if is(Algorithm::Hmac) => e.missing(HASH_KEY),
            None => {}
            Some(k) => {
                if let Some(k) = e.object(k, HASH_KEY) {
                    e.unknown_keys(k, KEY_KEYS, HASH_KEY);
                    key = e.encoded_value(k, HASH_KEY);
                }
            }
        }
    }

    let mut salt = None;
    if let Some(s) = top.get("salt") {
        match algorithm {
            Some(a) if salt_forbidden(a) => {
                e.push(
                    ErrorCode::NotPassed,
                    SALT,
                    format!("not allowed for {}", a.name()),
                );
            }
            _ => {
                if let Some(s) = e.object(s, SALT) {
                    e.unknown_keys(s, SALT_KEYS, SALT);
                    let bytes = e.encoded_value(s, SALT);
                    let position = e
                        .enumerated(s, "position", SALT, POSITIONS)
                        .or_default(Position::Prefix);
                    if let (Some(bytes), Some(position)) = (bytes, position) {
                        salt = Some(Salt {
                            bytes: Secret(bytes),
                            position,
                        });
                    }
                }
            }
        }
    }

    let mut password_encoding = Some(PasswordEncoding::Utf8);
    if let Some(p) = top.get("password") {
        password_encoding = None;
        if let Some(p) = e.object(p, PASSWORD) {
            e.unknown_keys(p, PASSWORD_KEYS, PASSWORD);
            password_encoding = e
                .enumerated(p, "encoding", PASSWORD, PasswordEncoding::NAMES)
                .or_default(PasswordEncoding::Utf8);
        }
    }

    let scrypt = scrypt_params(&mut e, top, algorithm);

    // hash.encoding per algorithm, then hash.value's format.
    let encoding = match (hash, algorithm, hash_encoding) {
        (None, _, _) | (_, _, Field::Invalid) => None,
        (Some(_), None, encoding) => encoding.valid(),
        (Some(_), Some(a), encoding) if utf8_only(a) => match encoding {
            Field::Valid(ValueEncoding::Utf8) | Field::Absent => Some(ValueEncoding::Utf8),
            _ => {
                e.push(
                    ErrorCode::EnumMismatch,
                    HASH_ENCODING,
                    format!("must be utf8 for {}", a.name()),
                );
                None
            }
        },
        (Some(_), Some(a), encoding) => match encoding {
            Field::Absent => {
                e.missing(HASH_ENCODING);
                None
            }
            Field::Valid(ValueEncoding::Utf8) => {
                e.push(
                    ErrorCode::EnumMismatch,
                    HASH_ENCODING,
                    format!("must be hex or base64 for {}", a.name()),
                );
                None
            }
            encoding => encoding.valid(),
        },
    };
    let scheme = match (hash_value, encoding) {
        (Some(value), Some(encoding)) => {
            value_scheme(&mut e, algorithm, value, encoding, digest, key, &scrypt)
        }
        _ => None,
    };

    match (algorithm, scheme, password_encoding) {
        (Some(algorithm), Some(scheme), Some(password_encoding)) if e.0.is_empty() => {
            let salt = if salt_forbidden(algorithm) {
                None
            } else {
                salt
            };
            Ok(CustomHash {
                algorithm,
                password_encoding,
                salt,
                scheme,
            })
        }
        _ => {
            if e.0.is_empty() {
                // Unreachable by construction; never report success without a scheme.
                e.push(ErrorCode::Format, ROOT, "not a valid custom password hash");
            }
            Err(e.0)
        }
    }
}

/// `keylen`, `cost`, `blockSize`, `parallelization`: scrypt only (§5.1, §5.3).
fn scrypt_params(
    e: &mut Errors,
    top: &Map<String, Value>,
    algorithm: Option<Algorithm>,
) -> ScryptParams {
    let u32_max = u64::from(u32::MAX);
    let mut fields = [Field::Absent; 4];
    for ((key, min, max), slot) in [
        ("keylen", 1, SCRYPT_MAX_KEYLEN),
        ("cost", 2, u64::MAX),
        ("blockSize", 1, u32_max),
        ("parallelization", 1, u32_max),
    ]
    .into_iter()
    .zip(fields.iter_mut())
    {
        let Some(value) = top.get(key) else { continue };
        let path = join(ROOT, key);
        match algorithm {
            Some(a) if a != Algorithm::Scrypt => {
                e.push(
                    ErrorCode::NotPassed,
                    &path,
                    format!("not allowed for {} (scrypt only)", a.name()),
                );
                *slot = Field::Invalid;
            }
            _ => *slot = e.integer(value, &path, min, max),
        }
    }
    let [keylen, cost, r, p] = fields;
    if keylen == Field::Absent && algorithm == Some(Algorithm::Scrypt) {
        e.missing(&join(ROOT, "keylen"));
    }
    let mut log_n = None;
    if let Field::Valid(n) = cost {
        if n.is_power_of_two() {
            log_n = u8::try_from(n.trailing_zeros()).ok();
        } else {
            e.push(
                ErrorCode::Format,
                &join(ROOT, "cost"),
                "must be a power of two",
            );
        }
    } else if cost == Field::Absent {
        log_n = u8::try_from(SCRYPT_DEFAULT_COST.trailing_zeros()).ok();
    }
    let r = r.or_default(SCRYPT_DEFAULT_BLOCK_SIZE);
    let p = p.or_default(SCRYPT_DEFAULT_PARALLELIZATION);
    let (mut r32, mut p32) = (
        r.and_then(|r| u32::try_from(r).ok()),
        p.and_then(|p| u32::try_from(p).ok()),
    );
    if r.zip(p)
        .is_some_and(|(r, p)| r.saturating_mul(p) >= 1 << 30)
    {
        e.push(
            ErrorCode::Maximum,
            &join(ROOT, "parallelization"),
            "blockSize × parallelization must be < 2^30",
        );
        (r32, p32) = (None, None);
    }
    if log_n
        .zip(r)
        .is_some_and(|(n, r)| u64::from(n) >= r.saturating_mul(16))
    {
        e.push(
            ErrorCode::Maximum,
            &join(ROOT, "cost"),
            "must be < 2^(16 × blockSize)",
        );
        log_n = None;
    }
    ScryptParams {
        keylen: keylen.valid(),
        log_n,
        r: r32,
        p: p32,
    }
}

/// Checks `hash.value` against the algorithm's format (`FORMAT` at `hash.value`) and builds the
/// scheme when everything it needs is valid.
fn value_scheme(
    e: &mut Errors,
    algorithm: Option<Algorithm>,
    value: &str,
    encoding: ValueEncoding,
    digest: Option<HashFn>,
    key: Option<Vec<u8>>,
    scrypt: &ScryptParams,
) -> Option<Scheme> {
    let mut format = |problem: String| e.push(ErrorCode::Format, HASH_VALUE, problem);
    let decoded = || encoding.decode(value).map_err(str::to_string);
    let Some(algorithm) = algorithm else {
        // Unknown algorithm: only the encoding can be checked.
        if let Err(problem) = decoded() {
            format(problem);
        }
        return None;
    };
    let result: Result<Option<Scheme>, String> = match algorithm {
        Algorithm::Bcrypt => {
            if is_bcrypt(value) {
                Ok(Some(Scheme::Bcrypt(Secret(value.to_string()))))
            } else {
                Err("not a bcrypt hash: expected $2a$, $2b$ or $2y$, a cost 04–31 and 53 characters of [./A-Za-z0-9]".into())
            }
        }
        Algorithm::Argon2 => parse_argon2(value).map(|a| Some(Scheme::Argon2(a))),
        Algorithm::Pbkdf2 => parse_pbkdf2(value).map(|p| {
            Some(Scheme::Pbkdf2 {
                function: p.digest,
                iterations: p.iterations,
                salt: Secret(p.salt),
                hash: Secret(p.hash),
            })
        }),
        Algorithm::Ldap => parse_ldap(value).map(|l| {
            Some(Scheme::Ldap {
                function: l.function,
                digest: Secret(l.digest),
                salt: Secret(l.salt),
            })
        }),
        Algorithm::Md4
        | Algorithm::Md5
        | Algorithm::Sha1
        | Algorithm::Sha256
        | Algorithm::Sha512 => decoded().and_then(|bytes| {
            let function = algorithm.plain_digest().ok_or_else(String::new)?;
            if bytes.len() == function.output_len() {
                Ok(Some(Scheme::Digest {
                    function,
                    digest: Secret(bytes),
                }))
            } else {
                Err(format!(
                    "decodes to {} bytes; a {} digest is {} bytes",
                    bytes.len(),
                    algorithm.name(),
                    function.output_len()
                ))
            }
        }),
        Algorithm::Hmac => decoded().and_then(|bytes| match digest {
            Some(function) if bytes.len() != function.output_len() => Err(format!(
                "decodes to {} bytes; an hmac-{} digest is {} bytes",
                bytes.len(),
                function.name(),
                function.output_len()
            )),
            Some(function) => Ok(key.map(|key| Scheme::Hmac {
                function,
                key: Secret(key),
                mac: Secret(bytes),
            })),
            None => Ok(None),
        }),
        Algorithm::Scrypt => decoded().and_then(|bytes| match scrypt.keylen {
            Some(keylen) if u64::try_from(bytes.len()).ok() != Some(keylen) => Err(format!(
                "decodes to {} bytes but keylen is {keylen}",
                bytes.len()
            )),
            Some(_) => Ok(match (scrypt.log_n, scrypt.r, scrypt.p) {
                (Some(log_n), Some(r), Some(p)) => Some(Scheme::Scrypt {
                    log_n,
                    r,
                    p,
                    key: Secret(bytes),
                }),
                _ => None,
            }),
            None => Ok(None),
        }),
    };
    match result {
        Ok(scheme) => scheme,
        Err(problem) => {
            format(problem);
            None
        }
    }
}
