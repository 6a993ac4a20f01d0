//! Dashboard admins: their passwords (bcrypt), the account the first start creates, and
//! password resets.

use rand::Rng;
use rand::distributions::Alphanumeric;
use userbridge_store::Store;

use crate::ServerError;

/// The admin the first start creates.
pub const DEFAULT_ADMIN: &str = "admin";

/// Shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Length of a generated password (alphanumerics: about 143 bits).
const GENERATED_PASSWORD_CHARS: usize = 24;

const BCRYPT_COST: u32 = 10;

/// A bcrypt hash (cost 10) of no admin's password: an unknown username is checked against it,
/// so it costs as much time as a known one.
const DUMMY_HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

pub fn hash_password(password: &str) -> Result<String, ServerError> {
    Ok(bcrypt::hash(password, BCRYPT_COST)?)
}

/// A new random password.
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_CHARS)
        .map(char::from)
        .collect()
}

/// True when `username` may name an admin: 1–64 ASCII letters, digits, `.`, `_`, `-`, `@`.
/// (It appears as `dashboard:<username>` in what the admin does, e.g. `uploaded_by`.)
pub fn is_username(username: &str) -> bool {
    (1..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// Creates [`DEFAULT_ADMIN`] with a generated password when there is no admin at all; returns
/// that password (shown once by the caller, never stored).
pub fn create_first_admin(store: &dyn Store) -> Result<Option<String>, ServerError> {
    if !store.admins()?.is_empty() {
        return Ok(None);
    }
    let password = generate_password();
    store.set_admin_password(DEFAULT_ADMIN, &hash_password(&password)?)?;
    Ok(Some(password))
}

/// Sets an admin's password (creating the admin when missing) and ends its sessions.
pub fn set_password(store: &dyn Store, username: &str, password: &str) -> Result<(), ServerError> {
    if !is_username(username) {
        return Err(ServerError::InvalidUsername(username.to_string()));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServerError::PasswordTooShort(MIN_PASSWORD_CHARS));
    }
    store.set_admin_password(username, &hash_password(password)?)?;
    Ok(())
}

/// Checks a sign-in. An unknown admin costs the same bcrypt work as a known one, so the
/// answer time does not tell which usernames exist. Blocking (bcrypt): call off the executor.
pub fn check_password(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<bool, ServerError> {
    let admin = store.admin(username)?;
    let hash = admin
        .as_ref()
        .map_or(DUMMY_HASH, |a| a.password_hash.as_str());
    let matches = bcrypt::verify(password, hash).unwrap_or_else(|e| {
        tracing::error!(username, error = %e, "an admin's stored password hash is unusable");
        false
    });
    Ok(admin.is_some() && matches)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use userbridge_store::SqliteStore;

    use super::*;

    #[test]
    fn the_dummy_hash_is_a_usable_cost_10_hash() {
        assert!(DUMMY_HASH.starts_with("$2b$10$"));
        assert!(!bcrypt::verify("admin", DUMMY_HASH).unwrap());
    }

    #[test]
    fn generated_passwords_are_long_and_alphanumeric() {
        let password = generate_password();
        assert!(password.len() >= 20);
        assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(password, generate_password());
    }

    #[test]
    fn first_admin_once_then_passwords_check() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let password = create_first_admin(&store).unwrap().unwrap();
        assert_eq!(create_first_admin(&store).unwrap(), None);
        let stored = store.admin(DEFAULT_ADMIN).unwrap().unwrap();
        assert_ne!(stored.password_hash, password);
        assert!(check_password(&store, DEFAULT_ADMIN, &password).unwrap());
        assert!(!check_password(&store, DEFAULT_ADMIN, "wrong password").unwrap());
        assert!(!check_password(&store, "nobody", &password).unwrap());

        set_password(&store, DEFAULT_ADMIN, "a new password").unwrap();
        assert!(!check_password(&store, DEFAULT_ADMIN, &password).unwrap());
        assert!(check_password(&store, DEFAULT_ADMIN, "a new password").unwrap());
    }

    #[test]
    fn short_passwords_and_odd_usernames_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        for short in ["", "1234567", "ééééééé"] {
            assert!(matches!(
                set_password(&store, DEFAULT_ADMIN, short),
                Err(ServerError::PasswordTooShort(8))
            ));
        }
        for name in ["", "a b", "a:b", &"x".repeat(65)] {
            assert!(matches!(
                set_password(&store, name, "long enough"),
                Err(ServerError::InvalidUsername(_))
            ));
        }
        assert!(store.admins().unwrap().is_empty());
    }
}
