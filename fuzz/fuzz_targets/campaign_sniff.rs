//! The campaign sniffer (`delimited::sniff`) on arbitrary bytes (gzip included: bytes that
//! start with `1f 8b` take the decompressing path). Asserts: no panic; a proposal is
//! self-consistent (at most 20 preview rows, a dialect the reader accepts, JSON renders)
//! and reading the same bytes with the proposed dialect ends cleanly; the same bytes
//! gzip-compressed are sniffed exactly the same (the input is far below the 1 MiB sample, so
//! no estimate by bytes comes in).
#![no_main]

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

use libfuzzer_sys::fuzz_target;
use userbridge_campaign::delimited::{DelimitedReader, ReadErrorKind, sniff};

fuzz_target!(|data: &[u8]| {
    let sniffed = sniff(Cursor::new(data.to_vec()), data.len() as u64);
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).expect("writing to a Vec");
        let gz = enc.finish().expect("writing to a Vec");
        let len = gz.len() as u64;
        match (&sniffed, sniff(Cursor::new(gz), len)) {
            (Ok(plain), Ok(gz)) => assert_eq!(&gz, plain, "gzip changes the proposal"),
            (Err(plain), Err(gz)) => assert_eq!(gz.kind, plain.kind),
            (plain, gz) => panic!("gzip: {gz:?}, plain: {plain:?}"),
        }
    }
    let Ok(sniffed) = sniffed else {
        return;
    };
    assert!(sniffed.preview.len() <= 20);
    assert!(!sniffed.summary.is_empty());
    let json = sniffed.to_json();
    assert!(
        json["columns"]
            .as_array()
            .is_some_and(|c| c.len() == sniffed.columns.len())
    );
    match DelimitedReader::new(Cursor::new(data.to_vec()), &sniffed.dialect, 1 << 26) {
        Ok(mut reader) => {
            while let Some(item) = reader.next_record() {
                if item.is_err() {
                    break;
                }
            }
        }
        Err(e) => assert_ne!(
            e.kind,
            ReadErrorKind::BadDialect,
            "sniffed dialect refused: {e}"
        ),
    }
});
