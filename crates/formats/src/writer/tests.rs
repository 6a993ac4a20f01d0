use std::io;

use serde_json::Value;
use serde_json::value::RawValue;

use super::*;

fn options(format: ExportFormat) -> WriterOptions {
    WriterOptions::new(format)
}

fn cols(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|s| s.to_string()).collect())
}

/// Writes `rows` with `columns` and returns the file as text.
fn write(options: &WriterOptions, columns: &[&str], rows: &[Vec<FieldValue<'_>>]) -> String {
    let mut w = RecordWriter::new(Vec::new(), options, cols(columns)).unwrap();
    for row in rows {
        for cell in row {
            w.write_cell(cell).unwrap();
        }
        w.end_record().unwrap();
    }
    assert_eq!(w.records(), rows.len() as u64);
    String::from_utf8(w.finish().unwrap()).unwrap()
}

/// The csv text of one cell (single column, comma).
fn csv_cell(escape: FormulaEscape, value: FieldValue<'_>) -> String {
    let mut o = options(ExportFormat::Csv);
    o.formula_escape = escape;
    // A second, constant column: a lone empty cell is quoted (see below), so the table's
    // "missing = empty field" shows only beside another cell.
    let text = write(&o, &["v", "k"], &[vec![value, FieldValue::Int(1)]]);
    let body = text.strip_prefix("v,k\n").unwrap();
    body.strip_suffix(",1\n").unwrap().to_string()
}

#[test]
fn a_lone_missing_cell_is_quoted_so_the_row_is_not_a_blank_line() {
    let o = options(ExportFormat::Tsv);
    let text = write(
        &o,
        &["only"],
        &[vec![FieldValue::Missing], vec![FieldValue::Str("x")]],
    );
    assert_eq!(text, "only\n\"\"\nx\n");
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).unwrap()
}

