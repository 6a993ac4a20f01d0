//! Byte encodings of `user-schema.md` §5.2: `hash.encoding`, `salt.encoding`,
//! `hash.key.encoding` (hex, base64, utf8) and `password.encoding` (how the original system
//! turned the typed password into bytes).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// `base64` of §5.2: standard and URL-safe alphabets (normalised to standard before decoding),
/// padding optional but correct when present, non-zero trailing bits tolerated (as Node's
/// `Buffer.from(s, "base64")`, which Auth0 uses).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The `B64` of PHC strings (pbkdf2): standard alphabet, no `=` padding.
const PHC_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The `B64` of argon2's PHC strings, exactly as the reference implementation decodes it:
/// standard alphabet, no padding, unused trailing bits must be zero.
const ARGON2_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// A value encoding (`hash.encoding`, `salt.encoding`, `hash.key.encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueEncoding {
    Base64,
    Hex,
    Utf8,
}

impl ValueEncoding {
    pub(crate) const NAMES: &'static [(&'static str, ValueEncoding)] = &[
        ("base64", ValueEncoding::Base64),
        ("hex", ValueEncoding::Hex),
        ("utf8", ValueEncoding::Utf8),
    ];

    /// Decodes `value`; `Err` carries the problem for a `FORMAT` message.
    pub(crate) fn decode(self, value: &str) -> Result<Vec<u8>, &'static str> {
        match self {
            ValueEncoding::Utf8 => Ok(value.as_bytes().to_vec()),
            ValueEncoding::Hex => decode_hex(value).ok_or("not valid hex"),
            ValueEncoding::Base64 => decode_base64(value).ok_or("not valid base64"),
        }
    }
}

/// Pairs of hex digits, either case.
pub(crate) fn decode_hex(value: &str) -> Option<Vec<u8>> {
    hex::decode(value).ok()
}

/// Standard or URL-safe base64, padding optional.
pub(crate) fn decode_base64(value: &str) -> Option<Vec<u8>> {
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
    {
        return None;
    }
    let normalised: String = value
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    LENIENT_BASE64.decode(normalised).ok()
}

/// PHC `B64` (pbkdf2 salt and hash).
pub(crate) fn decode_phc_b64(value: &str) -> Option<Vec<u8>> {
    PHC_B64.decode(value).ok()
}

/// PHC `B64` as argon2's reference implementation reads it.
pub(crate) fn decode_argon2_b64(value: &str) -> Option<Vec<u8>> {
    ARGON2_B64.decode(value).ok()
}

/// `password.encoding`: how the typed password becomes bytes before hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PasswordEncoding {
    #[default]
    Utf8,
    /// 7-bit ASCII: a character above U+007F is not representable.
    Ascii,
    /// `latin1` and `binary`: one byte per character; above U+00FF is not representable.
    Latin1,
    /// `utf16le` and `ucs2`: UTF-16 code units, little-endian.
    Utf16Le,
}

impl PasswordEncoding {
    pub(crate) const NAMES: &'static [(&'static str, PasswordEncoding)] = &[
        ("ascii", PasswordEncoding::Ascii),
        ("utf8", PasswordEncoding::Utf8),
        ("utf16le", PasswordEncoding::Utf16Le),
        ("ucs2", PasswordEncoding::Utf16Le),
        ("latin1", PasswordEncoding::Latin1),
        ("binary", PasswordEncoding::Latin1),
    ];

    /// The password's bytes, or `None` when a character cannot be represented in this
    /// encoding (such a password cannot have been the one hashed).
    pub(crate) fn encode(self, password: &str) -> Option<Vec<u8>> {
        match self {
            PasswordEncoding::Utf8 => Some(password.as_bytes().to_vec()),
            PasswordEncoding::Ascii => password.is_ascii().then(|| password.as_bytes().to_vec()),
            PasswordEncoding::Latin1 => password
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            PasswordEncoding::Utf16Le => {
                Some(password.encode_utf16().flat_map(u16::to_le_bytes).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_both_cases_and_rejects_odd_or_foreign() {
        assert_eq!(decode_hex("00aAfF"), Some(vec![0, 0xaa, 0xff]));
        assert_eq!(decode_hex(""), Some(vec![]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex(" 00"), None);
    }

    #[test]
    fn base64_accepts_both_alphabets_with_or_without_padding() {
        let bytes = [0xfb, 0xff, 0xbf];
        assert_eq!(decode_base64("+/+/"), Some(bytes.to_vec()));
        assert_eq!(decode_base64("-_-_"), Some(bytes.to_vec()));
        assert_eq!(decode_base64("YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_base64("YQ"), Some(b"a".to_vec()));
        assert_eq!(decode_base64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode_base64("YWI"), Some(b"ab".to_vec()));
        assert_eq!(decode_base64(""), Some(vec![]));
        assert_eq!(decode_base64("Y"), None);
        assert_eq!(decode_base64("YQ=a"), None);
        assert_eq!(decode_base64("YW I="), None);
        assert_eq!(decode_base64("YW*="), None);
        assert_eq!(decode_base64("YQ==="), None);
    }

    #[test]
    fn password_encodings() {
        assert_eq!(PasswordEncoding::Utf8.encode("é"), Some(vec![0xc3, 0xa9]));
        assert_eq!(PasswordEncoding::Latin1.encode("é"), Some(vec![0xe9]));
        assert_eq!(PasswordEncoding::Latin1.encode("€"), None);
        assert_eq!(PasswordEncoding::Ascii.encode("abc"), Some(b"abc".to_vec()));
        assert_eq!(PasswordEncoding::Ascii.encode("é"), None);
        assert_eq!(
            PasswordEncoding::Utf16Le.encode("a€"),
            Some(vec![0x61, 0, 0xac, 0x20])
        );
        assert_eq!(
            PasswordEncoding::Utf16Le.encode("😀"),
            Some(vec![0x3d, 0xd8, 0x00, 0xde])
        );
    }
}
