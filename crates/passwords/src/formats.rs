//! Hash strings that carry their own parameters: bcrypt modular crypt (§4), argon2 and pbkdf2
//! PHC strings, and RFC 2307 LDAP values (§5.3). Each parser returns the problem of a
//! malformed string as text for a `FORMAT` message.

use crate::digests::HashFn;
use crate::encoding::{decode_argon2_b64, decode_base64, decode_phc_b64};
use crate::{Argon2Hash, Argon2Variant, Secret};

/// §4: `$2a$`/`$2b$`/`$2y$`, two-digit cost 04–31, `$`, 53 characters of `[./A-Za-z0-9]`.
pub(crate) fn is_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    if b.len() != 60 {
        return false;
    }
    let prefix_ok = matches!(&b[..4], b"$2a$" | b"$2b$" | b"$2y$");
    let cost_ok = b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && (4..=31).contains(&((b[4] - b'0') * 10 + (b[5] - b'0')))
        && b[6] == b'$';
    let body_ok = b[7..]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/');
    prefix_ok && cost_ok && body_ok
}

/// A decimal without sign or leading zeros.
fn decimal_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Largest `m` (KiB) and `p` the reference implementation accepts.
const ARGON2_MAX_LANES: u32 = 0x00FF_FFFF;
const ARGON2_MIN_SALT: usize = 8;
const ARGON2_MIN_OUT: usize = 4;

/// `$argon2{i|d|id}$[v=19$]m=<KiB>,t=<iterations>,p=<lanes>$<salt B64>$<hash B64>`.
/// Without `v=`, the hash is of version 0x10 (PHC and the reference implementation).
pub(crate) fn parse_argon2(value: &str) -> Result<Argon2Hash, String> {
    const SHAPE: &str =
        "expected $argon2{i|d|id}$[v=19$]m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>";
    let parts: Vec<&str> = value.split('$').collect();
    let (variant, version, params, salt, hash) = match parts.as_slice() {
        ["", id, "v=19", params, salt, hash] => (*id, 0x13, *params, *salt, *hash),
        ["", _, v, _, _, _] if v.starts_with("v=") => {
            return Err(format!("unsupported argon2 version {v:?} (only v=19)"));
        }
        ["", id, params, salt, hash] => (*id, 0x10, *params, *salt, *hash),
        _ => return Err(SHAPE.into()),
    };
    let variant = match variant {
        "argon2i" => Argon2Variant::I,
        "argon2d" => Argon2Variant::D,
        "argon2id" => Argon2Variant::Id,
        other => {
            return Err(format!(
                "unknown argon2 variant {other:?} (argon2i, argon2d, argon2id)"
            ));
        }
    };
    let mut numbers = [0u32; 3];
    let fields: Vec<&str> = params.split(',').collect();
    if fields.len() != 3 {
        return Err(SHAPE.into());
    }
    for ((field, name), slot) in fields.iter().zip(["m", "t", "p"]).zip(numbers.iter_mut()) {
        let number = field
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| SHAPE.to_string())?;
        *slot = decimal_u32(number)
            .ok_or_else(|| format!("{name}={number} is not a decimal number"))?;
    }
    let [m, t, p] = numbers;
    if !(1..=ARGON2_MAX_LANES).contains(&p) {
        return Err(format!("p={p} is outside 1–{ARGON2_MAX_LANES}"));
    }
    if t < 1 {
        return Err("t must be at least 1".into());
    }
    if u64::from(m) < 8 * u64::from(p) {
        return Err(format!("m={m} is less than 8 × p"));
    }
    let salt =
        decode_argon2_b64(salt).ok_or("the salt is not valid B64 (base64 without padding)")?;
    if salt.len() < ARGON2_MIN_SALT {
        return Err(format!("the salt is shorter than {ARGON2_MIN_SALT} bytes"));
    }
    let hash =
        decode_argon2_b64(hash).ok_or("the hash is not valid B64 (base64 without padding)")?;
    if hash.len() < ARGON2_MIN_OUT {
        return Err(format!("the hash is shorter than {ARGON2_MIN_OUT} bytes"));
    }
    Ok(Argon2Hash {
        variant,
        version,
        m,
        t,
        p,
        salt: Secret(salt),
        hash: Secret(hash),
    })
}

