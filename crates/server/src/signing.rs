//! HMAC-SHA256 under the server's signing key: download-link signatures and CSRF tokens.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The MAC of `message` under `key`, to finalize (sign) or to verify in constant time.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac)
}

/// Lower-case hex of the MAC of `message` (empty only if the key were unusable, which no
/// HMAC key is).
pub(crate) fn sign_hex(key: &[u8], message: &[u8]) -> String {
    hmac_sha256(key, message)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// True when `signature_hex` is the MAC of `message`; compared in constant time.
pub(crate) fn verify_hex(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex) else {
        return false;
    };
    hmac_sha256(key, message).is_some_and(|mac| mac.verify_slice(&signature).is_ok())
}
