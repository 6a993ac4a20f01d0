//! The hash functions behind `md4`…`sha512`, `hmac`, `ldap` and `pbkdf2`, their names, and
//! constant-time comparison.

use hmac::SimpleHmac;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::{Digest, KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::{PasswordError, Result};

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashFn {
    Md4,
    Md5,
    /// MDC-2 (DES based): named by Auth0's pbkdf2 list; no maintained Rust implementation,
    /// so hashes using it are validated but cannot be verified.
    Mdc2,
    Ripemd160,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Whirlpool,
}

impl HashFn {
    /// `hash.digest` of `hmac` (§5.1).
    pub(crate) const HMAC_NAMES: &'static [(&'static str, HashFn)] = &[
        ("md4", HashFn::Md4),
        ("md5", HashFn::Md5),
        ("ripemd160", HashFn::Ripemd160),
        ("sha1", HashFn::Sha1),
        ("sha224", HashFn::Sha224),
        ("sha256", HashFn::Sha256),
        ("sha384", HashFn::Sha384),
        ("sha512", HashFn::Sha512),
        ("whirlpool", HashFn::Whirlpool),
    ];

    /// Auth0's 33 pbkdf2 digest names (§5.3), matched case-sensitively. They are OpenSSL's
    /// names and aliases; `RSA-SHA1-2` is OpenSSL's short name of `sha1WithRSA`, whose digest
    /// is SHA-1.
    pub(crate) const PBKDF2_NAMES: &'static [(&'static str, HashFn)] = &[
        ("RSA-MD4", HashFn::Md4),
        ("RSA-MD5", HashFn::Md5),
        ("RSA-MDC2", HashFn::Mdc2),
        ("RSA-RIPEMD160", HashFn::Ripemd160),
        ("RSA-SHA1", HashFn::Sha1),
        ("RSA-SHA1-2", HashFn::Sha1),
        ("RSA-SHA224", HashFn::Sha224),
        ("RSA-SHA256", HashFn::Sha256),
        ("RSA-SHA384", HashFn::Sha384),
        ("RSA-SHA512", HashFn::Sha512),
        ("md4", HashFn::Md4),
        ("md4WithRSAEncryption", HashFn::Md4),
        ("md5", HashFn::Md5),
        ("md5WithRSAEncryption", HashFn::Md5),
        ("mdc2", HashFn::Mdc2),
        ("mdc2WithRSA", HashFn::Mdc2),
        ("ripemd", HashFn::Ripemd160),
        ("ripemd160", HashFn::Ripemd160),
        ("ripemd160WithRSA", HashFn::Ripemd160),
        ("rmd160", HashFn::Ripemd160),
        ("sha1", HashFn::Sha1),
        ("sha1WithRSAEncryption", HashFn::Sha1),
        ("sha224", HashFn::Sha224),
        ("sha224WithRSAEncryption", HashFn::Sha224),
        ("sha256", HashFn::Sha256),
        ("sha256WithRSAEncryption", HashFn::Sha256),
        ("sha384", HashFn::Sha384),
        ("sha384WithRSAEncryption", HashFn::Sha384),
        ("sha512", HashFn::Sha512),
        ("sha512WithRSAEncryption", HashFn::Sha512),
        ("ssl3-md5", HashFn::Md5),
        ("ssl3-sha1", HashFn::Sha1),
        ("whirlpool", HashFn::Whirlpool),
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            HashFn::Md4 => "md4",
            HashFn::Md5 => "md5",
            HashFn::Mdc2 => "mdc2",
            HashFn::Ripemd160 => "ripemd160",
            HashFn::Sha1 => "sha1",
            HashFn::Sha224 => "sha224",
            HashFn::Sha256 => "sha256",
            HashFn::Sha384 => "sha384",
            HashFn::Sha512 => "sha512",
            HashFn::Whirlpool => "whirlpool",
        }
    }

    /// Output size in bytes.
    pub(crate) fn output_len(self) -> usize {
        match self {
            HashFn::Md4 | HashFn::Md5 | HashFn::Mdc2 => 16,
            HashFn::Ripemd160 | HashFn::Sha1 => 20,
            HashFn::Sha224 => 28,
            HashFn::Sha256 => 32,
            HashFn::Sha384 => 48,
            HashFn::Sha512 | HashFn::Whirlpool => 64,
        }
    }

    /// True when this build can compute the function.
    pub(crate) fn is_implemented(self) -> bool {
        self != HashFn::Mdc2
    }

    fn unsupported(self) -> PasswordError {
        PasswordError::Unsupported(format!(
            "the {} digest (no implementation available)",
            self.name()
        ))
    }

    /// `H(parts[0] ‖ parts[1] ‖ …)`.
    pub(crate) fn digest(self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        Ok(match self {
            HashFn::Md4 => run::<md4::Md4>(parts),
            HashFn::Md5 => run::<md5::Md5>(parts),
            HashFn::Ripemd160 => run::<ripemd::Ripemd160>(parts),
            HashFn::Sha1 => run::<sha1::Sha1>(parts),
            HashFn::Sha224 => run::<sha2::Sha224>(parts),
            HashFn::Sha256 => run::<sha2::Sha256>(parts),
            HashFn::Sha384 => run::<sha2::Sha384>(parts),
            HashFn::Sha512 => run::<sha2::Sha512>(parts),
            HashFn::Whirlpool => run::<whirlpool::Whirlpool>(parts),
            HashFn::Mdc2 => return Err(self.unsupported()),
        })
    }

    /// `HMAC-H(key, parts[0] ‖ parts[1] ‖ …)`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>> {
        fn run<D: Digest + BlockSizeUser + Clone>(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>> {
            let mut mac = <SimpleHmac<D> as KeyInit>::new_from_slice(key)
                .map_err(|_| PasswordError::Malformed("HMAC key rejected".into()))?;
            for part in parts {
                mac.update(part);
            }
            Ok(mac.finalize().into_bytes().to_vec())
        }
        match self {
            HashFn::Md4 => run::<md4::Md4>(key, parts),
            HashFn::Md5 => run::<md5::Md5>(key, parts),
            HashFn::Ripemd160 => run::<ripemd::Ripemd160>(key, parts),
            HashFn::Sha1 => run::<sha1::Sha1>(key, parts),
            HashFn::Sha224 => run::<sha2::Sha224>(key, parts),
            HashFn::Sha256 => run::<sha2::Sha256>(key, parts),
            HashFn::Sha384 => run::<sha2::Sha384>(key, parts),
            HashFn::Sha512 => run::<sha2::Sha512>(key, parts),
            HashFn::Whirlpool => run::<whirlpool::Whirlpool>(key, parts),
            HashFn::Mdc2 => Err(self.unsupported()),
        }
    }

    /// PBKDF2-HMAC-H filling `out`.
    pub(crate) fn pbkdf2(
        self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        out: &mut [u8],
    ) -> Result<()> {
        fn run<D: Digest + BlockSizeUser + Clone + Sync>(
            password: &[u8],
            salt: &[u8],
            rounds: u32,
            out: &mut [u8],
        ) -> Result<()> {
            pbkdf2::pbkdf2::<SimpleHmac<D>>(password, salt, rounds, out)
                .map_err(|_| PasswordError::Malformed("PBKDF2 password rejected".into()))
        }
        match self {
            HashFn::Md4 => run::<md4::Md4>(password, salt, rounds, out),
            HashFn::Md5 => run::<md5::Md5>(password, salt, rounds, out),
            HashFn::Ripemd160 => run::<ripemd::Ripemd160>(password, salt, rounds, out),
            HashFn::Sha1 => run::<sha1::Sha1>(password, salt, rounds, out),
            HashFn::Sha224 => run::<sha2::Sha224>(password, salt, rounds, out),
            HashFn::Sha256 => run::<sha2::Sha256>(password, salt, rounds, out),
            HashFn::Sha384 => run::<sha2::Sha384>(password, salt, rounds, out),
            HashFn::Sha512 => run::<sha2::Sha512>(password, salt, rounds, out),
            HashFn::Whirlpool => run::<whirlpool::Whirlpool>(password, salt, rounds, out),
            HashFn::Mdc2 => Err(self.unsupported()),
        }
    }
}

