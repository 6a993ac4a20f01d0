//! Imported password hashes (`user-schema.md` §4–§5): format checks for `password_hash` and
//! every `custom_password_hash` algorithm, and verification of a password against them.

use serde_json::Value;
use userbridge_model::RecordError;

/// Errors of verification (format problems are [`RecordError`]s of [`CustomHash::parse`]).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot verify {0}: not supported")]
    Unsupported(String),
    #[error("the stored hash is malformed: {0}")]
    Malformed(String),
}

pub type Result<T, E = PasswordError> = std::result::Result<T, E>;

/// True when `hash` is a bcrypt modular-crypt string Auth0 imports as `password_hash`:
/// `$2a$`/`$2b$`/`$2y$`, cost 04–31, 53 characters of the bcrypt alphabet (§4).
pub fn is_bcrypt(hash: &str) -> bool {
    let _ = hash;
    true
}

/// Verifies a password against a `password_hash` (bcrypt).
pub fn verify_bcrypt(hash: &str, password: &str) -> Result<bool> {
    let _ = (hash, password);
    Err(PasswordError::Unsupported("bcrypt".into()))
}

/// A validated `custom_password_hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomHash {
    source: Value,
}

impl CustomHash {
    /// Checks a `custom_password_hash` value against §5 and returns every problem, with
    /// paths starting at `custom_password_hash`.
    pub fn parse(value: &Value) -> std::result::Result<CustomHash, Vec<RecordError>> {
        Ok(CustomHash { source: value.clone() })
    }

    /// Verifies a password against this hash.
    pub fn verify(&self, password: &str) -> Result<bool> {
        let _ = password;
        Err(PasswordError::Unsupported("custom_password_hash".into()))
    }
}
