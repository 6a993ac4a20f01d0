//! The RSA key pairs that sign access tokens.
//!
//! Each key is a PKCS#8 PEM file `<data-dir>/keys/<kid>.pem` (mode 0600, the directory 0700).
//! Its `kid` is the key's JWK thumbprint (RFC 7638), so a file can be checked against its
//! name. The store lists the kids and says which one is current (`signing_keys`). [`rotate`]
//! makes a new current key; a retired key keeps verifying, and stays in the JWKS, for one token
//! lifetime after its retirement (the longest any token it signed can live), then [`prune`]
//! deletes it. A retired key that leaked is deleted before that with [`revoke`].
//!
//! A server caches the keys it has loaded ([`KeyRing`]). It asks the store for the current kid
//! at every token issuance, loads a kid it has not seen when a token names it, and re-reads
//! the whole list every minute; so `userbridge keys rotate` on the data directory of a running
//! server takes effect with the next token issued.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use userbridge_model::time;
use userbridge_store::{SigningKeyRecord, Store};

use crate::ServerError;
use crate::private_files::{create_private_dir, write_private};

/// The directory of the key files, inside the data directory.
pub const KEYS_DIR: &str = "keys";

/// RSA modulus size of a new key.
const KEY_BITS: usize = 2048;

/// Length of a kid: base64url of a SHA-256 thumbprint, without padding.
const KID_CHARS: usize = 43;

pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR)
}

fn key_path(data_dir: &Path, kid: &str) -> PathBuf {
    keys_dir(data_dir).join(format!("{kid}.pem"))
}

/// True for what a kid can be. Checked before a kid from a token reaches the store, and keeps
/// file names plain.
pub fn is_kid(text: &str) -> bool {
    text.len() == KID_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JWK thumbprint of a public key (RFC 7638): base64url SHA-256 of its required members
/// in lexical order, without spaces.
pub fn thumbprint(public: &RsaPublicKey) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        base64url(&public.e().to_bytes_be()),
        base64url(&public.n().to_bytes_be()),
    );
    base64url(&Sha256::digest(canonical.as_bytes()))
}

/// Whether a key may still verify tokens at `now`: the current key always; a retired one
/// until a token it signed just before its retirement would have expired.
pub fn in_retention(record: &SigningKeyRecord, token_lifetime: i64, now: i64) -> bool {
    record
        .retired_at
        .is_none_or(|retired| now <= retired.saturating_add(token_lifetime))
}

/// Generates a key pair, writes its file and makes it the current key (the previous current
/// key is retired now); returns the new kid. Blocking: generating takes up to a second or so.
pub fn rotate(store: &dyn Store, data_dir: &Path) -> Result<String, ServerError> {
    let private =
        RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(ServerError::KeyGeneration)?;
    let kid = thumbprint(&private.to_public_key());
    let path = key_path(data_dir, &kid);
    let key_error = |reason: String| ServerError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_error(e.to_string()))?;
    create_private_dir(&keys_dir(data_dir)).map_err(|e| key_error(e.to_string()))?;
    write_private(&path, pem.as_bytes()).map_err(|e| key_error(e.to_string()))?;
    store.add_signing_key(&kid, time::unix_seconds())?;
    Ok(kid)
}

/// Makes sure a current key exists (the first start generates it); returns the kid of a key
/// generated now.
pub fn ensure_current(store: &dyn Store, data_dir: &Path) -> Result<Option<String>, ServerError> {
    match store.current_signing_key()? {
        Some(_) => Ok(None),
        None => rotate(store, data_dir).map(Some),
    }
}

/// Deletes the keys whose retention is over (row first, so no server loads a half-deleted
/// key, then file); returns their kids.
pub fn prune(
    store: &dyn Store,
    data_dir: &Path,
    token_lifetime: i64,
    now: i64,
) -> Result<Vec<String>, ServerError> {
    let mut pruned = Vec::new();
    for record in store.signing_keys()? {
        if !in_retention(&record, token_lifetime, now) && delete(store, data_dir, &record.kid)? {
            pruned.push(record.kid);
        }
    }
    Ok(pruned)
}

/// Deletes a retired key before its retention is over (it leaked): the tokens it signed are
/// refused from now on — at once by a server started after, by a running one at its next
/// re-read of the list (within a minute, or at its next token issuance after a rotation).
/// The current key cannot be revoked: rotate first.
pub fn revoke(store: &dyn Store, data_dir: &Path, kid: &str) -> Result<(), ServerError> {
    let record = match is_kid(kid) {
        true => store.signing_key(kid)?,
        false => None,
    };
    let Some(record) = record else {
        return Err(ServerError::UnknownKey(kid.to_string()));
    };
    if record.retired_at.is_none() {
        return Err(ServerError::CurrentKeyRevoked(kid.to_string()));
    }
    delete(store, data_dir, kid)?;
    Ok(())
}

