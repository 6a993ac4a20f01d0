//! A tiny compact-JSON writer.
//!
//! Building a `serde_json::Value` per metadata object costs an allocation per
//! key; writing the text directly does not. The output is byte-for-byte what
//! `serde_json::to_string` gives for the same document (same string escapes,
//! same number formatting), so a parse-and-reserialise elsewhere is a no-op.

use std::fmt::Write as _;

use serde_json::value::RawValue;

pub(crate) struct Json {
    buf: String,
    /// A value was just written at the current level: the next one needs a comma.
    comma: bool,
}

impl Json {
    pub(crate) fn new() -> Self {
        Json {
            buf: String::with_capacity(256),
            comma: false,
        }
    }

    fn sep(&mut self) {
        if self.comma {
            self.buf.push(',');
        }
    }

    pub(crate) fn open(&mut self) {
        self.sep();
        self.buf.push('{');
        self.comma = false;
    }

    pub(crate) fn close(&mut self) {
        self.buf.push('}');
        self.comma = true;
    }

    pub(crate) fn open_array(&mut self) {
        self.sep();
        self.buf.push('[');
        self.comma = false;
    }

    pub(crate) fn close_array(&mut self) {
        self.buf.push(']');
        self.comma = true;
    }

    pub(crate) fn key(&mut self, key: &str) {
        self.sep();
        escape(&mut self.buf, key);
        self.buf.push(':');
        self.comma = false;
    }

    pub(crate) fn str(&mut self, value: &str) {
        self.sep();
        escape(&mut self.buf, value);
        self.comma = true;
    }

    pub(crate) fn int(&mut self, value: i64) {
        self.sep();
        let _ = write!(self.buf, "{value}");
        self.comma = true;
    }

    pub(crate) fn uint(&mut self, value: u64) {
        self.sep();
        let _ = write!(self.buf, "{value}");
        self.comma = true;
    }

    /// A finite float, formatted as serde_json does (`0.1`, `1e-7`, `2.0`).
    pub(crate) fn float(&mut self, value: f64) {
        self.sep();
        match serde_json::Number::from_f64(value) {
            Some(n) => {
                let _ = write!(self.buf, "{n}");
            }
            None => self.buf.push_str("null"),
        }
        self.comma = true;
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.sep();
        self.buf.push_str(if value { "true" } else { "false" });
        self.comma = true;
    }

    pub(crate) fn null(&mut self) {
        self.sep();
        self.buf.push_str("null");
        self.comma = true;
    }

    /// `"key":"value"`.
    pub(crate) fn field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.str(value);
    }

    /// The document, or `None` when it is an empty object or array (or,
    /// defensively, not valid JSON).
    pub(crate) fn finish(self) -> Option<Box<RawValue>> {
        if self.buf == "{}" || self.buf == "[]" {
            return None;
        }
        RawValue::from_string(self.buf).ok()
    }
}

/// Appends `value` as a JSON string, escaped exactly like serde_json does.
fn escape(buf: &mut String, value: &str) {
    buf.push('"');
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0x00..=0x1F => "",
            _ => continue,
        };
        buf.push_str(&value[start..i]);
        if short.is_empty() {
            let _ = write!(buf, "\\u{byte:04x}");
        } else {
            buf.push_str(short);
        }
        start = i + 1;
    }
    buf.push_str(&value[start..]);
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_matches_serde_json() {
        let nasty = "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{1f}j\u{7f}k\u{2028}l🦀";
        let mut j = Json::new();
        j.open();
        j.field("z", nasty);
        j.key("n");
        j.open();
        j.key("f");
        j.float(1e-7);
        j.key("g");
        j.float(2.0);
        j.key("i");
        j.int(-42);
        j.key("u");
        j.uint(u64::MAX);
        j.close();
        j.key("a");
        j.open_array();
        j.bool(true);
        j.null();
        j.open_array();
        j.close_array();
        j.str("x");
        j.close_array();
        j.close();
        let raw = j.finish().unwrap();
        let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), raw.get());
        assert_eq!(value["z"], nasty);
        assert_eq!(value["n"]["u"], u64::MAX);

        let mut empty = Json::new();
        empty.open();
        empty.close();
        assert!(empty.finish().is_none());
    }
}
