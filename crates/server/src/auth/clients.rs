//! Machine-to-machine clients: their secrets, and creating, re-keying and removing them (the
//! first start and `userbridge clients …`).
//!
//! A secret is 64 random alphanumerics, shown once and stored as an argon2id hash (PHC string:
//! 19 MiB, 2 passes, 1 lane, OWASP's baseline). Checking one costs tens of milliseconds of
//! CPU by design; the token endpoint's failure budget (`attempts`) keeps guessers from making
//! the server pay that cost at will.

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use userbridge_model::{ids, time};
use userbridge_store::{Client, Store};

use super::MANAGEMENT_SCOPES;
use crate::ServerError;

/// The argon2id hash of no client's secret: an unknown client id is checked against it, so
/// it costs as much time as a known one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$WamJkLRNj+esqbOWcNih2w$6ARsMbJf2vFjKW6RcO+HZ15yuaBSGD9PzFTJQGpBpfM";

/// Longest client name.
const MAX_NAME_CHARS: usize = 128;

/// argon2id with the crate's default parameters, which are OWASP's baseline (a test pins
/// them).
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// The argon2id PHC string of a secret, with a fresh salt.
pub fn hash_secret(secret: &str) -> Result<String, ServerError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon2()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

/// The outcome of checking a presented secret against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    Wrong,
    Right,
    /// Right, against a hex SHA-256 stored before argon2id: the caller rehashes it.
    RightButLegacy,
}

/// Checks a secret against a stored hash (`None`: unknown client, checked against a dummy
/// hash for the same cost). Blocking: tens of milliseconds of CPU.
pub fn check_secret(stored: Option<&str>, presented: &str) -> SecretCheck {
    let stored = stored.unwrap_or(DUMMY_HASH);
    if let Ok(hash) = PasswordHash::new(stored) {
        // Compared in constant time by the argon2 crate.
        return if argon2()
            .verify_password(presented.as_bytes(), &hash)
            .is_ok()
            && stored != DUMMY_HASH
        {
            SecretCheck::Right
        } else {
            SecretCheck::Wrong
        };
    }
    // Before migration 0009 secrets were kept as hex SHA-256 (they are random, so a plain
    // hash was not guessable); such a hash is accepted once and replaced.
    if same_bytes(stored.as_bytes(), super::digest(presented).as_bytes()) {
        SecretCheck::RightButLegacy
    } else {
        SecretCheck::Wrong
    }
}

/// Constant-time comparison of two byte strings of public length.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The scopes of a `--scopes` list: separated by spaces or commas, each one a scope this
/// version knows, at least one; duplicates dropped.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, ServerError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text.split([' ', ',', '\t', '\n']).filter(|s| !s.is_empty()) {
        if !MANAGEMENT_SCOPES.contains(&scope) {
            return Err(ServerError::UnknownScope(scope.to_string()));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        return Err(ServerError::NoScopes);
    }
    Ok(scopes)
}

/// A new client with the given scopes; returns it and its secret (to show once).
pub fn create_client(
    store: &dyn Store,
    name: &str,
    scopes: &[String],
) -> Result<(Client, String), ServerError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ServerError::InvalidClientName(name.to_string()));
    }
    let secret = ids::new_secret();
    let client = Client {
        client_id: ids::new_client_id(),
        name: name.to_string(),
        secret_hash: hash_secret(&secret)?,
        scopes: scopes.to_vec(),
        created_at: time::now(),
    };
    store.create_client(&client)?;
    Ok((client, secret))
}

/// Gives a client a new secret (to show once); the old one stops working at once. Tokens
/// already issued stay valid until they expire.
pub fn rotate_secret(store: &dyn Store, client_id: &str) -> Result<String, ServerError> {
    let secret = ids::new_secret();
    if !store.set_client_secret_hash(client_id, &hash_secret(&secret)?)? {
        return Err(ServerError::UnknownClient(client_id.to_string()));
    }
    Ok(secret)
}

/// Removes a client; its tokens are refused from the next request on.
pub fn delete_client(store: &dyn Store, client_id: &str) -> Result<(), ServerError> {
    if !store.delete_client(client_id)? {
        return Err(ServerError::UnknownClient(client_id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn argon2_parameters_are_owasps_baseline() {
        let params = argon2::Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19 * 1024, 2, 1)
        );
        let hash = hash_secret("s3cret").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn secrets_check_against_argon2id_and_legacy_digests() {
        let hash = hash_secret("right").unwrap();
        assert_eq!(check_secret(Some(&hash), "right"), SecretCheck::Right);
        assert_eq!(check_secret(Some(&hash), "wrong"), SecretCheck::Wrong);
        let legacy = super::super::digest("right");
        assert_eq!(
            check_secret(Some(&legacy), "right"),
            SecretCheck::RightButLegacy
        );
        assert_eq!(check_secret(Some(&legacy), "wrong"), SecretCheck::Wrong);
        assert_eq!(check_secret(None, "anything"), SecretCheck::Wrong);
        assert_eq!(check_secret(Some(""), ""), SecretCheck::Wrong);
    }

    #[test]
    fn scope_lists_are_checked() {
        assert_eq!(
            parse_scopes("read:users, create:users read:users").unwrap(),
            ["read:users", "create:users"]
        );
        assert!(matches!(
            parse_scopes("read:users delete:everything"),
            Err(ServerError::UnknownScope(s)) if s == "delete:everything"
        ));
        assert!(matches!(parse_scopes(" , "), Err(ServerError::NoScopes)));
    }
}
