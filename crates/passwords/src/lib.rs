//! Imported password hashes (`user-schema.md` §4–§5): format checks for `password_hash` and
//! every `custom_password_hash` algorithm, and verification of a password against them.
//!
//! [`CustomHash::parse`] applies every rule of §5 and reports every problem as a
//! [`RecordError`] (codes of §8). On success the result is typed (algorithm, decoded hash,
//! salt, key and parameters), so [`CustomHash::verify`] cannot meet a malformed value.
//!
//! Choices made here where the spec is silent (all of them conservative):
//!
//! * **Unknown keys** (`NOT_PASSED`) are reported once per object at the object's path, the
//!   message listing every unknown key: `custom_password_hash.hash: foo, bar: additional
//!   properties not allowed`.
//! * **Lengths**: besides the digest sizes §5.3 fixes for `md4`…`sha512`, a decoded `hmac`
//!   value must have the digest's size, a `scrypt` value `keylen` bytes, a pbkdf2 hash `l`
//!   bytes, an unsalted LDAP value the digest's size (a salted one at least that): anything
//!   else could never verify, so it is a `FORMAT` error.
//! * **scrypt bounds** (`MAXIMUM`, RFC 7914): `keylen` ≤ (2³²−1)·32, `blockSize` and
//!   `parallelization` ≤ 2³²−1, `blockSize`·`parallelization` < 2³⁰, `cost` < 2^(16·`blockSize`).
//!   Integral JSON numbers written with a fraction part (`32.0`) count as integers.
//! * **argon2**: `v=19` or no version (then version 0x10, as in the reference implementation);
//!   `m ≥ 8·p`, `t ≥ 1`, `1 ≤ p ≤ 2²⁴−1`, salt ≥ 8 bytes, hash ≥ 4 bytes, B64 canonical.
//! * **pbkdf2**: `i` and `l` in any order, each at most once; the whole parameter segment may
//!   be left out (`$pbkdf2-sha512$<salt>$<hash>`). `RSA-SHA1-2` is OpenSSL's alias of SHA-1
//!   and verifies; the MDC-2 names (`mdc2`, `RSA-MDC2`, `mdc2WithRSA`) are accepted but cannot
//!   be verified ([`PasswordError::Unsupported`]): no maintained Rust MDC-2 exists.
//! * **password.encoding**: a typed password with a character the encoding cannot represent
//!   (above U+007F for `ascii`, above U+00FF for `latin1`/`binary`) cannot be the password that
//!   was hashed, so [`CustomHash::verify`] returns `Ok(false)` rather than an error (the stored
//!   hash is fine; the attempt is simply wrong).
//! * **bcrypt with a salt**: the salt's bytes are put before or after the password's bytes and
//!   the result is cut to 72 bytes, as bcrypt reads no more.
//! * **Resource limits**: verification refuses (with [`PasswordError::ResourceLimit`]) scrypt
//!   and argon2 parameters needing more than 1 GiB of memory; parse still accepts them.

mod digests;
mod encoding;
mod formats;
mod parse;

use std::fmt;

use serde_json::Value;
use userbridge_model::RecordError;

use crate::digests::{HashFn, ct_eq};
use crate::encoding::PasswordEncoding;

/// Errors of verification (format problems are [`RecordError`]s of [`CustomHash::parse`]).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot verify {0}: not supported")]
    Unsupported(String),
    #[error("the stored hash is malformed: {0}")]
    Malformed(String),
    #[error("cannot verify: {0} exceeds the resource limit")]
    ResourceLimit(String),
}

pub type Result<T, E = PasswordError> = std::result::Result<T, E>;

/// Most memory one verification may use (scrypt, argon2).
pub const MAX_VERIFY_MEMORY: u64 = 1 << 30;

/// bcrypt reads at most this many bytes of the password.
const BCRYPT_MAX_BYTES: usize = 72;

/// True when `hash` is a bcrypt modular-crypt string Auth0 imports as `password_hash`:
/// `$2a$`/`$2b$`/`$2y$`, cost 04–31, 53 characters of the bcrypt alphabet (§4).
pub fn is_bcrypt(hash: &str) -> bool {
    formats::is_bcrypt(hash)
}

