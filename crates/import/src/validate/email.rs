//! Email address syntax (`user-schema.md` §3.1).
//!
//! `local@domain`, exactly one `@` outside a quoted local part; the local part is an
//! RFC 5322 dot-atom or quoted string of 1–64 ASCII characters; the domain is a host name
//! (IDN labels allowed in UTF-8) with at least one dot; at most 254 characters in all. No
//! whitespace is trimmed: leading or trailing whitespace makes the address invalid.

/// Largest address, in Unicode scalar values.
const MAX_CHARS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// True when `text` is an address userbridge accepts.
pub(crate) fn is_valid(text: &str) -> bool {
    // A character is at most 4 bytes: reject huge strings before counting anything.
    if text.is_empty() || text.len() > MAX_CHARS * 4 || text.chars().nth(MAX_CHARS).is_some() {
        return false;
    }
    match split(text) {
        Some((local, domain)) => valid_local(local) && valid_domain(domain),
        None => false,
    }
}

/// Splits at the one `@` that is not inside a quoted local part.
fn split(text: &str) -> Option<(&str, &str)> {
    let (local, domain) = if text.starts_with('"') {
        let bytes = text.as_bytes();
        let mut i = 1;
        loop {
            match *bytes.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        // bytes[i] is the ASCII closing quote, so i + 1 is a character boundary.
        let (local, rest) = text.split_at_checked(i + 1)?;
        (local, rest.strip_prefix('@')?)
    } else {
        text.split_once('@')?
    };
    (!domain.contains('@')).then_some((local, domain))
}

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// RFC 5322 `qtext` plus the white space a quoted string may hold.
fn is_qtext(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 33 | 35..=91 | 93..=126)
}

fn valid_local(local: &str) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL || !local.is_ascii() {
        return false;
    }
    match local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(quoted) => {
            let mut bytes = quoted.bytes();
            while let Some(b) = bytes.next() {
                let ok = if b == b'\\' {
                    bytes
                        .next()
                        .is_some_and(|escaped| matches!(escaped, b' ' | b'\t' | 33..=126))
                } else {
                    is_qtext(b)
                };
                if !ok {
                    return false;
                }
            }
            true
        }
        None => local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext)),
    }
}

fn valid_domain(domain: &str) -> bool {
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if !valid_label(label) {
            return false;
        }
        labels += 1;
        last = label;
    }
    // At least one dot; a top-level label of digits only would make an IPv4 address.
    labels >= 2 && !last.bytes().all(|b| b.is_ascii_digit())
}

/// An LDH label, or an IDN label whose non-ASCII characters are letters or digits.
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().nth(MAX_LABEL).is_none()
        && label.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
        })
}
