//! Integers and decimals (IMP-20): optional sign, an optional thousands separator (`,`, `.`,
//! space, `'`) between correctly placed groups of three digits, and for decimals one decimal
//! separator (`.` or `,`) and an optional exponent.
//!
//! Decimals are stored as **canonical decimal text** (exact, no binary rounding): no
//! exponent, no leading zeros, no trailing fractional zeros, no `+`, no `-0`; e.g.
//! `-12.50` → `-12.5`, `1,5e3` → `1500`, `000.0100` → `0.01`. Equal numbers give equal text.
//! The canonical text is at most [`MAX_DECIMAL_CHARS`] characters long.

/// The longest canonical decimal text; longer numbers (e.g. `1e5000`) are rejected.
pub const MAX_DECIMAL_CHARS: usize = 1000;

/// The thousands separators that may be configured.
pub const THOUSANDS_SEPARATORS: [char; 4] = [',', '.', ' ', '\''];

fn is_space_sep(c: char) -> bool {
    matches!(c, ' ' | '\u{00A0}' | '\u{202F}')
}

fn split_sign(s: &str) -> (bool, &str) {
    if let Some(rest) = s.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = s.strip_prefix('+') {
        (false, rest)
    } else {
        (false, s)
    }
}

/// The digits of an integer part, with thousands separators removed when they are
/// correctly placed (first group 1–3 digits, then groups of exactly 3). A space separator
/// also accepts U+00A0 and U+202F.
fn ungroup(s: &str, thousands: Option<char>) -> Option<String> {
    let is_sep = |c: char| match thousands {
        Some(' ') => is_space_sep(c),
        Some(t) => c == t,
        None => false,
    };
    if s.is_empty() {
        return None;
    }
    if !s.chars().any(is_sep) {
        return s.bytes().all(|b| b.is_ascii_digit()).then(|| s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    for (i, group) in s.split(is_sep).enumerate() {
        let ok = group.bytes().all(|b| b.is_ascii_digit())
            && if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            };
        if !ok {
            return None;
        }
        out.push_str(group);
    }
    Some(out)
}

/// Parses an integer; `None` when malformed or outside `i64`.
pub fn parse_integer(s: &str, thousands: Option<char>) -> Option<i64> {
    let (neg, body) = split_sign(s);
    let digits = ungroup(body, thousands)?;
    let mut value: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        value = value.checked_mul(10)?;
        value = if neg {
            value.checked_sub(d)?
        } else {
            value.checked_add(d)?
        };
    }
    Some(value)
}

/// Formats an integer with an optional thousands separator (the inverse of
/// [`parse_integer`]).
pub fn format_integer(v: i64, thousands: Option<char>) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if v < 0 {
        out.push('-');
    }
    let first = (digits.len() - 1) % 3 + 1;
    let (head, tail) = digits.split_at(first);
    out.push_str(head);
    for group in tail.as_bytes().chunks(3) {
        if let Some(t) = thousands {
            out.push(t);
        }
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    out
}

/// Parses a decimal into its canonical text; `None` when malformed or too long.
pub fn parse_decimal(s: &str, decimal_separator: char, thousands: Option<char>) -> Option<String> {
    let (neg, body) = split_sign(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (body.get(..i)?, Some(body.get(i + 1..)?)),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find(decimal_separator) {
        Some(i) => (
            mantissa.get(..i)?,
            mantissa.get(i + decimal_separator.len_utf8()..)?,
        ),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let int_digits = if int_part.is_empty() {
        String::new()
    } else {
        ungroup(int_part, thousands)?
    };
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (eneg, edigits) = split_sign(e);
            if edigits.is_empty()
                || edigits.len() > 6
                || !edigits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let v: i64 = edigits.parse().ok()?;
            if eneg { -v } else { v }
        }
    };
    exp -= frac_part.len() as i64;
    let all = format!("{int_digits}{frac_part}");
    let trimmed = all.trim_start_matches('0');
    let significant = trimmed.trim_end_matches('0');
    if significant.is_empty() {
        return Some("0".to_string());
    }
    exp += (trimmed.len() - significant.len()) as i64;
    let len = significant.len() as i64;
    let rendered = if exp >= 0 {
        len + exp
    } else {
        len.max(-exp) + 2
    } + 1;
    if rendered > MAX_DECIMAL_CHARS as i64 {
        return None;
    }
    let mut out = String::with_capacity(rendered as usize);
    if neg {
        out.push('-');
    }
    if exp >= 0 {
        out.push_str(significant);
        out.extend(std::iter::repeat_n('0', exp as usize));
    } else {
        let point = len + exp;
        if point > 0 {
            out.push_str(significant.get(..point as usize)?);
            out.push('.');
            out.push_str(significant.get(point as usize..)?);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(significant);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_integer("42", None), Some(42));
        assert_eq!(parse_integer("+42", None), Some(42));
        assert_eq!(parse_integer("-0", None), Some(0));
        assert_eq!(parse_integer("1,234,567", Some(',')), Some(1_234_567));
        assert_eq!(parse_integer("1.234", Some('.')), Some(1234));
        assert_eq!(parse_integer("1 234", Some(' ')), Some(1234));
        assert_eq!(parse_integer("1\u{a0}234", Some(' ')), Some(1234));
        assert_eq!(parse_integer("1'234", Some('\'')), Some(1234));
        assert_eq!(parse_integer("1234", Some(',')), Some(1234));
        assert_eq!(parse_integer("12,34", Some(',')), None);
        assert_eq!(parse_integer("1,234", None), None);
        assert_eq!(parse_integer("1234,", Some(',')), None);
        assert_eq!(parse_integer("", None), None);
        assert_eq!(parse_integer("-", None), None);
        assert_eq!(parse_integer("1.5", None), None);
        assert_eq!(parse_integer("9223372036854775807", None), Some(i64::MAX));
        assert_eq!(parse_integer("-9223372036854775808", None), Some(i64::MIN));
        assert_eq!(parse_integer("9223372036854775808", None), None);
        assert_eq!(format_integer(-1234567, Some(',')), "-1,234,567");
        assert_eq!(
            format_integer(i64::MIN, Some('.')),
            "-9.223.372.036.854.775.808"
        );
    }

    #[test]
    fn decimals() {
        let p = |s| parse_decimal(s, '.', None);
        assert_eq!(p("-12.50").as_deref(), Some("-12.5"));
        assert_eq!(p("000.0100").as_deref(), Some("0.01"));
        assert_eq!(p("-0.0").as_deref(), Some("0"));
        assert_eq!(p("1.5e3").as_deref(), Some("1500"));
        assert_eq!(p("1.5E-3").as_deref(), Some("0.0015"));
        assert_eq!(p(".5").as_deref(), Some("0.5"));
        assert_eq!(p("5.").as_deref(), Some("5"));
        assert_eq!(p("12").as_deref(), Some("12"));
        assert_eq!(p("1e5000"), None);
        assert_eq!(p("."), None);
        assert_eq!(p("1.2.3"), None);
        assert_eq!(p("1e"), None);
        assert_eq!(p("e5"), None);
        assert_eq!(p("abc"), None);
        assert_eq!(
            parse_decimal("1.234,5", ',', Some('.')).as_deref(),
            Some("1234.5")
        );
        assert_eq!(parse_decimal("-1,5", ',', None).as_deref(), Some("-1.5"));
        assert_eq!(
            parse_decimal("1,234.5", '.', Some(',')).as_deref(),
            Some("1234.5")
        );
        assert_eq!(parse_decimal("1,23.5", '.', Some(',')), None);
    }
}