/// Verifies a password against a `password_hash` (bcrypt). Bytes past the 72nd are ignored,
/// as bcrypt does.
pub fn verify_bcrypt(hash: &str, password: &str) -> Result<bool> {
    bcrypt_bytes(hash, password.as_bytes())
}

fn bcrypt_bytes(hash: &str, password: &[u8]) -> Result<bool> {
    if !is_bcrypt(hash) {
        return Err(PasswordError::Malformed("not a bcrypt hash".into()));
    }
    let password = &password[..password.len().min(BCRYPT_MAX_BYTES)];
    bcrypt::verify(password, hash).map_err(|e| PasswordError::Malformed(format!("bcrypt: {e}")))
}

/// Bytes that must not show up in logs: `Debug` prints only their length.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret<T>(pub T);

impl<T: AsRef<[u8]>> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.as_ref().len())
    }
}

/// `custom_password_hash.algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Argon2,
    Bcrypt,
    Hmac,
    Ldap,
    Md4,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Pbkdf2,
    Scrypt,
}

impl Algorithm {
    pub(crate) const NAMES: &'static [(&'static str, Algorithm)] = &[
        ("argon2", Algorithm::Argon2),
        ("bcrypt", Algorithm::Bcrypt),
        ("hmac", Algorithm::Hmac),
        ("ldap", Algorithm::Ldap),
        ("md4", Algorithm::Md4),
        ("md5", Algorithm::Md5),
        ("sha1", Algorithm::Sha1),
        ("sha256", Algorithm::Sha256),
        ("sha512", Algorithm::Sha512),
        ("pbkdf2", Algorithm::Pbkdf2),
        ("scrypt", Algorithm::Scrypt),
    ];

    pub(crate) fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("", |(n, _)| n)
    }

    /// The plain digest of `md4`, `md5`, `sha1`, `sha256`, `sha512`.
    pub(crate) fn plain_digest(self) -> Option<HashFn> {
        match self {
            Algorithm::Md4 => Some(HashFn::Md4),
            Algorithm::Md5 => Some(HashFn::Md5),
            Algorithm::Sha1 => Some(HashFn::Sha1),
            Algorithm::Sha256 => Some(HashFn::Sha256),
            Algorithm::Sha512 => Some(HashFn::Sha512),
            _ => None,
        }
    }
}

/// `salt.position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Prefix,
    Suffix,
}

/// A decoded `salt` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Salt {
    pub bytes: Secret<Vec<u8>>,
    pub position: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Argon2Variant {
    I,
    D,
    Id,
}

/// A decoded argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Argon2Hash {
    pub variant: Argon2Variant,
    /// 0x10 or 0x13.
    pub version: u32,
    pub m: u32,
    pub t: u32,
    pub p: u32,
    pub salt: Secret<Vec<u8>>,
    pub hash: Secret<Vec<u8>>,
}

/// What each algorithm needs to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    Argon2(Argon2Hash),
    Bcrypt(Secret<String>),
    Hmac {
        function: HashFn,
        key: Secret<Vec<u8>>,
        mac: Secret<Vec<u8>>,
    },
    /// `md4`, `md5`, `sha1`, `sha256`, `sha512`.
    Digest {
        function: HashFn,
        digest: Secret<Vec<u8>>,
    },
    Ldap {
        function: HashFn,
        digest: Secret<Vec<u8>>,
        salt: Secret<Vec<u8>>,
    },
    Pbkdf2 {
        function: HashFn,
        iterations: u32,
        salt: Secret<Vec<u8>>,
        hash: Secret<Vec<u8>>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        key: Secret<Vec<u8>>,
    },
}

/// A validated `custom_password_hash`. Its `Debug` output never shows hash, salt or key bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomHash {
    algorithm: Algorithm,
    password_encoding: PasswordEncoding,
    salt: Option<Salt>,
    scheme: Scheme,
}

impl CustomHash {
    /// Checks a `custom_password_hash` value against §5 and returns every problem, with
    /// paths starting at `custom_password_hash`.
    pub fn parse(value: &Value) -> std::result::Result<CustomHash, Vec<RecordError>> {
        parse::parse(value)
    }