#[test]
fn examples_table_of_section_3_3() {
    // (stored value, auth0, smart, none) — export-formats.md §3.3, literally.
    let table: Vec<(FieldValue<'_>, &str, &str, &str)> = vec![
        (
            FieldValue::Str("jane@example.com"),
            r#""'jane@example.com""#,
            "jane@example.com",
            "jane@example.com",
        ),
        (
            FieldValue::Str(r#"=HYPERLINK("http://x")"#),
            r#""'=HYPERLINK(""http://x"")""#,
            r#""'=HYPERLINK(""http://x"")""#,
            r#""=HYPERLINK(""http://x"")""#,
        ),
        (
            FieldValue::Str("@handle"),
            r#""'@handle""#,
            "'@handle",
            "@handle",
        ),
        (
            FieldValue::Str("+12125550001"),
            r#""'+12125550001""#,
            "+12125550001",
            "+12125550001",
        ),
        (FieldValue::Str("-"), r#""'-""#, "'-", "-"),
        (
            FieldValue::Str(r#"O"Brien"#),
            r#""'O""Brien""#,
            r#""O""Brien""#,
            r#""O""Brien""#,
        ),
        (
            FieldValue::Str("Smith, Jr."),
            r#""'Smith, Jr.""#,
            r#""Smith, Jr.""#,
            r#""Smith, Jr.""#,
        ),
        (FieldValue::Bool(false), "false", "false", "false"),
        (FieldValue::Str(""), r#""'""#, r#""""#, r#""""#),
        (FieldValue::Missing, "", "", ""),
    ];
    for (value, auth0, smart, none) in table {
        assert_eq!(
            csv_cell(FormulaEscape::Auth0, value.clone()),
            auth0,
            "auth0 {value:?}"
        );
        assert_eq!(
            csv_cell(FormulaEscape::Smart, value.clone()),
            smart,
            "smart {value:?}"
        );
        assert_eq!(
            csv_cell(FormulaEscape::None, value.clone()),
            none,
            "none {value:?}"
        );
    }
}

#[test]
fn json_strings_are_treated_like_strings() {
    // The same table through FieldValue::Json strings.
    for (text, auth0, smart) in [
        ("@handle", r#""'@handle""#, "'@handle"),
        ("", r#""'""#, r#""""#),
        ("+12125550001", r#""'+12125550001""#, "+12125550001"),
    ] {
        let v = FieldValue::Json(Value::from(text));
        assert_eq!(csv_cell(FormulaEscape::Auth0, v.clone()), auth0);
        assert_eq!(csv_cell(FormulaEscape::Smart, v), smart);
    }
}

#[test]
fn scalar_rendering_of_section_9_6() {
    let obj: Value = serde_json::from_str(r#"{"z":1,"a":{"b":[true,null,"x,y"]}}"#).unwrap();
    let r = raw(r#"{"z":1,"a":"q"}"#);
    let none = FormulaEscape::None;
    assert_eq!(csv_cell(none, FieldValue::Bool(true)), "true");
    assert_eq!(csv_cell(none, FieldValue::Bool(false)), "false");
    assert_eq!(csv_cell(none, FieldValue::Int(0)), "0");
    assert_eq!(csv_cell(none, FieldValue::Int(-42)), "-42");
    assert_eq!(
        csv_cell(none, FieldValue::Int(i64::MIN)),
        i64::MIN.to_string()
    );
    assert_eq!(
        csv_cell(none, FieldValue::Timestamp("2024-03-01T09:15:27.412Z")),
        "2024-03-01T09:15:27.412Z"
    );
    assert_eq!(csv_cell(none, FieldValue::Json(Value::Null)), "");
    assert_eq!(
        csv_cell(none, FieldValue::Json(Value::Bool(false))),
        "false"
    );
    assert_eq!(csv_cell(none, FieldValue::Json(Value::from(0))), "0");
    assert_eq!(csv_cell(none, FieldValue::Json(Value::from(1.5))), "1.5");
    assert_eq!(csv_cell(none, FieldValue::Json(Value::from(-3))), "-3");
    // Objects keep their key order, compact, then quoted like any string.
    assert_eq!(
        csv_cell(none, FieldValue::Json(obj.clone())),
        r#""{""z"":1,""a"":{""b"":[true,null,""x,y""]}}""#
    );
    assert_eq!(
        csv_cell(none, FieldValue::Json(serde_json::json!(["guardian"]))),
        r#""[""guardian""]""#
    );
    assert_eq!(
        csv_cell(none, FieldValue::Raw(&r)),
        r#""{""z"":1,""a"":""q""}""#
    );
    // auth0: object/array text and Raw are strings; numbers, booleans and timestamps are bare.
    let auth0 = FormulaEscape::Auth0;
    assert_eq!(
        csv_cell(auth0, FieldValue::Raw(&r)),
        r#""'{""z"":1,""a"":""q""}""#
    );
    assert_eq!(
        csv_cell(auth0, FieldValue::Json(serde_json::json!([1]))),
        r#""'[1]""#
    );
    assert_eq!(csv_cell(auth0, FieldValue::Int(-5)), "-5");
    assert_eq!(csv_cell(auth0, FieldValue::Json(Value::from(7))), "7");
    assert_eq!(csv_cell(auth0, FieldValue::Json(Value::Bool(true))), "true");
    assert_eq!(csv_cell(auth0, FieldValue::Json(Value::Null)), "");
    assert_eq!(
        csv_cell(auth0, FieldValue::Timestamp("2024-03-01T09:15:27.412Z")),
        "2024-03-01T09:15:27.412Z"
    );
    // smart: negative numbers are plain numbers.
    assert_eq!(csv_cell(FormulaEscape::Smart, FieldValue::Int(-5)), "-5");
    assert_eq!(
        csv_cell(FormulaEscape::Smart, FieldValue::Json(Value::from(-0.5))),
        "-0.5"
    );
    assert_eq!(
        csv_cell(FormulaEscape::Smart, FieldValue::Str("-1e")),
        "'-1e"
    );
    assert_eq!(
        csv_cell(FormulaEscape::Smart, FieldValue::Str("\tx")),
        "'\tx"
    );
    assert_eq!(
        csv_cell(FormulaEscape::Smart, FieldValue::Str("\0x")),
        "'\0x"
    );
}

#[test]
fn date_format_applies_to_timestamps_only() {
    let mut o = options(ExportFormat::Csv);
    o.date_format = Some(DateFormat::parse("%Y%m%d %H%M%S").unwrap());
    let text = write(
        &o,
        &["created", "meta", "bad"],
        &[vec![
            FieldValue::Timestamp("2024-03-01T09:15:27.412Z"),
            FieldValue::Str("2024-03-01T09:15:27.412Z"),
            FieldValue::Timestamp("yesterday"),
        ]],
    );
    assert_eq!(
        text,
        "created,meta,bad\n20240301 091527,2024-03-01T09:15:27.412Z,yesterday\n"
    );
}

#[test]
fn minimal_quoting_and_missing_versus_empty() {
    let o = options(ExportFormat::Csv);
    let text = write(
        &o,
        &["a", "b", "c", "d", "e", "f", "g"],
        &[vec![
            FieldValue::Missing,
            FieldValue::Str(""),
            FieldValue::Str("a b;c\td'e"),
            FieldValue::Str("x,y"),
            FieldValue::Str("line1\nline2"),
            FieldValue::Str("cr\rhere"),
            FieldValue::Str("é 😀 naïve"),
        ]],
    );
    assert_eq!(
        text,
        "a,b,c,d,e,f,g\n,\"\",a b;c\td'e,\"x,y\",\"line1\nline2\",\"cr\rhere\",é 😀 naïve\n"
    );
}

#[test]
fn header_is_quoted_but_never_escaped() {
    for escape in [
        FormulaEscape::Smart,
        FormulaEscape::Auth0,
        FormulaEscape::None,
    ] {
        let mut o = options(ExportFormat::Csv);
        o.formula_escape = escape;
        let text = write(&o, &["=x", "a,b", "q\"", "", "Email Address", "@h"], &[]);
        assert_eq!(text, "=x,\"a,b\",\"q\"\"\",\"\",Email Address,@h\n");
    }
}

#[test]
fn tsv_uses_tab_whatever_the_delimiter_option() {
    let mut o = options(ExportFormat::Tsv);
    o.delimiter = ';';
    let text = write(
        &o,
        &["Given Name", "a\tb"],
        &[vec![
            FieldValue::Str("Smith, Jr.; x"),
            FieldValue::Str("t\tt"),
        ]],
    );
    assert_eq!(text, "Given Name\t\"a\tb\"\nSmith, Jr.; x\t\"t\tt\"\n");
}

#[test]
fn other_delimiters() {
    let mut o = options(ExportFormat::Csv);
    o.delimiter = ';';
    let text = write(
        &o,
        &["a", "b"],
        &[vec![FieldValue::Str("1,5"), FieldValue::Str("x;y")]],
    );
    assert_eq!(text, "a;b\n1,5;\"x;y\"\n");
    o.delimiter = '|';
    let text = write(
        &o,
        &["a", "b"],
        &[vec![FieldValue::Str("1|5"), FieldValue::Str("x,y")]],
    );
    assert_eq!(text, "a|b\n\"1|5\"|x,y\n");
    o.delimiter = '§';
    let text = write(
        &o,
        &["a", "b"],
        &[vec![FieldValue::Str("1§5"), FieldValue::Str("x,y")]],
    );
    assert_eq!(text, "a§b\n\"1§5\"§x,y\n");
    for bad in ['"', '\r', '\n'] {
        o.delimiter = bad;
        let err = RecordWriter::new(Vec::new(), &o, cols(&["a"]))
            .err()
            .unwrap();
        assert!(matches!(err, FormatError::InvalidDelimiter(c) if c == bad));
    }
}

#[test]
fn crlf_and_bom() {
    let mut o = options(ExportFormat::Csv);
    o.crlf = true;
    o.bom = true;
    let rows = [
        vec![FieldValue::Str("x"), FieldValue::Str("a\nb")],
        vec![FieldValue::Int(1), FieldValue::Missing],
    ];
    let text = write(&o, &["a", "b"], &rows);
    assert_eq!(text, "\u{feff}a,b\r\nx,\"a\nb\"\r\n1,\r\n");
    assert!(text.as_bytes().starts_with(b"\xEF\xBB\xBF"));
    // No BOM for JSON, ever.
    for format in [ExportFormat::JsonArray, ExportFormat::Ndjson] {
        let mut o = options(format);
        o.bom = true;
        o.crlf = true;
        let text = write(&o, &["a"], &[vec![FieldValue::Int(1)]]);
        assert!(!text.starts_with('\u{feff}'));
        assert!(!text.contains('\r'));
    }
}

#[test]
fn flattening_runs_before_escaping() {
    let mut o = options(ExportFormat::Csv);
    o.flatten_newlines = true;
    let text = write(
        &o,
        &["a", "b", "c"],
        &[vec![
            FieldValue::Str("\r=x"),
            FieldValue::Str("l1\r\nl2\rl3\nl4"),
            FieldValue::Json(Value::from("\n\n")),
        ]],
    );
    assert_eq!(text, "a,b,c\n =x,l1 l2 l3 l4,  \n");
    // The header is flattened too, so the whole file is line-based.
    let text = write(
        &o,
        &["a\nb", "c\r\nd"],
        &[vec![FieldValue::Int(1), FieldValue::Int(2)]],
    );
    assert_eq!(text, "a b,c d\n1,2\n");
    // Without flattening a leading CR is a formula trigger, and the CR forces quotes.
    o.flatten_newlines = false;
    let text = write(&o, &["a"], &[vec![FieldValue::Str("\r=x")]]);
    assert_eq!(text, "a\n\"'\r=x\"\n");
}

#[test]
fn json_array_exact_bytes() {
    let o = options(ExportFormat::JsonArray);
    assert_eq!(write(&o, &["a"], &[]), "[\n]\n");
    let r = raw(r#"{"k":[1,2]}"#);
    let rows = [
        vec![
            FieldValue::Str("=x\"y"),
            FieldValue::Missing,
            FieldValue::Raw(&r),
            FieldValue::Bool(true),
        ],
        vec![
            FieldValue::Json(serde_json::json!({"z":1,"a":null})),
            FieldValue::Int(-7),
            FieldValue::Timestamp("2024-03-01T09:15:27.412Z"),
            FieldValue::Json(Value::Null),
        ],
    ];
    let text = write(&o, &["Email", "b\"", "c", "c"], &rows);
    assert_eq!(
        text,
        "[\n{\"Email\":\"=x\\\"y\",\"b\\\"\":null,\"c\":{\"k\":[1,2]},\"c\":true},\n\
         {\"Email\":{\"z\":1,\"a\":null},\"b\\\"\":-7,\"c\":\"2024-03-01T09:15:27.412Z\",\"c\":null}\n]\n"
    );
    let one = write(&o, &["a"], &[vec![FieldValue::Int(1)]]);
    assert_eq!(one, "[\n{\"a\":1}\n]\n");
    let parsed: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(parsed, serde_json::json!([{"a": 1}]));
}

#[test]
fn ndjson_exact_bytes_and_dates() {
    let mut o = options(ExportFormat::Ndjson);
    assert_eq!(write(&o, &["a"], &[]), "");
    o.date_format = Some(DateFormat::parse("%Y-%m-%d").unwrap());
    o.formula_escape = FormulaEscape::Auth0;
    o.flatten_newlines = true;
    let rows = [
        vec![
            FieldValue::Timestamp("2024-03-01T09:15:27.412Z"),
            FieldValue::Str("@a\nb"),
        ],
        vec![FieldValue::Missing, FieldValue::Str("")],
    ];
    let text = write(&o, &["created_at", "x"], &rows);
    assert_eq!(
        text,
        "{\"created_at\":\"2024-03-01\",\"x\":\"@a\\nb\"}\n{\"created_at\":null,\"x\":\"\"}\n"
    );
}

#[test]
fn zero_column_json_records() {
    let o = options(ExportFormat::JsonArray);
    let mut w = RecordWriter::new(Vec::new(), &o, Some(Vec::new())).unwrap();
    w.end_record().unwrap();
    w.end_record().unwrap();
    assert_eq!(w.finish().unwrap(), b"[\n{},\n{}\n]\n");
}

fn jane() -> User {
    User {
        user_id: "auth0|abc".into(),
        connection: "Username-Password-Authentication".into(),
        email: Some("jane@example.com".into()),
        given_name: Some("=Jane".into()),
        created_at: "2024-03-01T09:15:27.412Z".into(),
        updated_at: "2024-03-02T10:00:00.000Z".into(),
        last_login: Some("2024-03-03T11:30:00.000Z".into()),
        user_metadata: Some(raw(r#"{"z":1,"since":"2024-03-01T09:15:27.412Z"}"#)),
        password_hash: Some("$2b$10$secret".into()),
        ..User::default()
    }
}

#[test]
fn whole_profile_json() {
    let user = jane();
    let profile = serde_json::to_string(&user.profile()).unwrap();
    let mut o = options(ExportFormat::JsonArray);
    o.bom = true;
    let mut w = RecordWriter::new(Vec::new(), &o, None).unwrap();
    w.write_profile(&user).unwrap();
    w.write_profile(&user).unwrap();
    assert_eq!(w.records(), 2);
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    assert_eq!(text, format!("[\n{profile},\n{profile}\n]\n"));
    assert!(!text.contains("secret"));

    let o = options(ExportFormat::Ndjson);
    let mut w = RecordWriter::new(Vec::new(), &o, None).unwrap();
    w.write_profile(&user).unwrap();
    assert_eq!(w.finish().unwrap(), format!("{profile}\n").into_bytes());
}

#[test]
fn whole_profile_json_with_date_format() {
    let user = jane();
    let mut o = options(ExportFormat::Ndjson);
    o.date_format = Some(DateFormat::parse("%Y%m%d").unwrap());
    let mut w = RecordWriter::new(Vec::new(), &o, None).unwrap();
    w.write_profile(&user).unwrap();
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["created_at"], "20240301");
    assert_eq!(v["updated_at"], "20240302");
    assert_eq!(v["last_login"], "20240303");
    assert!(v.get("last_password_reset").is_none());
    // Date-like strings inside metadata are never reformatted; no formula escaping in JSON.
    assert_eq!(v["user_metadata"]["since"], "2024-03-01T09:15:27.412Z");
    assert_eq!(v["given_name"], "=Jane");
    // Key order is the profile's.
    let expected = serde_json::to_string(&user.profile())
        .unwrap()
        .replace(
            "2024-03-01T09:15:27.412Z\",\"email\"",
            "20240301\",\"email\"",
        )
        .replace("2024-03-02T10:00:00.000Z", "20240302")
        .replace("2024-03-03T11:30:00.000Z", "20240303");
    assert_eq!(text, format!("{expected}\n"));
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let csv = options(ExportFormat::Csv);
    assert!(matches!(
        RecordWriter::new(Vec::new(), &csv, None).err(),
        Some(FormatError::Misuse(_))
    ));
    let mut w = RecordWriter::new(Vec::new(), &csv, cols(&["a", "b"])).unwrap();
    assert!(matches!(
        w.write_profile(&jane()),
        Err(FormatError::Misuse(_))
    ));
    w.write_cell(&FieldValue::Int(1)).unwrap();
    assert!(matches!(
        w.end_record(),
        Err(FormatError::CellCount {
            expected: 2,
            found: 1
        })
    ));
    w.write_cell(&FieldValue::Int(1)).unwrap();
    w.write_cell(&FieldValue::Int(2)).unwrap();
    assert!(matches!(
        w.write_cell(&FieldValue::Int(3)),
        Err(FormatError::CellCount {
            expected: 2,
            found: 3
        })
    ));
    w.end_record().unwrap();
    w.write_cell(&FieldValue::Int(1)).unwrap();
    assert!(matches!(w.finish(), Err(FormatError::Misuse(_))));

    let json = options(ExportFormat::Ndjson);
    let mut w = RecordWriter::new(Vec::new(), &json, None).unwrap();
    assert!(matches!(
        w.write_cell(&FieldValue::Int(1)),
        Err(FormatError::Misuse(_))
    ));
    assert!(matches!(w.end_record(), Err(FormatError::Misuse(_))));
    let mut w = RecordWriter::new(Vec::new(), &json, cols(&["a"])).unwrap();
    assert!(matches!(
        w.write_profile(&jane()),
        Err(FormatError::Misuse(_))
    ));
    w.write_cell(&FieldValue::Int(1)).unwrap();
    assert!(matches!(
        w.write_cell(&FieldValue::Int(1)),
        Err(FormatError::CellCount {
            expected: 1,
            found: 2
        })
    ));
    w.end_record().unwrap();
    assert_eq!(w.finish().unwrap(), b"{\"a\":1}\n");
}

struct ClosedPipe;

impl io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn broken_pipe_is_detectable() {
    let err = RecordWriter::new(ClosedPipe, &options(ExportFormat::Tsv), cols(&["a"]))
        .err()
        .unwrap();
    assert!(err.is_broken_pipe(), "{err}");
    let mut w =
        RecordWriter::new(ClosedPipe, &options(ExportFormat::Ndjson), cols(&["a"])).unwrap();
    w.write_cell(&FieldValue::Str("x")).unwrap();
    let err = w.end_record().unwrap_err();
    assert_eq!(err.io_error_kind(), Some(io::ErrorKind::BrokenPipe));
    assert_eq!(w.records(), 0);
}

/// 1,000,000 rows of the 11 default fields. Run with optimisations:
/// `CARGO_PROFILE_TEST_OPT_LEVEL=3 cargo test -p userbridge-formats --lib million -- --ignored --nocapture`
#[test]
#[ignore = "timing; run with optimisations"]
fn million_rows() {
    for (format, dates) in [
        (ExportFormat::Tsv, None),
        (ExportFormat::Csv, None),
        (ExportFormat::Ndjson, None),
        (ExportFormat::Tsv, Some("%Y%m%d %H%M%S")),
    ] {
        let mut o = options(format);
        o.date_format = dates.map(|p| DateFormat::parse(p).unwrap());
        let names = [
            "Id",
            "Given Name",
            "Family Name",
            "Nickname",
            "Name",
            "Email",
            "Email Verified",
            "Picture",
            "Connection",
            "Created At",
            "Updated At",
        ];
        let started = std::time::Instant::now();
        let out = io::BufWriter::with_capacity(1 << 16, io::sink());
        let mut w = RecordWriter::new(out, &o, cols(&names)).unwrap();
        let mut id = String::new();
        for i in 0..1_000_000u64 {
            id.clear();
            id.push_str("auth0|");
            id.push_str(&i.to_string());
            let cells = [
                FieldValue::Str(&id),
                FieldValue::Str("Jane"),
                FieldValue::Str("O\"Neil, Jr."),
                FieldValue::Str("jane"),
                FieldValue::Str("Jane O'Neil"),
                FieldValue::Str("jane.oneil@example.com"),
                FieldValue::Bool(i % 2 == 0),
                FieldValue::Missing,
                FieldValue::Str("Username-Password-Authentication"),
                FieldValue::Timestamp("2024-03-01T09:15:27.412Z"),
                FieldValue::Timestamp("2024-03-01T09:15:27.412Z"),
            ];
            for c in &cells {
                w.write_cell(c).unwrap();
            }
            w.end_record().unwrap();
        }
        w.finish().unwrap();
        eprintln!(
            "{format:?} {dates:?}: 1,000,000 rows in {:?}",
            started.elapsed()
        );
    }
}