/// Deletes a key: its row first, so no server loads a half-deleted key, then its file;
/// `false` when the row was already gone.
fn delete(store: &dyn Store, data_dir: &Path, kid: &str) -> Result<bool, ServerError> {
    if !store.delete_signing_key(kid)? {
        return Ok(false);
    }
    match std::fs::remove_file(key_path(data_dir, kid)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(source) => Err(ServerError::Io {
            context: format!("cannot delete the key file of {kid}"),
            source,
        }),
    }
}

/// A key read from its file: signs (when current) and verifies.
pub struct LoadedKey {
    pub record: SigningKeyRecord,
    signer: SigningKey<Sha256>,
    verifier: VerifyingKey<Sha256>,
    jwk: Value,
}

impl LoadedKey {
    /// Reads the key file of a record and checks that it holds the key its name says.
    fn load(data_dir: &Path, record: SigningKeyRecord) -> Result<LoadedKey, ServerError> {
        let path = key_path(data_dir, &record.kid);
        let key_error = |reason: String| ServerError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read_to_string(&path).map_err(|e| key_error(e.to_string()))?;
        let private = RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| key_error(e.to_string()))?;
        let public = private.to_public_key();
        if thumbprint(&public) != record.kid {
            return Err(key_error("the key does not match its kid".into()));
        }
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": super::jwt::ALGORITHM,
            "kid": record.kid,
            "n": base64url(&public.n().to_bytes_be()),
            "e": base64url(&public.e().to_bytes_be()),
        });
        Ok(LoadedKey {
            record,
            signer: SigningKey::new(private),
            verifier: VerifyingKey::new(public),
            jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.record.kid
    }

    /// The public key as a JWK (`/.well-known/jwks.json`).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256. Blinded with fresh randomness, so the time a signature
    /// takes does not follow the private key.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signer
            .sign_with_rng(&mut rand::rngs::OsRng, message)
            .to_vec()
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::try_from(signature)
            .is_ok_and(|signature| self.verifier.verify(message, &signature).is_ok())
    }
}

/// The keys a server has loaded, by kid.
pub struct KeyRing {
    data_dir: PathBuf,
    loaded: RwLock<HashMap<String, Arc<LoadedKey>>>,
}

impl KeyRing {
    pub fn new(data_dir: &Path) -> KeyRing {
        KeyRing {
            data_dir: data_dir.to_path_buf(),
            loaded: RwLock::new(HashMap::new()),
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<LoadedKey>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned()
    }

    /// The key that signs new tokens: the store's current one. When it is not the one last
    /// seen (a rotation happened), the whole list is re-read, so the previous key's
    /// retirement is known too.
    pub fn current(&self, store: &dyn Store) -> Result<Arc<LoadedKey>, ServerError> {
        let record = store
            .current_signing_key()?
            .ok_or(ServerError::NoSigningKey)?;
        if let Some(key) = self.cached(&record.kid).filter(|k| k.record == record) {
            return Ok(key);
        }
        self.refresh(store)?;
        match self.cached(&record.kid) {
            Some(key) => Ok(key),
            // Its file could not be loaded: say why.
            None => LoadedKey::load(&self.data_dir, record).map(Arc::new),
        }
    }

    /// The key a token names, loaded on first sight; `None` when no such key exists or its
    /// file cannot be loaded (logged: the token is refused as one of an unknown key).
    pub fn find(
        &self,
        store: &dyn Store,
        kid: &str,
    ) -> Result<Option<Arc<LoadedKey>>, ServerError> {
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if !is_kid(kid) {
            return Ok(None);
        }
        let Some(record) = store.signing_key(kid)? else {
            return Ok(None);
        };
        let key = match LoadedKey::load(&self.data_dir, record) {
            Ok(key) => Arc::new(key),
            Err(e) => {
                tracing::error!(error = %e, "signing key left out");
                return Ok(None);
            }
        };
        self.loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kid.to_string(), key.clone());
        Ok(Some(key))
    }

