//! One cell: rendering (`user-schema.md` §9.6), newline flattening, formula escaping and quoting
//! (`export-formats.md` §3.3, §4.2–§4.3). Everything works on bytes of valid UTF-8 text; the
//! characters that matter are ASCII, so byte tests are exact.

use serde_json::Value;
use userbridge_model::FieldValue;

use crate::Result;
use crate::options::{DateFormat, FormulaEscape};

/// What kind of value a rendered cell came from; formula escaping depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// No value: an empty unquoted field.
    Missing,
    /// Number or boolean.
    Bare,
    /// A JSON string, or the JSON text of an object/array.
    Text,
    /// A profile timestamp (exempt from Auth0's prefix).
    Timestamp,
}

/// Scratch buffers reused for every cell.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub render: Vec<u8>,
    pub date: String,
    pub flat: Vec<u8>,
}

/// Renders a value to its cell text. The text borrows the value or the scratch buffers.
pub(crate) fn render<'v>(
    value: &'v FieldValue<'_>,
    render: &'v mut Vec<u8>,
    date_buf: &'v mut String,
    date_format: Option<&DateFormat>,
) -> Result<(Class, &'v [u8])> {
    Ok(match value {
        FieldValue::Missing => (Class::Missing, &[]),
        FieldValue::Bool(b) => (Class::Bare, bool_text(*b)),
        FieldValue::Int(i) => {
            render.clear();
            push_int(render, *i);
            (Class::Bare, &render[..])
        }
        FieldValue::Str(s) => (Class::Text, s.as_bytes()),
        FieldValue::Timestamp(s) => match date_format {
            Some(df) => {
                date_buf.clear();
                df.format_into(s, date_buf);
                (Class::Timestamp, date_buf.as_bytes())
            }
            None => (Class::Timestamp, s.as_bytes()),
        },
        FieldValue::Raw(raw) => (Class::Text, raw.get().as_bytes()),
        FieldValue::Json(v) => match v {
            Value::Null => (Class::Missing, &[]),
            Value::Bool(b) => (Class::Bare, bool_text(*b)),
            Value::Number(n) => {
                render.clear();
                serde_json::to_writer(&mut *render, n)?;
                (Class::Bare, &render[..])
            }
            Value::String(s) => (Class::Text, s.as_bytes()),
            Value::Array(_) | Value::Object(_) => {
                render.clear();
                serde_json::to_writer(&mut *render, v)?;
                (Class::Text, &render[..])
            }
        },
    })
}

fn bool_text(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

/// Appends the decimal text of `i`.
pub(crate) fn push_int(out: &mut Vec<u8>, i: i64) {
    let mut digits = [0u8; 20];
    let mut pos = digits.len();
    let mut n = i.unsigned_abs();
    loop {
        pos -= 1;
        digits[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[pos..]);
}

/// Replaces every CRLF, CR and LF with one space (`export-formats.md` §4.3). Returns `text` itself
/// when it holds no line break.
pub(crate) fn flatten<'t>(text: &'t [u8], flat: &'t mut Vec<u8>) -> &'t [u8] {
    if !contains_any(text, [b'\r', b'\n', b'\r', b'\n']) {
        return text;
    }
    flat.clear();
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                flat.push(b' ');
            }
            b'\n' => flat.push(b' '),
            _ => flat.push(b),
        }
    }
    flat
}

/// How fields are separated and when they need quotes.
#[derive(Debug, Clone)]
pub(crate) struct Quoting {
    /// The delimiter's UTF-8 bytes.
    delimiter: Vec<u8>,
    /// Bytes whose presence forces quotes: `"`, CR, LF and the delimiter when it is ASCII.
    needles: [u8; 4],
    /// The delimiter is not ASCII and must be searched as a byte string.
    multibyte: bool,
}

impl Quoting {
    pub(crate) fn new(delimiter: char) -> Quoting {
        let mut buf = [0u8; 4];
        let bytes = delimiter.encode_utf8(&mut buf).as_bytes().to_vec();
        let multibyte = bytes.len() > 1;
        let first = if multibyte { b'"' } else { bytes[0] };
        Quoting {
            delimiter: bytes,
            needles: [first, b'"', b'\r', b'\n'],
            multibyte,
        }
    }

    pub(crate) fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// RFC 4180 minimal: the field holds the delimiter, `"`, CR or LF.
    pub(crate) fn needs_quotes(&self, text: &[u8]) -> bool {
        contains_any(text, self.needles)
            || (self.multibyte
                && text
                    .windows(self.delimiter.len())
                    .any(|w| w == self.delimiter))
    }