/// A parsed pbkdf2 PHC string.
pub(crate) struct Pbkdf2Parts {
    pub digest: HashFn,
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

pub(crate) const PBKDF2_DEFAULT_ITERATIONS: u32 = 100_000;
pub(crate) const PBKDF2_DEFAULT_KEYLEN: u32 = 64;

/// `$pbkdf2-<digest>$i=<iterations>,l=<keylen>$<salt B64>$<hash B64>`; `i` (default 100000)
/// and `l` (default 64) may be omitted, and with both the whole parameter segment.
pub(crate) fn parse_pbkdf2(value: &str) -> Result<Pbkdf2Parts, String> {
    const SHAPE: &str = "expected $pbkdf2-<digest>$i=<iterations>,l=<keylen>$<salt>$<hash>";
    let parts: Vec<&str> = value.split('$').collect();
    let (id, params, salt, hash) = match parts.as_slice() {
        ["", id, params, salt, hash] => (*id, Some(*params), *salt, *hash),
        ["", id, salt, hash] => (*id, None, *salt, *hash),
        _ => return Err(SHAPE.into()),
    };
    let name = id
        .strip_prefix("pbkdf2-")
        .ok_or_else(|| SHAPE.to_string())?;
    let digest = HashFn::PBKDF2_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, f)| f)
        .ok_or_else(|| format!("unsupported pbkdf2 digest {name:?}"))?;
    let (mut iterations, mut keylen) = (None, None);
    if let Some(params) = params {
        for field in params.split(',') {
            let (key, number) = field.split_once('=').ok_or_else(|| SHAPE.to_string())?;
            let slot = match key {
                "i" => &mut iterations,
                "l" => &mut keylen,
                _ => return Err(format!("unknown pbkdf2 parameter {key:?} (i, l)")),
            };
            if slot.is_some() {
                return Err(format!("parameter {key} given twice"));
            }
            let n = decimal_u32(number)
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("{key}={number} is not a positive decimal number"))?;
            *slot = Some(n);
        }
    }
    let iterations = iterations.unwrap_or(PBKDF2_DEFAULT_ITERATIONS);
    let keylen = keylen.unwrap_or(PBKDF2_DEFAULT_KEYLEN);
    let salt = decode_phc_b64(salt).ok_or("the salt is not valid B64 (base64 without padding)")?;
    let hash = decode_phc_b64(hash).ok_or("the hash is not valid B64 (base64 without padding)")?;
    if usize::try_from(keylen).ok() != Some(hash.len()) {
        return Err(format!("the hash is {} bytes but l={keylen}", hash.len()));
    }
    Ok(Pbkdf2Parts {
        digest,
        iterations,
        salt,
        hash,
    })
}

/// A parsed RFC 2307 value: `digest` is `H(password ‖ salt)`.
pub(crate) struct LdapParts {
    pub function: HashFn,
    pub digest: Vec<u8>,
    pub salt: Vec<u8>,
}

