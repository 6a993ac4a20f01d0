//! The import crate's user validation and users-file readers on arbitrary input.
//!
//! The first byte picks the mode: `0..=127` parses the rest as one JSON value and validates
//! it; otherwise the rest is read as a users file (auto, JSON array, NDJSON, CSV, TSV;
//! optionally syntax-only, optionally a tiny record limit) and every record is validated.
//! Asserts: no panic; `validate` is deterministic, an `Err` carries at least one error and
//! every message starts with its property; a valid record's email and username are lower-cased;
//! `mask_secrets` and `match_keys` accept anything; the reader ends after a `ReadError`.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use userbridge_import::reader::{InputFormat, ReaderOptions, RecordReader};
use userbridge_import::validate::{ValidationLimits, mask_secrets, match_keys, validate};

fn check(value: &Value, limits: &ValidationLimits) {
    let _ = mask_secrets(value);
    let keys = match_keys(value);
    match validate(value, limits) {
        Ok(valid) => {
            assert_eq!(valid.email, valid.email.to_lowercase());
            if let Some(username) = &valid.username {
                assert_eq!(*username, username.to_lowercase());
            }
            assert_eq!(keys.email.as_deref(), Some(valid.email.as_str()));
            assert!(
                validate(value, limits).is_ok(),
                "validate is not deterministic"
            );
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                // The message starts with the property (docs/import.md); with the whole path
                // except where the spec fixes the text (forbidden `app_metadata` keys, §6.2).
                let property = e.path.split(['.', '[']).next().unwrap_or_default();
                assert!(e.message.starts_with(property), "{e:?}");
            }
            assert_eq!(validate(value, limits).err(), Some(errors));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    // A small metadata limit sometimes, so that the size checks are reached too.
    let limits = ValidationLimits {
        metadata_max_bytes: if mode & 0x40 != 0 { 64 } else { 16 << 20 },
    };
    if *mode < 0x80 {
        if let Ok(value) = serde_json::from_slice::<Value>(rest) {
            check(&value, &limits);
        }
        return;
    }
    let format = [
        InputFormat::Auto,
        InputFormat::JsonArray,
        InputFormat::Ndjson,
        InputFormat::Csv,
        InputFormat::Tsv,
    ][usize::from(mode & 0x7) % 5];
    let options = ReaderOptions {
        format,
        columns: Vec::new(),
        max_decompressed_bytes: 1 << 24,
        max_record_bytes: if mode & 0x10 != 0 { 64 } else { 1 << 20 },
        syntax_only: mode & 0x08 != 0,
        ..ReaderOptions::default()
    };
    let Ok(reader) = RecordReader::from_reader(Cursor::new(rest.to_vec()), &options) else {
        return;
    };
    let detected = reader.detected();
    assert_ne!(detected.format, InputFormat::Auto);
    let mut reader = reader;
    let mut next_index = 0;
    for item in reader.by_ref() {
        match item {
            Ok(record) => {
                assert_eq!(record.index, next_index);
                next_index += 1;
                if let Ok(value) = &record.value {
                    check(value, &limits);
                }
            }
            Err(_) => break,
        }
    }
    assert!(reader.next().is_none(), "a record after a ReadError");
});
