//! Identifier formats (`management-api.md` §1.3).

use rand::Rng;
use rand::distributions::Alphanumeric;

fn alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn matches(value: &str, prefix: &str, len: usize) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == len && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The prefix of every user id in a database connection.
pub const USER_ID_PREFIX: &str = "auth0|";

/// A new connection id: `con_` + 16 alphanumerics.
pub fn new_connection_id() -> String {
    format!("con_{}", alphanumeric(16))
}

/// A new job id: `job_` + 16 alphanumerics.
pub fn new_job_id() -> String {
    format!("job_{}", alphanumeric(16))
}

/// A new Documents directory id: `dir_` + 16 alphanumerics.
pub fn new_directory_id() -> String {
    format!("dir_{}", alphanumeric(16))
}

/// A new document id: `doc_` + 16 alphanumerics. It is also the name of the document's
/// content file, so it never holds anything but ASCII letters and digits after the prefix.
pub fn new_document_id() -> String {
    format!("doc_{}", alphanumeric(16))
}

/// A new machine-to-machine client id: 32 alphanumerics.
pub fn new_client_id() -> String {
    alphanumeric(32)
}

/// A new secret: 64 alphanumerics (about 380 bits).
pub fn new_secret() -> String {
    alphanumeric(64)
}

/// A new user id, without the `auth0|` prefix: 24 lower-case hex characters.
pub fn new_user_id_suffix() -> String {
    let bytes: [u8; 12] = rand::thread_rng().r#gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn is_connection_id(value: &str) -> bool {
    matches(value, "con_", 16)
}

pub fn is_job_id(value: &str) -> bool {
    matches(value, "job_", 16)
}

pub fn is_document_id(value: &str) -> bool {
    matches(value, "doc_", 16)
}

/// The Auth0 connection-name rule: `^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$`, 1–128 chars.
pub fn is_connection_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_their_documented_shapes() {
        assert!(is_connection_id(&new_connection_id()));
        assert!(is_job_id(&new_job_id()));
        assert!(is_document_id(&new_document_id()));
        assert!(new_directory_id().starts_with("dir_"));
        assert_eq!(new_client_id().len(), 32);
        let user = new_user_id_suffix();
        assert_eq!(user.len(), 24);
        assert!(
            user.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn connection_names_follow_auth0s_rule() {
        assert!(is_connection_name("Username-Password-Authentication"));
        assert!(is_connection_name("a"));
        assert!(!is_connection_name(""));
        assert!(!is_connection_name("-a"));
        assert!(!is_connection_name("a-"));
        assert!(!is_connection_name("a--b"));
        assert!(!is_connection_name("a b"));
        assert!(!is_job_id("job_short"));
        assert!(!is_connection_id("con_a1B2c3D4e5F6g7H!"));
    }
}