/// `{SCHEME}<base64>`; salted schemes carry `base64(digest ‖ salt)`.
pub(crate) fn parse_ldap(value: &str) -> Result<LdapParts, String> {
    let shape = || "expected {SCHEME}<base64> (RFC 2307)".to_string();
    let rest = value.strip_prefix('{').ok_or_else(shape)?;
    let (scheme, encoded) = rest.split_once('}').ok_or_else(shape)?;
    let (function, salted) = match scheme.to_ascii_uppercase().as_str() {
        "MD5" => (HashFn::Md5, false),
        "SMD5" => (HashFn::Md5, true),
        "SHA" => (HashFn::Sha1, false),
        "SSHA" => (HashFn::Sha1, true),
        "SHA256" => (HashFn::Sha256, false),
        "SSHA256" => (HashFn::Sha256, true),
        "SHA384" => (HashFn::Sha384, false),
        "SSHA384" => (HashFn::Sha384, true),
        "SHA512" => (HashFn::Sha512, false),
        "SSHA512" => (HashFn::Sha512, true),
        "CRYPT" => return Err("the {CRYPT} scheme is not supported".into()),
        _ => return Err(format!("unsupported LDAP scheme {{{scheme}}}")),
    };
    let mut bytes = decode_base64(encoded)
        .ok_or_else(|| format!("the value after {{{scheme}}} is not valid base64"))?;
    let size = function.output_len();
    if salted && bytes.len() < size {
        return Err(format!(
            "{{{scheme}}} needs at least {size} bytes (digest and salt), got {}",
            bytes.len()
        ));
    }
    if !salted && bytes.len() != size {
        return Err(format!(
            "{{{scheme}}} needs {size} bytes, got {}",
            bytes.len()
        ));
    }
    let salt = bytes.split_off(size);
    Ok(LdapParts {
        function,
        digest: bytes,
        salt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    #[test]
    fn bcrypt_shape() {
        assert!(is_bcrypt(BCRYPT));
        assert!(is_bcrypt(&BCRYPT.replace("$2b$", "$2a$")));
        assert!(is_bcrypt(&BCRYPT.replace("$2b$", "$2y$")));
        assert!(is_bcrypt(&BCRYPT.replace("$10$", "$04$")));
        assert!(is_bcrypt(&BCRYPT.replace("$10$", "$31$")));
        assert!(!is_bcrypt(&BCRYPT.replace("$10$", "$03$")));
        assert!(!is_bcrypt(&BCRYPT.replace("$10$", "$32$")));
        assert!(!is_bcrypt(&BCRYPT.replace("$10$", "$1a$")));
        assert!(!is_bcrypt(&BCRYPT.replace("$2b$", "$2x$")));
        assert!(!is_bcrypt(&BCRYPT.replace("$2b$", "$2$1")));
        assert!(!is_bcrypt(&BCRYPT[..59]));
        assert!(!is_bcrypt(&format!("{BCRYPT}a")));
        assert!(!is_bcrypt(&BCRYPT.replace('N', "+")));
        assert!(!is_bcrypt(&BCRYPT.replace('N', "é")));
        assert!(!is_bcrypt(""));
        assert!(!is_bcrypt("$sha1$c0$salt$hash"));
    }

    const ARGON2: &str =
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

    #[test]
    fn argon2_strings() {
        let a = parse_argon2(ARGON2).ok();
        assert_eq!(
            a.as_ref().map(|a| (a.variant, a.version, a.m, a.t, a.p)),
            Some((Argon2Variant::Id, 0x13, 65536, 3, 4))
        );
        let a = parse_argon2(&ARGON2.replace("v=19$", "")).ok();
        assert_eq!(a.map(|a| a.version), Some(0x10));
        assert!(parse_argon2(&ARGON2.replace("argon2id", "argon2i")).is_ok());
        assert!(parse_argon2(&ARGON2.replace("argon2id", "argon2d")).is_ok());
        for bad in [
            ARGON2.replace("argon2id", "argon2x"),
            ARGON2.replace("v=19", "v=16"),
            ARGON2.replace("m=65536", "m=7"),
            ARGON2.replace("m=65536", "m=31"),
            ARGON2.replace("t=3", "t=0"),
            ARGON2.replace("p=4", "p=0"),
            ARGON2.replace("p=4", "p=16777216"),
            ARGON2.replace("m=65536", "m=065536"),
            ARGON2.replace("m=65536", "m=99999999999"),
            ARGON2.replace("m=65536,t=3", "t=3,m=65536"),
            ARGON2.replace(",p=4", ""),
            ARGON2.replace("c29tZXNhbHQ", "c29tZXNhbHQ="),
            ARGON2.replace("c29tZXNhbHQ", "c29tZQ"),
            ARGON2.replace("c29tZXNhbHQ", "c29tZXNhbHR"),
            ARGON2.replace("$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "$AAAA"),
            ARGON2.replace("$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", ""),
            format!("{ARGON2}$"),
            "argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG".into(),
        ] {
            assert!(parse_argon2(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pbkdf2_strings() {
        let full = "$pbkdf2-sha256$i=1000,l=4$c2FsdA$AAECAw";
        let p = parse_pbkdf2(full).ok();
        assert_eq!(
            p.map(|p| (p.digest, p.iterations, p.salt, p.hash)),
            Some((HashFn::Sha256, 1000, b"salt".to_vec(), vec![0, 1, 2, 3]))
        );
        let sixty_four = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let p = parse_pbkdf2(&format!("$pbkdf2-RSA-SHA1-2$c2FsdA${sixty_four}")).ok();
        assert_eq!(
            p.map(|p| (p.digest, p.iterations)),
            Some((HashFn::Sha1, 100_000))
        );
        assert!(parse_pbkdf2(&format!("$pbkdf2-mdc2$i=5$c2FsdA${sixty_four}")).is_ok());
        assert!(parse_pbkdf2("$pbkdf2-sha256$l=4,i=9$c2FsdA$AAECAw").is_ok());
        assert!(parse_pbkdf2("$pbkdf2-sha256$l=4$c2FsdA$AAECAw").is_ok());
        for bad in [
            "$pbkdf2-SHA256$i=1000,l=4$c2FsdA$AAECAw",
            "$pbkdf2-sha3$i=1000,l=4$c2FsdA$AAECAw",
            "$pbkdf2$i=1000,l=4$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000,l=5$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=0,l=4$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000,i=1000,l=4$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000,l=4,x=1$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000,l=4$c2FsdA==$AAECAw",
            "$pbkdf2-sha256$i=1000,l=4$c2Fsd-A$AAECAw",
            "$pbkdf2-sha256$$c2FsdA$AAECAw",
            "$pbkdf2-sha256$29000$c2FsdA$AAECAw",
            "pbkdf2-sha256$i=1000,l=4$c2FsdA$AAECAw",
            "$pbkdf2-sha256$i=1000,l=4$c2FsdA$AAECAw$",
        ] {
            assert!(parse_pbkdf2(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ldap_values() {
        use base64::Engine as _;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let d16 = b64(&[7u8; 16]);
        let d16_salted = b64(&[[7u8; 16].as_slice(), b"abcd"].concat());
        let p = parse_ldap(&format!("{{MD5}}{d16}")).ok();
        assert_eq!(
            p.map(|p| (p.function, p.digest.len(), p.salt.len())),
            Some((HashFn::Md5, 16, 0))
        );
        assert!(parse_ldap(&format!("{{md5}}{d16}")).is_ok());
        assert!(parse_ldap(&format!("{{Md5}}{}", d16.trim_end_matches('='))).is_ok());
        let p = parse_ldap(&format!("{{SMD5}}{d16_salted}")).ok();
        assert_eq!(
            p.map(|p| (p.digest, p.salt)),
            Some((vec![7u8; 16], b"abcd".to_vec()))
        );
        assert!(
            parse_ldap(&format!("{{smd5}}{d16}")).is_ok(),
            "a salted scheme with an empty salt"
        );
        let d20 = b64(&[1u8; 20]);
        assert!(parse_ldap(&format!("{{SHA}}{d20}")).is_ok());
        assert!(parse_ldap(&format!("{{ssha}}{d20}")).is_ok());
        for bad in [
            d16.clone(),
            format!("{{MD5{d16}"),
            "{CRYPT}$1$abc".to_string(),
            "{crypt}abc".to_string(),
            format!("{{SHA1}}{d20}"),
            format!("{{MD5}}{d16_salted}"),
            format!("{{SHA}}{d16}"),
            format!("{{SSHA}}{d16}"),
            format!("{{SHA256}}{d20}"),
            format!("{{MD5}}{}", d16.replace('B', "*")),
            format!("{{MD5}} {d16}"),
        ] {
            assert!(parse_ldap(&bad).is_err(), "{bad}");
        }
    }
}
