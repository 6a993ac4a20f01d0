//! `FieldPath::parse` on arbitrary text. Asserts what `field_path.rs` promises:
//! - it never panics;
//! - a parsed path's `Display`/`as_str` is the text it was parsed from, and parsing that
//!   again gives an equal path;
//! - the canonical text rebuilt from the parsed steps (`push_key` for keys, `[n]` for
//!   indexes) parses to the same root and steps whenever it fits the length limit;
//! - any non-empty key written with `push_key` under `user_metadata` parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use userbridge_model::field_path::{Attribute, FieldPath, MAX_PATH_CHARS, Step, push_key};

fn canonical(root: Attribute, steps: &[Step]) -> String {
    let mut out = root.name().to_string();
    for step in steps {
        match step {
            Step::Key(key) => push_key(&mut out, key),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(path) = FieldPath::parse(&text) {
        assert!(!text.is_empty() && text.chars().count() <= MAX_PATH_CHARS);
        assert_eq!(path.to_string(), text);
        assert_eq!(path.as_str(), text);
        assert_eq!(Attribute::from_name(path.root().name()), Some(path.root()));
        let again = FieldPath::parse(&path.to_string()).expect("a path's text parses again");
        assert_eq!(again, path);
        let canon = canonical(path.root(), path.steps());
        if canon.chars().count() <= MAX_PATH_CHARS {
            let reparsed = FieldPath::parse(&canon)
                .unwrap_or_else(|e| panic!("canonical {canon:?} of {text:?} fails: {e}"));
            assert_eq!(reparsed.root(), path.root());
            assert_eq!(reparsed.steps(), path.steps(), "canonical {canon:?}");
        }
    }
    // The same text as one metadata key: push_key must write it so that it parses back.
    if !text.is_empty() {
        let mut written = "user_metadata".to_string();
        push_key(&mut written, &text);
        if written.chars().count() <= MAX_PATH_CHARS {
            let parsed = FieldPath::parse(&written)
                .unwrap_or_else(|e| panic!("push_key wrote {written:?}, which fails: {e}"));
            assert_eq!(parsed.steps(), &[Step::Key(text.to_string())]);
        }
    }
});
