//! The users-file reader end to end: formats, detection, gzip, encodings, error positions,
//! limits, CSV mapping.
//!
//! Everything sits in `mod reader` so that `cargo test -p userbridge-import reader` selects it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod reader {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};
    use userbridge_import::reader::{
        Detected, InputFormat, RawRecord, ReadError, ReaderOptions, RecordReader,
    };
    use userbridge_model::ErrorCode;

    fn options(format: InputFormat) -> ReaderOptions {
        ReaderOptions {
            format,
            ..ReaderOptions::default()
        }
    }

    fn auto() -> ReaderOptions {
        options(InputFormat::Auto)
    }

    fn open(bytes: &[u8], options: &ReaderOptions) -> Result<RecordReader, ReadError> {
        RecordReader::from_reader(std::io::Cursor::new(bytes.to_vec()), options)
    }

    /// Every record up to the first whole-file error (which `open` may already raise).
    fn read(
        bytes: &[u8],
        options: &ReaderOptions,
    ) -> (Option<Detected>, Vec<RawRecord>, Option<ReadError>) {
        let reader = match open(bytes, options) {
            Ok(reader) => reader,
            Err(e) => return (None, Vec::new(), Some(e)),
        };
        let detected = reader.detected();
        let mut records = Vec::new();
        for item in reader {
            match item {
                Ok(record) => records.push(record),
                Err(e) => return (Some(detected), records, Some(e)),
            }
        }
        (Some(detected), records, None)
    }

    /// The values of a file that must read without any error.
    fn values(bytes: &[u8], options: &ReaderOptions) -> (Detected, Vec<Value>) {
        let (detected, records, err) = read(bytes, options);
        assert!(err.is_none(), "unexpected error: {}", err.unwrap());
        let values = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                assert_eq!(r.index, i as u64);
                r.value.unwrap_or_else(|e| panic!("record {i}: {e:?}"))
            })
            .collect();
        (detected.unwrap(), values)
    }

    /// The whole-file error of a file that must have one.
    fn read_error(bytes: &[u8], options: &ReaderOptions) -> ReadError {
        read(bytes, options).2.expect("a whole-file error")
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn position(err: &ReadError) -> (u64, u64, u64) {
        (err.line, err.column, err.byte)
    }

    fn detected(format: InputFormat, gzip: bool) -> Detected {
        Detected { format, gzip }
    }

    const ARRAY: &str = "[\n  {\"email\": \"a@example.com\"},\n  {\"email\": \"b@example.com\", \"user_metadata\": {\"n\": [1, 2]}},\n  {\"email\": \"c@example.com\"}\n]\n";
    const NDJSON: &str = "{\"email\":\"a@example.com\"}\n\n{\"email\":\"b@example.com\",\"user_metadata\":{\"n\":[1,2]}}\r\n   \n{\"email\":\"c@example.com\"}";
    const CSV: &str = "email,user_metadata\na@example.com,\nb@example.com,\"{\"\"n\"\":[1,2]}\"\nc@example.com,\n";
    const TSV: &str =
        "email\tuser_metadata\na@example.com\t\nb@example.com\t{\"n\":[1,2]}\nc@example.com\t\n";

    fn expected_users() -> Vec<Value> {
        vec![
            json!({"email": "a@example.com"}),
            json!({"email": "b@example.com", "user_metadata": {"n": [1, 2]}}),
            json!({"email": "c@example.com"}),
        ]
    }

    #[test]
    fn every_format_plain_and_gzipped() {
        for (text, format) in [
            (ARRAY, InputFormat::JsonArray),
            (NDJSON, InputFormat::Ndjson),
            (CSV, InputFormat::Csv),
            (TSV, InputFormat::Tsv),
        ] {
            for compressed in [false, true] {
                let bytes = if compressed {
                    gzip(text.as_bytes())
                } else {
                    text.as_bytes().to_vec()
                };
                for opts in [auto(), options(format)] {
                    let (found, users) = values(&bytes, &opts);
                    assert_eq!(
                        found,
                        detected(format, compressed),
                        "{format} gzip={compressed}"
                    );
                    assert_eq!(users, expected_users(), "{format} gzip={compressed}");
                }
            }
        }
    }

    #[test]
    fn record_lines() {
        let lines = |text: &str| -> Vec<u64> {
            read(text.as_bytes(), &auto())
                .1
                .iter()
                .map(|r| r.line)
                .collect()
        };
        assert_eq!(lines(ARRAY), vec![2, 3, 4]);
        assert_eq!(lines(NDJSON), vec![1, 3, 5]);
        assert_eq!(lines(CSV), vec![2, 3, 4]);
        // A quoted newline: the next row starts one line later.
        assert_eq!(
            lines("email,name\na@x.io,\"two\nlines\"\nb@x.io,x\n"),
            vec![2, 4]
        );
    }

    #[test]
    fn positions_after_long_leading_blank_runs() {
        // Far more blank lines than one read: detection drops them, the positions still count them.
        let blank = "\n".repeat(200_000);
        let err = read_error(format!("{blank}[1,]").as_bytes(), &auto());
        assert_eq!(position(&err), (200_001, 4, 200_003));
        for opts in [auto(), options(InputFormat::Csv)] {
            let text = format!("{blank}email,name\r\n{blank}a@x.io,A\r\n\r\nb@x.io,B\r\n");
            let (_, records, err) = read(text.as_bytes(), &opts);
            assert!(err.is_none(), "{err:?}");
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![400_002, 400_004]);
            let text = format!("{blank}email,email\n");
            let err = read_error(text.as_bytes(), &opts);
            assert_eq!(position(&err), (200_001, 1, 200_000));
        }
    }

    #[test]
    fn open_reads_files_and_detects_gzip_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("users.json");
        std::fs::write(&plain, ARRAY).unwrap();
        // A gzip file whose name does not say so.
        let packed = dir.path().join("users.ndjson");
        std::fs::write(&packed, gzip(NDJSON.as_bytes())).unwrap();
        let reader = RecordReader::open(&plain, &auto()).unwrap();
        assert_eq!(reader.detected(), detected(InputFormat::JsonArray, false));
        assert_eq!(
            reader
                .map(|r| r.unwrap().value.unwrap())
                .collect::<Vec<_>>(),
            expected_users()
        );
        let reader = RecordReader::open(&packed, &auto()).unwrap();
        assert_eq!(reader.detected(), detected(InputFormat::Ndjson, true));
        assert_eq!(reader.count(), 3);
        let err = RecordReader::open(&dir.path().join("missing.json"), &auto()).unwrap_err();
        assert!(err.message.contains("cannot open"), "{err}");
    }

    #[test]
    fn empty_inputs_have_no_records() {
        for text in ["", "  \n\t\r\n", "[]", " [ \n ] \n"] {
            let (found, users) = values(text.as_bytes(), &auto());
            assert_eq!(found, detected(InputFormat::JsonArray, false), "{text:?}");
            assert!(users.is_empty());
            assert!(
                values(text.as_bytes(), &options(InputFormat::JsonArray))
                    .1
                    .is_empty()
            );
            assert!(values(&gzip(text.as_bytes()), &auto()).1.is_empty());
        }
        assert!(values(b"", &options(InputFormat::Ndjson)).1.is_empty());
        assert!(values(b"\n\n", &options(InputFormat::Ndjson)).1.is_empty());
        assert!(values(b"", &options(InputFormat::Csv)).1.is_empty());
        assert!(
            values(b"email,name\n", &options(InputFormat::Csv))
                .1
                .is_empty()
        );
    }

    #[test]
    fn boms() {
        let with_bom = |text: &str| [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        for (text, format) in [
            (ARRAY, InputFormat::JsonArray),
            (NDJSON, InputFormat::Ndjson),
            (CSV, InputFormat::Csv),
        ] {
            let (found, users) = values(&with_bom(text), &auto());
            assert_eq!(found.format, format);
            // The BOM never becomes part of the first column name.
            assert_eq!(users, expected_users());
            assert_eq!(values(&gzip(&with_bom(text)), &auto()).1, expected_users());
        }
        // Byte offsets count the BOM; columns do not.
        let err = read_error(&with_bom("[1,]"), &auto());
        assert_eq!(position(&err), (1, 4, 6));

        let utf16 = |big_endian: bool| -> Vec<u8> {
            let mut bytes = if big_endian {
                vec![0xFE, 0xFF]
            } else {
                vec![0xFF, 0xFE]
            };
            for unit in ARRAY.encode_utf16() {
                let pair = if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                };
                bytes.extend_from_slice(&pair);
            }
            bytes
        };
        for big_endian in [false, true] {
            for bytes in [utf16(big_endian), gzip(&utf16(big_endian))] {
                for opts in [auto(), options(InputFormat::Csv)] {
                    let err = read_error(&bytes, &opts);
                    assert_eq!(err.message, "the file is UTF-16; save it as UTF-8");
                    assert_eq!(position(&err), (1, 1, 0));
                }
            }
            // Without its BOM, UTF-16 is still recognised.
            assert!(
                read_error(&utf16(big_endian)[2..], &auto())
                    .message
                    .contains("UTF-16")
            );
        }
        let err = read_error(&[0xFF, 0xFE, 0, 0, b'[', 0, 0, 0], &auto());
        assert_eq!(err.message, "the file is UTF-32; save it as UTF-8");
    }

    #[test]
    fn syntax_error_in_the_middle_of_an_array() {
        let text = "[\n  {\"email\": \"a@example.com\"},\n  {\"email\" \"b@example.com\"},\n  {\"email\": \"c@example.com\"}\n]\n";
        let (_, records, err) = read(text.as_bytes(), &auto());
        let err = err.unwrap();
        let byte = text.find("\"b@").unwrap() as u64;
        assert_eq!(position(&err), (3, 12, byte));
        assert_eq!(
            err.to_string(),
            format!("line 3, column 12 (byte {byte}): expected ':', found '\"'")
        );
        // The record before the error was read; nothing after it.
        assert_eq!(records.len(), 1);
        // The same position through gzip.
        assert_eq!(
            position(&read_error(&gzip(text.as_bytes()), &auto())),
            (3, 12, byte)
        );
    }

    #[test]
    fn syntax_error_in_ndjson() {
        let text = "{\"email\":\"a@example.com\"}\n\n{\"email\":\"b@example.com\",}\n{\"email\":\"c@example.com\"}\n";
        let (_, records, err) = read(text.as_bytes(), &auto());
        let err = err.unwrap();
        let byte = text.find(",}").unwrap() as u64 + 1;
        assert_eq!(position(&err), (3, 26, byte));
        assert!(err.message.contains("trailing comma"), "{err}");
        assert_eq!(records.len(), 1);

        // A value that goes on after its line.
        let err = read_error(b"{\"email\":\"a@x.io\"} {\"email\":\"b@x.io\"}\n", &auto());
        assert_eq!(position(&err), (1, 20, 19));
        assert!(err.message.contains("one value per line"), "{err}");
        // A line that is not JSON.
        let err = read_error(b"{\"email\":\"a@x.io\"}\nemail=b@x.io\n", &auto());
        assert_eq!(position(&err), (2, 1, 19));
        assert!(
            err.message.contains("expected a JSON value, found 'e'"),
            "{err}"
        );
    }

    #[test]
    fn trailing_comma_and_missing_comma() {
        let text = "[{\"email\":\"a@x.io\"},\n {\"email\":\"b@x.io\"},\n]";
        let err = read_error(text.as_bytes(), &auto());
        assert_eq!(position(&err), (3, 1, text.len() as u64 - 1));
        assert!(err.message.contains("trailing comma"), "{err}");

        let text = "[{\"email\":\"a@x.io\"}\n {\"email\":\"b@x.io\"}]";
        let err = read_error(text.as_bytes(), &auto());
        assert_eq!(position(&err), (2, 2, 21));
        assert!(err.message.contains("missing ','"), "{err}");

        let err = read_error(b"[1, 2] [3]", &auto());
        assert_eq!(position(&err), (1, 8, 7));
        assert!(err.message.contains("after the end of the array"), "{err}");
    }

    #[test]
    fn truncated_files() {
        let cut = &ARRAY[..ARRAY.find("b@example").unwrap()];
        let (_, records, err) = read(cut.as_bytes(), &auto());
        let err = err.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(err.byte, cut.len() as u64);
        assert!(
            err.message
                .contains("unexpected end of file inside a string"),
            "{err}"
        );

        let err = read_error(b"[{\"email\":\"a@x.io\"}", &auto());
        assert!(err.message.contains("the array is not closed"), "{err}");
        assert_eq!(position(&err), (1, 20, 19));

        let err = read_error(b"{\"email\":\"a@x.io\"}\n{\"email\":", &auto());
        assert!(err.message.contains("not closed"), "{err}");
        assert_eq!(err.line, 2);

        // A truncated gzip stream.
        let packed = gzip(ARRAY.repeat(50).as_bytes());
        let err = read_error(&packed[..packed.len() / 2], &auto());
        assert!(err.message.contains("gzip"), "{err}");
        // A corrupt one: whatever the garbage decompresses to, the file fails.
        let mut corrupt = gzip(ARRAY.as_bytes());
        let middle = corrupt.len() / 2;
        corrupt[middle] ^= 0xFF;
        corrupt[middle + 1] ^= 0xFF;
        assert!(read(&corrupt, &auto()).2.is_some());
        // A wrong checksum fails the file after its last record.
        let mut bad_crc = gzip(ARRAY.as_bytes());
        let crc = bad_crc.len() - 8;
        bad_crc[crc] ^= 0xFF;
        let (_, records, err) = read(&bad_crc, &auto());
        assert_eq!(records.len(), 3);
        assert!(
            err.unwrap()
                .message
                .contains("cannot decompress the gzip data")
        );
    }

    #[test]
    fn not_json_at_all() {
        let text = b"<html><body>Not found</body></html>\n";
        let err = read_error(text, &options(InputFormat::JsonArray));
        assert_eq!(position(&err), (1, 1, 0));
        assert!(err.message.contains("expected '['"), "{err}");
        let err = read_error(text, &options(InputFormat::Ndjson));
        assert_eq!(position(&err), (1, 1, 0));
        assert!(err.message.contains("expected a JSON value"), "{err}");
        // Auto: not `[` or `{` → delimited text (one header column here, no rows).
        let (found, users) = values(text, &auto());
        assert_eq!(found, detected(InputFormat::Tsv, false));
        assert!(users.is_empty());
        let (found, _) = values(b"a,b,c\n1,2,3\n", &auto());
        assert_eq!(found.format, InputFormat::Csv);
        let (found, _) = values(b"a,b\tc\td\n", &auto());
        assert_eq!(found.format, InputFormat::Tsv);
        // An array requested explicitly but an object given.
        let err = read_error(b"{\"email\":\"a@x.io\"}", &options(InputFormat::JsonArray));
        assert!(err.message.contains("expected '['"), "{err}");
    }

    #[test]
    fn a_single_object_is_ndjson_with_one_record() {
        let (found, users) = values(b"  {\"email\": \"a@x.io\", \"name\": \"A\"}  \n", &auto());
        assert_eq!(found, detected(InputFormat::Ndjson, false));
        assert_eq!(users, vec![json!({"email": "a@x.io", "name": "A"})]);
        // Pretty-printed, it is not NDJSON.
        let err = read_error(b"{\n  \"email\": \"a@x.io\"\n}\n", &auto());
        assert_eq!(position(&err), (1, 2, 1));
        assert!(err.message.contains("NDJSON"), "{err}");
    }

    #[test]
    fn non_object_elements_are_records() {
        let (_, users) = values(b"[1, \"x\", null, [], {\"email\":\"a@x.io\"}]", &auto());
        assert_eq!(
            users,
            vec![
                json!(1),
                json!("x"),
                json!(null),
                json!([]),
                json!({"email": "a@x.io"})
            ]
        );
    }

    #[test]
    fn deep_nesting_is_a_per_record_error() {
        let deep = format!(
            "{{\"email\":\"d@x.io\",\"user_metadata\":{}1{}}}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        for (text, format) in [
            (
                format!("[{{\"email\":\"a@x.io\"}},\n{deep},\n{{\"email\":\"b@x.io\"}}]"),
                InputFormat::JsonArray,
            ),
            (
                format!("{{\"email\":\"a@x.io\"}}\n{deep}\n{{\"email\":\"b@x.io\"}}\n"),
                InputFormat::Ndjson,
            ),
        ] {
            let (found, records, err) = read(text.as_bytes(), &auto());
            assert!(err.is_none(), "{err:?}");
            assert_eq!(found.unwrap().format, format);
            assert_eq!(records.len(), 3);
            assert_eq!(records[0].value, Ok(json!({"email": "a@x.io"})));
            let bad = records[1].value.as_ref().unwrap_err();
            assert_eq!(bad.code, ErrorCode::Format);
            assert_eq!(bad.path, "");
            assert!(bad.message.contains("1001 levels deep"), "{}", bad.message);
            assert_eq!((records[1].index, records[1].line), (1, 2));
            assert_eq!(records[2].value, Ok(json!({"email": "b@x.io"})));
        }
        // Far deeper than any stack allows: still no crash.
        let very_deep = format!("[{}{}]", "[".repeat(200_000), "]".repeat(200_000));
        let (_, records, err) = read(very_deep.as_bytes(), &auto());
        assert!(err.is_none());
        assert!(records[0].value.is_err());
        // Unbalanced and very deep: a syntax error at the end.
        let err = read_error("[".repeat(300_000).as_bytes(), &auto());
        assert_eq!(err.byte, 300_000);
    }

    #[test]
    fn invalid_utf8() {
        let mut bytes = b"[{\"email\":\"a@x.io\"},\n {\"email\":\"b".to_vec();
        let at = bytes.len() as u64;
        bytes.extend_from_slice(&[0xC3, 0x28]);
        bytes.extend_from_slice(b"@x.io\"}]");
        let (_, records, err) = read(&bytes, &auto());
        let err = err.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(position(&err), (2, 13, at));
        assert!(err.message.contains("invalid UTF-8 (byte 0xC3)"), "{err}");
        assert_eq!(position(&read_error(&gzip(&bytes), &auto())), (2, 13, at));

        let mut csv = b"email,name\na@x.io,Ann\nb@x.io,B".to_vec();
        let at = csv.len() as u64;
        csv.extend_from_slice(&[0xFF, b'\n']);
        let (_, records, err) = read(&csv, &auto());
        let err = err.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(position(&err), (3, 9, at));
        assert!(err.message.contains("UTF-8"), "{err}");

        // A character cut by the end of the file.
        let err = read_error(&[b'[', b'"', 0xE2, 0x82], &auto());
        assert!(err.message.contains("ends inside a character"), "{err}");
        assert_eq!(err.byte, 2);
    }

    #[test]
    fn depth_and_header_width_caps_are_configurable() {
        // Nesting: deeper than the cap is a per-record FORMAT error; the file reads on.
        let deep = "[{\"email\":\"a@example.com\",\"user_metadata\":{\"a\":[[[1]]]}},{\"email\":\"b@example.com\"}]";
        let opts = ReaderOptions {
            max_record_depth: 4,
            ..auto()
        };
        let (_, records, err) = read(deep.as_bytes(), &opts);
        assert!(err.is_none());
        let first = records[0].value.as_ref().unwrap_err();
        assert_eq!(first.code, ErrorCode::Format);
        assert!(first.message.contains("at most 4 levels"), "{first:?}");
        assert!(records[1].value.is_ok());
        let opts = ReaderOptions {
            max_record_depth: 5,
            ..auto()
        };
        assert_eq!(values(deep.as_bytes(), &opts).1.len(), 2);
        // The header row of a CSV file: more columns than the cap stop the file.
        let opts = ReaderOptions {
            max_columns: 2,
            ..options(InputFormat::Csv)
        };
        let err = read_error(b"email,given_name,family_name\na@example.com,A,B\n", &opts);
        assert!(
            err.message
                .contains("3 columns, more than the limit of 2 (max_columns)"),
            "{err}"
        );
        assert_eq!(
            values(b"email,given_name\na@example.com,A\n", &opts)
                .1
                .len(),
            1
        );
    }

    #[test]
    fn gzip_bomb_is_stopped_in_flat_memory() {
        // ~50 MB of spaces inside an array, compressed to a few tens of KB.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(b"[{\"email\":\"a@x.io\"},").unwrap();
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..50 {
            encoder.write_all(&spaces).unwrap();
        }
        encoder.write_all(b"{\"email\":\"b@x.io\"}]").unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());

        let opts = ReaderOptions {
            max_decompressed_bytes: 1 << 20,
            ..auto()
        };
        let reader = open(&bomb, &opts).unwrap();
        assert!(reader.detected().gzip);
        // Iterate without collecting anything.
        let mut good = 0;
        let mut failure = None;
        for item in reader {
            match item {
                Ok(_) => good += 1,
                Err(e) => failure = Some(e),
            }
        }
        let err = failure.expect("the cap stops the bomb");
        assert_eq!(good, 1);
        assert!(
            err.message.contains("1 MiB") && err.message.contains("max_decompressed_bytes"),
            "{err}"
        );
        assert!(err.byte <= 1 << 20);

        // Within the cap the same file reads fine.
        let opts = ReaderOptions {
            max_decompressed_bytes: 64 << 20,
            ..auto()
        };
        assert_eq!(values(&bomb, &opts).1.len(), 2);

        // The cap applies to plain input too, and to detection.
        let plain = vec![b' '; 3 << 20];
        let opts = ReaderOptions {
            max_decompressed_bytes: 1 << 20,
            ..auto()
        };
        let err = read_error(&plain, &opts);
        assert!(
            err.message
                .contains("the file is larger than the limit of 1 MiB"),
            "{err}"
        );
    }

    #[test]
    fn oversized_records() {
        let big = "x".repeat(3000);
        let text = format!(
            "[{{\"email\":\"a@x.io\"}}, {{\"email\":\"{big}\"}}, {{\"email\":\"b@x.io\"}}]"
        );
        let opts = ReaderOptions {
            max_record_bytes: 1000,
            ..auto()
        };
        let (_, records, err) = read(text.as_bytes(), &opts);
        assert!(err.is_none());
        assert_eq!(records.len(), 3);
        let bad = records[1].value.as_ref().unwrap_err();
        assert_eq!(bad.code, ErrorCode::MaxLength);
        assert!(bad.message.contains("max_record_bytes"), "{}", bad.message);
        assert!(records[2].value.is_ok());

        // A CSV row cannot be skipped: too long is a whole-file error (an open quote, typically).
        let mut csv = "email,name\na@x.io,\"unterminated\nb@x.io,B\n".to_string();
        for _ in 0..100_000 {
            csv.push_str("c@x.io,C\n");
        }
        csv.push_str("d@x.io,\"closed\"\n");
        let opts = ReaderOptions {
            max_record_bytes: 1000,
            format: InputFormat::Csv,
            ..auto()
        };
        let (_, records, err) = read(csv.as_bytes(), &opts);
        assert!(records.is_empty());
        let err = err.unwrap();
        assert_eq!(position(&err), (2, 1, 11));
        assert!(
            err.message
                .contains("the row is longer than the limit of 1000 bytes"),
            "{err}"
        );
        // Within the limit, the same file reads: the open quote swallows the rest of the file.
        let opts = ReaderOptions {
            format: InputFormat::Csv,
            ..auto()
        };
        assert_eq!(values(csv.as_bytes(), &opts).1.len(), 1);
    }

    #[test]
    fn csv_with_a_column_mapping() {
        let text = "\
Email Address,First Name,Verified,Consent,Roles,Zip,Plan,Given Name,user_metadata.source
a@x.io,Ann,TRUE,yes,\"[\"\"admin\"\"]\",00123,true,Nope,crm
b@x.io,,false,,,,,,
";
        let opts = ReaderOptions {
            format: InputFormat::Auto,
            columns: vec![
                ("Email Address".into(), "email".into()),
                ("First Name".into(), "given_name".into()),
                ("Verified".into(), "email_verified".into()),
                ("Consent".into(), "user_metadata.consent.given".into()),
                ("Roles".into(), "app_metadata.roles".into()),
                ("Zip".into(), "user_metadata.zip".into()),
                ("Plan".into(), "app_metadata.trial".into()),
            ],
            ..ReaderOptions::default()
        };
        let (found, users) = values(text.as_bytes(), &opts);
        assert_eq!(found.format, InputFormat::Csv);
        assert_eq!(
            users,
            vec![
                json!({
                    "email": "a@x.io",
                    "given_name": "Ann",
                    "email_verified": true,
                    "user_metadata": {"consent": {"given": "yes"}, "zip": "00123", "source": "crm"},
                    "app_metadata": {"roles": ["admin"], "trial": "true"},
                    "Given Name": "Nope"
                }),
                json!({"email": "b@x.io", "email_verified": false}),
            ]
        );
    }

    #[test]
    fn csv_headers_as_paths() {
        let text = "\
email\tidentities[0].connection\tuser_metadata[\"a.b\"]\tblocked\tpassword_hash\tcustom_password_hash.algorithm\tcustom_password_hash.keylen\tmfa_factors\tId
a@x.io\tUsername-Password\tdotted\tno\t$2b$10$abc\tscrypt\t64\t[{\"totp\":{\"secret\":\"ABC\"}}]\t42
";
        let (found, users) = values(text.as_bytes(), &auto());
        assert_eq!(found.format, InputFormat::Tsv);
        assert_eq!(
            users,
            vec![json!({
                "email": "a@x.io",
                "identities": [{"connection": "Username-Password"}],
                "user_metadata": {"a.b": "dotted"},
                "blocked": "no",
                "password_hash": "$2b$10$abc",
                "custom_password_hash": {"algorithm": "scrypt", "keylen": 64},
                "mfa_factors": [{"totp": {"secret": "ABC"}}],
                "Id": "42"
            })]
        );
    }

    #[test]
    fn csv_quoted_newlines_and_quotes() {
        let text = "email,name,user_metadata.note\r\n\"a@x.io\",\"Ann \"\"The\"\" Admin\",\"line one\r\nline two, with comma\"\r\nb@x.io,Bob,\"\"\r\n";
        let (_, records, err) = read(text.as_bytes(), &auto());
        assert!(err.is_none());
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(
            records[0].value,
            Ok(
                json!({"email": "a@x.io", "name": "Ann \"The\" Admin", "user_metadata": {"note": "line one\r\nline two, with comma"}})
            )
        );
        // An empty quoted cell is absent, like an empty one.
        assert_eq!(
            records[1].value,
            Ok(json!({"email": "b@x.io", "name": "Bob"}))
        );
    }

    #[test]
    fn csv_ragged_rows() {
        let text = "email,name,nickname\na@x.io,Ann,annie\nb@x.io,Bob,bobby,extra\nc@x.io\n\nd@x.io,Dee,,\n";
        let (_, records, err) = read(text.as_bytes(), &auto());
        assert!(err.is_none());
        assert_eq!(records.len(), 4);
        assert!(records[0].value.is_ok());
        let long = records[1].value.as_ref().unwrap_err();
        assert_eq!((long.code, long.path.as_str()), (ErrorCode::Format, ""));
        assert_eq!(
            long.message,
            "the row on line 3 has 4 cells, but the header row has 3 columns"
        );
        assert_eq!(records[2].value, Ok(json!({"email": "c@x.io"})));
        assert_eq!((records[3].index, records[3].line), (3, 6));
        assert!(
            records[3]
                .value
                .as_ref()
                .unwrap_err()
                .message
                .contains("line 6 has 4 cells")
        );
    }

    #[test]
    fn csv_header_problems() {
        let err = read_error(b"email,name,email\na@x.io,A,b@x.io\n", &auto());
        assert_eq!(
            err.message,
            "duplicate column name \"email\" (columns 1 and 3)"
        );
        assert_eq!(position(&err), (1, 1, 0));

        let mapped = |columns: &[(&str, &str)]| ReaderOptions {
            columns: columns
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..auto()
        };
        let text = b"\n\nMail,email,Meta\na@x.io,b@x.io,{}\n";
        let err = read_error(text, &mapped(&[("Mail", "email")]));
        assert!(
            err.message
                .contains("\"Mail\" (email) and \"email\" (email)"),
            "{err}"
        );
        assert_eq!(position(&err), (3, 1, 2));
        let err = read_error(
            text,
            &mapped(&[("Mail", "user_metadata"), ("Meta", "user_metadata.x")]),
        );
        assert!(err.message.contains("one is inside the other"), "{err}");
        let err = read_error(text, &mapped(&[("Mial", "email")]));
        assert!(
            err.message.contains("\"Mial\" is not in the header row"),
            "{err}"
        );
        let err = read_error(text, &mapped(&[("Mail", "e-mail")]));
        assert!(
            err.message.contains("invalid field path \"e-mail\""),
            "{err}"
        );
        let err = read_error(text, &mapped(&[("Mail", "app_metadata.x[5000]")]));
        assert!(err.message.contains("too large"), "{err}");
        let err = read_error(text, &mapped(&[("Mail", "given_name"), ("Mail", "name")]));
        assert!(err.message.contains("mapped twice"), "{err}");
    }

    #[test]
    fn csv_formula_prefixes_are_removed() {
        let text = "email,name,nickname,user_metadata.a,user_metadata.b,family_name\n\
a@x.io,'=HYPERLINK(\"x\"),'+1 555,'-minus,'@at,'tis\n";
        let (_, users) = values(text.as_bytes(), &auto());
        assert_eq!(
            users,
            vec![json!({
                "email": "a@x.io",
                "name": "=HYPERLINK(\"x\")",
                "nickname": "+1 555",
                "user_metadata": {"a": "-minus", "b": "@at"},
                "family_name": "'tis"
            })]
        );
        // A tab after the quote, in a quoted TSV cell.
        let (_, users) = values(
            b"email\tname\na@x.io\t\"'\tindented\"\n",
            &options(InputFormat::Tsv),
        );
        assert_eq!(
            users,
            vec![json!({"email": "a@x.io", "name": "\tindented"})]
        );
    }

    #[test]
    fn csv_metadata_leaves_stay_strings() {
        let text = "email,user_metadata.zip,user_metadata.flag,user_metadata.none,user_metadata.obj,app_metadata\n\
a@x.io,00123,true,null,\"{\"\"k\"\": 1}\",\"{\"\"plan\"\": \"\"pro\"\", \"\"seats\"\": 5}\"\n";
        let (_, users) = values(text.as_bytes(), &auto());
        assert_eq!(
            users,
            vec![json!({
                "email": "a@x.io",
                "user_metadata": {"zip": "00123", "flag": "true", "none": "null", "obj": {"k": 1}},
                "app_metadata": {"plan": "pro", "seats": 5}
            })]
        );
    }

    // ---------------------------------------------------------------------------------------------
    // Properties
    // ---------------------------------------------------------------------------------------------

    fn arb_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        arb_leaf().prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_object() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[a-z_]{1,8}|\\PC{0,6}", arb_value(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    fn arb_whitespace() -> impl Strategy<Value = String> {
        "[ \t\r\n]{0,3}"
    }

    /// The 1-based line of byte `at`.
    fn line_of(text: &str, at: usize) -> u64 {
        1 + text[..at].bytes().filter(|&b| b == b'\n').count() as u64
    }

    /// Header pool for CSV properties: the header and where its value lands.
    const CSV_COLUMNS: [(&str, &[&str]); 8] = [
        ("email", &["email"]),
        ("given_name", &["given_name"]),
        ("nickname", &["nickname"]),
        ("user_metadata.note", &["user_metadata", "note"]),
        ("user_metadata[\"a.b\"]", &["user_metadata", "a.b"]),
        ("app_metadata.plan", &["app_metadata", "plan"]),
        ("Given Name", &["Given Name"]),
        ("Id", &["Id"]),
    ];

    fn put(object: &mut Map<String, Value>, keys: &[&str], value: Value) {
        match keys {
            [last] => {
                object.insert(last.to_string(), value);
            }
            [first, rest @ ..] => {
                let slot = object.entry(first.to_string()).or_insert_with(|| json!({}));
                if let Value::Object(inner) = slot {
                    put(inner, rest, value);
                }
            }
            [] => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn json_arrays_read_back(
            objects in prop::collection::vec(arb_object(), 0..8),
            spacing in prop::collection::vec((arb_whitespace(), arb_whitespace(), any::<bool>()), 8),
            outer in (arb_whitespace(), arb_whitespace(), arb_whitespace()),
            compressed in any::<bool>(),
        ) {
            let mut text = format!("{}[", outer.0);
            let mut starts = Vec::new();
            for (i, object) in objects.iter().enumerate() {
                let (before, after, pretty) = &spacing[i];
                text.push_str(before);
                starts.push(text.len());
                let rendered = if *pretty { serde_json::to_string_pretty(object) } else { serde_json::to_string(object) };
                text.push_str(&rendered.unwrap());
                text.push_str(after);
                if i + 1 < objects.len() {
                    text.push(',');
                }
            }
            text.push_str(&outer.1);
            text.push(']');
            text.push_str(&outer.2);
            let bytes = if compressed { gzip(text.as_bytes()) } else { text.clone().into_bytes() };
            let (found, records, err) = read(&bytes, &auto());
            prop_assert!(err.is_none(), "{:?}", err);
            prop_assert_eq!(found.unwrap(), detected(InputFormat::JsonArray, compressed));
            let got: Vec<Value> = records.iter().map(|r| r.value.clone().unwrap()).collect();
            prop_assert_eq!(&got, &objects);
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            let expected: Vec<u64> = starts.iter().map(|&s| line_of(&text, s)).collect();
            prop_assert_eq!(lines, expected);
        }

        #[test]
        fn ndjson_reads_back(
            objects in prop::collection::vec(arb_object(), 1..8),
            blanks in prop::collection::vec(("[ \t]{0,2}", 0..3usize, any::<bool>()), 8),
        ) {
            let mut text = String::new();
            let mut starts = Vec::new();
            for (i, object) in objects.iter().enumerate() {
                let (indent, blank_lines, crlf) = &blanks[i];
                for _ in 0..*blank_lines {
                    text.push_str(if *crlf { "  \r\n" } else { "\n" });
                }
                text.push_str(indent);
                starts.push(text.len());
                text.push_str(&serde_json::to_string(object).unwrap());
                text.push_str(if *crlf { "\r\n" } else { "\n" });
            }
            let (found, records, err) = read(text.as_bytes(), &options(InputFormat::Ndjson));
            prop_assert!(err.is_none(), "{:?}", err);
            prop_assert_eq!(found.unwrap().format, InputFormat::Ndjson);
            let got: Vec<Value> = records.iter().map(|r| r.value.clone().unwrap()).collect();
            prop_assert_eq!(&got, &objects);
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            let expected: Vec<u64> = starts.iter().map(|&s| line_of(&text, s)).collect();
            prop_assert_eq!(lines, expected);
        }

        #[test]
        fn csv_reads_back(
            picks in prop::sample::subsequence((0..CSV_COLUMNS.len()).collect::<Vec<_>>(), 1..=CSV_COLUMNS.len()),
            rows in prop::collection::vec(
                prop::collection::vec(prop::option::of("[^'{\\[]\\PC{0,10}|[a-z ,;\"\t\r\n]{1,10}"), CSV_COLUMNS.len()),
                0..8,
            ),
            tabs in any::<bool>(),
            compressed in any::<bool>(),
        ) {
            let delimiter = if tabs { b'\t' } else { b',' };
            let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
            writer.write_record(picks.iter().map(|&c| CSV_COLUMNS[c].0)).unwrap();
            let mut expected = Vec::new();
            for row in &rows {
                let cells: Vec<&str> = picks.iter().map(|&c| row[c].as_deref().unwrap_or("")).collect();
                writer.write_record(&cells).unwrap();
                let mut object = Map::new();
                for (&c, cell) in picks.iter().zip(&cells) {
                    if !cell.is_empty() {
                        put(&mut object, CSV_COLUMNS[c].1, Value::String(cell.to_string()));
                    }
                }
                expected.push(Value::Object(object));
            }
            let text = writer.into_inner().unwrap();
            let bytes = if compressed { gzip(&text) } else { text };
            let format = if tabs { InputFormat::Tsv } else { InputFormat::Csv };
            let (found, records, err) = read(&bytes, &options(format));
            prop_assert!(err.is_none(), "{:?}", err);
            prop_assert_eq!(found.unwrap(), detected(format, compressed));
            let got: Vec<Value> = records.iter().map(|r| r.value.clone().unwrap()).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            check_no_panic(&bytes);
        }

        #[test]
        fn never_panics_on_json_like_bytes(
            bytes in prop::collection::vec(prop::sample::select(b"[]{}\",:\\ \n\r\t0123456789.eE+-truefalsnl'\xC3\xA9\xFF\x00".to_vec()), 0..200),
        ) {
            check_no_panic(&bytes);
        }
    }

    fn check_no_panic(bytes: &[u8]) {
        let inputs = [
            bytes.to_vec(),
            gzip(bytes),
            [&[0x1f, 0x8b][..], bytes].concat(),
        ];
        for input in &inputs {
            for format in [
                InputFormat::Auto,
                InputFormat::JsonArray,
                InputFormat::Ndjson,
                InputFormat::Csv,
                InputFormat::Tsv,
            ] {
                let opts = ReaderOptions {
                    max_record_bytes: 64,
                    ..options(format)
                };
                let (_, records, err) = read(input, &opts);
                if let Some(err) = err {
                    assert!(err.line >= 1 && err.column >= 1, "{err}");
                    assert!(err.to_string().starts_with("line "));
                }
                for (i, record) in records.iter().enumerate() {
                    assert_eq!(record.index, i as u64);
                    assert!(record.line >= 1);
                }
            }
        }
    }
}