    /// The `algorithm` (`md5`, `pbkdf2`, …).
    pub fn algorithm(&self) -> &str {
        self.algorithm.name()
    }

    /// False when the hash is valid but this build cannot compute it (pbkdf2 with an MDC-2
    /// digest); [`CustomHash::verify`] then returns [`PasswordError::Unsupported`].
    pub fn can_verify(&self) -> bool {
        match &self.scheme {
            Scheme::Pbkdf2 { function, .. } => function.is_implemented(),
            _ => true,
        }
    }

    /// Verifies a password against this hash, in constant time with respect to the stored
    /// digest.
    pub fn verify(&self, password: &str) -> Result<bool> {
        let Some(password) = self.password_encoding.encode(password) else {
            return Ok(false);
        };
        let salt: &[u8] = self.salt.as_ref().map_or(&[], |s| &s.bytes.0);
        let salted = || -> Vec<u8> {
            match self.salt.as_ref().map(|s| s.position) {
                Some(Position::Suffix) => [password.as_slice(), salt].concat(),
                _ => [salt, password.as_slice()].concat(),
            }
        };
        match &self.scheme {
            Scheme::Bcrypt(hash) => bcrypt_bytes(&hash.0, &salted()),
            Scheme::Digest { function, digest } => {
                Ok(ct_eq(&function.digest(&[&salted()])?, &digest.0))
            }
            Scheme::Hmac { function, key, mac } => {
                Ok(ct_eq(&function.hmac(&key.0, &[&salted()])?, &mac.0))
            }
            Scheme::Ldap {
                function,
                digest,
                salt,
            } => Ok(ct_eq(&function.digest(&[&password, &salt.0])?, &digest.0)),
            Scheme::Pbkdf2 {
                function,
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.0.len()];
                function.pbkdf2(&password, &salt.0, *iterations, &mut out)?;
                Ok(ct_eq(&out, &hash.0))
            }
            Scheme::Scrypt { log_n, r, p, key } => {
                verify_scrypt(&password, salt, *log_n, *r, *p, &key.0)
            }
            Scheme::Argon2(hash) => verify_argon2(&password, hash),
        }
    }
}

fn verify_scrypt(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    key: &[u8],
) -> Result<bool> {
    // V is 128·r·N bytes, B 128·r·p.
    let memory = 1u64
        .checked_shl(u32::from(log_n))
        .and_then(|n| n.checked_add(u64::from(p)))
        .and_then(|np| np.checked_mul(128 * u64::from(r)));
    if memory.is_none_or(|m| m > MAX_VERIFY_MEMORY) {
        return Err(PasswordError::ResourceLimit(format!(
            "scrypt with cost 2^{log_n}, blockSize {r}, parallelization {p}"
        )));
    }
    let params = scrypt::Params::new(log_n, r, p, scrypt::Params::RECOMMENDED_LEN)
        .map_err(|e| PasswordError::Malformed(format!("scrypt parameters: {e}")))?;
    let mut out = vec![0u8; key.len()];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|e| PasswordError::Malformed(format!("scrypt key length: {e}")))?;
    Ok(ct_eq(&out, key))
}

fn verify_argon2(password: &[u8], hash: &Argon2Hash) -> Result<bool> {
    if u64::from(hash.m) * 1024 > MAX_VERIFY_MEMORY {
        return Err(PasswordError::ResourceLimit(format!(
            "argon2 with m={} KiB",
            hash.m
        )));
    }
    let algorithm = match hash.variant {
        Argon2Variant::I => argon2::Algorithm::Argon2i,
        Argon2Variant::D => argon2::Algorithm::Argon2d,
        Argon2Variant::Id => argon2::Algorithm::Argon2id,
    };
    let version = if hash.version == 0x10 {
        argon2::Version::V0x10
    } else {
        argon2::Version::V0x13
    };
    let malformed = |e: argon2::Error| PasswordError::Malformed(format!("argon2: {e}"));
    let params =
        argon2::Params::new(hash.m, hash.t, hash.p, Some(hash.hash.0.len())).map_err(malformed)?;
    let mut out = vec![0u8; hash.hash.0.len()];
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into(password, &hash.salt.0, &mut out)
        .map_err(malformed)?;
    Ok(ct_eq(&out, &hash.hash.0))
}
