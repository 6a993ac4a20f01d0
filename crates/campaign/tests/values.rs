//! Typed columns of campaign tables: conversion, reasons, keys and names
//! (`campaign-import.md` IMP-1, IMP-20–IMP-27, IMP-33/34, §8.2).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use userbridge_campaign::values::*;

const CLEAR: &str = DEFAULT_CLEAR_TOKEN;

fn col(t: ColumnType) -> ColumnSpec {
    ColumnSpec::new("c", t)
}

fn value(spec: &ColumnSpec, raw: &str) -> Value {
    match spec.convert(raw, CLEAR) {
        Ok((Cell::Value(v), _)) => v,
        other => panic!("{raw:?} did not convert to a value: {other:?}"),
    }
}

fn reason(spec: &ColumnSpec, raw: &str) -> RejectReason {
    match spec.convert(raw, CLEAR) {
        Err(r) => r.reason,
        Ok(c) => panic!("{raw:?} was accepted: {c:?}"),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn trimming_blank_and_clear() {
    let text = col(ColumnType::Text);
    assert_eq!(value(&text, "\u{a0} Jane \t"), Value::Text("Jane".into()));
    assert_eq!(text.convert("", CLEAR).unwrap(), (Cell::Blank, false));
    assert_eq!(
        text.convert(" \u{a0} ", CLEAR).unwrap(),
        (Cell::Blank, false)
    );
    assert_eq!(
        text.convert(" #CLEAR# ", CLEAR).unwrap(),
        (Cell::Clear, false)
    );
    // exact match only; an empty token disables the feature
    assert_eq!(value(&text, "#clear#"), Value::Text("#clear#".into()));
    assert_eq!(
        text.convert("#CLEAR#", "").unwrap().0,
        Cell::Value(Value::Text("#CLEAR#".into()))
    );
    assert_eq!(text.convert("NULL", "NULL").unwrap().0, Cell::Clear);
    // the clear token works for every type
    for t in ColumnType::ALL {
        assert_eq!(
            col(t).convert("#CLEAR#", CLEAR).unwrap().0,
            Cell::Clear,
            "{t}"
        );
        assert_eq!(col(t).convert("  ", CLEAR).unwrap().0, Cell::Blank, "{t}");
    }
    // non-nullable: the clear token is rejected (it always writes NULL)
    let mut required = col(ColumnType::Integer);
    required.nullable = false;
    let r = required.convert("#CLEAR#", CLEAR).unwrap_err();
    assert_eq!(r.reason, RejectReason::NotNullable);
    assert_eq!(r.reason.as_str(), "not_null");
    // blank stays blank (the insert-time not-null check belongs to the importer)
    assert_eq!(required.convert("", CLEAR).unwrap().0, Cell::Blank);
    // opting out of trimming keeps whitespace in text
    let mut raw = col(ColumnType::Text);
    raw.trim = false;
    assert_eq!(value(&raw, "  a b  "), Value::Text("  a b  ".into()));
    assert_eq!(raw.convert("   ", CLEAR).unwrap().0, Cell::Blank);
    // other types are always trimmed
    let mut int = col(ColumnType::Integer);
    int.trim = false;
    assert_eq!(value(&int, " 42\u{a0}"), Value::Integer(42));
}

#[test]
fn text_length_truncation_and_case() {
    let mut c = col(ColumnType::Text);
    c.max_length = Some(3);
    assert_eq!(value(&c, "abc"), Value::Text("abc".into()));
    let r = c.convert("abcd", CLEAR).unwrap_err();
    assert_eq!(r.reason, RejectReason::TooLong);
    assert!(r.message.contains("\"abcd\""), "{}", r.message);
    c.truncate = true;
    assert_eq!(
        c.convert("ééééé", CLEAR).unwrap(),
        (Cell::Value(Value::Text("ééé".into())), true)
    );
    assert_eq!(
        c.convert("éé", CLEAR).unwrap(),
        (Cell::Value(Value::Text("éé".into())), false)
    );
    c.case = CaseTransform::Upper;
    assert_eq!(value(&c, "ab"), Value::Text("AB".into()));
    c.case = CaseTransform::Lower;
    assert_eq!(value(&c, "AB"), Value::Text("ab".into()));
}

#[test]
fn integers() {
    let mut c = col(ColumnType::Integer);
    assert_eq!(value(&c, "-42"), Value::Integer(-42));
    assert_eq!(value(&c, "+7"), Value::Integer(7));
    assert_eq!(reason(&c, "1,234"), RejectReason::InvalidInteger);
    assert_eq!(reason(&c, "1.0"), RejectReason::InvalidInteger);
    assert_eq!(
        reason(&c, "99999999999999999999"),
        RejectReason::InvalidInteger
    );
    for (sep, raw) in [
        (',', "1,234,567"),
        ('.', "1.234.567"),
        (' ', "1 234 567"),
        ('\'', "1'234'567"),
    ] {
        c.thousands = Some(sep);
        assert_eq!(value(&c, raw), Value::Integer(1_234_567), "{raw}");
        assert_eq!(value(&c, "1234567"), Value::Integer(1_234_567));
        assert_eq!(
            reason(&c, &format!("12{sep}34")),
            RejectReason::InvalidInteger
        );
    }
    let r = c.convert("12x", CLEAR).unwrap_err();
    assert_eq!(r.reason.as_str(), "invalid_integer");
    assert!(
        r.message.starts_with("\"12x\" is not an integer"),
        "{}",
        r.message
    );
}

#[test]
fn decimals() {
    let mut c = col(ColumnType::Decimal);
    assert_eq!(value(&c, "-12.50"), Value::Decimal("-12.5".into()));
    assert_eq!(value(&c, "1.5e3"), value(&c, "1500.000"));
    assert_eq!(value(&c, "0.10"), value(&c, "1E-1"));
    assert_eq!(reason(&c, "1,5"), RejectReason::InvalidDecimal);
    assert_eq!(reason(&c, "NaN"), RejectReason::InvalidDecimal);
    assert_eq!(reason(&c, "inf"), RejectReason::InvalidDecimal);
    c.decimal_separator = ',';
    c.thousands = Some('.');
    assert_eq!(value(&c, "1.234,50"), Value::Decimal("1234.5".into()));
    assert_eq!(value(&c, "-0,5e1"), Value::Decimal("-5".into()));
    assert_eq!(reason(&c, "1,2,3"), RejectReason::InvalidDecimal);
    assert_eq!(reason(&c, "abc").as_str(), "invalid_decimal");
}

#[test]
fn booleans() {
    let mut c = col(ColumnType::Boolean);
    for t in ["true", "TRUE", "Yes", "y", "1", "T"] {
        assert_eq!(value(&c, t), Value::Boolean(true), "{t}");
    }
    for f in ["false", "No", "N", "0", "f"] {
        assert_eq!(value(&c, f), Value::Boolean(false), "{f}");
    }
    assert_eq!(reason(&c, "oui"), RejectReason::InvalidBoolean);
    assert_eq!(reason(&c, "2"), RejectReason::InvalidBoolean);
    c.true_words = vec!["Oui".into(), "ja".into()];
    c.false_words = vec!["non".into()];
    assert_eq!(value(&c, "OUI"), Value::Boolean(true));
    assert_eq!(value(&c, "Non"), Value::Boolean(false));
    assert_eq!(value(&c, "yes"), Value::Boolean(true));
    assert_eq!(reason(&c, "nein").as_str(), "invalid_boolean");
    assert!(c.validate().is_ok());
    c.false_words = vec!["yes".into()];
    assert!(c.validate().is_err());
}

#[test]
fn emails() {
    let c = col(ColumnType::Email);
    assert_eq!(
        value(&c, " Jane@Example.COM\u{a0}"),
        Value::Text("jane@example.com".into())
    );
    for bad in [
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "a@b@c.com",
        "ja ne@example.com",
        "jane@example..com",
        "jane@.example.com",
        &format!("{}@example.com", "a".repeat(65)),
    ] {
        assert_eq!(reason(&c, bad), RejectReason::InvalidEmail, "{bad}");
    }
    assert_eq!(
        value(&c, &format!("{}@example.com", "a".repeat(64))),
        Value::Text(format!("{}@example.com", "a".repeat(64)))
    );
    assert_eq!(reason(&c, "x").as_str(), "invalid_email");
}

#[test]
fn dates_every_named_format() {
    let jan31 = date(2024, 1, 31);
    let samples: &[(&str, &str, &str)] = &[
        ("CCYYMMDD", "20240131", "20240132"),
        ("CCYY-MM-DD", "2024-01-31", "31-01-2024"),
        ("DDMMCCYY", "31012024", "3101202"),
        ("CCYYDDMM", "20243101", "20240131"),
        ("MMDDCCYY", "01312024", "31012024"),
        ("DDMMYY", "310124", "31012024"),
        ("MMDDYY", "013124", "310124"),
        ("DDMMMCCYY", "31JAN2024", "31JAU2024"),
        ("DD/MM/CCYY", "31/01/2024", "01/31/2024"),
        ("DD-MM-CCYY", "31-01-2024", "31/01/2024"),
        ("DD.MM.CCYY", "31.01.2024", "31.01.2024.1"),
        ("MM/DD/CCYY", "01/31/2024", "31/01/2024"),
        ("CCYY/DD/MM", "2024/31/01", "2024/01/31"),
        ("CCYY.MM.DD", "2024.01.31", "24.01.31"),
        ("DD/MM/YY", "31/01/24", "31/01/2024"),
        ("MM-DD-YY", "01-31-24", "31-01-24"),
        ("DD/MMM/CCYY", "31/Jan/2024", "31/01/2024"),
        ("DD.MMM.CCYY", "31.jan.2024", "31.January.2024"),
        ("%d %b %Y", "31 Jan 2024", "2024-01-31"),
    ];
    for (name, ok, bad) in samples {
        let mut c = col(ColumnType::Date);
        c.format = Some(name.parse().unwrap());
        c.validate().unwrap();
        assert_eq!(value(&c, ok), Value::Date(jan31), "{name} {ok}");
        let r = c.convert(bad, CLEAR).unwrap_err();
        assert_eq!(r.reason, RejectReason::InvalidDate, "{name} {bad}");
        assert_eq!(r.message, format!("\"{bad}\" is not a date in {name}"));
    }
    // default format CCYYMMDD
    assert_eq!(
        value(&col(ColumnType::Date), "20240131"),
        Value::Date(jan31)
    );
}

#[test]
fn invalid_calendar_dates_and_two_digit_years() {
    let mut c = col(ColumnType::Date);
    c.format = Some("DD/MM/CCYY".parse().unwrap());
    let r = c.convert("31/02/2024", CLEAR).unwrap_err();
    assert_eq!(r.message, "\"31/02/2024\" is not a date in DD/MM/CCYY");
    assert_eq!(r.reason.as_str(), "invalid_date");
    assert_eq!(reason(&c, "29/02/2023"), RejectReason::InvalidDate);
    assert_eq!(value(&c, "29/02/2024"), Value::Date(date(2024, 2, 29)));
    assert_eq!(reason(&c, "00/01/2024"), RejectReason::InvalidDate);
    assert_eq!(reason(&c, "1/13/2024"), RejectReason::InvalidDate);
    c.format = Some(DateFormat::Ddmmyy);
    assert_eq!(value(&c, "010100"), Value::Date(date(2000, 1, 1)));
    assert_eq!(value(&c, "311249"), Value::Date(date(2049, 12, 31)));
    assert_eq!(value(&c, "010150"), Value::Date(date(1950, 1, 1)));
    assert_eq!(value(&c, "311299"), Value::Date(date(1999, 12, 31)));
}

#[test]
fn datetimes_are_utc() {
    let at =
        |s: &str| Value::Datetime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    let mut c = col(ColumnType::Datetime);
    assert_eq!(value(&c, "20240131 235959"), at("2024-01-31T23:59:59Z"));
    c.format = Some("CCYYMMDD HH:MM:SS".parse().unwrap());
    assert_eq!(value(&c, "20240131 23:59:59"), at("2024-01-31T23:59:59Z"));
    c.format = Some("CCYY-MM-DD HH:MM:SS".parse().unwrap());
    assert_eq!(value(&c, "2024-01-31 23:59:59"), at("2024-01-31T23:59:59Z"));
    assert_eq!(
        reason(&c, "2024-01-31 24:00:00"),
        RejectReason::InvalidDatetime
    );
    c.format = Some(DateFormat::Iso8601);
    assert_eq!(value(&c, "2024-01-31T23:59:59"), at("2024-01-31T23:59:59Z"));
    assert_eq!(
        value(&c, "2024-01-31T23:59:59.5Z"),
        at("2024-01-31T23:59:59.5Z")
    );
    assert_eq!(
        value(&c, "2024-01-31T23:59:59.123456789+05:30"),
        at("2024-01-31T18:29:59.123456789Z")
    );
    assert_eq!(
        value(&c, "2024-01-01T00:00:00-01:00"),
        at("2024-01-01T01:00:00Z")
    );
    let r = c.convert("2024-01-31", CLEAR).unwrap_err();
    assert_eq!(r.reason.as_str(), "invalid_datetime");
    assert_eq!(r.message, "\"2024-01-31\" is not a date-time in ISO 8601");
    // Auth0 exports: milliseconds and Z
    assert_eq!(
        value(&c, "2023-06-01T08:09:10.000Z").to_string(),
        "2023-06-01T08:09:10Z"
    );
}

#[test]
fn dates_are_calendar_dates() {
    let mut c = col(ColumnType::Date);
    c.format = Some(DateFormat::CcyyDashMmDd);
    let v = value(&c, "2024-03-31");
    assert_eq!(v, Value::Date(date(2024, 3, 31)));
    assert_eq!(v.to_string(), "2024-03-31");
}

#[test]
fn on_error_policies() {
    let mut c = col(ColumnType::Integer);
    c.on_error = OnError::SetEmpty;
    assert_eq!(c.convert("abc", CLEAR).unwrap(), (Cell::Blank, false));
    c.on_error = OnError::Default("0".into());
    assert_eq!(
        c.convert("abc", CLEAR).unwrap().0,
        Cell::Value(Value::Integer(0))
    );
    assert_eq!(
        c.convert("5", CLEAR).unwrap().0,
        Cell::Value(Value::Integer(5))
    );
    assert!(c.validate().is_ok());
    c.on_error = OnError::Default("zero".into());
    assert!(c.validate().is_err());
    let r = c.convert("abc", CLEAR).unwrap_err();
    assert_eq!(r.reason, RejectReason::InvalidInteger);
    let mut t = col(ColumnType::Text);
    t.max_length = Some(2);
    t.on_error = OnError::SetEmpty;
    assert_eq!(t.convert("abc", CLEAR).unwrap().0, Cell::Blank);
}

#[test]
fn validate_specs() {
    let mut c = col(ColumnType::Date);
    c.format = Some(DateFormat::Iso8601);
    assert!(c.validate().is_err());
    let mut c = col(ColumnType::Datetime);
    c.format = Some(DateFormat::Ccyymmdd);
    assert!(c.validate().is_err());
    let mut c = col(ColumnType::Integer);
    c.format = Some(DateFormat::Ccyymmdd);
    assert!(c.validate().is_err());
    let mut c = col(ColumnType::Decimal);
    c.thousands = Some('.');
    assert!(c.validate().is_err());
    c.decimal_separator = ',';
    assert!(c.validate().is_ok());
    c.thousands = Some('_');
    assert!(c.validate().is_err());
    assert!(ColumnSpec::new("", ColumnType::Text).validate().is_err());
}

#[test]
fn serde_and_names_of_types() {
    let spec: ColumnSpec = serde_json::from_str(
        r#"{"name":"Born","type":"date","format":"DD/MM/CCYY","on_error":{"default":"01/01/1970"}}"#,
    )
    .unwrap();
    assert_eq!(spec.column_type, ColumnType::Date);
    assert!(spec.nullable && spec.trim);
    assert_eq!(spec.decimal_separator, '.');
    assert_eq!(
        spec.format,
        Some(DateFormat::WithSeparator {
            order: DateOrder::Dmy,
            sep: '/'
        })
    );
    assert_eq!(spec.on_error, OnError::Default("01/01/1970".into()));
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains(r#""format":"DD/MM/CCYY""#), "{json}");
    assert_eq!(serde_json::from_str::<ColumnSpec>(&json).unwrap(), spec);
    let s: ColumnSpec =
        serde_json::from_str(r#"{"name":"x","type":"text","on_error":"set_empty","case":"upper"}"#)
            .unwrap();
    assert_eq!(s.on_error, OnError::SetEmpty);
    assert_eq!(s.case, CaseTransform::Upper);
    assert!(
        serde_json::from_str::<ColumnSpec>(r#"{"name":"x","type":"date","format":"DD/QQ"}"#)
            .is_err()
    );
    for t in ColumnType::ALL {
        assert_eq!(t.to_string().parse::<ColumnType>(), Ok(t));
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
    }
    assert_eq!("DateTime".parse::<ColumnType>(), Ok(ColumnType::Datetime));
    assert!("number".parse::<ColumnType>().is_err());
    let codes: Vec<&str> = [
        RejectReason::InvalidInteger,
        RejectReason::InvalidDecimal,
        RejectReason::InvalidBoolean,
        RejectReason::InvalidDate,
        RejectReason::InvalidDatetime,
        RejectReason::InvalidEmail,
        RejectReason::TooLong,
        RejectReason::MissingKey,
        RejectReason::NotNullable,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    assert_eq!(
        codes,
        [
            "invalid_integer",
            "invalid_decimal",
            "invalid_boolean",
            "invalid_date",
            "invalid_datetime",
            "invalid_email",
            "too_long",
            "missing_key",
            "not_null"
        ]
    );
    assert_eq!(
        serde_json::to_string(&RejectReason::NotNullable).unwrap(),
        "\"not_null\""
    );
}

#[test]
fn key_normalisation() {
    let email = col(ColumnType::Email);
    let a = value(&email, "Jane@Example.com ");
    let b = value(&email, "jane@example.com");
    assert_eq!(key_part(&a, false), key_part(&b, false));
    assert_eq!(key_part(&a, false).as_deref(), Some("jane@example.com"));
    let text = col(ColumnType::Text);
    assert_ne!(
        key_part(&value(&text, "Abc"), false),
        key_part(&value(&text, "abc"), false)
    );
    assert_eq!(
        key_part(&value(&text, "Abc "), true),
        key_part(&value(&text, " abc"), true)
    );
    assert_eq!(key_part(&Value::Text("  ".into()), false), None);
    assert_eq!(key_part(&Value::Null, false), None);
    let dec = col(ColumnType::Decimal);
    assert_eq!(
        key_part(&value(&dec, "1.50"), false),
        key_part(&value(&dec, "15e-1"), false)
    );
    let int = col(ColumnType::Integer);
    assert_eq!(key_part(&value(&int, "+007"), false).as_deref(), Some("7"));
    let mut d1 = col(ColumnType::Date);
    d1.format = Some(DateFormat::Ccyymmdd);
    let mut d2 = col(ColumnType::Date);
    d2.format = Some("DD/MM/CCYY".parse().unwrap());
    assert_eq!(
        key_part(&value(&d1, "20240131"), false),
        key_part(&value(&d2, "31/1/2024"), false)
    );
    let mut dt = col(ColumnType::Datetime);
    dt.format = Some(DateFormat::Iso8601);
    assert_eq!(
        key_part(&value(&dt, "2024-01-31T10:00:00+01:00"), false),
        key_part(&value(&dt, "2024-01-31T09:00:00.000Z"), false)
    );
    // blank and clear cells are missing keys
    let r = key_part_of_cell(&Cell::Blank, "Email", false).unwrap_err();
    assert_eq!(r.reason.as_str(), "missing_key");
    assert_eq!(
        key_part_of_cell(&Cell::Clear, "Email", false)
            .unwrap_err()
            .reason,
        RejectReason::MissingKey
    );
    assert_eq!(
        key_part_of_cell(&Cell::Value(b), "Email", false).unwrap(),
        "jane@example.com"
    );
}

#[test]
fn table_names() {
    for ok in ["contacts", "C", "a_1", &"t".repeat(63), "select"] {
        assert!(check_table_name(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "1abc",
        "_x",
        "has space",
        "x;DROP TABLE users",
        "a\"b",
        "a'b",
        "a-b",
        "é",
        "x--",
        "t/*",
        &"t".repeat(64),
        "sqlite_master",
        "SQLITE_x",
    ] {
        assert!(check_table_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn column_names_and_quoting() {
    let names: Vec<String> = [
        "Email Address",
        "a\"b",
        "x; DROP TABLE contacts; --",
        "select",
        "Ünïcode",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(check_column_names(&names).is_ok());
    assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    assert_eq!(
        quote_identifier("x; DROP TABLE contacts; --"),
        "\"x; DROP TABLE contacts; --\""
    );
    assert_eq!(quote_identifier("select"), "\"select\"");
    assert_eq!(quote_identifier("\"\""), "\"\"\"\"\"\"");
    assert!(check_column_names(&["Email".into(), "EMAIL".into()]).is_err());
    assert!(check_column_names(&["".into()]).is_err());
    // The storage's hidden columns cannot be shadowed.
    for reserved in ["_row", "_KEY"] {
        assert!(
            check_column_names(&[reserved.into()]).is_err(),
            "{reserved}"
        );
    }
    assert!(check_column_names(&["a\nb".into()]).is_err());
    assert!(check_column_names(&["a\0b".into()]).is_err());
    assert!(check_column_names(&["x".repeat(128)]).is_ok());
    assert!(check_column_names(&["x".repeat(129)]).is_err());
}

fn any_format() -> impl Strategy<Value = DateFormat> {
    let all: Vec<DateFormat> = DateFormat::date_candidates()
        .into_iter()
        .chain(DateFormat::datetime_candidates())
        .chain([
            "%d/%m/%Y".parse().unwrap(),
            "%Y-%m-%dT%H:%M:%S%z".parse().unwrap(),
        ])
        .collect();
    proptest::sample::select(all)
}

fn any_spec() -> impl Strategy<Value = ColumnSpec> {
    (
        proptest::sample::select(ColumnType::ALL.to_vec()),
        any_format(),
        proptest::option::of(proptest::sample::select(vec![',', '.', ' ', '\''])),
        proptest::sample::select(vec!['.', ',']),
        proptest::option::of(0usize..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(t, f, th, ds, max, trunc, trim)| {
            let mut c = ColumnSpec::new("c", t);
            c.format = Some(f);
            c.thousands = th;
            c.decimal_separator = ds;
            c.max_length = max;
            c.truncate = trunc;
            c.trim = trim;
            c.case = CaseTransform::Upper;
            c.on_error = if trunc {
                OnError::Default("7".into())
            } else {
                OnError::Reject
            };
            c
        })
}

proptest! {
    #[test]
    fn convert_never_panics(spec in any_spec(), raw in any::<String>(), token in "(#CLEAR#)?") {
        let _ = spec.convert(&raw, &token);
        let _ = spec.validate();
    }

    #[test]
    fn convert_never_panics_on_numeric_looking_text(spec in any_spec(), raw in "[-+ 0-9.,'eE:/TZ\u{a0}]{0,40}") {
        if let Ok((Cell::Value(v), _)) = spec.convert(&raw, CLEAR) {
            let _ = key_part(&v, true);
        }
    }

    #[test]
    fn integers_round_trip(v in any::<i64>(), sep in proptest::option::of(proptest::sample::select(vec![',', '.', ' ', '\'']))) {
        let mut c = col(ColumnType::Integer);
        c.thousands = sep;
        let text = format_integer(v, sep);
        prop_assert_eq!(c.convert(&text, CLEAR).unwrap().0, Cell::Value(Value::Integer(v)));
    }

    #[test]
    fn decimals_round_trip(mantissa in any::<i64>(), scale in 0u32..12, comma in any::<bool>()) {
        let mut c = col(ColumnType::Decimal);
        if comma { c.decimal_separator = ','; }
        let digits = mantissa.unsigned_abs().to_string();
        let padded = format!("{:0>width$}", digits, width = scale as usize + 1);
        let (int, frac) = padded.split_at(padded.len() - scale as usize);
        let sign = if mantissa < 0 { "-" } else { "" };
        let text = if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}{}{frac}", c.decimal_separator) };
        let Value::Decimal(canon) = value(&c, &text) else { panic!("not a decimal") };
        // the canonical text parses to itself, and equals the exponent form of the same number
        prop_assert_eq!(parse_decimal(&canon, '.', None), Some(canon.clone()));
        let exp_form = format!("{mantissa}e-{scale}");
        prop_assert_eq!(parse_decimal(&exp_form, '.', None), Some(canon.clone()));
        // and as a float it is the same number
        let f: f64 = canon.parse().unwrap();
        let expected = mantissa as f64 / 10f64.powi(scale as i32);
        prop_assert!((f - expected).abs() <= expected.abs() * 1e-12 + 1e-300);
    }

    #[test]
    fn dates_round_trip(days in 0i64..36_524, f in proptest::sample::select(DateFormat::date_candidates())) {
        // 1950-01-01 .. 2049-12-31, so two-digit years round-trip too
        let d = date(1950, 1, 1) + chrono::Duration::days(days);
        let text = f.format_date(d);
        prop_assert_eq!(f.parse_date(&text), Some(d), "{} {}", f, text);
    }

    #[test]
    fn datetimes_round_trip(secs in -2_000_000_000i64..4_000_000_000, nanos in 0u32..1_000_000_000, f in proptest::sample::select(DateFormat::datetime_candidates())) {
        let nanos = if f == DateFormat::Iso8601 { nanos } else { 0 };
        let dt = DateTime::<Utc>::from_timestamp(secs, nanos).unwrap();
        let text = f.format_datetime(dt);
        prop_assert_eq!(f.parse_datetime(&text), Some(dt), "{} {}", f, text);
    }
}

#[test]
fn a_leading_apostrophe_is_removed_only_when_asked() {
    // IMP-15: formula escaping, as Auth0's and userbridge's exports write it.
    let mut text = col(ColumnType::Text);
    assert_eq!(value(&text, "'=1+2"), Value::Text("'=1+2".into()));
    text.strip_leading_apostrophe = true;
    assert_eq!(value(&text, "'=1+2"), Value::Text("=1+2".into()));
    assert_eq!(value(&text, " '+44 20"), Value::Text("+44 20".into()));
    // One apostrophe only, and nothing else changes.
    assert_eq!(value(&text, "''quoted'"), Value::Text("'quoted'".into()));
    assert_eq!(value(&text, "plain"), Value::Text("plain".into()));
    let mut integer = col(ColumnType::Integer);
    assert_eq!(reason(&integer, "'-5"), RejectReason::InvalidInteger);
    integer.strip_leading_apostrophe = true;
    assert_eq!(value(&integer, "'-5"), Value::Integer(-5));
}