/// Equality of two digests in time independent of where they differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_three_pbkdf2_names() {
        assert_eq!(HashFn::PBKDF2_NAMES.len(), 33);
    }

    #[test]
    fn output_lengths_match_the_implementations() {
        for &(_, f) in HashFn::HMAC_NAMES {
            assert_eq!(
                f.digest(&[b"x"]).map(|d| d.len()).ok(),
                Some(f.output_len())
            );
            assert_eq!(
                f.hmac(b"k", &[b"x"]).map(|d| d.len()).ok(),
                Some(f.output_len())
            );
        }
    }

    #[test]
    fn parts_are_concatenated() {
        let whole = HashFn::Sha256.digest(&[b"abchunter2"]).ok();
        assert_eq!(HashFn::Sha256.digest(&[b"abc", b"hunter2"]).ok(), whole);
        let whole = HashFn::Md5.hmac(b"k", &[b"abchunter2"]).ok();
        assert_eq!(
            HashFn::Md5.hmac(b"k", &[b"abc", b"", b"hunter2"]).ok(),
            whole
        );
    }

    #[test]
    fn mdc2_is_unsupported() {
        assert!(matches!(
            HashFn::Mdc2.digest(&[b"x"]),
            Err(PasswordError::Unsupported(_))
        ));
        assert!(matches!(
            HashFn::Mdc2.hmac(b"k", &[b"x"]),
            Err(PasswordError::Unsupported(_))
        ));
        let mut out = [0u8; 16];
        assert!(matches!(
            HashFn::Mdc2.pbkdf2(b"p", b"s", 1, &mut out),
            Err(PasswordError::Unsupported(_))
        ));
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
