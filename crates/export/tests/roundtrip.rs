//! Property: arbitrary user values go through the whole engine — SQLite store, scan, field
//! mapping, writer — and an independent parser (the csv crate, serde_json) reads back the
//! same values, after the documented formula rule.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use userbridge_export::{ExportRequest, ExportSpec, FieldRequest};
use userbridge_model::{ExportFormat, User};
use userbridge_store::{SqliteStore, Store};

/// Text that exporters get wrong: delimiters, quotes, line breaks, formula starters, any
/// Unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[=+\\-@\t\r]?[a-z,;\"'\t\r\n ]{0,8}",
        "[+-]?[0-9]{1,6}(\\.[0-9]{0,3})?",
        Just(String::new()),
    ]
}

fn users(values: &[(String, Option<String>, String)]) -> Vec<User> {
    values
        .iter()
        .enumerate()
        .map(|(i, (given, family, note))| User {
            user_id: format!("auth0|{i:024x}"),
            connection: Arc::from("Username-Password-Authentication"),
            email: Some(format!("user{i}@example.com")),
            given_name: Some(given.clone()),
            family_name: family.clone(),
            created_at: "2024-03-01T09:15:27.412Z".into(),
            updated_at: "2024-03-01T09:15:27.412Z".into(),
            user_metadata: Some(
                RawValue::from_string(json!({"note": note, "n": i}).to_string()).unwrap(),
            ),
            ..User::default()
        })
        .collect()
}

fn export(store: &SqliteStore, format: ExportFormat, escape: &str) -> String {
    let mut request = ExportRequest::new(format);
    for (name, column) in [
        ("given_name", "Given"),
        ("family_name", "Family"),
        ("user_metadata.note", "Note"),
        ("email", "Email"),
    ] {
        request.fields.push(FieldRequest {
            name: name.into(),
            export_as: Some(column.into()),
        });
    }
    request.options.formula_escape = Some(escape.into());
    let spec = ExportSpec::validate(&request, store).unwrap();
    let mut out = Vec::new();
    userbridge_export::run(store, &spec, &mut out, &mut |_| true).unwrap();
    String::from_utf8(out).unwrap()
}

/// What a CSV cell holds for `text` under the smart rule.
fn smart(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']);
    let number = {
        let t = text.strip_prefix(['+', '-']).unwrap_or(text);
        let (mantissa, _) = t.split_once(['e', 'E']).unwrap_or((t, ""));
        !mantissa.is_empty()
            && mantissa != "."
            && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
            && mantissa.matches('.').count() <= 1
            && !t.contains(['e', 'E'])
    };
    if risky && !number {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_format_reads_back_the_stored_values(
        values in proptest::collection::vec((hostile_text(), proptest::option::of(hostile_text()), hostile_text()), 1..12)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let connection = store.connection_by_name("Username-Password-Authentication").unwrap().unwrap();
        store.insert_users(&connection.id, &users(&values)).unwrap();

        for (format, delimiter) in [(ExportFormat::Csv, b','), (ExportFormat::Tsv, b'\t')] {
            for escape in ["none", "smart"] {
                let text = export(&store, format, escape);
                let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
                prop_assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["Given", "Family", "Note", "Email"]);
                let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
                prop_assert_eq!(rows.len(), values.len());
                for (row, (given, family, note)) in rows.iter().zip(&values) {
                    let expect = |t: &str| if escape == "smart" { smart(t) } else { t.to_string() };
                    prop_assert_eq!(&row[0], expect(given));
                    prop_assert_eq!(&row[1], expect(family.as_deref().unwrap_or("")));
                    prop_assert_eq!(&row[2], expect(note));
                }
            }
        }

        let ndjson = export(&store, ExportFormat::Ndjson, "smart");
        let array: Vec<Value> = serde_json::from_str(&export(&store, ExportFormat::JsonArray, "smart")).unwrap();
        let lines: Vec<Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(&lines, &array);
        for (object, (given, family, note)) in lines.iter().zip(&values) {
            prop_assert_eq!(&object["Given"], &json!(given));
            prop_assert_eq!(&object["Family"], &json!(family));
            prop_assert_eq!(&object["Note"], &json!(note));
        }
    }
}
