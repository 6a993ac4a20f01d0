//! The campaign delimited reader over arbitrary bytes, with a dialect taken from the first
//! three input bytes (delimiter, qualifier, encoding/header/gzip/skip rows). Every record is
//! read to the end or to a clean `ReadError`. Asserts: no panic; a bad dialect is a
//! `BadDialect` error; records come in strictly increasing line order; a record's fields
//! agree between `fields()`, `field(i)` and `to_record()`; the counters match what was
//! returned; nothing comes after a `ReadError`.
//!
//! Encoding selectors 5–7 are a differential check instead: the body (as text) is encoded
//! in UTF-16LE, UTF-16BE or windows-1252 and read with that encoding, and must give exactly
//! what its UTF-8 bytes give read as UTF-8 (records, rejects, headers, counters, errors).
#![no_main]

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use userbridge_campaign::delimited::{
    Counts, DelimitedReader, Dialect, Encoding, ReadError, ReadErrorKind, Record, RecordError,
};

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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// Everything a read gives, with byte counts left out (they differ between encodings).
#[derive(Debug, PartialEq)]
struct Outcome {
    headers: Option<Vec<String>>,
    items: Vec<Result<Record, RecordError>>,
    error: Option<(ReadErrorKind, u64)>,
    counts: Counts,
}

/// Reads everything, checking the properties every read must have.
fn read_all(input: Vec<u8>, dialect: &Dialect, cap: u64) -> Result<Outcome, ReadError> {
    let gzip_magic = input.starts_with(&[0x1f, 0x8b]);
    let mut reader = DelimitedReader::new(Cursor::new(input), dialect, cap)?;
    assert_eq!(reader.gzip(), gzip_magic);
    let headers = reader.headers().map(<[String]>::to_vec);
    if let Some(headers) = &headers {
        assert!(!headers.is_empty());
    }
    let (mut items, mut error, mut last_line) = (Vec::new(), None, 0u64);
    while let Some(item) = reader.next_record() {
        match item {
            Ok(Ok(view)) => {
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
                items.push(Ok(record));
            }
            Ok(Err(e)) => {
                assert!(e.line() > last_line, "line {} after {last_line}", e.line());
                last_line = e.line();
                items.push(Err(e));
            }
            Err(e) => {
                error = Some((e.kind, e.line));
                break;
            }
        }
    }
    if error.is_some() {
        assert!(reader.next_record().is_none(), "a record after a ReadError");
    }
    let counts = Counts {
        bytes: 0,
        ..reader.counts()
    };
    assert_eq!(
        counts.records as usize,
        items.iter().filter(|i| i.is_ok()).count()
    );
    assert_eq!(
        counts.rejected as usize,
        items.iter().filter(|i| i.is_err()).count()
    );
    assert!(counts.physical_lines >= last_line || error.is_some());
    Ok(Outcome {
        headers,
        items,
        error,
        counts,
    })
}

/// `text` in `encoding`; `None` when a character has no byte form there.
fn encode(text: &str, encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Utf16Le => Some(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        Encoding::Utf16Be => Some(text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        _ => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            (!unmappable).then(|| bytes.into_owned())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [d, q, flags, body @ ..] = data else {
        return;
    };
    let selector = usize::from(flags & 0x7);
    let mut dialect = Dialect {
        encoding: ENCODINGS[selector % ENCODINGS.len()],
        delimiter: pick_char(*d),
        qualifier: if *q == 0 {
            None
        } else {
            Some(pick_char(q - 1))
        },
        header: flags & 0x08 != 0,
        skip_rows: usize::from((flags >> 4) & 0x3),
    };
    let compress = flags & 0x40 != 0;
    let usable = |c: char| c.is_ascii() && c != '\r' && c != '\n';
    let dialect_ok = usable(dialect.delimiter)
        && dialect
            .qualifier
            .is_none_or(|c| usable(c) && c != dialect.delimiter);

    if selector >= ENCODINGS.len() {
        // Differential: the same text in another encoding reads the same.
        let encoding = [Encoding::Utf16Le, Encoding::Utf16Be, Encoding::Windows1252]
            [selector - ENCODINGS.len()];
        let text = String::from_utf8_lossy(body);
        let Some(encoded) = encode(&text, encoding) else {
            return;
        };
        // A BOM or the gzip magic decides before the dialect does (IMP-6, by design):
        // only compare bytes that do not start with one.
        let starts_odd = |b: &[u8]| Encoding::from_bom(b).is_some() || b.starts_with(&[0x1f, 0x8b]);
        if starts_odd(text.as_bytes()) || starts_odd(&encoded) {
            return;
        }
        let (utf8, other) = if compress {
            (gzip(text.as_bytes()), gzip(&encoded))
        } else {
            (text.as_bytes().to_vec(), encoded)
        };
        dialect.encoding = Encoding::Utf8;
        let expected = read_all(utf8, &dialect, 1 << 26);
        dialect.encoding = encoding;
        let got = read_all(other, &dialect, 1 << 26);
        match (expected, got) {
            (Ok(expected), Ok(got)) => assert_eq!(got, expected, "{encoding}"),
            (Err(expected), Err(got)) => assert_eq!(
                (got.kind, got.line),
                (expected.kind, expected.line),
                "{encoding}: {got} vs {expected}"
            ),
            (expected, got) => panic!("{encoding}: {got:?}, UTF-8 gives {expected:?}"),
        }
        return;
    }

    let input = if compress { gzip(body) } else { body.to_vec() };
    // A small cap, so that a body that expands is also checked against it.
    let cap = if flags & 0x80 != 0 { 64 } else { 1 << 26 };
    match read_all(input, &dialect, cap) {
        Ok(_) => assert!(dialect_ok, "{dialect:?} accepted"),
        Err(e) => {
            assert_eq!(
                e.kind == ReadErrorKind::BadDialect,
                !dialect_ok,
                "{dialect:?}: {e}"
            )
        }
    }
});