    /// Appends one escaped, quoted-if-needed field.
    pub(crate) fn push_field(
        &self,
        line: &mut Vec<u8>,
        text: &[u8],
        class: Class,
        escape: FormulaEscape,
    ) {
        let (prefix, force_quotes) = match (escape, class) {
            (_, Class::Missing) => return,
            (FormulaEscape::Auth0, Class::Text) => (true, true),
            (FormulaEscape::Smart, _) => (smart_needs_prefix(text), false),
            _ => (false, false),
        };
        // An empty string is quoted so that it differs from a missing value.
        if force_quotes || text.is_empty() || self.needs_quotes(text) {
            line.push(b'"');
            if prefix {
                line.push(b'\'');
            }
            push_doubling_quotes(line, text);
            line.push(b'"');
        } else {
            if prefix {
                line.push(b'\'');
            }
            line.extend_from_slice(text);
        }
    }
}

fn push_doubling_quotes(line: &mut Vec<u8>, mut text: &[u8]) {
    while let Some(pos) = text.iter().position(|&b| b == b'"') {
        line.extend_from_slice(&text[..=pos]);
        line.push(b'"');
        text = &text[pos + 1..];
    }
    line.extend_from_slice(text);
}

/// `smart` mode: text starting with `=`, `+`, `-`, `@`, TAB, CR or NUL gets a `'`, unless the whole
/// text is a plain number.
pub(crate) fn smart_needs_prefix(text: &[u8]) -> bool {
    matches!(
        text.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\0')
    ) && !is_plain_number(text)
}

/// `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`
pub(crate) fn is_plain_number(text: &[u8]) -> bool {
    fn digits(text: &[u8], mut i: usize) -> usize {
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        i
    }
    let mut i = 0;
    if matches!(text.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_end = digits(text, i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if text.get(i) == Some(&b'.') {
        let frac_end = digits(text, i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits(text, i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == text.len()
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Non-zero when some byte of `v` is zero (exact as an "any" test).
#[inline(always)]
fn zero_byte(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// True when `text` contains one of the four bytes (repeat a byte to look for fewer), eight bytes
/// at a time.
#[inline]
pub(crate) fn contains_any(text: &[u8], needles: [u8; 4]) -> bool {
    let [a, b, c, d] = needles.map(|n| LO * u64::from(n));
    let mut chunks = text.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_ne_bytes(word);
        if zero_byte(v ^ a) | zero_byte(v ^ b) | zero_byte(v ^ c) | zero_byte(v ^ d) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|x| needles.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        for yes in [
            "0",
            "+12125550001",
            "-5",
            "1.",
            "1.5",
            ".5",
            "-.5",
            "+1e5",
            "1E-5",
            "1.5e+10",
            "007",
        ] {
            assert!(is_plain_number(yes.as_bytes()), "{yes}");
        }
        for no in [
            "", "+", "-", ".", "+.", "e5", "1e", "1e+", "1.2.3", "1 ", " 1", "--1", "1e5.0", "inf",
            "NaN", "0x10", "1_000", "=1", "+1-2", "-1,5",
        ] {
            assert!(!is_plain_number(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn smart_prefix_triggers() {
        for yes in [
            "=1+1", "+A1", "-", "-x", "@handle", "\tx", "\rx", "\0", "+1-2", "-1e",
        ] {
            assert!(smart_needs_prefix(yes.as_bytes()), "{yes:?}");
        }
        for no in [
            "",
            "a=b",
            "\nx",
            " =x",
            "'=x",
            "-12",
            "+12125550001",
            "jane@x",
        ] {
            assert!(!smart_needs_prefix(no.as_bytes()), "{no:?}");
        }
    }

    #[test]
    fn contains_any_checks_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                let mut text = vec![b'a'; len];
                text[pos] = b'\n';
                assert!(contains_any(&text, [b',', b'"', b'\r', b'\n']));
            }
            assert!(!contains_any(&vec![b'a'; len], [b',', b'"', b'\r', b'\n']));
        }
        // Bytes just above/below the needles and non-ASCII bytes never match.
        let tricky = "+-#!\u{e9}\u{1F600}\u{10b}\u{122}\u{22c}\u{a0d}\u{c0a}\u{2022}";
        assert!(!contains_any(tricky.as_bytes(), [b',', b'"', b'\r', b'\n']));
    }

    #[test]
    fn flatten_turns_each_break_into_one_space() {
        let mut buf = Vec::new();
        assert_eq!(flatten(b"a\r\nb\rc\nd\n\re", &mut buf), b"a b c d  e");
        assert_eq!(flatten(b"\r\n\r\n", &mut buf), b"  ");
        assert_eq!(flatten(b"plain", &mut buf), b"plain");
    }

    #[test]
    fn ints_render_like_display() {
        for i in [0, 7, -7, 10, -10, 1234567890, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_int(&mut out, i);
            assert_eq!(out, i.to_string().as_bytes());
        }
    }

    #[test]
    fn multibyte_delimiters_are_found() {
        let q = Quoting::new('§');
        assert!(q.needs_quotes("a§b".as_bytes()));
        assert!(!q.needs_quotes("a,b\u{a8}\u{c2}".as_bytes()));
        assert!(q.needs_quotes(b"a\"b"));
        assert!(!q.needs_quotes(b"a,b"));
    }
}