    /// Re-reads the list of keys: records brought up to date, new keys loaded, deleted ones
    /// forgotten. Returns every key that could be loaded, oldest first; a key whose file is
    /// missing or damaged is left out (and logged), so its tokens are refused but the others,
    /// and a new key made by `keys rotate`, still work.
    pub fn refresh(&self, store: &dyn Store) -> Result<Vec<Arc<LoadedKey>>, ServerError> {
        let records = store.signing_keys()?;
        let mut keys = Vec::with_capacity(records.len());
        for record in records {
            let key = match self.cached(&record.kid) {
                Some(key) if key.record == record => key,
                Some(key) => Arc::new(LoadedKey {
                    record,
                    signer: key.signer.clone(),
                    verifier: key.verifier.clone(),
                    jwk: key.jwk.clone(),
                }),
                None => match LoadedKey::load(&self.data_dir, record) {
                    Ok(key) => Arc::new(key),
                    Err(e) => {
                        tracing::error!(error = %e, "signing key left out");
                        continue;
                    }
                },
            };
            keys.push(key);
        }
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *loaded = keys
            .iter()
            .map(|key| (key.kid().to_string(), key.clone()))
            .collect();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use userbridge_store::SqliteStore;

    use super::*;

    fn loaded_kids(ring: &KeyRing, store: &SqliteStore) -> Vec<String> {
        let keys = ring.refresh(store).unwrap();
        keys.iter().map(|k| k.kid().to_string()).collect()
    }

    #[test]
    fn a_revoked_key_is_gone_and_the_current_one_cannot_be() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let first = ensure_current(&store, tmp.path()).unwrap().unwrap();
        assert!(matches!(
            revoke(&store, tmp.path(), &first),
            Err(ServerError::CurrentKeyRevoked(_))
        ));
        let ring = KeyRing::new(tmp.path());
        assert!(ring.find(&store, &first).unwrap().is_some());
        let second = rotate(&store, tmp.path()).unwrap();
        revoke(&store, tmp.path(), &first).unwrap();
        assert!(!key_path(tmp.path(), &first).exists());
        // A running ring forgets it at its next re-read; a new one never finds it.
        assert_eq!(loaded_kids(&ring, &store), [second]);
        assert!(ring.find(&store, &first).unwrap().is_none());
        assert!(
            KeyRing::new(tmp.path())
                .find(&store, &first)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            revoke(&store, tmp.path(), &first),
            Err(ServerError::UnknownKey(_))
        ));
        assert!(matches!(
            revoke(&store, tmp.path(), "../../etc/passwd"),
            Err(ServerError::UnknownKey(_))
        ));
    }

    #[test]
    fn rotation_keeps_the_old_key_until_its_tokens_expire() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let first = ensure_current(&store, tmp.path()).unwrap().unwrap();
        assert_eq!(ensure_current(&store, tmp.path()).unwrap(), None);
        assert!(is_kid(&first), "{first}");
        let ring = KeyRing::new(tmp.path());
        let signed = ring.current(&store).unwrap().sign(b"message");

        let second = rotate(&store, tmp.path()).unwrap();
        assert_ne!(first, second);
        let current = ring.current(&store).unwrap();
        assert_eq!(current.kid(), second);
        let old = ring.find(&store, &first).unwrap().unwrap();
        let retired = old.record.retired_at.unwrap();
        assert!(old.verify(b"message", &signed));
        assert!(!old.verify(b"other message", &signed));
        assert!(!current.verify(b"message", &signed));
        assert!(in_retention(&old.record, 60, retired + 60));
        assert!(!in_retention(&old.record, 60, retired + 61));

        assert!(
            prune(&store, tmp.path(), 60, retired + 60)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            prune(&store, tmp.path(), 60, retired + 61).unwrap(),
            [first.as_str()]
        );
        assert!(!key_path(tmp.path(), &first).exists());
        assert!(key_path(tmp.path(), &second).exists());
        let kids = loaded_kids(&ring, &store);
        assert_eq!(kids, [second]);
        assert!(ring.find(&store, &first).unwrap().is_none());
    }

    #[test]
    fn a_key_file_must_hold_the_key_its_name_says() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let first = rotate(&store, tmp.path()).unwrap();
        let second = rotate(&store, tmp.path()).unwrap();
        std::fs::copy(key_path(tmp.path(), &second), key_path(tmp.path(), &first)).unwrap();
        let ring = KeyRing::new(tmp.path());
        assert!(ring.find(&store, &first).unwrap().is_none());
        let err = LoadedKey::load(tmp.path(), store.signing_key(&first).unwrap().unwrap())
            .err()
            .unwrap();
        assert!(err.to_string().contains("does not match its kid"), "{err}");
        assert!(ring.find(&store, "../../etc/passwd").unwrap().is_none());
        assert!(ring.find(&store, &"A".repeat(KID_CHARS)).unwrap().is_none());
    }

    #[test]
    fn a_lost_key_file_is_left_out_and_a_rotation_recovers() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let lost = rotate(&store, tmp.path()).unwrap();
        std::fs::remove_file(key_path(tmp.path(), &lost)).unwrap();
        let ring = KeyRing::new(tmp.path());
        let err = ring.current(&store).err().unwrap().to_string();
        assert!(err.contains(&format!("{lost}.pem")), "{err}");
        assert!(err.contains("userbridge keys rotate"), "{err}");
        let new = rotate(&store, tmp.path()).unwrap();
        assert_eq!(ring.current(&store).unwrap().kid(), new);
        let kids = loaded_kids(&ring, &store);
        assert_eq!(kids, [new]);
    }
}
