//! The campaign delimited reader over arbitrary bytes, with a dialect taken from the first
//! three input bytes (delimiter, qualifier, encoding/header/gzip/skip rows). Every record is
//! read to the end or to a clean `ReadError`. Asserts: no panic; a bad dialect is a
//! `BadDialect` error; records come in strictly increasing line order; a record's fields
//! agree between `fields()`, `field(i)` and `to_record()`; the counters match what was
//! returned; nothing comes after a `ReadError`.
#![no_main]

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use userbridge_campaign::delimited::{DelimitedReader, Dialect, Encoding, ReadErrorKind};

const ENCODINGS: [Encoding; 5] = [
    Encoding::Utf8,
    Encoding::Utf16Le,
    Encoding::Utf16Be,
    Encoding::Windows1252,
    Encoding::Iso8859_1,
];

fn pick_char(b: u8) -> char {
    match b {
        0..=4 => [',', ';', '\t', '|', ' '][b as usize],
        5..=9 => ['"', '\'', '\r', '\n', 'é'][b as usize - 5],
        _ => char::from(b & 0x7f),
    }
}

fuzz_target!(|data: &[u8]| {
    let [d, q, flags, body @ ..] = data else {
        return;
    };
    let dialect = Dialect {
        encoding: ENCODINGS[usize::from(flags & 0x7) % ENCODINGS.len()],
        delimiter: pick_char(*d),
        qualifier: if *q == 0 {
            None
        } else {
            Some(pick_char(q - 1))
        },
        header: flags & 0x08 != 0,
        skip_rows: usize::from((flags >> 4) & 0x3),
    };
    let gzip = flags & 0x40 != 0;
    let input = if gzip {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(body).expect("writing to a Vec");
        enc.finish().expect("writing to a Vec")
    } else {
        body.to_vec()
    };
    // A small cap, so that a body that expands is also checked against it.
    let cap = if flags & 0x80 != 0 { 64 } else { 1 << 26 };
    let usable = |c: char| c.is_ascii() && c != '\r' && c != '\n';
    let dialect_ok = usable(dialect.delimiter)
        && dialect
            .qualifier
            .is_none_or(|c| usable(c) && c != dialect.delimiter);
    let mut reader = match DelimitedReader::new(Cursor::new(input), &dialect, cap) {
        Ok(reader) => {
            assert!(dialect_ok, "{dialect:?} accepted");
            reader
        }
        Err(e) => {
            assert_eq!(
                e.kind == ReadErrorKind::BadDialect,
                !dialect_ok,
                "{dialect:?}: {e}"
            );
            return;
        }
    };
    assert_eq!(reader.gzip(), gzip || body.starts_with(&[0x1f, 0x8b]));
    if let Some(headers) = reader.headers() {
        assert!(!headers.is_empty());
    }
    let (mut records, mut rejected, mut last_line) = (0u64, 0u64, 0u64);
    let mut failed = false;
    while let Some(item) = reader.next_record() {
        match item {
            Ok(Ok(view)) => {
                records += 1;
                assert!(
                    view.line > last_line,
                    "line {} after {last_line}",
                    view.line
                );
                last_line = view.line;
                let fields: Vec<&str> = view.fields().collect();
                assert_eq!(fields.len(), view.len());
                assert!(!view.is_empty());
                for (i, f) in fields.iter().enumerate() {
                    assert_eq!(view.field(i), Some(*f));
                }
                assert_eq!(view.field(fields.len()), None);
                let record = view.to_record();
                assert_eq!(record.fields, fields);
                assert_eq!(record.raw, view.raw());
                assert!(!record.raw.contains(['\r', '\n']) || dialect.qualifier.is_some());
            }
            Ok(Err(e)) => {
                rejected += 1;
                assert!(e.line() > last_line, "line {} after {last_line}", e.line());
                last_line = e.line();
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if failed {
        assert!(reader.next_record().is_none(), "a record after a ReadError");
    }
    let counts = reader.counts();
    assert_eq!(counts.records, records);
    assert_eq!(counts.rejected, rejected);
    assert!(counts.physical_lines >= last_line || failed);
});
